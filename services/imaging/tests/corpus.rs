//! Bad input: every file of pydicom's and pydicom-data's test sets (malformed ones
//! included) and our own bad fixtures goes through open → study → model input and must
//! return `Ok` or a typed `Err`, never panic. The folders come from
//! `services/imaging/reference/run.sh` (its `corpus.txt`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use radraft_imaging::{StudyOptions, model_input, open_bytes, open_path, png, prepare_study};

fn corpus_list() -> PathBuf {
    let dir = std::env::var("RADRAFT_IMAGING_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::var("RADRAFT_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/radraft")
                })
                .join("imaging-reference")
        });
    dir.join("corpus.txt")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// The whole pipeline on one file; the return value says what happened.
fn run(path: &Path) -> String {
    let options = StudyOptions {
        max_slices: 4,
        ..StudyOptions::default()
    };
    let from_path = open_path(path);
    // The same bytes through `open_bytes` must agree on success or failure.
    if let Ok(bytes) = std::fs::read(path) {
        let from_bytes = open_bytes(&bytes);
        assert_eq!(
            from_path.is_ok(),
            from_bytes.is_ok(),
            "{}: open_path and open_bytes disagree",
            path.display()
        );
    }
    let inst = match from_path {
        Ok(i) => i,
        Err(e) => return format!("open error: {e}"),
    };
    match prepare_study(std::slice::from_ref(&inst), &options) {
        Ok(study) => {
            for img in &study.images {
                let input = model_input(&img.image, 64);
                assert_eq!(input.shape(), &[3, 64, 64]);
                assert!(input.iter().all(|v| (-1.0..=1.0).contains(v)));
                png(&img.image).unwrap();
            }
            format!("ok: {} images", study.images.len())
        }
        Err(e) => format!("study error: {e}"),
    }
}

#[test]
fn every_corpus_file_gives_ok_or_a_typed_error() {
    let list = corpus_list();
    let text = std::fs::read_to_string(&list).unwrap_or_else(|e| {
        panic!(
            "corpus list missing ({}: {e}); run services/imaging/reference/run.sh first",
            list.display()
        )
    });
    let mut files = Vec::new();
    for dir in text.lines().filter(|l| !l.is_empty()) {
        files_under(Path::new(dir), &mut files);
    }
    files.retain(|p| {
        !p.extension()
            .is_some_and(|e| e == "py" || e == "txt" || e == "json" || e == "md")
    });
    files.sort();
    assert!(
        files.len() > 200,
        "expected the pydicom corpora, found {} files",
        files.len()
    );
    let (mut ok, mut err, mut panics) = (0, 0, Vec::new());
    for f in &files {
        match catch_unwind(AssertUnwindSafe(|| run(f))) {
            Ok(outcome) => {
                if outcome.starts_with("ok") {
                    ok += 1
                } else {
                    err += 1
                }
                println!("{}: {outcome}", f.display());
            }
            Err(_) => panics.push(f.display().to_string()),
        }
    }
    eprintln!(
        "corpus: {} files, {ok} ok, {err} typed errors, {} panics",
        files.len(),
        panics.len()
    );
    assert!(panics.is_empty(), "panicked on:\n{}", panics.join("\n"));
}

/// The fuzz seeds (tiny synthetic objects, one per decoder path, committed in
/// `fuzz/seeds`) must all give images.
#[test]
fn every_fuzz_seed_gives_an_image() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    assert!(files.len() >= 10, "fuzz seeds missing in {}", dir.display());
    for f in files {
        let outcome = run(&f);
        assert!(outcome.starts_with("ok"), "{}: {outcome}", f.display());
    }
}

/// The same 16-bit array stored in five syntaxes decodes to the same image.
#[test]
fn fuzz_seed_syntaxes_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let image = |name: &str| {
        let inst = open_path(&dir.join(format!("{name}.dcm"))).unwrap();
        prepare_study(&[inst], &StudyOptions::default())
            .unwrap()
            .images[0]
            .image
            .clone()
    };
    let reference = image("implicit");
    for name in ["bigendian", "deflate", "rle"] {
        assert_eq!(image(name), reference, "{name}");
    }
}
