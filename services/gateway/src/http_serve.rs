//! Serving the HTTP edge's router (see `http_edge`) over plain TCP or TLS, one hyper HTTP/1
//! connection per client. Served by hand rather than by `axum::serve` for two guards that
//! act before any request exists: a header-read timeout (a client that opens a connection
//! and sends its headers slowly, or never, is cut; between keep-alive requests too), and a
//! TLS handshake timeout. Every failed handshake is logged with the peer and the reason.
//!
//! Shutdown follows the drain: `stop` closes the listener and lets each connection finish
//! the request in hand (no keep-alive after it); `abort` cuts what is still open.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, info, warn};

/// How the connections are served.
#[derive(Debug, Clone)]
pub(crate) struct Serving {
    /// HTTPS when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
}

/// The drain's two signals, as `drain::Drain` gives them.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

/// Accepts connections until `stop`, then waits for the open ones (until `abort`).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    serving: Serving,
    shutdown: Shutdown,
) {
    let acceptor = serving.tls.clone().map(TlsAcceptor::from);
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                accept_failed(error).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "could not disable Nagle's algorithm");
        }
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            acceptor.clone(),
            serving.clone(),
            shutdown.clone(),
        ));
    }
    drop(listener);
    connections.close();
    if !connections.is_empty() {
        info!(open = connections.len(), "draining HTTP connections");
    }
    tokio::select! {
        () = connections.wait() => {}
        () = shutdown.abort.cancelled() => {}
    }
}

/// A failed accept: a peer that gave up is nothing, anything else (out of file
/// descriptors, say) is logged and waited out briefly instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    warn!(%error, "could not accept an HTTP connection");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    serving: Serving,
    shutdown: Shutdown,
) {
    let Some(acceptor) = acceptor else {
        return http(stream, peer, router, serving.header_timeout, shutdown).await;
    };
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(serving.handshake_timeout, acceptor.accept(stream)) => handshake,
        () = shutdown.stop.cancelled() => return,
    };
    match handshake {
        Ok(Ok(stream)) => http(stream, peer, router, serving.header_timeout, shutdown).await,
        Ok(Err(error)) => warn!(%peer, reason = %error, "HTTPS handshake failed"),
        Err(_) => warn!(
            %peer,
            timeout_ms = serving.handshake_timeout.as_millis(),
            "HTTPS handshake timed out"
        ),
    }
}

/// Serves HTTP/1 requests on one connection until the client closes it, the header
/// timeout cuts it, or the drain ends it.
async fn http<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The client's address reaches the handlers (`ConnectInfo`), for logging refusals.
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut served = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let result = tokio::select! {
        result = served.as_mut() => result,
        () = shutdown.stop.cancelled() => {
            // Finish the request in hand, accept no other on this connection.
            served.as_mut().graceful_shutdown();
            tokio::select! {
                result = served.as_mut() => result,
                () = shutdown.abort.cancelled() => return,
            }
        }
    };
    match result {
        Ok(()) => {}
        Err(error) if error.is_timeout() => info!(
            %peer,
            timeout_ms = header_timeout.as_millis(),
            "closed an HTTP connection that did not send request headers in time"
        ),
        Err(error) => debug!(%peer, %error, "HTTP connection ended with an error"),
    }
}
