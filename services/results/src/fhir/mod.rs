//! A report revision as a FHIR R4 DiagnosticReport, and a report's revisions as a history
//! Bundle.
//!
//! The resource names its AI origin three ways, for three kinds of reader: the HL7 AI
//! Transparency security label `AIAST` in `meta.security` (for systems filtering on
//! labels), a contained Device for the model referenced from an extension (for audit), and
//! the narrative (for people). The label stays on every revision: the current AI
//! Transparency IG recommends only `AIAST` and removed the "clinician asserted from AI"
//! codes it had balloted, so a signed revision is told apart by its status and its
//! results interpreter, not by a different label.

mod contained;
mod narrative;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::report::{ReportStatus, Revision};

/// Identifier system of our report ids.
pub const REPORT_SYSTEM: &str = "urn:radraft:report";
/// Extension on the DiagnosticReport referencing the contained Device (the AI model) that
/// drafted it. R4 `performer` cannot reference a Device, hence an extension.
pub const EXT_AI_DEVICE: &str = "urn:radraft:fhir:extension:ai-device";
/// Extension carrying why an amended revision was amended (R4 DiagnosticReport has no
/// `note`).
pub const EXT_AMENDMENT_REASON: &str = "urn:radraft:fhir:extension:amendment-reason";
/// Extension carrying why the radiologist rejected the AI draft.
pub const EXT_REJECTION_REASON: &str = "urn:radraft:fhir:extension:rejection-reason";

/// The DiagnosticReport for one revision.
///
/// A Final or Amended revision is expected to carry its signer; without one the resource
/// has no results interpreter (the caller's data is wrong, but this stays a pure mapping).
pub fn diagnostic_report(rev: &Revision) -> Value {
    let device = contained::device(&rev.algorithm);
    let signer = rev.signer.as_ref().filter(|_| rev.status.is_signed());
    let mut contained_resources = vec![device];
    let mut report = json!({
        "resourceType": "DiagnosticReport",
        "id": resource_id(rev.report_id),
        "meta": {
            "versionId": rev.revision.to_string(),
            "lastUpdated": instant(rev.issued_at),
            "security": [contained::ai_asserted_label()],
        },
        "text": {
            "status": "generated",
            "div": narrative::div(rev),
        },
        "extension": extensions(rev),
        "identifier": identifiers(rev),
        "status": status_code(rev.status),
        "category": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                "code": "RAD",
                "display": "Radiology",
            }],
        }],
        "code": {
            "coding": [{
                "system": "http://loinc.org",
                "code": "18748-4",
                "display": "Diagnostic imaging study",
            }],
        },
        "effectiveDateTime": instant(rev.drafted_at),
        "issued": instant(rev.issued_at),
        "imagingStudy": [imaging_study(rev)],
    });
    let Some(fields) = report.as_object_mut() else {
        return report;
    };
    if let Some(signer) = signer {
        contained_resources.push(contained::practitioner(signer));
        let interpreter = json!([{
            "reference": format!("#{}", contained::SIGNER_ID),
            "display": signer.display_name,
        }]);
        fields.insert("performer".into(), interpreter.clone());
        fields.insert("resultsInterpreter".into(), interpreter);
    }
    // A rejected draft is not a report: its text is withheld, only the cancellation and
    // its reason go out.
    if rev.status != ReportStatus::Rejected {
        if let Some(impression) = rev.impression() {
            fields.insert("conclusion".into(), json!(impression));
        }
        fields.insert("presentedForm".into(), json!([presented_form(rev)]));
    }
    fields.insert("contained".into(), Value::Array(contained_resources));
    report
}

/// A `history` Bundle of a report's revisions, newest first, each entry with the request
/// that made it (POST for the draft, PUT for later revisions) as R4 requires for history.
pub fn history_bundle(revisions: &[Revision]) -> Value {
    let mut newest_first: Vec<&Revision> = revisions.iter().collect();
    newest_first.sort_by_key(|rev| std::cmp::Reverse(rev.revision));
    let entries: Vec<Value> = newest_first
        .into_iter()
        .map(|rev| {
            let (method, url, status) = if rev.revision == 0 {
                ("POST", "DiagnosticReport".to_owned(), "201 Created")
            } else {
                (
                    "PUT",
                    format!("DiagnosticReport/{}", resource_id(rev.report_id)),
                    "200 OK",
                )
            };
            json!({
                "resource": diagnostic_report(rev),
                "request": { "method": method, "url": url },
                "response": {
                    "status": status,
                    "etag": format!("W/\"{}\"", rev.revision),
                    "lastModified": instant(rev.issued_at),
                },
            })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": entries.len(),
        "entry": entries,
    })
}

/// The FHIR status of a revision. An unreviewed AI draft is `partial`, not `preliminary`:
/// in R4 `preliminary` means verified early results, and nobody verified the draft.
pub fn status_code(status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::Draft => "partial",
        ReportStatus::Final => "final",
        ReportStatus::Amended => "amended",
        ReportStatus::Rejected => "cancelled",
    }
}

/// The logical id of a report's DiagnosticReport, shared by all its revisions.
pub fn resource_id(report_id: i64) -> String {
    format!("radraft-{report_id}")
}

fn extensions(rev: &Revision) -> Vec<Value> {
    let mut extensions = vec![json!({
        "url": EXT_AI_DEVICE,
        "valueReference": {
            "reference": format!("#{}", contained::DEVICE_ID),
            "display": rev.algorithm.name,
        },
    })];
    let reasons = [
        (
            ReportStatus::Amended,
            EXT_AMENDMENT_REASON,
            &rev.amendment_reason,
        ),
        (
            ReportStatus::Rejected,
            EXT_REJECTION_REASON,
            &rev.rejection_reason,
        ),
    ];
    for (status, url, reason) in reasons {
        if let Some(reason) = reason.as_deref().filter(|_| rev.status == status) {
            extensions.push(json!({ "url": url, "valueString": reason }));
        }
    }
    extensions
}

fn identifiers(rev: &Revision) -> Vec<Value> {
    let mut identifiers = vec![json!({
        "system": REPORT_SYSTEM,
        "value": rev.report_id.to_string(),
    })];
    if let Some(accession) = accession(rev) {
        // As the FHIR imaging IGs do: the order's accession number, typed ACSN.
        identifiers.push(json!({
            "type": {
                "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "ACSN",
                    "display": "Accession ID",
                }],
            },
            "value": accession,
        }));
    }
    identifiers
}

/// A logical reference: the ImagingStudy resource may not exist on the receiving server,
/// but the Study Instance UID identifies the study everywhere.
fn imaging_study(rev: &Revision) -> Value {
    let mut reference = json!({
        "identifier": {
            "system": "urn:dicom:uid",
            "value": format!("urn:oid:{}", rev.study_uid),
        },
        "type": "ImagingStudy",
    });
    if let (Some(accession), Some(fields)) = (accession(rev), reference.as_object_mut()) {
        fields.insert("display".into(), json!(format!("Accession {accession}")));
    }
    reference
}

fn presented_form(rev: &Revision) -> Value {
    let title = match rev.status {
        ReportStatus::Draft => "Preliminary AI-generated draft report",
        ReportStatus::Final => "Diagnostic imaging report",
        ReportStatus::Amended => "Diagnostic imaging report (amended)",
        ReportStatus::Rejected => "Rejected AI-generated draft",
    };
    json!({
        "contentType": "text/plain; charset=utf-8",
        "data": base64::engine::general_purpose::STANDARD.encode(rev.full_text()),
        "title": title,
        "creation": instant(rev.issued_at),
    })
}

fn accession(rev: &Revision) -> Option<&str> {
    rev.accession_number
        .as_deref()
        .map(str::trim)
        .filter(|accession| !accession.is_empty())
}

/// A FHIR `instant`/`dateTime`: always with seconds and the zone, as `instant` requires.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
