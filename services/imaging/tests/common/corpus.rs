//! Every DICOM file we test decoders on: the generated fixtures, the fuzz seeds, and
//! pydicom's and pydicom-data's test files (listed by the imaging reference's corpus.txt).

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use radraft_imaging::ljpeg::{LjpegError, LosslessFrame};

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

/// A corpus object in an encapsulated syntax, with dicom-rs's decoding of it.
pub struct Decoded {
    pub path: PathBuf,
    pub syntax: String,
    pub fragments: Vec<Vec<u8>>,
    pub frames: usize,
    /// dicom-rs's samples, frame after frame.
    pub reference: Vec<u8>,
}

/// Every corpus object in one of `syntaxes` that dicom-rs decodes, sorted by path.
fn decoded_by_dicom_rs(syntaxes: &[&str]) -> Vec<Decoded> {
    let mut files = Vec::new();
    for dir in roots() {
        files_under(&dir, &mut files);
    }
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let Ok(obj) = OpenFileOptions::new().open_file(&path) else {
            continue;
        };
        let syntax = obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string();
        if !syntaxes.contains(&syntax.as_str()) {
            continue;
        }
        let Some(fragments) = obj
            .element_opt(tags::PIXEL_DATA)
            .ok()
            .flatten()
            .and_then(|e| e.value().fragments().map(<[Vec<u8>]>::to_vec))
        else {
            continue;
        };
        let Ok(reference) = obj.decode_pixel_data() else {
            continue;
        };
        found.push(Decoded {
            path,
            syntax,
            fragments,
            frames: reference.number_of_frames().max(1) as usize,
            reference: reference.data().to_vec(),
        });
    }
    found
}

/// Decodes every frame (one fragment each, or one frame over all fragments) with one of our
/// decoders, laid out as dicom-rs lays them out: 16-bit samples where `wide(precision)`,
/// else 8-bit. `None` when ours declines; a panic when it calls the stream corrupt.
fn decode_like_dicom_rs(
    object: &Decoded,
    decode: fn(&[u8]) -> Result<LosslessFrame, LjpegError>,
    wide: fn(u8) -> bool,
) -> Option<Vec<u8>> {
    let streams: Vec<Vec<u8>> = if object.fragments.len() == object.frames {
        object.fragments.clone()
    } else {
        vec![object.fragments.concat()]
    };
    let mut out = Vec::new();
    for s in &streams {
        let frame = match decode(s) {
            Ok(f) => f,
            Err(LjpegError::Unsupported(_)) => return None,
            Err(e) => panic!("{}: {e}", object.path.display()),
        };
        if wide(frame.precision) {
            out.extend(frame.samples.iter().flat_map(|v| v.to_le_bytes()));
        } else {
            out.extend(frame.samples.iter().map(|&v| v as u8));
        }
    }
    Some(out)
}

/// One of our decoders against dicom-rs on every corpus object in `syntaxes`: panics on the
/// first object whose samples differ; returns those it decoded and the paths it declined.
pub fn compare_with_dicom_rs(
    syntaxes: &[&str],
    decode: fn(&[u8]) -> Result<LosslessFrame, LjpegError>,
    wide: fn(u8) -> bool,
) -> (Vec<Decoded>, Vec<String>) {
    let (mut same, mut declined) = (Vec::new(), Vec::new());
    for object in decoded_by_dicom_rs(syntaxes) {
        match decode_like_dicom_rs(&object, decode, wide) {
            Some(samples) => {
                assert!(
                    samples == object.reference,
                    "{}: samples differ",
                    object.path.display()
                );
                same.push(object);
            }
            None => declined.push(object.path.display().to_string()),
        }
    }
    (same, declined)
}
