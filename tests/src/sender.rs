//! A C-STORE SCU that sends many instances on one association and records the answer to
//! each, for the fault tests: what a sender was told is exactly what the gateway promised.
//! Unlike dcmsend it reports its progress while it sends, so a test can act after exactly
//! N successes, and it stops quietly (keeping what it was told) when the peer goes away.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};

use crate::gateway::{AE_TITLE, SENDER_AE};
use crate::scu::StoreStatus;

/// One instance to send: its SOP instance UID and its data set, already encoded in the
/// transfer syntax the sender proposes.
#[derive(Debug, Clone)]
pub struct Instance {
    pub sop_instance_uid: String,
    pub dataset: Vec<u8>,
}

/// What the sender was told: an answer per instance, in order, and why it stopped early.
#[derive(Debug, Default)]
pub struct Sent {
    pub answers: Vec<(String, StoreStatus)>,
    /// The transport error that ended the association before every instance was answered.
    pub broken: Option<String>,
}

impl Sent {
    /// The instances answered with status 0x0000.
    pub fn succeeded(&self) -> BTreeSet<String> {
        self.answers
            .iter()
            .filter(|(_, answer)| answer.status == 0x0000)
            .map(|(sop, _)| sop.clone())
            .collect()
    }
}

/// Counts the answers as they arrive, shared with the test that watches them.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    answers: Arc<AtomicUsize>,
    successes: Arc<AtomicUsize>,
}

impl Progress {
    pub fn answers(&self) -> usize {
        self.answers.load(Ordering::SeqCst)
    }

    pub fn successes(&self) -> usize {
        self.successes.load(Ordering::SeqCst)
    }

    /// Answers other than success.
    pub fn failures(&self) -> usize {
        // Successes are counted before answers, so this never overstates the failures.
        self.answers().saturating_sub(self.successes())
    }
}

/// Sends `instances` of `sop_class` in `transfer_syntax` to the gateway on `port`, one
/// C-STORE after another on a single association, each waiting for its answer (at most
/// `answer_timeout`). Stops at the first transport error.
pub fn send_all(
    port: u16,
    sop_class: &str,
    transfer_syntax: &str,
    instances: &[Instance],
    answer_timeout: Duration,
    progress: &Progress,
) -> Sent {
    let mut sent = Sent::default();
    let association = ClientAssociationOptions::new()
        .calling_ae_title(SENDER_AE)
        .called_ae_title(AE_TITLE)
        .with_presentation_context(sop_class, vec![transfer_syntax])
        .read_timeout(answer_timeout)
        .establish(("127.0.0.1", port));
    let mut association = match association {
        Ok(association) => association,
        Err(error) => {
            sent.broken = Some(format!("association: {error}"));
            return sent;
        }
    };
    let context = association
        .presentation_contexts()
        .first()
        .expect("presentation context accepted")
        .id;
    for (message_id, instance) in (1_u16..).zip(instances) {
        match store_one(&mut association, context, message_id, sop_class, instance) {
            Ok(answer) => {
                // Successes first: see `Progress::failures`.
                if answer.status == 0x0000 {
                    progress.successes.fetch_add(1, Ordering::SeqCst);
                }
                progress.answers.fetch_add(1, Ordering::SeqCst);
                sent.answers
                    .push((instance.sop_instance_uid.clone(), answer));
            }
            Err(error) => {
                sent.broken = Some(error);
                return sent;
            }
        }
    }
    let _ = association.release();
    sent
}

fn store_one(
    association: &mut dicom_ul::ClientAssociation<std::net::TcpStream>,
    context: u8,
    message_id: u16,
    sop_class: &str,
    instance: &Instance,
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
            dicom_value!(Str, instance.sop_instance_uid.as_str()),
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
    let send = |association: &mut dicom_ul::ClientAssociation<_>, value: PDataValue| {
        association
            .send(&Pdu::PData { data: vec![value] })
            .map_err(|e| format!("send: {e}"))
    };
    send(
        association,
        pdv(PDataValueType::Command, true, command_bytes),
    )?;
    // Pieces well under the 16 KiB PDU dicom-ul proposes by default.
    let pieces: Vec<&[u8]> = instance.dataset.chunks(16_000).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        send(association, pdv(PDataValueType::Data, last, piece.to_vec()))?;
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
