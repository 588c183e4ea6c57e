//! The gateway's reading of received bytes, without network, archive or index: PDUs as an
//! association reads them → DIMSE messages → command sets → data sets → ingest checks
//! (guarded parse, identity, pixel data against the image description). The same code the
//! SCP runs after negotiation; the fuzz target (`fuzz/fuzz_targets/gateway.rs`) drives it.

use dicom_ul::pdu::{Pdu, read_pdu};
use radraft_dicom_guard::Limits;

use crate::dimse::MAX_PDU_LENGTH;
use crate::dimse::assemble::{Assembler, Event, Message};
use crate::dimse::command::UNRECOGNIZED_OPERATION;
use crate::ingest::{check_dataset, status};

/// Reads `stream` as the PDUs a peer sends on an association whose presentation contexts
/// all use `transfer_syntax`, and returns the DIMSE status each complete message would be
/// answered with. Stops at the first PDU that cannot be read and where the association
/// would be aborted (an unreadable command set, a protocol breach).
pub fn replay(stream: &[u8], transfer_syntax: &str, max_instance_bytes: u64) -> Vec<u16> {
    let limits = Limits::strict(max_instance_bytes);
    let mut rest = stream;
    let mut assembler = Assembler::default();
    // The data set in progress: the association spools it to a file, here it is kept
    // (the assembler bounds it by the limit).
    let mut dataset: Option<Vec<u8>> = None;
    let mut statuses = Vec::new();
    while let Ok(Some(pdu)) = read_pdu(&mut rest, MAX_PDU_LENGTH, true) {
        let Pdu::PData { data } = pdu else {
            continue;
        };
        for value in data {
            let status = match assembler.take(value, max_instance_bytes) {
                None | Some(Event::Ignored { .. }) => continue,
                Some(Event::Abort(_)) => return statuses,
                Some(Event::StoreStarts { .. }) => {
                    dataset = Some(Vec::new());
                    continue;
                }
                Some(Event::Overflowed) => {
                    dataset = None;
                    continue;
                }
                Some(Event::Data { bytes, last }) => {
                    let Some(held) = dataset.as_mut() else {
                        continue;
                    };
                    held.extend_from_slice(&bytes);
                    if !last {
                        continue;
                    }
                    let held = dataset.take().unwrap_or_default();
                    match check_dataset(&held, transfer_syntax, &limits) {
                        Ok(_) => status::SUCCESS,
                        Err(error) => error.dimse_status(),
                    }
                }
                Some(Event::Answer(message)) => match message {
                    Message::Echo { .. } => status::SUCCESS,
                    Message::Unsupported { .. } => UNRECOGNIZED_OPERATION,
                    Message::TooLarge { .. } => status::OUT_OF_RESOURCES,
                    Message::StoreWithoutData { .. } => status::CANNOT_UNDERSTAND,
                },
            };
            statuses.push(status);
        }
    }
    statuses
}

#[cfg(test)]
mod tests;
