//! The file meta group's header walk. dicom-object reads the meta group with its own code,
//! which allocates and zero-fills each value's declared length before reading it, so
//! `check_meta` walks the group's element headers in step with that reader and refuses the
//! first defined length that exceeds the bytes left. The data set after it is bounded inside
//! dicom-parser itself (`bounded.rs`).

use dicom_core::Tag;
use dicom_core::VR;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// The first element whose declared length exceeds the input: (tag, length, bytes left).
pub(crate) type Overlong = (Tag, u32, usize);

/// Scans the meta group of Part-10 bytes without the preamble (starting at "DICM").
pub(crate) fn check_meta(bytes: &[u8]) -> Result<(), Overlong> {
    let start = if bytes.starts_with(b"DICM") { 4 } else { 0 };
    scan_meta(&bytes[start..])
}

// The meta group is always explicit VR little endian.
fn u16_at(d: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(p..p + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(p..p + 4)?.try_into().ok()?))
}

/// Bytes dicom-parser consumes for a value: numeric VRs read whole numbers only
/// (`len >> 2` u32 values for UL, ...), so an odd length leaves bytes it reads as the
/// next header. The scan must stay in step with the parser to see what it sees.
pub(crate) fn consumed(vr: VR, len: usize) -> usize {
    let unit = match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::FL | VR::OF | VR::OL | VR::AT => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    };
    len - len % unit
}

/// Walks the meta group's elements, stopping at the first non-0002 group or where the
/// group length (0002,0000) says the group ends.
fn scan_meta(d: &[u8]) -> Result<(), Overlong> {
    let mut pos = 0;
    let mut fragments = false;
    // The meta group ends where its group length (0002,0000) says, as dicom-object reads it.
    let mut meta_end: Option<usize> = None;
    while pos + 8 <= d.len() {
        let (Some(group), Some(element)) = (u16_at(d, pos), u16_at(d, pos + 2)) else {
            break;
        };
        if meta_end.map_or(group != 0x0002, |end| pos >= end) {
            break;
        }
        let tag = Tag(group, element);
        if group == 0xFFFE {
            let Some(len) = u32_at(d, pos + 4) else {
                break;
            };
            pos += 8;
            let left = d.len() - pos;
            match element {
                // Lengths past the end are refused for every (FFFE,xxxx) tag: the parser may
                // read even a delimiter's non-zero length as a value.
                _ if len != UNDEFINED && len as usize > left => return Err((tag, len, left)),
                // Encapsulated fragments hold codec bytes, not elements: skip them.
                0xE000 if fragments && len != UNDEFINED => pos += len as usize,
                0xE0DD => fragments = false,
                0xE000 | 0xE00D => {}
                // Other (FFFE,xxxx) tags: the parser reads their value as bytes.
                _ if len != UNDEFINED => pos += len as usize,
                _ => {}
            }
            continue;
        }
        // Unknown VR bytes are read as UN (4-byte length), as dicom-encoding does.
        let vr = VR::from_binary([d[pos + 4], d[pos + 5]]).unwrap_or(VR::UN);
        let long = matches!(
            vr,
            VR::OB
                | VR::OD
                | VR::OF
                | VR::OL
                | VR::OV
                | VR::OW
                | VR::SQ
                | VR::SV
                | VR::UC
                | VR::UN
                | VR::UR
                | VR::UT
                | VR::UV
        );
        let (len, header) = if long {
            let Some(len) = u32_at(d, pos + 8) else {
                break;
            };
            (len, 12)
        } else {
            let Some(len) = u16_at(d, pos + 6) else {
                break;
            };
            (u32::from(len), 8)
        };
        pos += header;
        let left = d.len().saturating_sub(pos);
        if len == UNDEFINED {
            match vr {
                _ if tag == Tag(0x7FE0, 0x0010) => fragments = true,
                // Undefined-length UN holds implicit VR data we do not follow.
                VR::UN => break,
                // The parser reads any other undefined-length element as a sequence.
                _ => {}
            }
            continue;
        }
        if len as usize > left {
            return Err((tag, len, left));
        }
        if tag == Tag(0x0002, 0x0000) && len == 4 {
            meta_end = u32_at(d, pos).map(|v| pos + 4 + v as usize);
        }
        // Defined-length sequences are entered: their items' values are checked too.
        if vr != VR::SQ {
            pos += consumed(vr, len as usize);
        }
    }
    Ok(())
}
