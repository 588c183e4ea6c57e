//! Fuzz target: arbitrary bytes through open → decode → select → model input → PNG.
//! Any panic escaping the library, abort or sanitizer report is a bug; typed errors are fine.

#![no_main]

use libfuzzer_sys::fuzz_target;
use radraft_imaging::{StudyOptions, model_input, open_bytes, png, prepare_study};

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's panic hook aborts at once, before `catch_unwind` in radraft-imaging
    // (which contains panics inside dicom-rs codecs) can turn a panic into an error. Print
    // instead; a panic escaping the target still aborts (libfuzzer-sys catches it).
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}"))));
    let Ok(instance) = open_bytes(data) else { return };
    // A small size guard keeps each input fast and its memory bounded.
    // Half the inputs take the reduced-resolution JPEG 2000 path (for images of 16 px and more).
    let options = StudyOptions {
        max_slices: 4,
        max_samples: 1 << 22,
        j2k_reduce_to: (data.len() % 2 == 0).then_some(8),
    };
    if let Ok(study) = prepare_study(std::slice::from_ref(&instance), &options) {
        for image in study.images.iter().take(2) {
            let _ = model_input(&image.image, 32);
            let _ = png(&image.image);
        }
    }
});
