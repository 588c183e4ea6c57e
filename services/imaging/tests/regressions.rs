//! Inputs the fuzzer flagged (`fuzz/regressions`, one file per finding) go through open →
//! study → model input → PNG and must give images or a typed error, without panicking and
//! without any single allocation over `MAX_ALLOCATION`. Most findings were memory bombs
//! (a ~1 KiB object declaring a multi-GB value) that fail cleanly *after* reserving the
//! memory, so the outcome alone would not catch them coming back: this test binary counts
//! the largest allocation request instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use radraft_imaging::{ImagingError, StudyOptions, model_input, open_bytes, png, prepare_study};

/// Far above what any regression input legitimately needs (each is under 2 KiB and the
/// study options below cap the pixel count), far below the findings (1.3-16 GB).
const MAX_ALLOCATION: usize = 64 << 20;

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

fn regression(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(name)
}

/// Runs one input the way the fuzz target does; returns the outcome and the largest
/// allocation made.
fn run(path: &Path) -> (Result<usize, ImagingError>, usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = std::fs::read(path).unwrap();
    LARGEST.store(0, Ordering::Relaxed);
    let options = StudyOptions {
        max_slices: 4,
        max_samples: 1 << 22,
        ..StudyOptions::default()
    };
    let outcome = open_bytes(&bytes).and_then(|instance| {
        let study = prepare_study(std::slice::from_ref(&instance), &options)?;
        for image in &study.images {
            let input = model_input(&image.image, 32);
            assert!(input.iter().all(|v| (-1.0..=1.0).contains(v)));
            png(&image.image)?;
        }
        Ok(study.images.len())
    });
    (outcome, LARGEST.load(Ordering::Relaxed))
}

/// What each kind of finding must now give, by file name prefix (first match wins).
const EXPECTED: [(&str, &str); 6] = [
    // A second preamble: dicom-object is no longer left to skip it (see below).
    ("parser-second-preamble", "ParseBytes"),
    // Elements declaring 0.4-4.3 GB in ~1 KiB: refused as dicom-parser reads the header.
    ("parser-", "DeclaredLength"),
    // dicom-rs's RLE decoder: a 16 GiB segment count, a panic on a short segment.
    ("rle-header", "invalid RLE header"),
    ("rle-short", "decoder panicked"),
    // A JPEG frame header larger than Rows x Columns (jpeg-decoder allocated for it).
    ("jpeg-frame-header", "JPEG stream header"),
    // A long thin frame under the sample limit whose padded square is not.
    ("pad-square", "image too large"),
];

#[test]
fn every_regression_is_bounded_and_gives_the_expected_outcome() {
    let dir = regression("");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "regressions missing in {}",
        dir.display()
    );
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (outcome, largest) = run(&f);
        let outcome = format!("{outcome:?}");
        println!("{name}: {outcome:.200}, largest allocation {largest}");
        assert!(
            largest <= MAX_ALLOCATION,
            "{name}: allocated {largest} bytes at once"
        );
        let (_, expected) = EXPECTED
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .unwrap_or_else(|| panic!("{name}: no expectation for this kind of finding"));
        assert!(outcome.contains(expected), "{name}: {outcome}");
    }
}

/// A second preamble: "DICM" at 128 and again at 256. dicom-object, left to detect the
/// preamble itself, skipped both while the length guard scanned from the first "DICM", so
/// an OB element declaring 2.5 GB got past the guard.
#[test]
fn a_second_preamble_is_not_skipped() {
    let (outcome, largest) = run(&regression("parser-second-preamble.dcm"));
    assert!(
        matches!(outcome, Err(ImagingError::ParseBytes { .. })),
        "{outcome:?}"
    );
    assert!(
        largest <= MAX_ALLOCATION,
        "allocated {largest} bytes at once"
    );
}
