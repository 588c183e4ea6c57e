//! The imaging boundary's error type: every way a DICOM object or study can fail to
//! become model input, each variant naming what failed.

use std::path::PathBuf;

/// Why an object or a study could not be turned into images.
///
/// All variants are permanent for the given bytes: retrying the same input fails the same
/// way, so a worker dead-letters the job with this error's text as the reason.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// The file could not be read or parsed as DICOM Part 10.
    #[error("cannot open DICOM file {path}: {source}")]
    OpenFile {
        path: PathBuf,
        #[source]
        source: Box<radraft_dicom_guard::GuardError>,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An element declares a value longer than the rest of the input (checked before the
    /// parser allocates it).
    #[error("element {tag} declares {length} bytes but only {remaining} remain")]
    DeclaredLength {
        tag: dicom_core::Tag,
        length: u32,
        remaining: usize,
    },
    /// A deflated data set inflates to more than the limit (`MAX_INFLATED_BYTES`); refused
    /// before it is parsed.
    #[error("deflated data set inflates to more than {limit} bytes")]
    InflatedTooLarge { limit: u64 },
    /// The bytes could not be parsed as DICOM Part 10.
    #[error("cannot parse DICOM bytes: {source}")]
    ParseBytes {
        #[source]
        source: Box<radraft_dicom_guard::GuardError>,
    },
    /// The object has no Pixel Data (7FE0,0010).
    #[error("no pixel data")]
    NoPixelData,
    /// A required attribute is missing or unreadable.
    #[error("missing or invalid attribute {name}")]
    Attribute { name: &'static str },
    /// The transfer syntax has no decoder in this build.
    #[error("unsupported transfer syntax {name} ({uid})")]
    UnsupportedTransferSyntax { uid: String, name: String },
    /// rows x columns x frames x samples exceeds the configured limit; checked before any
    /// pixel buffer is allocated.
    #[error(
        "image too large: {rows}x{columns}x{frames} frames x{samples} samples = {total} > limit {limit}"
    )]
    TooLarge {
        rows: u32,
        columns: u32,
        frames: u32,
        samples: u32,
        total: u64,
        limit: u64,
    },
    /// A compressed stream's own header (JPEG SOFn, JPEG-LS SOF55, JPEG 2000 SIZ) declares
    /// a larger image than the attributes, or cannot be read; checked before the codec
    /// allocates for it.
    #[error("{codec} stream header at {location} {problem}")]
    StreamHeader {
        codec: &'static str,
        location: String,
        problem: String,
    },
    /// A pixel layout we do not handle (bit depth, photometric interpretation, ...).
    #[error("unsupported pixel format: {what}")]
    UnsupportedPixelFormat { what: String },
    /// The decoder failed (corrupt or truncated pixel data, codec error).
    #[error("cannot decode pixel data ({transfer_syntax}): {message}")]
    Decode {
        transfer_syntax: String,
        message: String,
    },
    /// The decoded buffer is shorter than rows x columns x frames says.
    #[error("pixel data too short: expected {expected} bytes, got {actual}")]
    PixelDataLength { expected: usize, actual: usize },
    /// No object of the study gave a usable image; `reasons` lists why each was skipped.
    #[error("no usable image in study ({} objects skipped: {})", .reasons.len(), .reasons.join("; "))]
    NoUsableImage { reasons: Vec<String> },
    /// Encoding a PNG rendering failed.
    #[error("cannot encode PNG: {message}")]
    Png { message: String },
}
