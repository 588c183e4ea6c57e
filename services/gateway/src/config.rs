//! The gateway's configuration: read from `RADRAFT_GATEWAY__*` variables, validated before
//! anything connects, every problem reported at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use radraft_core::settings::{Settings, check_scheme};
use radraft_queue::BrokerTrust;
// Re-exported: the configuration holds secrets in this type.
pub use secrecy::SecretString;

mod client_tls;
mod dimse;
mod http;
mod orthanc;
mod tls;

pub use dimse::DimseLimits;
pub use http::{HttpLimits, MIN_TOKEN_CHARS};
pub use orthanc::OrthancConfig;
pub use tls::{DimseTls, ListenAddr, TlsSettings};

pub const ENV_PREFIX: &str = "RADRAFT_GATEWAY__";

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub database_url: String,
    pub amqp_url: String,
    /// Which CA vouches for an `amqps://` broker (`AMQP_CA_FILE`; default: system roots).
    pub amqp_trust: BrokerTrust,
    /// Prefix of every exchange and queue name (see `radraft_queue::Topology`).
    pub queue_prefix: String,
    /// How long a message waits in the retry queue; every service must declare the same.
    pub retry_delay: Duration,
    pub ae_title: String,
    /// The plain DICOM listener; `None` (`DIMSE_ADDR=off`): DICOM over TLS only.
    pub dimse_addr: Option<SocketAddr>,
    pub http_addr: SocketAddr,
    pub allowed_calling_aes: AllowedAes,
    pub archive_dir: PathBuf,
    /// How long a study must receive nothing before it counts as complete.
    pub quiet_period: Duration,
    pub max_instance_bytes: u64,
    /// How long the announcer waits for the broker (connect, publisher confirm) before it
    /// gives up, closes the connection and retries; claims are leased for twice this.
    pub publish_timeout: Duration,
    /// How long a query may wait for a database connection: while Postgres is down, the
    /// time a sender waits before it is answered "out of resources".
    pub database_acquire_timeout: Duration,
    /// On SIGTERM: how long open associations and HTTP requests may take to finish before
    /// they are cut.
    pub drain_grace: Duration,
    /// An archive file no index row names is removed once untouched for this long.
    pub orphan_grace: Duration,
    /// How often the archive is swept for such files.
    pub sweep_interval: Duration,
    pub orthanc: Option<OrthancConfig>,
    pub http: HttpLimits,
    pub tls: TlsSettings,
    pub dimse: DimseLimits,
}

/// Which calling AE titles may open an association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedAes {
    Any,
    Only(Vec<String>),
}

impl AllowedAes {
    pub fn allows(&self, calling_ae: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.iter().any(|ae| ae == calling_ae.trim()),
        }
    }
}

impl FromStr for AllowedAes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "*" {
            return Ok(Self::Any);
        }
        let list: Vec<String> = s
            .split(',')
            .map(|ae| ae.trim().to_owned())
            .filter(|ae| !ae.is_empty())
            .collect();
        if let Some(bad) = list.iter().find(|ae| ae.len() > 16) {
            return Err(format!("AE title {bad:?} is longer than 16 characters"));
        }
        Ok(Self::Only(list))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid gateway configuration:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl GatewayConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = Settings::new(ENV_PREFIX, vars);
        let orthanc = OrthancConfig::read(&mut env);
        let http = HttpLimits::read(&mut env);
        let dimse = DimseLimits::read(&mut env);
        let tls = TlsSettings::read(&mut env);
        let amqp_url = env.get_or_global("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
        let config = Self {
            database_url: env
                .get_or_global("DATABASE_URL", "postgres://root@127.0.0.1:5432/radraft"),
            amqp_trust: radraft_queue::broker_trust_setting(&mut env, &amqp_url),
            amqp_url,
            queue_prefix: env.get("QUEUE_PREFIX", "radraft".to_owned()),
            retry_delay: Duration::from_millis(env.get("RETRY_DELAY_MS", 30_000)),
            ae_title: env.get("AE_TITLE", "RADRAFT".to_owned()),
            dimse_addr: env
                .get(
                    "DIMSE_ADDR",
                    ListenAddr(Some(SocketAddr::from(([0, 0, 0, 0], 11112)))),
                )
                .0,
            http_addr: env.get("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080))),
            allowed_calling_aes: env.get("ALLOWED_CALLING_AES", AllowedAes::Any),
            archive_dir: env.get("ARCHIVE_DIR", PathBuf::from("var/archive")),
            quiet_period: Duration::from_millis(env.get("QUIET_PERIOD_MS", 30_000)),
            max_instance_bytes: env.get("MAX_INSTANCE_BYTES", 1 << 30),
            publish_timeout: Duration::from_millis(env.get("PUBLISH_TIMEOUT_MS", 10_000)),
            database_acquire_timeout: Duration::from_millis(
                env.get("DATABASE_ACQUIRE_TIMEOUT_MS", 5_000),
            ),
            drain_grace: Duration::from_millis(env.get("DRAIN_GRACE_MS", 30_000)),
            orphan_grace: Duration::from_millis(env.get("ORPHAN_GRACE_MS", 3_600_000)),
            sweep_interval: Duration::from_millis(env.get("SWEEP_INTERVAL_MS", 3_600_000)),
            orthanc,
            http,
            tls,
            dimse,
        };
        config.validate(&mut env);
        env.finish()
            .map(|()| config)
            .map_err(|problems| ConfigError { problems })
    }

    fn validate(&self, env: &mut Settings) {
        if self.ae_title.is_empty() || self.ae_title.len() > 16 {
            env.problem(format!(
                "{ENV_PREFIX}AE_TITLE must be 1 to 16 characters, got {:?}",
                self.ae_title
            ));
        }
        for (name, url, schemes) in [
            (
                "DATABASE_URL",
                &self.database_url,
                &["postgres", "postgresql"][..],
            ),
            ("AMQP_URL", &self.amqp_url, &["amqp", "amqps"][..]),
        ] {
            if !check_scheme(url, schemes) {
                env.problem(format!(
                    "{ENV_PREFIX}{name} must start with {}://",
                    schemes[0]
                ));
            }
        }
        if check_scheme(&self.database_url, &["postgres", "postgresql"]) {
            client_tls::check_database_url(env, &self.database_url);
        }
        if self.max_instance_bytes == 0 {
            env.problem(format!("{ENV_PREFIX}MAX_INSTANCE_BYTES must be above 0"));
        }
        for (name, value) in [
            ("PUBLISH_TIMEOUT_MS", self.publish_timeout),
            ("DATABASE_ACQUIRE_TIMEOUT_MS", self.database_acquire_timeout),
            ("SWEEP_INTERVAL_MS", self.sweep_interval),
        ] {
            if value.is_zero() {
                env.problem(format!("{ENV_PREFIX}{name} must be above 0"));
            }
        }
        // A file is written before its row is committed, and the commit may wait up to the
        // acquire timeout for a connection: a shorter grace could sweep a file whose row is
        // about to land.
        if self.orphan_grace <= 2 * self.database_acquire_timeout {
            env.problem(format!(
                "{ENV_PREFIX}ORPHAN_GRACE_MS must be over twice DATABASE_ACQUIRE_TIMEOUT_MS"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment a test names, prefixed as the gateway reads it (used by every
    /// settings module's tests).
    pub(super) fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_usable() {
        let config = GatewayConfig::from_vars(HashMap::new()).unwrap();
        assert_eq!(config.ae_title, "RADRAFT");
        assert_eq!(config.quiet_period, Duration::from_secs(30));
        assert!(config.orthanc.is_none());
        assert_eq!(config.drain_grace, Duration::from_secs(30));
        assert_eq!(config.publish_timeout, Duration::from_secs(10));
    }

    #[test]
    fn an_orphan_grace_within_the_acquire_timeout_is_refused() {
        let err = GatewayConfig::from_vars(vars(&[
            ("DATABASE_ACQUIRE_TIMEOUT_MS", "5000"),
            ("ORPHAN_GRACE_MS", "9000"),
            ("PUBLISH_TIMEOUT_MS", "0"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.to_string().contains("ORPHAN_GRACE_MS"));
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = GatewayConfig::from_vars(vars(&[
            ("QUIET_PERIOD_MS", "soon"),
            ("AE_TITLE", "A-TITLE-FAR-TOO-LONG"),
            ("AMQP_URL", "http://x"),
            ("ALLOWED_CALLING_AES", "OK,THIS-ONE-IS-TOO-LONG"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().contains("QUIET_PERIOD_MS=\"soon\""));
    }

    #[test]
    fn allow_list_parses() {
        let only: AllowedAes = "MODALITY1, PACS ".parse().unwrap();
        assert!(only.allows("PACS"));
        assert!(!only.allows("INTRUDER"));
        assert!("*".parse::<AllowedAes>().unwrap().allows("ANYONE"));
    }
}
