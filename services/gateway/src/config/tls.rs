//! The server side's TLS settings: DICOM TLS (`DIMSE_TLS_ADDR`, usually port 2762 beside
//! the plain 104), HTTPS for the HTTP edge (`HTTP_TLS`), the certificate and key they use
//! (`TLS_CERT_FILE`, `TLS_KEY_FILE`; HTTPS may have its own), the CA that DICOM peers'
//! certificates must chain to (`TLS_CLIENT_CA_FILE`) and the handshake timeout. The files
//! are read and the rustls configurations built here, so that an unreadable file or a key
//! that does not match its certificate is a configuration error at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use radraft_core::settings::Settings;
use rustls::ServerConfig;

use super::ENV_PREFIX;
use crate::tls::{self, Identity};

/// The TLS listeners' settings, with their configurations already built.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// DICOM TLS: where it listens and how it shakes hands; `None`: no DICOM TLS.
    pub dimse: Option<DimseTls>,
    /// HTTPS on `HTTP_ADDR` instead of plain HTTP; `None`: plain HTTP.
    pub http: Option<Arc<ServerConfig>>,
    /// How long a TLS handshake (DICOM or HTTPS) may take before the connection is cut.
    pub handshake_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DimseTls {
    pub addr: SocketAddr,
    pub server: Arc<ServerConfig>,
    /// Whether peers must present a certificate from `TLS_CLIENT_CA_FILE`.
    pub client_certificates: bool,
}

/// A listening address that can be turned off: `DIMSE_ADDR=off` leaves no plain DICOM
/// port, for sites that require TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr(pub Option<SocketAddr>);

impl FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" | "none" => Ok(Self(None)),
            addr => addr
                .parse()
                .map(|addr| Self(Some(addr)))
                .map_err(|error| format!("{error} (an address such as 0.0.0.0:104, or off)")),
        }
    }
}

impl TlsSettings {
    /// Reads the `TLS_*`, `DIMSE_TLS_ADDR` and `HTTP_TLS*` settings and builds what they
    /// describe; every problem goes to `env` (file names and reasons, never contents).
    pub(super) fn read(env: &mut Settings) -> Self {
        let dimse_addr = env.optional::<SocketAddr>("DIMSE_TLS_ADDR");
        let http_tls = env.get("HTTP_TLS", false);
        let handshake_timeout = Duration::from_millis(env.get("TLS_HANDSHAKE_TIMEOUT_MS", 10_000));
        if handshake_timeout.is_zero() {
            env.problem(format!(
                "{ENV_PREFIX}TLS_HANDSHAKE_TIMEOUT_MS must be above 0"
            ));
        }
        let shared = identity(env, "TLS_CERT_FILE", "TLS_KEY_FILE");
        let client_ca = env.optional::<PathBuf>("TLS_CLIENT_CA_FILE");
        let dimse = dimse_addr.and_then(|addr| {
            let Some(identity) = &shared else {
                env.problem(format!(
                    "{ENV_PREFIX}DIMSE_TLS_ADDR needs {ENV_PREFIX}TLS_CERT_FILE and {ENV_PREFIX}TLS_KEY_FILE"
                ));
                return None;
            };
            match tls::dicom_server_config(identity, client_ca.as_deref()) {
                Ok(server) => Some(DimseTls {
                    addr,
                    server,
                    client_certificates: client_ca.is_some(),
                }),
                Err(error) => {
                    env.problem(format!("{ENV_PREFIX}TLS_*: {error}"));
                    None
                }
            }
        });
        if dimse_addr.is_none() && client_ca.is_some() {
            env.problem(format!(
                "{ENV_PREFIX}TLS_CLIENT_CA_FILE is set but {ENV_PREFIX}DIMSE_TLS_ADDR is not: no listener would check client certificates"
            ));
        }
        if shared.is_some() && dimse_addr.is_none() && !http_tls {
            env.problem(format!(
                "{ENV_PREFIX}TLS_CERT_FILE is set but neither {ENV_PREFIX}DIMSE_TLS_ADDR nor {ENV_PREFIX}HTTP_TLS uses it"
            ));
        }
        let own = identity(env, "HTTP_TLS_CERT_FILE", "HTTP_TLS_KEY_FILE");
        let http = if http_tls {
            match own.as_ref().or(shared.as_ref()) {
                Some(identity) => tls::http_server_config(identity)
                    .map_err(|error| env.problem(format!("{ENV_PREFIX}HTTP_TLS: {error}")))
                    .ok(),
                None => {
                    env.problem(format!(
                        "{ENV_PREFIX}HTTP_TLS needs {ENV_PREFIX}TLS_CERT_FILE and {ENV_PREFIX}TLS_KEY_FILE (or HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE)"
                    ));
                    None
                }
            }
        } else {
            if own.is_some() {
                env.problem(format!(
                    "{ENV_PREFIX}HTTP_TLS_CERT_FILE is set but {ENV_PREFIX}HTTP_TLS is not true"
                ));
            }
            None
        };
        Self {
            dimse,
            http,
            handshake_timeout,
        }
    }
}

/// A certificate and key file pair: both or neither.
fn identity(env: &mut Settings, cert: &str, key: &str) -> Option<Identity> {
    match (env.optional::<PathBuf>(cert), env.optional::<PathBuf>(key)) {
        (Some(cert_file), Some(key_file)) => Some(Identity {
            cert_file,
            key_file,
        }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            env.problem(format!(
                "{ENV_PREFIX}{cert} and {ENV_PREFIX}{key} must be set together"
            ));
            None
        }
    }
}
