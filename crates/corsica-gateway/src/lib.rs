//! # corsica-gateway
//!
//! The library behind `corsica serve`: a reverse proxy on hyper that puts
//! one validated CORS policy (per route) in front of any HTTP API. CORS is
//! enforced by the `corsica-tower` layer, which asks the `corsica` engine;
//! the gateway holds no CORS rule of its own.
#![warn(missing_docs)]

pub mod config;
