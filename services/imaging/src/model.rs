//! MedGemma's model input, exactly as Hugging Face's `Gemma3ImageProcessor` (PIL backend)
//! makes it: RGB, 896x896 Pillow bilinear resize, x 1/255 (in f64, then cast to f32),
//! normalise with mean = std = 0.5 (in f32), channels first. Plus 8-bit PNG renderings.

use ndarray::{Array3, Array4};

use crate::error::ImagingError;
use crate::image8::Image8;
use crate::resize::resize_plane;

/// The side of MedGemma's SigLIP input.
pub const MODEL_SIDE: usize = 896;

/// Resizes to `side` x `side` as Pillow does; grey images stay one plane.
pub fn resize(image: &Image8, side: usize) -> Image8 {
    let planes = image
        .planes
        .iter()
        .map(|p| resize_plane(p, image.width, image.height, side, side))
        .collect();
    Image8 {
        width: side,
        height: side,
        planes,
    }
}

/// `pixel_values` for one image: `[3, side, side]` f32 in [-1, 1].
pub fn model_input(image: &Image8, side: usize) -> Array3<f32> {
    let mut out = vec![0f32; 3 * side * side];
    fill_model_input(image, side, &mut out);
    Array3::from_shape_vec((3, side, side), out).unwrap_or_else(|_| Array3::zeros((3, side, side)))
}

/// `pixel_values` for a batch: `[n, 3, side, side]`, images spread over all cores.
pub fn model_batch(images: &[&Image8], side: usize) -> Array4<f32> {
    let per = 3 * side * side;
    let mut out = vec![0f32; images.len() * per];
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, images.len().max(1));
    let chunk = images.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (imgs, dst) in images.chunks(chunk).zip(out.chunks_mut(chunk * per)) {
            s.spawn(move || {
                for (img, d) in imgs.iter().zip(dst.chunks_mut(per)) {
                    fill_model_input(img, side, d);
                }
            });
        }
    });
    Array4::from_shape_vec((images.len(), 3, side, side), out)
        .unwrap_or_else(|_| Array4::zeros((images.len(), 3, side, side)))
}

fn fill_model_input(image: &Image8, side: usize, out: &mut [f32]) {
    let resized = resize(image, side);
    // The HF processor computes `(u8 as f64 * (1/255)) as f32`, then `(x - 0.5) / 0.5` in
    // f32; a 256-entry table reproduces both roundings exactly.
    let table: [f32; 256] =
        std::array::from_fn(|v| ((v as f64 * (1.0 / 255.0)) as f32 - 0.5f32) / 0.5f32);
    for (c, plane) in out.chunks_mut(side * side).enumerate().take(3) {
        for (dst, &v) in plane.iter_mut().zip(resized.channel(c)) {
            *dst = table[usize::from(v)];
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
