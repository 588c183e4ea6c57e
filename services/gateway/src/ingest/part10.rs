//! A Part 10 file on its way in (a STOW-RS part, an Orthanc download): written to a spool
//! file as it arrives, in batches off the async threads, then its file meta group read from
//! the file's first bytes through the guard. What the meta group declares names the object
//! in a refusal even when its data set is unreadable; where the data set starts and its
//! transfer syntax tell the ingest path what to check on disk.

use std::io::Read;

use bytes::Bytes;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use radraft_core::Uid;
use radraft_dicom_guard::Limits;

use super::IngestError;
use super::spooled::{Spooled, spool_error};

/// Received bytes are written once this many have gathered: network chunks are a few KiB,
/// too small to send to the blocking pool one by one.
const WRITE_BATCH: usize = 1 << 20;

/// The most of a file's start its meta group may span. Real meta groups take a few hundred
/// bytes; one that runs past this is refused as running past the bytes read.
const META_PREFIX: u64 = 1 << 20;

/// The SOP class and instance UIDs a file meta group declares, each where it could be read.
type Declared = (Option<String>, Option<String>);

/// Where a file's data set starts and its transfer syntax, or why it cannot be read.
type DatasetAt = Result<(u64, String), IngestError>;

/// A Part 10 file being received into a spool file.
#[derive(Debug)]
pub struct IncomingFile {
    file: Spooled,
    pending: Vec<Bytes>,
    pending_len: usize,
    limits: Limits,
}

/// A received Part 10 file: spooled whole, its meta group read.
#[derive(Debug)]
pub struct ReceivedFile {
    pub(super) file: Spooled,
    declared: Declared,
    pub(super) dataset: DatasetAt,
}

impl IncomingFile {
    pub(super) fn new(file: Spooled, limits: Limits) -> Self {
        Self {
            file,
            pending: Vec::new(),
            pending_len: 0,
            limits,
        }
    }

    /// Appends the next bytes of the file; they reach the disk in batches.
    pub async fn append(mut self, bytes: Bytes) -> Result<Self, IngestError> {
        self.pending_len += bytes.len();
        self.pending.push(bytes);
        if self.pending_len < WRITE_BATCH {
            return Ok(self);
        }
        self.write_pending().await
    }

    /// The whole file has arrived: writes what is pending and reads the meta group.
    pub async fn finish(self) -> Result<ReceivedFile, IngestError> {
        let Self {
            mut file, limits, ..
        } = self.write_pending().await?;
        tokio::task::spawn_blocking(move || {
            let prefix_len = file.len().min(META_PREFIX);
            let mut prefix = Vec::with_capacity(prefix_len as usize);
            file.file_at(0)
                .and_then(|source| source.take(prefix_len).read_to_end(&mut prefix))
                .map_err(spool_error)?;
            let (declared, dataset) = match radraft_dicom_guard::read_meta(&prefix) {
                Ok(meta) => (declared_uids(&meta), dataset_in(&prefix, &meta, &limits)),
                Err(error) => ((None, None), Err(error.into())),
            };
            Ok(ReceivedFile {
                file,
                declared,
                dataset,
            })
        })
        .await?
    }

    async fn write_pending(mut self) -> Result<Self, IngestError> {
        if self.pending.is_empty() {
            return Ok(self);
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        self.file = self.file.append(pending).await?;
        Ok(self)
    }
}

impl ReceivedFile {
    /// The SOP class and instance UIDs the file meta group declares, each where it could be
    /// read and is a valid UID: what a refusal names even when the data set was unreadable.
    pub fn declared_uids(&self) -> Declared {
        self.declared.clone()
    }

    /// Bytes received.
    pub(super) fn len(&self) -> u64 {
        self.file.len()
    }
}

fn declared_uids(meta: &FileMetaTable) -> Declared {
    let valid = |raw: &str| {
        Uid::parse(raw.trim_end_matches(['\0', ' ']))
            .ok()
            .map(|u| u.to_string())
    };
    (
        valid(meta.media_storage_sop_class_uid()),
        valid(meta.media_storage_sop_instance_uid()),
    )
}

/// Where the data set of the file starting with `prefix` begins, and its transfer syntax.
/// A transfer syntax whose data set cannot be read at all is refused with the error the
/// guard gives for the whole file, as when the file was read from memory.
fn dataset_in(prefix: &[u8], meta: &FileMetaTable, limits: &Limits) -> DatasetAt {
    let readable = TransferSyntaxRegistry
        .get(meta.transfer_syntax())
        .is_some_and(|ts| ts.can_decode_dataset());
    if !readable {
        let error = radraft_dicom_guard::read_file(prefix, limits).err();
        return Err(error.map_or_else(
            || IngestError::UnsupportedTransferSyntax {
                uid: meta.transfer_syntax().to_owned(),
            },
            IngestError::from,
        ));
    }
    // The guard's preamble rule: skipped when "DICM" sits at 128, and only then.
    let start = if prefix.len() >= 132 && &prefix[128..132] == b"DICM" {
        128
    } else {
        0
    };
    // The meta group was checked by `read_meta`; reading it again measures its length.
    let mut rest = &prefix[start..];
    FileMetaTable::from_reader(&mut rest).map_err(|e| IngestError::NotDicom {
        reason: e.to_string(),
    })?;
    let end = prefix.len() - rest.len();
    let transfer_syntax = meta.transfer_syntax().trim_end_matches('\0').to_owned();
    Ok((end as u64, transfer_syntax))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use dicom_object::meta::FileMetaTableBuilder;

    use super::*;

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const INSTANCE: &str = "1.2.826.0.1.3680043.10.1234.5.6";

    /// A meta group in `transfer_syntax` with `preamble` or without, and where it ends.
    fn header(transfer_syntax: &str, preamble: bool) -> (Vec<u8>, u64) {
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(CT)
            .media_storage_sop_instance_uid(INSTANCE)
            .transfer_syntax(transfer_syntax)
            .implementation_class_uid("2.25.1")
            .build()
            .unwrap();
        let mut file = if preamble { vec![0u8; 128] } else { Vec::new() };
        file.extend_from_slice(b"DICM");
        meta.write(&mut file).unwrap();
        let end = file.len() as u64;
        // The start of a data set: (0008,0016) SOPClassUID, explicit VR.
        file.extend_from_slice(&[0x08, 0x00, 0x16, 0x00, b'U', b'I', 2, 0, b'1', 0]);
        (file, end)
    }

    fn read(file: &[u8]) -> (Declared, DatasetAt) {
        let meta = radraft_dicom_guard::read_meta(file).unwrap();
        (
            declared_uids(&meta),
            dataset_in(file, &meta, &Limits::strict(1 << 20)),
        )
    }

    #[test]
    fn the_data_set_starts_where_the_meta_group_ends_with_or_without_a_preamble() {
        for preamble in [true, false] {
            let (file, end) = header("1.2.840.10008.1.2.1", preamble);
            let (declared, dataset) = read(&file);
            assert_eq!(declared, (Some(CT.into()), Some(INSTANCE.into())));
            assert_eq!(dataset.unwrap(), (end, "1.2.840.10008.1.2.1".to_owned()));
        }
    }

    #[test]
    fn an_unknown_transfer_syntax_is_refused_as_the_whole_file_would_be() {
        let (file, _) = header("1.2.3.4.5", true);
        let (declared, dataset) = read(&file);
        assert_eq!(declared.1.as_deref(), Some(INSTANCE));
        let whole = IngestError::from(
            radraft_dicom_guard::read_file(&file, &Limits::strict(1 << 20)).unwrap_err(),
        );
        let error = dataset.unwrap_err();
        assert_eq!(error.code(), "not_dicom");
        assert_eq!(error.to_string(), whole.to_string());
    }
}
