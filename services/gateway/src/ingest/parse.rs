//! Reading just enough of a received object to validate and index it, through the shared
//! guarded reader (no declared length trusted, inflation capped, every structure closed).
//! Parsing reads the whole data set, so truncated objects are caught here, and the pixel
//! data is held to the object's own image description, before anything is stored.

use std::io::{Cursor, Read, Seek};

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use radraft_core::{Uid, sop_class, transfer_syntax};
use radraft_dicom_guard::Limits;

use super::IngestError;

/// What identifies and files a validated object.
#[derive(Debug, Clone)]
pub struct Identity {
    pub study_uid: Uid,
    pub series_uid: Uid,
    pub sop_instance_uid: Uid,
    pub sop_class_uid: String,
    pub modality: Option<String>,
    pub accession_number: Option<String>,
    pub study_description: Option<String>,
    pub transfer_syntax_uid: String,
}

/// Validates a data set (a C-STORE's, or a Part 10 file's past its meta group) in
/// `transfer_syntax`, read from `source`'s position to its end. Its pixel data is read past, never held: only its layout is
/// checked against the image description.
pub(crate) fn dataset<R: Read + Seek>(
    source: R,
    transfer_syntax: &str,
    limits: &Limits,
) -> Result<Identity, IngestError> {
    let transfer_syntax = transfer_syntax.trim_end_matches('\0').to_owned();
    let scanned = radraft_dicom_guard::scan_dataset(source, &transfer_syntax, limits)?;
    let identity = identify(&scanned.object, transfer_syntax)?;
    scanned
        .check_pixel_data(&identity.transfer_syntax_uid)
        .map_err(IngestError::PixelData)?;
    Ok(identity)
}

/// The same checks on a data set in memory: what the fuzz target's replay runs.
pub(crate) fn check_dataset(
    bytes: &[u8],
    transfer_syntax: &str,
    limits: &Limits,
) -> Result<Identity, IngestError> {
    dataset(Cursor::new(bytes), transfer_syntax, limits)
}

fn identify(object: &InMemDicomObject, transfer_syntax: String) -> Result<Identity, IngestError> {
    if transfer_syntax::decodable(&transfer_syntax).is_none() {
        return Err(IngestError::UnsupportedTransferSyntax {
            uid: transfer_syntax,
        });
    }
    let sop_class_uid = required(object, tags::SOP_CLASS_UID, "SOPClassUID")?;
    if sop_class::accepted(&sop_class_uid).is_none() {
        return Err(IngestError::UnsupportedSopClass { uid: sop_class_uid });
    }
    Ok(Identity {
        sop_instance_uid: uid(object, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?,
        study_uid: uid(object, tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?,
        series_uid: uid(object, tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?,
        modality: optional(object, tags::MODALITY),
        accession_number: optional(object, tags::ACCESSION_NUMBER),
        study_description: optional(object, tags::STUDY_DESCRIPTION),
        sop_class_uid: sop_class_uid.trim_end_matches('\0').to_owned(),
        transfer_syntax_uid: transfer_syntax,
    })
}

fn optional(object: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = object.element_opt(tag).ok()??.to_str().ok()?;
    let trimmed = value.trim_end_matches(['\0', ' ']).trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn required(
    object: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<String, IngestError> {
    optional(object, tag).ok_or(IngestError::MissingAttribute { name })
}

fn uid(object: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Uid, IngestError> {
    let raw = required(object, tag, name)?;
    Uid::parse(&raw).map_err(|source| IngestError::InvalidUid { name, source })
}
