//! The SR content tree: a Diagnostic Imaging Report laid out like TID 2000 (language,
//! observation context, sections of narrative text), plus the algorithm's identification
//! (TID 4019) and, for drafts, a statement that no radiologist has verified the text.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::ReferencedInstance;
use super::element::{Code, pn, put_seq, sop_reference};
use crate::report::{ReportStatus, Revision};

pub(crate) const DIAGNOSTIC_IMAGING_REPORT: Code =
    Code("18748-4", "LN", "Diagnostic Imaging Report");
const LANGUAGE: Code = Code("121049", "DCM", "Language of Content Item and Descendants");
const ENGLISH: Code = Code("en", "RFC5646", "English");
const OBSERVER_TYPE: Code = Code("121005", "DCM", "Observer Type");
const DEVICE: Code = Code("121007", "DCM", "Device");
const PERSON: Code = Code("121006", "DCM", "Person");
const DEVICE_OBSERVER_UID: Code = Code("121012", "DCM", "Device Observer UID");
const DEVICE_OBSERVER_NAME: Code = Code("121013", "DCM", "Device Observer Name");
const DEVICE_OBSERVER_MANUFACTURER: Code = Code("121014", "DCM", "Device Observer Manufacturer");
const DEVICE_OBSERVER_MODEL_NAME: Code = Code("121015", "DCM", "Device Observer Model Name");
const PERSON_OBSERVER_NAME: Code = Code("121008", "DCM", "Person Observer Name");
const PERSON_OBSERVER_LOGIN_NAME: Code = Code("128774", "DCM", "Person Observer's Login Name");
const ALGORITHM_NAME: Code = Code("111001", "DCM", "Algorithm Name");
const ALGORITHM_VERSION: Code = Code("111003", "DCM", "Algorithm Version");
const ALGORITHM_PARAMETERS: Code = Code("111002", "DCM", "Algorithm Parameters");
const COMMENT: Code = Code("121106", "DCM", "Comment");
// Section headings (TID 2001) and the narrative items within them (TID 2002).
const FINDINGS: Code = Code("121070", "DCM", "Findings");
const FINDING: Code = Code("121071", "DCM", "Finding");
const IMPRESSIONS: Code = Code("121072", "DCM", "Impressions");
const IMPRESSION: Code = Code("121073", "DCM", "Impression");

/// The statement every draft SR carries in its content, not only in its flags, so that a
/// viewer that shows only the tree still says it.
pub const DRAFT_STATEMENT: &str = "Preliminary AI-generated draft, not verified by a radiologist";
/// The manufacturer named for the AI device, in the tree and in Contributing Equipment.
pub(crate) const MANUFACTURER: &str = "radraft";

/// Writes the root CONTAINER and its content into `sr`.
pub(super) fn write(sr: &mut InMemDicomObject, rev: &Revision, images: &[ReferencedInstance]) {
    sr.put_str(tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_seq(
        sr,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![DIAGNOSTIC_IMAGING_REPORT.item()],
    );
    sr.put_str(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");

    let algorithm = &rev.algorithm;
    let mut children = vec![
        code("HAS CONCEPT MOD", LANGUAGE, ENGLISH),
        // TID 4019 Algorithm Identification.
        text("HAS CONCEPT MOD", ALGORITHM_NAME, &algorithm.name),
        text("HAS CONCEPT MOD", ALGORITHM_VERSION, &algorithm.version),
        text(
            "HAS CONCEPT MOD",
            ALGORITHM_PARAMETERS,
            &format!("prompt template {}", algorithm.prompt_template),
        ),
        // TID 1002/1004: the model is an observer of every revision, it wrote the text.
        code("HAS OBS CONTEXT", OBSERVER_TYPE, DEVICE),
        uidref(
            "HAS OBS CONTEXT",
            DEVICE_OBSERVER_UID,
            &algorithm.device_uid(),
        ),
        text("HAS OBS CONTEXT", DEVICE_OBSERVER_NAME, &algorithm.name),
        text(
            "HAS OBS CONTEXT",
            DEVICE_OBSERVER_MANUFACTURER,
            MANUFACTURER,
        ),
        text(
            "HAS OBS CONTEXT",
            DEVICE_OBSERVER_MODEL_NAME,
            &algorithm.name,
        ),
    ];
    // TID 1002/1003: the radiologist who signed this revision observed it too.
    if let Some(signer) = rev.signer.as_ref().filter(|_| rev.status.is_signed()) {
        children.push(code("HAS OBS CONTEXT", OBSERVER_TYPE, PERSON));
        children.push(pname(
            "HAS OBS CONTEXT",
            PERSON_OBSERVER_NAME,
            &signer.display_name,
        ));
        children.push(text(
            "HAS OBS CONTEXT",
            PERSON_OBSERVER_LOGIN_NAME,
            &signer.username,
        ));
    }
    if rev.status == ReportStatus::Draft {
        children.push(text("CONTAINS", COMMENT, DRAFT_STATEMENT));
    }
    if let Some(reason) = rev
        .amendment_reason
        .as_deref()
        .filter(|_| rev.status == ReportStatus::Amended)
    {
        children.push(text(
            "CONTAINS",
            COMMENT,
            &format!("Reason for amendment: {reason}"),
        ));
    }
    children.extend(sections(rev, images));
    put_seq(sr, tags::CONTENT_SEQUENCE, children);
}

/// The Findings and Impressions sections; the whole text goes under Findings when the
/// report has no sections. The images the model read are attached to the first narrative
/// item with INFERRED FROM: the text was inferred from them.
fn sections(rev: &Revision, images: &[ReferencedInstance]) -> Vec<InMemDicomObject> {
    let findings = match (rev.findings(), rev.impression()) {
        (None, None) => Some(rev.text.as_str()),
        (findings, _) => findings,
    };
    let parts = [
        (FINDINGS, FINDING, findings),
        (IMPRESSIONS, IMPRESSION, rev.impression()),
    ];
    let mut images_attached = false;
    let mut out = Vec::new();
    for (heading, concept, body) in parts {
        let Some(body) = body else { continue };
        let mut item = text("CONTAINS", concept, body);
        if !images_attached && !images.is_empty() {
            let references = images
                .iter()
                .map(|image| image_item("INFERRED FROM", image))
                .collect();
            put_seq(&mut item, tags::CONTENT_SEQUENCE, references);
            images_attached = true;
        }
        out.push(container("CONTAINS", heading, vec![item]));
    }
    out
}

fn item(relationship: &str, value_type: &str, concept: Option<Code>) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put_str(tags::RELATIONSHIP_TYPE, VR::CS, relationship);
    item.put_str(tags::VALUE_TYPE, VR::CS, value_type);
    if let Some(concept) = concept {
        put_seq(
            &mut item,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![concept.item()],
        );
    }
    item
}

fn text(relationship: &str, concept: Code, value: &str) -> InMemDicomObject {
    let mut text = item(relationship, "TEXT", Some(concept));
    text.put_str(tags::TEXT_VALUE, VR::UT, value);
    text
}

fn code(relationship: &str, concept: Code, value: Code) -> InMemDicomObject {
    let mut code = item(relationship, "CODE", Some(concept));
    put_seq(&mut code, tags::CONCEPT_CODE_SEQUENCE, vec![value.item()]);
    code
}

fn uidref(relationship: &str, concept: Code, uid: &str) -> InMemDicomObject {
    let mut item = item(relationship, "UIDREF", Some(concept));
    item.put_str(tags::UID, VR::UI, uid);
    item
}

fn pname(relationship: &str, concept: Code, name: &str) -> InMemDicomObject {
    let mut item = item(relationship, "PNAME", Some(concept));
    item.put_str(tags::PERSON_NAME, VR::PN, pn(name));
    item
}

fn container(
    relationship: &str,
    concept: Code,
    children: Vec<InMemDicomObject>,
) -> InMemDicomObject {
    let mut container = item(relationship, "CONTAINER", Some(concept));
    container.put_str(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    put_seq(&mut container, tags::CONTENT_SEQUENCE, children);
    container
}

fn image_item(relationship: &str, image: &ReferencedInstance) -> InMemDicomObject {
    let mut item = item(relationship, "IMAGE", None);
    put_seq(
        &mut item,
        tags::REFERENCED_SOP_SEQUENCE,
        vec![sop_reference(&image.sop_class_uid, &image.sop_instance_uid)],
    );
    item
}
