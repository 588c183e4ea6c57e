//! How many associations the gateway holds at once. Each accepted connection takes a slot
//! for its whole life, negotiation included; past the limit the peer is told so in DICOM
//! terms (A-ASSOCIATE-RJ: rejected-transient, service-provider presentation,
//! local-limit-exceeded; PS3.8 9.3.4) rather than reset, and the refusal is logged with
//! its address. Rejecting costs a little too, so rejections in flight are bounded as well:
//! past that, a connection is closed at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJSource, Pdu, write_pdu,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::warn;

use crate::config::DimseLimits;

/// Rejections answered at once; more connections past the limit are closed unanswered.
/// Each costs a socket and a small task for at most [`MAX_REJECT_WAIT`]; a burst of 200
/// peers against a limit of 50 needs 150.
const MAX_REJECTING: usize = 256;
/// The longest a rejection waits for the request it answers and for the peer to close.
const MAX_REJECT_WAIT: Duration = Duration::from_secs(5);
/// The type of an A-ASSOCIATE-RQ PDU.
const ASSOCIATE_RQ: u8 = 0x01;
/// The most of a request a rejection reads (a real A-ASSOCIATE-RQ is a few hundred bytes).
const MAX_REQUEST_READ: u64 = 64 << 10;

/// The DIMSE limits and the slots they allow, shared by every listener.
#[derive(Debug, Clone)]
pub struct Admission {
    pub limits: DimseLimits,
    slots: Arc<Semaphore>,
    rejecting: Arc<Semaphore>,
}

/// What to do with a new connection.
pub(super) enum Admit {
    /// Serve it; the slot is held until the association ends.
    Serve(OwnedSemaphorePermit),
    /// Reject it with A-ASSOCIATE-RJ, holding a rejection slot meanwhile.
    Reject(OwnedSemaphorePermit),
    /// Too many rejections already under way: close it.
    Close,
}

impl Admission {
    pub fn new(limits: DimseLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_associations)),
            rejecting: Arc::new(Semaphore::new(MAX_REJECTING)),
            limits,
        }
    }

    pub(super) fn admit(&self) -> Admit {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Admit::Serve(slot);
        }
        match Arc::clone(&self.rejecting).try_acquire_owned() {
            Ok(slot) => Admit::Reject(slot),
            Err(_) => Admit::Close,
        }
    }
}

/// The A-ASSOCIATE-RJ sent past the limit, as bytes on the wire.
pub(crate) fn local_limit_rejection() -> Vec<u8> {
    let pdu = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    let mut bytes = Vec::with_capacity(10);
    // Writing a fixed, valid PDU to memory cannot fail; an empty reply only means the
    // peer sees the connection close instead.
    let _ = write_pdu(&mut bytes, &pdu);
    bytes
}

/// Reads the peer's association request (header, then up to [`MAX_REQUEST_READ`] bytes of
/// it), answers it with the local-limit rejection and waits briefly for the peer to close:
/// closing first, with its request unread, would reset the connection and could lose the
/// answer. All within `timeout` and [`MAX_REJECT_WAIT`].
pub(super) async fn reject<S>(mut stream: S, peer: SocketAddr, timeout: Duration, max: usize)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    warn!(
        %peer,
        max_associations = max,
        "association refused: too many associations open (A-ASSOCIATE-RJ, local limit exceeded)"
    );
    let exchange = async {
        let mut header = [0u8; 6];
        stream.read_exact(&mut header).await?;
        if header[0] == ASSOCIATE_RQ {
            let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
            let mut request = (&mut stream).take(u64::from(length).min(MAX_REQUEST_READ));
            tokio::io::copy(&mut request, &mut tokio::io::sink()).await?;
            stream.write_all(&local_limit_rejection()).await?;
            stream.flush().await?;
        }
        stream.shutdown().await?;
        // Until the peer closes: whatever it still sends is dropped.
        tokio::io::copy(&mut stream, &mut tokio::io::sink()).await?;
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(timeout.min(MAX_REJECT_WAIT), exchange).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejection_is_transient_from_the_presentation_provider_for_a_local_limit() {
        // PS3.8 9.3.4: type 03, reserved, length 4, reserved, result 2, source 3, reason 2.
        assert_eq!(
            local_limit_rejection(),
            [0x03, 0x00, 0, 0, 0, 4, 0x00, 0x02, 0x03, 0x02]
        );
    }

    #[test]
    fn slots_past_the_limit_become_rejections_then_closes() {
        let admission = Admission::new(DimseLimits {
            max_associations: 1,
            ..DimseLimits::default()
        });
        let Admit::Serve(_served) = admission.admit() else {
            panic!("the first connection is served");
        };
        let mut rejections = Vec::new();
        for _ in 0..MAX_REJECTING {
            match admission.admit() {
                Admit::Reject(slot) => rejections.push(slot),
                _ => panic!("rejected while rejection slots are free"),
            }
        }
        assert!(matches!(admission.admit(), Admit::Close));
        drop(rejections);
        assert!(matches!(admission.admit(), Admit::Reject(_)));
    }
}
