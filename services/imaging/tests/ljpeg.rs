//! Our lossless JPEG decoder against dicom-rs's (jpeg-decoder) on every JPEG Lossless
//! object we have: the generated fixtures, pydicom's and pydicom-data's test files and the
//! fuzz seeds (8- and 16-bit, MONOCHROME1/2, signed, multi-frame, predictors 1-7). Where
//! ours decodes, the samples must be identical; where it declines (several components, a
//! point transform), dicom-rs stays in charge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::corpus::{files_under, roots};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use radraft_imaging::ljpeg::{LjpegError, decode_lossless};

/// Decodes every frame with `ljpeg`, as dicom-rs lays them out; `None` if it declines.
fn ours(fragments: &[Vec<u8>], frames: usize) -> Option<Vec<u8>> {
    let streams: Vec<Vec<u8>> = if fragments.len() == frames {
        fragments.to_vec()
    } else {
        vec![fragments.concat()]
    };
    let mut out = Vec::new();
    for s in &streams {
        let frame = match decode_lossless(s) {
            Ok(f) => f,
            Err(LjpegError::Unsupported(_)) => return None,
            Err(e) => panic!("{e}"),
        };
        if frame.precision == 8 {
            out.extend(frame.samples.iter().map(|&v| v as u8));
        } else {
            out.extend(frame.samples.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    Some(out)
}

#[test]
fn lossless_jpeg_matches_dicom_rs_on_every_fixture() {
    let mut files = Vec::new();
    for dir in roots() {
        files_under(&dir, &mut files);
    }
    files.sort();
    let (mut same, mut declined) = (0, Vec::new());
    for f in &files {
        let Ok(obj) = OpenFileOptions::new().open_file(f) else {
            continue;
        };
        let ts = obj.meta().transfer_syntax();
        if ts != "1.2.840.10008.1.2.4.57" && ts != "1.2.840.10008.1.2.4.70" {
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
            }
            None => declined.push(f.display().to_string()),
        }
    }
    eprintln!(
        "lossless JPEG: {same} objects identical, declined: {}",
        declined.join(", ")
    );
    assert!(same >= 50, "only {same} JPEG Lossless objects found");
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
