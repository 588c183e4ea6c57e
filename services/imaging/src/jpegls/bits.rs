//! JPEG-LS's entropy-coded bits (T.87 A.1, 9.1): a 64-bit reservoir refilled eight bytes at
//! a time where no 0xFF needs unstuffing, and the limited-length Golomb codes read from it.

/// The entropy-coded bits: after a 0xFF byte only 7 bits of the next byte are data, and a
/// 0xFF followed by a byte of 0x80 or more is a marker, the scan's end.
pub(crate) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// Unread bits, left-aligned.
    acc: u64,
    count: u32,
    after_ff: bool,
    /// Zero bits appended past the end of the scan; reading one means truncated data.
    padding: u32,
    /// Set on a code no valid stream contains. The hot path keeps going (on zeros) and the
    /// caller checks once per line, which is cheaper than a `Result` per sample.
    pub(crate) corrupt: Option<&'static str>,
}

impl<'a> Bits<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            acc: 0,
            count: 0,
            after_ff: false,
            padding: 0,
            corrupt: None,
        }
    }

    #[inline]
    fn refill(&mut self) {
        if !self.after_ff && refill_word(self.data, &mut self.pos, &mut self.acc, &mut self.count) {
            return;
        }
        while self.count <= 56 {
            match self.data.get(self.pos) {
                Some(&byte) if !(self.after_ff && byte >= 0x80) => {
                    self.pos += 1;
                    let width = if self.after_ff { 7 } else { 8 };
                    self.acc |= u64::from(byte) << (64 - width - self.count);
                    self.count += width;
                    self.after_ff = byte == 0xFF;
                }
                _ => {
                    self.count += 8;
                    self.padding += 8;
                }
            }
        }
    }

    pub(crate) fn overran(&self) -> bool {
        self.padding > self.count
    }

    /// `n` bits (at most 32) as a number.
    #[inline]
    pub(crate) fn take(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.refill();
        }
        let v = (self.acc >> (64 - n)) as i32;
        self.acc <<= n;
        self.count -= n;
        v
    }

    #[inline]
    pub(crate) fn bit(&mut self) -> bool {
        self.take(1) == 1
    }

    /// Zeros before the next 1 (which is consumed), refusing more than `limit`.
    #[inline(always)]
    fn unary(&mut self, limit: u32) -> u32 {
        let mut zeros = 0;
        loop {
            if self.count < 32 {
                self.refill();
            }
            let lead = self.acc.leading_zeros();
            if lead < self.count {
                self.acc <<= lead + 1;
                self.count -= lead + 1;
                return zeros + lead;
            }
            zeros += self.count;
            self.acc = 0;
            self.count = 0;
            if zeros > limit {
                self.corrupt = Some("Golomb code too long");
                return 0;
            }
        }
    }

    /// A Golomb-coded value with parameter `k` and escape after `limit` (T.87 A.5.3).
    #[inline(always)]
    pub(crate) fn golomb(&mut self, k: u32, limit: u32, qbpp: u32) -> i32 {
        let high = self.unary(limit);
        if high >= limit.saturating_sub(qbpp + 1) {
            return self.take(qbpp) + 1;
        }
        // A mapped error is below 2 x RANGE <= 2^17; more means corrupt data.
        if k > 17 || high >= 1 << (17 - k) {
            self.corrupt = Some("Golomb value out of range");
            return 0;
        }
        ((high << k) as i32) + self.take(k)
    }
}

/// Tops up a left-aligned bit reservoir (`acc`, `count` valid bits, `count` < 32) with the
/// whole bytes that fit from the next eight at `pos`, if none of them is 0xFF: then neither
/// JPEG's nor JPEG-LS's stuffing applies and no marker is in reach. Returns whether it did.
#[inline]
pub(crate) fn refill_word(data: &[u8], pos: &mut usize, acc: &mut u64, count: &mut u32) -> bool {
    let Some(bytes) = data.get(*pos..*pos + 8) else {
        return false;
    };
    let word = u64::from_be_bytes(bytes.try_into().unwrap_or_default());
    if has_ff_byte(word) {
        return false;
    }
    let whole = (64 - *count) / 8;
    *acc |= (word >> (64 - 8 * whole)) << (64 - 8 * whole - *count);
    *count += 8 * whole;
    *pos += whole as usize;
    true
}

/// Whether any byte of `word` is 0xFF.
#[inline]
fn has_ff_byte(word: u64) -> bool {
    let inverted = !word; // an 0xFF byte becomes 0x00
    inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080 != 0
}
