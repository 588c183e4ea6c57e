//! Whether an object's pixel data can match its own image description, checked from the
//! attributes and the encoded bytes alone (nothing is decoded). An object that fails here
//! cannot become an image: a receiver that stored it would supersede a good copy with a
//! broken one (found: a CT slice whose sender rewrote Pixel Data's length to half).

mod layout;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::rle::{RLE_LOSSLESS, segment_count};

pub(crate) use layout::{FRAGMENT_HEAD, Fragment, PixelLayout};

/// Why the pixel data cannot match the image description. Messages stay short: they are
/// sent back as a C-STORE Error Comment (64 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixelProblem {
    #[error("no pixel data")]
    Missing,
    #[error("{name} missing or invalid")]
    Attribute { name: &'static str },
    #[error("BitsAllocated {bits} is not 1 or a multiple of 8")]
    BitsAllocated { bits: u32 },
    #[error("pixel data too short: {actual} of {expected} bytes")]
    TooShort { actual: u64, expected: u64 },
    #[error("pixel data too long: {actual} of {expected} bytes")]
    TooLong { actual: u64, expected: u64 },
    #[error("pixel data not encapsulated as its syntax requires")]
    NotEncapsulated,
    #[error("pixel data encapsulated under a native syntax")]
    Encapsulated,
    #[error("encapsulated pixel data has no fragments")]
    NoFragments,
    #[error("{fragments} pixel data fragments for {frames} frames")]
    TooFewFragments { fragments: usize, frames: u32 },
    #[error("offset table lists {entries} frames, NumberOfFrames {frames}")]
    OffsetTableEntries { entries: usize, frames: u32 },
    #[error("offset table entry {index} is not at a fragment")]
    OffsetTableEntry { index: usize },
    #[error("extended offset table lists {entries} frames of {frames}")]
    ExtendedOffsetTable { entries: usize, frames: u32 },
    #[error("RLE: {fragments} fragments for {frames} frames")]
    RleFragments { fragments: usize, frames: u32 },
    #[error("RLE fragment {index}: invalid header")]
    RleHeader { index: usize },
    #[error("RLE fragment {index}: {segments} segments, image needs {expected}")]
    RleSegments {
        index: usize,
        segments: u32,
        expected: u32,
    },
}

/// The image description the pixel data is held to.
struct Image {
    rows: u32,
    columns: u32,
    bits: u32,
    samples: u32,
    frames: u32,
    /// Samples stored per pixel in native encoding: YBR_FULL_422 keeps two per pixel.
    stored_samples: u32,
}

/// Checks the object's Pixel Data against Rows, Columns, SamplesPerPixel, BitsAllocated
/// and NumberOfFrames: native data must have exactly that length (plus the one pad byte an
/// odd length needs); encapsulated data must have a fragment per frame at least, an offset
/// table (basic or extended) listing each frame at a fragment, and for RLE one fragment
/// per frame with a segment per byte of a sample.
pub fn check_pixel_data(
    object: &InMemDicomObject,
    transfer_syntax: &str,
) -> Result<(), PixelProblem> {
    check_layout(object, &PixelLayout::of(object), transfer_syntax)
}

/// [`check_pixel_data`] on a layout recorded while reading, the pixel bytes not kept.
pub(crate) fn check_layout(
    object: &InMemDicomObject,
    layout: &PixelLayout,
    transfer_syntax: &str,
) -> Result<(), PixelProblem> {
    if *layout == PixelLayout::Missing {
        return Err(PixelProblem::Missing);
    }
    let image = Image::read(object)?;
    let ts = transfer_syntax.trim_end_matches(['\0', ' ']);
    let encapsulated_ts = TransferSyntaxRegistry
        .get(ts)
        .map(|t| t.is_encapsulated_pixel_data());
    match layout {
        PixelLayout::Encapsulated {
            offset_table,
            fragments,
        } => {
            if encapsulated_ts == Some(false) {
                return Err(PixelProblem::Encapsulated);
            }
            check_fragments(object, &image, offset_table, fragments)?;
            if ts == RLE_LOSSLESS {
                check_rle(&image, fragments)?;
            }
            Ok(())
        }
        PixelLayout::Native { length } => {
            if encapsulated_ts == Some(true) {
                return Err(PixelProblem::NotEncapsulated);
            }
            check_native_length(&image, *length)
        }
        PixelLayout::Sequence | PixelLayout::Missing => {
            Err(PixelProblem::Attribute { name: "PixelData" })
        }
    }
}

impl Image {
    fn read(object: &InMemDicomObject) -> Result<Self, PixelProblem> {
        let rows = required(object, tags::ROWS, "Rows")?;
        let columns = required(object, tags::COLUMNS, "Columns")?;
        let bits = required(object, tags::BITS_ALLOCATED, "BitsAllocated")?;
        if bits != 1 && bits % 8 != 0 {
            return Err(PixelProblem::BitsAllocated { bits });
        }
        let samples = optional(object, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?;
        // NumberOfFrames 0 is read as one frame, as the decoders read it.
        let frames = optional(object, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?.map(|f| f.max(1));
        let samples = samples.unwrap_or(1);
        if samples == 0 {
            return Err(PixelProblem::Attribute {
                name: "SamplesPerPixel",
            });
        }
        let photometric = object
            .element_opt(tags::PHOTOMETRIC_INTERPRETATION)
            .ok()
            .flatten()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_owned());
        let stored_samples = match photometric.as_deref() {
            Some("YBR_FULL_422") if samples == 3 => 2,
            _ => samples,
        };
        Ok(Self {
            rows,
            columns,
            bits,
            samples,
            frames: frames.unwrap_or(1),
            stored_samples,
        })
    }

    /// Bytes of native pixel data the description needs (without the pad byte).
    fn native_bytes(&self) -> u64 {
        let samples = u64::from(self.rows)
            .saturating_mul(u64::from(self.columns))
            .saturating_mul(u64::from(self.frames))
            .saturating_mul(u64::from(self.stored_samples));
        if self.bits == 1 {
            samples.div_ceil(8)
        } else {
            samples.saturating_mul(u64::from(self.bits / 8))
        }
    }
}

/// A Type 1 attribute: present, a number, not zero.
fn required(object: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<u32, PixelProblem> {
    match optional(object, tag, name)? {
        Some(value) if value > 0 => Ok(value),
        _ => Err(PixelProblem::Attribute { name }),
    }
}

/// An attribute that may be absent, but when present must be a number.
fn optional(
    object: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<Option<u32>, PixelProblem> {
    match object.element_opt(tag).ok().flatten() {
        None => Ok(None),
        Some(element) => element
            .to_int::<u32>()
            .map(Some)
            .map_err(|_| PixelProblem::Attribute { name }),
    }
}

fn check_native_length(image: &Image, actual: u64) -> Result<(), PixelProblem> {
    let expected = image.native_bytes();
    // Values have even lengths: an odd image size is followed by one pad byte. `expected`
    // saturates at u64::MAX for descriptions no input can meet (65535 x 65535 x 2^31
    // frames x ...), which is odd: the pad must saturate too.
    let padded = expected.saturating_add(expected % 2);
    if actual < expected {
        return Err(PixelProblem::TooShort { actual, expected });
    }
    if actual > padded {
        return Err(PixelProblem::TooLong { actual, expected });
    }
    Ok(())
}

/// Fragments against frames and the offset tables (PS3.5 A.4).
fn check_fragments(
    object: &InMemDicomObject,
    image: &Image,
    offset_table: &[u32],
    fragments: &[Fragment],
) -> Result<(), PixelProblem> {
    let frames = image.frames;
    if fragments.is_empty() {
        return Err(PixelProblem::NoFragments);
    }
    if fragments.len() < frames as usize {
        return Err(PixelProblem::TooFewFragments {
            fragments: fragments.len(),
            frames,
        });
    }
    if !offset_table.is_empty() {
        if offset_table.len() != frames as usize {
            return Err(PixelProblem::OffsetTableEntries {
                entries: offset_table.len(),
                frames,
            });
        }
        // Each entry is the offset of a fragment's item tag, counted from the first
        // fragment's; frames are in order.
        let mut starts = Vec::with_capacity(fragments.len());
        let mut at = 0u64;
        for fragment in fragments {
            starts.push(at);
            at += 8 + fragment.length;
        }
        let mut previous = None;
        for (index, &offset) in offset_table.iter().enumerate() {
            let offset = u64::from(offset);
            let ordered = previous.is_none_or(|p| offset > p) && (index > 0 || offset == 0);
            if !ordered || starts.binary_search(&offset).is_err() {
                return Err(PixelProblem::OffsetTableEntry { index });
            }
            previous = Some(offset);
        }
    }
    // The Extended Offset Table (7FE0,0001) holds one 8-byte offset per frame.
    if let Some(extended) = object
        .element_opt(tags::EXTENDED_OFFSET_TABLE)
        .ok()
        .flatten()
    {
        let entries = extended
            .value()
            .primitive()
            .map_or(0, |v| v.calculate_byte_len() / 8);
        if entries != frames as usize {
            return Err(PixelProblem::ExtendedOffsetTable { entries, frames });
        }
    }
    Ok(())
}

/// RLE Lossless (PS3.5 G): one fragment per frame, each with a valid header naming one
/// segment per byte of each sample.
fn check_rle(image: &Image, fragments: &[Fragment]) -> Result<(), PixelProblem> {
    if fragments.len() != image.frames as usize {
        return Err(PixelProblem::RleFragments {
            fragments: fragments.len(),
            frames: image.frames,
        });
    }
    let expected = image.samples.saturating_mul(image.bits.div_ceil(8));
    for (index, fragment) in fragments.iter().enumerate() {
        match segment_count(&fragment.head) {
            None => return Err(PixelProblem::RleHeader { index }),
            Some(segments) if segments != expected => {
                return Err(PixelProblem::RleSegments {
                    index,
                    segments,
                    expected,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
