//! DICOM unique identifiers (value representation UI), validated once at the boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest UID DICOM allows (PS3.5 §9.1).
const MAX_UID_LEN: usize = 64;

/// Why a string is not a DICOM UID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    #[error("UID is empty")]
    Empty,
    #[error("UID is {len} characters long, over the 64 DICOM allows")]
    TooLong { len: usize },
    #[error("UID contains {found:?}; only digits and dots are allowed")]
    BadCharacter { found: char },
    #[error("UID has an empty component")]
    EmptyComponent,
    #[error("UID component {component:?} has a leading zero")]
    LeadingZero { component: String },
}

/// A validated DICOM UID: digits separated by dots, no empty components, no leading zeros.
///
/// Parsing trims the trailing NUL padding DICOM uses for odd lengths, so a UID read from a
/// file compares equal to the same UID typed by a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uid(String);

impl Uid {
    pub fn parse(raw: &str) -> Result<Self, UidError> {
        let trimmed = raw.trim_end_matches(['\0', ' ']).trim_start();
        if trimmed.is_empty() {
            return Err(UidError::Empty);
        }
        if trimmed.len() > MAX_UID_LEN {
            return Err(UidError::TooLong { len: trimmed.len() });
        }
        if let Some(found) = trimmed.chars().find(|c| !c.is_ascii_digit() && *c != '.') {
            return Err(UidError::BadCharacter { found });
        }
        for component in trimmed.split('.') {
            if component.is_empty() {
                return Err(UidError::EmptyComponent);
            }
            if component.len() > 1 && component.starts_with('0') {
                return Err(UidError::LeadingZero {
                    component: component.to_owned(),
                });
            }
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Uid {
    type Error = UidError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Uid> for String {
    fn from(uid: Uid) -> Self {
        uid.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_normal_uid_and_strips_padding() {
        let uid = Uid::parse("1.2.840.10008.5.1.4.1.1.2\0").unwrap();
        assert_eq!(uid.as_str(), "1.2.840.10008.5.1.4.1.1.2");
    }

    #[test]
    fn rejects_what_dicom_forbids() {
        assert_eq!(Uid::parse(""), Err(UidError::Empty));
        assert_eq!(Uid::parse("1..2"), Err(UidError::EmptyComponent));
        assert_eq!(
            Uid::parse("1.2.03"),
            Err(UidError::LeadingZero {
                component: "03".into()
            })
        );
        assert_eq!(
            Uid::parse("1.2.a"),
            Err(UidError::BadCharacter { found: 'a' })
        );
        assert_eq!(
            Uid::parse(&"1".repeat(65)),
            Err(UidError::TooLong { len: 65 })
        );
        assert!(
            Uid::parse("0.1").is_ok(),
            "a lone zero is a valid component"
        );
    }

    #[test]
    fn deserializing_validates() {
        let bad: Result<Uid, _> = serde_json::from_str("\"1.2.x\"");
        assert!(bad.is_err());
        let good: Uid = serde_json::from_str("\"1.2.3\"").unwrap();
        assert_eq!(good.as_str(), "1.2.3");
    }
}
