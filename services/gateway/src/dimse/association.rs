//! One association: negotiate (bounded by the negotiation timeout), then hand it to the
//! conversation (`conversation.rs`) until it ends. Every refusal is logged with its reason,
//! the peer's address and its AE title.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dicom_ul::association::AsyncServerAssociation;
use dicom_ul::association::server::ServerAssociationOptions;
use radraft_core::{sop_class, transfer_syntax};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::conversation::converse;
use super::negotiation::AllowList;
use super::tls_listener::{self, Transport};
use super::{DimseContext, MAX_PDU_LENGTH};

/// The Verification SOP class, for C-ECHO.
const VERIFICATION: &str = "1.2.840.10008.1.1";

pub(super) async fn run(
    stream: TcpStream,
    context: Arc<DimseContext>,
    transport: Transport,
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
        .write_timeout(context.admission.limits.write_timeout)
        .with_abstract_syntax(VERIFICATION);
    for class in sop_class::ACCEPTED {
        options = options.with_abstract_syntax(class.uid);
    }
    for (uid, _) in transfer_syntax::DECODABLE {
        options = options.with_transfer_syntax(*uid);
    }
    // The two transports give associations of two stream types; what follows the
    // negotiation is the same for both.
    match transport {
        Transport::Plain => {
            // dicom-ul's own read timeout would also bound every later PDU: the idle
            // timeout does that (see `conversation`), so negotiation is bounded here.
            let timeout = context.admission.limits.negotiation_timeout;
            let Ok(result) = tokio::time::timeout(timeout, options.establish_async(stream)).await
            else {
                warn!(
                    peer = %addr,
                    timeout_ms = timeout.as_millis(),
                    "no association request within the negotiation timeout; connection closed"
                );
                return;
            };
            if let Some(association) = accepted(result, &refused, addr) {
                converse(association, addr, context, shutdown).await;
            }
        }
        Transport::Tls(tls) => {
            let Some(result) = tls_listener::establish(options, stream, addr, &tls).await else {
                return;
            };
            if let Some(association) = accepted(result, &refused, addr) {
                converse(association, addr, context, shutdown).await;
            }
        }
    }
}

/// The association, or `None` when it was refused or failed (logged).
fn accepted<S>(
    result: Result<AsyncServerAssociation<S>, dicom_ul::association::Error>,
    refused: &AtomicBool,
    addr: SocketAddr,
) -> Option<AsyncServerAssociation<S>> {
    match result {
        Ok(association) => Some(association),
        // Refused by the AE check, which logged who and why already.
        Err(_) if refused.load(Ordering::Relaxed) => None,
        // Refused by dicom-ul itself (protocol version, application context).
        Err(error @ dicom_ul::association::Error::Rejected { .. }) => {
            warn!(peer = %addr, %error, "association refused");
            None
        }
        Err(error) => {
            info!(peer = %addr, %error, "association failed to establish");
            None
        }
    }
}
