//! The PHI canary: a patient whose every identifying value is distinctive, objects of that
//! patient to send through the services, and the search for those values (and the usual
//! encodings of them) in whatever the services let out.

use base64::Engine;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::synthetic::{CT_IMAGE_STORAGE, ct_in_series, encode_file, make_undecodable};

/// Other Patient IDs (0010,1000): retired from the standard, still sent by older systems.
const OTHER_PATIENT_IDS_TAG: dicom_core::Tag = dicom_core::Tag(0x0010, 0x1000);

/// Every value carries the marker, so a fragment of any of them is found too.
pub const MARKER: &str = "CANARY";
pub const PATIENT_NAME: &str = "CANARYFAMILY^CANARYGIVEN^CANARYMIDDLE";
pub const PATIENT_ID: &str = "CANARYPID-73194";
pub const BIRTH_DATE: &str = "19230817";
pub const OTHER_PATIENT_IDS: &str = "CANARYOTHERID-4471";
pub const PATIENT_ADDRESS: &str = "CANARYSTREET 99, CANARYTOWN";
pub const REFERRING_PHYSICIAN: &str = "CANARYREFDOC^CANARYDOCGIVEN";
pub const INSTITUTION: &str = "CANARYHOSPITAL";
pub const ACCESSION: &str = "CANARYACC5521";
pub const STUDY_DESCRIPTION: &str = "CANARYSTUDYDESC CHEST";

/// Every canary value, birth date included.
pub fn values() -> Vec<&'static str> {
    vec![
        PATIENT_NAME,
        PATIENT_ID,
        BIRTH_DATE,
        OTHER_PATIENT_IDS,
        PATIENT_ADDRESS,
        REFERRING_PHYSICIAN,
        INSTITUTION,
        ACCESSION,
        STUDY_DESCRIPTION,
    ]
}

/// What is searched for (case-insensitively): the marker, plain, in hex and as Rust's
/// debug list of byte values; each value in base64 at every alignment; and the birth date
/// as DICOM writes it, in ISO form and in the usual day/month orders.
pub fn needles() -> Vec<String> {
    let mut needles = vec![
        MARKER.to_owned(),
        hex::encode(MARKER),
        MARKER
            .bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        "1923-08-17".to_owned(),
        "1923/08/17".to_owned(),
        "17.08.1923".to_owned(),
        "17/08/1923".to_owned(),
        "08/17/1923".to_owned(),
        BIRTH_DATE.to_owned(),
    ];
    for value in values() {
        needles.extend(base64_fragments(value));
    }
    needles
}

/// The part of `value`'s base64 that does not depend on the bytes around it, for each of
/// the three positions it can start at within a 3-byte group.
fn base64_fragments(value: &str) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    (0..3)
        .filter_map(|offset| {
            let mut bytes = vec![0_u8; offset];
            bytes.extend_from_slice(value.as_bytes());
            let encoded = engine.encode(&bytes);
            // Drop the group the leading bytes share, and the last, partial group.
            let start = if offset == 0 { 0 } else { 4 };
            let whole = (offset + value.len()) / 3 * 4;
            (whole > start + 8).then(|| encoded[start..whole].to_owned())
        })
        .collect()
}

/// Each needle found in `text`, with the line around it: `"{what}: {needle} in {line}"`.
pub fn find(what: &str, text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut hits = Vec::new();
    for needle in needles() {
        let needle = needle.to_lowercase();
        if let Some(at) = lower.find(&needle) {
            let line_start = lower[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = lower[at..].find('\n').map_or(lower.len(), |i| at + i);
            let line: String = text
                .get(line_start..line_end)
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect();
            hits.push(format!("{what}: {needle:?} in {line}"));
        }
    }
    hits
}

/// A Part 10 CT slice of the canary patient: instance `i` of series `{study}.1`, 8 x 8
/// pixels. With `decodable == false` its pixels are 32-bit samples, which the gateway
/// admits (the data matches its description) but no decoder of the worker takes.
pub fn slice(study: &str, i: u32, decodable: bool) -> (String, Vec<u8>) {
    let (sop, mut object) = ct_in_series(study, i);
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::PATIENT_NAME, VR::PN, PATIENT_NAME.into());
    put(tags::PATIENT_ID, VR::LO, PATIENT_ID.into());
    put(tags::PATIENT_BIRTH_DATE, VR::DA, BIRTH_DATE.into());
    put(OTHER_PATIENT_IDS_TAG, VR::LO, OTHER_PATIENT_IDS.into());
    put(tags::PATIENT_ADDRESS, VR::LO, PATIENT_ADDRESS.into());
    put(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        REFERRING_PHYSICIAN.into(),
    );
    put(tags::INSTITUTION_NAME, VR::LO, INSTITUTION.into());
    put(tags::ACCESSION_NUMBER, VR::SH, ACCESSION.into());
    put(tags::STUDY_DESCRIPTION, VR::LO, STUDY_DESCRIPTION.into());
    put(
        tags::INSTANCE_NUMBER,
        VR::IS,
        PrimitiveValue::from((i + 1).to_string()),
    );
    if !decodable {
        make_undecodable(&mut object);
    }
    let file = encode_file(object, CT_IMAGE_STORAGE, &sop);
    (sop, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_find_the_values_in_their_encodings() {
        let engine = base64::engine::general_purpose::STANDARD;
        // The birth date alone is too short for a distinctive base64 fragment at every
        // alignment; it is searched in its text forms.
        for value in values().into_iter().filter(|v| *v != BIRTH_DATE) {
            for prefix in ["", "x", "xy"] {
                let wrapped = engine.encode(format!("{prefix}{value} and more"));
                assert!(!find("b64", &wrapped).is_empty(), "{value} {prefix:?}");
            }
        }
        assert!(!find("debug", &format!("{:?}", PATIENT_ID.as_bytes())).is_empty());
        assert!(!find("hex", &hex::encode_upper(INSTITUTION)).is_empty());
        assert!(!find("iso", "born 1923-08-17").is_empty());
        assert!(find("clean", "study 1.2.3 instance_count=2 ok").is_empty());
    }
}
