//! TLS termination with rustls: certificate chain and key from PEM files,
//! HTTP/2 and HTTP/1.1 offered with ALPN.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Which of the two files a TLS problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsFileKind {
    /// `cert`.
    Cert,
    /// `key` (or the pair: a key that does not match the certificate).
    Key,
}

/// Loads the certificate chain `cert` and private key `key` (PEM files)
/// and builds the acceptor. The error names the file and what is wrong
/// with it.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    build(cert, key).map_err(|(_, message)| message)
}

/// Whether the files make a working TLS configuration: what `corsica lint`
/// and a reload check before a gateway is started or re-keyed with them.
pub(crate) fn check(cert: &Path, key: &Path) -> Result<(), (TlsFileKind, String)> {
    build(cert, key).map(drop)
}

fn build(cert: &Path, key: &Path) -> Result<TlsAcceptor, (TlsFileKind, String)> {
    let certs = certificates(cert).map_err(|e| (TlsFileKind::Cert, e))?;
    let private = private_key(key).map_err(|e| (TlsFileKind::Key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| (TlsFileKind::Cert, format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| {
            (
                TlsFileKind::Key,
                format!(
                    "the certificate {} and key {} do not work together: {e}",
                    cert.display(),
                    key.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn open(path: &Path) -> Result<BufReader<File>, String> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The CA certificates of a PEM file (`upstream_ca`).
pub(crate) fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    certificates(path)
}

/// The CA certificates to trust for `https://` upstreams beyond the webpki
/// roots: the embedder's, then those of `upstream_ca`.
pub(crate) fn upstream_roots(
    extra: &[CertificateDer<'static>],
    file: Option<&Path>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut roots = extra.to_vec();
    if let Some(path) = file {
        roots.extend(ca_certificates(path)?);
    }
    Ok(roots)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = rustls_pemfile::certs(&mut open(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM certificate chain: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    rustls_pemfile::private_key(&mut open(path)?)
        .map_err(|e| format!("{} is not a PEM private key: {e}", path.display()))?
        .ok_or_else(|| {
            format!(
                "{} holds no private key (expected -----BEGIN PRIVATE KEY-----)",
                path.display()
            )
        })
}
