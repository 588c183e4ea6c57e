//! Studies sent by dcmtk's `dcmsend` (a real DICOM peer): archived exactly as sent,
//! indexed, and announced once per settled version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use radraft_e2e::dicom_file::{dataset_bytes, sha256_hex};
use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::scu::store_raw;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, ct_dataset};
use radraft_e2e::{fixtures, pacs};

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

async fn dcmsend(port: u16, files: Vec<PathBuf>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
        pacs::dcmsend(port, SENDER_AE, &refs)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_study_is_archived_as_sent_indexed_and_announced_once() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let files = fixtures::files("mixed");

    let sent = dcmsend(gateway.dimse_port, files.clone()).await;
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));

    let n = files.len() as i64;
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, n);
    assert_eq!(setup.count("SELECT count(*) FROM studies").await, 1);
    assert!(
        setup
            .count("SELECT count(DISTINCT series_uid) FROM instances")
            .await
            >= 2,
        "CT and CR series"
    );
    assert!(
        setup
            .count("SELECT count(DISTINCT transfer_syntax_uid) FROM instances")
            .await
            >= 2,
        "uncompressed and compressed instances"
    );
    assert_eq!(
        setup
            .count(
                "SELECT count(*) FROM instances WHERE calling_ae = 'MODALITY1' AND source = 'dimse'"
            )
            .await,
        n
    );

    // Every archived file holds the sender's data set byte for byte, and the index has its hash.
    let archived = setup.archived_files();
    assert_eq!(
        archived.len(),
        files.len(),
        "one file per instance, no leftovers: {archived:?}"
    );
    // Every archived file holds the sender's data set byte for byte whenever the association
    // kept the file's transfer syntax. dcmtk re-encodes Implicit VR files as Explicit VR
    // when the SCP accepts both (a lossless change the sender makes), so those are checked
    // to be exactly that case.
    let archived_by_uid: HashMap<String, (String, Vec<u8>)> = archived
        .iter()
        .map(|f| {
            let object = dicom_object::open_file(f).unwrap();
            let meta = object.meta();
            let uid = meta
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_owned();
            (
                uid,
                (
                    meta.transfer_syntax().trim_end_matches('\0').to_owned(),
                    std::fs::read(f).unwrap(),
                ),
            )
        })
        .collect();
    let mut identical = 0;
    for file in &files {
        let object = dicom_object::open_file(file).unwrap();
        let uid = object
            .meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0')
            .to_owned();
        let sent_ts = object
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned();
        let (kept_ts, kept) = &archived_by_uid[&uid];
        if *kept_ts == sent_ts {
            let sent = std::fs::read(file).unwrap();
            assert_eq!(
                sha256_hex(dataset_bytes(&sent)),
                sha256_hex(dataset_bytes(kept)),
                "{}",
                file.display()
            );
            identical += 1;
        } else {
            assert_eq!(
                (sent_ts.as_str(), kept_ts.as_str()),
                (IMPLICIT_LE, EXPLICIT_LE),
                "{}",
                file.display()
            );
        }
    }
    assert!(
        identical >= files.len() * 3 / 4,
        "only {identical} of {} kept byte for byte",
        files.len()
    );
    let pool = setup.db.pool().await;
    let indexed: Vec<(String, String)> =
        sqlx::query_as("SELECT archive_key, sha256 FROM instances")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (key, sha) in indexed {
        let bytes = std::fs::read(setup.archive_dir().join(&key)).unwrap();
        assert_eq!(sha256_hex(&bytes), sha, "{key}");
    }

    let ready = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("study.ready published");
    assert_eq!((ready.study_version, ready.instance_count), (1, n));
    let study_uid: String = sqlx::query_scalar("SELECT study_uid FROM studies")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(ready.study_uid.as_str(), study_uid);
    let state: String = sqlx::query_scalar("SELECT state::text FROM studies")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "queued");

    // Re-sending identical bytes changes nothing and announces nothing.
    let again = dcmsend(gateway.dimse_port, files.clone()).await;
    assert!(pacs::all_stored(&again), "{}", pacs::describe(&again));
    assert_eq!(setup.count("SELECT count(*) FROM instances").await, n);
    assert!(
        setup.queue.drain(Duration::from_secs(3)).await.is_empty(),
        "exactly one study.ready"
    );

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_instance_reopens_the_study_and_a_second_version_follows() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let mut files = fixtures::files("mixed");
    let late = files.pop().unwrap();

    let sent = dcmsend(gateway.dimse_port, files.clone()).await;
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let first = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("first version");
    assert_eq!(
        (first.study_version, first.instance_count),
        (1, files.len() as i64)
    );

    let sent = dcmsend(gateway.dimse_port, vec![late]).await;
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    let second = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("second version");
    assert_eq!(second.study_uid, first.study_uid);
    assert_eq!(
        (second.study_version, second.instance_count),
        (2, files.len() as i64 + 1)
    );
    assert_eq!(setup.count("SELECT count(*) FROM study_versions").await, 2);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'study.reopened'")
            .await,
        1
    );

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_bytes_under_the_same_sop_instance_uid_are_kept_as_a_new_version() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let original = fixtures::files("mixed").remove(0);
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed.dcm");
    std::fs::copy(&original, &changed).unwrap();
    let modified = std::process::Command::new("dcmodify")
        .args(["-nb", "-i", "(0008,103e)=REVISED SERIES DESCRIPTION"])
        .arg(&changed)
        .output()
        .unwrap();
    assert!(modified.status.success(), "{}", pacs::describe(&modified));

    for file in [original, changed] {
        let sent = dcmsend(gateway.dimse_port, vec![file]).await;
        assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    }
    assert_eq!(
        setup.count("SELECT count(*) FROM instances").await,
        2,
        "both versions kept"
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM instances WHERE superseded_at IS NULL")
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT max(instance_version)::bigint FROM instances")
            .await,
        2
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'instance.new_version'")
            .await,
        1
    );
    assert_eq!(setup.archived_files().len(), 2);

    gateway.stop().await;
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_gateway_between_two_instances_loses_nothing() {
    let setup = Setup::new().await;
    let files = fixtures::files("mixed");
    let (first_half, second_half) = files.split_at(files.len() / 2);

    let gateway = setup.start(Options::default()).await;
    let sent = dcmsend(gateway.dimse_port, first_half.to_vec()).await;
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    gateway.stop().await;

    let gateway = setup.start(Options::default()).await;
    let sent = dcmsend(gateway.dimse_port, second_half.to_vec()).await;
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));

    let ready = setup
        .queue
        .next_ready(Duration::from_secs(15))
        .await
        .expect("study.ready after restart");
    assert_eq!(
        (ready.study_version, ready.instance_count),
        (1, files.len() as i64)
    );
    assert!(setup.queue.drain(Duration::from_secs(3)).await.is_empty());
    gateway.stop().await;
    setup.teardown().await;
}

/// A C-STORE request that names another SOP instance than the data set it carries (a
/// router that rewrote the data set's UIDs but not its requests): what is stored is the
/// data set, so it is indexed and archived under the data set's own UID, with a file meta
/// group that names that UID too, and the data set bytes are kept exactly as sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_store_naming_another_instance_is_archived_under_the_data_set_s_own_uid() {
    let setup = Setup::new().await;
    let gateway = setup.start(Options::default()).await;
    let own = "1.2.826.0.1.3680043.10.1234.99.1.7";
    let dataset = ct_dataset(own);
    let (port, sent) = (gateway.dimse_port, dataset.clone());
    let answer = tokio::task::spawn_blocking(move || {
        let named = "1.2.826.0.1.3680043.10.1234.99.1.8";
        store_raw(port, CT_IMAGE_STORAGE, named, EXPLICIT_LE, &sent)
    })
    .await
    .unwrap();
    assert_eq!(answer.status, 0x0000, "{answer:?}");

    let indexed = setup.indexed().await;
    assert_eq!(indexed.keys().collect::<Vec<_>>(), [own]);
    let (key, sha256) = &indexed[own];
    let file = std::fs::read(setup.archive_dir().join(key)).unwrap();
    assert_eq!(dataset_bytes(&file), dataset.as_slice());
    assert_eq!(&sha256_hex(&file), sha256);
    let archived = dicom_object::from_reader(&file[128..]).unwrap();
    let meta = archived.meta();
    assert_eq!(meta.media_storage_sop_instance_uid(), own);
    assert_eq!(meta.transfer_syntax(), EXPLICIT_LE);
    gateway.stop().await;
    setup.teardown().await;
}
