//! Small DICOM objects built in memory, one behaviour each: windowing, MONOCHROME1,
//! signed data and rescale, multi-frame, colour, the size guard, unsupported transfer
//! syntaxes, ordering and selection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use radraft_imaging::{
    ImagingError, Recipe, StudyOptions, Window, decode, evenly_spaced, open_bytes, prepare_study,
};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Builder for a minimal image object.
struct Obj {
    ts: &'static str,
    elements: Vec<DataElement<InMemDicomObject>>,
}

impl Obj {
    fn new(modality: &str, rows: u16, cols: u16, bits: u16, pi: &str, pixels: Vec<u8>) -> Self {
        let mut o = Obj {
            ts: EXPLICIT_LE,
            elements: Vec::new(),
        };
        o.text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7");
        o.text(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4");
        o.text(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3");
        o.text(tags::MODALITY, VR::CS, modality);
        o.text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, pi);
        let samples = if pi == "RGB" || pi.starts_with("YBR") {
            3
        } else {
            1
        };
        for (tag, v) in [
            (tags::ROWS, rows),
            (tags::COLUMNS, cols),
            (tags::SAMPLES_PER_PIXEL, samples),
            (tags::BITS_ALLOCATED, bits),
            (tags::BITS_STORED, bits),
            (tags::HIGH_BIT, bits - 1),
            (tags::PIXEL_REPRESENTATION, 0),
        ] {
            o.us(tag, v);
        }
        let vr = if bits == 8 { VR::OB } else { VR::OW };
        o.elements.push(DataElement::new(
            tags::PIXEL_DATA,
            vr,
            PrimitiveValue::from(pixels),
        ));
        o
    }
    fn text(&mut self, tag: Tag, vr: VR, v: &str) -> &mut Self {
        self.elements.retain(|e| e.header().tag != tag);
        self.elements
            .push(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        self
    }
    fn us(&mut self, tag: Tag, v: u16) -> &mut Self {
        self.elements.retain(|e| e.header().tag != tag);
        self.elements
            .push(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        self
    }
    fn bytes(&self) -> Vec<u8> {
        let obj = InMemDicomObject::from_element_iter(self.elements.clone());
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(self.ts)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid("1.2.3.4"),
            )
            .unwrap();
        // `write_all` writes the 128-byte preamble and "DICM" too.
        let mut out = Vec::new();
        file.write_all(&mut out).unwrap();
        out
    }
}

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn study(
    objs: &[&Obj],
    options: &StudyOptions,
) -> Result<radraft_imaging::StudyImages, ImagingError> {
    let insts: Vec<_> = objs
        .iter()
        .map(|o| open_bytes(&o.bytes()).unwrap())
        .collect();
    prepare_study(&insts, options)
}

#[test]
fn file_window_and_monochrome1_inversion() {
    let mut o = Obj::new("CR", 1, 4, 16, "MONOCHROME1", u16s(&[0, 1000, 2048, 4095]));
    o.text(tags::WINDOW_CENTER, VR::DS, "2048")
        .text(tags::WINDOW_WIDTH, VR::DS, "4096");
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    let w = Window::from_center_width(radraft_imaging::FileWindow {
        center: 2048.0,
        width: 4096.0,
    });
    let expect: Vec<u8> = [0.0, 1000.0, 2048.0, 4095.0]
        .iter()
        .map(|&x| 255 - w.apply(x))
        .collect();
    // Padded to a centred 4x4 square: the row sits at y = 1 (the odd row goes below).
    assert_eq!((img.width, img.height), (4, 4));
    assert_eq!(&img.planes[0][4..8], &expect[..]);
    assert_eq!(expect[0], 255, "MONOCHROME1: the lowest value is white");
    assert!(img.planes[0][..4].iter().all(|&v| v == 0));
}

#[test]
fn no_window_falls_back_to_min_max() {
    let o = Obj::new("DX", 2, 2, 16, "MONOCHROME2", u16s(&[100, 200, 300, 400]));
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    assert_eq!(img.planes[0], vec![0, 85, 170, 255]);
}

#[test]
fn signed_12_bit_ct_with_rescale_goes_to_three_hu_windows() {
    // Stored -1024, 0, 1024, 2047 in 12 bits two's complement; intercept -1024 → HU.
    let raw: Vec<u16> = [-1024i16, 0, 1024, 2047]
        .iter()
        .map(|&v| (v as u16) & 0x0fff | if v < 0 { 0xf000 } else { 0 })
        .collect();
    let mut o = Obj::new("CT", 2, 2, 16, "MONOCHROME2", u16s(&raw));
    o.us(tags::BITS_STORED, 12)
        .us(tags::HIGH_BIT, 11)
        .us(tags::PIXEL_REPRESENTATION, 1);
    o.text(tags::RESCALE_INTERCEPT, VR::DS, "-1024")
        .text(tags::RESCALE_SLOPE, VR::DS, "1");
    let s = study(&[&o], &StudyOptions::default()).unwrap();
    assert_eq!(s.recipe, Recipe::Ct);
    let img = &s.images[0].image;
    // HU -2048, -1024, 0, 1023.
    assert_eq!(img.planes[0], vec![0, 0, 128, 255]);
    assert_eq!(img.planes[1], vec![0, 0, 98, 255]);
    assert_eq!(img.planes[2], vec![0, 0, 0, 255]);
}

#[test]
fn multi_frame_mr_uses_one_min_max_for_the_series() {
    let mut o = Obj::new(
        "MR",
        1,
        2,
        16,
        "MONOCHROME2",
        u16s(&[0, 10, 20, 30, 40, 50]),
    );
    o.text(tags::NUMBER_OF_FRAMES, VR::IS, "3");
    let s = study(&[&o], &StudyOptions::default()).unwrap();
    assert_eq!(s.images.len(), 3);
    assert_eq!(s.images[0].image.planes[0], vec![0, 51]);
    assert_eq!(s.images[2].image.planes[0], vec![204, 255]);
    let s = study(
        &[&o],
        &StudyOptions {
            max_slices: 2,
            ..StudyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        s.images.iter().map(|i| i.frame).collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn rgb_planar_and_ybr_full() {
    let mut o = Obj::new("XC", 1, 2, 8, "RGB", vec![1, 2, 3, 4, 5, 6]);
    o.us(tags::PLANAR_CONFIGURATION, 1);
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    // Planar R=[1,2] G=[3,4] B=[5,6]; padded to 2x2 with the row on top.
    assert_eq!(&img.planes[0][..2], &[1, 2]);
    assert_eq!(&img.planes[2][..2], &[5, 6]);
    let mut o = Obj::new("XC", 1, 1, 8, "YBR_FULL", vec![128, 128, 128]);
    o.us(tags::PLANAR_CONFIGURATION, 0);
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    assert_eq!(
        img.planes.iter().map(|p| p[0]).collect::<Vec<_>>(),
        vec![128, 128, 128]
    );
}

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
