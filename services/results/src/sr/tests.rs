//! The SR's flags, references and content tree for each kind of revision.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::*;
use crate::testing::{identity, images, patient, revision};

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
        .unwrap_or_default()
}

fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// Every content item in the tree, depth first, with the code value of its concept name.
fn tree(obj: &InMemDicomObject) -> Vec<(String, &InMemDicomObject)> {
    let mut out = Vec::new();
    for item in items(obj, tags::CONTENT_SEQUENCE) {
        let concept = items(item, tags::CONCEPT_NAME_CODE_SEQUENCE)
            .first()
            .map(|code| text(code, tags::CODE_VALUE))
            .unwrap_or_default();
        out.push((concept, item));
        out.extend(tree(item));
    }
    out
}

fn texts_of(tree: &[(String, &InMemDicomObject)], concept: &str) -> Vec<String> {
    tree.iter()
        .filter(|(code, _)| code == concept)
        .map(|(_, item)| text(item, tags::TEXT_VALUE))
        .collect()
}

fn build_ok(status: ReportStatus, predecessor: Option<&Predecessor>) -> InMemDicomObject {
    build(
        &revision(status),
        &identity(1),
        &patient(),
        &images(),
        predecessor,
    )
    .unwrap()
    .into_inner()
}

fn draft_predecessor() -> Predecessor {
    Predecessor {
        sop_instance_uid: "2.25.7".into(),
        series_uid: "2.25.1000".into(),
        sop_class_uid: SOP_CLASS_UID.into(),
    }
}

#[test]
fn a_draft_is_unverified_partial_and_says_so_in_its_content() {
    let sr = build_ok(ReportStatus::Draft, None);
    assert_eq!(text(&sr, tags::SOP_CLASS_UID), SOP_CLASS_UID);
    assert_eq!(text(&sr, tags::MODALITY), "SR");
    assert_eq!(text(&sr, tags::VERIFICATION_FLAG), "UNVERIFIED");
    assert_eq!(text(&sr, tags::COMPLETION_FLAG), "PARTIAL");
    assert_eq!(text(&sr, tags::PRELIMINARY_FLAG), "PRELIMINARY");
    assert!(sr.get(tags::VERIFYING_OBSERVER_SEQUENCE).is_none());
    assert!(sr.get(tags::PREDECESSOR_DOCUMENTS_SEQUENCE).is_none());

    let tree = tree(&sr);
    assert_eq!(texts_of(&tree, "121106"), [DRAFT_STATEMENT]);
    assert_eq!(texts_of(&tree, "111001"), ["google/medgemma-4b-it"]);
    assert_eq!(texts_of(&tree, "111003"), ["rev-abc123"]);
    assert_eq!(
        texts_of(&tree, "121071"),
        ["Heart size normal. No focal consolidation."]
    );
    assert_eq!(
        texts_of(&tree, "121073"),
        ["No acute cardiopulmonary process."]
    );
    // The model is the only observer.
    assert!(texts_of(&tree, "121008").is_empty());
    let device_uid = tree
        .iter()
        .find(|(code, _)| code == "121012")
        .map(|(_, item)| text(item, tags::UID));
    assert_eq!(
        device_uid,
        Some(revision(ReportStatus::Draft).algorithm.device_uid())
    );
}

#[test]
fn the_algorithm_is_contributing_equipment() {
    let sr = build_ok(ReportStatus::Draft, None);
    let equipment = &items(&sr, tags::CONTRIBUTING_EQUIPMENT_SEQUENCE)[0];
    let purpose = &items(equipment, tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE)[0];
    assert_eq!(text(purpose, tags::CODE_VALUE), "109102");
    assert_eq!(
        text(equipment, tags::MANUFACTURER_MODEL_NAME),
        "google/medgemma-4b-it"
    );
    assert_eq!(
        text(equipment, tags::SOFTWARE_VERSIONS),
        "rev-abc123\\0.1.0"
    );
    assert!(text(equipment, tags::DEVICE_UID).starts_with("2.25."));
}

#[test]
fn a_signed_report_is_verified_by_its_signer_and_supersedes_the_draft() {
    let sr = build_ok(ReportStatus::Final, Some(&draft_predecessor()));
    assert_eq!(text(&sr, tags::VERIFICATION_FLAG), "VERIFIED");
    assert_eq!(text(&sr, tags::COMPLETION_FLAG), "COMPLETE");
    let observer = &items(&sr, tags::VERIFYING_OBSERVER_SEQUENCE)[0];
    assert_eq!(
        text(observer, tags::VERIFYING_OBSERVER_NAME),
        "Dr Ada Lovelace^"
    );
    assert_eq!(
        text(observer, tags::VERIFYING_ORGANIZATION),
        "Example Hospital"
    );
    assert_eq!(
        text(observer, tags::VERIFICATION_DATE_TIME),
        "20260102113000+0000"
    );
    assert!(
        observer
            .get(tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE)
            .is_some()
    );

    let predecessor = &items(&sr, tags::PREDECESSOR_DOCUMENTS_SEQUENCE)[0];
    assert_eq!(
        text(predecessor, tags::STUDY_INSTANCE_UID),
        patient().study_instance_uid
    );
    let series = &items(predecessor, tags::REFERENCED_SERIES_SEQUENCE)[0];
    assert_eq!(text(series, tags::SERIES_INSTANCE_UID), "2.25.1000");
    let sop = &items(series, tags::REFERENCED_SOP_SEQUENCE)[0];
    assert_eq!(text(sop, tags::REFERENCED_SOP_INSTANCE_UID), "2.25.7");

    let tree = tree(&sr);
    assert!(
        texts_of(&tree, "121106").is_empty(),
        "no draft statement once signed"
    );
    let person = tree
        .iter()
        .find(|(code, _)| code == "121008")
        .map(|(_, item)| text(item, tags::PERSON_NAME));
    assert_eq!(person.as_deref(), Some("Dr Ada Lovelace^"));
    assert_eq!(
        texts_of(&tree, "111001"),
        ["google/medgemma-4b-it"],
        "AI origin kept"
    );
}

#[test]
fn an_amendment_states_its_reason() {
    let sr = build_ok(ReportStatus::Amended, Some(&draft_predecessor()));
    assert_eq!(text(&sr, tags::VERIFICATION_FLAG), "VERIFIED");
    assert_eq!(
        texts_of(&tree(&sr), "121106"),
        ["Reason for amendment: Laterality corrected"]
    );
}

#[test]
fn the_evidence_and_the_image_references_are_the_studys_images() {
    let sr = build_ok(ReportStatus::Draft, None);
    let evidence = &items(&sr, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)[0];
    let referenced: Vec<String> = items(evidence, tags::REFERENCED_SERIES_SEQUENCE)
        .iter()
        .flat_map(|series| items(series, tags::REFERENCED_SOP_SEQUENCE))
        .map(|sop| text(sop, tags::REFERENCED_SOP_INSTANCE_UID))
        .collect();
    let expected: Vec<String> = images().into_iter().map(|i| i.sop_instance_uid).collect();
    assert_eq!(referenced, expected);

    let in_tree: Vec<String> = tree(&sr)
        .into_iter()
        .filter(|(_, item)| text(item, tags::VALUE_TYPE) == "IMAGE")
        .map(|(_, item)| {
            text(
                &items(item, tags::REFERENCED_SOP_SEQUENCE)[0],
                tags::REFERENCED_SOP_INSTANCE_UID,
            )
        })
        .collect();
    assert_eq!(in_tree, expected);
}

#[test]
fn without_sections_the_whole_text_is_the_finding() {
    let rev = Revision {
        findings: None,
        impression: Some("  ".into()),
        ..revision(ReportStatus::Draft)
    };
    let sr = build(&rev, &identity(1), &patient(), &images(), None)
        .unwrap()
        .into_inner();
    let tree = tree(&sr);
    assert_eq!(texts_of(&tree, "121071"), [rev.text.as_str()]);
    assert!(texts_of(&tree, "121073").is_empty());
}

#[test]
fn what_must_not_become_an_sr_is_refused() {
    let refuse =
        |rev: &Revision, id: &SrIdentity| build(rev, id, &patient(), &images(), None).unwrap_err();
    assert!(matches!(
        refuse(&revision(ReportStatus::Rejected), &identity(1)),
        SrError::Rejected
    ));
    let unsigned = Revision {
        signer: None,
        ..revision(ReportStatus::Final)
    };
    assert!(matches!(
        refuse(&unsigned, &identity(1)),
        SrError::MissingSigner { .. }
    ));
    let other_study = Revision {
        study_uid: "1.2.3".into(),
        ..revision(ReportStatus::Draft)
    };
    assert!(matches!(
        refuse(&other_study, &identity(1)),
        SrError::StudyMismatch { .. }
    ));
    let empty = Revision {
        findings: None,
        impression: None,
        text: " ".into(),
        ..revision(ReportStatus::Draft)
    };
    assert!(matches!(refuse(&empty, &identity(1)), SrError::EmptyReport));
    let bad_uid = SrIdentity {
        sop_instance_uid: "1.02.x".into(),
        ..identity(1)
    };
    assert!(matches!(
        refuse(&revision(ReportStatus::Draft), &bad_uid),
        SrError::InvalidUid { .. }
    ));
}

#[test]
fn the_file_round_trips_with_non_ascii_text_in_utf8() {
    let rev = Revision {
        findings: Some("Épanchement pleural gauche, 5 mm ≤ x".into()),
        ..revision(ReportStatus::Draft)
    };
    let object = build(&rev, &identity(1), &patient(), &images(), None).unwrap();
    let bytes = to_bytes(&object).unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    let needle = "Épanchement pleural gauche, 5 mm ≤ x".as_bytes();
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle),
        "UTF-8 on the wire"
    );
    let read = dicom_object::from_reader(&bytes[128..]).unwrap();
    assert_eq!(
        read.meta().transfer_syntax().trim_end_matches('\0'),
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    );
    assert_eq!(
        texts_of(&tree(&read), "121071"),
        ["Épanchement pleural gauche, 5 mm ≤ x"]
    );
}

#[test]
fn new_uids_are_unique_and_valid() {
    let (a, b) = (new_uid(), new_uid());
    assert_ne!(a, b);
    assert!(element::is_valid_uid(&a), "{a}");
}
