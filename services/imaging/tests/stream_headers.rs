//! Compressed streams whose own header declares a larger image than Rows x Columns x
//! SamplesPerPixel are refused by name before a codec allocates for that size. Each case
//! patches the header of a real encoded fixture (dcmtk's JPEG-LS, GDCM's JPEG 2000,
//! pydicom-data's multi-frame JPEG-LS) and leaves the rest of the stream as it was.
//! Without the check, the 60000 x 60000 JPEG 2000 case below made OpenJPEG take 14.6 GB
//! and 41 s before dicom-rs's adapter panicked (CharLS refused its case by itself).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use radraft_imaging::{ImagingError, decode, open_bytes};

const LIMIT: u64 = radraft_imaging::pixels::DEFAULT_MAX_SAMPLES;

fn fixture(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/generated")
        .join(relative);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/generate.sh)", path.display()))
}

/// Byte offsets of every occurrence of `pattern`.
fn find_all(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(i, _)| i)
        .collect()
}

fn put_u16(bytes: &mut [u8], at: usize, v: u16) {
    bytes[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Decodes `bytes`, which must fail with a stream header error; returns its location and
/// problem.
fn refused(bytes: &[u8]) -> (&'static str, String, String) {
    match decode(&open_bytes(bytes).unwrap(), LIMIT) {
        Err(ImagingError::StreamHeader {
            codec,
            location,
            problem,
        }) => (codec, location, problem),
        other => panic!("expected a stream header error, got {other:?}"),
    }
}

#[test]
fn jpeg_ls_frame_header_larger_than_the_attributes_is_refused() {
    let mut bytes = fixture("ct-chest/jpeg-ls-lossless/ct-s1-0015.dcm");
    let decoded = decode(&open_bytes(&bytes).unwrap(), LIMIT).unwrap();
    assert_eq!((decoded.rows, decoded.columns), (256, 256));
    // SOI then SOF55: Lf, P, Y, X, Nf.
    let [sof] = find_all(&bytes, &[0xFF, 0xD8, 0xFF, 0xF7])[..] else {
        panic!("one SOI + SOF55 expected");
    };
    put_u16(&mut bytes, sof + 7, 60000);
    put_u16(&mut bytes, sof + 9, 60000);
    let (codec, location, problem) = refused(&bytes);
    assert_eq!((codec, location.as_str()), ("JPEG-LS", "frame 0"));
    assert!(
        problem.contains("60000x60000x1") && problem.contains("256x256x1"),
        "{problem}"
    );
}

#[test]
fn every_frame_of_a_multi_frame_jpeg_ls_object_is_checked() {
    let mut bytes = fixture("external/pydicom-data/emri_small_jpeg_ls_lossless.dcm");
    let decoded = decode(&open_bytes(&bytes).unwrap(), LIMIT).unwrap();
    assert_eq!(decoded.count, 10);
    let starts = find_all(&bytes, &[0xFF, 0xD8, 0xFF]);
    assert_eq!(starts.len(), 10, "one JPEG-LS stream per frame");
    // Find frame 7's SOF55 and widen only its columns, by one.
    let sof = starts[7] + find_all(&bytes[starts[7]..], &[0xFF, 0xF7])[0];
    let columns = u16::from_be_bytes([bytes[sof + 7], bytes[sof + 8]]);
    put_u16(&mut bytes, sof + 7, columns + 1);
    let (_, location, problem) = refused(&bytes);
    assert_eq!(location, "frame 7");
    assert!(problem.contains("larger than"), "{problem}");
}

#[test]
fn jpeg_2000_siz_larger_than_the_attributes_is_refused() {
    let original = fixture("ct-chest/j2k-lossless/ct-s1-0015.dcm");
    let decoded = decode(&open_bytes(&original).unwrap(), LIMIT).unwrap();
    assert_eq!((decoded.rows, decoded.columns), (256, 256));
    let [soc] = find_all(&original, &[0xFF, 0x4F, 0xFF, 0x51])[..] else {
        panic!("one SOC + SIZ expected");
    };
    // SIZ after its marker: Lsiz, Rsiz, then Xsiz, Ysiz, XOsiz, YOsiz, ..., Csiz at 40.
    let (xsiz, ysiz, xosiz, csiz) = (soc + 8, soc + 12, soc + 16, soc + 40);

    let mut larger = original.clone();
    put_u32(&mut larger, xsiz, 60000);
    put_u32(&mut larger, ysiz, 60000);
    let (codec, location, problem) = refused(&larger);
    assert_eq!((codec, location.as_str()), ("JPEG 2000", "frame 0"));
    assert!(problem.contains("60000x60000x1"), "{problem}");

    let mut more_components = original.clone();
    put_u16(&mut more_components, csiz, 3);
    assert!(refused(&more_components).2.contains("256x256x3"));

    // An image offset is not part of the image: Xsiz - XOsiz is what OpenJPEG allocates.
    let mut offset_past_the_end = original.clone();
    put_u32(&mut offset_past_the_end, xosiz, 300);
    assert!(
        refused(&offset_past_the_end)
            .2
            .contains("truncated or inconsistent")
    );
}
