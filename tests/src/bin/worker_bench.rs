//! Worker benchmark: chest studies (copies of the real DX chest fixture, one PA image each,
//! every copy with its own UIDs) sent with dcmtk's `dcmsend` through the gateway to a
//! `radraft-worker serve` process with the tiny MedGemma on the CPU. Prints studies/s end to
//! end (first study.ready published to last draft committed, settle excluded), the mean
//! time per study of each stage, the pipeline overhead (everything but model compute), and
//! the worker's resident memory after each batch.
//!
//! Usage: `cargo run --release -p radraft-e2e --bin worker-bench -- WORKER_BINARY [STUDIES] [BATCH]`
//! (a release `radraft-worker`; default 1000 studies in batches of 100). `deploy/bench-worker.sh`
//! builds both and runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use radraft_e2e::gateway::{Options, SENDER_AE, Setup};
use radraft_e2e::orthanc::free_port;
use radraft_e2e::worker_process::WorkerProcess;
use radraft_e2e::{fixtures, pacs};

const TEMPLATE: &str = "real-cxr-dx/explicit-le/dx-s1-0001.dcm";

/// Writes `count` copies of the chest image, study `first + i` each, into `dir`.
fn write_studies(dir: &Path, first: usize, count: usize) -> Vec<PathBuf> {
    let template = dicom_object::open_file(fixtures::path(TEMPLATE)).unwrap();
    (first..first + count)
        .map(|n| {
            let study = format!("1.2.826.0.1.3680043.10.1234.88.{n}");
            let sop = format!("{study}.1.1");
            let mut object = template.clone();
            let mut put = |tag, value: String| {
                object.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(value)))
            };
            put(tags::STUDY_INSTANCE_UID, study.clone());
            put(tags::SERIES_INSTANCE_UID, format!("{study}.1"));
            put(tags::SOP_INSTANCE_UID, sop.clone());
            object.update_meta(|meta| meta.media_storage_sop_instance_uid = sop.clone());
            let path = dir.join(format!("chest-{n}.dcm"));
            object.write_to_file(&path).unwrap();
            path
        })
        .collect()
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `stage → (sum seconds, count)` from the worker's `/metrics`.
fn stages(metrics: &str) -> BTreeMap<String, (f64, f64)> {
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("radraft_worker_stage_seconds_") else {
            continue;
        };
        let Some((kind, rest)) = rest.split_once("{stage=\"") else {
            continue;
        };
        let Some((stage, value)) = rest.split_once("\"} ") else {
            continue;
        };
        let value: f64 = value.parse().unwrap();
        let entry = out.entry(stage.to_owned()).or_default();
        match kind {
            "sum" => entry.0 = value,
            _ => entry.1 = value,
        }
    }
    out
}

async fn wait_drafts(setup: &Setup, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while setup.count("SELECT count(*) FROM drafts").await < want {
        assert!(Instant::now() < deadline, "drafts did not reach {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = PathBuf::from(
        args.get(1)
            .expect("WORKER_BINARY (a release radraft-worker)"),
    );
    let studies: usize = args.get(2).map_or(1000, |a| a.parse().unwrap());
    let batch: usize = args.get(3).map_or(100, |a| a.parse().unwrap());

    let setup = Setup::new().await;
    let gateway = setup
        .start(Options {
            quiet_period: Duration::from_millis(300),
            ..Options::default()
        })
        .await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let worker = WorkerProcess::spawn_binary(
        &binary,
        &setup,
        &[
            ("HTTP_ADDR", &addr),
            ("MAX_NEW_TOKENS", "12"),
            ("INTRA_THREADS", "1"),
        ],
        "worker-bench",
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "worker not ready:\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let dimse_port = gateway.dimse_port;
    let pool = setup.db.pool().await;
    let mut sent = 0usize;
    let mut receive = Duration::ZERO;
    let mut busy = 0f64;
    let mut memory = Vec::new();
    while sent < studies {
        let count = batch.min(studies - sent);
        let files = write_studies(dir.path(), sent, count);
        let mark: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
            .fetch_one(&pool)
            .await
            .unwrap();
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || {
            let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
            pacs::dcmsend(dimse_port, SENDER_AE, &refs)
        })
        .await
        .unwrap();
        receive += started.elapsed();
        assert!(pacs::all_stored(&out), "{}", pacs::describe(&out));
        sent += count;
        wait_drafts(&setup, sent as i64).await;
        // This batch's busy time: its first study.ready published to its last draft committed.
        let span: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM max(d.created_at) - min(v.published_at))::float8
             FROM study_versions v JOIN drafts d
               ON d.study_uid = v.study_uid AND d.study_version = v.version
             WHERE v.settled_at > $1",
        )
        .bind(mark)
        .fetch_one(&pool)
        .await
        .unwrap();
        busy += span;
        memory.push((sent, rss_mib(worker.pid())));
    }
    let metrics = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    report(studies, receive, busy, &stages(&metrics), &memory);
    drop(worker);
    gateway.stop().await;
    setup.teardown().await;
}

fn report(
    studies: usize,
    receive: Duration,
    busy: f64,
    stages: &BTreeMap<String, (f64, f64)>,
    memory: &[(usize, f64)],
) {
    let mean_ms = |stage: &str| {
        stages.get(stage).map_or(
            0.0,
            |(sum, count)| if *count > 0.0 { sum / count * 1e3 } else { 0.0 },
        )
    };
    println!(
        "{studies} chest studies (real DX chest, one PA image each), tiny MedGemma on the CPU"
    );
    println!(
        "throughput: {:.1} studies/s (first study.ready published to last draft committed)",
        studies as f64 / busy
    );
    println!();
    println!("{:<34} {:>10}", "stage (mean per study)", "ms");
    let receive_ms = receive.as_secs_f64() * 1e3 / studies as f64;
    println!(
        "{:<34} {:>10.2}",
        "receive (dcmsend -> gateway)", receive_ms
    );
    let rows = [
        ("queue (settled -> job start)", "queued"),
        ("load (archive read)", "load"),
        ("open (parse)", "open"),
        ("decode + window (prepare)", "prepare"),
        ("preprocess (resize, normalise, hash)", "preprocess"),
        ("vision encoder", "vision"),
        ("prefill", "prefill"),
        ("decode", "decode"),
        ("triage question", "triage"),
        ("persist (one transaction)", "persist"),
        ("ack", "ack"),
        ("worker total (delivery -> settled)", "total"),
    ];
    for (label, stage) in rows {
        println!("{label:<34} {:>10.2}", mean_ms(stage));
    }
    let model: f64 = ["vision", "prefill", "decode", "triage"]
        .iter()
        .map(|s| mean_ms(s))
        .sum();
    let total = mean_ms("total");
    println!();
    println!(
        "pipeline overhead (worker total - model compute): {:.2} ms per study, {:.0}% of the worker's time",
        total - model,
        (total - model) / total * 100.0
    );
    println!();
    println!("{:>10} {:>12}", "studies", "worker RSS MiB");
    for (n, mib) in memory {
        println!("{n:>10} {mib:>12.1}");
    }
}
