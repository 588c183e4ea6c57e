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
    model_rows(image, side, |row| out.extend_from_slice(row));
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
        // Appended row by row: no 4 bytes x 3 x side^2 per image zeroed first.
        let mut out = Vec::with_capacity(images.len() * per);
        for img in images {
            model_rows(img, side, |row| out.extend_from_slice(row));
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
                                d.copy_from_slice(row);
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

/// Hands `sink` the model input's rows in order: `3 * side` rows of `side` values.
fn model_rows(image: &Image8, side: usize, mut sink: impl FnMut(&[f32])) {
    if side == 0 {
        return;
    }
    // The HF processor computes `(u8 as f64 * (1/255)) as f32`, then `(x - 0.5) / 0.5` in
    // f32; a 256-entry table reproduces both roundings exactly.
    let table: [f32; 256] =
        std::array::from_fn(|v| ((v as f64 * (1.0 / 255.0)) as f32 - 0.5f32) / 0.5f32);
    let plan = Plan::new(image.width, image.height, side, side);
    let mut tmp = Vec::new();
    let mut row_f32 = vec![0f32; side];
    let mut convert = |row: &[u8], sink: &mut dyn FnMut(&[f32])| {
        for (d, &v) in row_f32.iter_mut().zip(row) {
            *d = table[usize::from(v)];
        }
        sink(&row_f32);
    };
    if image.planes.len() == 1 {
        // A grey image is resized once; its rows go to all three channels.
        let mut grey = Vec::with_capacity(side * side);
        plan.run(image.channel(0), &mut tmp, |row| {
            grey.extend_from_slice(row)
        });
        for _ in 0..3 {
            grey.chunks_exact(side)
                .for_each(|row| convert(row, &mut sink));
        }
    } else {
        for c in 0..3 {
            plan.run(image.channel(c), &mut tmp, |row| convert(row, &mut sink));
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
}
