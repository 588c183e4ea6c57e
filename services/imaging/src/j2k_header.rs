//! The JPEG 2000 codestream's SIZ segment (ISO 15444-1 A.5.1): the image size and tile grid
//! OpenJPEG allocates for, read from a raw codestream or from a JP2 file's codestream box.

use crate::stream_guard::{Header, Size};

/// The first bytes of a JP2 file (its signature box); a raw codestream starts with SOC SIZ.
const JP2_SIGNATURE: [u8; 12] = [0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
const SOC_SIZ: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];

/// The SIZ segment right after SOC (ISO 15444-1 A.5.1), in a raw codestream or in a JP2
/// file's contiguous codestream box.
pub(crate) fn j2k_header(data: &[u8]) -> Header {
    let codestream = if data.starts_with(&SOC_SIZ) {
        data
    } else if data.starts_with(&JP2_SIGNATURE) {
        match jp2_codestream(data) {
            Some(c) if c.starts_with(&SOC_SIZ) => c,
            _ => return Header::Refused("is a JP2 file without a readable codestream box".into()),
        }
    } else {
        return Header::NotThisFormat;
    };
    match siz(codestream) {
        Some((size, tiles)) => Header::Size(size, tiles),
        None => Header::Refused(
            "has a truncated or inconsistent SIZ segment (an offset past the image, or \
             empty tiles)"
                .into(),
        ),
    }
}

/// The image size and tile count from SIZ, after SOC and the SIZ marker: Lsiz, Rsiz, Xsiz,
/// Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz. OpenJPEG's image is
/// (Xsiz - XOsiz) x (Ysiz - YOsiz); its tile grid starts at (XTOsiz, YTOsiz).
fn siz(codestream: &[u8]) -> Option<(Size, usize)> {
    let u32_at = |p: usize| {
        let b = codestream.get(p..p + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (x, y, x0, y0) = (u32_at(8)?, u32_at(12)?, u32_at(16)?, u32_at(20)?);
    let (tile_x, tile_y, tile_x0, tile_y0) = (u32_at(24)?, u32_at(28)?, u32_at(32)?, u32_at(36)?);
    let c = codestream.get(40..42)?;
    let components = usize::from(u16::from_be_bytes([c[0], c[1]]));
    let across = tiles_along(x, tile_x0, tile_x)?;
    let down = tiles_along(y, tile_y0, tile_y)?;
    let size = (x.checked_sub(x0)?, y.checked_sub(y0)?, components);
    Some((size, across.saturating_mul(down)))
}

/// Tiles of side `tile` from `origin` to `end`; `None` for an empty tile or grid.
fn tiles_along(end: usize, origin: usize, tile: usize) -> Option<usize> {
    (tile > 0 && end > origin).then(|| (end - origin).div_ceil(tile))
}

/// The contents of a JP2 file's first contiguous codestream box ("jp2c", ISO 15444-1 I.4).
fn jp2_codestream(data: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    while pos + 8 <= data.len() {
        let b = data.get(pos..pos + 8)?;
        let length = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let (header, length) = match length {
            0 => (8, (data.len() - pos) as u64), // the last box, to the end
            1 => {
                let x = data.get(pos + 8..pos + 16)?;
                (16, u64::from_be_bytes(x.try_into().ok()?))
            }
            n => (8, n),
        };
        if length < header as u64 {
            return None; // a box shorter than its own header
        }
        let end = pos
            .checked_add(usize::try_from(length).ok()?)?
            .min(data.len());
        if &b[4..8] == b"jp2c" {
            return data.get(pos + header..end);
        }
        pos = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOC and a SIZ segment (without its per-component fields) for one tile.
    fn siz(width: u32, height: u32, x0: u32, components: u16) -> Vec<u8> {
        tiled(width, height, x0, components, (width, height))
    }

    fn tiled(width: u32, height: u32, x0: u32, components: u16, tile: (u32, u32)) -> Vec<u8> {
        let mut s = SOC_SIZ.to_vec();
        s.extend_from_slice(&(38 + 3 * components).to_be_bytes()); // Lsiz
        s.extend_from_slice(&0u16.to_be_bytes()); // Rsiz
        for v in [width, height, x0, 0, tile.0, tile.1, 0, 0] {
            s.extend_from_slice(&v.to_be_bytes());
        }
        s.extend_from_slice(&components.to_be_bytes());
        s
    }

    #[test]
    fn siz_gives_the_image_size_net_of_the_offset() {
        assert!(matches!(
            j2k_header(&siz(512, 256, 0, 1)),
            Header::Size((512, 256, 1), 1)
        ));
        assert!(matches!(
            j2k_header(&siz(612, 256, 100, 3)),
            Header::Size((512, 256, 3), 1)
        ));
        assert!(matches!(
            j2k_header(&siz(10, 10, 11, 1)),
            Header::Refused(_)
        ));
        assert!(matches!(
            j2k_header(&siz(512, 256, 0, 1)[..30]),
            Header::Refused(_)
        ));
        assert!(matches!(
            j2k_header(b"not a codestream"),
            Header::NotThisFormat
        ));
    }

    #[test]
    fn tile_grids_are_counted_and_empty_tiles_refused() {
        let grid = |tile| j2k_header(&tiled(4096, 4096, 0, 1, tile));
        assert!(matches!(
            grid((64, 64)),
            Header::Size((4096, 4096, 1), 4096)
        ));
        assert!(matches!(grid((63, 64)), Header::Size(_, 4224)));
        assert!(matches!(grid((0, 64)), Header::Refused(p) if p.contains("empty tiles")));
        assert!(matches!(grid((5000, 5000)), Header::Size(_, 1))); // one tile past the image
    }

    #[test]
    fn jp2_boxes_are_walked_to_the_codestream() {
        let mut file = JP2_SIGNATURE.to_vec();
        file.extend_from_slice(&20u32.to_be_bytes());
        file.extend_from_slice(b"ftypjp2 \0\0\0\0jp2 ");
        let codestream = siz(4096, 4096, 0, 1);
        file.extend_from_slice(&(8 + codestream.len() as u32).to_be_bytes());
        file.extend_from_slice(b"jp2c");
        file.extend_from_slice(&codestream);
        assert!(matches!(
            j2k_header(&file),
            Header::Size((4096, 4096, 1), 1)
        ));
        // A box claiming to be shorter than its header ends the walk.
        let mut broken = JP2_SIGNATURE.to_vec();
        broken.extend_from_slice(&[0, 0, 0, 4, b'x', b'x', b'x', b'x']);
        assert!(matches!(j2k_header(&broken), Header::Refused(_)));
    }
}
