//! The review service's configuration: `RADRAFT_REVIEW__*` variables (the database URL may
//! also come from `DATABASE_URL`), every problem reported at once. The URL carries a
//! password, so it is a secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
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
    /// The gateway's archive, to render the images the model saw.
    pub archive_dir: PathBuf,
    /// Keyboard shortcuts on the study page.
    pub keys: Keys,
    /// The bearer token Prometheus sends for `/metrics`; without one `/metrics` is off.
    pub metrics_token: Option<SecretString>,
    /// Where signed reports (and, if asked, drafts) go as DICOM SR; none: nothing is sent.
    pub pacs: Option<PacsConfig>,
}

/// The PACS that receives our SRs by C-STORE, and how its exports are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacsConfig {
    /// `host:port` of its DICOM listener.
    pub addr: String,
    pub called_ae: String,
    pub calling_ae: String,
    pub timeout: Duration,
    /// Also send each unreviewed draft as an UNVERIFIED SR.
    pub export_drafts: bool,
    /// The first retry's delay; each further one doubles, up to `retry_max`.
    pub retry: Duration,
    pub retry_max: Duration,
}

impl PacsConfig {
    /// How exports to this PACS are told apart: `AE@host:port`.
    pub fn destination(&self) -> String {
        format!("{}@{}", self.called_ae, self.addr)
    }
}

/// Single-key shortcuts: `next=n,accept=a,edit=e,reject=r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub next: char,
    pub accept: char,
    pub edit: char,
    pub reject: char,
}

impl Default for Keys {
    fn default() -> Self {
        Keys {
            next: 'n',
            accept: 'a',
            edit: 'e',
            reject: 'r',
        }
    }
}

impl std::str::FromStr for Keys {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut keys = Keys::default();
        for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (action, key) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not action=key"))?;
            let mut chars = key.trim().chars();
            let (Some(key), None) = (chars.next(), chars.next()) else {
                return Err(format!("{key:?} is not one character"));
            };
            match action.trim() {
                "next" => keys.next = key,
                "accept" => keys.accept = key,
                "edit" => keys.edit = key,
                "reject" => keys.reject = key,
                other => {
                    return Err(format!(
                        "unknown action {other:?} (next, accept, edit, reject)"
                    ));
                }
            }
        }
        let all = [keys.next, keys.accept, keys.edit, keys.reject];
        if (1..all.len()).any(|i| all[..i].contains(&all[i])) {
            return Err("two actions share a key".to_owned());
        }
        Ok(keys)
    }
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
            archive_dir: env.get("ARCHIVE_DIR", PathBuf::from("var/archive")),
            keys: env.get("KEYS", Keys::default()),
            metrics_token: env
                .optional::<String>("METRICS_TOKEN")
                .map(SecretString::from),
            pacs: env.optional::<String>("PACS__ADDR").map(|addr| PacsConfig {
                addr,
                called_ae: env.get("PACS__CALLED_AE", "PACS".to_owned()),
                calling_ae: env.get("PACS__CALLING_AE", "RADRAFT".to_owned()),
                timeout: Duration::from_millis(env.get("PACS__TIMEOUT_MS", 30_000)),
                export_drafts: env.get("PACS__EXPORT_DRAFTS", false),
                retry: Duration::from_millis(env.get("PACS__RETRY_MS", 5_000)),
                retry_max: Duration::from_millis(env.get("PACS__RETRY_MAX_MS", 300_000)),
            }),
        };
        if let Some(pacs) = &config.pacs {
            for (name, ae) in [
                ("CALLED_AE", &pacs.called_ae),
                ("CALLING_AE", &pacs.calling_ae),
            ] {
                // An AE title is 1 to 16 characters of the default repertoire, no backslash.
                if ae.trim().is_empty()
                    || ae.len() > 16
                    || !ae.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                    || ae.contains('\\')
                {
                    env.problem(format!(
                        "{ENV_PREFIX}PACS__{name} must be 1 to 16 printable ASCII characters"
                    ));
                }
            }
            if pacs.retry.is_zero() || pacs.retry > pacs.retry_max {
                env.problem(format!(
                    "{ENV_PREFIX}PACS__RETRY_MS must be above 0 and at most PACS__RETRY_MAX_MS"
                ));
            }
        }
        // Long enough not to be guessed; set but empty is a mistake, not "off".
        if config
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().len() < 16)
        {
            env.problem(format!(
                "{ENV_PREFIX}METRICS_TOKEN must be at least 16 characters"
            ));
        }
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
        } else if let Err(e) =
            radraft_store::check_database_tls(config.database_url.expose_secret())
        {
            // `sslmode` and `sslrootcert` in the URL; a bad CA file is caught here, not at the
            // first connection.
            env.problem(format!("{ENV_PREFIX}DATABASE_URL: {e}"));
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

    #[test]
    fn shortcuts_are_configurable_and_checked() {
        let keys: Keys = "accept=y, next=j".parse().unwrap();
        assert_eq!((keys.accept, keys.next, keys.edit), ('y', 'j', 'e'));
        assert!("accept=yy".parse::<Keys>().is_err());
        assert!("accept=e".parse::<Keys>().is_err(), "clashes with edit");
        assert!("sign=s".parse::<Keys>().is_err());
    }
}
