//! The two passes of the resize in `resize.rs`, specialised for the tap count `K` (2 for
//! every upscale, 3..8 for the usual shrinks), with Pillow's exact integer arithmetic.
//!
//! The vertical pass runs along whole rows, so the compiler vectorises it. x86-64's baseline
//! (SSE2) has no 32-bit multiply but does have a 16 x 16 -> 32-bit multiply-add, so each
//! 22-bit weight is split into 11-bit halves: `p * w = (p * hi << 11) + p * lo`, exact,
//! with every product of a pixel and a half-weight fitting 16-bit operands.

use crate::resize::{PRECISION_BITS, Taps};

const SPLIT: u32 = 11;

/// Pillow's `clip8`: `v >= 255.5 << 22` gives 255, `v <= 0` gives 0, else `v >> 22`.
/// The arithmetic shift then clamp is the same function without branches (a negative `v`
/// shifts to a negative number, anything from 256 << 22 up to 256 or more).
#[inline]
fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One row of the horizontal pass. `scratch` is reused across rows.
pub(crate) fn horizontal(
    in_row: &[u8],
    out_row: &mut [u8],
    taps: &Taps,
    scratch: &mut PairScratch,
) {
    if let Some(halves) = &taps.halves {
        return horizontal_pairs(in_row, out_row, taps, halves, scratch);
    }
    match taps.k {
        1 => horizontal_k::<1>(in_row, out_row, taps),
        2 => horizontal_k::<2>(in_row, out_row, taps),
        3 => horizontal_k::<3>(in_row, out_row, taps),
        4 => horizontal_k::<4>(in_row, out_row, taps),
        5 => horizontal_k::<5>(in_row, out_row, taps),
        6 => horizontal_k::<6>(in_row, out_row, taps),
        7 => horizontal_k::<7>(in_row, out_row, taps),
        8 => horizontal_k::<8>(in_row, out_row, taps),
        _ => horizontal_any(in_row, out_row, taps),
    }
}

#[inline]
fn horizontal_k<const K: usize>(in_row: &[u8], out_row: &mut [u8], taps: &Taps) {
    let weights = taps.weights.chunks_exact(K);
    for ((out, &start), w) in out_row.iter_mut().zip(&taps.start).zip(weights) {
        let px: Option<&[u8; K]> = in_row.get(start..start + K).and_then(|s| s.try_into().ok());
        let w: Option<&[i32; K]> = w.try_into().ok();
        if let (Some(px), Some(w)) = (px, w) {
            let mut ss: i32 = 1 << (PRECISION_BITS - 1);
            for j in 0..K {
                ss += i32::from(px[j]) * w[j];
            }
            *out = clip8(ss);
        }
    }
}

/// Two taps per output (every upscale): the two input bytes of each output are gathered
/// side by side, then one loop over whole rows computes `a * w0 + b * w1` as the sum of
/// two pair-wise products of 16-bit halves, which the compiler turns into SSE2's
/// multiply-add (`pmaddwd`, four outputs per instruction) where the row-at-a-time loop
/// above needs two scalar 32-bit multiplies per output.
fn horizontal_pairs(
    in_row: &[u8],
    out_row: &mut [u8],
    taps: &Taps,
    halves: &Halves,
    scratch: &mut PairScratch,
) {
    // Every adjacent pair of the row once (vectorised), then one 4-byte copy per output.
    let PairScratch { adjacent, gathered } = scratch;
    adjacent.clear();
    adjacent.extend(
        in_row
            .windows(2)
            .map(|w| [i16::from(w[0]), i16::from(w[1])]),
    );
    gathered.clear();
    gathered.extend(
        taps.start
            .iter()
            .map(|&s| adjacent.get(s).copied().unwrap_or_default()),
    );
    multiply_add_pairs(gathered, &halves.hi, &halves.lo, out_row);
}

/// `out[i] = clip8(p[0] * w[0] + p[1] * w[1])` with each weight given as halves `hi`, `lo`.
/// Written pair-wise over arrays so that it becomes `pmaddwd`. (The vertical pass, whose
/// weights are constant along a row, measured no faster this way: its 32-bit products
/// already vectorise.)
fn multiply_add_pairs(pairs: &[[i16; 2]], hi: &[[i16; 2]], lo: &[[i16; 2]], out: &mut [u8]) {
    for ((out, p), (h, l)) in out.iter_mut().zip(pairs).zip(hi.iter().zip(lo)) {
        let (a, b) = (i32::from(p[0]), i32::from(p[1]));
        let sh = a * i32::from(h[0]) + b * i32::from(h[1]);
        let sl = a * i32::from(l[0]) + b * i32::from(l[1]);
        *out = clip8((sh << SPLIT) + sl + (1 << (PRECISION_BITS - 1)));
    }
}

/// Buffers for [`horizontal_pairs`], reused across rows.
#[derive(Debug, Default)]
pub(crate) struct PairScratch {
    adjacent: Vec<[i16; 2]>,
    gathered: Vec<[i16; 2]>,
}

/// Two-tap weights split at bit [`SPLIT`] into 16-bit halves, per output.
#[derive(Debug)]
pub(crate) struct Halves {
    hi: Vec<[i16; 2]>,
    lo: Vec<[i16; 2]>,
}

impl Halves {
    /// For two taps whose weights all lie in `0..=1 << 22` (bilinear weights, normalised,
    /// always do): then every half fits in an `i16` and no sum overflows an `i32`.
    pub(crate) fn new(k: usize, weights: &[i32]) -> Option<Halves> {
        let fits = weights
            .iter()
            .all(|w| (0..=1 << PRECISION_BITS).contains(w));
        if k != 2 || !fits {
            return None;
        }
        let split = |f: fn(i32) -> i32| {
            weights
                .chunks_exact(2)
                .map(|w| [f(w[0]) as i16, f(w[1]) as i16])
                .collect()
        };
        Some(Halves {
            hi: split(|w| w >> SPLIT),
            lo: split(|w| w & ((1 << SPLIT) - 1)),
        })
    }
}

fn horizontal_any(in_row: &[u8], out_row: &mut [u8], taps: &Taps) {
    let weights = taps.weights.chunks_exact(taps.k);
    for ((out, &start), w) in out_row.iter_mut().zip(&taps.start).zip(weights) {
        let px = in_row.get(start..).unwrap_or_default();
        let mut ss: i32 = 1 << (PRECISION_BITS - 1);
        for (&p, &w) in px.iter().zip(w) {
            ss += i32::from(p) * w;
        }
        *out = clip8(ss);
    }
}

/// The vertical pass over `rows` (`width` bytes each, the first being source row `row0`),
/// handing each output row to `emit`.
pub(crate) fn vertical(
    rows: &[u8],
    width: usize,
    row0: usize,
    taps: &Taps,
    emit: impl FnMut(&[u8]),
) {
    match taps.k {
        1 => vertical_k::<1>(rows, width, row0, taps, emit),
        2 => vertical_k::<2>(rows, width, row0, taps, emit),
        3 => vertical_k::<3>(rows, width, row0, taps, emit),
        4 => vertical_k::<4>(rows, width, row0, taps, emit),
        5 => vertical_k::<5>(rows, width, row0, taps, emit),
        6 => vertical_k::<6>(rows, width, row0, taps, emit),
        7 => vertical_k::<7>(rows, width, row0, taps, emit),
        8 => vertical_k::<8>(rows, width, row0, taps, emit),
        _ => vertical_any(rows, width, row0, taps, emit),
    }
}

fn vertical_k<const K: usize>(
    rows: &[u8],
    width: usize,
    row0: usize,
    taps: &Taps,
    mut emit: impl FnMut(&[u8]),
) {
    let mut out = vec![0u8; width];
    let empty: &[u8] = &[];
    for (&start, w) in taps.start.iter().zip(taps.weights.chunks_exact(K)) {
        let first = start.saturating_sub(row0) * width;
        let input: [&[u8]; K] = std::array::from_fn(|j| {
            rows.get(first + j * width..first + (j + 1) * width)
                .unwrap_or(empty)
        });
        if input.iter().any(|r| r.len() != width) {
            out.fill(0);
            emit(&out);
            continue;
        }
        // Bilinear weights are never negative, so the halves are u16 and every product a
        // u16 x u16 multiply (SSE2's pmullw/pmulhuw) instead of an emulated 32-bit one.
        let hi: [u32; K] = std::array::from_fn(|j| u32::from((w[j].max(0) >> SPLIT) as u16));
        let lo: [u32; K] = std::array::from_fn(|j| u32::from((w[j] & ((1 << SPLIT) - 1)) as u16));
        for (x, o) in out.iter_mut().enumerate() {
            let (mut sh, mut sl) = (0u32, 0u32);
            for j in 0..K {
                let p = u32::from(input[j][x]);
                sh += p * hi[j];
                sl += p * lo[j];
            }
            *o = clip8(((sh << SPLIT) + sl) as i32 + (1 << (PRECISION_BITS - 1)));
        }
        emit(&out);
    }
}

fn vertical_any(rows: &[u8], width: usize, row0: usize, taps: &Taps, mut emit: impl FnMut(&[u8])) {
    let mut out = vec![0u8; width];
    let mut acc = vec![0i32; width];
    for (&start, w) in taps.start.iter().zip(taps.weights.chunks_exact(taps.k)) {
        acc.fill(1 << (PRECISION_BITS - 1));
        for (j, &w) in w.iter().enumerate().filter(|(_, w)| **w != 0) {
            let r = start + j - row0.min(start + j);
            let row = rows.get(r * width..(r + 1) * width).unwrap_or_default();
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
        emit(&out);
    }
}
