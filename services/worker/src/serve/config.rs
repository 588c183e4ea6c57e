//! `radraft-worker serve`'s configuration: `RADRAFT_WORKER__*` variables, validated before
//! anything connects or loads (the model folder and its manifest exist, URLs parse, the
//! triage threshold is a probability), every problem reported at once. Connection URLs,
//! which carry passwords, are secrets: never printed, not even in Debug.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use radraft_core::settings::{Settings, check_scheme};
use radraft_imaging::StudyOptions;
use radraft_medgemma::{Provider, RuntimeConfig};
use radraft_queue::BrokerTrust;
use secrecy::{ExposeSecret, SecretString};

use crate::draft::DEFAULT_MAX_NEW_TOKENS;
use crate::scope::{Allowed, Scope};
use crate::triage::TriageConfig;

pub const ENV_PREFIX: &str = "RADRAFT_WORKER__";

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub database_url: SecretString,
    pub amqp_url: SecretString,
    /// Which CA vouches for an `amqps://` broker (`AMQP_CA_FILE`; default: system roots).
    pub amqp_trust: BrokerTrust,
    pub queue_prefix: String,
    /// How long a transiently failed study waits in the retry queue; the same as the
    /// gateway's (`RADRAFT_GATEWAY__RETRY_DELAY_MS`).
    pub retry_delay: Duration,
    /// Deliveries held at once; default one per loaded model.
    pub prefetch: u16,
    /// Model instances, each on its own thread.
    pub model_threads: usize,
    pub model_dir: PathBuf,
    pub runtime: RuntimeConfig,
    pub archive_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub study: StudyOptions,
    pub max_new_tokens: usize,
    /// A deployment's own prompt templates; the built-in ones when unset.
    pub prompt_dir: Option<PathBuf>,
    pub scope: Scope,
    pub triage: Option<TriageConfig>,
    /// Attempts after which a transient failure counts as permanent.
    pub max_attempts: u32,
    /// How long a stopping worker waits for the study in hand before leaving it unacked.
    pub drain_grace: Duration,
    /// Names the worker in jobs and logs.
    pub worker_name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid worker configuration:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// What the `dead` commands need: the broker and the queue names, no model.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub amqp_url: SecretString,
    pub amqp_trust: BrokerTrust,
    pub queue_prefix: String,
    /// Declared with the topology, so it must be the deployment's.
    pub retry_delay: Duration,
}

impl QueueSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = Settings::new(ENV_PREFIX, std::env::vars().collect());
        let amqp_url = env.get_or_global("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
        let settings = QueueSettings {
            amqp_trust: radraft_queue::broker_trust_setting(&mut env, &amqp_url),
            amqp_url: amqp_url.into(),
            queue_prefix: env.get("QUEUE_PREFIX", "radraft".to_owned()),
            retry_delay: Duration::from_millis(env.get("RETRY_DELAY_MS", 30_000)),
        };
        if !check_scheme(settings.amqp_url.expose_secret(), &["amqp", "amqps"]) {
            env.problem(format!("{ENV_PREFIX}AMQP_URL must start with amqp://"));
        }
        env.finish()
            .map(|()| settings)
            .map_err(|problems| ConfigError { problems })
    }
}

impl WorkerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = Settings::new(ENV_PREFIX, vars);
        let model_threads: usize = env.get("MODEL_THREADS", 1);
        let defaults = TriageConfig::default();
        let triage = env.get("TRIAGE__ENABLED", true).then(|| TriageConfig {
            projection_question: env
                .get("TRIAGE__PROJECTION_QUESTION", defaults.projection_question),
            ct_question: env.get("TRIAGE__CT_QUESTION", defaults.ct_question),
            mr_question: env.get("TRIAGE__MR_QUESTION", defaults.mr_question),
            yes: env.get("TRIAGE__YES", defaults.yes),
            no: env.get("TRIAGE__NO", defaults.no),
            threshold: env.get("TRIAGE__THRESHOLD", defaults.threshold),
        });
        let scope = Scope {
            modalities: env.get("SCOPE__MODALITIES", Scope::default().modalities),
            body_parts: env.get("SCOPE__BODY_PARTS", Allowed::Any),
        };
        let providers: String = env.get("PROVIDERS", "tensorrt,cuda,cpu".to_owned());
        let providers = providers
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .filter_map(|p| match p.trim().parse::<Provider>() {
                Ok(provider) => Some(provider),
                Err(e) => {
                    env.problem(format!("{ENV_PREFIX}PROVIDERS: {p:?}: {e}"));
                    None
                }
            })
            .collect();
        let amqp_url = env.get_or_global("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
        let config = WorkerConfig {
            database_url: env
                .get_or_global("DATABASE_URL", "postgres://root@127.0.0.1:5432/radraft")
                .into(),
            amqp_trust: radraft_queue::broker_trust_setting(&mut env, &amqp_url),
            amqp_url: amqp_url.into(),
            queue_prefix: env.get("QUEUE_PREFIX", "radraft".to_owned()),
            retry_delay: Duration::from_millis(env.get("RETRY_DELAY_MS", 30_000)),
            prefetch: env.get("PREFETCH", u16::try_from(model_threads).unwrap_or(u16::MAX)),
            model_threads,
            model_dir: env.get("MODEL_DIR", PathBuf::from("models/medgemma-4b-it")),
            runtime: RuntimeConfig {
                providers,
                require_gpu: env.get("REQUIRE_GPU", false),
                device_id: env.get("DEVICE_ID", 0),
                trt_engine_cache: env.optional("TRT_ENGINE_CACHE"),
                intra_threads: env.optional("INTRA_THREADS"),
                ..RuntimeConfig::default()
            },
            archive_dir: env.get("ARCHIVE_DIR", PathBuf::from("var/archive")),
            http_addr: env.get("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8081))),
            study: StudyOptions {
                max_slices: env.get("MAX_SLICES", StudyOptions::default().max_slices),
                j2k_reduce_to: env.optional("J2K_REDUCE_TO"),
                ..StudyOptions::default()
            },
            max_new_tokens: env.get("MAX_NEW_TOKENS", DEFAULT_MAX_NEW_TOKENS),
            prompt_dir: env.optional("PROMPT_DIR"),
            scope,
            triage,
            max_attempts: env.get("MAX_ATTEMPTS", 5),
            drain_grace: Duration::from_millis(env.get("DRAIN_GRACE_MS", 30_000)),
            worker_name: env.get("NAME", format!("worker-{}", std::process::id())),
        };
        config.validate(&mut env);
        env.finish()
            .map(|()| config)
            .map_err(|problems| ConfigError { problems })
    }

    fn validate(&self, env: &mut Settings) {
        for (name, url, schemes) in [
            (
                "DATABASE_URL",
                &self.database_url,
                &["postgres", "postgresql"][..],
            ),
            ("AMQP_URL", &self.amqp_url, &["amqp", "amqps"][..]),
        ] {
            if !check_scheme(url.expose_secret(), schemes) {
                env.problem(format!(
                    "{ENV_PREFIX}{name} must start with {}://",
                    schemes[0]
                ));
            }
        }
        let database_url = self.database_url.expose_secret();
        if check_scheme(database_url, &["postgres", "postgresql"])
            && let Err(e) = radraft_store::check_database_tls(database_url)
        {
            env.problem(format!("{ENV_PREFIX}DATABASE_URL: {e}"));
        }
        if !self.model_dir.join("manifest.json").is_file() {
            env.problem(format!(
                "{ENV_PREFIX}MODEL_DIR: {} holds no manifest.json (export a model with \
                 services/medgemma/exporter, see docs/medgemma.md)",
                self.model_dir.display()
            ));
        }
        if let Some(dir) = &self.prompt_dir
            && !dir.is_dir()
        {
            env.problem(format!(
                "{ENV_PREFIX}PROMPT_DIR: {} is not a folder",
                dir.display()
            ));
        }
        if self.model_threads == 0 {
            env.problem(format!("{ENV_PREFIX}MODEL_THREADS must be at least 1"));
        }
        if self.prefetch == 0 {
            env.problem(format!("{ENV_PREFIX}PREFETCH must be at least 1"));
        }
        if self.max_attempts == 0 {
            env.problem(format!("{ENV_PREFIX}MAX_ATTEMPTS must be at least 1"));
        }
        if self.runtime.providers.is_empty() {
            env.problem(format!("{ENV_PREFIX}PROVIDERS names no execution provider"));
        }
        if let Some(t) = &self.triage
            && !(0.0..=1.0).contains(&t.threshold)
        {
            env.problem(format!(
                "{ENV_PREFIX}TRIAGE__THRESHOLD must be between 0 and 1, got {}",
                t.threshold
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), v.to_string()))
            .collect()
    }

    fn tiny_model() -> String {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/medgemma-tiny").to_owned()
    }

    #[test]
    fn defaults_with_a_model_folder_are_usable() {
        let config = WorkerConfig::from_vars(vars(&[("MODEL_DIR", &tiny_model())])).unwrap();
        assert_eq!((config.prefetch, config.model_threads), (1, 1));
        assert_eq!(config.study.max_slices, 85);
        assert!(config.triage.is_some());
        assert_eq!(config.scope, Scope::default());
    }

    #[test]
    fn reports_every_problem_at_once_and_never_prints_the_urls() {
        let err = WorkerConfig::from_vars(vars(&[
            ("MODEL_DIR", "/nonexistent/model"),
            ("PREFETCH", "many"),
            ("AMQP_URL", "http://guest:s3cret@x"),
            ("TRIAGE__THRESHOLD", "1.5"),
            ("PROVIDERS", "cpu,quantum"),
            ("SCOPE__MODALITIES", ","),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 6, "{err}");
        let config = WorkerConfig::from_vars(vars(&[
            ("MODEL_DIR", &tiny_model()),
            ("DATABASE_URL", "postgres://u:s3cret@h/db"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
