//! The input of every builder: one revision of a report, from the AI draft through sign-off
//! and amendments, with the model that drafted it and the radiologist who signed it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Where a revision stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    /// The unreviewed AI draft.
    Draft,
    /// Signed by a radiologist.
    Final,
    /// Changed and signed again after a final revision.
    Amended,
    /// The radiologist rejected the AI draft: no report is issued from it.
    Rejected,
}

impl ReportStatus {
    /// Whether a radiologist signed this revision's content.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::Final | Self::Amended)
    }
}

/// The model and software that drafted the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithm {
    /// Model id, e.g. "google/medgemma-4b-it".
    pub name: String,
    /// Model revision.
    pub version: String,
    /// The radraft worker's version.
    pub software_version: String,
    /// Prompt template id, e.g. "cxr-report.v1".
    pub prompt_template: String,
}

impl Algorithm {
    /// A UID for this exact algorithm configuration (DICOM Device UID, FHIR Device
    /// identifier). IHE AI Results asks for a new Device UID whenever the model changes, so
    /// it is derived from everything that changes the output: model, revision, software and
    /// prompt template. Deterministic, so every SR and FHIR resource of one configuration
    /// names the same device without storing the UID anywhere.
    pub fn device_uid(&self) -> String {
        let mut hash = Sha256::new();
        for part in [
            &self.name,
            &self.version,
            &self.software_version,
            &self.prompt_template,
        ] {
            // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        let uuid = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        format!("2.25.{}", uuid.as_u128())
    }
}

/// The radiologist who signed a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub username: String,
    pub display_name: String,
    pub signed_at: DateTime<Utc>,
}

/// One revision of a report. Revision 0 is the AI draft, 1 the signed report, 2.. amendments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The draft's id: one report per draft.
    pub report_id: i64,
    pub revision: u32,
    pub status: ReportStatus,
    pub study_uid: String,
    pub accession_number: Option<String>,
    pub findings: Option<String>,
    pub impression: Option<String>,
    /// The whole report text, used when findings and impression are absent.
    pub text: String,
    pub algorithm: Algorithm,
    pub drafted_at: DateTime<Utc>,
    /// The signer of this revision: present for Final and Amended.
    pub signer: Option<Signer>,
    pub amendment_reason: Option<String>,
    pub rejection_reason: Option<String>,
    pub issued_at: DateTime<Utc>,
}

impl Revision {
    /// The findings section, if the report has one with text in it.
    pub fn findings(&self) -> Option<&str> {
        non_blank(self.findings.as_deref())
    }

    /// The impression section, if the report has one with text in it.
    pub fn impression(&self) -> Option<&str> {
        non_blank(self.impression.as_deref())
    }

    /// The report as one plain text: the sections under their headings when there are
    /// any, otherwise the whole text as drafted.
    pub fn full_text(&self) -> String {
        match (self.findings(), self.impression()) {
            (None, None) => self.text.clone(),
            (findings, impression) => {
                let sections: Vec<String> = [("FINDINGS", findings), ("IMPRESSION", impression)]
                    .into_iter()
                    .filter_map(|(heading, body)| body.map(|body| format!("{heading}:\n{body}")))
                    .collect();
                sections.join("\n\n")
            }
        }
    }
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn algorithm() -> Algorithm {
        Algorithm {
            name: "google/medgemma-4b-it".into(),
            version: "rev-1".into(),
            software_version: "0.1.0".into(),
            prompt_template: "cxr-report.v1".into(),
        }
    }

    #[test]
    fn device_uid_is_stable_and_changes_with_the_model() {
        let uid = algorithm().device_uid();
        assert_eq!(uid, algorithm().device_uid());
        assert!(uid.starts_with("2.25.") && uid.len() <= 64, "{uid}");
        assert!(uid[5..].bytes().all(|b| b.is_ascii_digit()));
        let retrained = Algorithm {
            version: "rev-2".into(),
            ..algorithm()
        };
        assert_ne!(uid, retrained.device_uid());
    }
}
