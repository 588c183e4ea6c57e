//! A TCP proxy the outage tests put between a service and the machine's shared Postgres or
//! RabbitMQ, so an outage can be made for one gateway without stopping what other tests
//! use. Three modes:
//! - up: bytes flow both ways;
//! - down: the port refuses connections and open ones are closed, as when the server
//!   stops. Bytes already sent by the server (a publisher confirm, a query result) are
//!   still delivered for a moment first, as a server shutting down cleanly sends them, so
//!   a test knows every request it cut never reached the server;
//! - stalled: connections stay open but nothing flows, as when RabbitMQ blocks publishers
//!   under a memory alarm; when resumed, what was held flows on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    Stalled,
}

pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    connections: Arc<Mutex<JoinSet<()>>>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl Proxy {
    /// A proxy on a free local port forwarding to `upstream`, up.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream,
            mode: watch::Sender::new(Mode::Up),
            connections: Arc::default(),
            acceptor: Mutex::new(None),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// A proxy that starts down: its port refuses connections until [`Proxy::up`].
    pub async fn start_down(upstream: SocketAddr) -> Self {
        let proxy = Self::start(upstream).await;
        proxy.down().await;
        proxy
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `url` with its `host:port` replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let upstream = format!("{}:{}", self.upstream.ip(), self.upstream.port());
        assert!(url.contains(&upstream), "{url} does not name {upstream}");
        url.replacen(&upstream, &self.addr.to_string(), 1)
    }

    fn accept_on(&self, listener: TcpListener) {
        let (upstream, mode, connections) = (
            self.upstream,
            self.mode.clone(),
            Arc::clone(&self.connections),
        );
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = mode.subscribe();
                connections
                    .lock()
                    .unwrap()
                    .spawn(forward(client, upstream, mode));
            }
        });
        if let Some(old) = self.acceptor.lock().unwrap().replace(acceptor) {
            old.abort();
        }
    }

    /// The server goes away: new connections are refused, open ones closed.
    pub async fn down(&self) {
        self.mode.send_replace(Mode::Down);
        if let Some(acceptor) = self.acceptor.lock().unwrap().take() {
            acceptor.abort();
        }
        // Let what the server already sent reach the client, then cut.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut cut = std::mem::take(&mut *self.connections.lock().unwrap());
        cut.abort_all();
        while cut.join_next().await.is_some() {}
        // The aborted acceptor releases the port once its task is dropped.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// The server is back on the same port.
    pub async fn up(&self) {
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("could not listen on {} again: {e}", self.addr),
            }
        };
        self.mode.send_replace(Mode::Up);
        self.accept_on(listener);
    }

    /// Nothing flows until [`Proxy::resume`]; connections stay open.
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stalled);
    }

    pub fn resume(&self) {
        self.mode.send_replace(Mode::Up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.lock().unwrap().take() {
            acceptor.abort();
        }
        self.connections.lock().unwrap().abort_all();
    }
}

async fn forward(client: TcpStream, upstream: SocketAddr, mode: watch::Receiver<Mode>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, mode.clone(), false),
        pump(server_read, client_write, mode, true),
    );
}

/// Copies one direction while the mode allows. Toward the server nothing more flows once
/// the proxy is down; from the server, bytes keep flowing until the connection is cut.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    from_server: bool,
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let flowing = match *mode.borrow_and_update() {
            Mode::Up => true,
            Mode::Down => from_server,
            Mode::Stalled => false,
        };
        if !flowing {
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
