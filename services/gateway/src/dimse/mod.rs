//! The DICOM C-STORE SCP (with C-ECHO): accepts associations from allowed calling AEs and
//! stores each received instance through the [`Ingestor`](crate::ingest::Ingestor).

mod admission;
pub(crate) mod assemble;
mod association;
pub(crate) mod command;
mod conversation;
mod negotiation;
mod reply;
mod tls_listener;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use crate::config::AllowedAes;
use crate::ingest::Ingestor;
use admission::Admit;

pub use admission::Admission;
pub use tls_listener::{TlsHandshake, Transport};

/// The largest PDU we accept. Large PDUs mean fewer reads per instance; dcmtk's upper bound.
pub(crate) const MAX_PDU_LENGTH: u32 = 131_072;

#[derive(Debug, Clone)]
pub struct DimseContext {
    pub ingestor: Ingestor,
    pub ae_title: String,
    pub allowed_calling_aes: AllowedAes,
    /// Associations open at once and the timeouts, shared by every listener.
    pub admission: Admission,
}

/// Accepts associations until `stop` is cancelled, each on its own task, then waits for
/// the open ones to end; `abort` cuts them (the drain's grace period is over). The plain
/// and the TLS listener each run one, over the same context.
pub async fn serve(
    listener: TcpListener,
    context: Arc<DimseContext>,
    transport: Transport,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let associations = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                warn!(%error, "could not accept a DICOM connection");
                continue;
            }
        };
        // Without this, each response waits for the sender's delayed ACK (~40 ms).
        if let Err(error) = stream.set_nodelay(true) {
            warn!(%error, "could not disable Nagle's algorithm");
        }
        let slot = match context.admission.admit() {
            Admit::Serve(slot) => slot,
            // Over TLS a rejection would need the handshake first: the peer sees the
            // connection close instead.
            Admit::Reject(slot) if matches!(transport, Transport::Plain) => {
                let limits = &context.admission.limits;
                let reject = admission::reject(
                    stream,
                    peer,
                    limits.negotiation_timeout,
                    limits.max_associations,
                );
                associations.spawn(async move {
                    reject.await;
                    drop(slot);
                });
                continue;
            }
            Admit::Reject(_) | Admit::Close => {
                warn!(%peer, "connection closed: too many associations and rejections under way");
                continue;
            }
        };
        let context = Arc::clone(&context);
        let span = info_span!("association", %peer, calling_ae = tracing::field::Empty);
        let run = association::run(stream, context, transport.clone(), abort.clone());
        associations.spawn(
            async move {
                run.await;
                drop(slot);
            }
            .instrument(span),
        );
    }
    // Closing the listener refuses new associations while the open ones finish.
    drop(listener);
    associations.close();
    if !associations.is_empty() {
        info!(open = associations.len(), "draining DICOM associations");
    }
    associations.wait().await;
}
