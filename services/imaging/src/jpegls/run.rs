//! Run mode (T.87 A.7): runs of samples equal to their left neighbour, coded by length,
//! and the sample that interrupts a run, coded with its own two contexts.

use super::bits::Bits;
use super::{J, Scan, golomb_parameter};

/// A run interruption context (T.87 A.7.2): A, N, Nn and which of the two it is.
#[derive(Clone, Copy)]
pub(super) struct RunContext {
    pub(super) a: i32,
    pub(super) n: i32,
    pub(super) nn: i32,
    pub(super) kind: i32,
}

impl Scan {
    /// A run of samples equal to `ra` from `start`, then the sample that ends it unless
    /// the line does (T.87 A.7). Returns how many samples were filled.
    pub(super) fn run(
        &mut self,
        bits: &mut Bits<'_>,
        ra: i32,
        prev: &[i32],
        cur: &mut [i32],
        start: usize,
    ) -> usize {
        let left = self.width + 1 - start;
        let mut length = 0;
        while bits.bit() {
            let block = 1usize << J[self.run_index];
            let count = block.min(left - length);
            length += count;
            if count == block {
                self.run_index = (self.run_index + 1).min(31);
            }
            if length == left {
                break;
            }
        }
        if length != left {
            length += bits.take(J[self.run_index]) as usize;
        }
        if length > left {
            bits.corrupt = Some("run past the end of the line");
            return left;
        }
        cur[start..start + length].fill(ra);
        let end = start + length;
        if length == left {
            return length;
        }
        cur[end] = self.interruption(bits, ra, prev[end]);
        self.run_index = self.run_index.saturating_sub(1);
        length + 1
    }

    /// The sample that ends a run (T.87 A.7.2).
    fn interruption(&mut self, bits: &mut Bits<'_>, ra: i32, rb: i32) -> i32 {
        let same = (ra - rb).abs() <= self.near;
        let ctx = &mut self.runs[usize::from(same)];
        let k = golomb_parameter(ctx.n, ctx.a + (ctx.n >> 1) * ctx.kind);
        let limit = self.limit - J[self.run_index] - 1;
        let mapped = bits.golomb(k, limit, self.qbpp);
        let temp = mapped + ctx.kind;
        let odd = temp & 1 == 1;
        let magnitude = (temp + i32::from(odd)) / 2;
        let error = if (k != 0 || 2 * ctx.nn >= ctx.n) == odd {
            -magnitude
        } else {
            magnitude
        };
        if error < 0 {
            ctx.nn += 1;
        }
        ctx.a += (mapped + 1 - ctx.kind) >> 1;
        if ctx.n == self.reset {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        if same {
            self.reconstruct(ra, error)
        } else {
            self.reconstruct(rb, if rb < ra { -error } else { error })
        }
    }
}
