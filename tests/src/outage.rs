//! Helpers for the outage and shutdown tests: where a service URL points, series of many
//! instances, dcmsend's per-instance report, and the outbox seen from Postgres.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::gateway::{AE_TITLE, SENDER_AE, Setup};
use crate::synthetic::{CT_IMAGE_STORAGE, ct_in_series, encode_file};

/// The `host:port` a `scheme://user@host:port/...` URL names.
pub fn upstream_of(url: &str) -> SocketAddr {
    let after_user = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let host_port = after_user.split('/').next().unwrap();
    host_port.parse().unwrap_or_else(|e| panic!("{url}: {e}"))
}

pub fn study_uid(n: u32) -> String {
    format!("1.2.826.0.1.3680043.10.1234.88.{n}")
}

/// Instance `i` of `study`'s series `{study}.1`: a `side` x `side` 16-bit CT slice.
pub fn slice(study: &str, i: u32, side: u16) -> (String, Vec<u8>) {
    let (sop, mut object) = ct_in_series(study, i);
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::ROWS, VR::US, PrimitiveValue::from(side));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(side));
    let pixels = usize::from(side) * usize::from(side) * 2;
    put(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(vec![0_u8; pixels]),
    );
    let file = encode_file(object, CT_IMAGE_STORAGE, &sop);
    (sop, file)
}

/// Writes instances `range` of study `n` ([`study_uid`]) to `dir`; returns the files.
pub fn write_series(dir: &Path, n: u32, range: std::ops::Range<u32>, side: u16) -> Vec<PathBuf> {
    let study = study_uid(n);
    range
        .map(|i| {
            let (_, file) = slice(&study, i, side);
            let path = dir.join(format!("s{n}-{i}.dcm"));
            std::fs::write(&path, file).unwrap();
            path
        })
        .collect()
}

/// Runs dcmsend on `dir`; returns the SOP instance UIDs the peer answered with success,
/// read from dcmsend's debug dump of each C-STORE response (its report file is not written
/// when the association is aborted), and what dcmsend printed besides.
pub fn dcmsend_report(port: u16, dir: &Path) -> (BTreeSet<String>, String) {
    let output = std::process::Command::new("dcmsend")
        .args(["-d", "-aet", SENDER_AE, "-aec", AE_TITLE])
        .args(["--scan-directories", "--scan-pattern", "*.dcm", "127.0.0.1"])
        .arg(port.to_string())
        .arg(dir)
        .output()
        .expect("dcmsend is installed (apt: dcmtk)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut stored = BTreeSet::new();
    let (mut in_response, mut sop) = (false, None);
    for line in text.lines() {
        if line.contains("Received C-STORE Response") {
            (in_response, sop) = (true, None);
        } else if in_response && let Some((_, uid)) = line.split_once("Affected SOP Instance UID") {
            sop = uid.split(':').nth(1).map(|u| u.trim().to_owned());
        } else if in_response && let Some((_, status)) = line.split_once("DIMSE Status") {
            if status.trim_start_matches([' ', ':']).starts_with("0x0000")
                && let Some(uid) = sop.take()
            {
                stored.insert(uid);
            }
            in_response = false;
        }
    }
    let summary: String = text
        .lines()
        .filter(|l| !l.starts_with("D: "))
        .collect::<Vec<_>>()
        .join("\n");
    (stored, summary)
}

/// The SOP instance UIDs indexed, and whether each one's archive file exists.
pub async fn indexed(setup: &Setup) -> Vec<(String, bool)> {
    let pool = setup.db.pool().await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT sop_instance_uid, archive_key FROM instances")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows.into_iter()
        .map(|(sop, key)| (sop, setup.archive_dir().join(key).is_file()))
        .collect()
}

/// Every version cut so far, and how many of them the broker confirmed.
pub async fn versions(setup: &Setup) -> (BTreeSet<(String, i32)>, i64) {
    let pool = setup.db.pool().await;
    let rows: Vec<(String, i32, bool)> =
        sqlx::query_as("SELECT study_uid, version, published_at IS NOT NULL FROM study_versions")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let published = rows.iter().filter(|(_, _, p)| *p).count() as i64;
    let all = rows.into_iter().map(|(uid, v, _)| (uid, v)).collect();
    (all, published)
}

/// Transactions in the setup's database left open, waiting on their client, for over a
/// second. (Any transaction is idle for a moment between its statements.)
pub async fn idle_in_transaction(setup: &Setup) -> i64 {
    setup
        .count(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'
               AND state_change < now() - interval '1 second'",
        )
        .await
}

/// Polls until `check` holds, failing with `what` after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
