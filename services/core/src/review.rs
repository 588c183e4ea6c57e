//! The fixed vocabularies of review: why a radiologist rejects a draft, and how a critical
//! finding was communicated. Rejections carry a reason code so governance can count them
//! per model version without reading free text, which may name a patient and so must never
//! become a metrics label; the radiologist's own words follow the code.

/// Rejection reason codes and their labels, in the order the reject form lists them.
pub const REJECTION_REASONS: [(&str, &str); 7] = [
    ("not_present", "Describes a finding that is not there"),
    ("missed_finding", "Misses a significant finding"),
    ("wrong_location", "Wrong side or location"),
    ("wrong_severity", "Wrong size, severity or certainty"),
    (
        "wrong_study",
        "Does not match the study (modality, body part, views)",
    ),
    ("unusable_text", "Garbled, incomplete or unusable text"),
    (OTHER_REASON, "Other (say why)"),
];

/// The code of a rejection given as free text only, or with an unknown code.
pub const OTHER_REASON: &str = "other";

/// Every rejection reason code, as governance binds them into its query.
pub fn rejection_codes() -> Vec<String> {
    REJECTION_REASONS
        .iter()
        .map(|(code, _)| (*code).to_owned())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("{0:?} is not a rejection reason code")]
    UnknownCode(String),
    #[error("a rejection needs a reason: pick one, or say why under \"other\"")]
    Missing,
}

/// The stored rejection reason: the code, then `: ` and the radiologist's words when given
/// (`wrong_location: left, not right`). Governance counts a reason under the text before
/// its first `:` when that is a known code, else under `other`. Without a code the words
/// are kept as they are (counted as `other`); `other` itself needs words.
pub fn compose_reason(code: Option<&str>, detail: Option<&str>) -> Result<String, ReasonError> {
    let detail = detail.map(str::trim).filter(|d| !d.is_empty());
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    match (code, detail) {
        (None, None) => Err(ReasonError::Missing),
        (None, Some(detail)) => Ok(detail.to_owned()),
        (Some(code), detail) => {
            if !REJECTION_REASONS.iter().any(|(known, _)| *known == code) {
                return Err(ReasonError::UnknownCode(code.to_owned()));
            }
            match detail {
                Some(detail) => Ok(format!("{code}: {detail}")),
                None if code == OTHER_REASON => Err(ReasonError::Missing),
                None => Ok(code.to_owned()),
            }
        }
    }
}

/// How a critical finding reached the clinician responsible, as stored.
pub const COMMUNICATION_METHODS: [(&str, &str); 4] = [
    ("phone", "Phone"),
    ("in_person", "In person"),
    ("secure_message", "Secure message"),
    ("pager", "Pager"),
];

pub fn is_communication_method(method: &str) -> bool {
    COMMUNICATION_METHODS.iter().any(|(m, _)| *m == method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_a_known_code_with_optional_words() {
        assert_eq!(
            compose_reason(Some("wrong_location"), Some(" left, not right ")).unwrap(),
            "wrong_location: left, not right"
        );
        assert_eq!(
            compose_reason(Some("not_present"), Some("  ")).unwrap(),
            "not_present"
        );
        assert_eq!(
            compose_reason(None, Some("free text")).unwrap(),
            "free text"
        );
        assert_eq!(
            compose_reason(Some("other"), None),
            Err(ReasonError::Missing)
        );
        assert_eq!(compose_reason(Some(""), None), Err(ReasonError::Missing));
        assert!(matches!(
            compose_reason(Some("bad"), Some("x")),
            Err(ReasonError::UnknownCode(_))
        ));
        assert!(rejection_codes().iter().all(|c| !c.contains(':')));
        assert!(is_communication_method("pager") && !is_communication_method("email"));
    }
}
