//! The one path every received object takes, whatever door it came through: validate,
//! archive durably, index in Postgres. Success is reported to the sender only after both.

mod error;
mod parse;
mod spooled;

use std::io::BufReader;
use std::sync::Arc;

use bytes::Bytes;
use radraft_archive::{Archive, ArchiveKey};
use radraft_dicom_guard::Limits;
use radraft_store::{NewInstance, Recorded, Store};

pub use error::{IngestError, status};
pub(crate) use parse::check_dataset;
pub use parse::{Identity, Parsed, declared_uids};
pub use spooled::IncomingDataset;
use spooled::{Named, spool_error};

/// The read buffer for a spooled data set: the parser reads in small pieces.
const SPOOL_READ_BUFFER: usize = 64 << 10;

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
        self.check_size(file.len() as u64)?;
        let limits = self.limits;
        let parsed = tokio::task::spawn_blocking(move || parse::part10(file, &limits)).await??;
        let key = key_for(&parsed.identity, &parsed.sha256);
        let size = parsed.file.len() as u64;
        self.archive.put(&key, parsed.file).await?;
        self.index(parsed.identity, key, parsed.sha256, size, origin)
            .await
    }

    /// Starts receiving a C-STORE data set in `transfer_syntax`: a spool file in the
    /// archive's temporary area, behind a file meta group naming the request's SOP class and
    /// instance, to [`append`](IncomingDataset::append) the data set to as it arrives.
    pub async fn receive_dataset(
        &self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        origin: &Origin,
    ) -> Result<IncomingDataset, IngestError> {
        let named = Named {
            sop_class_uid: sop_class_uid.to_owned(),
            sop_instance_uid: sop_instance_uid.to_owned(),
            transfer_syntax: transfer_syntax.trim_end_matches('\0').to_owned(),
            calling_ae: origin.calling_ae.clone(),
        };
        let spool = self.archive.spool().await?;
        tokio::task::spawn_blocking(move || IncomingDataset::start(spool, named)).await?
    }

    /// Ingests a received data set: checked from its spool file (the pixel data read past,
    /// never held), which is then renamed into the archive; the archived file is the data
    /// set exactly as sent, behind the file meta group.
    pub async fn ingest_received(
        &self,
        incoming: IncomingDataset,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        self.check_size(incoming.data_len())?;
        let limits = self.limits;
        let (mut incoming, identity) = tokio::task::spawn_blocking(move || {
            let mut incoming = incoming;
            let ts = incoming.named.transfer_syntax.clone();
            let source = incoming.dataset().map_err(spool_error)?;
            let source = BufReader::with_capacity(SPOOL_READ_BUFFER, source);
            let identity = parse::dataset(source, &ts, &limits)?;
            Ok::<_, IngestError>((incoming, identity))
        })
        .await??;
        let named = Named {
            sop_class_uid: identity.sop_class_uid.clone(),
            sop_instance_uid: identity.sop_instance_uid.to_string(),
            ..incoming.named.clone()
        };
        if named != incoming.named {
            let fresh = self.archive.spool().await?;
            incoming =
                tokio::task::spawn_blocking(move || incoming.renamed(fresh, named)).await??;
        }
        let sha256 = incoming.sha256();
        let size = incoming.header_len + incoming.data_len;
        let key = key_for(&identity, &sha256);
        self.archive.put_spooled(&key, incoming.spool).await?;
        self.index(identity, key, sha256, size, origin).await
    }

    fn check_size(&self, size: u64) -> Result<(), IngestError> {
        if size > self.max_instance_bytes {
            return Err(IngestError::TooLarge {
                size,
                limit: self.max_instance_bytes,
            });
        }
        Ok(())
    }

    /// Indexes an archived object; only then is it reported stored.
    async fn index(
        &self,
        identity: Identity,
        key: ArchiveKey,
        sha256: String,
        size: u64,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        let new = NewInstance {
            study_uid: identity.study_uid.to_string(),
            series_uid: identity.series_uid.to_string(),
            sop_instance_uid: identity.sop_instance_uid.to_string(),
            sop_class_uid: identity.sop_class_uid,
            modality: identity.modality,
            accession_number: identity.accession_number,
            study_description: identity.study_description,
            transfer_syntax_uid: identity.transfer_syntax_uid,
            archive_key: key.to_string(),
            sha256,
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
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

fn key_for(identity: &Identity, sha256: &str) -> ArchiveKey {
    ArchiveKey::for_instance(
        &identity.study_uid,
        &identity.series_uid,
        &identity.sop_instance_uid,
        sha256,
    )
}
