//! Turning the P-DATA values of an association into DIMSE messages: a command set, then
//! (for C-STORE) its data set, each possibly spread over many PDVs. Synchronous and free of
//! IO, so the fuzz target drives exactly the code an association runs.

use dicom_ul::pdu::{PDataValue, PDataValueType};

use super::command::{self, C_ECHO_RQ, C_STORE_RQ, CommandError, Request};

/// A complete message, ready to be answered (or reported).
#[derive(Debug)]
pub(crate) enum Message {
    Echo {
        context_id: u8,
        request: Request,
    },
    /// A C-STORE request and its data set, or the size the data set reached past the limit
    /// (the rest was discarded as it arrived).
    Store {
        context_id: u8,
        request: Request,
        data: Result<Vec<u8>, usize>,
    },
    /// A command set that could not be read.
    Unreadable {
        error: CommandError,
    },
    /// A command radraft does not perform.
    Unsupported {
        request: Request,
    },
}

/// What has arrived of the message in progress.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    command: Vec<u8>,
    request: Option<Request>,
    data: Vec<u8>,
    /// Set once the data set outgrew the limit; the rest is discarded, then refused.
    oversized_at: Option<usize>,
}

impl Assembler {
    /// Takes one PDV; returns the message it completes, if any. Data sets over `limit`
    /// bytes are not kept.
    pub(crate) fn take(&mut self, value: PDataValue, limit: usize) -> Option<Message> {
        let context_id = value.presentation_context_id;
        match value.value_type {
            PDataValueType::Command => {
                self.command.extend_from_slice(&value.data);
                if !value.is_last {
                    return None;
                }
                let request = match command::parse_request(&std::mem::take(&mut self.command)) {
                    Ok(request) => request,
                    Err(error) => return Some(Message::Unreadable { error }),
                };
                match request.command_field {
                    C_ECHO_RQ => Some(Message::Echo {
                        context_id,
                        request,
                    }),
                    C_STORE_RQ => {
                        self.request = Some(request);
                        self.data.clear();
                        self.oversized_at = None;
                        None
                    }
                    _ => Some(Message::Unsupported { request }),
                }
            }
            PDataValueType::Data => {
                self.append(value.data, limit);
                if !value.is_last {
                    return None;
                }
                let request = self.request.take()?;
                let data = match self.oversized_at.take() {
                    Some(size) => Err(size),
                    None => Ok(std::mem::take(&mut self.data)),
                };
                Some(Message::Store {
                    context_id,
                    request,
                    data,
                })
            }
        }
    }

    fn append(&mut self, data: Vec<u8>, limit: usize) {
        if let Some(size) = self.oversized_at.as_mut() {
            *size += data.len();
        } else if self.data.len() + data.len() > limit {
            self.oversized_at = Some(self.data.len() + data.len());
            self.data = Vec::new();
        } else if self.data.is_empty() {
            self.data = data;
        } else {
            self.data.extend_from_slice(&data);
        }
    }
}
