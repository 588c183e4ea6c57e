//! Admission protects what is stored: a copy of a stored instance whose pixel data cannot
//! match its own image description (cut short; the encapsulated pixel data's delimiter
//! missing) is refused through both doors with a specific status and reason, and the good
//! copy stays current: not superseded, the study not reopened or announced again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use radraft_e2e::dicom_file::dataset_bytes;
use radraft_e2e::gateway::{Options, Running, SENDER_AE, Setup};
use radraft_e2e::hostile::{part10, with_pixel_data_cut, without_final_delimiter};
use radraft_e2e::scu::{StoreStatus, store_raw};
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};
use radraft_e2e::{fixtures, pacs, stow};

const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";

/// The first CT slice of the mixed fixture study stored in `transfer_syntax`, with its SOP
/// instance UID.
fn ct_slice(transfer_syntax: &str) -> (PathBuf, String) {
    fixtures::files("mixed")
        .into_iter()
        .find_map(|path| {
            let object = dicom_object::open_file(&path).unwrap();
            let meta = object.meta();
            let ts = meta.transfer_syntax().trim_end_matches('\0');
            let class = meta.media_storage_sop_class_uid().trim_end_matches('\0');
            let uid = meta
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_owned();
            (ts == transfer_syntax && class == CT_IMAGE_STORAGE).then_some((path, uid))
        })
        .expect("the mixed fixture has a CT slice in this transfer syntax")
}

async fn c_store(port: u16, uid: &str, ts: &'static str, dataset: Vec<u8>) -> StoreStatus {
    let uid = uid.to_owned();
    tokio::task::spawn_blocking(move || store_raw(port, CT_IMAGE_STORAGE, &uid, ts, &dataset))
        .await
        .unwrap()
}

/// Sends the good copy with dcmsend and waits until its study is announced.
async fn store_good_copy(setup: &Setup, gateway: &Running, path: &Path) {
    let (port, path) = (gateway.dimse_port, path.to_path_buf());
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&path]))
        .await
        .unwrap();
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let ready = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("the good copy's study is announced");
    assert_eq!((ready.study_version, ready.instance_count), (1, 1));
}

/// The good copy is the only one stored and still current; nothing reopened the study.
async fn only_the_good_copy_is_kept(setup: &Setup, uid: &str) {
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, 1);
    let current = setup
        .count(&format!(
            "SELECT count(*) FROM instances WHERE sop_instance_uid = '{uid}' \
             AND superseded_at IS NULL AND instance_version = 1"
        ))
        .await;
    assert_eq!(current, 1, "the good copy is still the current version");
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind IN ('instance.new_version', 'study.reopened')")
            .await,
        0
    );
    assert_eq!(
        setup.archived_files().len(),
        1,
        "{:?}",
        setup.archived_files()
    );
    assert!(
        setup.queue.drain(Duration::from_secs(3)).await.is_empty(),
        "the study is not announced again"
    );
    assert_eq!(setup.count("SELECT count(*) FROM study_versions").await, 1);
}

/// Admission refuses only what is broken: every fixture study (synthetic and real, every
/// transfer syntax radraft decodes, multi-frame) is admitted whole. Left out: `bad` (made to
/// be refused) and `external` (pydicom's test files, several broken on purpose; of them
/// admission newly refuses `emri_small_jpeg_2k_lossless_too_short.dcm`, whose encapsulated
/// pixel data ends without its delimiter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_study_is_admitted() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let root = fixtures::generated();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("bad") && !p.ends_with("external"))
        .collect();
    folders.sort();
    let mut total = 0;
    for folder in folders {
        let relative = folder
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let files = fixtures::files(&relative);
        let parts: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        let response = stow::store(&gateway.stow_url(), &parts).await;
        assert_eq!(
            (response.status, stow::stored_count(&response.body)),
            (200, parts.len()),
            "{relative}: {} {:?}",
            response.body,
            response.warning
        );
        total += parts.len();
    }
    assert!(total > 200, "only {total} fixture objects");
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ct_slice_cut_short_is_refused_and_never_supersedes_the_good_copy() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let (path, uid) = ct_slice(EXPLICIT_LE);
    store_good_copy(&setup, &gateway, &path).await;

    // Rows x Columns x 16 bits is 131072 bytes; the copy carries half, every length
    // consistent with what it holds.
    let cut = with_pixel_data_cut(&std::fs::read(&path).unwrap(), 65536);
    let refused = c_store(gateway.dimse_port, &uid, EXPLICIT_LE, cut.clone()).await;
    assert_eq!(refused.status, 0xA900, "{refused:?}");
    assert!(
        refused
            .comment
            .contains("pixel data too short: 65536 of 131072"),
        "{refused:?}"
    );
    let response = stow::store(&gateway.stow_url(), &[part10(&cut, &uid, EXPLICIT_LE)]).await;
    response.refused_one(0xA900, CT_IMAGE_STORAGE, &uid);

    only_the_good_copy_is_kept(&setup, &uid).await;
    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_missing_its_sequence_delimiter_never_supersedes_the_good_copy() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let (path, uid) = ct_slice(JPEG_LS_LOSSLESS);
    store_good_copy(&setup, &gateway, &path).await;

    let broken = without_final_delimiter(&std::fs::read(&path).unwrap());
    let response = stow::store(&gateway.stow_url(), std::slice::from_ref(&broken)).await;
    let warning = response.refused_one(0xC000, CT_IMAGE_STORAGE, &uid);
    assert!(warning.contains("delimiter"), "{warning}");

    let dataset = dataset_bytes(&broken).to_vec();
    let refused = c_store(gateway.dimse_port, &uid, JPEG_LS_LOSSLESS, dataset).await;
    assert_eq!(refused.status, 0xC000, "{refused:?}");
    assert!(refused.comment.contains("delimiter"), "{refused:?}");

    only_the_good_copy_is_kept(&setup, &uid).await;
    gateway.stop().await;
    setup.teardown().await;
}
