//! Group commit for folder syncs. A file renamed into a folder is durable once the folder
//! has been synced after the rename; every writer syncing the folder itself costs one
//! journal commit per file. Instead, writers of one folder share syncs: a sync covers every
//! rename that finished before it started, so a writer waits for the first sync that starts
//! after its rename (starting it itself when none is running), and one sync answers all the
//! writers that queued while the previous one ran.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The syncs of every folder being written to, one coordinator each.
#[derive(Debug)]
pub(crate) struct FolderSyncs {
    folders: Mutex<HashMap<PathBuf, Arc<Folder>>>,
    /// How many folder syncs were run, for tests.
    performed: AtomicU64,
    /// Syncs one folder; tests slow it down so that writers surely overlap.
    sync_one: fn(&Path) -> io::Result<()>,
}

impl Default for FolderSyncs {
    fn default() -> Self {
        Self {
            folders: Mutex::default(),
            performed: AtomicU64::new(0),
            sync_one: sync_folder,
        }
    }
}

/// Opened afresh each time: the sweep may remove and recreate a folder, and a descriptor
/// kept open would sync the old one.
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[derive(Debug, Default)]
struct Folder {
    state: Mutex<State>,
    finished: Condvar,
}

/// Syncs are numbered in the order they start; at most one runs at a time per folder.
#[derive(Debug, Default)]
struct State {
    started: u64,
    completed: u64,
    running: bool,
    /// The latest sync that failed. After a failed sync the kernel may report later ones
    /// as successful without having written what the failed one lost, so every writer
    /// counting on a sync at or before it is told of the failure.
    failed: Option<Failure>,
}

#[derive(Debug)]
struct Failure {
    sync: u64,
    kind: io::ErrorKind,
    message: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent whatever panicked while holding the lock.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FolderSyncs {
    /// Returns once `dir` has been synced by a sync that started after this call began,
    /// so every change made to the folder before the call (a rename, a `mkdir`) is on
    /// stable storage.
    pub(crate) fn sync(&self, dir: &Path) -> io::Result<()> {
        let folder = Arc::clone(lock(&self.folders).entry(dir.to_path_buf()).or_default());
        let result = self.sync_folder(&folder, dir);
        let mut folders = lock(&self.folders);
        // Forget the folder once no other writer holds it (the map and `folder` are the
        // only references), so the map only holds folders being written to.
        if Arc::strong_count(&folder) == 2 {
            folders.remove(dir);
        }
        result
    }

    fn sync_folder(&self, folder: &Folder, dir: &Path) -> io::Result<()> {
        let mut state = lock(&folder.state);
        // A sync running now may have started before the caller's change: only one that
        // starts from now on is sure to cover it.
        let needed = state.started + 1;
        while state.completed < needed {
            if state.running {
                state = folder
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.running = true;
            state.started += 1;
            let this = state.started;
            drop(state);
            let result = (self.sync_one)(dir);
            self.performed.fetch_add(1, Ordering::Relaxed);
            state = lock(&folder.state);
            state.running = false;
            state.completed = this;
            if let Err(e) = result {
                state.failed = Some(Failure {
                    sync: this,
                    kind: e.kind(),
                    message: e.to_string(),
                });
            }
            folder.finished.notify_all();
        }
        match &state.failed {
            Some(failure) if failure.sync >= needed => Err(io::Error::new(
                failure.kind,
                format!("folder sync failed: {}", failure.message),
            )),
            _ => Ok(()),
        }
    }

    /// Syncs that take at least 10 ms each, as on a slow disk, so that concurrent writers
    /// in a test surely overlap.
    #[cfg(test)]
    pub(crate) fn slow() -> Self {
        fn slow_sync(dir: &Path) -> io::Result<()> {
            std::thread::sleep(std::time::Duration::from_millis(10));
            sync_folder(dir)
        }
        Self {
            sync_one: slow_sync,
            ..Self::default()
        }
    }

    /// How many folder syncs have run.
    #[cfg(test)]
    pub(crate) fn performed(&self) -> u64 {
        self.performed.load(Ordering::Relaxed)
    }

    /// How many folders are being synced or waited for now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        lock(&self.folders).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn a_lone_writer_syncs_once_per_call_and_the_folder_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = FolderSyncs::default();
        syncs.sync(dir.path()).unwrap();
        syncs.sync(dir.path()).unwrap();
        assert_eq!(
            syncs.performed(),
            2,
            "no sync is skipped without a concurrent one"
        );
        assert_eq!(syncs.tracked(), 0);
    }

    #[test]
    fn a_missing_folder_fails_every_writer_counting_on_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = FolderSyncs::default();
        let gone = dir.path().join("gone");
        assert!(syncs.sync(&gone).is_err());
        assert_eq!(syncs.tracked(), 0);
    }

    #[test]
    fn a_later_writer_waits_for_a_sync_that_starts_after_it() {
        let syncs = FolderSyncs::default();
        let folder = Folder::default();
        let dir = tempfile::tempdir().unwrap();
        // A sync is running that started before the writer arrived.
        {
            let mut state = lock(&folder.state);
            state.started = 1;
            state.running = true;
        }
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| syncs.sync_folder(&folder, dir.path()));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(
                syncs.performed(),
                0,
                "the writer waits for the running sync"
            );
            let mut state = lock(&folder.state);
            state.running = false;
            state.completed = 1;
            folder.finished.notify_all();
            drop(state);
            writer.join().unwrap().unwrap();
        });
        assert_eq!(syncs.performed(), 1, "and then runs one of its own");
        assert_eq!(lock(&folder.state).completed, 2);
    }

    #[test]
    fn concurrent_writers_share_syncs() {
        const WRITERS: usize = 16;
        const ROUNDS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let syncs = FolderSyncs::slow();
        let barrier = Barrier::new(WRITERS);
        std::thread::scope(|scope| {
            for _ in 0..WRITERS {
                scope.spawn(|| {
                    for _ in 0..ROUNDS {
                        barrier.wait();
                        syncs.sync(dir.path()).unwrap();
                    }
                });
            }
        });
        let calls = (WRITERS * ROUNDS) as u64;
        assert!(
            syncs.performed() < calls,
            "{} syncs for {calls} calls",
            syncs.performed()
        );
        assert_eq!(syncs.tracked(), 0);
    }
}
