//! Patient data never leaves the gateway in logs or queue messages: every log line at
//! TRACE level and every study.ready body is searched for the fixtures' patient values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dicom_dictionary_std::tags;
use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::{fixtures, pacs, stow};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// PatientName, PatientID and PatientBirthDate of every fixture file.
fn patient_values(files: &[std::path::PathBuf]) -> Vec<String> {
    let mut values: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let object = dicom_object::open_file(file).unwrap();
            [
                tags::PATIENT_NAME,
                tags::PATIENT_ID,
                tags::PATIENT_BIRTH_DATE,
            ]
            .into_iter()
            .filter_map(|tag| {
                object
                    .element_opt(tag)
                    .ok()
                    .flatten()
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim().to_owned())
            })
            .collect::<Vec<_>>()
        })
        .filter(|v| v.len() >= 4)
        .collect();
    values.sort();
    values.dedup();
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_messages_carry_no_patient_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let files = fixtures::files("mixed");
    let phi = patient_values(&files);
    assert!(
        !phi.is_empty(),
        "the fixtures carry synthetic patient values to look for"
    );

    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let (port, dir) = (gateway.dimse_port, fixtures::path("mixed"));
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&dir]))
        .await
        .unwrap();
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let parts: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut truncated = parts[0].clone();
    truncated.truncate(truncated.len() / 2);
    stow::store(&gateway.stow_url(), &[parts[0].clone(), truncated]).await;
    let ready = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("study.ready");
    gateway.stop().await;
    setup.teardown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("study.ready published"),
        "logging was captured"
    );
    let message = serde_json::to_string(&ready).unwrap();
    for value in &phi {
        assert!(
            !logs.contains(value.as_str()),
            "patient value {value:?} appeared in the logs"
        );
        assert!(
            !message.contains(value.as_str()),
            "patient value {value:?} appeared in study.ready"
        );
    }
}
