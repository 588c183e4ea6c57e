//! The marker segments in front of a lossless JPEG scan (T.81 Annex B): SOF3, DHT, DRI,
//! SOS; APPn, COM and the like are skipped. Everything `ljpeg` does not decode is refused
//! here as `Unsupported`, so the caller can hand the stream to dicom-rs instead.

use crate::ljpeg::LjpegError::{self, Invalid, Unsupported};

/// A DC Huffman table as stored: 16 code counts, then the symbols.
pub(crate) type Table = ([u8; 16], Vec<u8>);

/// What the scan decoder needs.
pub(crate) struct Header {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) precision: u8,
    /// Predictor selection value 1..=7 (T.81 Table H.1).
    pub(crate) predictor: u8,
    pub(crate) table: Table,
    /// Offset of the first entropy-coded byte.
    pub(crate) scan_start: usize,
}

struct Frame {
    width: usize,
    height: usize,
    precision: u8,
    component: u8,
}

pub(crate) fn u16_at(d: &[u8], p: usize) -> Result<usize, LjpegError> {
    match d.get(p..p + 2) {
        Some(&[a, b]) => Ok(usize::from(u16::from_be_bytes([a, b]))),
        _ => Err(Invalid("truncated header")),
    }
}

/// Parses from SOI up to and including the SOS segment.
pub(crate) fn parse(d: &[u8]) -> Result<Header, LjpegError> {
    if !d.starts_with(&[0xFF, 0xD8]) {
        return Err(Invalid("no SOI marker"));
    }
    let mut pos = 2;
    let mut frame: Option<Frame> = None;
    let mut tables: [Option<Table>; 4] = [None, None, None, None];
    loop {
        let Segment { marker, body, end } = segment_at(d, pos)?;
        match marker {
            0xC3 => frame = Some(parse_sof3(body)?),
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Err(Unsupported("not process 14 (SOF3)"));
            }
            0xC4 => parse_dht(body, &mut tables)?,
            0xDD if u16_at(body, 0)? != 0 => return Err(Unsupported("restart interval")),
            0xDA => {
                let f = frame.ok_or(Invalid("SOS before SOF"))?;
                return parse_sos(body, f, &mut tables, end);
            }
            _ => {}
        }
        pos = end;
    }
}

/// One marker segment: its marker, its body (after the length field), and where the next
/// one starts. Shared with the JPEG-LS header parser, whose syntax is the same (T.87 C.1).
pub(crate) struct Segment<'a> {
    pub(crate) marker: u8,
    pub(crate) body: &'a [u8],
    pub(crate) end: usize,
}

/// The marker segment at `pos`, after any number of 0xFF fill bytes (T.81 B.1.1.2). A
/// stand-alone marker (EOI, RSTn, TEM) before the scan means there is no scan.
pub(crate) fn segment_at(d: &[u8], mut pos: usize) -> Result<Segment<'_>, LjpegError> {
    if d.get(pos) != Some(&0xFF) {
        return Err(Invalid("marker expected"));
    }
    while d.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    let marker = *d.get(pos).ok_or(Invalid("truncated header"))?;
    pos += 1;
    if marker == 0xD9 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
        return Err(Invalid("no scan"));
    }
    let len = u16_at(d, pos)?;
    if len < 2 {
        return Err(Invalid("segment length"));
    }
    let body = d
        .get(pos + 2..pos + len)
        .ok_or(Invalid("truncated segment"))?;
    Ok(Segment {
        marker,
        body,
        end: pos + len,
    })
}

fn parse_sof3(seg: &[u8]) -> Result<Frame, LjpegError> {
    let &[precision, ..] = seg else {
        return Err(Invalid("SOF3"));
    };
    let height = u16_at(seg, 1)?;
    let width = u16_at(seg, 3)?;
    let components = *seg.get(5).ok_or(Invalid("SOF3"))?;
    if components != 1 {
        return Err(Unsupported("more than one component"));
    }
    let component = *seg.get(6).ok_or(Invalid("SOF3"))?;
    if !(2..=16).contains(&precision) || width == 0 {
        return Err(Invalid("SOF3 precision or width"));
    }
    if height == 0 {
        return Err(Unsupported("height from a DNL marker"));
    }
    Ok(Frame {
        width,
        height,
        precision,
        component,
    })
}

fn parse_dht(mut seg: &[u8], tables: &mut [Option<Table>; 4]) -> Result<(), LjpegError> {
    while let Some(&tc_th) = seg.first() {
        let counts: [u8; 16] = seg
            .get(1..17)
            .and_then(|c| c.try_into().ok())
            .ok_or(Invalid("DHT"))?;
        let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = seg.get(17..17 + n).ok_or(Invalid("DHT"))?;
        let (class, id) = (tc_th >> 4, usize::from(tc_th & 0x0F));
        if class > 1 || id > 3 {
            return Err(Invalid("DHT class or id"));
        }
        if class == 0 {
            tables[id] = Some((counts, values.to_vec()));
        }
        seg = &seg[17 + n..];
    }
    Ok(())
}

fn parse_sos(
    seg: &[u8],
    frame: Frame,
    tables: &mut [Option<Table>; 4],
    scan_start: usize,
) -> Result<Header, LjpegError> {
    let &[ns, cs, td_ta, ss, _se, ah_al, ..] = seg else {
        return Err(Invalid("SOS"));
    };
    if ns != 1 || cs != frame.component {
        return Err(Invalid("SOS component"));
    }
    if ah_al & 0x0F != 0 {
        return Err(Unsupported("point transform"));
    }
    if !(1..=7).contains(&ss) {
        return Err(Unsupported("predictor"));
    }
    let table = tables
        .get_mut(usize::from(td_ta >> 4))
        .and_then(Option::take)
        .ok_or(Invalid("scan uses an undefined Huffman table"))?;
    Ok(Header {
        width: frame.width,
        height: frame.height,
        precision: frame.precision,
        predictor: ss,
        table,
        scan_start,
    })
}

/// JPEG-LS's frame header marker, SOF55 (T.87 C.2.2).
pub(crate) const SOF55: u8 = 0xF7;

/// A JPEG-LS frame header marker.
pub(crate) fn is_jpeg_ls_sof(marker: u8) -> bool {
    marker == SOF55
}

/// A JPEG frame header marker, SOF0 to SOF15 (T.81 Table B.1; C4, C8 and CC are not).
pub(crate) fn is_jpeg_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// The frame size (width, height, components) from the first frame header (a marker
/// `is_frame_header` accepts) after the SOI at the start of `d`, if its marker segments
/// can be followed that far. JPEG-LS's SOF55 has the same layout as JPEG's SOFn.
pub(crate) fn sof_size(
    d: &[u8],
    is_frame_header: impl Fn(u8) -> bool,
) -> Option<(usize, usize, usize)> {
    let mut pos = 2;
    loop {
        while d.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *d.get(pos)?;
        let len = u16_at(d, pos + 1).ok()?;
        let seg = d.get(pos + 3..pos + 1 + len)?;
        if is_frame_header(marker) {
            let (h, w) = (u16_at(seg, 1).ok()?, u16_at(seg, 3).ok()?);
            return Some((w, h, usize::from(*seg.get(5)?)));
        }
        if marker == 0xDA || marker == 0xD9 || len < 2 {
            return None;
        }
        pos += 1 + len;
    }
}
