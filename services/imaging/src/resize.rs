//! Pillow's bilinear resize (`Image.resize(size, Image.BILINEAR)`), re-implemented from
//! `libImaging/Resample.c` so the output matches Pillow to the bit: the triangle filter's
//! support widens with the scale when shrinking (antialiasing), coefficients are computed in
//! f64 exactly as Pillow does, normalised, then rounded to 22-bit fixed point; the
//! horizontal pass runs first over only the rows the vertical pass needs, each pass
//! rounding to 8 bits.
//!
//! Speed: the coefficient tables are built once per image ([`Plan`]) and reused for every
//! plane; taps of weight 0 are dropped, so every output reads the same number `K` of inputs
//! and the loops (`resize_pass.rs`) are specialised per `K` without bounds checks in the
//! vertical pass. Dropping zero taps leaves every sum, hence every output, unchanged.

use crate::resize_pass::{Halves, PairScratch, horizontal, vertical};

pub(crate) const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per-output taps: output `i` reads inputs `start[i] .. start[i] + k` with weights
/// `weights[i * k .. (i + 1) * k]` (22-bit fixed point).
#[derive(Debug)]
pub(crate) struct Taps {
    pub(crate) k: usize,
    pub(crate) start: Vec<usize>,
    pub(crate) weights: Vec<i32>,
    /// The weights as 16-bit halves, for the two-tap horizontal pass.
    pub(crate) halves: Option<Halves>,
}

fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the box `[0, in_size)`,
/// then trimmed to the widest run of non-zero weights.
fn precompute(in_size: usize, out_size: usize) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 1.0 * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    // Per output: the first input with a non-zero weight and the weights from there.
    let mut rows: Vec<(usize, Vec<i32>)> = Vec::with_capacity(out_size);
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
        let fixed: Vec<i32> = k[..n]
            .iter()
            .map(|kx| {
                let w = if ww != 0.0 { kx / ww } else { *kx };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                if w < 0.0 {
                    (-0.5 + scaled) as i32
                } else {
                    (0.5 + scaled) as i32
                }
            })
            .collect();
        let first = fixed.iter().position(|&w| w != 0).unwrap_or(0);
        let last = fixed.iter().rposition(|&w| w != 0).map_or(first, |l| l + 1);
        rows.push((xmin + first, fixed[first..last].to_vec()));
    }
    // Every output gets exactly `k` taps inside the input (shifted left near the right
    // edge, padded with weight 0), so the passes run fixed-length loops.
    let k = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(1);
    let mut start = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * k];
    for ((first, w), dst) in rows.iter().zip(weights.chunks_exact_mut(k)) {
        let s = (*first).min(in_size.saturating_sub(k));
        let shift = first - s;
        dst[shift..shift + w.len()].copy_from_slice(w);
        start.push(s);
    }
    Taps {
        k,
        start,
        weights,
        halves: None,
    }
}

impl Taps {
    /// With the weights also split into halves, which only the horizontal pass reads.
    fn with_halves(mut self) -> Self {
        self.halves = Halves::new(self.k, &self.weights);
        self
    }
}

/// A resize from `width` x `height` to `out_w` x `out_h`, coefficients computed once.
#[derive(Debug)]
pub(crate) struct Plan {
    width: usize,
    height: usize,
    out_w: usize,
    out_h: usize,
    /// `None` when that side keeps its size (Pillow skips the pass).
    horiz: Option<Taps>,
    vert: Option<Taps>,
    /// Source rows the vertical pass reads.
    rows: std::ops::Range<usize>,
}

impl Plan {
    pub(crate) fn new(width: usize, height: usize, out_w: usize, out_h: usize) -> Plan {
        let usable = width > 0 && height > 0 && out_w > 0 && out_h > 0;
        let horiz = (usable && out_w != width).then(|| precompute(width, out_w).with_halves());
        let vert = (usable && out_h != height).then(|| precompute(height, out_h));
        let rows = match &vert {
            Some(v) => {
                let first = v.start.iter().copied().min().unwrap_or(0);
                let last = v.start.iter().map(|s| s + v.k).max().unwrap_or(height);
                first..last.min(height)
            }
            None => 0..height,
        };
        Plan {
            width,
            height,
            out_w,
            out_h,
            horiz,
            vert,
            rows,
        }
    }

    /// Resizes one plane, handing output rows in order to `emit`. `tmp` is scratch space
    /// reused across planes. A plane shorter than `width * height` (or an empty size)
    /// gives zeros, as before.
    pub(crate) fn run(&self, src: &[u8], tmp: &mut Vec<u8>, mut emit: impl FnMut(&[u8])) {
        let (w, h, ow) = (self.width, self.height, self.out_w);
        if w == 0 || h == 0 || ow == 0 || self.out_h == 0 || src.len() < w * h {
            let zeros = vec![0u8; ow];
            (0..self.out_h).for_each(|_| emit(&zeros));
            return;
        }
        // The horizontal pass output (or the source itself) and the row it starts at.
        let (rows, row0): (&[u8], usize) = match &self.horiz {
            Some(taps) => {
                tmp.resize(ow * self.rows.len(), 0);
                let mut scratch = PairScratch::default();
                let src_rows = src[self.rows.start * w..self.rows.end * w].chunks_exact(w);
                for (out_row, in_row) in tmp.chunks_exact_mut(ow).zip(src_rows) {
                    horizontal(in_row, out_row, taps, &mut scratch);
                }
                (tmp.as_slice(), self.rows.start)
            }
            None => (&src[..w * h], 0),
        };
        match &self.vert {
            Some(taps) => vertical(rows, ow, row0, taps, emit),
            None => rows.chunks_exact(ow).for_each(emit),
        }
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
    let mut out = Vec::with_capacity(out_w * out_h);
    Plan::new(width, height, out_w, out_h)
        .run(src, &mut Vec::new(), |row| out.extend_from_slice(row));
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
        for (w, h) in [(896, 896), (50, 40), (300, 7), (1, 1)] {
            let out = resize_plane(&src, 300, 200, w, h);
            assert_eq!(out.len(), w * h);
            assert!(out.iter().all(|&v| v == 77), "{w}x{h}");
        }
    }

    #[test]
    fn short_input_gives_zeros() {
        assert_eq!(resize_plane(&[1, 2, 3], 2, 2, 3, 3), vec![0; 9]);
    }

    #[test]
    fn shrink_widens_support() {
        // Scale 4: the filter spans 4 input pixels each side of the centre (Pillow's 9-tap
        // window, whose outer tap always weighs 0 here and is dropped).
        let c = precompute(3584, 896);
        assert_eq!(c.k, 8);
        let sum: i64 = c.weights[..c.k].iter().map(|&w| i64::from(w)).sum();
        assert!((sum - (1 << PRECISION_BITS)).abs() <= 4);
    }

    #[test]
    fn two_tap_pairs_match_the_scalar_pass() {
        let taps = precompute(512, 896).with_halves();
        assert!(taps.halves.is_some());
        let scalar = Taps {
            k: taps.k,
            start: taps.start.clone(),
            weights: taps.weights.clone(),
            halves: None,
        };
        let mut seed = 7u32;
        let row: Vec<u8> = (0..512)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let (mut fast, mut slow) = (vec![0u8; 896], vec![0u8; 896]);
        let mut scratch = PairScratch::default();
        horizontal(&row, &mut fast, &taps, &mut scratch);
        horizontal(&row, &mut slow, &scalar, &mut scratch);
        assert_eq!(fast, slow);
        assert!(fast.iter().any(|&v| v > 0));
    }

    #[test]
    fn upscale_reads_two_inputs() {
        let c = precompute(512, 896);
        assert_eq!(c.k, 2);
        assert!(c.start.iter().all(|&s| s + 2 <= 512));
    }
}
