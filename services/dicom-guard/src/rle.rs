//! RLE Lossless fragment headers (PS3.5 G.5): a 64-byte header whose first word counts the
//! segments, at most 15. dicom-rs's RLE decoder trusts the count and allocates for it (up
//! to 16 GiB from a corrupt header, found by fuzzing imaging).

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// The RLE Lossless transfer syntax.
pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Checks every fragment's RLE header when `transfer_syntax` is RLE Lossless; other
/// syntaxes and objects without encapsulated pixel data pass.
pub fn check_rle_headers(object: &InMemDicomObject, transfer_syntax: &str) -> Result<(), String> {
    if transfer_syntax.trim_end_matches('\0') != RLE_LOSSLESS {
        return Ok(());
    }
    let element = object.element_opt(tags::PIXEL_DATA).ok().flatten();
    let Some(fragments) = element.and_then(|e| e.value().fragments()) else {
        return Ok(());
    };
    for (i, fragment) in fragments.iter().enumerate() {
        if segment_count(fragment).is_none() {
            return Err(format!("invalid RLE header in fragment {i}"));
        }
    }
    Ok(())
}

/// The segment count of one fragment's header, if the header is valid.
pub(crate) fn segment_count(fragment: &[u8]) -> Option<u32> {
    let count = fragment
        .get(0..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
    (fragment.len() >= 64 && count <= 15).then_some(count)
}
