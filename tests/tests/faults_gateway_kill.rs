//! `kill -9` of a real `radraft-gateway` while a sender is part-way through a 200-instance
//! series on one association: every instance the sender was told was stored is indexed and
//! archived with exactly the bytes sent; after a restart on the same archive and database
//! the sweep leaves no temporary or orphaned file, re-sending the rest completes the study,
//! and it settles and is announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use radraft_e2e::dicom_file::{dataset_bytes, sha256_hex};
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::outage::{eventually, study_uid, versions};
use radraft_e2e::sender::{Instance, Progress, ct_series, send_ct};

const INSTANCES: u32 = 200;
/// The gateway is killed once the sender has been told this many instances were stored.
const KILL_AFTER: usize = 60;

/// Short settle and sweep times, so the test sees both; the grace period stays well above
/// the time an instance takes from archive write to commit (at most the acquire timeout
/// and the insert), even on a loaded machine.
const VARS: [(&str, &str); 4] = [
    ("QUIET_PERIOD_MS", "1500"),
    ("DATABASE_ACQUIRE_TIMEOUT_MS", "1000"),
    ("ORPHAN_GRACE_MS", "3000"),
    ("SWEEP_INTERVAL_MS", "500"),
];

/// Each indexed instance's archive file exists, hashes to the indexed sha256 and holds
/// exactly the data set that was sent.
fn assert_archived_exactly(
    setup: &Setup,
    index: &BTreeMap<String, (String, String)>,
    sent: &[Instance],
) {
    let datasets: BTreeMap<&str, &[u8]> = sent
        .iter()
        .map(|i| (i.sop_instance_uid.as_str(), i.dataset.as_slice()))
        .collect();
    for (sop, (key, sha)) in index {
        let file = std::fs::read(setup.archive_dir().join(key))
            .unwrap_or_else(|e| panic!("{sop} is indexed but {key} cannot be read: {e}"));
        assert_eq!(&sha256_hex(&file), sha, "{key} is not the indexed object");
        assert_eq!(
            Some(&dataset_bytes(&file)),
            datasets.get(sop.as_str()),
            "{key} does not hold the data set sent"
        );
    }
}

/// The archive files of the indexed objects.
fn indexed_files(setup: &Setup, index: &BTreeMap<String, (String, String)>) -> BTreeSet<PathBuf> {
    index
        .values()
        .map(|(key, _)| setup.archive_dir().join(key))
        .collect()
}

/// Archive files that are not an indexed object: temporaries and orphans.
fn unindexed_files(setup: &Setup, index: &BTreeMap<String, (String, String)>) -> Vec<String> {
    let indexed = indexed_files(setup, index);
    setup
        .archived_files()
        .into_iter()
        .filter(|f| !indexed.contains(f))
        .map(|f| f.display().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_series_keeps_what_it_confirmed_and_the_study_settles_after_restart() {
    let setup = Setup::new().await;
    // A 256 x 256 16-bit series: 128 KiB of pixel data per instance.
    let instances = ct_series(&study_uid(970), 0..INSTANCES, 256);
    let gateway = GatewayProcess::spawn(&setup, &VARS, "faults-kill");
    let progress = Progress::default();
    let sending = tokio::spawn({
        let (port, instances, progress) = (gateway.dimse_port, instances.clone(), progress.clone());
        async move { send_ct(port, instances, &progress).await }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.successes() < KILL_AFTER {
        assert!(Instant::now() < deadline, "{}", gateway.log_text());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    gateway.kill9();
    let sent = sending.await.unwrap();
    let confirmed = sent.succeeded();
    assert!(
        sent.broken.is_some() && sent.answers.len() < INSTANCES as usize,
        "the kill cut the association part-way: {} answers, {:?}",
        sent.answers.len(),
        sent.broken
    );
    assert_eq!(
        confirmed.len(),
        sent.answers.len(),
        "every answer was success"
    );

    // Before any restart: everything the sender was told is durable, byte for byte.
    let after_kill = setup.indexed().await;
    let indexed: BTreeSet<String> = after_kill.keys().cloned().collect();
    assert!(
        confirmed.is_subset(&indexed),
        "confirmed but not indexed: {:?}",
        confirmed.difference(&indexed).collect::<Vec<_>>()
    );
    assert_archived_exactly(&setup, &after_kill, &instances);
    let leftovers = unindexed_files(&setup, &after_kill);
    eprintln!(
        "killed after {} confirmed; {} indexed; left in the archive besides: {leftovers:?}",
        confirmed.len(),
        indexed.len()
    );

    // Restarted on the same archive and database, it takes what the sender was not told
    // was stored (an instance indexed without its answer arriving is a no-op now).
    let gateway = GatewayProcess::spawn(&setup, &VARS, "faults-kill-restart");
    let rest: Vec<Instance> = instances
        .iter()
        .filter(|i| !confirmed.contains(&i.sop_instance_uid))
        .cloned()
        .collect();
    let resent = send_ct(gateway.dimse_port, rest.clone(), &Progress::default()).await;
    assert!(resent.broken.is_none(), "{:?}", resent.broken);
    assert_eq!(resent.succeeded().len(), rest.len(), "{:?}", resent.answers);

    // The study settles with every instance and is announced, each version once.
    let study = study_uid(970);
    let mut announced = BTreeMap::<(String, i32), usize>::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "{}", gateway.log_text());
        if let Some(ready) = setup.queue.next_ready(Duration::from_secs(1)).await {
            *announced
                .entry((ready.study_uid.to_string(), ready.study_version))
                .or_default() += 1;
            if ready.study_uid.to_string() == study && ready.instance_count == i64::from(INSTANCES)
            {
                break;
            }
        }
    }
    let (cut, published) = versions(&setup).await;
    assert_eq!(
        published as usize,
        cut.len(),
        "every version cut was confirmed"
    );
    assert_eq!(announced.keys().cloned().collect::<BTreeSet<_>>(), cut);
    assert!(announced.values().all(|&n| n == 1), "{announced:?}");

    // Once the grace period has passed the sweep has removed every temporary and orphaned
    // file: the archive holds exactly the 200 indexed objects, each as sent.
    eventually(
        "the archive holds only indexed objects",
        Duration::from_secs(20),
        || async { unindexed_files(&setup, &setup.indexed().await).is_empty() },
    )
    .await;
    let last = setup.indexed().await;
    assert_eq!(last.len(), INSTANCES as usize);
    assert_archived_exactly(&setup, &last, &instances);
    assert_eq!(
        setup.archived_files().len(),
        INSTANCES as usize,
        "{:?}",
        setup.archived_files()
    );
    // A leftover can be an instance renamed into place whose index row the kill cut off:
    // its re-send (the same bytes, so the same key) takes it over. Any other was swept.
    let kept = indexed_files(&setup, &last);
    if leftovers.iter().any(|file| !kept.contains(Path::new(file))) {
        assert!(
            gateway.log_text().contains("archive swept"),
            "{leftovers:?}"
        );
    }
    gateway.kill9();
    setup.teardown().await;
}
