//! Spool files: an object that arrives in pieces (a C-STORE data set, PDU by PDU) is written
//! to a file in the archive's temporary area as it comes, checked from there, then moved
//! into place by [`Archive::put_spooled`](crate::Archive::put_spooled) with the same
//! durability as a whole put. No copy of the object is ever held in memory.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::durable::INCOMING_PREFIX;

/// The temporary area below the archive root. The sweep removes spool files a crash left
/// behind, like any other temporary file, once they are older than its grace period.
pub(crate) const SPOOL_FOLDER: &str = ".incoming";

/// A file being filled in the archive's temporary area, opened for reading and writing.
/// Dropped without being put, it is removed.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    file: File,
    kept: bool,
}

impl Spool {
    /// Creates a new, empty spool file in `folder` (created if missing).
    pub(crate) fn create(folder: &Path) -> io::Result<Self> {
        fs::create_dir_all(folder)?;
        let path = folder.join(format!("{INCOMING_PREFIX}{}", uuid::Uuid::new_v4()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Self {
            path,
            file,
            kept: false,
        })
    }

    /// The open file, positioned wherever the last read or write left it.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file now lives elsewhere (renamed into place): dropping must not remove it.
    pub(crate) fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.kept {
            // A file left behind is removed by the sweep after its grace period.
            let _ = fs::remove_file(&self.path);
        }
    }
}
