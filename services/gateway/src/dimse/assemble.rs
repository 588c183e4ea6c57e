//! Turning the P-DATA values of an association into DIMSE events: a command set (bounded
//! by [`MAX_COMMAND_BYTES`]), then, when the command declares one, its data set. A
//! C-STORE data set is handed on PDV by PDV, never gathered here, so nothing grows with the
//! object. Synchronous and free of IO, so the fuzz target drives exactly the code an
//! association runs.

use dicom_ul::pdu::{PDataValue, PDataValueType};

use super::command::{
    self, C_CANCEL_RQ, C_ECHO_RQ, C_STORE_RQ, CommandError, MAX_COMMAND_BYTES, RESPONSE_BIT,
    Request,
};

/// What one PDV means for the association.
#[derive(Debug)]
pub(crate) enum Event {
    /// A complete message to answer now.
    Answer(Message),
    /// A C-STORE request whose data set follows in [`Event::Data`].
    StoreStarts { context_id: u8, request: Request },
    /// The next bytes of the C-STORE data set in progress; `last` completes it.
    Data { bytes: Vec<u8>, last: bool },
    /// The data set in progress outgrew the limit: whatever was kept of it can go. The
    /// rest is discarded as it arrives and the store answered [`Message::TooLarge`].
    Overflowed,
    /// A command that needs no answer: a response, or a C-CANCEL.
    Ignored { request: Request },
    /// The association cannot go on (nothing identifies a message to answer): abort it.
    Abort(Breach),
}

/// A complete message, ready to be answered.
#[derive(Debug)]
pub(crate) enum Message {
    Echo {
        context_id: u8,
        request: Request,
    },
    /// A request radraft does not perform, answered once its data set (if any) is in.
    Unsupported {
        context_id: u8,
        request: Request,
    },
    /// A C-STORE whose data set reached `size` bytes, past the limit.
    TooLarge {
        context_id: u8,
        request: Request,
        size: u64,
    },
    /// A C-STORE request declaring no data set.
    StoreWithoutData {
        context_id: u8,
        request: Request,
    },
}

/// Why the association must be aborted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Breach {
    #[error(transparent)]
    Unreadable(#[from] CommandError),
    #[error("command set over {MAX_COMMAND_BYTES} bytes")]
    CommandTooLong,
    #[error("data set fragment with no request expecting one")]
    UnexpectedData,
    #[error("data set fragment on presentation context {found}, its request came on {expected}")]
    OtherContext { expected: u8, found: u8 },
    #[error("command fragment before the data set in progress ended")]
    CommandDuringData,
}

/// Where the association stands between messages.
#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    /// A C-STORE's data set is arriving: `received` bytes so far.
    Storing {
        context_id: u8,
        request: Request,
        received: u64,
        oversized: bool,
    },
    /// The data set of a message answered without it is arriving, to be dropped.
    Discarding { context_id: u8, then: Message },
}

/// The message in progress.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    command: Vec<u8>,
    state: State,
}

impl Assembler {
    /// Takes one PDV; returns what it means, if anything yet. Data sets over `limit`
    /// bytes are refused once complete.
    pub(crate) fn take(&mut self, value: PDataValue, limit: u64) -> Option<Event> {
        match value.value_type {
            PDataValueType::Command => self.command(value),
            PDataValueType::Data => self.data(value, limit),
        }
    }

    fn command(&mut self, value: PDataValue) -> Option<Event> {
        if !matches!(self.state, State::Idle) {
            return Some(Event::Abort(Breach::CommandDuringData));
        }
        if self.command.len() + value.data.len() > MAX_COMMAND_BYTES {
            self.command = Vec::new();
            return Some(Event::Abort(Breach::CommandTooLong));
        }
        self.command.extend_from_slice(&value.data);
        if !value.is_last {
            return None;
        }
        let request = match command::parse_request(&std::mem::take(&mut self.command)) {
            Ok(request) => request,
            Err(error) => return Some(Event::Abort(error.into())),
        };
        let context_id = value.presentation_context_id;
        let then = match request.command_field {
            field if field & RESPONSE_BIT != 0 || field == C_CANCEL_RQ => {
                return Some(Event::Ignored { request });
            }
            C_STORE_RQ if request.has_data_set => {
                self.state = State::Storing {
                    context_id,
                    request: request.clone(),
                    received: 0,
                    oversized: false,
                };
                return Some(Event::StoreStarts {
                    context_id,
                    request,
                });
            }
            C_STORE_RQ => Message::StoreWithoutData {
                context_id,
                request,
            },
            C_ECHO_RQ => Message::Echo {
                context_id,
                request,
            },
            _ => Message::Unsupported {
                context_id,
                request,
            },
        };
        if message_request(&then).has_data_set {
            self.state = State::Discarding { context_id, then };
            return None;
        }
        Some(Event::Answer(then))
    }

    fn data(&mut self, value: PDataValue, limit: u64) -> Option<Event> {
        let found = value.presentation_context_id;
        let last = value.is_last;
        let event = match &mut self.state {
            State::Idle => return Some(Event::Abort(Breach::UnexpectedData)),
            State::Storing { context_id, .. } | State::Discarding { context_id, .. }
                if *context_id != found =>
            {
                let expected = *context_id;
                return Some(Event::Abort(Breach::OtherContext { expected, found }));
            }
            State::Discarding { .. } => None,
            State::Storing {
                received,
                oversized,
                ..
            } => {
                *received += value.data.len() as u64;
                if *oversized {
                    None
                } else if *received > limit {
                    *oversized = true;
                    Some(Event::Overflowed)
                } else {
                    Some(Event::Data {
                        bytes: value.data,
                        last,
                    })
                }
            }
        };
        if !last {
            return event;
        }
        match std::mem::take(&mut self.state) {
            State::Discarding { then, .. } => Some(Event::Answer(then)),
            State::Storing {
                context_id,
                request,
                received,
                oversized: true,
            } => Some(Event::Answer(Message::TooLarge {
                context_id,
                request,
                size: received,
            })),
            // The last piece within the limit: the Data event completes the store.
            State::Storing { .. } | State::Idle => event,
        }
    }
}

fn message_request(message: &Message) -> &Request {
    match message {
        Message::Echo { request, .. }
        | Message::Unsupported { request, .. }
        | Message::TooLarge { request, .. }
        | Message::StoreWithoutData { request, .. } => request,
    }
}

#[cfg(test)]
mod tests;
