//! Peers of the gateway's TLS listeners: dcmtk's `storescu`/`echoscu` over DICOM TLS
//! (with a client certificate, anonymously, or plain TCP to the TLS port), a raw rustls
//! client for what no ordinary client does (stalling after the handshake), and an HTTPS
//! client that trusts only the test's CA.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::gateway::{AE_TITLE, SENDER_AE};
use crate::test_ca::{Leaf, LeafFiles};

/// How a dcmtk peer connects to a DICOM TLS port.
#[derive(Debug, Clone, Copy)]
pub enum DicomClient<'a> {
    /// TLS with this client certificate, trusting the CA file.
    Certificate(&'a LeafFiles, &'a Path),
    /// TLS without a client certificate, trusting the CA file (`+tla`).
    Anonymous(&'a Path),
    /// No TLS at all.
    Plain,
}

impl DicomClient<'_> {
    fn args(&self) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        match self {
            Self::Certificate(leaf, ca) => vec![
                "+tls".into(),
                path(&leaf.key),
                path(&leaf.cert),
                "+cf".into(),
                path(ca),
            ],
            Self::Anonymous(ca) => vec!["+tla".into(), "+cf".into(), path(ca)],
            Self::Plain => Vec::new(),
        }
    }
}

/// `storescu` sends `file` to the gateway on `port` as [`SENDER_AE`].
pub fn storescu(port: u16, client: DicomClient<'_>, file: &Path) -> Output {
    std::process::Command::new("storescu")
        .args(["-v", "-aet", SENDER_AE, "-aec", AE_TITLE])
        .args(client.args())
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(file)
        .output()
        .expect("storescu is installed (apt: dcmtk)")
}

/// `echoscu` to the gateway on `port` as [`SENDER_AE`].
pub fn echoscu(port: u16, client: DicomClient<'_>) -> Output {
    std::process::Command::new("echoscu")
        .args(["-aet", SENDER_AE, "-aec", AE_TITLE])
        .args(client.args())
        .arg("127.0.0.1")
        .arg(port.to_string())
        .output()
        .expect("echoscu is installed (apt: dcmtk)")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client trusting only `ca_pem`, presenting `identity` when given.
pub fn client_config(ca_pem: &str, identity: Option<&Leaf>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some(leaf) => {
            let chain = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// A TLS connection to `127.0.0.1:port` (server name `localhost`), or the handshake's error.
pub async fn connect(
    port: u16,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

/// An HTTPS client that trusts the CA in `ca_pem` and nothing else.
pub fn https_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap()
}

/// The port of `label` in a gateway log line (`dimse_tls_addr=127.0.0.1:40123`).
pub fn port_in_log(log: &str, label: &str) -> Option<u16> {
    let start = log.find(label)? + label.len();
    let addr: String = log[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    addr.rsplit(':').next()?.parse().ok()
}
