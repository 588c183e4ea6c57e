//! The one path every received object takes, whatever door it came through: validate,
//! archive durably, index in Postgres. Success is reported to the sender only after both.

mod error;
mod parse;
mod part10;
mod spooled;

use std::io::BufReader;
use std::sync::Arc;

use bytes::Bytes;
use radraft_archive::{Archive, ArchiveKey};
use radraft_dicom_guard::Limits;
use radraft_store::{NewInstance, Recorded, Store};

pub use error::{IngestError, status};
pub use parse::Identity;
pub(crate) use parse::check_dataset;
pub use part10::{IncomingFile, ReceivedFile};
pub use spooled::IncomingDataset;
use spooled::{Named, Spooled, renamed, spool_error};

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

    /// Ingests a DICOM Part 10 file held in memory (an Orthanc download, which its client
    /// bounds), through the same spool file as a streamed one.
    pub async fn ingest_file(&self, file: Bytes, origin: &Origin) -> Result<Ingested, IngestError> {
        self.check_size(file.len() as u64)?;
        let incoming = self.receive_file().await?.append(file).await?;
        self.ingest_part10(incoming.finish().await?, origin).await
    }

    /// Starts receiving a Part 10 file (a STOW-RS part): a spool file in the archive's
    /// temporary area to [`append`](IncomingFile::append) it to as it arrives.
    pub async fn receive_file(&self) -> Result<IncomingFile, IngestError> {
        let spool = self.archive.spool().await?;
        Ok(IncomingFile::new(Spooled::new(spool), self.limits))
    }

    /// Ingests a received Part 10 file: its data set checked from the spool file (the pixel
    /// data read past, never held), which is then renamed into the archive; the archived
    /// file is the file exactly as sent.
    pub async fn ingest_part10(
        &self,
        received: ReceivedFile,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        self.check_size(received.len())?;
        let (start, transfer_syntax) = received.dataset?;
        let (file, identity) = self
            .check_spooled(received.file, start, transfer_syntax)
            .await?;
        self.archive_spooled(file, identity, origin).await
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

    /// Ingests a received data set like a Part 10 file; the archived file is the data set
    /// exactly as sent, behind the file meta group.
    pub async fn ingest_received(
        &self,
        incoming: IncomingDataset,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        self.check_size(incoming.data_len())?;
        let IncomingDataset {
            file,
            named,
            header_len,
        } = incoming;
        let (mut file, identity) = self
            .check_spooled(file, header_len, named.transfer_syntax.clone())
            .await?;
        let checked = Named {
            sop_class_uid: identity.sop_class_uid.clone(),
            sop_instance_uid: identity.sop_instance_uid.to_string(),
            ..named.clone()
        };
        if checked != named {
            let fresh = self.archive.spool().await?;
            file = tokio::task::spawn_blocking(move || renamed(file, header_len, fresh, checked))
                .await??;
        }
        self.archive_spooled(file, identity, origin).await
    }

    /// Checks the data set of a spooled file, from `start` to the end, in `transfer_syntax`
    /// (the pixel data read past, never held): every door's objects are checked here.
    async fn check_spooled(
        &self,
        mut file: Spooled,
        start: u64,
        transfer_syntax: String,
    ) -> Result<(Spooled, Identity), IngestError> {
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            let source = file.file_at(start).map_err(spool_error)?;
            let source = BufReader::with_capacity(SPOOL_READ_BUFFER, source);
            let identity = parse::dataset(source, &transfer_syntax, &limits)?;
            Ok((file, identity))
        })
        .await?
    }

    /// Renames a checked spool file into the archive and indexes it: the index statements
    /// run while the file is made durable, and commit only once it is (a row never names a
    /// file a crash could take back).
    async fn archive_spooled(
        &self,
        file: Spooled,
        identity: Identity,
        origin: &Origin,
    ) -> Result<Ingested, IngestError> {
        let sha256 = file.sha256();
        let size = file.len();
        let key = key_for(&identity, &sha256);
        let new = new_instance(identity, &key, sha256, size, origin);
        let (archived, prepared) = tokio::join!(
            self.archive.put_spooled(&key, file.into_spool()),
            self.store.prepare_instance(&new),
        );
        archived?;
        // A failed index write leaves the archived file where it is: an identical send may
        // have committed a row naming it meanwhile. The gateway's orphan sweep removes files
        // no row names once they are old enough.
        let recorded = prepared?.commit().await?;
        Ok(Ingested {
            study_uid: new.study_uid,
            sop_class_uid: new.sop_class_uid,
            sop_instance_uid: new.sop_instance_uid,
            recorded,
        })
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
}

/// The index row of an object archived under `key`.
fn new_instance(
    identity: Identity,
    key: &ArchiveKey,
    sha256: String,
    size: u64,
    origin: &Origin,
) -> NewInstance {
    NewInstance {
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
