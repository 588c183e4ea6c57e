//! The command line's inputs: DICOM files and folders, opened and grouped into studies.
//! Files that are not usable DICOM are reported, not fatal: the rest still gets drafted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use radraft_imaging::{Instance, open_path};

/// One study's opened objects, in the order they were found.
#[derive(Debug)]
pub struct StudyInput {
    /// Study Instance UID; empty when the objects carry none.
    pub study_uid: String,
    pub instances: Vec<Instance>,
}

/// A path left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub path: PathBuf,
    pub reason: String,
}

/// What the inputs held.
#[derive(Debug, Default)]
pub struct Inputs {
    pub studies: Vec<StudyInput>,
    pub rejected: Vec<Rejected>,
}

/// Every file under `paths` (folders walked recursively, in name order), opened and grouped
/// by Study Instance UID. A SOP instance seen twice (the same object in two syntaxes, say)
/// is used once; the later copies are rejected with the reason.
pub fn collect(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    let mut files = Vec::new();
    for path in paths {
        walk(path, &mut files, &mut inputs.rejected);
    }
    let mut seen = HashSet::new();
    for file in files {
        match open_path(&file) {
            Ok(instance) => {
                if !seen.insert(instance.sop_instance_uid.clone()) {
                    inputs.rejected.push(Rejected {
                        path: file,
                        reason: format!(
                            "SOP instance {} already read from another file",
                            instance.sop_instance_uid
                        ),
                    });
                    continue;
                }
                add_to_study(&mut inputs.studies, instance);
            }
            Err(e) => inputs.rejected.push(Rejected {
                path: file,
                reason: e.to_string(),
            }),
        }
    }
    inputs
}

/// Studies keep the order their first object was found in.
fn add_to_study(studies: &mut Vec<StudyInput>, instance: Instance) {
    match studies
        .iter_mut()
        .find(|s| s.study_uid == instance.study_instance_uid)
    {
        Some(study) => study.instances.push(instance),
        None => studies.push(StudyInput {
            study_uid: instance.study_instance_uid.clone(),
            instances: vec![instance],
        }),
    }
}

fn walk(path: &Path, files: &mut Vec<PathBuf>, rejected: &mut Vec<Rejected>) {
    let reject = |reason: String| Rejected {
        path: path.to_path_buf(),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return rejected.push(reject(format!("cannot read: {e}"))),
    };
    if meta.is_file() {
        return files.push(path.to_path_buf());
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => return rejected.push(reject(format!("cannot list folder: {e}"))),
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        // Hidden files (.DS_Store, editor swap files) are never DICOM.
        let hidden = child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden {
            walk(&child, files, rejected);
        }
    }
}
