//! Start-up and the run loop of `radraft-worker serve`: migrate, load and warm the models,
//! bind the operations port, then consume `study.ready` until shutdown, reconnecting to the
//! broker with backoff. Each delivery is processed in its own task (at most `prefetch` at
//! once) and settled only after its outcome is committed. Shutdown drains: no new
//! deliveries, the studies in hand get the grace period, the rest return to the queue.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use radraft_archive::LocalArchive;
use radraft_queue::{Consumer, Delivery, Publisher, QueueError, Topology};
use radraft_store::{Store, StoreError};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::draft::DraftOptions;
use crate::prompt::{TemplateError, Templates};
use crate::serve::config::WorkerConfig;
use crate::serve::http::{HttpState, router};
use crate::serve::metrics::Metrics;
use crate::serve::model_pool::{ModelPool, PoolError};
use crate::serve::process::{Context, DeliveryInfo, Settle, backoff};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database is not usable")]
    Store(#[from] StoreError),
    #[error("prompt templates are not usable")]
    Templates(#[from] TemplateError),
    #[error("model is not usable")]
    Model(#[from] PoolError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A worker that has loaded its models and bound its port, ready to run.
#[derive(Debug)]
pub struct App {
    context: Arc<Context>,
    topology: Topology,
    amqp_url: secrecy::SecretString,
    amqp_trust: radraft_queue::BrokerTrust,
    prefetch: u16,
    drain_grace: std::time::Duration,
    listener: TcpListener,
}

impl App {
    pub async fn build(config: WorkerConfig) -> Result<Self, StartError> {
        let store = Store::connect(config.database_url.expose_secret()).await?;
        store.migrate().await?;
        let templates = match &config.prompt_dir {
            Some(dir) => Templates::load_dir(dir)?,
            None => Templates::builtin()?,
        };
        let options = Arc::new(DraftOptions {
            study: config.study.clone(),
            max_new_tokens: config.max_new_tokens,
            triage: config.triage.clone(),
            ..DraftOptions::new(templates)
        });
        let metrics = Arc::new(Metrics::default());
        let pool = ModelPool::start(
            config.model_threads,
            config.model_dir.clone(),
            config.runtime.clone(),
            Arc::clone(&options),
            config.scope.clone(),
        )
        .await?;
        metrics.model_ready.store(true, Ordering::Relaxed);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.http_addr,
                source,
            })?;
        let topology =
            Topology::with_prefix(&config.queue_prefix).with_retry_delay(config.retry_delay);
        Ok(App {
            context: Arc::new(Context {
                store,
                archive: Arc::new(LocalArchive::new(&config.archive_dir)),
                pool,
                options,
                metrics,
                worker_name: config.worker_name,
                max_attempts: config.max_attempts,
                delivery_limit: topology.delivery_limit,
            }),
            topology,
            amqp_url: config.amqp_url,
            amqp_trust: config.amqp_trust,
            prefetch: config.prefetch,
            drain_grace: config.drain_grace,
            listener,
        })
    }

    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let state = HttpState {
            metrics: Arc::clone(&self.context.metrics),
            store: self.context.store.clone(),
        };
        let http_shutdown = shutdown.clone();
        let http = tokio::spawn(
            axum::serve(self.listener, router(state))
                .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
                .into_future(),
        );
        let consumer = Consuming {
            context: self.context,
            topology: self.topology,
            amqp_url: self.amqp_url,
            amqp_trust: self.amqp_trust,
            prefetch: self.prefetch,
            drain_grace: self.drain_grace,
        };
        consumer.run(shutdown.clone()).await;
        shutdown.cancel();
        match http.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

struct Consuming {
    context: Arc<Context>,
    topology: Topology,
    amqp_url: secrecy::SecretString,
    amqp_trust: radraft_queue::BrokerTrust,
    prefetch: u16,
    drain_grace: std::time::Duration,
}

impl Consuming {
    /// Consumes until shutdown, reconnecting whenever the broker goes away.
    async fn run(&self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            match self.session(&shutdown).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures += 1;
                    warn!(error = %e, "broker unavailable; reconnecting");
                }
            }
            self.context
                .metrics
                .broker_connected
                .store(false, Ordering::Relaxed);
            tokio::select! {
                () = tokio::time::sleep(backoff(failures)) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }

    /// One connection's worth of consuming; returns when the consumer ends or on shutdown
    /// (after draining).
    async fn session(&self, shutdown: &CancellationToken) -> Result<(), QueueError> {
        let connection =
            radraft_queue::connect_trusting(self.amqp_url.expose_secret(), &self.amqp_trust)
                .await?;
        let publisher = Arc::new(Publisher::open(&connection, &self.topology).await?);
        let tag = format!("{}-{}", self.context.worker_name, uuid::Uuid::new_v4());
        let mut consumer = Consumer::open(&connection, &self.topology, self.prefetch, &tag).await?;
        self.context
            .metrics
            .broker_connected
            .store(true, Ordering::Relaxed);
        info!(queue = %self.topology.work_queue, prefetch = self.prefetch, "consuming");
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let context = Arc::clone(&self.context);
                        let publisher = Arc::clone(&publisher);
                        tasks.spawn(handle(context, publisher, delivery));
                    }
                    Some(Err(e)) => { warn!(error = %e, "receiving failed"); break; }
                    None => break,
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = shutdown.cancelled() => {
                    self.drain(&consumer, &mut tasks).await;
                    break;
                }
            }
        }
        tasks.abort_all();
        let _ = consumer.close().await;
        let _ = connection.close(200, "worker stopping".into()).await;
        Ok(())
    }

    /// Stops new deliveries and gives the ones in hand the grace period; what is still
    /// running after it is left unacked, so the broker hands it to another worker.
    async fn drain(&self, consumer: &Consumer, tasks: &mut JoinSet<()>) {
        info!(in_flight = tasks.len(), "draining");
        if let Err(e) = consumer.cancel().await {
            warn!(error = %e, "could not cancel the consumer");
        }
        let finished = tokio::time::timeout(self.drain_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            warn!(
                left = tasks.len(),
                "grace period over; leaving the rest unacknowledged"
            );
        }
    }
}

/// Processes one delivery and settles it: ack, retry queue or dead-letter queue.
async fn handle(context: Arc<Context>, publisher: Arc<Publisher>, delivery: Delivery) {
    let metrics = Arc::clone(&context.metrics);
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let span = info_span!(
        "study",
        study_uid = tracing::field::Empty,
        study_version = tracing::field::Empty,
        job_id = tracing::field::Empty,
        delivery_tag = delivery.delivery_tag()
    );
    async {
        let started = Instant::now();
        let attempt = delivery.attempt();
        let settle = match delivery.message() {
            Ok(message) => {
                let span = tracing::Span::current();
                span.record("study_uid", message.study_uid.as_str());
                span.record("study_version", message.study_version);
                let info = DeliveryInfo {
                    attempt,
                    delivery_count: delivery.delivery_count(),
                    replayed: delivery.replayed(),
                };
                let settle = context.process(&message, &info).await;
                (Some(message), settle)
            }
            Err(e) => {
                metrics.outcome("undecodable");
                (
                    None,
                    Settle::DeadLetter {
                        reason: format!("undecodable message: {e}"),
                    },
                )
            }
        };
        let result = match settle {
            (_, Settle::Ack) => {
                let acking = Instant::now();
                let acked = delivery.ack().await;
                metrics.stage("ack", acking.elapsed());
                acked
            }
            (Some(message), Settle::Retry { reason }) => {
                match publisher.retry(&message, attempt + 1).await {
                    Ok(()) => delivery.ack().await,
                    Err(e) => {
                        warn!(error = %e, %reason, "could not send to the retry queue");
                        delivery.requeue().await
                    }
                }
            }
            // Parked while drafting is off: nothing failed, so the attempt number stays.
            (Some(message), Settle::Park) => match publisher.retry(&message, attempt).await {
                Ok(()) => delivery.ack().await,
                Err(e) => {
                    warn!(error = %e, "could not park the study in the retry queue");
                    delivery.requeue().await
                }
            },
            // Never happens: only a decoded message is processed, and only processing parks.
            (None, Settle::Park) => delivery.requeue().await,
            (_, Settle::Retry { reason } | Settle::DeadLetter { reason }) => {
                match publisher.dead_letter_delivery(&delivery, &reason).await {
                    Ok(()) => delivery.ack().await,
                    Err(e) => {
                        warn!(error = %e, "could not dead-letter");
                        delivery.requeue().await
                    }
                }
            }
        };
        if let Err(e) = result {
            // The channel went away: the broker redelivers, and the outcome already
            // committed makes the redelivery a no-op.
            error!(error = %e, "could not settle the delivery");
        }
        // Delivery to settled: everything the worker did for this message.
        metrics.stage("total", started.elapsed());
    }
    .instrument(span)
    .await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
}
