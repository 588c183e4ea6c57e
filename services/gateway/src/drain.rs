//! Shutdown in two steps. `stop` (SIGTERM, or the caller's token): no new associations,
//! connections or polls; what is open carries on. `abort`, one grace period later: whatever
//! is still open is cut. A sender is answered success only for what was archived and
//! indexed, so a cut loses nothing the sender was told was stored.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

#[derive(Debug)]
pub struct Drain {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
    timer: JoinHandle<()>,
}

impl Drain {
    /// Starts the grace period's clock once `stop` is cancelled.
    pub fn new(stop: CancellationToken, grace: Duration) -> Self {
        let abort = CancellationToken::new();
        let timer = tokio::spawn({
            let (stop, abort) = (stop.clone(), abort.clone());
            async move {
                stop.cancelled().await;
                info!(grace_ms = grace.as_millis(), "draining");
                tokio::time::sleep(grace).await;
                warn!("drain grace period over; cutting what is still open");
                abort.cancel();
            }
        });
        Self { stop, abort, timer }
    }

    /// Runs `task` until it ends or the drain is cut short.
    pub fn bounded<F>(&self, task: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let abort = self.abort.clone();
        async move {
            tokio::select! {
                () = task => {}
                () = abort.cancelled() => {}
            }
        }
    }

    /// Everything has ended: the grace clock is no longer needed.
    pub fn finish(self) {
        self.timer.abort();
    }
}
