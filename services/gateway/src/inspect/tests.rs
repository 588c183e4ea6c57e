//! PDU streams through the gateway's reading path, answered as an association would be.
#![allow(clippy::unwrap_used, clippy::panic)]

use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::{
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, write_pdu};

use super::replay;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const LIMIT: u64 = 1 << 20;

/// A request command set; a data set follows it except for C-ECHO.
fn command(field: u16) -> Vec<u8> {
    let data_set_type: u16 = if field == 0x0030 { 0x0101 } else { 0 };
    let object = InMemDicomObject::command_from_element_iter([
        DataElement::new(tags::AFFECTED_SOP_CLASS_UID, VR::UI, dicom_value!(Str, CT)),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [field])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [1])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [data_set_type]),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, "1.2.3.4"),
        ),
    ]);
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// An 8x8 16-bit CT slice with `pixel_bytes` bytes of pixel data.
fn ct(pixel_bytes: usize) -> Vec<u8> {
    let mut object = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::SOP_CLASS_UID, VR::UI, CT.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4".into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3".into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.1".into());
    put(tags::ROWS, VR::US, PrimitiveValue::from(8_u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(8_u16));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16));
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(vec![0_u8; pixel_bytes]),
    );
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

fn pdu(value_type: PDataValueType, is_last: bool, data: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: 1,
            value_type,
            is_last,
            data,
        }],
    };
    write_pdu(&mut out, &pdu).unwrap();
    out
}

/// A C-STORE request with `dataset` sent in PDVs of at most 16,000 bytes (at least two).
fn store(dataset: &[u8]) -> Vec<u8> {
    let mut stream = pdu(PDataValueType::Command, true, command(0x0001));
    let chunk = (dataset.len() / 2).clamp(1, 16_000);
    let pieces: Vec<&[u8]> = dataset.chunks(chunk).collect();
    for (i, piece) in pieces.iter().enumerate() {
        stream.extend(pdu(
            PDataValueType::Data,
            i + 1 == pieces.len(),
            piece.to_vec(),
        ));
    }
    stream
}

#[test]
fn each_message_gets_the_status_the_association_would_answer() {
    let mut stream = pdu(PDataValueType::Command, true, command(0x0030));
    stream.extend(store(&ct(128)));
    stream.extend(store(&ct(64)));
    let mut huge = ct(0);
    huge.truncate(huge.len() - 12);
    huge.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xF0, 0xFF, 0xFF, 0xFF,
    ]);
    stream.extend(store(&huge));
    stream.extend(store(&vec![7_u8; (LIMIT + 1) as usize]));
    assert_eq!(
        replay(&stream, EXPLICIT_LE, LIMIT),
        [0x0000, 0x0000, 0xA900, 0xC000, 0xA700]
    );
}

#[test]
fn unsupported_requests_are_answered_after_their_data_set_and_stop_nothing() {
    // A C-FIND request and its identifier, then a store.
    let mut stream = pdu(PDataValueType::Command, true, command(0x0020));
    stream.extend(pdu(PDataValueType::Data, true, ct(0)));
    stream.extend(store(&ct(128)));
    assert_eq!(replay(&stream, EXPLICIT_LE, LIMIT), [0x0211, 0x0000]);
}

#[test]
fn an_unreadable_command_set_ends_the_association() {
    let mut lying = vec![0x00, 0x00, 0x00, 0x01];
    lying.extend_from_slice(&0x4000_0000_u32.to_le_bytes());
    let mut stream = pdu(PDataValueType::Command, true, command(0x0030));
    stream.extend(pdu(PDataValueType::Command, true, lying));
    stream.extend(store(&ct(128)));
    assert_eq!(replay(&stream, EXPLICIT_LE, LIMIT), [0x0000]);
    assert!(replay(&[0xFF; 3], EXPLICIT_LE, LIMIT).is_empty());
}
