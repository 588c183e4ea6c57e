//! Connecting to the broker, over TLS for `amqps://` URLs. The broker's certificate is
//! always verified, hostname included: against the system's roots by default, or, when the
//! deployment names its own CA file (`AMQP_CA_FILE`), against that CA alone, so a
//! certificate from any other authority is refused even if the system trusts it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lapin::tcp::{AsyncTcpStream, RustlsConnector};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};
use radraft_core::settings::Settings;
use radraft_core::tls::{CaError, TrustedCa};
use rustls::{ClientConfig, RootCertStore};

use crate::QueueError;

/// Which certificate authorities vouch for the broker on `amqps://`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BrokerTrust {
    /// The operating system's root certificates.
    #[default]
    SystemRoots,
    /// Only this CA (a private PKI's).
    Ca(TrustedCa),
}

#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path} {source}")]
    Invalid {
        path: String,
        #[source]
        source: CaError,
    },
}

/// Reads and checks a CA file (PEM). Services call this at start-up, so a missing or
/// unparsable file is a configuration error, not a failed connection later.
pub fn read_ca_file(path: &Path) -> Result<TrustedCa, CaFileError> {
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| CaFileError::Read {
        path: shown.clone(),
        source,
    })?;
    TrustedCa::from_pem(&pem).map_err(|source| CaFileError::Invalid {
        path: shown,
        source,
    })
}

/// Opens a connection, verifying the broker against `trust` when the URL is `amqps://`.
pub async fn connect_trusting(
    amqp_url: &str,
    trust: &BrokerTrust,
) -> Result<Connection, QueueError> {
    let properties = ConnectionProperties::default();
    let BrokerTrust::Ca(ca) = trust else {
        return Connection::connect(amqp_url, properties)
            .await
            .map_err(QueueError::Connect);
    };
    let uri: AMQPUri = amqp_url
        .parse()
        .map_err(|e: String| QueueError::Connect(io::Error::other(e).into()))?;
    let runtime = lapin::runtime::default_runtime().map_err(QueueError::Connect)?;
    let connector = ca_only_connector(ca).map_err(|e| QueueError::Connect(e.into()))?;
    // lapin calls this again on each reconnection; it mirrors lapin's own connect, with our
    // verifier in place of the default one.
    let connect = async move |uri: AMQPUri, runtime| {
        let host = uri.authority.host.clone();
        let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), uri.authority.port))
            .await?
            .collect();
        let stream = AsyncTcpStream::connect(&runtime, addrs).await?;
        Ok::<_, lapin::Error>(match uri.scheme {
            AMQPScheme::AMQP => stream,
            AMQPScheme::AMQPS => stream.into_rustls(&connector, &host).await?,
        })
    };
    Connection::connector(uri, runtime, connect, properties)
        .await
        .map_err(QueueError::Connect)
}

/// A TLS client configuration whose only roots are `ca`'s certificates, with ring, the
/// workspace's crypto provider.
fn ca_only_connector(ca: &TrustedCa) -> io::Result<RustlsConnector> {
    let mut roots = RootCertStore::empty();
    for certificate in ca.certificates() {
        roots
            .add(certificate.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(RustlsConnector::from(config))
}

/// The setting naming the broker's CA file, the same key (under each service's prefix) in
/// every service that connects to the broker.
pub const CA_FILE_SETTING: &str = "AMQP_CA_FILE";

/// Reads a service's [`CA_FILE_SETTING`] for `amqp_url`: unset, the system's roots; set,
/// the file's CA alone. A file that cannot be read or parsed, or a CA named for a plain
/// `amqp://` URL (nothing would be verified or encrypted), is a problem recorded in `env`.
pub fn broker_trust_setting(env: &mut Settings, amqp_url: &str) -> BrokerTrust {
    let Some(path) = env.optional::<PathBuf>(CA_FILE_SETTING) else {
        return BrokerTrust::SystemRoots;
    };
    let name = env.name(CA_FILE_SETTING);
    if !amqp_url.starts_with("amqps://") {
        env.problem(format!(
            "{name} is set but the AMQP URL is not amqps://: the connection would not use TLS"
        ));
    }
    match read_ca_file(&path) {
        Ok(ca) => BrokerTrust::Ca(ca),
        Err(e) => {
            env.problem(format!("{name}: {e}"));
            BrokerTrust::SystemRoots
        }
    }
}
