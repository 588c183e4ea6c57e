//! The radraft gateway: receives studies from PACSs through DICOM C-STORE, DICOMweb
//! STOW-RS and an Orthanc connector; archives and indexes each instance before answering;
//! announces each study on RabbitMQ once it has been quiet for the configured period.

mod announce;
mod api_error;
mod app;
pub mod config;
mod dimse;
mod drain;
mod http_edge;
mod http_serve;
pub mod ingest;
pub mod inspect;
mod orthanc;
mod stow;
mod sweep;
pub mod tls;

pub use app::{App, RunError, StartError};
pub use config::GatewayConfig;
pub use orthanc::{OrthancError, OrthancFollower};
pub use sweep::{Sweeper, Swept};
