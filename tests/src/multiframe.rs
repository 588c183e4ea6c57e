//! A large, legitimate multi-frame object written straight to disk (the test process never
//! holds its pixel data): Multi-frame Grayscale Word Secondary Capture, 16-bit, native.

use std::io::{BufWriter, Write};
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

pub const MULTIFRAME_WORD_SC: &str = "1.2.840.10008.5.1.4.1.1.7.3";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Writes a Part 10 file of `frames` frames of `rows` x `columns` 16-bit pixels; returns
/// its size in bytes.
pub fn write_multiframe(
    path: &Path,
    uids: (&str, &str, &str),
    rows: u16,
    columns: u16,
    frames: u32,
) -> u64 {
    let (study, series, instance) = uids;
    let mut object = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::SOP_CLASS_UID, VR::UI, MULTIFRAME_WORD_SC.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, instance.into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, study.into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, series.into());
    put(tags::MODALITY, VR::CS, "OT".into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::NUMBER_OF_FRAMES, VR::IS, frames.to_string().into());
    put(tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(columns));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(12_u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11_u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    );
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(MULTIFRAME_WORD_SC)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(EXPLICIT_LE)
        .build()
        .unwrap();
    let mut file = BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&[0u8; 128]).unwrap();
    file.write_all(b"DICM").unwrap();
    meta.write(&mut file).unwrap();
    object
        .write_dataset_with_ts(&mut file, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    // Pixel Data (7FE0,0010) OW, its value streamed frame by frame.
    let frame: Vec<u8> = (0..u32::from(rows) * u32::from(columns))
        .flat_map(|i| ((i % 4096) as u16).to_le_bytes())
        .collect();
    let length = u32::try_from(frame.len() as u64 * u64::from(frames)).unwrap();
    file.write_all(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0])
        .unwrap();
    file.write_all(&length.to_le_bytes()).unwrap();
    for _ in 0..frames {
        file.write_all(&frame).unwrap();
    }
    file.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}
