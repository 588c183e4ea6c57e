//! The review service's configuration: `RADRAFT_REVIEW__*` variables (the database URL may
//! also come from `DATABASE_URL`), every problem reported at once. The URL carries a
//! password, so it is a secret.

use std::collections::HashMap;

use radraft_core::settings::{Settings, check_scheme};
use secrecy::{ExposeSecret, SecretString};

pub const ENV_PREFIX: &str = "RADRAFT_REVIEW__";

#[derive(Debug, Clone)]
pub struct ReviewConfig {
    pub database_url: SecretString,
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
        };
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
