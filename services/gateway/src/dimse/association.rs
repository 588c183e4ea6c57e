//! One association: negotiate, then answer C-ECHO and C-STORE requests until release.

use std::sync::Arc;

use dicom_ul::association::Association;
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use radraft_core::{sop_class, transfer_syntax};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{Span, debug, info, warn};

use super::command::{self, C_ECHO_RQ, C_STORE_RQ, Request};
use super::{AllowList, DimseContext, MAX_PDU_LENGTH};
use crate::ingest::{IngestError, Origin, Source, status};

/// The Verification SOP class, for C-ECHO.
const VERIFICATION: &str = "1.2.840.10008.1.1";

/// What has arrived of the message in progress.
#[derive(Default)]
struct Incoming {
    command: Vec<u8>,
    request: Option<Request>,
    data: Vec<u8>,
    /// Set once the data set outgrew the limit; the rest is discarded, then refused.
    oversized_at: Option<usize>,
}

pub(super) async fn run(
    stream: TcpStream,
    context: Arc<DimseContext>,
    shutdown: CancellationToken,
) {
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(AllowList(context.allowed_calling_aes.clone()))
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
        Err(error) => {
            info!(%error, "association refused or failed to establish");
            return;
        }
    };
    let calling_ae = association.peer_ae_title().trim().to_owned();
    Span::current().record("calling_ae", calling_ae.as_str());
    let origin = Origin {
        source: Source::Dimse,
        calling_ae: Some(calling_ae),
    };
    let limit = context.ingestor.max_instance_bytes() as usize;
    let mut incoming = Incoming::default();
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
                    let Some(reply) = incoming
                        .take(value, limit, &context, &origin, &association)
                        .await
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

impl Incoming {
    /// Takes one PDV; returns the response PDU when a message is complete.
    async fn take<S>(
        &mut self,
        value: PDataValue,
        limit: usize,
        context: &DimseContext,
        origin: &Origin,
        association: &dicom_ul::association::AsyncServerAssociation<S>,
    ) -> Option<Pdu> {
        let context_id = value.presentation_context_id;
        match value.value_type {
            PDataValueType::Command => {
                self.command.extend_from_slice(&value.data);
                if !value.is_last {
                    return None;
                }
                let parsed = command::parse_request(&std::mem::take(&mut self.command));
                let request = match parsed {
                    Ok(request) => request,
                    Err(error) => {
                        warn!(%error, "unreadable DIMSE command");
                        return None;
                    }
                };
                match request.command_field {
                    C_ECHO_RQ => return reply(context_id, command::echo_response(&request)),
                    C_STORE_RQ => {
                        self.request = Some(request);
                        self.data.clear();
                        self.oversized_at = None;
                    }
                    other => warn!(command_field = other, "unsupported DIMSE command"),
                }
                None
            }
            PDataValueType::Data => {
                self.append(value.data, limit);
                if !value.is_last {
                    return None;
                }
                let request = self.request.take()?;
                let transfer_syntax = association
                    .presentation_contexts()
                    .iter()
                    .find(|pc| pc.id == context_id)
                    .map(|pc| pc.transfer_syntax.clone())
                    .unwrap_or_default();
                let result = match self.oversized_at.take() {
                    Some(size) => Err(IngestError::TooLarge {
                        size: size as u64,
                        limit: limit as u64,
                    }),
                    None => {
                        let data = std::mem::take(&mut self.data);
                        context
                            .ingestor
                            .ingest_dataset(data, transfer_syntax, origin)
                            .await
                    }
                };
                reply(context_id, store_reply(&request, result))
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

fn store_reply(
    request: &Request,
    result: Result<crate::ingest::Ingested, IngestError>,
) -> Result<Vec<u8>, command::CommandError> {
    match result {
        Ok(ingested) => {
            debug!(sop_instance_uid = %ingested.sop_instance_uid, study_uid = %ingested.study_uid, recorded = ?ingested.recorded, "stored");
            command::store_response(request, status::SUCCESS, None)
        }
        Err(error) => {
            warn!(%error, code = error.code(), sop_instance_uid = %request.sop_instance_uid, "refused C-STORE");
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
