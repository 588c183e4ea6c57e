//! The orphan sweep: archive files no index row names, untouched for the grace period, are
//! removed. Ingest leaves such files behind when the index write fails (it never deletes
//! inline: an identical send may have committed a row naming the same file), and a crash
//! between the archive write and the commit does too.

use std::time::{Duration, SystemTime};

use radraft_archive::{ArchiveError, ArchiveKey, LocalArchive};
use radraft_store::{ArchivedFile, Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Keys looked up in the index per query.
const LOOKUP_BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("could not scan the archive")]
    Archive(#[from] ArchiveError),
    #[error("could not look up archive keys")]
    Store(#[from] StoreError),
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub orphans_removed: usize,
    pub temporaries_removed: usize,
}

#[derive(Debug, Clone)]
pub struct Sweeper {
    pub archive: LocalArchive,
    pub store: Store,
    pub grace: Duration,
    pub interval: Duration,
}

impl Sweeper {
    /// Sweeps every `interval` until `shutdown`, the first time one interval after start.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = shutdown.cancelled() => return,
            }
            match self.sweep_once().await {
                Ok(swept) if swept != Swept::default() => {
                    info!(
                        orphans_removed = swept.orphans_removed,
                        temporaries_removed = swept.temporaries_removed,
                        "archive swept"
                    );
                }
                Ok(_) => {}
                Err(error) => warn!(%error, "archive sweep failed; will retry"),
            }
        }
    }

    pub async fn sweep_once(&self) -> Result<Swept, SweepError> {
        let cutoff = SystemTime::now()
            .checked_sub(self.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut swept = Swept::default();
        let mut candidates = Vec::new();
        for folder in self.archive.series_folders().await? {
            let stale = self.archive.stale_in(folder, cutoff).await?;
            swept.temporaries_removed += stale.temporaries_removed;
            candidates.extend(stale.objects);
            if candidates.len() >= LOOKUP_BATCH {
                swept.orphans_removed += self.remove_unindexed(&candidates, cutoff).await?;
                candidates.clear();
            }
        }
        swept.orphans_removed += self.remove_unindexed(&candidates, cutoff).await?;
        Ok(swept)
    }

    async fn remove_unindexed(
        &self,
        keys: &[ArchiveKey],
        cutoff: SystemTime,
    ) -> Result<usize, SweepError> {
        // A file whose name is not one of our keys is not ours to judge: it stays.
        let files: Vec<ArchivedFile> = keys
            .iter()
            .filter_map(|key| {
                Some(ArchivedFile {
                    sop_instance_uid: key.sop_instance_uid()?.to_owned(),
                    archive_key: key.to_string(),
                })
            })
            .collect();
        if files.is_empty() {
            return Ok(0);
        }
        let indexed = self.store.indexed_archive_keys(&files).await?;
        let mut removed = 0;
        for file in files
            .into_iter()
            .filter(|f| !indexed.contains(&f.archive_key))
        {
            let key = ArchiveKey::from_stored(file.archive_key);
            if self.archive.remove_if_untouched(&key, cutoff).await? {
                info!(sop_instance_uid = %file.sop_instance_uid, "removed orphaned archive file");
                removed += 1;
            }
        }
        Ok(removed)
    }
}
