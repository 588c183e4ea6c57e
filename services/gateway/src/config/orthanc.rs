//! The Orthanc connector's settings (`ORTHANC__*`): which Orthanc's `/changes` to follow,
//! how to authenticate, its timeouts and the CA its HTTPS certificate must chain to.

use std::time::Duration;

use radraft_core::settings::Settings;
use radraft_core::tls::TrustedCa;

use super::{ENV_PREFIX, SecretString, client_tls};

#[derive(Debug, Clone)]
pub struct OrthancConfig {
    /// Names the feed cursor and the calling AE recorded for pulled instances.
    pub name: String,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub poll_interval: Duration,
    /// Connect timeout, idle-read timeout and total time of each API request.
    pub timeout: Duration,
    /// Total time allowed to download one instance.
    pub download_timeout: Duration,
    /// The only CA trusted for an `https://` Orthanc (`ORTHANC__CA_FILE`); none: the
    /// system's roots.
    pub ca: Option<TrustedCa>,
}

impl OrthancConfig {
    /// Reads and checks the `ORTHANC__*` settings; `None` when `ORTHANC__URL` is unset (no
    /// Orthanc is followed). Problems go to `env`, never the password.
    pub(super) fn read(env: &mut Settings) -> Option<Self> {
        let url = env.optional::<String>("ORTHANC__URL")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            env.problem(format!("{ENV_PREFIX}ORTHANC__URL must be an http(s) URL"));
        }
        let ca = client_tls::orthanc_ca(env, &url);
        let config = Self {
            name: env.get("ORTHANC__NAME", "orthanc".to_owned()),
            url: url.trim_end_matches('/').to_owned(),
            username: env.optional("ORTHANC__USERNAME"),
            password: env
                .optional::<String>("ORTHANC__PASSWORD")
                .map(SecretString::from),
            poll_interval: Duration::from_millis(env.get("ORTHANC__POLL_MS", 1000)),
            timeout: Duration::from_millis(env.get("ORTHANC__TIMEOUT_MS", 30_000)),
            download_timeout: Duration::from_millis(
                env.get("ORTHANC__DOWNLOAD_TIMEOUT_MS", 600_000),
            ),
            ca,
        };
        if config.timeout.is_zero() || config.download_timeout.is_zero() {
            env.problem(format!(
                "{ENV_PREFIX}ORTHANC__TIMEOUT_MS and ORTHANC__DOWNLOAD_TIMEOUT_MS must be above 0"
            ));
        }
        Some(config)
    }
}
