//! The one path every received object takes, whatever door it came through: validate,
//! archive durably, index in Postgres. Success is reported to the sender only after both.

mod error;
mod parse;

use std::sync::Arc;

use bytes::Bytes;
use radraft_archive::{Archive, ArchiveKey};
use radraft_dicom_guard::Limits;
use radraft_store::{NewInstance, Recorded, Store};

pub use error::{IngestError, status};
pub(crate) use parse::dataset as check_dataset;
pub use parse::{Parsed, declared_uids};

/// The door an object came through, recorded with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Dimse,
    Stow,
    Orthanc,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dimse => "dimse",
            Self::Stow => "stow",
            Self::Orthanc => "orthanc",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Source,
    /// The calling AE title for DIMSE, or the name of the pulling connector.
    pub calling_ae: Option<String>,
}

/// What happened to a stored object: its identity and whether it was new.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub study_uid: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub recorded: Recorded,
}

#[derive(Debug, Clone)]
pub struct Ingestor {
    archive: Arc<dyn Archive>,
    store: Store,
    max_instance_bytes: u64,
    /// How received bytes are read: strict about structure, inflation capped at the
    /// per-object limit (a deflated object may not grow past what is accepted plain).
    limits: Limits,
}

impl Ingestor {
    pub fn new(archive: Arc<dyn Archive>, store: Store, max_instance_bytes: u64) -> Self {
        Self {
            archive,
            store,
            max_instance_bytes,
            limits: Limits::strict(max_instance_bytes),
        }
    }

    pub fn max_instance_bytes(&self) -> u64 {
        self.max_instance_bytes
    }

    /// Ingests a DICOM Part 10 file (STOW-RS part, Orthanc download), stored byte for byte.
    pub async fn ingest_file(&self, file: Bytes, origin: &Origin) -> Result<Ingested, IngestError> {
        self.check_size(file.len())?;
        let limits = self.limits;
        let parsed = tokio::task::spawn_blocking(move || parse::part10(file, &limits)).await??;
        self.store(parsed, origin).await
    }

    /// Ingests a C-STORE data set received in `transfer_syntax`; the archived file is the
    /// data set exactly as sent, behind a file meta group we write.
    pub async fn ingest_dataset(
        &self,
        dataset: Vec<u8>,
        transfer_syntax: String,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        self.check_size(dataset.len())?;
        let calling_ae = origin.calling_ae.clone();
        let limits = self.limits;
        let parsed = tokio::task::spawn_blocking(move || {
            parse::dataset(dataset, &transfer_syntax, calling_ae.as_deref(), &limits)
        })
        .await??;
        self.store(parsed, origin).await
    }

    fn check_size(&self, size: usize) -> Result<(), IngestError> {
        let size = size as u64;
        if size > self.max_instance_bytes {
            return Err(IngestError::TooLarge {
                size,
                limit: self.max_instance_bytes,
            });
        }
        Ok(())
    }

    async fn store(&self, parsed: Parsed, origin: &Origin) -> Result<Ingested, IngestError> {
        let key = ArchiveKey::for_instance(
            &parsed.study_uid,
            &parsed.series_uid,
            &parsed.sop_instance_uid,
            &parsed.sha256,
        );
        let size_bytes = parsed.file.len() as i64;
        self.archive.put(&key, parsed.file).await?;
        let new = NewInstance {
            study_uid: parsed.study_uid.to_string(),
            series_uid: parsed.series_uid.to_string(),
            sop_instance_uid: parsed.sop_instance_uid.to_string(),
            sop_class_uid: parsed.sop_class_uid.clone(),
            modality: parsed.modality,
            accession_number: parsed.accession_number,
            study_description: parsed.study_description,
            transfer_syntax_uid: parsed.transfer_syntax_uid,
            archive_key: key.to_string(),
            sha256: parsed.sha256,
            size_bytes,
            calling_ae: origin.calling_ae.clone(),
            source: origin.source.as_str(),
        };
        // A failed index write leaves the archived file where it is: an identical send may
        // have committed a row naming it meanwhile. The gateway's orphan sweep removes files
        // no row names once they are old enough.
        let recorded = self.store.record_instance(&new).await?;
        Ok(Ingested {
            study_uid: new.study_uid,
            sop_class_uid: new.sop_class_uid,
            sop_instance_uid: new.sop_instance_uid,
            recorded,
        })
    }
}
