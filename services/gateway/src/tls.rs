//! TLS on the gateway's server side: rustls server configurations built from PEM files
//! (certificate chain, private key, optionally a CA that client certificates must chain
//! to), checked once at start-up so a bad file is a configuration error, never a failed
//! handshake later. The crypto provider is ring, the workspace's only one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use radraft_core::tls::TrustedCa;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// The ALPN protocol the HTTP edge speaks (axum is built for HTTP/1 only).
const HTTP1_ALPN: &[u8] = b"http/1.1";

/// The provider every configuration here is built with: ring.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process's default provider, for the rustls users that take the default
/// (reqwest, lapin, sqlx). Once per process, before anything connects; a second call
/// (tests start many gateways in one process) changes nothing.
pub fn install_crypto_provider() {
    // Err only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What went wrong with a TLS file or the configuration made from it. The messages name
/// the file and never include its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not usable PEM: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoKey { path: PathBuf },
    #[error("the key in {key} does not belong to the certificate in {cert}: {reason}")]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: rustls::Error,
    },
    #[error("{path}: no CA certificate in it can be used: {reason}")]
    ClientCa { path: PathBuf, reason: String },
    #[error("could not build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The server's certificate chain (leaf first) and private key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// A rustls configuration for the DICOM TLS listener. With `client_ca`, every peer must
/// present a certificate that chains to it (refused in the handshake otherwise); without,
/// no client certificate is asked for.
pub fn dicom_server_config(
    identity: &Identity,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(path) => {
            let roots = Arc::new(client_roots(path)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|error| TlsSetupError::ClientCa {
                    path: path.to_owned(),
                    reason: error.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let (chain, key) = load_identity(identity)?;
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|reason| mismatch(identity, reason))?;
    Ok(Arc::new(config))
}

/// A rustls configuration for the HTTPS edge: no client certificates (requests carry
/// bearer tokens), HTTP/1.1 announced through ALPN.
pub fn http_server_config(identity: &Identity) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let (chain, key) = load_identity(identity)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|reason| mismatch(identity, reason))?;
    config.alpn_protocols = vec![HTTP1_ALPN.to_vec()];
    Ok(Arc::new(config))
}

fn mismatch(identity: &Identity, reason: rustls::Error) -> TlsSetupError {
    TlsSetupError::KeyMismatch {
        cert: identity.cert_file.clone(),
        key: identity.key_file.clone(),
        reason,
    }
}

type Chain = Vec<CertificateDer<'static>>;

fn load_identity(identity: &Identity) -> Result<(Chain, PrivateKeyDer<'static>), TlsSetupError> {
    let chain = certificates(&identity.cert_file)?;
    let bytes = read(&identity.key_file)?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => TlsSetupError::NoKey {
            path: identity.key_file.clone(),
        },
        other => TlsSetupError::Pem {
            path: identity.key_file.clone(),
            reason: other.to_string(),
        },
    })?;
    Ok((chain, key))
}

/// Every certificate in a PEM file, in order; none is an error.
fn certificates(path: &Path) -> Result<Chain, TlsSetupError> {
    let bytes = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Chain, _>>()
        .map_err(|error| TlsSetupError::Pem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// The CA file's certificates as trust anchors for client certificates (parsed the way
/// every service parses a CA file, `radraft_core::tls`).
fn client_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let bytes = read(path)?;
    let invalid = |reason: String| TlsSetupError::ClientCa {
        path: path.to_owned(),
        reason,
    };
    let ca = TrustedCa::from_pem(&bytes).map_err(|error| invalid(error.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in ca.certificates() {
        roots
            .add(cert.clone())
            .map_err(|error| invalid(error.to_string()))?;
    }
    Ok(roots)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.to_owned(),
        source,
    })
}
