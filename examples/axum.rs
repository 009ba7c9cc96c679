//! An axum API whose CORS is a corsica policy.
//!
//! Run: `cargo run --example axum`, then from another terminal:
//!
//! ```text
//! # A preflight from the allowed origin: 204 with the CORS headers.
//! curl -i -X OPTIONS http://127.0.0.1:3000/api/items \
//!      -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: PUT' \
//!      -H 'Access-Control-Request-Headers: content-type'
//! # A foreign origin: 403, and the debug header says why.
//! curl -i -X OPTIONS http://127.0.0.1:3000/api/items \
//!      -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: PUT'
//! ```

use axum::routing::get;
use axum::{Json, Router};
use corsica::Policy;
use corsica_tower::CorsLayer;

const POLICY: &str = r#"
origins = ["http://localhost:*", "https://app.example.com"]
methods = ["PUT", "DELETE"]
request_headers = ["content-type"]
expose_headers = ["x-request-id"]
max_age = 600
"#;

async fn list() -> Json<serde_json::Value> {
    Json(serde_json::json!([{"id": 1, "name": "first"}]))
}

async fn replace() -> Json<serde_json::Value> {
    Json(serde_json::json!({"replaced": true}))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Validation happens here, once: a bad policy is an error with the
    // reason and the fix, never a panic at request time.
    let policy = Policy::from_toml(POLICY).map_err(|e| e.render("POLICY", Some(POLICY)))?;
    for warning in policy.warnings() {
        eprintln!("{warning}");
    }
    let cors = CorsLayer::new(policy).debug(true);
    let app = Router::new()
        .route("/api/items", get(list).put(replace))
        .layer(cors);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
