//! The DICOM C-STORE SCP (with C-ECHO): accepts associations from allowed calling AEs and
//! stores each received instance through the [`Ingestor`](crate::ingest::Ingestor).

mod association;
mod command;

use std::sync::Arc;

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::config::AllowedAes;
use crate::ingest::Ingestor;

/// The largest PDU we accept. Large PDUs mean fewer reads per instance; dcmtk's upper bound.
pub(crate) const MAX_PDU_LENGTH: u32 = 131_072;

#[derive(Debug, Clone)]
pub struct DimseContext {
    pub ingestor: Ingestor,
    pub ae_title: String,
    pub allowed_calling_aes: AllowedAes,
}

/// Association access control: the called AE must be ours and the calling AE allowed.
#[derive(Debug, Clone)]
struct AllowList(AllowedAes);

impl AccessControl for AllowList {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if called_ae_title.trim() != this_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        if !self.0.allows(calling_ae_title) {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// Accepts associations until `shutdown` is cancelled; each runs on its own task.
pub async fn serve(listener: TcpListener, context: Arc<DimseContext>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
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
        let context = Arc::clone(&context);
        let span = info_span!("association", %peer, calling_ae = tracing::field::Empty);
        tokio::spawn(association::run(stream, context, shutdown.clone()).instrument(span));
    }
}
