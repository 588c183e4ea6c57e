//! The archive keeps every received DICOM object exactly as it was sent.
//!
//! Objects are addressed by an [`ArchiveKey`] derived from their UIDs and content hash, so
//! identical bytes always land on the same key and different bytes never overwrite each other.

mod dirsync;
mod durable;
mod key;
mod local;
mod spool;
mod sweep;

use async_trait::async_trait;
use bytes::Bytes;

pub use key::ArchiveKey;
pub use local::LocalArchive;
pub use spool::Spool;
pub use sweep::StaleFiles;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("could not write archive object {key}")]
    Write {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read archive object {key}")]
    Read {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not list archive folder {path}")]
    Scan {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not delete archive object {key}")]
    Delete {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create a spool file")]
    Spool {
        #[source]
        source: std::io::Error,
    },
    #[error("archive task failed to complete")]
    Join(#[from] tokio::task::JoinError),
}

/// What a `put` did: wrote the object, or found identical bytes already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    AlreadyPresent,
}

/// A place to keep objects durably. `put` returns only once the bytes are on stable storage.
#[async_trait]
pub trait Archive: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`. Storing the same bytes again writes nothing (the local
    /// archive refreshes the file's time, so its orphan sweep leaves it alone).
    async fn put(&self, key: &ArchiveKey, bytes: Bytes) -> Result<Put, ArchiveError>;
    /// A new, empty file in the archive's temporary area, to write an object into as it
    /// arrives (see [`Spool`]).
    async fn spool(&self) -> Result<Spool, ArchiveError>;
    /// Stores a spooled file under `key`, with `put`'s durability; returns once it is on
    /// stable storage. The spool is used up either way.
    async fn put_spooled(&self, key: &ArchiveKey, spool: Spool) -> Result<Put, ArchiveError>;
    async fn get(&self, key: &ArchiveKey) -> Result<Vec<u8>, ArchiveError>;
    /// Removes an object. Ingest never calls it on a failed index write: an identical send
    /// may have committed a row naming the same object; orphans are swept instead.
    async fn delete(&self, key: &ArchiveKey) -> Result<(), ArchiveError>;
}
