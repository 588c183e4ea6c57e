//! Bad input through every door: the sender gets a specific DICOM failure status or HTTP
//! 4xx with a reason, nothing partial stays in the archive or the database, and the gateway
//! keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::dicom_file::dataset_bytes;
use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::scu::store_raw;
use radraft_e2e::synthetic::{
    CT_IMAGE_STORAGE, EXPLICIT_LE, ct_image, encode_dataset, encode_file,
};
use radraft_e2e::{fixtures, pacs, stow};

const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

/// An uncompressed CT fixture file, whose data set is Explicit VR Little Endian.
fn uncompressed_ct() -> Vec<u8> {
    let files = fixtures::files("mixed");
    files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .find(|bytes| {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]).into_owned();
            text.contains("1.2.840.10008.1.2.1\0") && text.contains(CT_IMAGE_STORAGE)
        })
        .expect("the mixed fixture has an uncompressed CT slice")
}

async fn raw(
    port: u16,
    sop_class: &'static str,
    dataset: Vec<u8>,
) -> radraft_e2e::scu::StoreStatus {
    tokio::task::spawn_blocking(move || {
        store_raw(
            port,
            sop_class,
            "1.2.826.0.1.3680043.10.1234.99.1.1",
            EXPLICIT_LE,
            &dataset,
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_c_stores_get_failure_statuses_and_leave_nothing_behind() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let port = gateway.dimse_port;

    let not_dicom = raw(
        port,
        CT_IMAGE_STORAGE,
        b"this is not a DICOM data set".to_vec(),
    )
    .await;
    assert_eq!(not_dicom.status, 0xC000, "{not_dicom:?}");
    // Read as an element header, the text declares a 544 MB value ("not " as a length):
    // refused as the header is read, before anything is allocated for it.
    assert!(
        not_dicom
            .comment
            .contains("element (6874,7369) declares 544501614 bytes"),
        "{not_dicom:?}"
    );

    let whole = dataset_bytes(&uncompressed_ct()).to_vec();
    let truncated = raw(port, CT_IMAGE_STORAGE, whole[..whole.len() / 2].to_vec()).await;
    assert_eq!(truncated.status, 0xC000, "{truncated:?}");

    let no_uid = raw(
        port,
        CT_IMAGE_STORAGE,
        encode_dataset(&ct_image(CT_IMAGE_STORAGE, None)),
    )
    .await;
    assert_eq!(no_uid.status, 0xA900, "{no_uid:?}");
    assert!(
        no_uid.comment.contains("SOPInstanceUID is missing"),
        "{no_uid:?}"
    );

    // dcmsend cannot even propose a non-image class: the presentation context is refused.
    let sr_dir = tempfile::tempdir().unwrap();
    let sr_file = sr_dir.path().join("sr.dcm");
    let sr = ct_image(BASIC_TEXT_SR, Some("1.2.826.0.1.3680043.10.1234.99.1.2"));
    std::fs::write(
        &sr_file,
        encode_file(sr, BASIC_TEXT_SR, "1.2.826.0.1.3680043.10.1234.99.1.2"),
    )
    .unwrap();
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&sr_file]))
        .await
        .unwrap();
    assert!(!pacs::all_stored(&sent), "{}", pacs::describe(&sent));

    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert_eq!(setup.count("SELECT count(*) FROM studies").await, 0);
    assert!(
        setup.archived_files().is_empty(),
        "{:?}",
        setup.archived_files()
    );

    // Still serving: a good study goes through on the same gateway.
    let mixed = fixtures::path("mixed");
    let good = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&mixed]))
        .await
        .unwrap();
    assert!(pacs::all_stored(&good), "{}", pacs::describe(&good));
    assert!(setup.count("SELECT count(*) FROM instances").await > 0);

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_over_the_size_limit_are_refused_through_both_doors() {
    let setup = Setup::new().await;
    let options = Options {
        max_instance_bytes: 4096,
        ..Options::default()
    };
    let gateway = setup.start(options).await;
    let port = gateway.dimse_port;

    let mixed = fixtures::path("mixed");
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&mixed]))
        .await
        .unwrap();
    assert!(!pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let big = raw(
        port,
        CT_IMAGE_STORAGE,
        dataset_bytes(&uncompressed_ct()).to_vec(),
    )
    .await;
    assert_eq!(big.status, 0xA700, "{big:?}");
    assert!(big.comment.contains("over the limit of 4096"), "{big:?}");

    let response = stow::store(&gateway.stow_url(), &[uncompressed_ct()]).await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.body["error"]["code"], "too_large");

    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert!(setup.archived_files().is_empty());
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stow_requests_get_specific_4xx_answers() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let url = gateway.stow_url();

    let not_multipart = stow::post(&url, "application/dicom", uncompressed_ct()).await;
    assert_eq!(not_multipart.status, 415, "{}", not_multipart.body);
    assert_eq!(
        not_multipart.body["error"]["code"],
        "unsupported_media_type"
    );

    let no_boundary = stow::post(
        &url,
        "multipart/related; type=\"application/dicom\"",
        stow::body(&[]),
    )
    .await;
    assert_eq!(no_boundary.status, 400, "{}", no_boundary.body);

    let garbled = stow::post(
        &url,
        &format!("multipart/related; boundary={}", stow::BOUNDARY),
        b"no parts here".to_vec(),
    )
    .await;
    assert_eq!(garbled.status, 400, "{}", garbled.body);

    let whole = uncompressed_ct();
    let sop = "1.2.826.0.1.3680043.10.1234.99.1.3";
    let parts = vec![
        b"plain text, not DICOM".to_vec(),
        whole[..whole.len() / 2].to_vec(),
        encode_file(ct_image(CT_IMAGE_STORAGE, None), CT_IMAGE_STORAGE, sop),
        encode_file(ct_image(BASIC_TEXT_SR, Some(sop)), BASIC_TEXT_SR, sop),
    ];
    let response = stow::store(&url, &parts).await;
    assert_eq!(response.status, 409, "nothing stored: {}", response.body);
    assert_eq!(
        stow::failure_reasons(&response.body),
        [0xC000, 0xC000, 0xA900, 0x0122]
    );
    // Each failure names the SOP class and instance wherever they could be read (from the
    // file meta group when the data set itself is unreadable); plain text names nothing.
    let referenced: Vec<(Option<String>, Option<String>)> = stow::failures(&response.body)
        .into_iter()
        .map(|f| (f.sop_class, f.sop_instance))
        .collect();
    let fixture_uid = dicom_object::from_reader(&whole[128..])
        .unwrap()
        .meta()
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_owned();
    let named = |class: &str, instance: &str| (Some(class.to_owned()), Some(instance.to_owned()));
    assert_eq!(
        referenced,
        [
            (None, None),
            named(CT_IMAGE_STORAGE, &fixture_uid),
            named(CT_IMAGE_STORAGE, sop),
            named(BASIC_TEXT_SR, sop),
        ]
    );
    let warning = response.warning.expect("a Warning header says why");
    assert!(
        warning.contains("missing_attribute") && warning.contains("unsupported_sop_class"),
        "{warning}"
    );

    // Every bad fixture object is refused too.
    let bad: Vec<Vec<u8>> = std::fs::read_dir(fixtures::path("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(!bad.is_empty());
    let response = stow::store(&url, &bad).await;
    assert!(
        matches!(response.status, 409 | 413),
        "{} {}",
        response.status,
        response.body
    );

    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 0);
    assert!(setup.archived_files().is_empty());

    // A mix of good and bad parts stores the good ones and answers 202.
    let mixed = stow::store(&url, &[whole.clone(), b"junk".to_vec()]).await;
    assert_eq!(mixed.status, 202, "{}", mixed.body);
    assert_eq!(stow::stored_count(&mixed.body), 1);
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 1);

    gateway.stop().await;
    setup.teardown().await;
}
