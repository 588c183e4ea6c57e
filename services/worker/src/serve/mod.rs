//! `radraft-worker serve`: the queue consumer that turns every `study.ready` into exactly
//! one outcome in Postgres (a draft, a failure with its reason, or out of scope).

mod app;
pub mod config;
mod http;
pub mod metrics;
mod model_pool;
mod process;
mod record;

pub use app::{App, StartError};
pub use config::{ConfigError, QueueSettings, WorkerConfig};
