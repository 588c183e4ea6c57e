//! Small helpers for writing data elements: codes, sequences, dates, and values made safe
//! for their VR (no value delimiter, within the length limit).

use chrono::{DateTime, Utc};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A coded concept: (code value, coding scheme designator, code meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code(pub &'static str, pub &'static str, pub &'static str);

impl Code {
    /// One item of a code sequence (Basic Code Sequence Macro).
    pub(crate) fn item(self) -> InMemDicomObject {
        let Code(value, scheme, meaning) = self;
        let mut item = InMemDicomObject::new_empty();
        item.put_str(tags::CODE_VALUE, VR::SH, value);
        item.put_str(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
        item.put_str(tags::CODE_MEANING, VR::LO, meaning);
        item
    }
}

pub(crate) fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// A Type 2 element: present, with no value.
pub(crate) fn put_empty(obj: &mut InMemDicomObject, tag: Tag, vr: VR) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
}

/// Several values of one element (VM > 1), each made safe for the VR.
pub(crate) fn put_multi(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[&str]) {
    let values: Vec<String> = values.iter().map(|value| lo(value)).collect();
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.into_iter().collect()),
    ));
}

/// A (SOP class, SOP instance) reference item.
pub(crate) fn sop_reference(sop_class_uid: &str, sop_instance_uid: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put_str(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class_uid);
    item.put_str(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, sop_instance_uid);
    item
}

pub(crate) fn da(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d").to_string()
}

pub(crate) fn tm(at: DateTime<Utc>) -> String {
    at.format("%H%M%S").to_string()
}

/// A DT value with the zone stated, so no reader has to guess it.
pub(crate) fn dt(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M%S+0000").to_string()
}

/// A LO (or SH-free short text) value: backslash is the value delimiter, so it becomes a
/// slash, and the value is cut at the VR's 64 characters.
pub(crate) fn lo(text: &str) -> String {
    limit(&text.replace('\\', "/"), 64)
}

/// A PN value from a free-text display name, whole in the family-name component: the
/// component (^) and group (=) separators and the value delimiter are replaced, and the
/// group is limited to 64 characters. A name with spaces gets an explicit (empty) given
/// name component, or readers take "Dr Ada Lovelace" for the retired ACR-NEMA name form.
pub(crate) fn pn(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\\' | '^' | '=') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let family = limit(cleaned.trim(), 63);
    if family.contains(' ') {
        format!("{family}^")
    } else {
        family
    }
}

fn limit(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Whether `uid` is a syntactically valid DICOM UID: 1 to 64 characters, numeric
/// components without leading zeros separated by single dots.
pub(crate) fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|component| {
            !component.is_empty()
                && component.bytes().all(|b| b.is_ascii_digit())
                && (component == "0" || !component.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_made_safe_for_their_vr() {
        assert_eq!(lo("a\\b"), "a/b");
        assert_eq!(lo(&"x".repeat(70)).len(), 64);
        assert_eq!(pn("Dr. A^B=C\\D"), "Dr. A B C D^");
        assert_eq!(pn("Lovelace"), "Lovelace");
    }

    #[test]
    fn uid_syntax() {
        assert!(is_valid_uid("1.2.840.10008.5.1.4.1.1.88.33"));
        assert!(is_valid_uid("2.25.0"));
        for bad in ["", "1..2", "1.02", "1.2.", "1.a", &"1".repeat(65)] {
            assert!(!is_valid_uid(bad), "{bad}");
        }
    }
}
