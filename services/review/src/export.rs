//! The exporter: sends each queued report revision to the PACS as a DICOM SR, retrying
//! until the PACS confirms it. Revisions are queued by the transaction that made them
//! (sign-off, amendment) or, when drafts go out too, found here; the store hands them out
//! one at a time, in revision order, so an amendment never reaches the PACS before the SR it
//! supersedes. A confirmed export and a permanent refusal are audit events.

use std::time::Duration;

use radraft_results::sr::{self, PatientContext, Predecessor, ReferencedInstance, SrIdentity};
use radraft_results::{ReportStatus, send};
use radraft_store::{DueExport, ExportRequest, Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{PacsConfig, ReviewConfig};
use crate::report;

/// How long a claimed export is held before another exporter may take it: longer than one
/// send can take.
fn lease(pacs: &PacsConfig) -> Duration {
    pacs.timeout * 4 + Duration::from_secs(10)
}

/// How often an idle exporter looks for work.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// The delay before attempt `attempts + 1`: doubling from `retry`, capped at `retry_max`.
pub fn backoff(pacs: &PacsConfig, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    pacs.retry
        .saturating_mul(1 << doublings)
        .min(pacs.retry_max)
}

/// A new SR's UIDs for `destination`.
pub fn new_request(destination: String) -> ExportRequest {
    ExportRequest {
        destination,
        sop_instance_uid: sr::new_uid(),
        series_instance_uid: sr::new_uid(),
    }
}

/// Why one export could not be sent.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("the report or its study is gone")]
    Missing,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not read the study's object {key}: {reason}")]
    Archive { key: String, reason: String },
    #[error(transparent)]
    Build(#[from] sr::SrError),
    #[error(transparent)]
    Send(#[from] send::SendError),
    #[error("the send task failed: {0}")]
    Task(String),
}

impl ExportError {
    /// Whether trying again can help. The PACS refusing the object itself, or an SR that
    /// cannot be built, will fail the same way every time; anything about reaching the
    /// PACS or reading our own data may pass later. An association the PACS refuses is
    /// retried too (with the capped backoff): that is its configuration (our AE title not
    /// yet registered, SR storage not enabled), which an administrator fixes, after which
    /// every waiting report must still arrive.
    fn is_permanent(&self) -> bool {
        match self {
            Self::Missing | Self::Build(_) => true,
            Self::Send(e @ send::SendError::Refused { .. }) => !e.is_transient(),
            Self::Send(send::SendError::Encode(_)) => true,
            _ => false,
        }
    }
}

/// Runs until `shutdown`: queues drafts when configured, then sends what is due.
pub async fn run(store: Store, config: ReviewConfig, shutdown: CancellationToken) {
    let Some(pacs) = config.pacs.clone() else {
        return;
    };
    let destination = pacs.destination();
    info!(%destination, export_drafts = pacs.export_drafts, "exporter started");
    while !shutdown.is_cancelled() {
        if pacs.export_drafts
            && let Err(error) = queue_drafts(&store, &destination).await
        {
            warn!(error = %error, "could not queue draft exports");
        }
        let due = match store.claim_export(&destination, lease(&pacs)).await {
            Ok(due) => due,
            Err(error) => {
                warn!(error = %error, "could not claim an export");
                None
            }
        };
        let Some(due) = due else {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(IDLE_POLL) => continue,
            }
        };
        let result = export(&store, &config, &pacs, &due).await;
        let recorded = match &result {
            Ok(status) => {
                info!(study_uid = %due.study_uid, revision = due.revision,
                      sop_instance_uid = %due.sop_instance_uid, "report exported");
                store.export_sent(&due, *status).await
            }
            Err(error) => {
                let retry = (!error.is_permanent()).then(|| backoff(&pacs, due.attempts));
                warn!(study_uid = %due.study_uid, revision = due.revision,
                      attempts = due.attempts, error = %error, ?retry, "export failed");
                store.export_failed(&due, &error.to_string(), retry).await
            }
        };
        if let Err(error) = recorded {
            // The claim lapses after its lease and the export is tried again.
            warn!(error = %error, "could not record an export's outcome");
        }
    }
    info!("exporter stopped");
}

async fn queue_drafts(store: &Store, destination: &str) -> Result<(), StoreError> {
    for (draft_id, study_uid) in store.drafts_awaiting_export(destination, 100).await? {
        let request = new_request(destination.to_owned());
        store
            .queue_export(draft_id, &study_uid, 0, &request)
            .await?;
    }
    Ok(())
}

/// Builds and sends one SR; the PACS's status when it stored it.
async fn export(
    store: &Store,
    config: &ReviewConfig,
    pacs: &PacsConfig,
    due: &DueExport,
) -> Result<u16, ExportError> {
    let history = store
        .report_history(due.draft_id)
        .await?
        .ok_or(ExportError::Missing)?;
    let stored = history.revision(due.revision).ok_or(ExportError::Missing)?;
    let revision = report::revision(&history, stored);
    let objects = store
        .version_objects(&history.study_uid, history.study_version)
        .await?;
    let first = objects.first().ok_or(ExportError::Missing)?;
    let path = config.archive_dir.join(&first.3);
    let images: Vec<ReferencedInstance> = objects
        .iter()
        .map(
            |(series_uid, sop_class_uid, sop_instance_uid, _)| ReferencedInstance {
                series_uid: series_uid.clone(),
                sop_class_uid: sop_class_uid.clone(),
                sop_instance_uid: sop_instance_uid.clone(),
            },
        )
        .collect();
    let predecessor = due
        .predecessor_sop_instance_uid
        .clone()
        .zip(due.predecessor_series_uid.clone())
        .map(|(sop_instance_uid, series_uid)| Predecessor {
            sop_instance_uid,
            series_uid,
            sop_class_uid: sr::SOP_CLASS_UID.to_owned(),
        });
    let identity = SrIdentity {
        sop_instance_uid: due.sop_instance_uid.clone(),
        series_instance_uid: due.series_instance_uid.clone(),
        instance_number: u32::try_from(due.revision + 1).unwrap_or(1),
        content_datetime: revision.issued_at,
    };
    let target = send::PacsTarget {
        addr: pacs.addr.clone(),
        called_ae: pacs.called_ae.clone(),
        calling_ae: pacs.calling_ae.clone(),
        timeout: pacs.timeout,
    };
    let key = first.3.clone();
    // Reading the archive, encoding and the association are blocking work.
    tokio::task::spawn_blocking(move || -> Result<u16, ExportError> {
        let object = dicom_object::OpenFileOptions::new()
            .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
            .open_file(&path)
            .map_err(|e| ExportError::Archive {
                key,
                reason: e.to_string(),
            })?;
        let patient = PatientContext::from_object(&object)?;
        if revision.status == ReportStatus::Rejected {
            return Err(ExportError::Build(sr::SrError::Rejected));
        }
        let sr = sr::build(
            &revision,
            &identity,
            &patient,
            &images,
            predecessor.as_ref(),
        )?;
        Ok(match send::store(&target, &sr)? {
            send::StoreOutcome::Stored => 0,
            send::StoreOutcome::StoredWithWarning { status, .. } => status,
        })
    })
    .await
    .map_err(|e| ExportError::Task(e.to_string()))?
}
