//! A lossless JPEG decoder (ITU-T T.81 process 14: Huffman-coded, predictive, one
//! component) for DICOM's JPEG Lossless syntaxes (`.57`, `.70`). dicom-rs decodes these
//! with jpeg-decoder, which was 17.8 of the 24.3 ms we spent on a 1024x1024 DX image; this
//! one reads the Huffman codes through a lookup table and rebuilds pixels in one pass.
//!
//! Only what jpeg-decoder decodes correctly is accepted: one component, point transform 0
//! and no restart interval (jpeg-decoder shifts its predictors by the point transform and
//! mishandles restarts). Anything else is [`LjpegError::Unsupported`] and the caller falls
//! back to dicom-rs, so both decoders give the same samples wherever this one answers
//! (checked on every JPEG Lossless fixture by `tests/ljpeg.rs`).

use std::fmt;

/// One decoded frame: `width * height` samples, row-major, each below 2^16.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LosslessFrame {
    pub width: usize,
    pub height: usize,
    /// Sample precision P from the frame header (2..=16).
    pub precision: u8,
    pub samples: Vec<u16>,
}

/// Why a stream was not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LjpegError {
    /// Valid JPEG this decoder leaves to dicom-rs (another process, several components, a
    /// point transform, restart markers).
    Unsupported(&'static str),
    /// Corrupt or truncated data.
    Invalid(&'static str),
}

impl fmt::Display for LjpegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LjpegError::Unsupported(what) => write!(f, "unsupported lossless JPEG: {what}"),
            LjpegError::Invalid(what) => write!(f, "invalid lossless JPEG: {what}"),
        }
    }
}

use LjpegError::Invalid;

/// Codes up to this many bits are decoded by one table lookup.
const LUT_BITS: u32 = 10;

/// A DC Huffman table (T.81 Annex C) as a lookup table plus the canonical limits.
struct Huffman {
    /// Indexed by the next `LUT_BITS` bits: (code length, symbol); length 0: longer code.
    lut: Vec<(u8, u8)>,
    /// Per code length 1..=16: the largest code (or -1) and the index offset into `values`.
    maxcode: [i32; 17],
    delta: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Self, LjpegError> {
        let mut maxcode = [-1i32; 17];
        let mut delta = [0i32; 17];
        let mut lut = vec![(0u8, 0u8); 1 << LUT_BITS];
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            if n > 0 {
                delta[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    let symbol = *values.get(k).ok_or(Invalid("Huffman table"))?;
                    if code >= 1 << len || symbol > 16 {
                        return Err(Invalid("Huffman table"));
                    }
                    if len <= LUT_BITS {
                        let shift = LUT_BITS - len;
                        let first = (code << shift) as usize;
                        lut[first..first + (1 << shift)].fill((len as u8, symbol));
                    }
                    code += 1;
                    k += 1;
                }
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(Huffman {
            lut,
            maxcode,
            delta,
            values: values[..k].to_vec(),
        })
    }
}

/// Entropy-coded bits, MSB first, with 0xFF00 unstuffed. At a marker (or the end of the
/// data) the reader feeds zero bits, as jpeg-decoder does; running off the end without a
/// marker is an error (jpeg-decoder fails there too).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    stopped: bool,
    past_end: bool,
}

impl Bits<'_> {
    #[inline]
    fn refill(&mut self) {
        if !self.stopped
            && crate::jpegls::refill_word(self.data, &mut self.pos, &mut self.acc, &mut self.n)
        {
            return;
        }
        while self.n <= 56 {
            let mut byte = 0;
            if !self.stopped {
                match (self.data.get(self.pos), self.data.get(self.pos + 1)) {
                    (Some(&0xFF), Some(&0x00)) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    (Some(&0xFF), _) => self.stopped = true,
                    (Some(&b), _) => {
                        byte = b;
                        self.pos += 1;
                    }
                    (None, _) => {
                        self.stopped = true;
                        self.past_end = true;
                    }
                }
            }
            self.acc |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
    }

    #[inline]
    fn take(&mut self, count: u32) -> u32 {
        let v = (self.acc >> (64 - count)) as u32;
        self.acc <<= count;
        self.n -= count;
        v
    }

    /// One difference (T.81 H.1.2.2): a Huffman-coded category, then that many bits.
    #[inline]
    fn difference(&mut self, h: &Huffman) -> Result<i32, LjpegError> {
        if self.n < 32 {
            self.refill();
        }
        let (len, mut category) = h.lut[(self.acc >> (64 - LUT_BITS)) as usize];
        if len > 0 {
            self.acc <<= len;
            self.n -= u32::from(len);
        } else {
            let peek = (self.acc >> 48) as i32;
            let len = (LUT_BITS + 1..=16)
                .find(|&l| peek >> (16 - l) <= h.maxcode[l as usize])
                .ok_or(Invalid("Huffman code"))?;
            let index = (peek >> (16 - len)) + h.delta[len as usize];
            category = *h
                .values
                .get(index as usize)
                .ok_or(Invalid("Huffman code"))?;
            self.take(len);
        }
        Ok(match category {
            0 => 0,
            16 => 32768,
            c => {
                let c = u32::from(c);
                let v = self.take(c) as i32;
                // T.81 F.12 EXTEND: a leading 0 bit means a negative difference. As a mask
                // rather than a branch, since the sign is as good as random.
                let negative = (v >> (c - 1)) - 1; // -1 when the leading bit is 0, else 0
                v + (negative & (1 - (1 << c)))
            }
        })
    }
}

/// Decodes one lossless JPEG frame (the bytes of one DICOM frame, SOI to EOI).
pub fn decode_lossless(data: &[u8]) -> Result<LosslessFrame, LjpegError> {
    crate::ljpeg_header::parse(data).and_then(|h| decode_scan(data, h))
}

fn decode_scan(
    data: &[u8],
    header: crate::ljpeg_header::Header,
) -> Result<LosslessFrame, LjpegError> {
    let crate::ljpeg_header::Header {
        width,
        height,
        precision,
        predictor,
        table,
        scan_start,
    } = header;
    let h = Huffman::new(&table.0, &table.1)?;
    let mut bits = Bits {
        data: data.get(scan_start..).unwrap_or_default(),
        pos: 0,
        acc: 0,
        n: 0,
        stopped: false,
        past_end: false,
    };
    let mut out = vec![0u16; width * height];
    let initial = if precision > 1 {
        1i32 << (precision - 1)
    } else {
        0
    };
    for y in 0..height {
        let (above, row) = out.split_at_mut(y * width);
        let row = &mut row[..width];
        let prev = above
            .get(above.len().saturating_sub(width)..)
            .unwrap_or(&[]);
        // First column: the sample above (or 2^(P-1) for the very first).
        let first = if y == 0 { initial } else { i32::from(prev[0]) };
        let mut left = (first + bits.difference(&h)?) as u16;
        row[0] = left;
        if y == 0 || predictor == 1 {
            for v in &mut row[1..] {
                left = (i32::from(left) + bits.difference(&h)?) as u16;
                *v = left;
            }
            continue;
        }
        for x in 1..width {
            let (ra, rb, rc) = (i32::from(left), i32::from(prev[x]), i32::from(prev[x - 1]));
            let p = match predictor {
                2 => rb,
                3 => rc,
                4 => ra + rb - rc,
                5 => ra + ((rb - rc) >> 1),
                6 => rb + ((ra - rc) >> 1),
                _ => (ra + rb) / 2,
            };
            left = (p + bits.difference(&h)?) as u16;
            row[x] = left;
        }
    }
    if bits.past_end {
        return Err(Invalid("scan ends without a marker"));
    }
    Ok(LosslessFrame {
        width,
        height,
        precision,
        samples: out,
    })
}
