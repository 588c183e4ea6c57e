//! What is checked before any pixel decoding, so that nothing is allocated for a size the
//! input merely claims: the configurable size guard on the attributes, the transfer syntax,
//! RLE segment headers, and the compressed streams' own headers.

use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::ImagingError;
use crate::object::Instance;

/// Every check, in order; `Ok` means the decoders may run.
pub(crate) fn admit(instance: &Instance, max_samples: u64) -> Result<(), ImagingError> {
    check_size(instance, max_samples)?;
    check_transfer_syntax(instance)?;
    radraft_dicom_guard::check_rle_headers(&instance.object, instance.transfer_syntax())
        .map_err(|message| decode_error(instance, message))?;
    crate::stream_guard::check_stream_headers(instance)
}

/// A decoder's message as the error naming the object's transfer syntax.
pub(crate) fn decode_error(instance: &Instance, message: String) -> ImagingError {
    ImagingError::Decode {
        transfer_syntax: instance
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string(),
        message,
    }
}

fn attr_u32(
    instance: &Instance,
    tag: dicom_core::Tag,
    name: &'static str,
) -> Result<u32, ImagingError> {
    instance
        .object
        .element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<u32>().ok())
        .ok_or(ImagingError::Attribute { name })
}

/// An optional attribute: `default` when absent, an error when present but unreadable.
fn attr_u32_or(
    instance: &Instance,
    tag: dicom_core::Tag,
    name: &'static str,
    default: u32,
) -> Result<u32, ImagingError> {
    match instance.object.element_opt(tag).ok().flatten() {
        Some(e) => e
            .to_int::<u32>()
            .map_err(|_| ImagingError::Attribute { name }),
        None => Ok(default),
    }
}

/// Checks rows x columns x frames x samples against `max_samples` from the attributes
/// alone, so an oversized or lying header never reaches an allocation.
pub fn check_size(instance: &Instance, max_samples: u64) -> Result<(), ImagingError> {
    if instance
        .object
        .element_opt(tags::PIXEL_DATA)
        .ok()
        .flatten()
        .is_none()
    {
        return Err(ImagingError::NoPixelData);
    }
    let rows = attr_u32(instance, tags::ROWS, "Rows")?;
    let columns = attr_u32(instance, tags::COLUMNS, "Columns")?;
    let frames = attr_u32_or(instance, tags::NUMBER_OF_FRAMES, "NumberOfFrames", 1)?;
    let samples = attr_u32_or(instance, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel", 1)?;
    let total =
        u64::from(rows) * u64::from(columns) * u64::from(frames.max(1)) * u64::from(samples.max(1));
    if total > max_samples || rows == 0 || columns == 0 {
        return Err(ImagingError::TooLarge {
            rows,
            columns,
            frames,
            samples,
            total,
            limit: max_samples,
        });
    }
    Ok(())
}

fn check_transfer_syntax(instance: &Instance) -> Result<(), ImagingError> {
    let uid = instance
        .transfer_syntax()
        .trim_end_matches('\0')
        .trim()
        .to_string();
    // dicom-rs lists JPEG Extended (.4.51) as decodable, but its JPEG decoder handles
    // 8-bit samples only; 12-bit data is refused here by name rather than failing inside.
    let bits = instance
        .object
        .element_opt(tags::BITS_ALLOCATED)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<u16>().ok());
    if uid == "1.2.840.10008.1.2.4.51" && bits.is_some_and(|b| b > 8) {
        return Err(ImagingError::UnsupportedTransferSyntax {
            name: "JPEG Extended (Process 2 & 4), 12-bit".to_string(),
            uid,
        });
    }
    match TransferSyntaxRegistry.get(&uid) {
        Some(ts) if !ts.is_unsupported() && !ts.is_unsupported_pixel_encapsulation() => Ok(()),
        Some(ts) => Err(ImagingError::UnsupportedTransferSyntax {
            name: ts.name().to_string(),
            uid,
        }),
        None => Err(ImagingError::UnsupportedTransferSyntax {
            name: "unknown".to_string(),
            uid,
        }),
    }
}
