//! A JPEG-LS decoder (ITU-T T.87: LOCO-I context modelling, Golomb codes, run mode) for one
//! component, lossless or near-lossless. dicom-rs decodes JPEG-LS with CharLS, which was
//! 19 of the 23 ms we spent on a 1024x1024 DX image (about 300 instructions a sample).
//!
//! Only single-component scans without mapping tables, restart intervals or a point
//! transform are accepted (`header.rs`); anything else is `Unsupported` and the
//! caller falls back to CharLS. Wherever this decoder answers, its samples equal CharLS's
//! (checked on every JPEG-LS object we have by `tests/jpegls.rs`).

mod bits;
mod header;
mod run;

use crate::ljpeg::LjpegError::{self, Invalid};
use crate::ljpeg::LosslessFrame;
use bits::Bits;
pub(crate) use bits::refill_word;
use header::Header;
use run::RunContext;

/// Run lengths by run index (T.87 A.7.1.2, J[]): a run code covers 2^J samples.
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Bias correction bounds (T.87 A.6.2).
const MIN_C: i32 = -128;
const MAX_C: i32 = 127;

/// Decodes one JPEG-LS frame (the bytes of one DICOM frame, SOI to EOI).
pub fn decode_jpegls(data: &[u8]) -> Result<LosslessFrame, LjpegError> {
    let header = header::parse(data)?;
    let mut bits = Bits::new(data.get(header.scan_start..).unwrap_or_default());
    let samples = Scan::new(&header).decode(&mut bits)?;
    if bits.overran() {
        return Err(Invalid("scan ends before its last sample"));
    }
    Ok(LosslessFrame {
        width: header.width,
        height: header.height,
        precision: header.precision,
        samples,
    })
}

/// A regular-mode context: error magnitude sum A, bias sum B, correction C, count N.
#[derive(Clone, Copy)]
struct Context {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

/// The state of one scan being decoded.
struct Scan {
    width: usize,
    height: usize,
    maxval: i32,
    near: i32,
    /// RANGE x (2 NEAR + 1): what wraps a reconstructed value back into range.
    wrap: i32,
    step: i32,
    limit: u32,
    qbpp: u32,
    reset: i32,
    /// Gradient quantisation, indexed by the gradient clamped to +-T3 plus T3: -4..=4.
    /// Clamping keeps the table in L1 (553 bytes for 16-bit defaults, not 128 KB).
    quantise: Vec<i8>,
    t3: i32,
    contexts: [Context; 365],
    runs: [RunContext; 2],
    run_index: usize,
}

impl Scan {
    fn new(h: &Header) -> Self {
        let step = 2 * h.near + 1;
        let range = (h.maxval + 2 * h.near) / step + 1;
        let qbpp = bits_for(range);
        let bpp = bits_for(h.maxval + 1).max(2);
        let a = ((range + 32) / 64).max(2);
        let [t1, t2, t3] = h.thresholds;
        let quantise = (-t3..=t3)
            .map(|d| match d {
                d if d <= -t3 => -4,
                d if d <= -t2 => -3,
                d if d <= -t1 => -2,
                d if d < -h.near => -1,
                d if d <= h.near => 0,
                d if d < t1 => 1,
                d if d < t2 => 2,
                d if d < t3 => 3,
                _ => 4,
            })
            .collect();
        Scan {
            width: h.width,
            height: h.height,
            maxval: h.maxval,
            near: h.near,
            wrap: range * step,
            step,
            limit: 2 * (bpp + bpp.max(8)),
            qbpp,
            reset: h.reset,
            quantise,
            t3,
            contexts: [Context {
                a,
                b: 0,
                c: 0,
                n: 1,
            }; 365],
            runs: [0, 1].map(|kind| RunContext {
                a,
                n: 1,
                nn: 0,
                kind,
            }),
            run_index: 0,
        }
    }

    fn decode(&mut self, bits: &mut Bits<'_>) -> Result<Vec<u16>, LjpegError> {
        let w = self.width;
        let mut out = Vec::with_capacity(w * self.height);
        // Lines with one sample of margin each side: [Rc of the first sample, line, Rd of
        // the last]. The line above the first is all zeros.
        let mut prev = vec![0i32; w + 2];
        let mut cur = vec![0i32; w + 2];
        let masked = self.near == 0 && (self.maxval + 1).count_ones() == 1;
        for _ in 0..self.height {
            prev[w + 1] = prev[w];
            cur[0] = prev[1];
            if masked {
                self.line::<true>(bits, &prev, &mut cur);
            } else {
                self.line::<false>(bits, &prev, &mut cur);
            }
            if let Some(problem) = bits.corrupt {
                return Err(Invalid(problem));
            }
            out.extend(cur[1..=w].iter().map(|&v| v as u16));
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok(out)
    }

    /// One line. `MASKED`: lossless with MAXVAL = 2^P - 1, where wrapping a reconstructed
    /// value into range is a mask (the case for every DICOM encoder's default).
    #[inline(never)]
    fn line<const MASKED: bool>(&mut self, bits: &mut Bits<'_>, prev: &[i32], cur: &mut [i32]) {
        let w = self.width;
        let mut i = 1;
        while i <= w {
            let (mut ra, mut rb, mut rc) = (cur[i - 1], prev[i], prev[i - 1]);
            let mut q2 = self.q(rb - rc);
            loop {
                let rd = prev[i + 1];
                let q1 = self.q(rd - rb);
                let q = q1 * 81 + q2 * 9 + self.q(rc - ra);
                if q == 0 {
                    i += self.run(bits, ra, prev, cur, i);
                    break;
                }
                ra = self.regular::<MASKED>(bits, q, ra, rb, rc);
                cur[i] = ra;
                i += 1;
                if i > w {
                    break;
                }
                // The next sample's Rc and Rb are this one's Rb and Rd, and its second
                // gradient is this one's first.
                (rc, rb, q2) = (rb, rd, q1);
            }
        }
    }

    #[inline]
    fn q(&self, gradient: i32) -> i32 {
        i32::from(self.quantise[(gradient.clamp(-self.t3, self.t3) + self.t3) as usize])
    }

    /// One sample in regular mode (T.87 A.3 to A.6).
    #[inline]
    fn regular<const MASKED: bool>(
        &mut self,
        bits: &mut Bits<'_>,
        q: i32,
        ra: i32,
        rb: i32,
        rc: i32,
    ) -> i32 {
        // Branch-free: the context's sign, and the median edge detector (A.4.1) as a clamp of
        // Ra + Rb - Rc between Ra and Rb, since its three cases are unpredictable.
        let negative = q >> 31; // 0 or -1
        let ctx = &mut self.contexts[((q ^ negative) - negative) as usize];
        let signed = |v: i32| (v ^ negative) - negative;
        let predicted = (ra + rb - rc).clamp(ra.min(rb), ra.max(rb));
        let predicted = (predicted + signed(ctx.c)).clamp(0, self.maxval);
        let k = golomb_parameter(ctx.n, ctx.a);
        let mapped = bits.golomb(k, self.limit, self.qbpp);
        // Inverse error mapping (A.5.2), with the special case for k = 0 when lossless.
        let flip = i32::from(self.near == 0 && k == 0 && 2 * ctx.b + ctx.n - 1 < 0);
        let mapped = mapped ^ flip;
        let error = (mapped >> 1) ^ -(mapped & 1);
        update(ctx, error, self.step, self.reset);
        if MASKED {
            (predicted + signed(error)) & self.maxval
        } else {
            self.reconstruct(predicted, signed(error))
        }
    }

    /// Prediction plus the dequantised error, wrapped into range then clamped (A.4.4).
    #[inline]
    fn reconstruct(&self, predicted: i32, error: i32) -> i32 {
        let mut v = predicted + error * self.step;
        if v < -self.near {
            v += self.wrap;
        } else if v > self.maxval + self.near {
            v -= self.wrap;
        }
        v.clamp(0, self.maxval)
    }
}

/// Context update and bias correction after a regular-mode sample (T.87 A.6).
#[inline]
fn update(ctx: &mut Context, error: i32, step: i32, reset: i32) {
    ctx.b += error * step;
    ctx.a += error.abs();
    if ctx.n == reset {
        ctx.a >>= 1;
        ctx.b >>= 1;
        ctx.n >>= 1;
    }
    ctx.n += 1;
    // Bias correction (A.6.2) as selects: B's sign flips with every few samples, so the
    // spec's branches are mispredicted about as often as taken.
    let (b, c, n) = (ctx.b, ctx.c, ctx.n);
    let below = b <= -n;
    let above = b > 0;
    let lowered = ((b + n).max(1 - n), c - i32::from(c > MIN_C));
    let raised = ((b - n).min(0), c + i32::from(c < MAX_C));
    let (b, c) = if below { lowered } else { (b, c) };
    (ctx.b, ctx.c) = if above { raised } else { (b, c) };
}

/// The smallest k with n x 2^k >= a (T.87 A.5.1), from the leading zeros rather than a loop
/// (errors in 16-bit images need k up to 12).
#[inline]
fn golomb_parameter(n: i32, a: i32) -> u32 {
    if n >= a {
        return 0;
    }
    let k = n.leading_zeros() - a.leading_zeros();
    k + u32::from((n << k) < a)
}

/// Bits needed for values below `n` (ceil(log2 n)).
fn bits_for(n: i32) -> u32 {
    32 - (n.max(1) - 1).leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::golomb_parameter;

    #[test]
    fn golomb_parameter_is_the_smallest_k_with_n_shifted_reaching_a() {
        for n in 1..300 {
            for a in 1..5000 {
                let k = (0..).find(|&k| (n << k) >= a).unwrap_or_default();
                assert_eq!(golomb_parameter(n, a), k, "n {n} a {a}");
            }
        }
    }
}
