//! Parsing Part-10 bytes with dicom-rs without trusting declared lengths.
//!
//! dicom-parser reserves and zero-fills a value's declared length before reading it, so a
//! 1 KiB object declaring a 4 GB element costs 4 GB. Eight fuzzing rounds found header
//! walks (`guard.rs`) that mirror the parser's rules falling out of step with it (a second
//! preamble, an item tag at the top level read as an element, ...). So the data set is now
//! read by dicom-parser itself through [`Bounded`], a `StatefulDecode` that checks every
//! header the parser decodes against the bytes actually left, before the parser can
//! allocate for it. Only the meta group, which dicom-object reads with its own code, is
//! still checked by the header walk.

use std::io::Read;

use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::{PrimitiveValue, Tag};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions};
use dicom_parser::stateful::decode::Result as DecodeResult;
use dicom_parser::{DynStatefulDecoder, StatefulDecode};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::ImagingError;
use crate::guard::{self, Overlong};

fn overlong((tag, length, remaining): Overlong) -> ImagingError {
    ImagingError::DeclaredLength {
        tag,
        length,
        remaining,
    }
}

/// A deflated data set that inflates to more than this is refused before it is parsed:
/// twice the pixel bytes the default size guard admits (2^28 16-bit samples). Deflate
/// expands at most about 1000-fold, so without a cap a 1 MB upload costs inflating 1 GB
/// twice (once to learn the length, once to parse).
pub const MAX_INFLATED_BYTES: u64 = 1 << 30;

/// Parses `body` (starting at "DICM") as dicom-object's `from_reader` would, refusing any
/// declared length longer than the rest of the input.
pub(crate) fn read_object(body: &[u8]) -> Result<DefaultDicomObject, ImagingError> {
    read_object_within(body, MAX_INFLATED_BYTES)
}

/// [`read_object`], with a deflated data set allowed to inflate to `max_inflated` bytes.
fn read_object_within(body: &[u8], max_inflated: u64) -> Result<DefaultDicomObject, ImagingError> {
    guard::check_meta(body).map_err(overlong)?;
    let mut rest = body;
    let meta = FileMetaTable::from_reader(&mut rest);
    let ts = meta
        .as_ref()
        .ok()
        .and_then(|m| TransferSyntaxRegistry.get(m.transfer_syntax()));
    let (Ok(meta), Some(ts)) = (meta, ts) else {
        // dicom-object fails here too, before the data set: let it say why.
        return dicom_object_error(body);
    };
    let (source, end): (Box<dyn Read + '_>, usize) = match ts.codec() {
        Codec::Dataset(Some(adapter)) => (
            adapter.adapt_reader(Box::new(rest)),
            inflated(rest, max_inflated)?,
        ),
        Codec::Dataset(None) => return dicom_object_error(body),
        _ => (Box::new(rest), rest.len()),
    };
    let Ok(inner) = DynStatefulDecoder::new_with_ts(source, ts, 0) else {
        return dicom_object_error(body);
    };
    let mut bounded = Bounded {
        inner,
        end: end as u64,
        overlong: None,
    };
    let dataset = InMemDicomObject::read_dataset(&mut bounded);
    if let Some(found) = bounded.overlong {
        return Err(overlong(found));
    }
    let dataset = dataset.map_err(|source| ImagingError::ParseBytes {
        source: Box::new(source),
    })?;
    let mut object = DefaultDicomObject::new_empty_with_meta(meta);
    for element in dataset {
        object.put(element);
    }
    Ok(object)
}

/// dicom-object's own error for input it refuses before reading the data set.
fn dicom_object_error(body: &[u8]) -> Result<DefaultDicomObject, ImagingError> {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(body)
        .map_err(|source| ImagingError::ParseBytes {
            source: Box::new(source),
        })
}

/// Length of a deflated data set (raw deflate, PS3.5 A.5) once inflated, refused past
/// `limit`; on a corrupt stream, of what inflates before the error (the parser reads the
/// same prefix).
fn inflated(compressed: &[u8], limit: u64) -> Result<usize, ImagingError> {
    let mut decoder = flate2::read::DeflateDecoder::new(compressed).take(limit + 1);
    let length = std::io::copy(&mut decoder, &mut std::io::sink())
        .unwrap_or_else(|_| decoder.get_ref().total_out());
    if length > limit {
        return Err(ImagingError::InflatedTooLarge { limit });
    }
    usize::try_from(length).map_err(|_| ImagingError::InflatedTooLarge { limit })
}

/// dicom-parser's decoder, with every decoded header checked against the bytes left.
/// On the first overlong length it records it, skips to the end and hands the parser a
/// zero length, so parsing ends at once without allocating; `read_object` then fails.
struct Bounded<S> {
    inner: S,
    end: u64,
    overlong: Option<Overlong>,
}

impl<S: StatefulDecode> Bounded<S> {
    /// `Some(0)` in place of `len` when it exceeds what is left.
    fn check(&mut self, tag: Tag, len: Length) -> Option<Length> {
        let len = len.get()?;
        let left = self.end.saturating_sub(self.inner.position());
        if u64::from(len) <= left {
            return None;
        }
        self.overlong.get_or_insert((tag, len, left as usize));
        let _ = self
            .inner
            .skip_bytes(u32::try_from(left).unwrap_or(u32::MAX));
        Some(Length(0))
    }
}

impl<S: StatefulDecode> StatefulDecode for Bounded<S> {
    type Reader = S::Reader;

    fn decode_header(&mut self) -> DecodeResult<DataElementHeader> {
        let mut header = self.inner.decode_header()?;
        if let Some(len) = self.check(header.tag, header.len) {
            header.len = len;
        }
        Ok(header)
    }

    fn decode_item_header(&mut self) -> DecodeResult<SequenceItemHeader> {
        match self.inner.decode_item_header()? {
            SequenceItemHeader::Item { len } => Ok(SequenceItemHeader::Item {
                len: self.check(Tag(0xFFFE, 0xE000), len).unwrap_or(len),
            }),
            other => Ok(other),
        }
    }

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value_preserved(header)
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value_bytes(header)
    }

    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        self.inner.read_to_vec(length, vec)
    }

    fn read_u32_to_vec(&mut self, length: u32, vec: &mut Vec<u32>) -> DecodeResult<()> {
        self.inner.read_u32_to_vec(length, vec)
    }

    fn read_to<W>(&mut self, length: u32, out: W) -> DecodeResult<()>
    where
        Self: Sized,
        W: std::io::Write,
    {
        self.inner.read_to(length, out)
    }

    fn skip_bytes(&mut self, length: u32) -> DecodeResult<()> {
        self.inner.skip_bytes(length)
    }

    fn seek(&mut self, position: u64) -> DecodeResult<()>
    where
        Self::Reader: std::io::Seek,
    {
        self.inner.seek(position)
    }

    fn position(&self) -> u64 {
        self.inner.position()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::io::Write;

    use dicom_dictionary_std::tags;
    use dicom_object::FileMetaTableBuilder;

    use super::*;

    /// "DICM", the meta group, then a raw-deflated data set of one OB element of `length`
    /// zero bytes.
    fn deflated_object(length: u32) -> Vec<u8> {
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1.99")
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3.4")
            .build()
            .unwrap();
        let mut body = b"DICM".to_vec();
        meta.write(&mut body).unwrap();
        let mut dataset = vec![0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0];
        dataset.extend_from_slice(&length.to_le_bytes());
        dataset.resize(dataset.len() + length as usize, 0);
        let mut encoder = flate2::write::DeflateEncoder::new(body, flate2::Compression::fast());
        encoder.write_all(&dataset).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_deflated_data_set_past_the_limit_is_refused_before_parsing() {
        let body = deflated_object(2 << 20);
        assert!(body.len() < 64 << 10, "{} bytes", body.len());
        match read_object_within(&body, 1 << 20) {
            Err(ImagingError::InflatedTooLarge { limit }) => assert_eq!(limit, 1 << 20),
            other => panic!("expected InflatedTooLarge, got {other:?}"),
        }
        let object = read_object_within(&body, 4 << 20).unwrap();
        let pixels = object
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap();
        assert_eq!(pixels.len(), 2 << 20);
    }
}
