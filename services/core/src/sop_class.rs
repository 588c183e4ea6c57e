//! The storage SOP classes radraft accepts: the image objects our decoder and the model use.

/// A storage SOP class the gateway accepts, with the modality family it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageClass {
    pub uid: &'static str,
    pub name: &'static str,
    pub family: &'static str,
}

const fn class(uid: &'static str, name: &'static str, family: &'static str) -> StorageClass {
    StorageClass { uid, name, family }
}

/// CR, DX, CT, MR, US, MG, SC and the enhanced CT/MR classes (PS3.4 Annex B.5).
pub const ACCEPTED: &[StorageClass] = &[
    class("1.2.840.10008.5.1.4.1.1.1", "CR Image Storage", "CR"),
    class(
        "1.2.840.10008.5.1.4.1.1.1.1",
        "Digital X-Ray Image Storage - For Presentation",
        "DX",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.1.1.1",
        "Digital X-Ray Image Storage - For Processing",
        "DX",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.1.2",
        "Digital Mammography X-Ray Image Storage - For Presentation",
        "MG",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.1.2.1",
        "Digital Mammography X-Ray Image Storage - For Processing",
        "MG",
    ),
    class("1.2.840.10008.5.1.4.1.1.2", "CT Image Storage", "CT"),
    class(
        "1.2.840.10008.5.1.4.1.1.2.1",
        "Enhanced CT Image Storage",
        "CT",
    ),
    class("1.2.840.10008.5.1.4.1.1.4", "MR Image Storage", "MR"),
    class(
        "1.2.840.10008.5.1.4.1.1.4.1",
        "Enhanced MR Image Storage",
        "MR",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.6.1",
        "Ultrasound Image Storage",
        "US",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.3.1",
        "Ultrasound Multi-frame Image Storage",
        "US",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.7",
        "Secondary Capture Image Storage",
        "SC",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.7.1",
        "Multi-frame Single Bit Secondary Capture Image Storage",
        "SC",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.7.2",
        "Multi-frame Grayscale Byte Secondary Capture Image Storage",
        "SC",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.7.3",
        "Multi-frame Grayscale Word Secondary Capture Image Storage",
        "SC",
    ),
    class(
        "1.2.840.10008.5.1.4.1.1.7.4",
        "Multi-frame True Color Secondary Capture Image Storage",
        "SC",
    ),
];

/// The accepted class with this UID, if any. Trailing NUL padding is ignored.
pub fn accepted(uid: &str) -> Option<&'static StorageClass> {
    let uid = uid.trim_end_matches(['\0', ' ']);
    ACCEPTED.iter().find(|class| class.uid == uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_classes_the_issue_names() {
        for family in ["CR", "DX", "CT", "MR", "US", "MG", "SC"] {
            assert!(ACCEPTED.iter().any(|c| c.family == family), "{family}");
        }
        assert_eq!(
            accepted("1.2.840.10008.5.1.4.1.1.2\0").map(|c| c.family),
            Some("CT")
        );
        assert_eq!(
            accepted("1.2.840.10008.5.1.4.1.1.4.1").map(|c| c.family),
            Some("MR")
        );
    }

    #[test]
    fn refuses_non_image_objects() {
        // Basic Text SR and Grayscale Softcopy Presentation State.
        assert!(accepted("1.2.840.10008.5.1.4.1.1.88.11").is_none());
        assert!(accepted("1.2.840.10008.5.1.4.1.1.11.1").is_none());
    }
}
