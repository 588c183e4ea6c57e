//! The bench's crowd mode: many peers at once, each sending a series of its own (its own
//! study) over one association, to the gateway run as a real release process, whose peak
//! resident memory is then read from `/proc`. Slices are small synthetic CT images, so the
//! disk keeps up and the figure is about connections and instances in flight, not pixels.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use radraft_e2e::dimse_peer::{ASSOCIATE_AC, RawPeer, peak_rss_of};
use radraft_e2e::gateway::Setup;
use radraft_e2e::gateway_process::gateway_vars;
use radraft_e2e::orthanc::free_port;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, ct_in_series, encode_dataset};

use crate::wait_listening;

/// Rows and columns of each slice: 128x128 16-bit pixels, 32 KiB of pixel data.
const SIDE: u16 = 128;

/// The release gateway built beside this program.
fn gateway_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.with_file_name("radraft-gateway");
    assert!(
        binary.is_file(),
        "{} missing: cargo build --release -p radraft-gateway",
        binary.display()
    );
    binary
}

/// One peer: associates, stores `slices` instances of study `{base}.{peer}` one after the
/// other, releases.
fn send_series(port: u16, peer: usize, slices: u32) {
    let study = format!("1.2.826.0.1.3680043.10.1234.77.{peer}");
    let mut scu = RawPeer::connect(port);
    let answer = scu.associate(CT_IMAGE_STORAGE, EXPLICIT_LE);
    assert_eq!(answer[0], ASSOCIATE_AC, "peer {peer} accepted");
    for i in 0..slices {
        let (sop, mut object) = ct_in_series(&study, i);
        for (tag, value) in [(tags::ROWS, SIDE), (tags::COLUMNS, SIDE)] {
            object.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
        }
        let pixels = vec![(i % 251) as u8; usize::from(SIDE) * usize::from(SIDE) * 2];
        object.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(pixels),
        ));
        let status = scu.store(CT_IMAGE_STORAGE, &sop, &encode_dataset(&object));
        assert_eq!(status, 0, "peer {peer} slice {i} stored");
    }
    scu.release();
}

/// Runs `peers` peers of `slices` slices each against a fresh gateway process and prints
/// the time taken and the gateway's peak resident memory.
pub(crate) async fn run(peers: usize, slices: u32) {
    let setup = Setup::new().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let limit = (peers + 4).to_string();
    let vars = gateway_vars(
        &setup,
        &[
            ("DIMSE_ADDR", &addr),
            ("DIMSE_MAX_ASSOCIATIONS", &limit),
            ("QUIET_PERIOD_MS", "3600000"),
        ],
    );
    let mut gateway = Command::new(gateway_binary())
        .envs(vars)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("radraft-gateway starts");
    wait_listening(port);
    let idle = peak_rss_of(gateway.id());

    let start = Instant::now();
    let senders: Vec<_> = (0..peers)
        .map(|peer| std::thread::spawn(move || send_series(port, peer, slices)))
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    let elapsed = start.elapsed();
    let peak = peak_rss_of(gateway.id());

    let total = peers * slices as usize;
    let indexed = setup.count("SELECT count(*) FROM instances").await;
    assert_eq!(indexed, total as i64, "every instance indexed");
    let _ = gateway.kill();
    let _ = gateway.wait();
    setup.teardown().await;

    let s = elapsed
        .as_secs_f64()
        .max(Duration::from_millis(1).as_secs_f64());
    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    println!("\n{peers} peers at once, each one association sending {slices} slices");
    println!("({SIDE}x{SIDE} int16 synthetic CT, 32 KiB of pixels each) of its own study\n");
    println!("| instances | seconds | instances/s | gateway RSS at start MiB | peak RSS MiB |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {total} | {s:.1} | {:.0} | {:.1} | {:.1} |",
        total as f64 / s,
        mib(idle),
        mib(peak)
    );
}
