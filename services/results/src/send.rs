//! C-STORE of a Part 10 object (the SR) to a PACS over dicom-ul. Blocking: call it from a
//! thread or `tokio::task::spawn_blocking`. One association per object, released after the
//! response, so a PACS restart between sends costs nothing.
//!
//! Failures are sorted by what a retry can change: transport trouble and "out of
//! resources" are transient; a refused object or SOP class stays refused until someone
//! changes the object or the PACS.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex as _, TransferSyntaxRegistry};
use dicom_ul::association::Error as AssociationError;
use dicom_ul::pdu::{AssociationRJResult, PDataValue, PDataValueType};
use dicom_ul::{ClientAssociation, ClientAssociationOptions, Pdu};

/// Where results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacsTarget {
    /// `host:port`.
    pub addr: String,
    pub called_ae: String,
    pub calling_ae: String,
    /// Limit for connecting and for each read and write.
    pub timeout: Duration,
}

/// The PACS stored the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored,
    /// Stored, with a warning status (e.g. 0xB000 coercion of data elements).
    StoredWithWarning {
        status: u16,
        comment: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connecting, associating or talking to the PACS failed: try again later.
    #[error("PACS unreachable: {0}")]
    Unreachable(String),
    /// The PACS permanently rejected the association, or accepted none of the proposed
    /// presentation contexts (it does not take this SOP class): retrying will not help
    /// until the PACS is configured differently.
    #[error("PACS did not accept the association: {0}")]
    NotAccepted(String),
    /// The PACS answered the C-STORE with a failure status.
    #[error("PACS refused the object with status {status:#06X}: {comment}")]
    Refused { status: u16, comment: String },
    /// The object could not be encoded for sending.
    #[error("could not encode the object: {0}")]
    Encode(String),
}

impl SendError {
    /// Whether the same send may succeed later. Out of resources (0xA7xx) is the one
    /// failure status that says "later"; every other failure status is about the object.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Refused { status, .. } => status & 0xFF00 == 0xA700,
            Self::NotAccepted(_) | Self::Encode(_) => false,
        }
    }
}

/// Sends `object` with one C-STORE and returns how the PACS answered.
pub fn store(
    target: &PacsTarget,
    object: &FileDicomObject<InMemDicomObject>,
) -> Result<StoreOutcome, SendError> {
    let sop_class = trim_uid(object.meta().media_storage_sop_class_uid()).to_owned();
    let sop_instance = trim_uid(object.meta().media_storage_sop_instance_uid()).to_owned();
    let mut association = ClientAssociationOptions::new()
        .calling_ae_title(target.calling_ae.as_str())
        .called_ae_title(target.called_ae.as_str())
        .with_presentation_context(
            sop_class.as_str(),
            vec![
                uids::EXPLICIT_VR_LITTLE_ENDIAN,
                uids::IMPLICIT_VR_LITTLE_ENDIAN,
            ],
        )
        .connection_timeout(target.timeout)
        .read_timeout(target.timeout)
        .write_timeout(target.timeout)
        .establish(target.addr.as_str())
        .map_err(association_error)?;
    match exchange(&mut association, object, &sop_class, &sop_instance) {
        Ok(response) => {
            // The answer is in; a failed release does not change it.
            let _ = association.release();
            outcome(response)
        }
        Err(error) => {
            let _ = association.abort();
            Err(error)
        }
    }
}

/// The C-STORE response: status and error comment.
struct Response {
    status: u16,
    comment: String,
}

fn exchange(
    association: &mut ClientAssociation<TcpStream>,
    object: &FileDicomObject<InMemDicomObject>,
    sop_class: &str,
    sop_instance: &str,
) -> Result<Response, SendError> {
    let context = association
        .presentation_contexts()
        .first()
        .cloned()
        .ok_or_else(|| SendError::NotAccepted("no presentation context accepted".into()))?;
    let ts = TransferSyntaxRegistry
        .get(&context.transfer_syntax)
        .ok_or_else(|| SendError::Encode(format!("transfer syntax {}", context.transfer_syntax)))?;
    let mut dataset = Vec::new();
    object
        .write_dataset_with_ts(&mut dataset, ts)
        .map_err(|error| SendError::Encode(error.to_string()))?;

    let command = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, sop_class),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [1])),
        DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0x0000])),
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
        .map_err(|error| SendError::Encode(error.to_string()))?;
    association
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context.id,
                value_type: PDataValueType::Command,
                is_last: true,
                data: command_bytes,
            }],
        })
        .map_err(transport)?;
    // The writer splits the data set into PDUs of the size the PACS accepts.
    let mut writer = association.send_pdata(context.id);
    writer.write_all(&dataset).map_err(transport)?;
    writer.finish().map_err(transport)?;
    receive_response(association)
}

/// Reads PDUs until the C-STORE response command is complete.
fn receive_response(association: &mut ClientAssociation<TcpStream>) -> Result<Response, SendError> {
    let mut command = Vec::new();
    loop {
        match association.receive().map_err(transport)? {
            Pdu::PData { data } => {
                for value in data {
                    if value.value_type != PDataValueType::Command {
                        continue;
                    }
                    command.extend_from_slice(&value.data);
                    if value.is_last {
                        return parse_response(&command);
                    }
                }
            }
            Pdu::AbortRQ { source } => {
                return Err(SendError::Unreachable(format!("PACS aborted: {source:?}")));
            }
            other => {
                return Err(SendError::Unreachable(format!("unexpected PDU: {other:?}")));
            }
        }
    }
}

fn parse_response(bytes: &[u8]) -> Result<Response, SendError> {
    let garbled = |what: &str| SendError::Unreachable(format!("garbled C-STORE response: {what}"));
    let command =
        InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .map_err(|error| garbled(&error.to_string()))?;
    let status = command
        .get(tags::STATUS)
        .ok_or_else(|| garbled("no status"))?
        .to_int::<u16>()
        .map_err(|error| garbled(&error.to_string()))?;
    let comment = command
        .get(tags::ERROR_COMMENT)
        .and_then(|element| element.to_str().ok())
        .map(|comment| comment.trim_end_matches([' ', '\0']).to_owned())
        .unwrap_or_default();
    Ok(Response { status, comment })
}

/// Success, warning (stored all the same), or failure.
fn outcome(Response { status, comment }: Response) -> Result<StoreOutcome, SendError> {
    match status {
        0x0000 => Ok(StoreOutcome::Stored),
        0x0001 | 0xB000 | 0xB006 | 0xB007 => {
            Ok(StoreOutcome::StoredWithWarning { status, comment })
        }
        _ => Err(SendError::Refused { status, comment }),
    }
}

fn association_error(error: AssociationError) -> SendError {
    match &error {
        AssociationError::Rejected { association_rj, .. }
            if association_rj.result == AssociationRJResult::Permanent =>
        {
            SendError::NotAccepted(format!("{error}: {:?}", association_rj.source))
        }
        AssociationError::NoAcceptedPresentationContexts { .. } => {
            SendError::NotAccepted(error.to_string())
        }
        _ => transport(error),
    }
}

/// Transport failures, with the cause chain (dicom-ul's top-level messages say only
/// "failed to send pdu").
fn transport(error: impl std::error::Error) -> SendError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SendError::Unreachable(message)
}

fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Response {
        Response {
            status,
            comment: "why".into(),
        }
    }

    #[test]
    fn warnings_count_as_stored() {
        for status in [0x0001, 0xB000, 0xB006, 0xB007] {
            assert!(matches!(
                outcome(response(status)),
                Ok(StoreOutcome::StoredWithWarning { .. })
            ));
        }
        assert_eq!(outcome(response(0)).ok(), Some(StoreOutcome::Stored));
    }

    #[test]
    fn only_out_of_resources_and_transport_are_transient() {
        let refused = |status| outcome(response(status)).unwrap_err();
        assert!(refused(0xA700).is_transient());
        assert!(refused(0xA7FF).is_transient());
        for status in [0xA900, 0xC000, 0x0110, 0x0122, 0x0124] {
            assert!(!refused(status).is_transient(), "{status:#06X}");
        }
        assert!(SendError::Unreachable("down".into()).is_transient());
        assert!(!SendError::NotAccepted("no SR".into()).is_transient());
    }
}
