//! Pixel Data to native samples: our own decoders for the JPEG Lossless (`ljpeg`) and
//! JPEG-LS (`jpegls`) syntaxes where they apply, dicom-pixeldata for everything else (and
//! for any stream ours decline), with panics inside dicom-rs's codecs contained.

use std::borrow::Cow;

use dicom_dictionary_std::tags;
use dicom_pixeldata::{
    PhotometricInterpretation, PixelDecoder, PixelRepresentation, PlanarConfiguration,
};

use crate::ljpeg::{LjpegError, LosslessFrame};
use crate::object::Instance;

/// One of our decoders, and how dicom-rs's codec for the same syntax lays out samples.
struct OwnDecoder {
    syntaxes: &'static [&'static str],
    decode: fn(&[u8]) -> Result<LosslessFrame, LjpegError>,
    is_frame_header: fn(u8) -> bool,
    /// Whether dicom-rs's codec gives 16-bit samples at this precision (else 8-bit).
    wide: fn(u8) -> bool,
}

const OWN_DECODERS: [OwnDecoder; 2] = [
    // JPEG Lossless, Non-Hierarchical (Process 14), and its First-Order Prediction subset;
    // dicom-rs uses jpeg-decoder.
    OwnDecoder {
        syntaxes: &["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"],
        decode: crate::ljpeg::decode_lossless,
        is_frame_header: crate::ljpeg_header::is_jpeg_sof,
        wide: |precision| precision != 8,
    },
    // JPEG-LS lossless and near-lossless; dicom-rs uses CharLS.
    OwnDecoder {
        syntaxes: &crate::stream_guard::JPEG_LS,
        decode: crate::jpegls::decode_jpegls,
        is_frame_header: crate::ljpeg_header::is_jpeg_ls_sof,
        wide: |precision| precision > 8,
    },
];

/// Decoded samples (little endian, frame after frame) and the attributes that read them.
pub(crate) struct Native {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) count: usize,
    pub(crate) samples: usize,
    pub(crate) bits_allocated: u16,
    pub(crate) bits_stored: u16,
    pub(crate) signed: bool,
    pub(crate) pi: PhotometricInterpretation,
    /// Colour samples stored plane after plane (PlanarConfiguration 1).
    pub(crate) planar: bool,
    pub(crate) data: Vec<u8>,
}

/// Decodes all frames; the error is the decoder's message.
/// With `j2k_reduce_to`, a large JPEG 2000 image is decoded at the smallest resolution level
/// whose longer side is still at least that many pixels (`j2k.rs`).
pub(crate) fn decode_native(
    instance: &Instance,
    j2k_reduce_to: Option<usize>,
) -> Result<Native, String> {
    if let Some(reduced) = j2k_reduce_to.and_then(|side| crate::j2k::decode_reduced(instance, side))
    {
        return Ok(reduced);
    }
    let ts = instance.transfer_syntax().trim_end_matches('\0');
    if let Some(own) = OWN_DECODERS.iter().find(|d| d.syntaxes.contains(&ts))
        && let Some(native) = own_decode(instance, own)
    {
        return Ok(native);
    }
    // dicom-rs's codecs can panic on corrupt input (the fuzzer found an out-of-bounds index
    // in its RLE decoder for a short segment): contain it as a decode error.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        instance.object.decode_pixel_data()
    }))
    .map_err(|_| "decoder panicked".to_string())?
    .map_err(|e| e.to_string())?;
    // `into_data` moves the buffer out (dicom-pixeldata owns it for every syntax).
    Ok(Native {
        rows: decoded.rows() as usize,
        columns: decoded.columns() as usize,
        count: decoded.number_of_frames().max(1) as usize,
        samples: usize::from(decoded.samples_per_pixel()),
        bits_allocated: decoded.bits_allocated(),
        bits_stored: decoded.bits_stored(),
        signed: decoded.pixel_representation() == PixelRepresentation::Signed,
        pi: decoded.photometric_interpretation().clone(),
        planar: decoded.planar_configuration() == PlanarConfiguration::PixelFirst,
        data: decoded.into_data(),
    })
}

/// An integer attribute, or `None` when absent or unreadable.
pub(crate) fn int(instance: &Instance, tag: dicom_core::Tag) -> Option<u32> {
    let element = instance.object.element_opt(tag).ok().flatten()?;
    element.to_int::<u32>().ok()
}

/// The photometric interpretation when it is MONOCHROME1 or MONOCHROME2 (the only ones our
/// own decoders take), else `None`.
pub(crate) fn monochrome(instance: &Instance) -> Option<PhotometricInterpretation> {
    let pi = instance
        .object
        .element_opt(tags::PHOTOMETRIC_INTERPRETATION)
        .ok()??
        .to_str()
        .ok()?;
    match pi.trim_end_matches(['\0', ' ']) {
        "MONOCHROME1" => Some(PhotometricInterpretation::Monochrome1),
        "MONOCHROME2" => Some(PhotometricInterpretation::Monochrome2),
        _ => None,
    }
}

/// Monochrome frames through one of our decoders, producing the bytes dicom-rs would: `None`
/// (use dicom-rs) for anything else, including streams ours decline or find corrupt, so
/// dicom-rs keeps the last word on those.
fn own_decode(instance: &Instance, own: &OwnDecoder) -> Option<Native> {
    let rows = int(instance, tags::ROWS)? as usize;
    let columns = int(instance, tags::COLUMNS)? as usize;
    let bits_allocated = match int(instance, tags::BITS_ALLOCATED)? {
        8 => 8,
        16 => 16,
        _ => return None,
    };
    let bits_stored = u16::try_from(int(instance, tags::BITS_STORED)?).ok()?;
    int(instance, tags::HIGH_BIT)?;
    let signed = match int(instance, tags::PIXEL_REPRESENTATION)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let count = match instance.object.element_opt(tags::NUMBER_OF_FRAMES).ok()? {
        Some(_) => int(instance, tags::NUMBER_OF_FRAMES)?.max(1) as usize,
        None => 1,
    };
    let pi = monochrome(instance)?;
    if int(instance, tags::SAMPLES_PER_PIXEL)? != 1 {
        return None;
    }
    let pixel_data = instance.object.element_opt(tags::PIXEL_DATA).ok()??;
    let fragments = pixel_data.value().fragments()?;
    // One fragment per frame, or one frame over all fragments; dicom-rs handles the rest.
    let streams: Vec<Cow<'_, [u8]>> = if fragments.len() == count {
        fragments
            .iter()
            .map(|f| Cow::Borrowed(f.as_slice()))
            .collect()
    } else if count == 1 {
        vec![Cow::Owned(fragments.concat())]
    } else {
        return None;
    };
    let bytes = usize::from(bits_allocated / 8);
    let mut data = Vec::with_capacity(rows * columns * count * bytes);
    for stream in &streams {
        // Only a frame of exactly Rows x Columns has dicom-rs's layout; checked on the header
        // so that a mismatched frame is not decoded only to be dropped.
        let (w, h, _) = crate::ljpeg_header::sof_size(stream, own.is_frame_header)?;
        if w != columns || h != rows {
            return None;
        }
        let frame = (own.decode)(stream).ok()?;
        let wide = (own.wide)(frame.precision);
        if frame.width != columns || frame.height != rows || (bytes == 2) != wide {
            return None;
        }
        if wide {
            data.extend(frame.samples.iter().flat_map(|s| s.to_le_bytes()));
        } else {
            data.extend(frame.samples.iter().map(|&s| s as u8));
        }
    }
    Some(Native {
        rows,
        columns,
        count,
        samples: 1,
        bits_allocated,
        bits_stored,
        signed,
        pi,
        planar: false,
        data,
    })
}
