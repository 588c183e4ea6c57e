//! The reading entry points: Part 10 files, bare data sets (as C-STORE carries them) and
//! DIMSE command sets, each through the meta group walk, the [`Bounded`] decoder, the inflate
//! cap and the nesting-aware builder.

use std::io::Cursor;

use dicom_encoding::transfer_syntax::{TransferSyntax, TransferSyntaxIndex};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

use crate::error::GuardError;
use crate::meta::{self, Overlong};

/// What a read may cost and how strict it is about structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A deflated data set that inflates to more than this is refused before it is parsed.
    /// Deflate expands up to about 1000-fold, so without a cap a 1 MB upload costs
    /// inflating 1 GB (twice: once to learn the length, once to parse).
    pub max_inflated: u64,
    /// The most sequences open at once. DICOM objects nest a handful of levels (an
    /// enhanced multi-frame image's functional groups: two); structured reports a few
    /// dozen at most.
    pub max_depth: usize,
    /// The most elements, items and fragments one data set may hold, nested ones included.
    /// Each costs the built object 112 bytes however few it took on the wire (an empty
    /// element: 8): without a bound, a deflated C-STORE of about 1 MB inflating to the
    /// gateway's 1 GiB limit of empty elements would be built as 15 GB.
    pub max_elements: usize,
    /// Refuse encapsulated pixel data that the end of the input cuts off before its
    /// sequence delimiter (dicom-object accepts it as complete, so an object missing
    /// frames or its delimiter reads as whole).
    pub pixel_delimiter_required: bool,
}

/// An enhanced multi-frame object holds a few dozen elements per frame in its functional
/// groups: this admits some fifteen thousand frames, and bounds the list the elements are
/// built in at 56 MiB.
pub const MAX_ELEMENTS: usize = 1 << 19;

/// Twice the pixel bytes imaging's default size guard admits (2^28 16-bit samples).
pub const MAX_INFLATED_BYTES: u64 = 1 << 30;

impl Default for Limits {
    /// What imaging reads archived objects with: dicom-object's own leniency about the
    /// pixel data delimiter, bounded cost.
    fn default() -> Self {
        Self {
            max_inflated: MAX_INFLATED_BYTES,
            max_depth: 64,
            max_elements: MAX_ELEMENTS,
            pixel_delimiter_required: false,
        }
    }
}

impl Limits {
    /// What the gateway admits new objects with: every structure closed, inflation capped
    /// at `max_inflated` (its per-object limit).
    pub fn strict(max_inflated: u64) -> Self {
        Self {
            max_inflated,
            pixel_delimiter_required: true,
            ..Self::default()
        }
    }
}

/// Reads a Part 10 file, with or without its 128-byte preamble.
pub fn read_file(bytes: &[u8], limits: &Limits) -> Result<DefaultDicomObject, GuardError> {
    // Skip the preamble ourselves when "DICM" sits at 128, and only then: dicom-object,
    // left to detect a preamble, would skip a second 128 bytes when the body has "DICM" at
    // 128 too, parsing bytes the meta guard never saw (a 2.5 GB value found by fuzzing).
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else {
        bytes
    };
    read_part10(body, limits)
}

/// Reads Part 10 bytes starting at "DICM" (no preamble).
pub fn read_part10(body: &[u8], limits: &Limits) -> Result<DefaultDicomObject, GuardError> {
    let (meta, rest) = meta_and_rest(body)?;
    let Some(ts) = TransferSyntaxRegistry.get(meta.transfer_syntax()) else {
        // dicom-object fails here too, before the data set: let it say why.
        return Err(dicom_object_error(body));
    };
    let dataset = read_with(rest, ts, limits).map_err(|error| match error {
        GuardError::TransferSyntax { .. } => dicom_object_error(body),
        other => other,
    })?;
    let mut object = DefaultDicomObject::new_empty_with_meta(meta);
    for element in dataset {
        object.put(element);
    }
    Ok(object)
}

/// Reads only the file meta group of Part 10 bytes (preamble optional): what a sender
/// declared the object to be, even when its data set is unreadable.
pub fn read_meta(bytes: &[u8]) -> Result<FileMetaTable, GuardError> {
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else {
        bytes
    };
    meta_and_rest(body).map(|(meta, _)| meta)
}

/// Reads a data set without meta group (as a C-STORE carries it) in `transfer_syntax`.
pub fn read_dataset(
    bytes: &[u8],
    transfer_syntax: &str,
    limits: &Limits,
) -> Result<InMemDicomObject, GuardError> {
    let uid = transfer_syntax.trim_end_matches(['\0', ' ']);
    let ts = TransferSyntaxRegistry
        .get(uid)
        .ok_or_else(|| GuardError::TransferSyntax {
            uid: uid.to_owned(),
        })?;
    read_with(bytes, ts, limits)
}

/// Reads a DIMSE command set: always Implicit VR Little Endian (PS3.7 §6.3.1).
pub fn read_command(bytes: &[u8]) -> Result<InMemDicomObject, GuardError> {
    read_with(
        bytes,
        &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        &Limits::default(),
    )
}

pub(crate) fn overlong((tag, length, remaining): Overlong) -> GuardError {
    GuardError::DeclaredLength {
        tag,
        length,
        remaining,
    }
}

/// The meta group (checked, then read by dicom-object) and the bytes after it.
fn meta_and_rest(body: &[u8]) -> Result<(FileMetaTable, &[u8]), GuardError> {
    meta::check_meta(body).map_err(overlong)?;
    let mut rest = body;
    match FileMetaTable::from_reader(&mut rest) {
        Ok(meta) => Ok((meta, rest)),
        Err(_) => Err(dicom_object_error(body)),
    }
}

/// dicom-object's own error for input it refuses before reading the data set.
fn dicom_object_error(body: &[u8]) -> GuardError {
    match OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(body)
    {
        Err(source) => GuardError::Meta {
            source: Box::new(source),
        },
        // Unreachable in practice (our own reading failed first); say so plainly.
        Ok(_) => GuardError::Structure {
            token: "file meta group",
        },
    }
}

/// Reads the data set in `bytes` with every declared length bounded by what is there.
fn read_with(
    bytes: &[u8],
    ts: &TransferSyntax,
    limits: &Limits,
) -> Result<InMemDicomObject, GuardError> {
    crate::scan::read_source(Cursor::new(bytes), ts, limits, false).map(|(object, _)| object)
}
