//! The two passes of the resize in `resize.rs`, specialised for the tap count `K` (2 for
//! every upscale, 3..8 for the usual shrinks), with Pillow's exact integer arithmetic.
//!
//! The vertical pass runs along whole rows, so the compiler vectorises it. x86-64's baseline
//! (SSE2) has no 32-bit multiply but does have a 16 x 16 -> 32-bit multiply-add, so each
//! 22-bit weight is split into 11-bit halves: `p * w = (p * hi << 11) + p * lo`, exact,
//! with every product of a pixel and a half-weight fitting 16-bit operands.

use crate::resize::{PRECISION_BITS, Taps};

const SPLIT: u32 = 11;

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

/// One row of the horizontal pass.
pub(crate) fn horizontal(in_row: &[u8], out_row: &mut [u8], taps: &Taps) {
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
