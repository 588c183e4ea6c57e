//! The patient and study an SR belongs to, copied from one of the study's own objects so
//! that the PACS files the report with its images.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::SrError;
use super::element::{is_valid_uid, put_empty};

/// VerifyingOrganization when the study's object has no InstitutionName.
pub const UNKNOWN_ORGANIZATION: &str = "Institution not recorded";

/// Patient Module and General Study Module attributes, and the institution, as strings in
/// their DICOM form (a PN stays `Family^Given`, a DA stays `YYYYMMDD`). Empty means absent
/// in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientContext {
    pub patient_name: String,
    pub patient_id: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_instance_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub referring_physician_name: String,
    pub study_id: String,
    pub accession_number: String,
    /// InstitutionName of the study's object: where the study was done, taken as the
    /// organization the signing radiologist is accountable to (VerifyingOrganization).
    pub institution_name: String,
}

impl PatientContext {
    /// Copies the attributes from one of the study's objects. Only the Study Instance UID
    /// is required: the others are Type 2 and may be empty in the SR as in the source.
    pub fn from_object(object: &InMemDicomObject) -> Result<Self, SrError> {
        let study_instance_uid = text(object, tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?;
        if study_instance_uid.is_empty() {
            return Err(SrError::MissingAttribute {
                attribute: "StudyInstanceUID",
            });
        }
        if !is_valid_uid(&study_instance_uid) {
            return Err(SrError::InvalidUid {
                attribute: "StudyInstanceUID",
                value: study_instance_uid,
            });
        }
        Ok(Self {
            patient_name: text(object, tags::PATIENT_NAME, "PatientName")?,
            patient_id: text(object, tags::PATIENT_ID, "PatientID")?,
            patient_birth_date: text(object, tags::PATIENT_BIRTH_DATE, "PatientBirthDate")?,
            patient_sex: text(object, tags::PATIENT_SEX, "PatientSex")?,
            study_instance_uid,
            study_date: text(object, tags::STUDY_DATE, "StudyDate")?,
            study_time: text(object, tags::STUDY_TIME, "StudyTime")?,
            referring_physician_name: text(
                object,
                tags::REFERRING_PHYSICIAN_NAME,
                "ReferringPhysicianName",
            )?,
            study_id: text(object, tags::STUDY_ID, "StudyID")?,
            accession_number: text(object, tags::ACCESSION_NUMBER, "AccessionNumber")?,
            institution_name: text(object, tags::INSTITUTION_NAME, "InstitutionName")?,
        })
    }

    /// The VerifyingOrganization of a signed SR. DICOM requires a value (Type 1); when the
    /// study names no institution the SR says so rather than invent one.
    pub fn verifying_organization(&self) -> &str {
        if self.institution_name.is_empty() {
            UNKNOWN_ORGANIZATION
        } else {
            &self.institution_name
        }
    }

    /// Writes the Patient and General Study modules into the SR.
    pub(super) fn write(&self, sr: &mut InMemDicomObject) {
        let fields: [(Tag, VR, &str); 10] = [
            (tags::PATIENT_NAME, VR::PN, &self.patient_name),
            (tags::PATIENT_ID, VR::LO, &self.patient_id),
            (tags::PATIENT_BIRTH_DATE, VR::DA, &self.patient_birth_date),
            (tags::PATIENT_SEX, VR::CS, &self.patient_sex),
            (tags::STUDY_INSTANCE_UID, VR::UI, &self.study_instance_uid),
            (tags::STUDY_DATE, VR::DA, &self.study_date),
            (tags::STUDY_TIME, VR::TM, &self.study_time),
            (
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                &self.referring_physician_name,
            ),
            (tags::STUDY_ID, VR::SH, &self.study_id),
            (tags::ACCESSION_NUMBER, VR::SH, &self.accession_number),
        ];
        for (tag, vr, value) in fields {
            if value.is_empty() {
                put_empty(sr, tag, vr);
            } else {
                sr.put_str(tag, vr, value);
            }
        }
    }
}

/// The element's value as trimmed text, empty when the element is absent or empty.
fn text(object: &InMemDicomObject, tag: Tag, attribute: &'static str) -> Result<String, SrError> {
    let Some(element) = object.get(tag) else {
        return Ok(String::new());
    };
    let value = element
        .to_str()
        .map_err(|_| SrError::InvalidAttribute { attribute })?;
    Ok(value.trim_end_matches([' ', '\0']).trim_start().to_owned())
}
