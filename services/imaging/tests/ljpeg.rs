//! Our lossless JPEG decoder against dicom-rs's (jpeg-decoder) on every JPEG Lossless
//! object we have: the generated fixtures, pydicom's and pydicom-data's test files and the
//! fuzz seeds (8- and 16-bit, MONOCHROME1/2, signed, multi-frame, predictors 1-7). Where
//! ours decodes, the samples must be identical; where it declines (several components, a
//! point transform), dicom-rs stays in charge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::corpus::compare_with_dicom_rs;
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use radraft_imaging::ljpeg::{LjpegError, decode_lossless};

#[test]
fn lossless_jpeg_matches_dicom_rs_on_every_fixture() {
    let syntaxes = ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"];
    let (same, declined) = compare_with_dicom_rs(&syntaxes, decode_lossless, |p| p != 8);
    eprintln!(
        "lossless JPEG: {} objects identical, declined: {}",
        same.len(),
        declined.join(", ")
    );
    assert!(
        same.len() >= 50,
        "only {} JPEG Lossless objects",
        same.len()
    );
    // Only colour (SC_rgb_jpeg_gdcm) and the point-transform seed go to dicom-rs.
    assert!(declined.len() <= 2, "declined: {declined:?}");
}

#[test]
fn corrupt_streams_are_errors_not_panics() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/ljpeg-sv1-16.dcm");
    let obj = OpenFileOptions::new().open_file(&seed).unwrap();
    let pixel_data = obj.element(tags::PIXEL_DATA).unwrap();
    let stream = pixel_data.value().fragments().unwrap()[0].clone();
    assert!(decode_lossless(&stream).is_ok());
    // Every truncation and every single-byte corruption: a result or an error.
    for n in 0..stream.len() {
        let _ = decode_lossless(&stream[..n]);
        let mut bad = stream.clone();
        bad[n] ^= 0x5A;
        let _ = decode_lossless(&bad);
    }
    assert!(matches!(decode_lossless(&[]), Err(LjpegError::Invalid(_))));
}
