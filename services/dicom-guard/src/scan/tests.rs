//! Scanning without the pixel data reaches the same verdicts as reading whole, from memory
//! and from the middle of a file, and keeps no pixel bytes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{Cursor, Seek, SeekFrom, Write};

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::{GuardError, Limits, check_pixel_data, read_dataset, scan_dataset};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const RLE: &str = "1.2.840.10008.1.2.5";

fn image(rows: u16, frames: u32) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.4"),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4_u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8_u16)),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16)),
        DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ),
    ])
}

fn encode(object: &InMemDicomObject, ts: &str) -> Vec<u8> {
    let ts = TransferSyntaxRegistry.get(ts).unwrap();
    let mut bytes = Vec::new();
    object.write_dataset_with_ts(&mut bytes, ts).unwrap();
    bytes
}

fn native(rows: u16, frames: u32, bytes: usize) -> Vec<u8> {
    let mut object = image(rows, frames);
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(vec![9_u8; bytes]),
    ));
    encode(&object, EXPLICIT_LE)
}

/// An RLE fragment naming `segments` segments, `len` bytes long.
fn rle_fragment(segments: u32, len: usize) -> Vec<u8> {
    let mut fragment = segments.to_le_bytes().to_vec();
    fragment.resize(len, 5);
    fragment
}

fn rle(frames: u32, offsets: Vec<u32>, fragments: Vec<Vec<u8>>) -> Vec<u8> {
    let mut object = image(4, frames);
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(offsets, fragments)),
    ));
    encode(&object, RLE)
}

/// The verdict reading whole, and scanning from memory and from a file past a header.
fn verdicts(bytes: &[u8], ts: &str) -> [Result<(), String>; 3] {
    let limits = Limits::strict(1 << 30);
    let whole = read_dataset(bytes, ts, &limits)
        .map_err(|e| e.to_string())
        .and_then(|o| check_pixel_data(&o, ts).map_err(|e| e.to_string()));
    let scan = |source: &mut dyn FnMut() -> Result<crate::Scanned, GuardError>| {
        source()
            .map_err(|e| e.to_string())
            .and_then(|s| s.check_pixel_data(ts).map_err(|e| e.to_string()))
    };
    let in_memory = scan(&mut || scan_dataset(Cursor::new(bytes), ts, &limits));
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"a header the scan must not read").unwrap();
    let start = file.stream_position().unwrap();
    file.write_all(bytes).unwrap();
    let from_file = scan(&mut || {
        file.seek(SeekFrom::Start(start)).unwrap();
        scan_dataset(std::io::BufReader::new(&file), ts, &limits)
    });
    [whole, in_memory, from_file]
}

fn assert_same(bytes: &[u8], ts: &str, expected: Result<(), &str>) {
    let expected = expected.map_err(str::to_owned);
    for (how, verdict) in ["whole", "scanned", "from a file"]
        .iter()
        .zip(verdicts(bytes, ts))
    {
        assert_eq!(verdict, expected, "{how}");
    }
}

#[test]
fn native_pixel_data_is_judged_alike_and_not_kept() {
    assert_same(&native(8, 2, 64), EXPLICIT_LE, Ok(()));
    assert_same(
        &native(8, 2, 32),
        EXPLICIT_LE,
        Err("pixel data too short: 32 of 64 bytes"),
    );
    assert_same(
        &native(8, 1, 66),
        EXPLICIT_LE,
        Err("pixel data too long: 66 of 32 bytes"),
    );
    let scanned = scan_dataset(
        Cursor::new(native(8, 2, 64)),
        EXPLICIT_LE,
        &Limits::strict(1 << 20),
    )
    .unwrap();
    let pixels = scanned.object.element(tags::PIXEL_DATA).unwrap();
    assert_eq!(pixels.value().primitive().unwrap().calculate_byte_len(), 0);
    assert_eq!(
        scanned
            .object
            .element(tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0'),
        "1.2.3.4"
    );
}

#[test]
fn encapsulated_pixel_data_is_judged_alike_from_fragment_lengths_and_heads() {
    let two = || vec![rle_fragment(1, 100), rle_fragment(1, 300)];
    assert_same(&rle(2, vec![], two()), RLE, Ok(()));
    // Offsets count each fragment's 8-byte item header: 0 and 108 are fragment starts.
    assert_same(&rle(2, vec![0, 108], two()), RLE, Ok(()));
    assert_same(
        &rle(2, vec![0, 100], two()),
        RLE,
        Err("offset table entry 1 is not at a fragment"),
    );
    assert_same(
        &rle(2, vec![], vec![rle_fragment(1, 100), rle_fragment(99, 300)]),
        RLE,
        Err("RLE fragment 1: invalid header"),
    );
    assert_same(
        &rle(3, vec![], two()),
        RLE,
        Err("2 pixel data fragments for 3 frames"),
    );
    let scanned = scan_dataset(
        Cursor::new(rle(2, vec![], two())),
        RLE,
        &Limits::strict(1 << 20),
    )
    .unwrap();
    let kept = scanned.object.element(tags::PIXEL_DATA).unwrap();
    let fragments = kept.value().fragments().unwrap();
    assert!(fragments.iter().all(|f| f.len() == 64), "only the heads");
}

#[test]
fn a_declared_length_past_the_end_is_refused_when_scanning_too() {
    let mut bytes = native(8, 1, 32);
    // Pixel Data's OW length field sits 4 bytes before its 32 value bytes.
    let at = bytes.len() - 32 - 4;
    bytes[at..at + 4].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
    let [whole, in_memory, from_file] = verdicts(&bytes, EXPLICIT_LE);
    for verdict in [whole, in_memory, from_file] {
        let error = verdict.unwrap_err();
        assert!(error.contains("declares 4294967280 bytes"), "{error}");
    }
}
