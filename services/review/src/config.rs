//! The review service's configuration: `RADRAFT_REVIEW__*` variables (the database URL may
//! also come from `DATABASE_URL`), every problem reported at once. The URL carries a
//! password, so it is a secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use radraft_core::settings::{Settings, check_scheme};
use secrecy::{ExposeSecret, SecretString};

pub const ENV_PREFIX: &str = "RADRAFT_REVIEW__";

#[derive(Debug, Clone)]
pub struct ReviewConfig {
    pub database_url: SecretString,
    pub http_addr: SocketAddr,
    /// Mark the session cookie `Secure` (sent over HTTPS only). On unless the service is
    /// reached over plain HTTP on a trusted network (or localhost, as in the demo).
    pub secure_cookies: bool,
    pub session_lifetime: Duration,
    /// The worklist's ageing cap: a study waiting longer rises above every score.
    pub max_wait: Duration,
    /// Failed sign-ins allowed per username within `login_window`.
    pub login_attempts: i64,
    pub login_window: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid review configuration:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ReviewConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = Settings::new(ENV_PREFIX, vars);
        let config = ReviewConfig {
            database_url: env
                .get_or_global("DATABASE_URL", "postgres://root@127.0.0.1:5432/radraft")
                .into(),
            http_addr: env.get("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8082))),
            secure_cookies: env.get("SECURE_COOKIES", true),
            session_lifetime: Duration::from_secs(60 * env.get("SESSION_MINUTES", 12 * 60)),
            max_wait: Duration::from_secs(60 * env.get("MAX_WAIT_MINUTES", 60)),
            login_attempts: env.get("LOGIN_ATTEMPTS", 5),
            login_window: Duration::from_secs(60 * env.get("LOGIN_WINDOW_MINUTES", 15)),
        };
        if config.login_attempts < 1 {
            env.problem(format!("{ENV_PREFIX}LOGIN_ATTEMPTS must be at least 1"));
        }
        if config.session_lifetime.is_zero() {
            env.problem(format!("{ENV_PREFIX}SESSION_MINUTES must be above 0"));
        }
        if !check_scheme(
            config.database_url.expose_secret(),
            &["postgres", "postgresql"],
        ) {
            env.problem(format!(
                "{ENV_PREFIX}DATABASE_URL must start with postgres://"
            ));
        }
        env.finish()
            .map(|()| config)
            .map_err(|problems| ConfigError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_checked_and_never_printed() {
        let vars =
            |url: &str| HashMap::from([(format!("{ENV_PREFIX}DATABASE_URL"), url.to_owned())]);
        let err = ReviewConfig::from_vars(vars("mysql://u:s3cret@h/db")).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(!err.to_string().contains("s3cret"));
        let ok = ReviewConfig::from_vars(vars("postgres://u:s3cret@h/db")).unwrap();
        assert!(!format!("{ok:?}").contains("s3cret"));
    }
}
