//! Pillow's bilinear resize (`Image.resize(size, Image.BILINEAR)`), re-implemented from
//! `libImaging/Resample.c` so the output matches Pillow to the bit: the triangle filter's
//! support widens with the scale when shrinking (antialiasing), coefficients are computed in
//! f64 exactly as Pillow does, normalised, then rounded to 22-bit fixed point; the
//! horizontal pass runs first over only the rows the vertical pass needs, each pass
//! rounding to 8 bits.

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per-output-pixel filter taps: the first input index and the fixed-point weights.
#[derive(Debug)]
struct Coeffs {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
}

fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the box `[0, in_size)`.
fn precompute(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 1.0 * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // Pillow truncates `center -/+ support + 0.5` with a C cast (toward zero).
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin).min(ksize);
        let mut ww = 0.0;
        for (x, kx) in k.iter_mut().enumerate().take(n) {
            let w = bilinear_filter(((x + xmin) as f64 - center + 0.5) * ss);
            *kx = w;
            ww += w;
        }
        let row = &mut weights[xx * ksize..xx * ksize + ksize];
        for (x, kx) in k.iter().enumerate().take(n) {
            let w = if ww != 0.0 { kx / ww } else { *kx };
            let scaled = w * f64::from(1u32 << PRECISION_BITS);
            row[x] = if w < 0.0 {
                (-0.5 + scaled) as i32
            } else {
                (0.5 + scaled) as i32
            };
        }
        // Widen every tap list to exactly `ksize` inputs inside the image (shifted left near
        // the right edge); the extra taps weigh 0, so sums are unchanged, and the inner loop
        // gets a fixed length the compiler unrolls.
        if n < ksize && in_size >= ksize {
            let start = xmin.min(in_size - ksize);
            let shift = xmin - start;
            row.copy_within(0..n, shift);
            row[..shift].fill(0);
            row[shift + n..].fill(0);
            bounds.push((start, ksize));
        } else {
            bounds.push((xmin, n));
        }
    }
    Coeffs {
        ksize,
        bounds,
        weights,
    }
}

#[inline]
fn clip8(v: i32) -> u8 {
    if v >= (1 << PRECISION_BITS) << 8 {
        255
    } else if v <= 0 {
        0
    } else {
        (v >> PRECISION_BITS) as u8
    }
}

/// One row of the horizontal pass. `K` is the tap count when every pixel has exactly
/// `K` taps (fully unrolled), or 0 for the general loop.
#[inline]
fn horizontal_row<const K: usize>(in_row: &[u8], out_row: &mut [u8], c: &Coeffs) {
    for (xx, out) in out_row.iter_mut().enumerate() {
        let (xmin, n) = c.bounds[xx];
        let k = &c.weights[xx * c.ksize..xx * c.ksize + n];
        let mut ss: i32 = 1 << (PRECISION_BITS - 1);
        let fixed: Option<(&[u8; K], &[i32; K])> = if K != 0 && n == K {
            in_row[xmin..xmin + K]
                .try_into()
                .ok()
                .zip(k.try_into().ok())
        } else {
            None
        };
        if let Some((px, w)) = fixed {
            for j in 0..K {
                ss += i32::from(px[j]) * w[j];
            }
        } else {
            for (&p, &w) in in_row[xmin..xmin + n].iter().zip(k) {
                ss += i32::from(p) * w;
            }
        }
        *out = clip8(ss);
    }
}

/// Resizes one 8-bit plane of `width` x `height` to `out_w` x `out_h`.
pub fn resize_plane(
    src: &[u8],
    width: usize,
    height: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<u8> {
    if width == 0 || height == 0 || out_w == 0 || out_h == 0 || src.len() < width * height {
        return vec![0; out_w * out_h];
    }
    let need_h = out_w != width;
    let need_v = out_h != height;
    let vert = precompute(height, out_h);
    // Rows of the source the vertical pass reads.
    let y_first = vert.bounds.iter().map(|b| b.0).min().unwrap_or(0);
    let y_last = vert
        .bounds
        .iter()
        .map(|b| b.0 + b.1)
        .max()
        .unwrap_or(height);

    let (tmp, tmp_w, row_offset) = if need_h {
        let horiz = precompute(width, out_w);
        let mut tmp = vec![0u8; out_w * (y_last - y_first)];
        for (out_row, y) in tmp.chunks_exact_mut(out_w).zip(y_first..y_last) {
            let in_row = &src[y * width..(y + 1) * width];
            match horiz.ksize {
                3 => horizontal_row::<3>(in_row, out_row, &horiz),
                5 => horizontal_row::<5>(in_row, out_row, &horiz),
                7 => horizontal_row::<7>(in_row, out_row, &horiz),
                9 => horizontal_row::<9>(in_row, out_row, &horiz),
                _ => horizontal_row::<0>(in_row, out_row, &horiz),
            }
        }
        (tmp, out_w, y_first)
    } else {
        (src[..width * height].to_vec(), width, 0)
    };
    if !need_v {
        return tmp;
    }
    let mut out = vec![0u8; out_w * out_h];
    let mut acc = vec![0i32; tmp_w];
    for (yy, out_row) in out.chunks_exact_mut(out_w).enumerate() {
        let (ymin, n) = vert.bounds[yy];
        let k = &vert.weights[yy * vert.ksize..yy * vert.ksize + n];
        acc.fill(1 << (PRECISION_BITS - 1));
        // Padding taps (weight 0, see `precompute`) are skipped here: rows are summed whole.
        for (j, &w) in k.iter().enumerate().filter(|(_, w)| **w != 0) {
            let r = ymin + j - row_offset;
            let row = &tmp[r * tmp_w..(r + 1) * tmp_w];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in out_row.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_size_is_a_copy() {
        let src: Vec<u8> = (0..=255).collect();
        assert_eq!(resize_plane(&src, 16, 16, 16, 16), src);
    }

    #[test]
    fn constant_image_stays_constant() {
        let src = vec![77u8; 300 * 200];
        assert!(
            resize_plane(&src, 300, 200, 896, 896)
                .iter()
                .all(|&v| v == 77)
        );
        assert!(
            resize_plane(&src, 300, 200, 50, 40)
                .iter()
                .all(|&v| v == 77)
        );
    }

    #[test]
    fn shrink_widens_support() {
        // Scale 4: the filter spans 4 input pixels each side of the centre.
        let c = precompute(3584, 896);
        assert_eq!(c.ksize, 9);
        let sum: i64 = c.weights[..c.ksize].iter().map(|&w| i64::from(w)).sum();
        assert!((sum - (1 << PRECISION_BITS)).abs() <= 4);
    }
}
