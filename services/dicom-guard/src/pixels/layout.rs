//! What an object's Pixel Data is made of, without its bytes: the length of native data,
//! or the offset table and each fragment's length and first bytes. The checks run on this,
//! so an object read without keeping its pixel data ([`scan_dataset`](crate::scan_dataset))
//! is held to exactly the rules an object read whole is.

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// How many bytes of each fragment are kept: an RLE header is 64 bytes, and nothing else
/// the checks read lies further in.
pub(crate) const FRAGMENT_HEAD: usize = 64;

/// The top-level Pixel Data (7FE0,0010) as the checks see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum PixelLayout {
    #[default]
    Missing,
    /// Native pixel data of this many bytes.
    Native { length: u64 },
    Encapsulated {
        offset_table: Vec<u32>,
        fragments: Vec<Fragment>,
    },
    /// Pixel Data read as a sequence of data sets: never an image.
    Sequence,
}

/// One fragment of encapsulated pixel data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub length: u64,
    /// The first [`FRAGMENT_HEAD`] bytes (all of them when shorter).
    pub head: Vec<u8>,
}

impl Fragment {
    pub(crate) fn of(length: u64, bytes: &[u8]) -> Self {
        Self {
            length,
            head: bytes[..bytes.len().min(FRAGMENT_HEAD)].to_vec(),
        }
    }
}

impl PixelLayout {
    /// The layout of an object read whole.
    pub(crate) fn of(object: &InMemDicomObject) -> Self {
        let Some(element) = object.element_opt(tags::PIXEL_DATA).ok().flatten() else {
            return Self::Missing;
        };
        match element.value() {
            Value::PixelSequence(sequence) => Self::Encapsulated {
                offset_table: sequence.offset_table().to_vec(),
                fragments: sequence
                    .fragments()
                    .iter()
                    .map(|f| Fragment::of(f.len() as u64, f))
                    .collect(),
            },
            Value::Primitive(value) => Self::Native {
                length: value.calculate_byte_len() as u64,
            },
            Value::Sequence(_) => Self::Sequence,
        }
    }
}
