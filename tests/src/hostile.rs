//! Hand-made hostile objects for the gateway's edge tests: lengths that lie, deflate bombs,
//! pixel data cut short, missing delimiters, absurd nesting; and the process's peak memory.

use std::io::Write;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

use crate::synthetic::CT_IMAGE_STORAGE;

pub const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
/// The length the 4 GB element declares: just under `u32::MAX`, which means "undefined".
pub const HUGE_LENGTH: u32 = 0xFFFF_FFF0;
pub const STUDY_UID: &str = "1.2.826.0.1.3680043.10.1234.66";
pub const SERIES_UID: &str = "1.2.826.0.1.3680043.10.1234.66.1";

/// The identifying elements every hostile object starts with, so that only the part under
/// test is wrong.
fn identity(sop_instance: &str) -> Vec<u8> {
    let mut object = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, sop_instance.into());
    put(tags::MODALITY, VR::CS, "CT".into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, STUDY_UID.into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID.into());
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// An explicit VR little endian data set whose Pixel Data (OB) declares [`HUGE_LENGTH`]
/// bytes and holds 16: a few hundred bytes in all.
pub fn huge_element_dataset(sop_instance: &str) -> Vec<u8> {
    let mut bytes = identity(sop_instance);
    bytes.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0]);
    bytes.extend_from_slice(&HUGE_LENGTH.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    bytes
}

/// A Part 10 file (preamble, meta group naming the class and instance) around `dataset`.
pub fn part10(dataset: &[u8], sop_instance: &str, transfer_syntax: &str) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(sop_instance)
        .transfer_syntax(transfer_syntax)
        .build()
        .unwrap();
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).unwrap();
    file.extend_from_slice(dataset);
    file
}

/// A deflated (PS3.5 A.5, raw deflate) data set: the identity, `header`, then `total`
/// bytes repeating `pattern` (whose length `total` must be a multiple of). Written in
/// pieces, so the test process never holds it inflated.
fn deflated_identity(sop_instance: &str, header: &[u8], pattern: &[u8], total: usize) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&identity(sop_instance)).unwrap();
    encoder.write_all(header).unwrap();
    let piece = pattern.repeat((1 << 20) / pattern.len());
    let mut left = total;
    while left > 0 {
        let n = left.min(piece.len());
        encoder.write_all(&piece[..n]).unwrap();
        left -= n;
    }
    encoder.finish().unwrap()
}

/// A deflated data set: the identity, then an OB element of `inflated` zero bytes.
pub fn deflate_bomb(sop_instance: &str, inflated: u32) -> Vec<u8> {
    let mut header = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
    header.extend_from_slice(&inflated.to_le_bytes());
    deflated_identity(sop_instance, &header, &[0], inflated as usize)
}

/// A deflated data set: the identity, then `count` empty private elements of 8 bytes
/// each, which deflate about a thousandfold.
pub fn element_flood(sop_instance: &str, count: usize) -> Vec<u8> {
    let empty = [0x09, 0x00, 0x10, 0x10, b'L', b'O', 0, 0];
    deflated_identity(sop_instance, &[], &empty, count * empty.len())
}

/// An explicit VR little endian data set with `depth` sequences nested inside each other
/// (each in an item of the one before), all properly closed.
pub fn nested_sequences(sop_instance: &str, depth: usize) -> Vec<u8> {
    let mut bytes = identity(sop_instance);
    for _ in 0..depth {
        // (0008,1140) Referenced Image Sequence, undefined length; an item, undefined length.
        bytes.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0]);
        bytes.extend_from_slice(&[0xFF; 4]);
        bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for _ in 0..depth {
        bytes.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    bytes
}

/// An explicit VR little endian data set (as a C-STORE carries it) with the object's Pixel
/// Data replaced by its first `keep` bytes: every length consistent, the image cut short,
/// as a sender that rewrote the element length would send it.
pub fn with_pixel_data_cut(file: &[u8], keep: usize) -> Vec<u8> {
    let object = dicom_object::from_reader(&file[128..]).unwrap();
    let mut dataset = object.into_inner();
    let pixels = dataset
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(
        keep < pixels.len(),
        "{keep} is not shorter than {}",
        pixels.len()
    );
    dataset.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(pixels[..keep].to_vec()),
    ));
    let mut bytes = Vec::new();
    dataset
        .write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// The encapsulated Pixel Data's closing sequence delimiter (FFFE,E0DD), at the very end
/// of the file.
const SEQUENCE_DELIMITER: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];

/// A Part 10 file of a compressed object without the final sequence delimiter.
pub fn without_final_delimiter(file: &[u8]) -> Vec<u8> {
    assert!(
        file.ends_with(&SEQUENCE_DELIMITER),
        "the object ends with its pixel data's sequence delimiter"
    );
    file[..file.len() - SEQUENCE_DELIMITER.len()].to_vec()
}

/// This process's peak resident memory (VmHWM), in bytes. The e2e gateway runs in the test
/// process, so its allocations show here.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}
