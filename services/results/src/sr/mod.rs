//! A report revision as a DICOM Comprehensive SR, filed in the study it reports on.
//!
//! Comprehensive SR rather than Enhanced SR: both allow everything used here (TEXT, CODE,
//! UIDREF, PNAME and IMAGE items, INFERRED FROM image references), but Comprehensive SR is
//! the one PACS and viewers accept most widely, and it leaves room for by-reference
//! relationships later. The draft goes out UNVERIFIED and PARTIAL; a signed revision is
//! VERIFIED and COMPLETE, names its verifying observer and supersedes the SR before it
//! through the Predecessor Documents Sequence.

mod content;
mod document;
mod element;
mod patient;

use chrono::{DateTime, Utc};
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

pub use content::DRAFT_STATEMENT;
pub use patient::{PatientContext, UNKNOWN_ORGANIZATION};

use crate::report::{ReportStatus, Revision};
use element::{da, is_valid_uid, lo, put_seq, tm};

/// The SOP class of every SR built here.
pub const SOP_CLASS_UID: &str = uids::COMPREHENSIVE_SR_STORAGE;
/// Series Number of the SR series: high, so that viewers list the report after the
/// acquired series.
pub const SERIES_NUMBER: u32 = 999;

/// The identity the caller assigns to one SR: UIDs it records before sending, so that a
/// retry sends the same instance and a later revision can name it as predecessor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrIdentity {
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    pub instance_number: u32,
    pub content_datetime: DateTime<Utc>,
}

/// One image of the study that the report was drafted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencedInstance {
    pub series_uid: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
}

/// The SR this one supersedes: the draft's SR for the signed report, the previous signed
/// SR for an amendment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predecessor {
    pub sop_instance_uid: String,
    pub series_uid: String,
    pub sop_class_uid: String,
}

/// Why no SR could be built. The encoder's errors are boxed: they are large and rare.
#[derive(Debug, thiserror::Error)]
pub enum SrError {
    #[error("the study object has no {attribute}")]
    MissingAttribute { attribute: &'static str },
    #[error("the study object's {attribute} is not text")]
    InvalidAttribute { attribute: &'static str },
    #[error("{attribute} is not a valid UID: {value:?}")]
    InvalidUid {
        attribute: &'static str,
        value: String,
    },
    #[error("the report is on study {report} but the study objects are from {objects}")]
    StudyMismatch { report: String, objects: String },
    #[error("a rejected draft is not issued as an SR")]
    Rejected,
    #[error("a {status:?} revision has no signer")]
    MissingSigner { status: ReportStatus },
    #[error("the report has no text")]
    EmptyReport,
    #[error("could not build the file meta group")]
    Meta {
        #[source]
        source: Box<dicom_object::WithMetaError>,
    },
    #[error("could not encode the SR")]
    Encode {
        #[source]
        source: Box<dicom_object::WriteError>,
    },
}

/// Builds the SR of one revision, as a Part 10 object in Explicit VR Little Endian.
pub fn build(
    rev: &Revision,
    id: &SrIdentity,
    patient: &PatientContext,
    images: &[ReferencedInstance],
    predecessor: Option<&Predecessor>,
) -> Result<FileDicomObject<InMemDicomObject>, SrError> {
    check(rev, id, patient, images, predecessor)?;
    let mut sr = InMemDicomObject::new_empty();

    // SOP Common. UTF-8, since report text and names may hold any character.
    sr.put_str(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    sr.put_str(tags::SOP_CLASS_UID, VR::UI, SOP_CLASS_UID);
    sr.put_str(tags::SOP_INSTANCE_UID, VR::UI, &id.sop_instance_uid);
    sr.put_str(
        tags::INSTANCE_CREATION_DATE,
        VR::DA,
        da(id.content_datetime),
    );
    sr.put_str(
        tags::INSTANCE_CREATION_TIME,
        VR::TM,
        tm(id.content_datetime),
    );
    sr.put_str(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000");
    put_seq(
        &mut sr,
        tags::CONTRIBUTING_EQUIPMENT_SEQUENCE,
        vec![document::contributing_equipment(rev)],
    );

    patient.write(&mut sr);

    // SR Document Series, in a series of its own.
    sr.put_str(tags::MODALITY, VR::CS, "SR");
    sr.put_str(tags::SERIES_INSTANCE_UID, VR::UI, &id.series_instance_uid);
    sr.put_str(tags::SERIES_NUMBER, VR::IS, SERIES_NUMBER.to_string());
    sr.put_str(
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "radraft AI-assisted report",
    );
    put_seq(
        &mut sr,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        Vec::new(),
    );

    // General Equipment: radraft made this object; the model is Contributing Equipment.
    sr.put_str(tags::MANUFACTURER, VR::LO, content::MANUFACTURER);
    sr.put_str(tags::MANUFACTURER_MODEL_NAME, VR::LO, "radraft results");
    sr.put_str(
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        lo(&rev.algorithm.software_version),
    );

    document::write(&mut sr, rev, id, patient, images, predecessor);
    content::write(&mut sr, rev, images);

    sr.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|source| SrError::Meta {
            source: Box::new(source),
        })
}

/// The Part 10 file bytes of an SR (or any object).
pub fn to_bytes(object: &FileDicomObject<InMemDicomObject>) -> Result<Vec<u8>, SrError> {
    let mut bytes = Vec::new();
    object
        .write_all(&mut bytes)
        .map_err(|source| SrError::Encode {
            source: Box::new(source),
        })?;
    Ok(bytes)
}

/// A new UID under the UUID root 2.25 (PS3.5 B.2): no registered org root needed.
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// Refuses what would make a wrong or invalid SR, before anything is built.
fn check(
    rev: &Revision,
    id: &SrIdentity,
    patient: &PatientContext,
    images: &[ReferencedInstance],
    predecessor: Option<&Predecessor>,
) -> Result<(), SrError> {
    match rev.status {
        ReportStatus::Rejected => return Err(SrError::Rejected),
        status @ (ReportStatus::Final | ReportStatus::Amended) if rev.signer.is_none() => {
            return Err(SrError::MissingSigner { status });
        }
        _ => {}
    }
    if rev.findings().is_none() && rev.impression().is_none() && rev.text.trim().is_empty() {
        return Err(SrError::EmptyReport);
    }
    if rev.study_uid != patient.study_instance_uid {
        return Err(SrError::StudyMismatch {
            report: rev.study_uid.clone(),
            objects: patient.study_instance_uid.clone(),
        });
    }
    let mut uids = vec![
        ("SOPInstanceUID", id.sop_instance_uid.as_str()),
        ("SeriesInstanceUID", id.series_instance_uid.as_str()),
        ("StudyInstanceUID", patient.study_instance_uid.as_str()),
    ];
    for image in images {
        uids.push(("referenced SeriesInstanceUID", &image.series_uid));
        uids.push(("referenced SOPClassUID", &image.sop_class_uid));
        uids.push(("referenced SOPInstanceUID", &image.sop_instance_uid));
    }
    if let Some(predecessor) = predecessor {
        uids.push(("predecessor SeriesInstanceUID", &predecessor.series_uid));
        uids.push(("predecessor SOPClassUID", &predecessor.sop_class_uid));
        uids.push(("predecessor SOPInstanceUID", &predecessor.sop_instance_uid));
    }
    match uids.into_iter().find(|(_, uid)| !is_valid_uid(uid)) {
        Some((attribute, value)) => Err(SrError::InvalidUid {
            attribute,
            value: value.to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
