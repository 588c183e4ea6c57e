//! Every refusal is logged with its reason and the peer, at WARN (so a production filter
//! keeps it) and without patient data: an association from an unknown AE title, a
//! presentation context for a class radraft does not take, a C-STORE whose pixel data is
//! cut short, a STOW-RS part that is not DICOM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use dicom_dictionary_std::tags;
use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::hostile::with_pixel_data_cut;
use radraft_e2e::scu::store_raw;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, ct_image, encode_file};
use radraft_e2e::{fixtures, pacs, stow};

const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The one log line holding `message`, checked to name every one of `with`.
    fn line(&self, message: &str, with: &[&str]) -> String {
        let text = self.text();
        let line = text
            .lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no log line {message:?} in:\n{text}"))
            .to_owned();
        for part in with {
            assert!(line.contains(part), "{part:?} missing from: {line}");
        }
        line
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_logged_with_its_reason_and_the_peer() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let port = gateway.dimse_port;

    // Negotiation: an unknown calling AE title, then a class radraft does not take.
    let intruder = tokio::task::spawn_blocking(move || pacs::echoscu(port, "INTRUDER"))
        .await
        .unwrap();
    assert!(!intruder.status.success(), "{}", pacs::describe(&intruder));
    captured.line(
        "association refused",
        &["INTRUDER", "127.0.0.1", "calling AE title not allowed"],
    );

    let dir = tempfile::tempdir().unwrap();
    let sr_file = dir.path().join("sr.dcm");
    let sr_uid = "1.2.826.0.1.3680043.10.1234.99.1.2";
    let sr = ct_image(BASIC_TEXT_SR, Some(sr_uid));
    std::fs::write(&sr_file, encode_file(sr, BASIC_TEXT_SR, sr_uid)).unwrap();
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&sr_file]))
        .await
        .unwrap();
    assert!(!pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    captured.line(
        "presentation context refused",
        &[
            BASIC_TEXT_SR,
            SENDER_AE,
            "127.0.0.1",
            "abstract syntax not supported",
        ],
    );

    // Admission: a CT slice whose pixel data is cut short.
    let ct = fixtures::files("mixed")
        .into_iter()
        .find(|p| {
            let object = dicom_object::open_file(p).unwrap();
            object.meta().transfer_syntax().trim_end_matches('\0') == EXPLICIT_LE
                && object
                    .meta()
                    .media_storage_sop_class_uid()
                    .trim_end_matches('\0')
                    == CT_IMAGE_STORAGE
        })
        .unwrap();
    let uid = dicom_object::open_file(&ct)
        .unwrap()
        .meta()
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_owned();
    let cut = with_pixel_data_cut(&std::fs::read(&ct).unwrap(), 1000);
    let sop = uid.clone();
    let refused = tokio::task::spawn_blocking(move || {
        store_raw(port, CT_IMAGE_STORAGE, &sop, EXPLICIT_LE, &cut)
    })
    .await
    .unwrap();
    assert_eq!(refused.status, 0xA900, "{refused:?}");
    captured.line(
        "refused C-STORE",
        &["pixel data too short", SENDER_AE, "127.0.0.1", &uid],
    );

    // STOW-RS: a part that is not DICOM.
    let response = stow::store(&gateway.stow_url(), &[b"not DICOM at all".to_vec()]).await;
    assert_eq!(response.status, 409, "{}", response.body);
    captured.line(
        "refused STOW-RS part",
        &["not_dicom", "127.0.0.1", "part=1"],
    );

    gateway.stop().await;
    setup.teardown().await;

    // The refused objects' patient values never reach the log.
    let logs = captured.text();
    let object = dicom_object::open_file(&ct).unwrap();
    let mut phi = vec!["SYNTHETIC^BAD".to_owned()];
    for tag in [
        tags::PATIENT_NAME,
        tags::PATIENT_ID,
        tags::PATIENT_BIRTH_DATE,
    ] {
        phi.push(
            object
                .element(tag)
                .unwrap()
                .to_str()
                .unwrap()
                .trim()
                .to_owned(),
        );
    }
    for value in phi {
        assert!(
            !logs.contains(&value),
            "{value:?} appeared in the logs:\n{logs}"
        );
    }
}
