//! An established association, PDU by PDU until it ends: every request is answered (C-ECHO,
//! C-STORE, and "unrecognized operation" for the rest), a C-STORE data set goes to a spool
//! file as it arrives, a peer silent past the idle timeout and a protocol breach with no
//! message to answer are aborted (A-ABORT), each logged with the peer.

use std::net::SocketAddr;
use std::sync::Arc;

use dicom_ul::association::{Association, AsyncServerAssociation};
use dicom_ul::pdu::Pdu;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tracing::{Span, debug, info, warn};

use super::DimseContext;
use super::assemble::{Assembler, Event, Message};
use super::command::Request;
use super::negotiation::log_refused_contexts;
use super::reply::{Reply, store_reply};
use crate::ingest::{IncomingDataset, IngestError, Origin, Source};

/// Who is on the other end, for every log line about what they sent.
pub(super) struct Peer {
    pub addr: SocketAddr,
    pub calling_ae: String,
}

/// The C-STORE whose data set is arriving.
struct Receiving {
    context_id: u8,
    request: Request,
    /// The spool file it goes to, or why it cannot be stored (the rest is then read and
    /// dropped, and the store answered with that failure).
    data: Result<IncomingDataset, IngestError>,
}

/// Whether the association goes on after an event.
enum Flow {
    Continue,
    /// It ended (the response could not be sent).
    End,
    /// It must be aborted.
    Abort,
}

/// Answers the requests of an established association until it ends.
pub(super) async fn converse<S>(
    mut association: AsyncServerAssociation<S>,
    addr: SocketAddr,
    context: Arc<DimseContext>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer = Peer {
        addr,
        calling_ae: association.peer_ae_title().trim().to_owned(),
    };
    Span::current().record("calling_ae", peer.calling_ae.as_str());
    log_refused_contexts(association.presentation_contexts(), addr, &peer.calling_ae);
    let mut talk = Talk {
        context: &context,
        origin: Origin {
            source: Source::Dimse,
            calling_ae: Some(peer.calling_ae.clone()),
        },
        peer,
        receiving: None,
    };
    let limit = context.ingestor.max_instance_bytes();
    let idle = context.admission.limits.idle_timeout;
    let mut assembler = Assembler::default();
    loop {
        let pdu = tokio::select! {
            pdu = tokio::time::timeout(idle, association.receive()) => pdu,
            () = shutdown.cancelled() => {
                let _ = association.abort().await;
                return;
            }
        };
        let Ok(pdu) = pdu else {
            warn!(
                peer = %talk.peer.addr,
                calling_ae = ?talk.peer.calling_ae,
                idle_ms = idle.as_millis(),
                "association idle past the timeout; aborted"
            );
            let _ = association.abort().await;
            return;
        };
        match pdu {
            Ok(Pdu::PData { data }) => {
                for value in data {
                    let Some(event) = assembler.take(value, limit) else {
                        continue;
                    };
                    match talk.handle(event, &mut association).await {
                        Flow::Continue => {}
                        Flow::End => return,
                        Flow::Abort => {
                            let _ = association.abort().await;
                            return;
                        }
                    }
                }
            }
            Ok(Pdu::ReleaseRQ) => {
                let _ = association.send(&Pdu::ReleaseRP).await;
                debug!("association released");
                return;
            }
            Ok(Pdu::AbortRQ { source }) => {
                info!(?source, "association aborted by peer");
                return;
            }
            Ok(other) => debug!(pdu = %other.short_description(), "ignoring unexpected PDU"),
            Err(error) => {
                info!(%error, "association ended");
                return;
            }
        }
    }
}

/// One association's side of the conversation.
struct Talk<'a> {
    context: &'a DimseContext,
    origin: Origin,
    peer: Peer,
    receiving: Option<Receiving>,
}

impl Talk<'_> {
    async fn handle<S>(&mut self, event: Event, association: &mut AsyncServerAssociation<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let reply = match event {
            Event::StoreStarts {
                context_id,
                request,
            } => {
                let transfer_syntax = transfer_syntax_of(association, context_id);
                let data = self
                    .context
                    .ingestor
                    .receive_dataset(
                        &request.sop_class_uid,
                        &request.sop_instance_uid,
                        &transfer_syntax,
                        &self.origin,
                    )
                    .await;
                self.receiving = Some(Receiving {
                    context_id,
                    request,
                    data,
                });
                return Flow::Continue;
            }
            Event::Data { bytes, last } => {
                let Some(mut receiving) = self.receiving.take() else {
                    return Flow::Continue;
                };
                receiving.data = match receiving.data {
                    Ok(incoming) => incoming.append(bytes).await,
                    failed => failed,
                };
                if !last {
                    self.receiving = Some(receiving);
                    return Flow::Continue;
                }
                let result = match receiving.data {
                    Ok(incoming) => {
                        self.context
                            .ingestor
                            .ingest_received(incoming, &self.origin)
                            .await
                    }
                    Err(error) => Err(error),
                };
                Reply::new(
                    receiving.context_id,
                    store_reply(&receiving.request, result, &self.peer),
                )
            }
            Event::Overflowed => {
                // Dropping the spool removes its file; the refusal is sent at the end.
                self.receiving = None;
                return Flow::Continue;
            }
            Event::Answer(message) => self.answer(message),
            Event::Ignored { request } => {
                info!(peer = %self.peer.addr, command_field = request.command_field, "DIMSE command needing no answer ignored");
                return Flow::Continue;
            }
            Event::Abort(breach) => {
                warn!(
                    peer = %self.peer.addr,
                    calling_ae = ?self.peer.calling_ae,
                    %breach,
                    "DIMSE protocol breach; association aborted"
                );
                self.receiving = None;
                return Flow::Abort;
            }
        };
        match reply.send(association).await {
            Ok(()) => Flow::Continue,
            Err(error) => {
                warn!(peer = %self.peer.addr, %error, "could not send DIMSE response");
                Flow::End
            }
        }
    }

    fn answer(&mut self, message: Message) -> Reply {
        match message {
            Message::Echo {
                context_id,
                request,
            } => Reply::echo(context_id, &request),
            Message::Unsupported {
                context_id,
                request,
            } => {
                warn!(
                    peer = %self.peer.addr,
                    calling_ae = ?self.peer.calling_ae,
                    command_field = format_args!("{:#06x}", request.command_field),
                    "unsupported DIMSE request answered: unrecognized operation"
                );
                Reply::unrecognized(context_id, &request)
            }
            Message::TooLarge {
                context_id,
                request,
                size,
            } => {
                self.receiving = None;
                let limit = self.context.ingestor.max_instance_bytes();
                let error = IngestError::TooLarge { size, limit };
                Reply::new(context_id, store_reply(&request, Err(error), &self.peer))
            }
            Message::StoreWithoutData {
                context_id,
                request,
            } => {
                let error = IngestError::NotDicom {
                    reason: "C-STORE request without a data set".into(),
                };
                Reply::new(context_id, store_reply(&request, Err(error), &self.peer))
            }
        }
    }
}

/// The transfer syntax negotiated for a presentation context.
fn transfer_syntax_of<S>(association: &AsyncServerAssociation<S>, context_id: u8) -> String {
    association
        .presentation_contexts()
        .iter()
        .find(|pc| pc.id == context_id)
        .map(|pc| pc.transfer_syntax.clone())
        .unwrap_or_default()
}
