//! From stored values to 8-bit display values: Modality LUT (rescale), a linear window,
//! MONOCHROME1 inversion. One formula everywhere, mirrored exactly by the Python reference.
//!
//! A window `[lo, hi]` maps a modality value `x` to `floor(clamp((x - lo) / (hi - lo), 0, 1)
//! * 255 + 0.5)`, computed in f64. The file's VOI window (centre `c`, width `w`) is the DICOM
//! linear function, which is the same map with `lo = c - 0.5 - (w - 1) / 2` and
//! `hi = c - 0.5 + (w - 1) / 2`. Without a window in the file the fallback is the image's
//! own min..max (after rescale). `hi <= lo` thresholds: `x > lo` gives 255.

use crate::image8::Image8;
use crate::pixels::FileWindow;

/// Widest stored-value range rendered through a lookup table (every range of data of 16
/// bits or fewer); wider ones are computed per sample.
const MAX_TABLE_SPAN: usize = 1 << 20;

/// A linear window in modality units (HU for CT).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub lo: f64,
    pub hi: f64,
}

impl Window {
    /// The DICOM linear VOI function for a centre and width.
    pub fn from_center_width(w: FileWindow) -> Self {
        let half = (w.width - 1.0) / 2.0;
        Window {
            lo: w.center - 0.5 - half,
            hi: w.center - 0.5 + half,
        }
    }

    /// Maps one modality value to 8 bits.
    #[inline]
    pub fn apply(&self, x: f64) -> u8 {
        if self.hi <= self.lo {
            return if x > self.lo { 255 } else { 0 };
        }
        let y = ((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        (y * 255.0 + 0.5).floor() as u8
    }
}

/// Stored values of one frame with their rescale, ready to window.
#[derive(Debug, Clone, Copy)]
pub struct GrayFrame<'a> {
    pub rows: usize,
    pub columns: usize,
    pub stored: &'a [i32],
    pub slope: f64,
    pub intercept: f64,
}

impl GrayFrame<'_> {
    /// Smallest and largest stored values (None for an empty frame).
    pub fn stored_range(&self) -> Option<(i32, i32)> {
        let mut it = self.stored.iter().copied();
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    }

    /// Modality-value range (rescale applied), the min-max window fallback.
    pub fn modality_range(&self) -> Option<Window> {
        let (a, b) = self.stored_range()?;
        let (x, y) = (self.modality(a), self.modality(b));
        Some(Window {
            lo: x.min(y),
            hi: x.max(y),
        })
    }

    #[inline]
    fn modality(&self, v: i32) -> f64 {
        f64::from(v) * self.slope + self.intercept
    }

    /// One 8-bit plane through `window`, inverted for MONOCHROME1. Uses a lookup table over
    /// the stored range when it is small (always, for data of 16 bits or fewer), which is
    /// both fast and bit-identical to the per-pixel formula.
    pub fn render(&self, window: Window, invert: bool) -> Vec<u8> {
        let Some((min, max)) = self.stored_range() else {
            return Vec::new();
        };
        let span = (i64::from(max) - i64::from(min)) as usize;
        let map = |v: i32| {
            let o = window.apply(self.modality(v));
            if invert { 255 - o } else { o }
        };
        if span <= MAX_TABLE_SPAN {
            let lut: Vec<u8> = (0..=span).map(|i| map(min + i as i32)).collect();
            self.stored
                .iter()
                .map(|&v| lut[(v - min) as usize])
                .collect()
        } else {
            self.stored.iter().map(|&v| map(v)).collect()
        }
    }

    /// Three planes through three windows (CT's RGB recipe) in one pass over the samples,
    /// each plane bit-identical to [`GrayFrame::render`] with that window.
    pub fn render_three(&self, windows: [Window; 3]) -> [Vec<u8>; 3] {
        let Some((min, max)) = self.stored_range() else {
            return [Vec::new(), Vec::new(), Vec::new()];
        };
        let span = (i64::from(max) - i64::from(min)) as usize;
        if span > MAX_TABLE_SPAN {
            return windows.map(|w| self.render(w, false));
        }
        // One table entry holds all three values, so each sample costs one lookup.
        let lut: Vec<[u8; 3]> = (0..=span)
            .map(|i| windows.map(|w| w.apply(self.modality(min + i as i32))))
            .collect();
        let n = self.stored.len();
        let [mut r, mut g, mut b] = [0, 1, 2].map(|_| vec![0u8; n]);
        let planes = r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut());
        for (&v, ((r, g), b)) in self.stored.iter().zip(planes) {
            [*r, *g, *b] = lut.get((v - min) as usize).copied().unwrap_or_default();
        }
        [r, g, b]
    }

    /// This frame as a single-plane [`Image8`].
    pub fn to_image(&self, window: Window, invert: bool) -> Image8 {
        Image8::gray(self.columns, self.rows, self.render(window, invert))
    }
}
