//! The reading paths against lying lengths, deflate bombs, deep nesting and missing
//! delimiters; and the same objects as dicom-object builds where the input is sound.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

use crate::{GuardError, Limits, read_command, read_dataset, read_file};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// A little data set with a defined-length and an undefined-length sequence.
fn sound_dataset() -> Vec<u8> {
    let item = InMemDicomObject::from_element_iter([DataElement::new(
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("1.2.3.4"),
    )]);
    let object = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3"),
        ),
        DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item.clone(), item]),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2_u16)),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![7_u8; 4]),
        ),
    ]);
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// Explicit VR LE element header with a 4-byte length (OB, SQ, UN, ...).
fn long_header(tag: Tag, vr: &[u8; 2], len: u32) -> Vec<u8> {
    let mut h = tag.0.to_le_bytes().to_vec();
    h.extend_from_slice(&tag.1.to_le_bytes());
    h.extend_from_slice(vr);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&len.to_le_bytes());
    h
}

fn item_header(element: u16, len: u32) -> Vec<u8> {
    let mut h = vec![0xFE, 0xFF];
    h.extend_from_slice(&element.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h
}

#[test]
fn sound_data_sets_read_as_dicom_object_reads_them() {
    let bytes = sound_dataset();
    let ours = read_dataset(&bytes, EXPLICIT_LE, &Limits::strict(1 << 20)).unwrap();
    let theirs = InMemDicomObject::read_dataset_with_ts(
        bytes.as_slice(),
        &EXPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .unwrap();
    // Undefined lengths never compare equal (dicom-core's `Length`): compare the dumps.
    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
    let items = ours
        .element(tags::REFERENCED_IMAGE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    assert_eq!(items.len(), 2);
}

#[test]
fn a_declared_length_past_the_input_is_refused_before_allocation() {
    let mut bytes = sound_dataset();
    bytes.extend(long_header(Tag(0x7FE1, 0x0010), b"OB", 0xFFFF_FFF0));
    bytes.extend_from_slice(&[0; 6]);
    match read_dataset(&bytes, EXPLICIT_LE, &Limits::default()) {
        Err(GuardError::DeclaredLength {
            tag,
            length,
            remaining,
        }) => assert_eq!(
            (tag, length, remaining),
            (Tag(0x7FE1, 0x0010), 0xFFFF_FFF0, 6)
        ),
        other => panic!("expected DeclaredLength, got {other:?}"),
    }
    // The same inside an item, and in a command set.
    let mut nested = long_header(tags::REFERENCED_IMAGE_SEQUENCE, b"SQ", 0xFFFF_FFFF);
    nested.extend(item_header(0xE000, 0x7FFF_0000));
    assert!(matches!(
        read_dataset(&nested, EXPLICIT_LE, &Limits::default()),
        Err(GuardError::DeclaredLength { .. })
    ));
    let mut command = vec![0x00, 0x00, 0x00, 0x01]; // (0000,0100) CommandField, implicit VR
    command.extend_from_slice(&0x4000_0000_u32.to_le_bytes());
    assert!(matches!(
        read_command(&command),
        Err(GuardError::DeclaredLength { .. })
    ));
}

/// "DICM", a meta group, then a raw-deflated data set of one OB element of `length` zeros.
fn deflated_file(length: u32) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(DEFLATED)
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("1.2.3.4")
        .build()
        .unwrap();
    let mut body = b"DICM".to_vec();
    meta.write(&mut body).unwrap();
    let mut dataset = long_header(tags::PIXEL_DATA, b"OB", length);
    dataset.resize(dataset.len() + length as usize, 0);
    let mut encoder = flate2::write::DeflateEncoder::new(body, flate2::Compression::fast());
    encoder.write_all(&dataset).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_deflated_data_set_past_the_limit_is_refused_before_parsing() {
    let body = deflated_file(2 << 20);
    assert!(body.len() < 64 << 10, "{} bytes", body.len());
    let limits = |max| Limits {
        max_inflated: max,
        ..Limits::default()
    };
    match read_file(&body, &limits(1 << 20)) {
        Err(GuardError::InflatedTooLarge { limit }) => assert_eq!(limit, 1 << 20),
        other => panic!("expected InflatedTooLarge, got {other:?}"),
    }
    let object = read_file(&body, &limits(4 << 20)).unwrap();
    let pixels = object
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(pixels.len(), 2 << 20);
}

/// `depth` undefined-length sequences, each in an item of the one before, all closed.
fn nested(depth: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..depth {
        bytes.extend(long_header(
            tags::REFERENCED_IMAGE_SEQUENCE,
            b"SQ",
            0xFFFF_FFFF,
        ));
        bytes.extend(item_header(0xE000, 0xFFFF_FFFF));
    }
    for _ in 0..depth {
        bytes.extend(item_header(0xE00D, 0));
        bytes.extend(item_header(0xE0DD, 0));
    }
    bytes
}

#[test]
fn nesting_is_bounded_without_recursion() {
    let limits = Limits::default();
    assert!(read_dataset(&nested(limits.max_depth), EXPLICIT_LE, &limits).is_ok());
    for depth in [limits.max_depth + 1, 200_000] {
        match read_dataset(&nested(depth), EXPLICIT_LE, &limits) {
            Err(GuardError::TooDeep { limit }) => assert_eq!(limit, limits.max_depth),
            other => panic!("expected TooDeep, got {other:?}"),
        }
    }
}

#[test]
fn structures_the_input_leaves_open_are_refused() {
    // Sequences whose delimiters never come: refused in either mode, as dicom-object does
    // (dicom-parser itself refuses a missing sequence delimiter after an item's).
    let mut open = nested(3);
    open.truncate(open.len() - 8);
    let mut in_item = long_header(tags::REFERENCED_IMAGE_SEQUENCE, b"SQ", 0xFFFF_FFFF);
    in_item.extend(item_header(0xE000, 0xFFFF_FFFF));
    in_item.extend(long_header(tags::PIXEL_DATA, b"OB", 2));
    in_item.extend_from_slice(&[0, 0]);
    for limits in [Limits::default(), Limits::strict(1 << 20)] {
        assert!(read_dataset(&open, EXPLICIT_LE, &limits).is_err());
        match read_dataset(&in_item, EXPLICIT_LE, &limits) {
            Err(error @ GuardError::Unterminated { .. }) => assert_eq!(
                error.to_string(),
                "sequence (0008,1140) ends without its delimiter"
            ),
            other => panic!("expected Unterminated, got {other:?}"),
        }
    }
    // Encapsulated pixel data cut off after a fragment: whole to dicom-object, and to the
    // lenient reading imaging keeps; refused for a new object.
    let mut pixels = long_header(tags::PIXEL_DATA, b"OB", 0xFFFF_FFFF);
    pixels.extend(item_header(0xE000, 0));
    pixels.extend(item_header(0xE000, 4));
    pixels.extend_from_slice(&[1, 2, 3, 4]);
    let jpeg_ls = "1.2.840.10008.1.2.4.80";
    let lenient = read_dataset(&pixels, jpeg_ls, &Limits::default()).unwrap();
    let fragments = lenient
        .element(tags::PIXEL_DATA)
        .unwrap()
        .value()
        .fragments()
        .unwrap()
        .len();
    assert_eq!(fragments, 1);
    match read_dataset(&pixels, jpeg_ls, &Limits::strict(1 << 20)) {
        Err(error @ GuardError::Unterminated { .. }) => assert_eq!(
            error.to_string(),
            "encapsulated pixel data (7FE0,0010) ends without its delimiter"
        ),
        other => panic!("expected Unterminated, got {other:?}"),
    }
    pixels.extend(item_header(0xE0DD, 0));
    assert!(read_dataset(&pixels, jpeg_ls, &Limits::strict(1 << 20)).is_ok());
}

#[test]
fn unknown_transfer_syntaxes_and_truncated_values_are_errors_not_panics() {
    assert!(matches!(
        read_dataset(&sound_dataset(), "1.2.3.4.5", &Limits::default()),
        Err(GuardError::TransferSyntax { .. })
    ));
    let bytes = sound_dataset();
    for cut in 1..bytes.len() {
        let _ = read_dataset(&bytes[..cut], EXPLICIT_LE, &Limits::strict(1 << 20));
    }
    assert!(matches!(
        read_file(b"not DICOM", &Limits::default()),
        Err(GuardError::Meta { .. })
    ));
}

/// `count` empty elements of one private tag in explicit VR little endian: 8 bytes each on
/// the wire, about a hundred in the built object.
fn empty_elements(count: usize) -> Vec<u8> {
    [0x09, 0x00, 0x10, 0x10, b'L', b'O', 0, 0].repeat(count)
}

fn deflated(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_flood_of_elements_is_refused_past_the_limit_plain_or_deflated() {
    let limits = Limits {
        max_elements: 1000,
        ..Limits::default()
    };
    assert!(read_dataset(&empty_elements(1000), EXPLICIT_LE, &limits).is_ok());
    let flood = deflated(&empty_elements(4_000_000));
    assert!(flood.len() < 64 << 10, "{} bytes deflated", flood.len());
    let default = Limits::default();
    for (bytes, ts, limits) in [
        (empty_elements(1001), EXPLICIT_LE, &limits),
        (flood.clone(), DEFLATED, &limits),
        (flood, DEFLATED, &default),
    ] {
        match read_dataset(&bytes, ts, limits) {
            Err(GuardError::TooManyElements { limit }) => assert_eq!(limit, limits.max_elements),
            other => panic!("expected TooManyElements, got {other:?}"),
        }
    }
}
