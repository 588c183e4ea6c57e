//! Objects on their way in, written to spool files in the archive's temporary area as they
//! arrive and hashed as they go, so no object is ever held in memory and the spool file is
//! the archived file (renamed into place once checked). [`Spooled`] is the file being
//! filled, shared by every door; [`IncomingDataset`] is a C-STORE data set, which the
//! gateway puts behind a file meta group of its own.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

use dicom_object::meta::FileMetaTableBuilder;
use radraft_archive::Spool;
use sha2::{Digest, Sha256};

use super::IngestError;

/// radraft's implementation class UID (a UUID-derived `2.25` UID) for file meta we write.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.193985754947776482033521739175877808808";
const IMPLEMENTATION_VERSION_NAME: &str = "RADRAFT_010";

/// A spool file being filled; what is written to it is hashed and counted on the way.
#[derive(Debug)]
pub(super) struct Spooled {
    spool: Spool,
    hasher: Sha256,
    len: u64,
}

impl Spooled {
    pub(super) fn new(spool: Spool) -> Self {
        Self {
            spool,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Appends `pieces` in order, written off the async threads.
    pub(super) async fn append<B>(mut self, pieces: Vec<B>) -> Result<Self, IngestError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        tokio::task::spawn_blocking(move || {
            for piece in &pieces {
                self.write_all(piece.as_ref()).map_err(spool_error)?;
            }
            Ok(self)
        })
        .await?
    }

    /// Bytes written so far.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// The SHA-256 of everything written.
    pub(super) fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The file, positioned `offset` bytes from its start.
    pub(super) fn file_at(&mut self, offset: u64) -> io::Result<&mut File> {
        let file = self.spool.file();
        file.seek(SeekFrom::Start(offset))?;
        Ok(file)
    }

    pub(super) fn into_spool(self) -> Spool {
        self.spool
    }
}

impl Write for Spooled {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.spool.file().write(buf)?;
        self.hasher.update(&buf[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spool.file().flush()
    }
}

/// What the file meta group names, besides its fixed parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Named {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    pub calling_ae: Option<String>,
}

/// A C-STORE data set being received into a spool file: `[preamble, DICM, meta group]
/// [data set]`.
#[derive(Debug)]
pub struct IncomingDataset {
    pub(super) file: Spooled,
    /// What the meta group names: the request's SOP class and instance, which the data
    /// set itself almost always repeats (checked once it is read).
    pub(super) named: Named,
    pub(super) header_len: u64,
}

impl IncomingDataset {
    /// A spool file holding the meta group for `named`, ready for the data set.
    pub(super) fn start(spool: Spool, named: Named) -> Result<Self, IngestError> {
        let header = file_header(&named)?;
        let mut file = Spooled::new(spool);
        file.write_all(&header).map_err(spool_error)?;
        Ok(Self {
            file,
            named,
            header_len: header.len() as u64,
        })
    }

    /// Appends the next bytes of the data set (written off the async threads).
    pub async fn append(mut self, bytes: Vec<u8>) -> Result<Self, IngestError> {
        self.file = self.file.append(vec![bytes]).await?;
        Ok(self)
    }

    /// Bytes of the data set received so far.
    pub fn data_len(&self) -> u64 {
        self.file.len() - self.header_len
    }
}

/// The data set in `file` (past its `header_len` bytes of meta group) behind a meta group
/// naming `named` instead, in `fresh`: for the rare sender whose request names another SOP
/// class or instance than its data set. Copied file to file, hashed on the way.
pub(super) fn renamed(
    mut file: Spooled,
    header_len: u64,
    fresh: Spool,
    named: Named,
) -> Result<Spooled, IngestError> {
    let mut copy = IncomingDataset::start(fresh, named)?.file;
    let source = file.file_at(header_len).map_err(spool_error)?;
    io::copy(&mut io::BufReader::new(source), &mut copy).map_err(spool_error)?;
    Ok(copy)
}

pub(super) fn spool_error(source: io::Error) -> IngestError {
    IngestError::Spool { source }
}

/// Preamble, "DICM" and the file meta group the archived file starts with.
fn file_header(named: &Named) -> Result<Vec<u8>, IngestError> {
    let mut meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(named.sop_class_uid.as_str())
        .media_storage_sop_instance_uid(named.sop_instance_uid.as_str())
        .transfer_syntax(named.transfer_syntax.as_str())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    if let Some(ae) = &named.calling_ae {
        meta = meta.source_application_entity_title(ae.as_str());
    }
    let meta = meta.build().map_err(|e| IngestError::NotDicom {
        reason: e.to_string(),
    })?;
    let mut header = vec![0u8; 128];
    header.extend_from_slice(b"DICM");
    meta.write(&mut header).map_err(|e| IngestError::NotDicom {
        reason: e.to_string(),
    })?;
    Ok(header)
}
