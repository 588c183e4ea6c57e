//! The transfer syntaxes radraft's pixel decoder handles: the gateway accepts exactly these,
//! so nothing is stored that the worker cannot read.

/// `(uid, name)` of every transfer syntax the imaging crate decodes (dicom-pixeldata with
/// OpenJPEG and CharLS). 12-bit JPEG Extended (1.2.840.10008.1.2.4.51) is left out: the
/// decoder does not support it.
pub const DECODABLE: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    (
        "1.2.840.10008.1.2.4.57",
        "JPEG Lossless, Non-Hierarchical (Process 14)",
    ),
    (
        "1.2.840.10008.1.2.4.70",
        "JPEG Lossless, First-Order Prediction (Process 14 SV1)",
    ),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless Only"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

/// The human name of a decodable transfer syntax, ignoring DICOM's NUL padding.
pub fn decodable(uid: &str) -> Option<&'static str> {
    let uid = uid.trim_end_matches(['\0', ' ']);
    DECODABLE
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_compressed_and_uncompressed_syntaxes() {
        assert_eq!(
            decodable("1.2.840.10008.1.2.1\0"),
            Some("Explicit VR Little Endian")
        );
        assert_eq!(
            decodable("1.2.840.10008.1.2.4.90"),
            Some("JPEG 2000 Lossless Only")
        );
        assert_eq!(
            decodable("1.2.840.10008.1.2.4.51"),
            None,
            "12-bit JPEG is not decodable"
        );
    }
}
