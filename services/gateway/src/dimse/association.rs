//! One association: negotiate, then answer C-ECHO and C-STORE requests until release.
//! Every refusal is logged with its reason, the peer's address and its AE title.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dicom_ul::association::Association;
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use radraft_core::{sop_class, transfer_syntax};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{Span, debug, info, warn};

use super::assemble::{Assembler, Message};
use super::command::{self, Request};
use super::negotiation::{AllowList, log_refused_contexts};
use super::{DimseContext, MAX_PDU_LENGTH};
use crate::ingest::{IngestError, Origin, Source, status};

/// The Verification SOP class, for C-ECHO.
const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Who is on the other end, for every log line about what they sent.
struct Peer {
    addr: SocketAddr,
    calling_ae: String,
}

pub(super) async fn run(
    stream: TcpStream,
    context: Arc<DimseContext>,
    shutdown: CancellationToken,
) {
    let addr = match stream.peer_addr() {
        Ok(addr) => addr,
        Err(error) => {
            info!(%error, "connection closed before negotiation");
            return;
        }
    };
    let refused = Arc::new(AtomicBool::new(false));
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(AllowList {
            allowed: context.allowed_calling_aes.clone(),
            peer: addr,
            refused: Arc::clone(&refused),
        })
        .ae_title(context.ae_title.as_str())
        .max_pdu_length(MAX_PDU_LENGTH)
        .with_abstract_syntax(VERIFICATION);
    for class in sop_class::ACCEPTED {
        options = options.with_abstract_syntax(class.uid);
    }
    for (uid, _) in transfer_syntax::DECODABLE {
        options = options.with_transfer_syntax(*uid);
    }
    let mut association = match options.establish_async(stream).await {
        Ok(association) => association,
        // Refused by the AE check, which logged who and why already.
        Err(_) if refused.load(Ordering::Relaxed) => return,
        // Refused by dicom-ul itself (protocol version, application context).
        Err(error @ dicom_ul::association::Error::Rejected { .. }) => {
            warn!(peer = %addr, %error, "association refused");
            return;
        }
        Err(error) => {
            info!(peer = %addr, %error, "association failed to establish");
            return;
        }
    };
    let peer = Peer {
        addr,
        calling_ae: association.peer_ae_title().trim().to_owned(),
    };
    Span::current().record("calling_ae", peer.calling_ae.as_str());
    log_refused_contexts(
        association.presentation_contexts(),
        peer.addr,
        &peer.calling_ae,
    );
    let origin = Origin {
        source: Source::Dimse,
        calling_ae: Some(peer.calling_ae.clone()),
    };
    let limit = context.ingestor.max_instance_bytes() as usize;
    let mut incoming = Assembler::default();
    loop {
        let pdu = tokio::select! {
            pdu = association.receive() => pdu,
            () = shutdown.cancelled() => {
                let _ = association.abort().await;
                return;
            }
        };
        match pdu {
            Ok(Pdu::PData { data }) => {
                for value in data {
                    let Some(message) = incoming.take(value, limit) else {
                        continue;
                    };
                    let Some(reply) = answer(message, &context, &origin, &peer, &association).await
                    else {
                        continue;
                    };
                    if let Err(error) = association.send(&reply).await {
                        warn!(%error, "could not send DIMSE response");
                        return;
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

/// The response PDU to a complete message, if it gets one.
async fn answer<S>(
    message: Message,
    context: &DimseContext,
    origin: &Origin,
    peer: &Peer,
    association: &dicom_ul::association::AsyncServerAssociation<S>,
) -> Option<Pdu> {
    match message {
        Message::Echo {
            context_id,
            request,
        } => reply(context_id, command::echo_response(&request)),
        Message::Store {
            context_id,
            request,
            data,
        } => {
            let transfer_syntax = association
                .presentation_contexts()
                .iter()
                .find(|pc| pc.id == context_id)
                .map(|pc| pc.transfer_syntax.clone())
                .unwrap_or_default();
            let limit = context.ingestor.max_instance_bytes();
            let result = match data {
                Err(size) => Err(IngestError::TooLarge {
                    size: size as u64,
                    limit,
                }),
                Ok(data) => {
                    context
                        .ingestor
                        .ingest_dataset(data, transfer_syntax, origin)
                        .await
                }
            };
            reply(context_id, store_reply(&request, result, peer))
        }
        Message::Unreadable { error } => {
            warn!(peer = %peer.addr, calling_ae = ?peer.calling_ae, %error, "unreadable DIMSE command");
            None
        }
        Message::Unsupported { request } => {
            warn!(peer = %peer.addr, calling_ae = ?peer.calling_ae, command_field = request.command_field, "unsupported DIMSE command");
            None
        }
    }
}

fn store_reply(
    request: &Request,
    result: Result<crate::ingest::Ingested, IngestError>,
    peer: &Peer,
) -> Result<Vec<u8>, command::CommandError> {
    match result {
        Ok(ingested) => {
            debug!(sop_instance_uid = %ingested.sop_instance_uid, study_uid = %ingested.study_uid, recorded = ?ingested.recorded, "stored");
            command::store_response(request, status::SUCCESS, None)
        }
        Err(error) => {
            warn!(
                peer = %peer.addr,
                calling_ae = ?peer.calling_ae,
                code = error.code(),
                %error,
                sop_instance_uid = ?request.sop_instance_uid,
                "refused C-STORE"
            );
            command::store_response(request, error.dimse_status(), Some(&error.to_string()))
        }
    }
}

fn reply(context_id: u8, encoded: Result<Vec<u8>, command::CommandError>) -> Option<Pdu> {
    match encoded {
        Ok(data) => Some(Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        }),
        Err(error) => {
            warn!(%error, "could not encode DIMSE response");
            None
        }
    }
}
