//! The gateway's reading of received bytes, without network, archive or index: PDUs as an
//! association reads them → DIMSE messages → command sets → data sets → ingest checks
//! (guarded parse, identity, pixel data against the image description). The same code the
//! SCP runs after negotiation; the fuzz target (`fuzz/fuzz_targets/gateway.rs`) drives it.

use dicom_ul::pdu::{Pdu, read_pdu};
use radraft_dicom_guard::Limits;

use crate::dimse::MAX_PDU_LENGTH;
use crate::dimse::assemble::{Assembler, Message};
use crate::ingest::{check_dataset, status};

/// Reads `stream` as the PDUs a peer sends on an association whose presentation contexts
/// all use `transfer_syntax`, and returns the DIMSE status each complete message would be
/// answered with (messages that get no answer are left out). Stops at the first PDU that
/// cannot be read.
pub fn replay(stream: &[u8], transfer_syntax: &str, max_instance_bytes: u64) -> Vec<u16> {
    let limits = Limits::strict(max_instance_bytes);
    let limit = usize::try_from(max_instance_bytes).unwrap_or(usize::MAX);
    let mut rest = stream;
    let mut assembler = Assembler::default();
    let mut statuses = Vec::new();
    while let Ok(Some(pdu)) = read_pdu(&mut rest, MAX_PDU_LENGTH, true) {
        let Pdu::PData { data } = pdu else {
            continue;
        };
        for value in data {
            let status = match assembler.take(value, limit) {
                None | Some(Message::Unreadable { .. } | Message::Unsupported { .. }) => continue,
                Some(Message::Echo { .. }) => status::SUCCESS,
                Some(Message::Store { data: Err(_), .. }) => status::OUT_OF_RESOURCES,
                Some(Message::Store { data: Ok(data), .. }) => {
                    match check_dataset(data, transfer_syntax, Some("INSPECT"), &limits) {
                        Ok(_) => status::SUCCESS,
                        Err(error) => error.dimse_status(),
                    }
                }
            };
            statuses.push(status);
        }
    }
    statuses
}

#[cfg(test)]
mod tests;
