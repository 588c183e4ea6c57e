//! Our JPEG-LS decoder against dicom-rs's (CharLS) on every JPEG-LS object we have: the
//! generated fixtures (dcmtk's encoder: 8- and 16-bit, CT, DX, MR, MONOCHROME1), pydicom's
//! and pydicom-data's test files (multi-frame, near-lossless, colour) and the fuzz seeds.
//! Where ours decodes, the samples must be identical; where it declines (several
//! components), CharLS stays in charge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::corpus::{files_under, roots};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use radraft_imaging::jpegls::decode_jpegls;
use radraft_imaging::ljpeg::LjpegError;

const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];

/// Decodes every frame (one fragment each, or one frame over all fragments) as CharLS lays
/// them out; `None` if ours declines.
fn ours(fragments: &[Vec<u8>], frames: usize) -> Option<Vec<u8>> {
    let streams: Vec<Vec<u8>> = if fragments.len() == frames {
        fragments.to_vec()
    } else {
        vec![fragments.concat()]
    };
    let mut out = Vec::new();
    for s in &streams {
        let frame = match decode_jpegls(s) {
            Ok(f) => f,
            Err(LjpegError::Unsupported(_)) => return None,
            Err(e) => panic!("{e}"),
        };
        if frame.precision <= 8 {
            out.extend(frame.samples.iter().map(|&v| v as u8));
        } else {
            out.extend(frame.samples.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    Some(out)
}

#[test]
fn jpeg_ls_matches_charls_on_every_fixture() {
    let mut files = Vec::new();
    for dir in roots() {
        files_under(&dir, &mut files);
    }
    files.sort();
    let (mut same, mut near_lossless, mut declined) = (0, 0, Vec::new());
    for f in &files {
        let Ok(obj) = OpenFileOptions::new().open_file(f) else {
            continue;
        };
        let ts = obj.meta().transfer_syntax().trim_end_matches('\0');
        if !JPEG_LS.contains(&ts) {
            continue;
        }
        let Some(fragments) = obj
            .element_opt(tags::PIXEL_DATA)
            .ok()
            .flatten()
            .and_then(|e| e.value().fragments().map(<[Vec<u8>]>::to_vec))
        else {
            continue;
        };
        let Ok(reference) = obj.decode_pixel_data() else {
            continue;
        };
        let frames = reference.number_of_frames().max(1) as usize;
        match ours(&fragments, frames) {
            Some(samples) => {
                assert!(
                    samples == reference.data(),
                    "{}: samples differ",
                    f.display()
                );
                same += 1;
                near_lossless += usize::from(ts == JPEG_LS[1]);
            }
            None => declined.push(f.display().to_string()),
        }
    }
    eprintln!(
        "JPEG-LS: {same} objects identical ({near_lossless} near-lossless), declined: {}",
        declined.join(", ")
    );
    assert!(same >= 40, "only {same} JPEG-LS objects found");
    assert!(declined.len() <= 4, "declined: {declined:?}");
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
