//! A minimal C-STORE SCU over dicom-ul, for objects dcmtk refuses to send (non-DICOM
//! bytes, truncated data sets): the gateway must answer those with a failure status too.

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};

/// The C-STORE response: status and error comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub status: u16,
    pub comment: String,
}

/// Sends `dataset` (already encoded in `transfer_syntax`) as one C-STORE and returns the status.
pub fn store_raw(
    port: u16,
    sop_class: &str,
    sop_instance: &str,
    transfer_syntax: &str,
    dataset: &[u8],
) -> StoreStatus {
    let mut association = ClientAssociationOptions::new()
        .calling_ae_title(crate::gateway::SENDER_AE)
        .called_ae_title(crate::gateway::AE_TITLE)
        .with_presentation_context(sop_class, vec![transfer_syntax])
        .establish(("127.0.0.1", port))
        .expect("association accepted");
    let context = association
        .presentation_contexts()
        .first()
        .expect("presentation context accepted")
        .id;
    let command = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, sop_class),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [1])),
        DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [0x0000]),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, sop_instance),
        ),
    ]);
    let mut command_bytes = Vec::new();
    command
        .write_dataset_with_ts(&mut command_bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    let pdv = |value_type, is_last, data: Vec<u8>| PDataValue {
        presentation_context_id: context,
        value_type,
        is_last,
        data,
    };
    association
        .send(&Pdu::PData {
            data: vec![pdv(PDataValueType::Command, true, command_bytes)],
        })
        .unwrap();
    let chunk = 16_000;
    let pieces: Vec<&[u8]> = if dataset.is_empty() {
        vec![&[][..]]
    } else {
        dataset.chunks(chunk).collect()
    };
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        association
            .send(&Pdu::PData {
                data: vec![pdv(PDataValueType::Data, last, piece.to_vec())],
            })
            .unwrap();
    }
    let response = association.receive().expect("a C-STORE response");
    let Pdu::PData { data } = response else {
        panic!("expected P-DATA, got {response:?}");
    };
    let object = InMemDicomObject::read_dataset_with_ts(
        data[0].data.as_slice(),
        &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .unwrap();
    let status = object
        .element(tags::STATUS)
        .unwrap()
        .to_int::<u16>()
        .unwrap();
    let comment = object
        .element_opt(tags::ERROR_COMMENT)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_owned()))
        .unwrap_or_default();
    let _ = association.release();
    StoreStatus { status, comment }
}
