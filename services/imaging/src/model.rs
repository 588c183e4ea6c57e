//! MedGemma's model input, exactly as Hugging Face's `Gemma3ImageProcessor` (PIL backend)
//! makes it: RGB, 896x896 Pillow bilinear resize, x 1/255 (in f64, then cast to f32),
//! normalise with mean = std = 0.5 (in f32), channels first. Plus 8-bit PNG renderings.

use ndarray::{Array3, Array4};

use crate::error::ImagingError;
use crate::image8::Image8;
use crate::resize::Plan;

/// The side of MedGemma's SigLIP input.
pub const MODEL_SIDE: usize = 896;

/// Resizes to `side` x `side` as Pillow does; grey images stay one plane.
pub fn resize(image: &Image8, side: usize) -> Image8 {
    let plan = Plan::new(image.width, image.height, side, side);
    let mut tmp = Vec::new();
    let planes = image
        .planes
        .iter()
        .map(|p| {
            let mut out = Vec::with_capacity(side * side);
            plan.run(p, &mut tmp, |row| out.extend_from_slice(row));
            out
        })
        .collect();
    Image8 {
        width: side,
        height: side,
        planes,
    }
}

/// `pixel_values` for one image: `[3, side, side]` f32 in [-1, 1].
pub fn model_input(image: &Image8, side: usize) -> Array3<f32> {
    let mut out = Vec::with_capacity(3 * side * side);
    model_rows(image, side, |row| {
        out.extend(row.iter().map(|&v| normalise(v)))
    });
    Array3::from_shape_vec((3, side, side), out).unwrap_or_else(|_| Array3::zeros((3, side, side)))
}

/// `pixel_values` for a batch: `[n, 3, side, side]`, images spread over all cores.
pub fn model_batch(images: &[&Image8], side: usize) -> Array4<f32> {
    let per = 3 * side * side;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, images.len().max(1));
    let chunk = images.len().div_ceil(threads).max(1);
    let out = if threads == 1 {
        // Appended row by row, converted as it goes: nothing zeroed first, no row copied.
        let mut out = Vec::with_capacity(images.len() * per);
        for img in images {
            model_rows(img, side, |row| {
                out.extend(row.iter().map(|&v| normalise(v)))
            });
        }
        out
    } else {
        let mut out = vec![0f32; images.len() * per];
        std::thread::scope(|s| {
            for (imgs, dst) in images.chunks(chunk).zip(out.chunks_mut(chunk * per)) {
                s.spawn(move || {
                    let mut rows = dst.chunks_exact_mut(side.max(1));
                    for img in imgs {
                        model_rows(img, side, |row| {
                            if let Some(d) = rows.next() {
                                for (d, &v) in d.iter_mut().zip(row) {
                                    *d = normalise(v);
                                }
                            }
                        });
                    }
                });
            }
        });
        out
    };
    Array4::from_shape_vec((images.len(), 3, side, side), out)
        .unwrap_or_else(|_| Array4::zeros((images.len(), 3, side, side)))
}

/// The HF processor's `(v as f64 * (1 / 255)) as f32`, then `(x - 0.5) / 0.5` in f32. Written
/// as one f32 division and a doubling, which gives the same f32 for all 256 inputs (a test
/// checks every one) and, unlike a table lookup, vectorises.
#[inline]
fn normalise(v: u8) -> f32 {
    (f32::from(v) / 255.0 - 0.5) * 2.0
}

/// Hands `sink` the resized 8-bit rows in model order: `3 * side` rows of `side` values
/// (a grey image is resized once and its rows handed over for each channel).
fn model_rows(image: &Image8, side: usize, mut sink: impl FnMut(&[u8])) {
    if side == 0 {
        return;
    }
    let plan = Plan::new(image.width, image.height, side, side);
    let mut tmp = Vec::new();
    if image.planes.len() == 1 {
        let mut grey = Vec::with_capacity(side * side);
        plan.run(image.channel(0), &mut tmp, |row| {
            grey.extend_from_slice(row)
        });
        for _ in 0..3 {
            grey.chunks_exact(side).for_each(&mut sink);
        }
    } else {
        for c in 0..3 {
            plan.run(image.channel(c), &mut tmp, &mut sink);
        }
    }
}

/// An 8-bit PNG of the image (grey or RGB) for the review screen.
pub fn png(image: &Image8) -> Result<Vec<u8>, ImagingError> {
    let err = |e: png::EncodingError| ImagingError::Png {
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let (color, data) = if image.planes.len() == 3 {
        let n = image.width * image.height;
        let mut rgb = Vec::with_capacity(3 * n);
        for i in 0..n {
            rgb.extend_from_slice(&[image.planes[0][i], image.planes[1][i], image.planes[2][i]]);
        }
        (png::ColorType::Rgb, rgb)
    } else {
        (png::ColorType::Grayscale, image.channel(0).to_vec())
    };
    let width = u32::try_from(image.width).map_err(|_| ImagingError::Png {
        message: "width".into(),
    })?;
    let height = u32::try_from(image.height).map_err(|_| ImagingError::Png {
        message: "height".into(),
    })?;
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&data).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_matches_single_images() {
        let grey = Image8::gray(5, 3, (0..15).map(|v| v * 17).collect());
        let rgb = Image8::rgb_planes(2, 2, vec![0, 80, 160, 240], vec![9; 4], vec![255; 4]);
        let images = [&grey, &rgb, &grey];
        let batch = model_batch(&images, 7);
        for (i, img) in images.iter().enumerate() {
            assert_eq!(batch.index_axis(ndarray::Axis(0), i), model_input(img, 7));
        }
        assert!(model_input(&grey, 0).is_empty());
    }

    #[test]
    fn normalise_matches_the_processor_arithmetic() {
        for v in 0..=255u8 {
            let reference = ((f64::from(v) * (1.0 / 255.0)) as f32 - 0.5f32) / 0.5f32;
            assert_eq!(normalise(v).to_bits(), reference.to_bits(), "{v}");
        }
    }
}
