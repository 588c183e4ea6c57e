//! Reading a data set from a seekable source (a file a receiver spooled it to, or bytes in
//! memory) with the same bounds as every other read. [`scan_dataset`] also leaves the pixel
//! data behind as it goes, keeping only its layout, so an object of any size is checked
//! in a few KiB and its pixel data is never held in memory at all.

use std::io::{self, Read, Seek, SeekFrom};

use dicom_encoding::transfer_syntax::{Codec, TransferSyntax, TransferSyntaxIndex};
use dicom_object::InMemDicomObject;
use dicom_parser::{DataSetReader, DynStatefulDecoder};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::bounded::Bounded;
use crate::error::GuardError;
use crate::pixels::{PixelLayout, PixelProblem, check_layout};
use crate::read::{Limits, overlong};

/// A data set read without its pixel data: every other element, and the pixel data's
/// layout (lengths, offset table, each fragment's first bytes).
#[derive(Debug)]
pub struct Scanned {
    /// The data set; its Pixel Data element, if any, holds no pixel bytes.
    pub object: InMemDicomObject,
    layout: PixelLayout,
}

impl Scanned {
    /// [`check_pixel_data`](crate::check_pixel_data) for the scanned data set.
    pub fn check_pixel_data(&self, transfer_syntax: &str) -> Result<(), PixelProblem> {
        check_layout(&self.object, &self.layout, transfer_syntax)
    }
}

/// Reads the data set that runs from `source`'s current position to its end, encoded in
/// `transfer_syntax` (no meta group, as a C-STORE carries it), without keeping its pixel
/// data. Buffer `source` (a `BufReader`): it is read in small pieces.
pub fn scan_dataset<R: Read + Seek>(
    source: R,
    transfer_syntax: &str,
    limits: &Limits,
) -> Result<Scanned, GuardError> {
    let uid = transfer_syntax.trim_end_matches(['\0', ' ']);
    let ts = TransferSyntaxRegistry
        .get(uid)
        .ok_or_else(|| GuardError::TransferSyntax {
            uid: uid.to_owned(),
        })?;
    let (object, layout) = read_source(source, ts, limits, true)?;
    Ok(Scanned { object, layout })
}

/// Reads the data set from `source`'s position to its end with every declared length
/// bounded by what is there; with `skip_pixel_data`, pixel bytes are read past, not kept.
pub(crate) fn read_source<'r, R: Read + Seek + 'r>(
    mut source: R,
    ts: &TransferSyntax,
    limits: &Limits,
    skip_pixel_data: bool,
) -> Result<(InMemDicomObject, PixelLayout), GuardError> {
    let failed = |source| GuardError::Source { source };
    let start = source.stream_position().map_err(failed)?;
    let length = source.seek(SeekFrom::End(0)).map_err(failed)? - start;
    source.seek(SeekFrom::Start(start)).map_err(failed)?;
    let (reader, end): (Box<dyn Read + 'r>, u64) = match ts.codec() {
        Codec::Dataset(Some(adapter)) => {
            let end = inflated(&mut source, limits.max_inflated)?;
            source.seek(SeekFrom::Start(start)).map_err(failed)?;
            (adapter.adapt_reader(Box::new(source)), end)
        }
        Codec::Dataset(None) => {
            return Err(GuardError::TransferSyntax {
                uid: ts.uid().to_owned(),
            });
        }
        _ => (Box::new(source), length),
    };
    let decoder =
        DynStatefulDecoder::new_with_ts(reader, ts, 0).map_err(|_| GuardError::TransferSyntax {
            uid: ts.uid().to_owned(),
        })?;
    let mut bounded = Bounded::new(decoder, end);
    if skip_pixel_data {
        bounded = bounded.skipping_pixel_data();
    }
    let tokens = DataSetReader::new(&mut bounded, Default::default());
    let read = crate::build::object(tokens, limits);
    if let Some(found) = bounded.overlong {
        return Err(overlong(found));
    }
    read
}

/// Length of a deflated data set (raw deflate, PS3.5 A.5) once inflated, refused past
/// `limit`; on a corrupt stream, of what inflates before the error (the parser reads the
/// same prefix).
fn inflated<R: Read>(compressed: R, limit: u64) -> Result<u64, GuardError> {
    let mut decoder = flate2::read::DeflateDecoder::new(compressed).take(limit.saturating_add(1));
    let length =
        io::copy(&mut decoder, &mut io::sink()).unwrap_or_else(|_| decoder.get_ref().total_out());
    if length > limit {
        return Err(GuardError::InflatedTooLarge { limit });
    }
    Ok(length)
}

#[cfg(test)]
mod tests;
