//! The local-filesystem archive: write to a temporary file, fsync, rename, fsync the folder
//! (and, for a new folder, its parent; see `durable`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::durable::{self, DurableDirs};
use crate::spool::SPOOL_FOLDER;
use crate::{Archive, ArchiveError, ArchiveKey, Put, Spool};

#[derive(Debug, Clone)]
pub struct LocalArchive {
    root: PathBuf,
    dirs: Arc<DurableDirs>,
}

impl LocalArchive {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dirs: Arc::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, key: &ArchiveKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// As [`LocalArchive::new`], with folder syncs slowed down (see `dirsync`).
    #[cfg(test)]
    fn with_slow_syncs(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dirs: Arc::new(DurableDirs::with_slow_syncs()),
        }
    }

    /// Where spool files are written: below the root, so they rename into place.
    pub fn spool_folder(&self) -> PathBuf {
        self.root.join(SPOOL_FOLDER)
    }
}

#[async_trait]
impl Archive for LocalArchive {
    async fn put(&self, key: &ArchiveKey, bytes: Bytes) -> Result<Put, ArchiveError> {
        let path = self.path_of(key);
        let (dirs, root) = (Arc::clone(&self.dirs), self.root.clone());
        tokio::task::spawn_blocking(move || durable::write(&dirs, &root, &path, &bytes))
            .await?
            .map_err(|source| ArchiveError::Write {
                key: key.to_string(),
                source,
            })
    }

    async fn spool(&self) -> Result<Spool, ArchiveError> {
        let folder = self.spool_folder();
        tokio::task::spawn_blocking(move || Spool::create(&folder))
            .await?
            .map_err(|source| ArchiveError::Spool { source })
    }

    async fn put_spooled(&self, key: &ArchiveKey, spool: Spool) -> Result<Put, ArchiveError> {
        let path = self.path_of(key);
        let (dirs, root) = (Arc::clone(&self.dirs), self.root.clone());
        tokio::task::spawn_blocking(move || durable::place(&dirs, &root, &path, spool))
            .await?
            .map_err(|source| ArchiveError::Write {
                key: key.to_string(),
                source,
            })
    }

    async fn get(&self, key: &ArchiveKey) -> Result<Vec<u8>, ArchiveError> {
        tokio::fs::read(self.path_of(key))
            .await
            .map_err(|source| ArchiveError::Read {
                key: key.to_string(),
                source,
            })
    }

    async fn delete(&self, key: &ArchiveKey) -> Result<(), ArchiveError> {
        match tokio::fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ArchiveError::Delete {
                key: key.to_string(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use radraft_core::Uid;

    fn key(hash: char) -> ArchiveKey {
        let uid = |s| Uid::parse(s).unwrap();
        ArchiveKey::for_instance(
            &uid("1.2"),
            &uid("1.2.3"),
            &uid("1.2.3.4"),
            &hash.to_string().repeat(64),
        )
    }

    #[tokio::test]
    async fn put_get_delete_round_trip_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::new(dir.path());
        let k = key('a');
        assert_eq!(
            archive
                .put(&k, Bytes::from_static(b"DICM bytes"))
                .await
                .unwrap(),
            Put::Created
        );
        assert_eq!(
            archive
                .put(&k, Bytes::from_static(b"DICM bytes"))
                .await
                .unwrap(),
            Put::AlreadyPresent
        );
        assert_eq!(archive.get(&k).await.unwrap(), b"DICM bytes");

        let folder = archive.path_of(&k).parent().unwrap().to_path_buf();
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "only the object itself: {names:?}");

        archive.delete(&k).await.unwrap();
        assert!(archive.get(&k).await.is_err());
        archive.delete(&k).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_puts_into_one_folder_are_all_stored_with_shared_folder_syncs() {
        const PUTS: usize = 24;
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::with_slow_syncs(dir.path());
        let uid = |s: String| Uid::parse(&s).unwrap();
        let keys: Vec<ArchiveKey> = (0..PUTS)
            .map(|i| {
                let hash = format!("{i:064x}");
                ArchiveKey::for_instance(
                    &uid("1.2".into()),
                    &uid("1.2.3".into()),
                    &uid(format!("1.2.3.{i}")),
                    &hash,
                )
            })
            .collect();
        let puts: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (archive, k) = (archive.clone(), k.clone());
                tokio::spawn(async move { archive.put(&k, Bytes::from(vec![i as u8; 4096])).await })
            })
            .collect();
        for put in puts {
            assert_eq!(put.await.unwrap().unwrap(), Put::Created);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(archive.get(k).await.unwrap(), vec![i as u8; 4096]);
        }
        let folder = archive.path_of(&keys[0]).parent().unwrap().to_path_buf();
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count(),
            PUTS,
            "no temp files"
        );
        // Two of these sync the new study and series folders into their parents.
        let syncs = archive.dirs.folder_syncs();
        assert!(
            syncs < PUTS as u64,
            "{syncs} folder syncs for {PUTS} concurrent puts"
        );
    }

    #[tokio::test]
    async fn versions_live_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::new(dir.path());
        archive
            .put(&key('a'), Bytes::from_static(b"one"))
            .await
            .unwrap();
        archive
            .put(&key('b'), Bytes::from_static(b"two"))
            .await
            .unwrap();
        assert_eq!(archive.get(&key('a')).await.unwrap(), b"one");
        assert_eq!(archive.get(&key('b')).await.unwrap(), b"two");
    }

    #[tokio::test]
    async fn a_spooled_object_is_moved_into_place_and_a_duplicate_spool_removed() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let archive = LocalArchive::new(dir.path());
        let k = key('c');
        let mut spool = archive.spool().await.unwrap();
        assert!(spool.path().starts_with(archive.spool_folder()));
        spool.file().write_all(b"spooled bytes").unwrap();
        assert_eq!(archive.put_spooled(&k, spool).await.unwrap(), Put::Created);
        assert_eq!(archive.get(&k).await.unwrap(), b"spooled bytes");

        let mut again = archive.spool().await.unwrap();
        again.file().write_all(b"spooled bytes").unwrap();
        let again_path = again.path().to_path_buf();
        assert_eq!(
            archive.put_spooled(&k, again).await.unwrap(),
            Put::AlreadyPresent
        );
        assert!(!again_path.exists(), "the duplicate spool file is removed");

        // A spool dropped unused leaves nothing behind either.
        let unused = archive.spool().await.unwrap();
        let unused_path = unused.path().to_path_buf();
        drop(unused);
        assert!(!unused_path.exists());
        assert_eq!(
            std::fs::read_dir(archive.spool_folder()).unwrap().count(),
            0,
            "the spool folder is empty"
        );
    }
}
