//! The generated fixture studies (`fixtures/generate.sh`), located from the workspace root.

use std::path::{Path, PathBuf};

/// `fixtures/generated`, or `RADRAFT_FIXTURES` when set.
pub fn generated() -> PathBuf {
    let dir = std::env::var_os("RADRAFT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/generated"));
    assert!(
        dir.join("mixed").is_dir(),
        "fixture studies missing in {}: run `fixtures/generate.sh` first",
        dir.display()
    );
    dir
}

pub fn path(relative: &str) -> PathBuf {
    let path = generated().join(relative);
    assert!(
        path.exists(),
        "fixture {} is missing: rerun fixtures/generate.sh",
        path.display()
    );
    path
}

/// The `.dcm` files under a fixture folder, sorted.
pub fn files(relative: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "dcm") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&path(relative), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no .dcm files under fixture {relative}");
    out
}
