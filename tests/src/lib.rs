//! Shared harness for the end-to-end tests: a fresh database, a gateway on free ports with
//! its own queue names, a worker with the tiny model, the fixture studies, and the real
//! dcmtk tools to send them.
//! Harness code may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod broker;
pub mod browser;
pub mod canary;
pub mod db;
pub mod dicom_file;
pub mod dimse_crowd;
pub mod dimse_peer;
pub mod fixtures;
pub mod gateway;
pub mod gateway_process;
pub mod hostile;
pub mod leaks;
pub mod multiframe;
pub mod orthanc;
pub mod outage;
pub mod pacs;
pub mod private_servers;
pub mod proxy;
pub mod results;
pub mod review;
pub mod scu;
pub mod sender;
pub mod stow;
pub mod synthetic;
pub mod test_ca;
pub mod tls_peer;
pub mod tls_servers;
pub mod worker;
pub mod worker_process;

/// Runs blocking peer code (dcmtk, raw sockets) off the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}
