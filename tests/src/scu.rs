//! A minimal C-STORE SCU over dicom-ul: one store per association for objects dcmtk refuses
//! to send (non-DICOM bytes, truncated data sets), which the gateway must answer with a
//! failure status too, and the single C-STORE exchange [`crate::sender`] repeats on one
//! association.

use std::net::TcpStream;
use std::time::Duration;

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use dicom_ul::{ClientAssociation, ClientAssociationOptions};

use crate::gateway::{AE_TITLE, SENDER_AE};

/// The C-STORE response: status and error comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub status: u16,
    pub comment: String,
}

/// An association with the gateway on `port` proposing `sop_class` in `transfer_syntax`,
/// each answer awaited at most `answer_timeout`; returns it with the accepted context's id.
pub fn associate(
    port: u16,
    sop_class: &str,
    transfer_syntax: &str,
    answer_timeout: Duration,
) -> Result<(ClientAssociation<TcpStream>, u8), String> {
    let association = ClientAssociationOptions::new()
        .calling_ae_title(SENDER_AE)
        .called_ae_title(AE_TITLE)
        .with_presentation_context(sop_class, vec![transfer_syntax])
        .read_timeout(answer_timeout)
        .establish(("127.0.0.1", port))
        .map_err(|e| format!("association: {e}"))?;
    let context = association
        .presentation_contexts()
        .first()
        .ok_or("no presentation context accepted")?
        .id;
    Ok((association, context))
}

/// Sends `dataset` (already encoded in `transfer_syntax`) as one C-STORE and returns the status.
pub fn store_raw(
    port: u16,
    sop_class: &str,
    sop_instance: &str,
    transfer_syntax: &str,
    dataset: &[u8],
) -> StoreStatus {
    let (mut association, context) =
        associate(port, sop_class, transfer_syntax, Duration::from_secs(60)).unwrap();
    let status = store_one(
        &mut association,
        context,
        1,
        sop_class,
        sop_instance,
        dataset,
    )
    .unwrap_or_else(|e| panic!("C-STORE of {sop_instance}: {e}"));
    let _ = association.release();
    status
}

/// One C-STORE on an open association: the command, the data set in PDVs of 16,000 bytes
/// (one empty PDV for an empty data set), then the response read back. A transport error
/// or an unreadable response is an `Err` with what failed.
pub fn store_one(
    association: &mut ClientAssociation<TcpStream>,
    context: u8,
    message_id: u16,
    sop_class: &str,
    sop_instance: &str,
    dataset: &[u8],
) -> Result<StoreStatus, String> {
    let command = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, sop_class),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [message_id])),
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
        .map_err(|e| format!("command set: {e}"))?;
    let mut send = |value_type, is_last, data: Vec<u8>| {
        let value = PDataValue {
            presentation_context_id: context,
            value_type,
            is_last,
            data,
        };
        association
            .send(&Pdu::PData { data: vec![value] })
            .map_err(|e| format!("send: {e}"))
    };
    send(PDataValueType::Command, true, command_bytes)?;
    // Pieces well under the 16 KiB PDU dicom-ul proposes by default.
    let pieces: Vec<&[u8]> = if dataset.is_empty() {
        vec![&[][..]]
    } else {
        dataset.chunks(16_000).collect()
    };
    for (i, piece) in pieces.iter().enumerate() {
        send(PDataValueType::Data, i + 1 == pieces.len(), piece.to_vec())?;
    }
    let response = association.receive().map_err(|e| format!("receive: {e}"))?;
    let Pdu::PData { data } = response else {
        return Err(format!("expected P-DATA, got {response:?}"));
    };
    let object = InMemDicomObject::read_dataset_with_ts(
        data[0].data.as_slice(),
        &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .map_err(|e| format!("response command set: {e}"))?;
    let status = object
        .element(tags::STATUS)
        .map_err(|e| format!("no status: {e}"))?
        .to_int::<u16>()
        .map_err(|e| format!("status: {e}"))?;
    let comment = object
        .element_opt(tags::ERROR_COMMENT)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_owned()))
        .unwrap_or_default();
    Ok(StoreStatus { status, comment })
}
