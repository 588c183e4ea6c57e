//! Compressed streams carry their own image size, and the codecs allocate for that size, not
//! for Rows x Columns: jpeg-decoder (66 MB from a 1 KiB object, found by fuzzing), CharLS
//! and OpenJPEG alike. So before any codec runs, every frame's stream header must declare
//! an image within Columns x Rows x SamplesPerPixel, which the size guard has already
//! bounded.

use dicom_dictionary_std::tags;
use dicom_encoding::adapters::PixelDataObject;

use crate::codec::int;
use crate::error::ImagingError;
use crate::j2k_header::j2k_header;
use crate::object::Instance;

/// The syntaxes dicom-rs decodes with jpeg-decoder.
const JPEG_FAMILY: [&str; 4] = [
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
];

/// The syntaxes dicom-rs decodes with CharLS (lossless and near-lossless).
pub(crate) const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];

/// The syntaxes dicom-rs decodes with OpenJPEG: JPEG 2000 and High-Throughput JPEG 2000,
/// lossless, lossy and multi-component.
const JPEG_2000: [&str; 7] = [
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.92",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
];

/// OpenJPEG sets up every tile before decoding any (about 10 KB each, measured: a 256 x 256
/// slice re-declared as 32768 tiles of 1 x 2 pixels took 325 MB), and allows up to 65535.
/// Encoders write one tile, or a few hundred for very large images.
const MAX_J2K_TILES: usize = 4096;

/// The bound every stream header is held to, from the object's attributes.
struct Declared {
    rows: usize,
    columns: usize,
    samples: usize,
}

/// Checks the stream headers of a JPEG, JPEG-LS or JPEG 2000 object; other syntaxes pass.
pub(crate) fn check_stream_headers(instance: &Instance) -> Result<(), ImagingError> {
    let ts = instance.transfer_syntax().trim_end_matches('\0');
    let (Some(rows), Some(columns)) = (int(instance, tags::ROWS), int(instance, tags::COLUMNS))
    else {
        return Ok(()); // the size guard refuses these first
    };
    let declared = Declared {
        rows: rows as usize,
        columns: columns as usize,
        samples: int(instance, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as usize,
    };
    if JPEG_FAMILY.contains(&ts) {
        return check_jpeg(instance, &declared);
    }
    let (codec, header): (&'static str, fn(&[u8]) -> Header) = if JPEG_LS.contains(&ts) {
        ("JPEG-LS", jpeg_ls_header)
    } else if JPEG_2000.contains(&ts) {
        ("JPEG 2000", j2k_header)
    } else {
        return Ok(());
    };
    let frames = int(instance, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    for frame in 0..frames {
        // The same bytes the codec adapter will be given for this frame.
        let Some(data) = instance.object.frame_pixel_data(frame) else {
            continue; // dicom-rs reports the missing frame itself
        };
        admissible(header(&data), &declared)
            .map_err(|problem| stream_error(codec, format!("frame {frame}"), problem))?;
    }
    Ok(())
}

/// Why one frame's header is refused, if it is.
fn admissible(header: Header, declared: &Declared) -> Result<(), String> {
    match header {
        Header::Size(size, tiles) => {
            within(size, declared)?;
            if tiles > MAX_J2K_TILES {
                return Err(format!(
                    "declares {tiles} tiles, more than the {MAX_J2K_TILES} allowed"
                ));
            }
            Ok(())
        }
        // The codec refuses these before allocating anything.
        Header::NotThisFormat => Ok(()),
        Header::Refused(problem) => Err(problem),
    }
}

/// Image size a stream header declares: width, height, components.
pub(crate) type Size = (usize, usize, usize);

pub(crate) enum Header {
    /// The declared size, and how many tiles it is cut into (JPEG 2000; 1 otherwise).
    Size(Size, usize),
    /// Not the start of such a stream at all.
    NotThisFormat,
    /// The start of one, refused for the reason given.
    Refused(String),
}

fn within((width, height, components): Size, d: &Declared) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("declares an empty {width}x{height} image"));
    }
    if width > d.columns || height > d.rows || components > d.samples {
        return Err(format!(
            "declares {width}x{height}x{components}, larger than Columns x Rows x \
             SamplesPerPixel {}x{}x{}",
            d.columns, d.rows, d.samples
        ));
    }
    Ok(())
}

fn stream_error(codec: &'static str, location: String, problem: String) -> ImagingError {
    ImagingError::StreamHeader {
        codec,
        location,
        problem,
    }
}

/// jpeg-decoder is handed the fragments joined together and decodes every image it finds
/// there, so every SOI in them must lead to a frame header within bounds.
fn check_jpeg(instance: &Instance, declared: &Declared) -> Result<(), ImagingError> {
    let pixel_data = instance.object.element_opt(tags::PIXEL_DATA).ok().flatten();
    let Some(fragments) = pixel_data.and_then(|e| e.value().fragments()) else {
        return Ok(());
    };
    let joined = fragments.concat();
    let mut at = 0;
    while let Some(i) = joined[at..].iter().position(|&b| b == 0xFF) {
        let p = at + i;
        at = p + 1;
        if joined.get(p + 1) != Some(&0xD8) {
            continue;
        }
        let size = crate::ljpeg_header::sof_size(&joined[p..], crate::ljpeg_header::is_jpeg_sof)
            .ok_or_else(|| {
                stream_error(
                    "JPEG",
                    format!("byte {p}"),
                    "has no readable frame header".into(),
                )
            })?;
        within(size, declared)
            .map_err(|problem| stream_error("JPEG", format!("byte {p}"), problem))?;
    }
    Ok(())
}

/// SOI, then marker segments up to SOF55 (CharLS requires the SOI first).
fn jpeg_ls_header(data: &[u8]) -> Header {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Header::NotThisFormat;
    }
    match crate::ljpeg_header::sof_size(data, crate::ljpeg_header::is_jpeg_ls_sof) {
        Some(size) => Header::Size(size, 1),
        None => Header::Refused("has no readable SOF55 frame header before its scan".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ljpeg_header::SOF55;

    #[test]
    fn jpeg_ls_frame_header_is_found_after_other_segments() {
        let mut s = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2]; // SOI, an APP0 segment
        s.extend_from_slice(&[
            0xFF, SOF55, 0, 11, 16, 0x10, 0x00, 0x08, 0x00, 1, 1, 0x11, 0,
        ]);
        assert!(matches!(
            jpeg_ls_header(&s),
            Header::Size((2048, 4096, 1), 1)
        ));
        assert!(matches!(jpeg_ls_header(&s[..12]), Header::Refused(_)));
        assert!(matches!(jpeg_ls_header(&[0, 1, 2]), Header::NotThisFormat));
        let bounds = Declared {
            rows: 4096,
            columns: 2048,
            samples: 1,
        };
        assert!(within((2048, 4096, 1), &bounds).is_ok());
        assert!(within((2049, 4096, 1), &bounds).is_err());
        assert!(within((2048, 4096, 3), &bounds).is_err());
        assert!(within((0, 4096, 1), &bounds).is_err());
    }
}
