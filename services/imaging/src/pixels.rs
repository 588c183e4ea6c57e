//! Pixel decoding: the checks in `admit.rs` first, dicom-pixeldata's decoders for every
//! transfer syntax this build supports, then our own unpacking of the stored values
//! (bit masking, sign extension, colour conversion) into [`Frames`].

use dicom_dictionary_std::tags;
use dicom_pixeldata::PhotometricInterpretation;

pub use crate::admit::check_size;
use crate::error::ImagingError;
use crate::object::Instance;

/// Default size guard: 2^28 samples (e.g. a 16k x 16k image, or 1000 frames of 512x512),
/// about 1 GiB of i32 stored values.
pub const DEFAULT_MAX_SAMPLES: u64 = 1 << 28;

/// A VOI window as stored in the file: centre and width (PS3.3 C.11.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileWindow {
    pub center: f64,
    pub width: f64,
}

/// The decoded frames of one object.
#[derive(Debug)]
pub struct Frames {
    pub rows: usize,
    pub columns: usize,
    pub count: usize,
    pub pixels: FramePixels,
}

/// Stored sample values, frame after frame, row-major.
#[derive(Debug)]
pub enum FramePixels {
    /// Monochrome: stored values (masked to BitsStored, sign-extended when signed) and the
    /// attributes that turn them into display values.
    Gray {
        stored: Vec<i32>,
        slope: f64,
        intercept: f64,
        monochrome1: bool,
        window: Option<FileWindow>,
    },
    /// Colour, converted to interleaved 8-bit RGB.
    Rgb { rgb: Vec<u8> },
}

impl Frames {
    /// Pixels per frame.
    pub fn frame_len(&self) -> usize {
        self.rows * self.columns
    }
}

fn file_window(instance: &Instance) -> Option<FileWindow> {
    let first = |tag| {
        instance
            .object
            .element_opt(tag)
            .ok()
            .flatten()
            .and_then(|e| e.to_multi_float64().ok())
            .and_then(|v| v.first().copied())
            .filter(|v| v.is_finite())
    };
    Some(FileWindow {
        center: first(tags::WINDOW_CENTER)?,
        width: first(tags::WINDOW_WIDTH)?,
    })
}

fn rescale_attr(instance: &Instance, tag: dicom_core::Tag, default: f64) -> f64 {
    instance
        .object
        .element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_float64().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(default)
}

/// Decodes every frame of `instance`, after the size guard and transfer-syntax check.
pub fn decode(instance: &Instance, max_samples: u64) -> Result<Frames, ImagingError> {
    decode_reduced(instance, max_samples, None)
}

/// [`decode`], with large JPEG 2000 images decoded at reduced resolution: the smallest
/// wavelet level whose longer side is still at least `j2k_reduce_to` pixels. `Frames` then
/// has the reduced rows and columns.
pub fn decode_reduced(
    instance: &Instance,
    max_samples: u64,
    j2k_reduce_to: Option<usize>,
) -> Result<Frames, ImagingError> {
    crate::admit::admit(instance, max_samples)?;
    let native = crate::codec::decode_native(instance, j2k_reduce_to)
        .map_err(|message| crate::admit::decode_error(instance, message))?;
    let (rows, columns, count, samples) =
        (native.rows, native.columns, native.count, native.samples);
    let bits_allocated = native.bits_allocated;
    let bytes_per_sample = match bits_allocated {
        8 => 1,
        16 => 2,
        other => {
            return Err(ImagingError::UnsupportedPixelFormat {
                what: format!("BitsAllocated {other}"),
            });
        }
    };
    let expected = rows * columns * count * samples * bytes_per_sample;
    let data = native.data.as_slice();
    if data.len() < expected {
        return Err(ImagingError::PixelDataLength {
            expected,
            actual: data.len(),
        });
    }
    let data = &data[..expected];
    let pi = native.pi;
    let pixels = match (&pi, samples) {
        (PhotometricInterpretation::Monochrome1 | PhotometricInterpretation::Monochrome2, 1) => {
            let bits_stored = u32::from(native.bits_stored).clamp(1, 8 * bytes_per_sample as u32);
            let signed = native.signed;
            FramePixels::Gray {
                stored: unpack_gray(data, bytes_per_sample, bits_stored, signed),
                slope: rescale_attr(instance, tags::RESCALE_SLOPE, 1.0),
                intercept: rescale_attr(instance, tags::RESCALE_INTERCEPT, 0.0),
                monochrome1: pi == PhotometricInterpretation::Monochrome1,
                window: file_window(instance),
            }
        }
        (PhotometricInterpretation::Rgb | PhotometricInterpretation::YbrFull, 3)
            if bytes_per_sample == 1 =>
        {
            let mut rgb = if native.planar {
                interleave_planes(data, rows * columns)
            } else {
                data.to_vec()
            };
            if pi == PhotometricInterpretation::YbrFull {
                crate::color::ybr_full_to_rgb(&mut rgb);
            }
            FramePixels::Rgb { rgb }
        }
        (pi, samples) => {
            return Err(ImagingError::UnsupportedPixelFormat {
                what: format!("{pi} with {samples} samples of {bits_allocated} bits"),
            });
        }
    };
    Ok(Frames {
        rows,
        columns,
        count,
        pixels,
    })
}

/// Little-endian (native after decoding) samples to i32: keep the low `bits_stored` bits and
/// sign-extend them when the pixel representation is signed, as pydicom does.
fn unpack_gray(data: &[u8], bytes_per_sample: usize, bits_stored: u32, signed: bool) -> Vec<i32> {
    // Signed: shift the sign bit (bit `bits_stored - 1`) to bit 31 and back, which also
    // drops the bits above it. One loop per case, so each vectorises.
    let shift = 32u32.saturating_sub(bits_stored);
    let mask = u32::MAX >> shift;
    let signed_value = |raw: u32| ((raw << shift) as i32) >> shift;
    let unsigned_value = |raw: u32| (raw & mask) as i32;
    if bytes_per_sample == 1 {
        let raw = data.iter().map(|&b| u32::from(b));
        return if signed {
            raw.map(signed_value).collect()
        } else {
            raw.map(unsigned_value).collect()
        };
    }
    // Filled in place over a zeroed buffer: `collect` over `chunks_exact` does not vectorise.
    let mut out = vec![0i32; data.len() / 2];
    let pairs = out.iter_mut().zip(data.chunks_exact(2));
    if signed {
        pairs.for_each(|(o, c)| *o = signed_value(u32::from(u16::from_le_bytes([c[0], c[1]]))));
    } else {
        pairs.for_each(|(o, c)| *o = unsigned_value(u32::from(u16::from_le_bytes([c[0], c[1]]))));
    }
    out
}

/// Planar (RRR..GGG..BBB.. per frame) to interleaved RGB.
fn interleave_planes(data: &[u8], frame_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for frame in data.chunks_exact(3 * frame_len) {
        let (r, gb) = frame.split_at(frame_len);
        let (g, b) = gb.split_at(frame_len);
        for i in 0..frame_len {
            out.extend_from_slice(&[r[i], g[i], b[i]]);
        }
    }
    out
}
