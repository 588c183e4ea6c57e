//! Every DICOM file we test decoders on: the generated fixtures, the fuzz seeds, and
//! pydicom's and pydicom-data's test files (listed by the imaging reference's corpus.txt).

use std::path::{Path, PathBuf};

pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

pub fn roots() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("fixtures/generated"), root.join("fuzz/seeds")];
    let reference = std::env::var("RADRAFT_IMAGING_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/radraft/imaging-reference")
        });
    if let Ok(list) = std::fs::read_to_string(reference.join("corpus.txt")) {
        dirs.extend(list.lines().filter(|l| !l.is_empty()).map(PathBuf::from));
    }
    dirs
}
