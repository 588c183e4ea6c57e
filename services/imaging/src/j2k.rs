//! JPEG 2000 at reduced resolution. A 2k x 2k chest film is shown to MedGemma at 896 px; the
//! codestream already holds the image at half and quarter resolution (its wavelet levels),
//! so OpenJPEG can stop early and skip most of the work. Used only when asked
//! (`StudyOptions::j2k_reduce_to`), since the result differs slightly from decoding at full
//! size and resizing (the wavelet's low-pass band instead of Pillow's bilinear filter).

use dicom_dictionary_std::tags;
use jpeg2k::{DecodeParameters, Image};

use crate::codec::{Native, int, monochrome};
use crate::object::Instance;

/// JPEG 2000 (lossless only, and lossy) transfer syntaxes.
const JPEG_2000: [&str; 2] = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"];

/// How many halvings keep the longer side at or above `target`.
pub(crate) fn reduce_levels(rows: usize, columns: usize, target: usize) -> u32 {
    let mut side = rows.max(columns);
    let mut levels = 0;
    while target > 0 && side / 2 >= target {
        side /= 2;
        levels += 1;
    }
    levels
}

/// Decodes a single-frame JPEG 2000 object at the resolution that still covers `target`
/// pixels on its longer side. `None` when it does not apply (another syntax, several frames,
/// no reduction possible, an unusual layout) and when OpenJPEG fails at the reduced level
/// (a codestream with fewer wavelet levels, or a corrupt one): the caller then decodes at
/// full size as usual, and reports the decoder's error if there is one.
pub(crate) fn decode_reduced(instance: &Instance, target: usize) -> Option<Native> {
    let ts = instance.transfer_syntax().trim_end_matches('\0');
    if !JPEG_2000.contains(&ts) || int(instance, tags::NUMBER_OF_FRAMES).unwrap_or(1) > 1 {
        return None;
    }
    let rows = int(instance, tags::ROWS)? as usize;
    let columns = int(instance, tags::COLUMNS)? as usize;
    let levels = reduce_levels(rows, columns, target);
    if levels == 0 {
        return None;
    }
    let bits_allocated = u16::try_from(int(instance, tags::BITS_ALLOCATED)?).ok()?;
    let bits_stored = u16::try_from(int(instance, tags::BITS_STORED)?).ok()?;
    let samples = int(instance, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as usize;
    let signed = int(instance, tags::PIXEL_REPRESENTATION)? == 1;
    let pi = monochrome(instance)?;
    if !matches!(bits_allocated, 8 | 16) || samples != 1 {
        return None;
    }
    let element = instance.object.element_opt(tags::PIXEL_DATA).ok()??;
    let stream = element.value().fragments()?.concat();
    let (width, height, data) = decode(&stream, levels, bits_allocated)?;
    Some(Native {
        rows: height,
        columns: width,
        count: 1,
        samples,
        bits_allocated,
        bits_stored,
        signed,
        pi,
        planar: false,
        data,
    })
}

/// The first component at `levels` halvings, as little-endian samples of `bits_allocated`:
/// (width, height, bytes). `None` when OpenJPEG fails; the caller falls back to the full
/// decode, which reports the error.
fn decode(stream: &[u8], levels: u32, bits_allocated: u16) -> Option<(usize, usize, Vec<u8>)> {
    let params = DecodeParameters::new().reduce(levels);
    let image = Image::from_bytes_with(stream, params).ok()?;
    let component = image.components().first()?;
    let (width, height) = (component.width() as usize, component.height() as usize);
    let values = component.data().get(..width * height)?;
    let bytes = if bits_allocated == 8 {
        values.iter().map(|&v| v as u8).collect()
    } else {
        values
            .iter()
            .flat_map(|&v| (v as u16).to_le_bytes())
            .collect()
    };
    Some((width, height, bytes))
}

#[cfg(test)]
mod tests {
    use super::reduce_levels;

    #[test]
    fn levels_keep_the_longer_side_at_or_above_the_target() {
        assert_eq!(reduce_levels(1841, 1955, 896), 1);
        assert_eq!(reduce_levels(4096, 3328, 896), 2);
        assert_eq!(reduce_levels(512, 512, 896), 0);
        assert_eq!(reduce_levels(1791, 1000, 896), 0);
        assert_eq!(reduce_levels(1792, 1000, 896), 1);
        assert_eq!(reduce_levels(1792, 1000, 0), 0);
    }
}
