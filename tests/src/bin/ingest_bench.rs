//! Ingest benchmark: one CT series sent with dcmtk's `dcmsend` to the radraft gateway, to
//! Orthanc and to dcmtk's `storescp`, in the same run, each receiver with TCP_NODELAY.
//! Prints a table of instances/s and MB/s.
//!
//! Usage: `cargo run --release -p radraft-e2e --bin ingest-bench -- [SERIES_DIR] [ROUNDS]`
//! (default `fixtures/generated/bench/ct-500`, 3 rounds; the best round is reported).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::orthanc::{Orthanc, free_port};
use radraft_e2e::pacs;

fn series_size(dir: &Path) -> (usize, u64) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "dcm"))
        .collect();
    let bytes = files.iter().map(|e| e.metadata().unwrap().len()).sum();
    (files.len(), bytes)
}

fn timed_send(port: u16, dir: &Path) -> Duration {
    let start = Instant::now();
    let output = pacs::dcmsend(port, SENDER_AE, &[dir]);
    let elapsed = start.elapsed();
    assert!(pacs::all_stored(&output), "{}", pacs::describe(&output));
    elapsed
}

struct Row {
    receiver: &'static str,
    best: Duration,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/generated/bench/ct-500")
    });
    let rounds: usize = args.next().map_or(3, |r| r.parse().unwrap());
    assert!(
        dir.is_dir(),
        "{} missing: run `fixtures/generate.sh --bench-ct 500`",
        dir.display()
    );
    let (count, bytes) = series_size(&dir);
    let mut rows = Vec::new();

    // radraft gateway: each round on a fresh database and archive, so every instance is new.
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let setup = Setup::new().await;
        let gateway = setup
            .start(Options {
                quiet_period: Duration::from_secs(3600),
                ..Options::default()
            })
            .await;
        let (port, series) = (gateway.dimse_port, dir.clone());
        best = best.min(
            tokio::task::spawn_blocking(move || timed_send(port, &series))
                .await
                .unwrap(),
        );
        assert_eq!(
            setup.count("SELECT count(*) FROM instances").await,
            count as i64
        );
        gateway.stop().await;
        setup.teardown().await;
    }
    rows.push(Row {
        receiver: "radraft gateway",
        best,
    });

    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let orthanc = Orthanc::start(3600);
        let (port, series) = (orthanc.dicom_port, dir.clone());
        best = best.min(
            tokio::task::spawn_blocking(move || timed_send(port, &series))
                .await
                .unwrap(),
        );
    }
    rows.push(Row {
        receiver: "Orthanc 1.10 (Debian)",
        best,
    });

    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let out = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut scp = Command::new("storescp")
            .args(["--output-directory"])
            .arg(out.path())
            .arg(port.to_string())
            .env("TCP_NODELAY", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("storescp (dcmtk)");
        std::thread::sleep(Duration::from_millis(500));
        let series = dir.clone();
        best = best.min(
            tokio::task::spawn_blocking(move || timed_send(port, &series))
                .await
                .unwrap(),
        );
        let _ = scp.kill();
        let _ = scp.wait();
    }
    rows.push(Row {
        receiver: "dcmtk storescp (files only)",
        best,
    });

    let mb = bytes as f64 / 1e6;
    println!("\n{count} instances, {mb:.1} MB, sent by dcmsend; best of {rounds} rounds\n");
    println!("| receiver | seconds | instances/s | MB/s |");
    println!("|---|---:|---:|---:|");
    for row in rows {
        let s = row.best.as_secs_f64();
        println!(
            "| {} | {:.2} | {:.0} | {:.1} |",
            row.receiver,
            s,
            count as f64 / s,
            mb / s
        );
    }
}
