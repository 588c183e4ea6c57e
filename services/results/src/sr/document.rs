//! The SR Document General module (flags, verifying observer, predecessor, evidence) and
//! the Contributing Equipment that names the algorithm.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::content::{self, DRAFT_STATEMENT};
use super::element::{Code, da, dt, lo, pn, put_multi, put_seq, sop_reference, tm};
use super::{PatientContext, Predecessor, ReferencedInstance, SrIdentity};
use crate::report::Revision;

/// CID 7005: the algorithm processed the study's images to produce this document. (IHE AI
/// Results Rev 1.1 used a placeholder code, "Newcode1" of 99IHE, for "Processing
/// Algorithm"; DICOM has not added one, so the standard purpose is used.)
const PROCESSING_EQUIPMENT: Code = Code("109102", "DCM", "Processing Equipment");

/// Writes the SR Document General module: a draft is PRELIMINARY, PARTIAL and UNVERIFIED;
/// a signed revision FINAL, COMPLETE and VERIFIED by its signer.
pub(super) fn write(
    sr: &mut InMemDicomObject,
    rev: &Revision,
    id: &SrIdentity,
    patient: &PatientContext,
    images: &[ReferencedInstance],
    predecessor: Option<&Predecessor>,
) {
    let signer = rev.signer.as_ref().filter(|_| rev.status.is_signed());
    sr.put_str(
        tags::INSTANCE_NUMBER,
        VR::IS,
        id.instance_number.to_string(),
    );
    sr.put_str(tags::CONTENT_DATE, VR::DA, da(id.content_datetime));
    sr.put_str(tags::CONTENT_TIME, VR::TM, tm(id.content_datetime));
    if let Some(signer) = signer {
        sr.put_str(tags::PRELIMINARY_FLAG, VR::CS, "FINAL");
        sr.put_str(tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
        sr.put_str(tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
        let mut observer = InMemDicomObject::new_empty();
        observer.put_str(
            tags::VERIFYING_OBSERVER_NAME,
            VR::PN,
            pn(&signer.display_name),
        );
        put_seq(
            &mut observer,
            tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
            Vec::new(),
        );
        observer.put_str(
            tags::VERIFYING_ORGANIZATION,
            VR::LO,
            lo(patient.verifying_organization()),
        );
        observer.put_str(tags::VERIFICATION_DATE_TIME, VR::DT, dt(signer.signed_at));
        put_seq(sr, tags::VERIFYING_OBSERVER_SEQUENCE, vec![observer]);
    } else {
        sr.put_str(tags::PRELIMINARY_FLAG, VR::CS, "PRELIMINARY");
        sr.put_str(tags::COMPLETION_FLAG, VR::CS, "PARTIAL");
        sr.put_str(
            tags::COMPLETION_FLAG_DESCRIPTION,
            VR::LO,
            lo(DRAFT_STATEMENT),
        );
        sr.put_str(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED");
    }
    if let Some(predecessor) = predecessor {
        let reference = study_reference(
            &patient.study_instance_uid,
            [(
                predecessor.series_uid.as_str(),
                sop_reference(&predecessor.sop_class_uid, &predecessor.sop_instance_uid),
            )],
        );
        put_seq(sr, tags::PREDECESSOR_DOCUMENTS_SEQUENCE, vec![reference]);
    }
    // The images the report was drafted from; a study reference needs at least one.
    if !images.is_empty() {
        let evidence = study_reference(
            &patient.study_instance_uid,
            images.iter().map(|image| {
                let reference = sop_reference(&image.sop_class_uid, &image.sop_instance_uid);
                (image.series_uid.as_str(), reference)
            }),
        );
        put_seq(
            sr,
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![evidence],
        );
    }
    put_seq(sr, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, Vec::new());
}

/// IHE AI Results: the algorithm, with its versions and a Device UID that changes with
/// the model, as Contributing Equipment.
pub(super) fn contributing_equipment(rev: &Revision) -> InMemDicomObject {
    let algorithm = &rev.algorithm;
    let mut item = InMemDicomObject::new_empty();
    put_seq(
        &mut item,
        tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
        vec![PROCESSING_EQUIPMENT.item()],
    );
    item.put_str(tags::MANUFACTURER, VR::LO, content::MANUFACTURER);
    item.put_str(tags::MANUFACTURER_MODEL_NAME, VR::LO, lo(&algorithm.name));
    put_multi(
        &mut item,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        &[&algorithm.version, &algorithm.software_version],
    );
    item.put_str(tags::DEVICE_UID, VR::UI, algorithm.device_uid());
    item.put_str(tags::CONTRIBUTION_DATE_TIME, VR::DT, dt(rev.drafted_at));
    item.put_str(
        tags::CONTRIBUTION_DESCRIPTION,
        VR::ST,
        format!(
            "AI draft of the report text (prompt template {})",
            algorithm.prompt_template
        ),
    );
    item
}

/// A Hierarchical SOP Instance Reference item: the study, its series, and in each series
/// the referenced instances, grouped in first-seen order.
fn study_reference<'a>(
    study_uid: &str,
    references: impl IntoIterator<Item = (&'a str, InMemDicomObject)>,
) -> InMemDicomObject {
    let mut series: Vec<(&str, Vec<InMemDicomObject>)> = Vec::new();
    for (series_uid, reference) in references {
        match series.iter_mut().find(|(uid, _)| *uid == series_uid) {
            Some((_, instances)) => instances.push(reference),
            None => series.push((series_uid, vec![reference])),
        }
    }
    let series_items = series
        .into_iter()
        .map(|(series_uid, instances)| {
            let mut item = InMemDicomObject::new_empty();
            item.put_str(tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
            put_seq(&mut item, tags::REFERENCED_SOP_SEQUENCE, instances);
            item
        })
        .collect();
    let mut study = InMemDicomObject::new_empty();
    study.put_str(tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    put_seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, series_items);
    study
}
