//! DIMSE command sets: reading requests and writing their responses (C-STORE, C-ECHO, and
//! "unrecognized operation" for the rest). Command sets are always encoded in Implicit VR
//! Little Endian (PS3.7 §6.3.1).

use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

pub(crate) const C_STORE_RQ: u16 = 0x0001;
pub(crate) const C_ECHO_RQ: u16 = 0x0030;
/// C-CANCEL-RQ: answered by the operation it cancels, never by a response of its own.
pub(crate) const C_CANCEL_RQ: u16 = 0x0FFF;
/// Set in the command field of every response (PS3.7 E.1).
pub(crate) const RESPONSE_BIT: u16 = 0x8000;
const C_STORE_RSP: u16 = 0x8001;
const C_ECHO_RSP: u16 = 0x8030;
/// Status "refused: unrecognized operation" (PS3.7 C.5.3), for the requests radraft does
/// not perform (C-FIND, C-GET, C-MOVE, N-*).
pub(crate) const UNRECOGNIZED_OPERATION: u16 = 0x0211;
/// The largest command set accepted. Real ones are a few hundred bytes; one that grows
/// past this aborts the association instead of growing a buffer without end.
pub(crate) const MAX_COMMAND_BYTES: usize = 64 << 10;
/// CommandDataSetType value meaning "no data set follows".
const NO_DATA_SET: u16 = 0x0101;
/// ErrorComment is LO: at most 64 characters.
const MAX_ERROR_COMMENT: usize = 64;

/// The parts of a request command the SCP needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub command_field: u16,
    pub message_id: u16,
    /// Affected SOP Class UID, or for N-* requests the Requested SOP Class UID.
    pub sop_class_uid: String,
    /// Affected SOP Instance UID, or for N-* requests the Requested SOP Instance UID.
    pub sop_instance_uid: String,
    /// Whether a data set follows the command (CommandDataSetType other than 0101H).
    pub has_data_set: bool,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    #[error("could not read DIMSE command: {0}")]
    Read(String),
    #[error("DIMSE command lacks {0}")]
    Missing(&'static str),
    #[error("could not write DIMSE command: {0}")]
    Write(String),
}

/// Reads a request's command set through the guarded reader: a command element declaring
/// more bytes than the command holds is refused before anything is allocated for it.
pub(crate) fn parse_request(bytes: &[u8]) -> Result<Request, CommandError> {
    let object =
        radraft_dicom_guard::read_command(bytes).map_err(|e| CommandError::Read(e.to_string()))?;
    let u16_of = |tag, name| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or(CommandError::Missing(name))
    };
    let str_of = |tag| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .filter(|s| !s.is_empty())
    };
    let command_field = u16_of(tags::COMMAND_FIELD, "CommandField")?;
    // Responses carry MessageIDBeingRespondedTo instead; radraft sends no requests, so a
    // response is only ever logged and ignored, whatever it holds.
    let message_id = if command_field & RESPONSE_BIT == 0 {
        u16_of(tags::MESSAGE_ID, "MessageID")?
    } else {
        u16_of(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            "MessageIDBeingRespondedTo",
        )
        .unwrap_or(0)
    };
    Ok(Request {
        command_field,
        message_id,
        sop_class_uid: str_of(tags::AFFECTED_SOP_CLASS_UID)
            .or_else(|| str_of(tags::REQUESTED_SOP_CLASS_UID))
            .unwrap_or_default(),
        sop_instance_uid: str_of(tags::AFFECTED_SOP_INSTANCE_UID)
            .or_else(|| str_of(tags::REQUESTED_SOP_INSTANCE_UID))
            .unwrap_or_default(),
        has_data_set: u16_of(tags::COMMAND_DATA_SET_TYPE, "CommandDataSetType")
            .is_ok_and(|kind| kind != NO_DATA_SET),
    })
}

/// The elements every response carries: command field, message id, no data set, status.
fn response_elements(
    command_field: u16,
    request: &Request,
    status: u16,
) -> Vec<DataElement<InMemDicomObject>> {
    vec![
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            dicom_value!(U16, [command_field]),
        ),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [request.message_id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [NO_DATA_SET]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [status])),
    ]
}

pub(crate) fn store_response(
    request: &Request,
    status: u16,
    error_comment: Option<&str>,
) -> Result<Vec<u8>, CommandError> {
    let mut elements = response_elements(C_STORE_RSP, request, status);
    elements.push(DataElement::new(
        tags::AFFECTED_SOP_CLASS_UID,
        VR::UI,
        dicom_value!(Str, request.sop_class_uid.as_str()),
    ));
    elements.push(DataElement::new(
        tags::AFFECTED_SOP_INSTANCE_UID,
        VR::UI,
        dicom_value!(Str, request.sop_instance_uid.as_str()),
    ));
    if let Some(comment) = error_comment {
        let comment: String = comment
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(MAX_ERROR_COMMENT)
            .collect();
        elements.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(comment),
        ));
    }
    encode(InMemDicomObject::command_from_element_iter(elements))
}

/// The response to a request radraft does not perform: its command field with the
/// response bit, the same message ID and SOP class (and instance, for N-* requests),
/// status [`UNRECOGNIZED_OPERATION`].
pub(crate) fn unrecognized_response(request: &Request) -> Result<Vec<u8>, CommandError> {
    let field = request.command_field | RESPONSE_BIT;
    let mut elements = response_elements(field, request, UNRECOGNIZED_OPERATION);
    for (tag, value) in [
        (tags::AFFECTED_SOP_CLASS_UID, &request.sop_class_uid),
        (tags::AFFECTED_SOP_INSTANCE_UID, &request.sop_instance_uid),
    ] {
        if !value.is_empty() {
            elements.push(DataElement::new(
                tag,
                VR::UI,
                dicom_value!(Str, value.as_str()),
            ));
        }
    }
    encode(InMemDicomObject::command_from_element_iter(elements))
}

pub(crate) fn echo_response(request: &Request) -> Result<Vec<u8>, CommandError> {
    encode(InMemDicomObject::command_from_element_iter(
        response_elements(C_ECHO_RSP, request, 0x0000),
    ))
}

fn encode(object: InMemDicomObject) -> Result<Vec<u8>, CommandError> {
    let mut bytes = Vec::with_capacity(256);
    object
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| CommandError::Write(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_response_round_trips_through_the_request_parser() {
        let request = Request {
            command_field: C_STORE_RQ,
            message_id: 7,
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: "1.2.3.4".into(),
            has_data_set: true,
        };
        let bytes = store_response(&request, 0xA700, Some("too big ü")).unwrap();
        let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
        let object = InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), &ts).unwrap();
        assert_eq!(
            object
                .element(tags::STATUS)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            0xA700
        );
        assert_eq!(
            object
                .element(tags::MESSAGE_ID_BEING_RESPONDED_TO)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            7
        );
        assert_eq!(
            object
                .element(tags::ERROR_COMMENT)
                .unwrap()
                .to_str()
                .unwrap()
                .trim(),
            "too big"
        );
        assert!(
            object.element(tags::COMMAND_GROUP_LENGTH).is_ok(),
            "group length is written"
        );
    }
}
