//! Ingest benchmark: one CT series sent with dcmtk's `dcmsend` to the radraft gateway, to
//! Orthanc and to dcmtk's `storescp`, in the same run, on one association and on several
//! at once (the series split between concurrent `dcmsend`s). Every party is tuned the way
//! its users would tune it: `TCP_NODELAY=1` for the senders and every receiver (Debian's
//! dcmtk and Orthanc leave Nagle on otherwise), and every receiver announcing the same
//! maximum PDU (128 KiB, dcmtk's upper bound), read back from each and printed.
//! Prints a table of instances/s and MB/s.
//!
//! Usage: `cargo run --release -p radraft-e2e --bin ingest-bench -- [SERIES_DIR] [ROUNDS]
//! [ASSOCIATIONS,...]` (default `fixtures/generated/bench/ct-500`, 3 rounds, `1,4`; the best
//! round is reported), or `-- --crowd [PEERS] [SLICES]` for the gateway alone under many
//! peers at once, its peak memory recorded (default 50 peers of 500 slices; see `crowd`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "ingest_bench/crowd.rs"]
mod crowd;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::orthanc::{Orthanc, free_port};
use radraft_e2e::pacs;

/// The PDU size every receiver announces, and every sender too.
const MAX_PDU: u32 = 131_072;

#[derive(Clone, Copy)]
enum Receiver {
    Gateway,
    Orthanc,
    Storescp,
}

impl Receiver {
    fn name(self) -> &'static str {
        match self {
            Self::Gateway => "radraft gateway",
            Self::Orthanc => "Orthanc 1.10 (Debian)",
            Self::Storescp => "dcmtk storescp (files only)",
        }
    }
}

/// A started receiver; dropping it stops it.
enum Running {
    Gateway(Box<(Setup, radraft_e2e::gateway::Running)>),
    Orthanc(Orthanc),
    Storescp(Child, tempfile::TempDir),
}

async fn start(receiver: Receiver, associations: usize) -> (Running, u16) {
    match receiver {
        // Each round on a fresh database and archive, so every instance is new.
        Receiver::Gateway => {
            let setup = Setup::new().await;
            let gateway = setup
                .start(Options {
                    quiet_period: Duration::from_secs(3600),
                    ..Options::default()
                })
                .await;
            let port = gateway.dimse_port;
            (Running::Gateway(Box::new((setup, gateway))), port)
        }
        Receiver::Orthanc => {
            // Default storage (files synced, SQLite index), enough DICOM threads for every
            // association, the same PDU as the others.
            let tuning = serde_json::json!({
                "MaximumPduLength": MAX_PDU,
                "DicomThreadsCount": associations.max(4),
            });
            let orthanc = Orthanc::start_tuned(3600, free_port(), free_port(), tuning);
            let port = orthanc.dicom_port;
            (Running::Orthanc(orthanc), port)
        }
        Receiver::Storescp => {
            let out = tempfile::tempdir().unwrap();
            let port = free_port();
            let scp = Command::new("storescp")
                .args(["--max-pdu", &MAX_PDU.to_string(), "--output-directory"])
                .arg(out.path())
                .arg(port.to_string())
                .env("TCP_NODELAY", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("storescp (dcmtk)");
            wait_listening(port);
            (Running::Storescp(scp, out), port)
        }
    }
}

impl Running {
    async fn stop(self, expected: usize) {
        match self {
            Self::Gateway(gateway) => {
                let (setup, gateway) = *gateway;
                let indexed = setup.count("SELECT count(*) FROM instances").await;
                assert_eq!(indexed, expected as i64, "every instance indexed");
                gateway.stop().await;
                setup.teardown().await;
            }
            Self::Orthanc(orthanc) => drop(orthanc),
            Self::Storescp(mut scp, _out) => {
                let _ = scp.kill();
                let _ = scp.wait();
            }
        }
    }
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "receiver on {port} never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The maximum PDU the receiver announces, from dcmtk's echoscu's debug output.
fn announced_pdu(port: u16) -> String {
    let output = Command::new("echoscu")
        .args([
            "-d",
            "-aet",
            SENDER_AE,
            "-aec",
            radraft_e2e::gateway::AE_TITLE,
        ])
        .args(["127.0.0.1", &port.to_string()])
        .env("TCP_NODELAY", "1")
        .output()
        .expect("echoscu (dcmtk)");
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter(|line| line.contains("Their Max PDU Receive Size"))
        .filter_map(|line| line.rsplit(':').next())
        .map(str::trim)
        .rfind(|size| *size != "0")
        .unwrap_or("unknown")
        .to_owned()
}

/// Sends `parts` with one `dcmsend` each, all at once; the time until the last finished.
fn timed_send(port: u16, parts: &[Vec<PathBuf>]) -> Duration {
    let start = Instant::now();
    let senders: Vec<_> = parts
        .iter()
        .map(|files| {
            Command::new("dcmsend")
                .args([
                    "-v",
                    "-aet",
                    SENDER_AE,
                    "-aec",
                    radraft_e2e::gateway::AE_TITLE,
                ])
                .args(["--max-pdu", &MAX_PDU.to_string()])
                .args(["127.0.0.1", &port.to_string()])
                .args(files)
                .env("TCP_NODELAY", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("dcmsend (dcmtk)")
        })
        .collect();
    let outputs: Vec<Output> = senders
        .into_iter()
        .map(|sender| sender.wait_with_output().unwrap())
        .collect();
    let elapsed = start.elapsed();
    for output in &outputs {
        assert!(pacs::all_stored(output), "{}", pacs::describe(output));
    }
    elapsed
}

fn series(dir: &Path) -> (Vec<PathBuf>, u64) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dcm"))
        .collect();
    files.sort();
    let bytes = files.iter().map(|p| p.metadata().unwrap().len()).sum();
    (files, bytes)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.next_if_eq("--crowd").is_some() {
        let peers = args.next().map_or(50, |n| n.parse().unwrap());
        let slices = args.next().map_or(500, |n| n.parse().unwrap());
        crowd::run(peers, slices).await;
        return;
    }
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/generated/bench/ct-500")
    });
    let rounds: usize = args.next().map_or(3, |r| r.parse().unwrap());
    let fan_outs: Vec<usize> = args.next().map_or(vec![1, 4], |list| {
        list.split(',').map(|n| n.parse().unwrap()).collect()
    });
    assert!(
        dir.is_dir(),
        "{} missing: run `fixtures/generate.sh --bench-ct 500`",
        dir.display()
    );
    let (files, bytes) = series(&dir);
    let count = files.len();
    let mb = bytes as f64 / 1e6;
    println!("\n{count} instances, {mb:.1} MB, sent by dcmsend; best of {rounds} rounds\n");
    println!("| associations | receiver | max PDU announced | seconds | instances/s | MB/s |");
    println!("|---:|---|---:|---:|---:|---:|");
    for &associations in &fan_outs {
        // Round robin, so every sender gets the same share of the series.
        let mut parts = vec![Vec::new(); associations];
        for (i, file) in files.iter().enumerate() {
            parts[i % associations].push(file.clone());
        }
        for receiver in [Receiver::Gateway, Receiver::Orthanc, Receiver::Storescp] {
            let mut best = Duration::MAX;
            let mut pdu = String::new();
            for _ in 0..rounds {
                let (running, port) = start(receiver, associations).await;
                pdu = announced_pdu(port);
                let parts = parts.clone();
                let elapsed = tokio::task::spawn_blocking(move || timed_send(port, &parts))
                    .await
                    .unwrap();
                best = best.min(elapsed);
                running.stop(count).await;
            }
            let s = best.as_secs_f64();
            println!(
                "| {associations} | {} | {pdu} | {s:.2} | {:.0} | {:.1} |",
                receiver.name(),
                count as f64 / s,
                mb / s
            );
        }
    }
}
