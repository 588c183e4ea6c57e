//! DICOM over TLS (PS3.15 Annex B, usually port 2762): the same SCP as the plain listener,
//! with a rustls handshake first. dicom-ul runs the handshake inside its association
//! set-up (`establish_tls_async`); here it is bounded by the handshake timeout and every
//! failure is logged with the peer and the reason: a client certificate that does not
//! chain to the configured CA, a peer that speaks plain DICOM to the TLS port, a peer that
//! never finishes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dicom_ul::association::server::{AccessControl, AsyncTlsStream, Negotiation};
use dicom_ul::association::{AsyncServerAssociation, Error, ServerAssociationOptions};
use tokio::net::TcpStream;
use tracing::warn;

/// How a DICOM listener's connections are carried.
#[derive(Debug, Clone)]
pub enum Transport {
    Plain,
    Tls(TlsHandshake),
}

/// The server side of DICOM TLS.
#[derive(Debug, Clone)]
pub struct TlsHandshake {
    pub server: Arc<rustls::ServerConfig>,
    /// Bounds the handshake and the association request that follows it together: dicom-ul
    /// runs both in one call.
    pub timeout: Duration,
}

/// An association over TLS, or `None` when the handshake failed or timed out (logged
/// here). Errors after the handshake (negotiation, the AE check) are returned for the
/// caller to handle as on the plain listener.
pub(super) async fn establish<A, N>(
    options: ServerAssociationOptions<'_, A, N>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: &TlsHandshake,
) -> Option<Result<AsyncServerAssociation<AsyncTlsStream>, Error>>
where
    A: AccessControl,
    N: Negotiation,
{
    let options = options.tls_config(Arc::clone(&tls.server));
    match tokio::time::timeout(tls.timeout, options.establish_tls_async(stream)).await {
        Err(_) => {
            warn!(
                %peer,
                timeout_ms = tls.timeout.as_millis(),
                "DICOM TLS handshake or association request timed out"
            );
            None
        }
        Ok(Err(Error::TlsHandshake { source, .. })) => {
            warn!(%peer, reason = %source, "DICOM TLS handshake failed");
            None
        }
        Ok(Err(Error::TlsConnection { source, .. })) => {
            warn!(%peer, reason = %source, "DICOM TLS handshake failed");
            None
        }
        Ok(other) => Some(other),
    }
}
