//! The marker segments in front of a JPEG-LS scan (ITU-T T.87 Annex C): SOF55, LSE preset
//! coding parameters, SOS; APPn, COM and the like are skipped. What `jpegls` does not decode
//! (several components, mapping tables, restart intervals, a point transform) is refused as
//! `Unsupported`, so the caller hands the stream to CharLS instead.

use crate::ljpeg::LjpegError::{self, Invalid, Unsupported};
use crate::ljpeg_header::{SOF55, Segment, segment_at, u16_at};

const LSE: u8 = 0xF8;
const SOS: u8 = 0xDA;
const DRI: u8 = 0xDD;

/// Coding parameters of one scan, defaults applied (T.87 C.2.4.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) precision: u8,
    pub(crate) maxval: i32,
    /// NEAR: 0 for lossless, else the largest error allowed per sample.
    pub(crate) near: i32,
    pub(crate) thresholds: [i32; 3],
    pub(crate) reset: i32,
    /// Offset of the first entropy-coded byte.
    pub(crate) scan_start: usize,
}

/// A 16-bit field as the i32 the coding parameters are computed in.
fn field(d: &[u8], p: usize) -> Result<i32, LjpegError> {
    u16_at(d, p).map(|v| v as i32)
}

/// Preset parameters as written in an LSE segment; 0 means "default".
#[derive(Default)]
struct Preset {
    maxval: i32,
    thresholds: [i32; 3],
    reset: i32,
}

/// Parses from SOI up to and including the SOS segment.
pub(crate) fn parse(d: &[u8]) -> Result<Header, LjpegError> {
    if !d.starts_with(&[0xFF, 0xD8]) {
        return Err(Invalid("no SOI marker"));
    }
    let mut pos = 2;
    let mut frame = None;
    let mut preset = Preset::default();
    loop {
        let Segment { marker, body, end } = segment_at(d, pos)?;
        match marker {
            SOF55 => frame = Some(parse_sof55(body)?),
            // JPEG's SOFn, and SOF57 (JPEG-LS extensions, T.870).
            0xC0..=0xCF | 0xF9 if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Err(Unsupported("not a baseline JPEG-LS frame"));
            }
            LSE => preset = parse_lse(body)?,
            DRI if u16_at(body, 0)? != 0 => return Err(Unsupported("restart interval")),
            SOS => {
                let (width, height, precision) = frame.ok_or(Invalid("SOS before SOF55"))?;
                return scan(body, width, height, precision, &preset, end);
            }
            _ => {}
        }
        pos = end;
    }
}

fn parse_sof55(seg: &[u8]) -> Result<(usize, usize, u8), LjpegError> {
    let &[precision, ..] = seg else {
        return Err(Invalid("SOF55"));
    };
    let height = u16_at(seg, 1)?;
    let width = u16_at(seg, 3)?;
    if *seg.get(5).ok_or(Invalid("SOF55"))? != 1 {
        return Err(Unsupported("more than one component"));
    }
    if !(2..=16).contains(&precision) {
        return Err(Invalid("SOF55 precision"));
    }
    if width == 0 || height == 0 {
        return Err(Unsupported("size from an LSE oversize segment"));
    }
    Ok((width, height, precision))
}

fn parse_lse(seg: &[u8]) -> Result<Preset, LjpegError> {
    if seg.first() != Some(&1) {
        return Err(Unsupported("LSE mapping table or oversize dimensions"));
    }
    Ok(Preset {
        maxval: field(seg, 1)?,
        thresholds: [field(seg, 3)?, field(seg, 5)?, field(seg, 7)?],
        reset: field(seg, 9)?,
    })
}

fn scan(
    seg: &[u8],
    width: usize,
    height: usize,
    precision: u8,
    preset: &Preset,
    scan_start: usize,
) -> Result<Header, LjpegError> {
    if seg.first() != Some(&1) {
        return Err(Unsupported("more than one component in the scan"));
    }
    let near = i32::from(*seg.get(3).ok_or(Invalid("SOS"))?);
    let point_transform = *seg.get(5).ok_or(Invalid("SOS"))? & 0x0F;
    if point_transform != 0 {
        return Err(Unsupported("point transform"));
    }
    let maxval = match preset.maxval {
        0 => (1 << precision) - 1,
        m => m,
    };
    if near > (maxval / 2).min(255) || maxval >= 1 << precision {
        return Err(Invalid("NEAR or MAXVAL out of range"));
    }
    let defaults = default_thresholds(maxval, near);
    let mut thresholds = [0; 3];
    for (i, t) in thresholds.iter_mut().enumerate() {
        *t = match preset.thresholds[i] {
            0 => defaults[i],
            v => v,
        };
    }
    let [t1, t2, t3] = thresholds;
    if !(near < t1 && t1 <= t2 && t2 <= t3 && t3 <= maxval) {
        return Err(Invalid("LSE thresholds out of order"));
    }
    let reset = match preset.reset {
        0 => 64,
        r if r >= 3 && r <= maxval.max(255) => r,
        _ => return Err(Invalid("LSE RESET out of range")),
    };
    Ok(Header {
        width,
        height,
        precision,
        maxval,
        near,
        thresholds,
        reset,
        scan_start,
    })
}

/// T1, T2, T3 when the stream does not set them (T.87 C.2.4.1.1.1).
fn default_thresholds(maxval: i32, near: i32) -> [i32; 3] {
    const BASIC: [i32; 3] = [3, 7, 21];
    let clamp = |v: i32, low: i32| if v > maxval || v < low { low } else { v };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) >> 8;
        let t1 = clamp(factor * (BASIC[0] - 2) + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * (BASIC[1] - 3) + 3 + 5 * near, t1);
        let t3 = clamp(factor * (BASIC[2] - 4) + 4 + 7 * near, t2);
        [t1, t2, t3]
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((BASIC[0] / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((BASIC[1] / factor + 5 * near).max(3), t1);
        let t3 = clamp((BASIC[2] / factor + 7 * near).max(4), t2);
        [t1, t2, t3]
    }
}

#[cfg(test)]
mod tests {
    use super::default_thresholds;

    #[test]
    fn default_thresholds_follow_the_standard() {
        // T.87 Table C.3's values for 8-bit lossless, and CharLS's for 12 and 16 bits.
        assert_eq!(default_thresholds(255, 0), [3, 7, 21]);
        assert_eq!(default_thresholds(4095, 0), [18, 67, 276]);
        assert_eq!(default_thresholds(65535, 0), [18, 67, 276]);
        assert_eq!(default_thresholds(255, 2), [9, 17, 35]);
        assert_eq!(default_thresholds(15, 0), [2, 3, 4]);
    }
}
