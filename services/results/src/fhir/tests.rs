//! The DiagnosticReport's status, AI statements, signer and content for each revision.

use base64::Engine as _;
use serde_json::Value;

use super::*;
use crate::testing::revision;

fn security_codes(report: &Value) -> Vec<&str> {
    report["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|label| label["code"].as_str())
        .collect()
}

fn contained<'a>(report: &'a Value, resource_type: &str) -> Option<&'a Value> {
    report["contained"]
        .as_array()?
        .iter()
        .find(|r| r["resourceType"] == resource_type)
}

fn extension<'a>(report: &'a Value, url: &str) -> Option<&'a Value> {
    report["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)
}

#[test]
fn status_follows_review() {
    let statuses: Vec<Value> = [
        ReportStatus::Draft,
        ReportStatus::Final,
        ReportStatus::Amended,
        ReportStatus::Rejected,
    ]
    .into_iter()
    .map(|status| diagnostic_report(&revision(status))["status"].clone())
    .collect();
    assert_eq!(statuses, ["partial", "final", "amended", "cancelled"]);
}

#[test]
fn a_draft_is_labelled_ai_and_has_no_interpreter() {
    let report = diagnostic_report(&revision(ReportStatus::Draft));
    assert_eq!(report["id"], "radraft-42");
    assert_eq!(report["meta"]["versionId"], "0");
    assert_eq!(security_codes(&report), ["AIAST"]);
    assert!(report.get("resultsInterpreter").is_none());
    let narrative = report["text"]["div"].as_str().unwrap();
    assert!(narrative.contains(narrative::DRAFT_BANNER), "{narrative}");
    let device = contained(&report, "Device").unwrap();
    assert_eq!(device["deviceName"][0]["name"], "google/medgemma-4b-it");
    assert_eq!(device["version"][0]["value"], "rev-abc123");
    assert_eq!(device["version"][1]["value"], "0.1.0");
    assert_eq!(
        extension(&report, EXT_AI_DEVICE).unwrap()["valueReference"]["reference"],
        "#ai-model"
    );
}

#[test]
fn a_signed_report_names_its_interpreter_and_keeps_the_ai_label() {
    let report = diagnostic_report(&revision(ReportStatus::Final));
    assert_eq!(security_codes(&report), ["AIAST"]);
    assert_eq!(report["resultsInterpreter"][0]["reference"], "#signer");
    let practitioner = contained(&report, "Practitioner").unwrap();
    assert_eq!(practitioner["name"][0]["text"], "Dr Ada Lovelace");
    assert_eq!(practitioner["identifier"][0]["system"], "urn:radraft:user");
    assert_eq!(practitioner["identifier"][0]["value"], "ada");
    assert_eq!(report["conclusion"], "No acute cardiopulmonary process.");
    assert_eq!(report["issued"], "2026-01-02T11:30:00.000Z");
    assert_eq!(report["effectiveDateTime"], "2026-01-02T09:30:00.000Z");
    let form = &report["presentedForm"][0];
    assert_eq!(form["contentType"], "text/plain; charset=utf-8");
    let data = base64::engine::general_purpose::STANDARD
        .decode(form["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(data).unwrap(),
        "FINDINGS:\nHeart size normal. No focal consolidation.\n\nIMPRESSION:\nNo acute cardiopulmonary process."
    );
}

#[test]
fn the_study_and_accession_are_referenced() {
    let report = diagnostic_report(&revision(ReportStatus::Final));
    let study = &report["imagingStudy"][0];
    assert_eq!(study["identifier"]["system"], "urn:dicom:uid");
    assert_eq!(
        study["identifier"]["value"],
        "urn:oid:1.2.826.0.1.3680043.10.1234.1.1.1"
    );
    assert_eq!(study["type"], "ImagingStudy");
    assert_eq!(report["identifier"][1]["type"]["coding"][0]["code"], "ACSN");
    assert_eq!(report["identifier"][1]["value"], "RDA00101");
}

#[test]
fn amendment_and_rejection_reasons_are_stated() {
    let amended = diagnostic_report(&revision(ReportStatus::Amended));
    assert_eq!(
        extension(&amended, EXT_AMENDMENT_REASON).unwrap()["valueString"],
        "Laterality corrected"
    );
    let rejected = diagnostic_report(&revision(ReportStatus::Rejected));
    assert_eq!(
        extension(&rejected, EXT_REJECTION_REASON).unwrap()["valueString"],
        "Wrong body part"
    );
    assert!(
        rejected.get("presentedForm").is_none(),
        "the rejected text is withheld"
    );
    assert!(rejected.get("conclusion").is_none());
    assert!(extension(&amended, EXT_REJECTION_REASON).is_none());
}

#[test]
fn narrative_escapes_report_text() {
    let rev = Revision {
        findings: Some("<script>alert(1)</script> & more".into()),
        ..revision(ReportStatus::Draft)
    };
    let div = diagnostic_report(&rev)["text"]["div"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        div.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
        "{div}"
    );
    assert!(!div.contains("<script>"));
}

#[test]
fn history_is_newest_first_with_requests() {
    let revisions = [
        revision(ReportStatus::Draft),
        revision(ReportStatus::Amended),
        revision(ReportStatus::Final),
    ];
    let bundle = history_bundle(&revisions);
    assert_eq!(bundle["type"], "history");
    assert_eq!(bundle["total"], 3);
    let entries = bundle["entry"].as_array().unwrap();
    let versions: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2", "1", "0"]);
    assert_eq!(entries[2]["request"]["method"], "POST");
    assert_eq!(entries[0]["request"]["method"], "PUT");
    assert_eq!(entries[0]["request"]["url"], "DiagnosticReport/radraft-42");
}
