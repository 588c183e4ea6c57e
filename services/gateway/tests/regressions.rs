//! The gateway fuzz target's inputs (`fuzz/gateway-regressions`, one file per finding;
//! `fuzz/gateway-seeds`) through the gateway's reading path, PDUs to ingest checks: each
//! finding gets the status it must, every seed gets an answer, and no input makes a single
//! allocation over `MAX_ALLOCATION`. Most findings were memory bombs answered with a
//! failure status *after* the memory was taken, so the status alone would not catch them
//! coming back: this test binary counts the largest allocation request as well.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use radraft_core::transfer_syntax::DECODABLE;
use radraft_gateway::inspect::replay;

/// The fuzz target's per-object limit.
const MAX_INSTANCE_BYTES: u64 = 16 << 20;
/// Far above what any input legitimately needs (a deflated 16 MiB data set, inflated and
/// parsed), far below the findings (4 GB from 343 bytes).
const MAX_ALLOCATION: usize = 64 << 20;

/// What each finding must be answered with, by file name.
const EXPECTED: [(&str, &[u16]); 8] = [
    // 343 bytes whose Pixel Data declares 4 GB: refused as the header is read.
    ("declared-length-4gb", &[0xC000]),
    // 32 KiB inflating to 32 MiB, past the limit: refused before it is parsed.
    ("deflate-bomb-32mib", &[0xA700]),
    // 1,000 nested sequences (100,000 overflowed the reading thread's stack).
    ("nested-sequences-1000", &[0xC000]),
    // Half the pixel data its image description needs.
    ("pixel-data-cut-short", &[0xA900]),
    // Encapsulated pixel data without its sequence delimiter.
    ("pixel-delimiter-missing", &[0xC000]),
    // An image description needing u64::MAX bytes (every dimension at its largest):
    // adding the pad byte overflowed (a panic where overflow checks are on).
    ("pixel-description-overflow", &[0xA900]),
    // A command set declaring 1 GB: unreadable, so no answer at all.
    ("command-declared-length", &[]),
    // 17 kB inflating to 1.5 million empty elements: built whole, 168 MB in one list.
    ("element-flood", &[0xA700]),
];

/// The system allocator, recording the largest single request.
struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Tests in this binary run one at a time so that `LARGEST` belongs to one input.
static SERIAL: Mutex<()> = Mutex::new(());

fn inputs(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Replays one input as the fuzz target does: the statuses and the largest allocation.
fn run(path: &Path) -> (Vec<u16>, usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = std::fs::read(path).unwrap();
    let (pick, stream) = bytes.split_first().unwrap();
    let (ts, _) = DECODABLE[usize::from(*pick) % DECODABLE.len()];
    LARGEST.store(0, Ordering::Relaxed);
    let statuses = replay(stream, ts, MAX_INSTANCE_BYTES);
    (statuses, LARGEST.load(Ordering::Relaxed))
}

#[test]
fn every_finding_is_refused_with_its_status_and_bounded_memory() {
    let files = inputs("gateway-regressions");
    assert_eq!(files.len(), EXPECTED.len(), "{files:?}");
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (statuses, largest) = run(&file);
        println!("{name}: {statuses:04X?}, largest allocation {largest}");
        assert!(
            largest <= MAX_ALLOCATION,
            "{name}: allocated {largest} bytes at once"
        );
        let (_, expected) = EXPECTED
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name}: no expectation for this finding"));
        assert_eq!(statuses, *expected, "{name}");
    }
}

#[test]
fn every_seed_is_answered() {
    let seeds = inputs("gateway-seeds");
    assert!(seeds.len() > 10, "{seeds:?}");
    let mut stored = 0;
    for seed in seeds {
        let (statuses, largest) = run(&seed);
        assert_eq!(statuses.len(), 1, "{}: {statuses:04X?}", seed.display());
        assert!(
            largest <= MAX_ALLOCATION,
            "{}: {largest} bytes",
            seed.display()
        );
        stored += usize::from(statuses == [0x0000]);
    }
    assert!(stored > 0, "no seed passes every check");
}
