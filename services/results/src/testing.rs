//! Example revisions, study context and images for the unit tests.

use chrono::{DateTime, TimeZone, Utc};

use crate::report::{Algorithm, ReportStatus, Revision, Signer};
use crate::sr::{PatientContext, ReferencedInstance, SrIdentity};

pub(crate) const STUDY_UID: &str = "1.2.826.0.1.3680043.10.1234.1.1.1";

pub(crate) fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, hour, 30, 0)
        .single()
        .unwrap_or_default()
}

/// A revision of report 42 in `status`, with both sections; signed revisions are signed
/// by "Dr Ada Lovelace".
pub(crate) fn revision(status: ReportStatus) -> Revision {
    let revision = match status {
        ReportStatus::Draft => 0,
        ReportStatus::Final | ReportStatus::Rejected => 1,
        ReportStatus::Amended => 2,
    };
    Revision {
        report_id: 42,
        revision,
        status,
        study_uid: STUDY_UID.into(),
        accession_number: Some("RDA00101".into()),
        findings: Some("Heart size normal. No focal consolidation.".into()),
        impression: Some("No acute cardiopulmonary process.".into()),
        text: "Heart size normal. No focal consolidation. No acute process.".into(),
        algorithm: Algorithm {
            name: "google/medgemma-4b-it".into(),
            version: "rev-abc123".into(),
            software_version: "0.1.0".into(),
            prompt_template: "cxr-report.v1".into(),
        },
        drafted_at: at(9),
        signer: status.is_signed().then(|| Signer {
            username: "ada".into(),
            display_name: "Dr Ada Lovelace".into(),
            signed_at: at(10 + revision),
        }),
        amendment_reason: (status == ReportStatus::Amended).then(|| "Laterality corrected".into()),
        rejection_reason: (status == ReportStatus::Rejected).then(|| "Wrong body part".into()),
        issued_at: at(10 + revision),
    }
}

pub(crate) fn patient() -> PatientContext {
    PatientContext {
        patient_name: "SYNTHETIC^CHEST".into(),
        patient_id: "RADRAFT-0001".into(),
        patient_birth_date: "19700101".into(),
        patient_sex: "O".into(),
        study_instance_uid: STUDY_UID.into(),
        study_date: "20260101".into(),
        study_time: "120000".into(),
        referring_physician_name: String::new(),
        study_id: "1-1".into(),
        accession_number: "RDA00101".into(),
        institution_name: "Example Hospital".into(),
    }
}

/// Two views in two series.
pub(crate) fn images() -> Vec<ReferencedInstance> {
    (1..=2)
        .map(|series| ReferencedInstance {
            series_uid: format!("{STUDY_UID}.{series}"),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.1.1".into(),
            sop_instance_uid: format!("{STUDY_UID}.{series}.1"),
        })
        .collect()
}

pub(crate) fn identity(instance_number: u32) -> SrIdentity {
    SrIdentity {
        sop_instance_uid: format!("2.25.{instance_number}"),
        series_instance_uid: "2.25.1000".into(),
        instance_number,
        content_datetime: at(11),
    }
}
