//! Results out, checked by real tools and a real PACS: the FHIR DiagnosticReports of every
//! review status and a report's history validate as FHIR R4 (fhir.resources); the SRs pass
//! dcmtk's dsrdump and dicom3tools' dciodvfy; a draft SR and the signed SR superseding it
//! are C-STOREd to a real Orthanc and read back through its REST API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::orthanc::{self, Orthanc, free_port};
use radraft_e2e::results::{
    self, FINDINGS, IMPRESSION, OrthancRest, content_texts, dciodvfy, describe, dsrdump,
    evidence_uids,
};
use radraft_results::send::{self, PacsTarget, SendError, StoreOutcome};
use radraft_results::{ReportStatus, Revision, fhir, sr};
use serde_json::Value;

const STUDY: &str = "dx-chest/explicit-le";
const ALL_STATUSES: [ReportStatus; 4] = [
    ReportStatus::Draft,
    ReportStatus::Final,
    ReportStatus::Amended,
    ReportStatus::Rejected,
];

#[test]
fn diagnostic_reports_and_history_validate_as_fhir_r4() {
    let (patient, _) = results::study(STUDY);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for status in ALL_STATUSES {
        let report = fhir::diagnostic_report(&results::revision(status, &patient));
        files.push(results::write_json(
            &dir,
            &format!("{status:?}.json"),
            &report,
        ));
    }
    let history: Vec<Revision> = [
        ReportStatus::Draft,
        ReportStatus::Final,
        ReportStatus::Amended,
    ]
    .into_iter()
    .map(|status| results::revision(status, &patient))
    .collect();
    let bundle = fhir::history_bundle(&history);
    files.push(results::write_json(&dir, "history.json", &bundle));

    let output = results::validate_fhir(&files);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches("valid FHIR R4")
            .count(),
        files.len()
    );

    let statuses: Vec<Value> = ALL_STATUSES
        .into_iter()
        .map(|status| {
            fhir::diagnostic_report(&results::revision(status, &patient))["status"].clone()
        })
        .collect();
    assert_eq!(statuses, ["partial", "final", "amended", "cancelled"]);
    let versions: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["resource"]["meta"]["versionId"])
        .collect();
    assert_eq!(versions, ["2", "1", "0"], "newest first");
    let draft = fhir::diagnostic_report(&results::revision(ReportStatus::Draft, &patient));
    assert_eq!(draft["meta"]["security"][0]["code"], "AIAST");
    assert_eq!(
        draft["imagingStudy"][0]["identifier"]["value"],
        format!("urn:oid:{}", patient.study_instance_uid)
    );
}

#[test]
fn the_fhir_validator_rejects_invalid_resources() {
    let (patient, _) = results::study(STUDY);
    let dir = tempfile::tempdir().unwrap();
    let mut report = fhir::diagnostic_report(&results::revision(ReportStatus::Draft, &patient));
    // A code outside the required value set: caught by our value-set layer.
    report["status"] = "preliminaryy".into();
    let output = results::validate_fhir(&[results::write_json(&dir, "status.json", &report)]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        describe(&output).contains("DiagnosticReport.status"),
        "{}",
        describe(&output)
    );

    // An element R4 does not have, and a date where an instant belongs: caught by the
    // fhir.resources models themselves.
    let mut report = fhir::diagnostic_report(&results::revision(ReportStatus::Final, &patient));
    report["note"] = serde_json::json!([{ "text": "R5 only" }]);
    let output = results::validate_fhir(&[results::write_json(&dir, "note.json", &report)]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        describe(&output).contains("fhir.resources"),
        "{}",
        describe(&output)
    );
    report.as_object_mut().unwrap().remove("note");
    report["issued"] = "2026-03-04".into();
    let output = results::validate_fhir(&[results::write_json(&dir, "issued.json", &report)]);
    assert!(!output.status.success(), "{}", describe(&output));
}

/// What dciodvfy (dicom3tools 1.00~20220618) still says about our SRs: Device UID in the
/// Contributing Equipment Sequence (IHE AI Results asks for it; DICOM added it to the
/// sequence after that release), and the resulting "Standard Extended SOP Class" note.
const KNOWN_WARNINGS: [&str; 2] = [
    "(0x0018,0x1002) UI Device UID",
    "this is a Standard Extended SOP Class",
];

#[test]
fn srs_pass_dsrdump_and_dciodvfy() {
    let (patient, images) = results::study(STUDY);
    let dir = tempfile::tempdir().unwrap();
    let draft_id = results::identity(1);
    let draft = sr::build(
        &results::revision(ReportStatus::Draft, &patient),
        &draft_id,
        &patient,
        &images,
        None,
    )
    .unwrap();
    let predecessor = results::predecessor(&draft_id);
    let signed = [ReportStatus::Final, ReportStatus::Amended].map(|status| {
        sr::build(
            &results::revision(status, &patient),
            &results::identity(2),
            &patient,
            &images,
            Some(&predecessor),
        )
        .unwrap()
    });
    let documents = [
        ("draft", &draft, "UNVERIFIED"),
        ("final", &signed[0], "VERIFIED"),
        ("amended", &signed[1], "VERIFIED"),
    ];
    for (name, object, verification) in documents {
        let path = dir.path().join(format!("{name}.dcm"));
        std::fs::write(&path, sr::to_bytes(object).unwrap()).unwrap();

        let dump = dsrdump(&path);
        assert!(dump.status.success(), "{name}: {}", describe(&dump));
        let text = String::from_utf8_lossy(&dump.stdout);
        assert!(
            text.contains(&format!("Verification Flag   : {verification}")),
            "{name}: {text}"
        );
        // dsrdump shortens long values; the start of the findings is enough to find them.
        assert!(text.contains(&FINDINGS[..25]), "{name}: {text}");
        assert!(text.contains(IMPRESSION[..25].trim_end()), "{name}: {text}");

        let check = dciodvfy(&path);
        let report = String::from_utf8_lossy(&check.stderr).into_owned()
            + &String::from_utf8_lossy(&check.stdout);
        assert!(
            !report.lines().any(|line| line.starts_with("Error")),
            "{name}: {report}"
        );
        for warning in report.lines().filter(|line| line.starts_with("Warning")) {
            assert!(
                KNOWN_WARNINGS.iter().any(|known| warning.contains(known)),
                "{name}: unexpected dciodvfy warning: {warning}\n{report}"
            );
        }
    }
}

#[test]
fn sending_where_nothing_listens_is_a_transient_unreachable() {
    let (patient, images) = results::study(STUDY);
    let draft = sr::build(
        &results::revision(ReportStatus::Draft, &patient),
        &results::identity(1),
        &patient,
        &images,
        None,
    )
    .unwrap();
    let target = PacsTarget {
        addr: format!("127.0.0.1:{}", free_port()),
        called_ae: orthanc::AE_TITLE.into(),
        calling_ae: "RADRAFT".into(),
        timeout: Duration::from_secs(5),
    };
    let error = send::store(&target, &draft).unwrap_err();
    assert!(matches!(error, SendError::Unreachable(_)), "{error:?}");
    assert!(error.is_transient());
}

async fn store(
    target: &PacsTarget,
    object: dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
) -> StoreOutcome {
    let target = target.clone();
    tokio::task::spawn_blocking(move || send::store(&target, &object))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_and_signed_srs_reach_orthanc_with_the_study_and_read_back() {
    let orthanc = Orthanc::start(60);
    let rest = OrthancRest::new(&orthanc);
    let files = radraft_e2e::fixtures::files(STUDY);
    for file in &files {
        rest.post("/instances", std::fs::read(file).unwrap()).await;
    }
    let (patient, images) = results::study(STUDY);
    let target = PacsTarget {
        addr: format!("127.0.0.1:{}", orthanc.dicom_port),
        called_ae: orthanc::AE_TITLE.into(),
        calling_ae: "RADRAFT".into(),
        timeout: Duration::from_secs(10),
    };

    let draft_id = results::identity(1);
    let draft = sr::build(
        &results::revision(ReportStatus::Draft, &patient),
        &draft_id,
        &patient,
        &images,
        None,
    )
    .unwrap();
    assert_eq!(store(&target, draft).await, StoreOutcome::Stored);
    let predecessor = results::predecessor(&draft_id);
    let signed_id = results::identity(2);
    let signed = sr::build(
        &results::revision(ReportStatus::Final, &patient),
        &signed_id,
        &patient,
        &images,
        Some(&predecessor),
    )
    .unwrap();
    assert_eq!(store(&target, signed).await, StoreOutcome::Stored);

    let image_ids: Vec<&str> = images.iter().map(|i| i.sop_instance_uid.as_str()).collect();
    let image_study = rest
        .json(&format!(
            "/instances/{}/study",
            rest.instance(image_ids[0]).await
        ))
        .await;
    let mut expected_evidence: Vec<String> = image_ids.iter().map(|s| s.to_string()).collect();
    expected_evidence.sort();
    let dir = tempfile::tempdir().unwrap();
    for (id, flag, completion) in [
        (&draft_id, "UNVERIFIED", "PARTIAL"),
        (&signed_id, "VERIFIED", "COMPLETE"),
    ] {
        let instance = rest.instance(&id.sop_instance_uid).await;
        let tags = rest
            .json(&format!("/instances/{instance}/tags?simplify"))
            .await;
        assert_eq!(tags["SOPClassUID"], sr::SOP_CLASS_UID);
        assert_eq!(tags["VerificationFlag"], flag);
        assert_eq!(tags["CompletionFlag"], completion);
        assert_eq!(tags["StudyInstanceUID"], patient.study_instance_uid);
        assert_eq!(tags["PatientID"], patient.patient_id);
        assert_eq!(tags["SeriesInstanceUID"], id.series_instance_uid);
        assert_eq!(
            evidence_uids(&tags),
            expected_evidence,
            "references the study's images"
        );
        let mut findings = Vec::new();
        content_texts(&tags, "121071", &mut findings);
        assert_eq!(findings, [FINDINGS]);
        // Orthanc files the SR in the images' study.
        let sr_study = rest.json(&format!("/instances/{instance}/study")).await;
        assert_eq!(sr_study["ID"], image_study["ID"]);

        let bytes = rest
            .get(&format!("/instances/{instance}/file"))
            .await
            .bytes()
            .await
            .unwrap();
        let path = dir.path().join(format!("{flag}.dcm"));
        std::fs::write(&path, &bytes).unwrap();
        let dump = dsrdump(&path);
        assert!(dump.status.success(), "{}", describe(&dump));
        assert!(
            String::from_utf8_lossy(&dump.stdout)
                .contains(&format!("Verification Flag   : {flag}"))
        );

        if flag == "VERIFIED" {
            let observer = &tags["VerifyingObserverSequence"][0];
            assert_eq!(observer["VerifyingObserverName"], "Dr Rad Ologist^");
            assert_eq!(observer["VerifyingOrganization"], "SYNTHETIC");
            let previous = &tags["PredecessorDocumentsSequence"][0];
            assert_eq!(previous["StudyInstanceUID"], patient.study_instance_uid);
            let series = &previous["ReferencedSeriesSequence"][0];
            assert_eq!(series["SeriesInstanceUID"], draft_id.series_instance_uid);
            assert_eq!(
                series["ReferencedSOPSequence"][0]["ReferencedSOPInstanceUID"],
                draft_id.sop_instance_uid
            );
        } else {
            assert!(tags.get("VerifyingObserverSequence").is_none());
            assert!(tags.get("PredecessorDocumentsSequence").is_none());
        }
    }
}
