//! A C-STORE data set on its way in: written to a spool file in the archive's temporary
//! area as its PDVs arrive, behind the file meta group the archived file will carry, and
//! hashed as it goes, so the object is never held in memory and the spool file is the
//! archived file (renamed into place once checked).

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

use dicom_object::meta::FileMetaTableBuilder;
use radraft_archive::Spool;
use sha2::{Digest, Sha256};

use super::IngestError;

/// radraft's implementation class UID (a UUID-derived `2.25` UID) for file meta we write.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.193985754947776482033521739175877808808";
const IMPLEMENTATION_VERSION_NAME: &str = "RADRAFT_010";

/// What the file meta group names, besides its fixed parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Named {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    pub calling_ae: Option<String>,
}

/// A data set being received into a spool file: `[preamble, DICM, meta group][data set]`.
#[derive(Debug)]
pub struct IncomingDataset {
    pub(super) spool: Spool,
    hasher: Sha256,
    /// What the meta group names: the request's SOP class and instance, which the data
    /// set itself almost always repeats (checked once it is read).
    pub(super) named: Named,
    pub(super) header_len: u64,
    pub(super) data_len: u64,
}

impl IncomingDataset {
    /// A spool file holding the meta group for `named`, ready for the data set.
    pub(super) fn start(mut spool: Spool, named: Named) -> Result<Self, IngestError> {
        let header = file_header(&named)?;
        spool.file().write_all(&header).map_err(spool_error)?;
        Ok(Self {
            spool,
            hasher: Sha256::new_with_prefix(&header),
            named,
            header_len: header.len() as u64,
            data_len: 0,
        })
    }

    /// Appends the next bytes of the data set (written off the async threads).
    pub async fn append(mut self, bytes: Vec<u8>) -> Result<Self, IngestError> {
        tokio::task::spawn_blocking(move || {
            self.spool.file().write_all(&bytes).map_err(spool_error)?;
            self.hasher.update(&bytes);
            self.data_len += bytes.len() as u64;
            Ok(self)
        })
        .await?
    }

    /// Bytes of the data set received so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// The SHA-256 of the whole file (meta group and data set).
    pub(super) fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The spooled file, positioned at the start of the data set.
    pub(super) fn dataset(&mut self) -> io::Result<&File> {
        let start = self.header_len;
        let file = self.spool.file();
        file.seek(SeekFrom::Start(start))?;
        Ok(file)
    }

    /// The same data set behind a meta group naming `named` instead, in `fresh`: for the
    /// rare sender whose request names another SOP class or instance than its data set.
    /// Copied file to file, hashed on the way.
    pub(super) fn renamed(mut self, fresh: Spool, named: Named) -> Result<Self, IngestError> {
        let mut copy = Self::start(fresh, named)?;
        let source = self.dataset().map_err(spool_error)?;
        let mut sink = Hashing {
            file: copy.spool.file(),
            hasher: &mut copy.hasher,
        };
        copy.data_len =
            io::copy(&mut io::BufReader::new(source), &mut sink).map_err(spool_error)?;
        Ok(copy)
    }
}

/// A writer that hashes what it writes.
struct Hashing<'a> {
    file: &'a mut File,
    hasher: &'a mut Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
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
