//! The radraft gateway: receives studies from PACSs through DICOM C-STORE, DICOMweb
//! STOW-RS and an Orthanc connector; archives and indexes each instance before answering;
//! announces each study on RabbitMQ once it has been quiet for the configured period.

mod announce;
mod api_error;
mod app;
pub mod config;
mod dimse;
pub mod ingest;
mod orthanc;
mod stow;

pub use app::{App, RunError, StartError};
pub use config::GatewayConfig;
pub use orthanc::OrthancFollower;
