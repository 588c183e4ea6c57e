//! Finding and removing orphaned objects: files written to the archive whose index row was
//! never committed (the index write failed, or the process died between the two). Ingest
//! never deletes what it wrote, since an identical send may have committed a row pointing
//! at the same file meanwhile; this sweep removes a file only once it has been untouched
//! for a grace period and no row names it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::durable::INCOMING_PREFIX;
use crate::{ArchiveError, ArchiveKey, LocalArchive};

/// Prefix of a file the sweep has moved aside while it decides.
const SWEEPING_PREFIX: &str = ".sweeping-";

/// What one series folder holds that the sweep may remove.
#[derive(Debug, Default)]
pub struct StaleFiles {
    /// Objects not modified since the cutoff; the caller checks the index before removing.
    pub objects: Vec<ArchiveKey>,
    /// Temporary files older than the cutoff that were removed (a crash mid-write).
    pub temporaries_removed: usize,
}

impl LocalArchive {
    /// Every `study/series` folder in the archive, and the spool folder when there is one
    /// (it holds only temporary files, which [`LocalArchive::stale_in`] removes when old).
    pub async fn series_folders(&self) -> Result<Vec<PathBuf>, ArchiveError> {
        let root = self.root().to_path_buf();
        let spool = self.spool_folder();
        tokio::task::spawn_blocking(move || {
            let mut folders = Vec::new();
            for study in subfolders(&root)? {
                if study != spool {
                    folders.extend(subfolders(&study)?);
                }
            }
            if spool.is_dir() {
                folders.push(spool);
            }
            Ok(folders)
        })
        .await?
        .map_err(|source| ArchiveError::Scan {
            path: self.root().display().to_string(),
            source,
        })
    }

    /// The objects in `folder` untouched since `cutoff`; temporary files older than that
    /// are removed on the way, as nothing can still be writing them.
    pub async fn stale_in(
        &self,
        folder: PathBuf,
        cutoff: SystemTime,
    ) -> Result<StaleFiles, ArchiveError> {
        let root = self.root().to_path_buf();
        let shown = folder.display().to_string();
        tokio::task::spawn_blocking(move || stale_in(&root, &folder, cutoff))
            .await?
            .map_err(|source| ArchiveError::Scan {
                path: shown,
                source,
            })
    }

    /// Removes the object at `key` unless it was touched at or after `cutoff`. It is first
    /// moved aside and its time read again: an identical put refreshes the time before it
    /// reports the object present, and a put that finds the path empty writes a fresh copy,
    /// so a row committed meanwhile always has its file. Returns whether it was removed.
    pub async fn remove_if_untouched(
        &self,
        key: &ArchiveKey,
        cutoff: SystemTime,
    ) -> Result<bool, ArchiveError> {
        let path = self.path_of(key);
        tokio::task::spawn_blocking(move || remove_if_untouched(&path, cutoff))
            .await?
            .map_err(|source| ArchiveError::Delete {
                key: key.to_string(),
                source,
            })
    }
}

fn subfolders(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            found.push(entry.path());
        }
    }
    Ok(found)
}

fn stale_in(root: &Path, folder: &Path, cutoff: SystemTime) -> io::Result<StaleFiles> {
    let mut stale = StaleFiles::default();
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        // Removed since it was listed: nothing to sweep.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(stale),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let metadata = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if metadata.modified()? >= cutoff {
            continue;
        }
        if name.starts_with(INCOMING_PREFIX) || name.starts_with(SWEEPING_PREFIX) {
            match fs::remove_file(entry.path()) {
                Ok(()) => stale.temporaries_removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else if name.ends_with(".dcm")
            && let Ok(relative) = entry.path().strip_prefix(root)
            && let Some(key) = relative.to_str()
        {
            stale.objects.push(ArchiveKey::from_stored(key.to_owned()));
        }
    }
    Ok(stale)
}

fn remove_if_untouched(path: &Path, cutoff: SystemTime) -> io::Result<bool> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "archive path has no parent"))?;
    let aside = dir.join(format!("{SWEEPING_PREFIX}{}", uuid::Uuid::new_v4()));
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    if fs::metadata(&aside)?.modified()? >= cutoff {
        // Touched by a put since it was listed: a row is about to name it. Putting it back
        // replaces at most a fresh copy of the same bytes.
        fs::rename(&aside, path)?;
        return Ok(false);
    }
    fs::remove_file(&aside)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Archive;
    use bytes::Bytes;
    use radraft_core::Uid;
    use std::fs::File;
    use std::time::Duration;

    fn key(sop: &str) -> ArchiveKey {
        let uid = |s| Uid::parse(s).unwrap();
        ArchiveKey::for_instance(&uid("1.2"), &uid("1.2.3"), &uid(sop), &"a".repeat(64))
    }

    fn age(path: &Path, by: Duration) {
        let when = SystemTime::now() - by;
        File::open(path).unwrap().set_modified(when).unwrap();
    }

    #[tokio::test]
    async fn lists_old_objects_removes_old_temporaries_and_spares_touched_files() {
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::new(dir.path());
        let (old, fresh) = (key("1.2.3.1"), key("1.2.3.2"));
        for k in [&old, &fresh] {
            archive.put(k, Bytes::from_static(b"DICM")).await.unwrap();
        }
        let hour = Duration::from_secs(3600);
        age(&archive.path_of(&old), 2 * hour);
        let series = archive.path_of(&old).parent().unwrap().to_path_buf();
        let crashed = series.join(format!("{INCOMING_PREFIX}x"));
        fs::write(&crashed, b"half").unwrap();
        age(&crashed, 2 * hour);

        assert_eq!(
            archive.series_folders().await.unwrap(),
            vec![series.clone()]
        );
        let cutoff = SystemTime::now() - hour;
        let stale = archive.stale_in(series.clone(), cutoff).await.unwrap();
        assert_eq!(stale.objects, vec![old.clone()]);
        assert_eq!(stale.temporaries_removed, 1);
        assert!(!crashed.exists());

        // An identical put between the listing and the removal keeps the file.
        archive
            .put(&old, Bytes::from_static(b"DICM"))
            .await
            .unwrap();
        assert!(!archive.remove_if_untouched(&old, cutoff).await.unwrap());
        assert_eq!(archive.get(&old).await.unwrap(), b"DICM");

        age(&archive.path_of(&old), 2 * hour);
        assert!(archive.remove_if_untouched(&old, cutoff).await.unwrap());
        assert!(archive.get(&old).await.is_err());
        assert!(!archive.remove_if_untouched(&old, cutoff).await.unwrap());
        let names: Vec<_> = fs::read_dir(&series).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the fresh object is left: {names:?}");
    }

    #[tokio::test]
    async fn spool_files_a_crash_left_behind_are_swept_once_old() {
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::new(dir.path());
        let spool = archive.spool().await.unwrap();
        let (left, fresh) = (spool.path().to_path_buf(), archive.spool().await.unwrap());
        // A crash: the spool is never dropped, its file stays.
        std::mem::forget(spool);
        let hour = Duration::from_secs(3600);
        age(&left, 2 * hour);
        let folders = archive.series_folders().await.unwrap();
        assert_eq!(folders, vec![archive.spool_folder()]);
        let cutoff = SystemTime::now() - hour;
        let stale = archive
            .stale_in(archive.spool_folder(), cutoff)
            .await
            .unwrap();
        assert_eq!(stale.temporaries_removed, 1);
        assert!(stale.objects.is_empty());
        assert!(!left.exists());
        assert!(fresh.path().exists(), "a spool in use is left alone");
    }
}
