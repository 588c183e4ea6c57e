//! dicom-parser reserves and zero-fills a value's declared length before reading it, so a
//! 1 KiB object declaring a 4 GB element costs 4 GB (found by fuzzing imaging, and at the
//! gateway's doors). Header walks that mirror the parser's rules kept falling out of step
//! with it (eight fuzzing rounds), so the data set is read by dicom-parser itself through
//! [`Bounded`], a `StatefulDecode` that checks every header the parser decodes against the
//! bytes actually left, before the parser can allocate for it. It can also leave the pixel
//! data behind as it reads (see [`Bounded::skipping_pixel_data`]).

use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::{PrimitiveValue, Tag};
use dicom_dictionary_std::tags;
use dicom_parser::StatefulDecode;
use dicom_parser::stateful::decode::Result as DecodeResult;

use crate::meta::{Overlong, consumed};
use crate::pixels::FRAGMENT_HEAD;

/// dicom-parser's decoder, with every decoded header checked against the bytes left.
/// On the first overlong length it records it, skips to the end and hands the parser a
/// zero length, so parsing ends at once without allocating; the read then fails with
/// [`GuardError::DeclaredLength`](crate::GuardError::DeclaredLength).
pub(crate) struct Bounded<S> {
    inner: S,
    end: u64,
    pub(crate) overlong: Option<Overlong>,
    skip_pixel_data: bool,
}

impl<S> Bounded<S> {
    /// Bounds `inner`, which will read `end` bytes in all.
    pub(crate) fn new(inner: S, end: u64) -> Self {
        Self {
            inner,
            end,
            overlong: None,
            skip_pixel_data: false,
        }
    }

    /// Reads past Pixel Data values instead of into memory: a native value comes out
    /// empty (its header keeps the length) and each encapsulated fragment as its first
    /// [`FRAGMENT_HEAD`] bytes, so a data set of any size is checked in a few KiB.
    pub(crate) fn skipping_pixel_data(mut self) -> Self {
        self.skip_pixel_data = true;
        self
    }
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

    /// Skips a Pixel Data value when skipping is on: the bytes the parser would have read
    /// for it (a whole number of words for OW, as `meta::consumed` says), left unread.
    fn skipped(&mut self, header: &DataElementHeader) -> Option<DecodeResult<PrimitiveValue>> {
        if !self.skip_pixel_data || header.tag != tags::PIXEL_DATA {
            return None;
        }
        let len = header.len.get()?;
        let bytes = consumed(header.vr, len as usize) as u32;
        Some(self.inner.skip_bytes(bytes).map(|()| PrimitiveValue::Empty))
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
        if let Some(skipped) = self.skipped(header) {
            return skipped;
        }
        self.inner.read_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        if let Some(skipped) = self.skipped(header) {
            return skipped;
        }
        self.inner.read_value_preserved(header)
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        if let Some(skipped) = self.skipped(header) {
            return skipped;
        }
        self.inner.read_value_bytes(header)
    }

    /// dicom-parser calls this only for encapsulated pixel data fragments.
    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        if !self.skip_pixel_data {
            return self.inner.read_to_vec(length, vec);
        }
        let head = length.min(FRAGMENT_HEAD as u32);
        self.inner.read_to_vec(head, vec)?;
        // The parser reserved the whole fragment, untouched: give it back.
        vec.shrink_to_fit();
        self.inner.skip_bytes(length - head)
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
