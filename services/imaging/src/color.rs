//! Colour-space conversion for YBR_FULL data, with pydicom's coefficients and rounding.

/// YBR_FULL to RGB in place on interleaved 8-bit triples (pydicom's
/// `convert_color_space`: ITU-R BT.601 full range, +0.5 then floor, clipped to 0..=255).
pub(crate) fn ybr_full_to_rgb(data: &mut [u8]) {
    for px in data.chunks_exact_mut(3) {
        let y = f64::from(px[0]);
        let cb = f64::from(px[1]) - 128.0;
        let cr = f64::from(px[2]) - 128.0;
        let r = y + 1.402 * cr;
        let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr;
        let b = y + 1.772 * cb;
        let to_u8 = |v: f64| (v + 0.5).floor().clamp(0.0, 255.0) as u8;
        px[0] = to_u8(r);
        px[1] = to_u8(g);
        px[2] = to_u8(b);
    }
}
