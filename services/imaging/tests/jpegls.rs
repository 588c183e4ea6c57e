//! Our JPEG-LS decoder against dicom-rs's (CharLS) on every JPEG-LS object we have: the
//! generated fixtures (dcmtk's encoder: 8- and 16-bit, CT, DX, MR, MONOCHROME1), pydicom's
//! and pydicom-data's test files (multi-frame, near-lossless, colour) and the fuzz seeds.
//! Where ours decodes, the samples must be identical; where it declines (several
//! components), CharLS stays in charge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::corpus::compare_with_dicom_rs;
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use radraft_imaging::jpegls::decode_jpegls;
use radraft_imaging::ljpeg::LjpegError;

const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];

#[test]
fn jpeg_ls_matches_charls_on_every_fixture() {
    let (same, declined) = compare_with_dicom_rs(&JPEG_LS, decode_jpegls, |p| p > 8);
    let near_lossless = same.iter().filter(|o| o.syntax == JPEG_LS[1]).count();
    eprintln!(
        "JPEG-LS: {} objects identical ({near_lossless} near-lossless), declined: {}",
        same.len(),
        declined.join(", ")
    );
    assert!(same.len() >= 40, "only {} JPEG-LS objects", same.len());
    assert!(near_lossless >= 2, "near-lossless objects missing");
    // Colour only: pydicom's two line/sample-interleaved files and the RGB seed.
    assert!(declined.len() <= 3, "declined: {declined:?}");
}

#[test]
fn corrupt_streams_are_errors_not_panics() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for seed in ["jls-16.dcm", "jls-near5-8.dcm", "jls-preset-8.dcm"] {
        let obj = OpenFileOptions::new().open_file(seeds.join(seed)).unwrap();
        let pixel_data = obj.element(tags::PIXEL_DATA).unwrap();
        let stream = pixel_data.value().fragments().unwrap()[0].clone();
        let intact = decode_jpegls(&stream).unwrap();
        // Every truncation and every single-byte corruption: a result or an error.
        let mut refused = 0;
        for n in 0..stream.len() {
            refused += usize::from(decode_jpegls(&stream[..n]).is_err());
            let mut bad = stream.clone();
            bad[n] ^= 0x5A;
            if let Ok(frame) = decode_jpegls(&bad) {
                assert_eq!(frame.samples.len(), intact.samples.len(), "{seed}");
            }
        }
        // Every truncation is refused except those that lose only the EOI marker (2) or a
        // last byte holding nothing but the encoder's fill bits (1).
        assert!(
            refused + 3 >= stream.len(),
            "{seed}: {refused} of {}",
            stream.len()
        );
    }
    assert!(matches!(decode_jpegls(&[]), Err(LjpegError::Invalid(_))));
}
