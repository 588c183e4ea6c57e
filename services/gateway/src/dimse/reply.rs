//! The responses an association sends: each one a single P-DATA PDU with the whole command
//! set, written in one call (see `STACK-FACTS.md` on Nagle). A refused C-STORE is logged
//! here with its reason and the peer.

use dicom_ul::association::AsyncServerAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

use super::command::{self, CommandError, Request};
use super::conversation::Peer;
use crate::ingest::{IngestError, Ingested, status};

/// A response command set for a presentation context.
pub(super) struct Reply {
    context_id: u8,
    encoded: Result<Vec<u8>, CommandError>,
}

impl Reply {
    pub(super) fn echo(context_id: u8, request: &Request) -> Self {
        Self::new(context_id, command::echo_response(request))
    }

    pub(super) fn unrecognized(context_id: u8, request: &Request) -> Self {
        Self::new(context_id, command::unrecognized_response(request))
    }

    pub(super) fn new(context_id: u8, encoded: Result<Vec<u8>, CommandError>) -> Self {
        Self {
            context_id,
            encoded,
        }
    }

    /// Sends the response. One that could not be encoded is logged and skipped: the
    /// association goes on.
    pub(super) async fn send<S>(
        self,
        association: &mut AsyncServerAssociation<S>,
    ) -> Result<(), dicom_ul::association::Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let data = match self.encoded {
            Ok(data) => data,
            Err(error) => {
                warn!(%error, "could not encode DIMSE response");
                return Ok(());
            }
        };
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: self.context_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        };
        association.send(&pdu).await
    }
}

/// The C-STORE response to an ingest's outcome; a refusal is logged with the peer.
pub(super) fn store_reply(
    request: &Request,
    result: Result<Ingested, IngestError>,
    peer: &Peer,
) -> Result<Vec<u8>, CommandError> {
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
