//! Durable writes: a file is renamed into place only after its bytes are synced, and every
//! folder on its path has its entry synced in its parent before the file counts as stored.
//! Folder syncs are shared between concurrent writers (see `dirsync`).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::Put;
use crate::dirsync::FolderSyncs;
use crate::spool::Spool;

/// Past this many remembered folders the memory is cleared; forgetting one only costs one
/// extra parent fsync the next time a file goes into it.
const MAX_KNOWN: usize = 65_536;

/// Prefix of a file being written; the sweep removes ones a crash left behind.
pub(crate) const INCOMING_PREFIX: &str = ".incoming-";

/// Folders whose directory entries are known to be on stable storage. A new study or series
/// folder is lost in a crash unless its parent is synced after the `mkdir`, taking every
/// file in it along, so each folder is synced into its parent once per process before the
/// first file in it is reported stored, whoever created it.
#[derive(Debug, Default)]
pub(crate) struct DurableDirs {
    known: Mutex<HashSet<PathBuf>>,
    syncs: FolderSyncs,
}

impl DurableDirs {
    /// With folder syncs slowed down, so that concurrent writers in a test surely overlap.
    #[cfg(test)]
    pub(crate) fn with_slow_syncs() -> Self {
        Self {
            known: Mutex::default(),
            syncs: FolderSyncs::slow(),
        }
    }

    /// How many folder syncs have run.
    #[cfg(test)]
    pub(crate) fn folder_syncs(&self) -> u64 {
        self.syncs.performed()
    }

    fn is_known(&self, dir: &Path) -> bool {
        self.known.lock().is_ok_and(|known| known.contains(dir))
    }

    fn remember(&self, dir: PathBuf) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
            known.insert(dir);
        }
    }

    /// Creates the folders from below `root` down to `dir`, syncing each one's parent.
    /// A folder another writer created a moment ago is synced too: that writer may not
    /// have synced it yet.
    fn ensure(&self, root: &Path, dir: &Path) -> io::Result<()> {
        let Ok(relative) = dir.strip_prefix(root) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "archive folder outside the archive root",
            ));
        };
        let mut current = root.to_path_buf();
        for part in relative.components() {
            let parent = current.clone();
            current.push(part);
            if self.is_known(&current) {
                continue;
            }
            match fs::create_dir(&current) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            self.syncs.sync(&parent)?;
            self.remember(current.clone());
        }
        Ok(())
    }
}

/// Durably writes `bytes` to `path` below `root`. A crash leaves either no file or the
/// whole file, never a torn one, because the rename is atomic and happens after the data
/// is synced; the folder is synced after the rename so the new entry survives too.
pub(crate) fn write(dirs: &DurableDirs, root: &Path, path: &Path, bytes: &[u8]) -> io::Result<Put> {
    if refresh_existing(path)? {
        // Keys embed the content hash, so an existing file already holds these bytes.
        return Ok(Put::AlreadyPresent);
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "archive path has no parent"))?;
    dirs.ensure(root, dir)?;
    let tmp = dir.join(format!("{INCOMING_PREFIX}{}", uuid::Uuid::new_v4()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        // The data and what is needed to read it back (size, blocks); times can go.
        file.sync_data()?;
        fs::rename(&tmp, path)?;
        dirs.syncs.sync(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| Put::Created)
}

/// Durably moves a spooled file to `path` below `root`, as [`write`] does with bytes: the
/// file is synced, renamed into place (on the same file system: the spool folder is below
/// `root`), and the folder synced. When identical bytes are already there the spool is
/// dropped, which removes it.
pub(crate) fn place(
    dirs: &DurableDirs,
    root: &Path,
    path: &Path,
    mut spool: Spool,
) -> io::Result<Put> {
    if refresh_existing(path)? {
        return Ok(Put::AlreadyPresent);
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "archive path has no parent"))?;
    dirs.ensure(root, dir)?;
    spool.file().sync_data()?;
    fs::rename(spool.path(), path)?;
    spool.keep();
    dirs.syncs.sync(dir)?;
    Ok(Put::Created)
}

/// Whether an identical copy is already at `path`. Its modification time is set to now
/// first: the orphan sweep only removes files untouched for its grace period, so a copy
/// whose index row is about to be committed is left alone. If the sweep moved the file away
/// before the touch took, the path no longer names the touched file, and a fresh copy is
/// written instead.
fn refresh_existing(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    file.set_modified(SystemTime::now())?;
    let touched = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) => Ok(now.dev() == touched.dev() && now.ino() == touched.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn creates_nested_folders_and_remembers_them() {
        let root = tempfile::tempdir().unwrap();
        let dirs = DurableDirs::default();
        let path = root.path().join("1.2/1.2.3/x.dcm");
        assert_eq!(
            write(&dirs, root.path(), &path, b"one").unwrap(),
            Put::Created
        );
        assert!(dirs.is_known(&root.path().join("1.2")));
        assert!(dirs.is_known(&root.path().join("1.2/1.2.3")));
        let outside = tempfile::tempdir().unwrap();
        assert!(dirs.ensure(root.path(), outside.path()).is_err());
    }

    #[test]
    fn an_identical_put_refreshes_the_modification_time() {
        let root = tempfile::tempdir().unwrap();
        let dirs = DurableDirs::default();
        let path = root.path().join("1.2/1.2.3/x.dcm");
        write(&dirs, root.path(), &path, b"one").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::open(&path).unwrap().set_modified(old).unwrap();
        assert_eq!(
            write(&dirs, root.path(), &path, b"one").unwrap(),
            Put::AlreadyPresent
        );
        let modified = fs::metadata(&path).unwrap().modified().unwrap();
        assert!(modified > old + Duration::from_secs(3000));
    }
}
