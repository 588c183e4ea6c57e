//! Small DICOM objects built in memory for what happens before and around the pixels: the
//! size guard, unsupported transfer syntaxes, objects without pixels, the preamble, and the
//! order images are selected in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Obj, study, u16s};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use radraft_imaging::{ImagingError, StudyOptions, decode, evenly_spaced, open_bytes};

#[test]
fn size_guard_rejects_before_decoding() {
    // The header claims 60000 x 60000 x 100 frames; only 8 bytes of pixels exist.
    let mut o = Obj::new("DX", 60000, 60000, 16, "MONOCHROME2", u16s(&[1, 2, 3, 4]));
    o.text(tags::NUMBER_OF_FRAMES, VR::IS, "100");
    let inst = open_bytes(&o.bytes()).unwrap();
    match decode(&inst, radraft_imaging::pixels::DEFAULT_MAX_SAMPLES) {
        Err(ImagingError::TooLarge {
            total, frames: 100, ..
        }) => assert_eq!(total, 360_000_000_000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The limit is configurable.
    let small = Obj::new("DX", 4, 4, 16, "MONOCHROME2", u16s(&[0; 16]));
    let err = study(
        &[&small],
        &StudyOptions {
            max_samples: 10,
            ..StudyOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    let mut o = Obj::new("DX", 2, 2, 16, "MONOCHROME2", u16s(&[0; 4]));
    o.ts = "1.2.840.10008.1.2.4.51";
    let inst = open_bytes(&o.bytes()).unwrap();
    match decode(&inst, 1 << 20) {
        Err(ImagingError::UnsupportedTransferSyntax { name, uid }) => {
            assert!(name.contains("JPEG Extended"), "{name}");
            assert_eq!(uid, "1.2.840.10008.1.2.4.51");
        }
        other => panic!("expected UnsupportedTransferSyntax, got {other:?}"),
    }
}

#[test]
fn object_without_pixels_is_skipped_and_an_empty_study_fails() {
    let mut o = Obj::new("SR", 1, 1, 8, "MONOCHROME2", vec![0]);
    o.elements.retain(|e| e.header().tag != tags::PIXEL_DATA);
    match study(&[&o], &StudyOptions::default()) {
        Err(ImagingError::NoUsableImage { reasons }) => {
            assert!(reasons[0].contains("no pixel data"), "{reasons:?}")
        }
        other => panic!("expected NoUsableImage, got {other:?}"),
    }
}

#[test]
fn frontal_first_then_lateral() {
    let mut lat = Obj::new("DX", 1, 1, 8, "MONOCHROME2", vec![7]);
    lat.text(tags::VIEW_POSITION, VR::CS, "LL")
        .text(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.9");
    let mut pa = Obj::new("DX", 1, 1, 8, "MONOCHROME2", vec![9]);
    pa.text(tags::VIEW_POSITION, VR::CS, "PA")
        .text(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.8");
    let s = study(&[&lat, &pa], &StudyOptions::default()).unwrap();
    let order: Vec<_> = s
        .images
        .iter()
        .map(|i| i.sop_instance_uid.as_str())
        .collect();
    assert_eq!(order, vec!["1.2.3.8", "1.2.3.9"]);
}

#[test]
fn ct_slices_sorted_along_the_normal_then_evenly_spaced() {
    let objs: Vec<Obj> = [(3, 10.0), (1, -10.0), (2, 0.0), (4, 20.0), (5, 30.0)]
        .iter()
        .map(|&(n, z)| {
            let mut o = Obj::new("CT", 1, 1, 16, "MONOCHROME2", u16s(&[n]));
            o.text(tags::SOP_INSTANCE_UID, VR::UI, &format!("1.2.3.{n}"));
            o.text(tags::IMAGE_POSITION_PATIENT, VR::DS, &format!("0\\0\\{z}"));
            o.text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0");
            o.text(tags::INSTANCE_NUMBER, VR::IS, &(6 - n).to_string());
            o
        })
        .collect();
    let refs: Vec<&Obj> = objs.iter().collect();
    let s = study(
        &refs,
        &StudyOptions {
            max_slices: 3,
            ..StudyOptions::default()
        },
    )
    .unwrap();
    let order: Vec<_> = s
        .images
        .iter()
        .map(|i| i.sop_instance_uid.as_str())
        .collect();
    assert_eq!(order, vec!["1.2.3.1", "1.2.3.3", "1.2.3.5"]);
    assert_eq!(evenly_spaced(300, 85)[..3], [0, 3, 7]);
    assert_eq!(*evenly_spaced(300, 85).last().unwrap(), 299);
}

#[test]
fn bytes_with_and_without_preamble() {
    let o = Obj::new("DX", 1, 1, 8, "MONOCHROME2", vec![1]);
    let with = o.bytes();
    assert!(open_bytes(&with).is_ok());
    assert!(open_bytes(&with[128..]).is_ok());
    assert!(matches!(
        open_bytes(b"not dicom"),
        Err(ImagingError::ParseBytes { .. })
    ));
}
