//! Reading just enough of a received object to validate and index it, through the shared
//! guarded reader (no declared length trusted, inflation capped, every structure closed).
//! Parsing reads the whole data set, so truncated objects are caught here, and the pixel
//! data is held to the object's own image description, before anything is stored.

use bytes::{BufMut, Bytes, BytesMut};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use radraft_core::{Uid, sop_class, transfer_syntax};
use radraft_dicom_guard::Limits;
use sha2::{Digest, Sha256};

use super::IngestError;

/// radraft's implementation class UID (a UUID-derived `2.25` UID) for file meta we write.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.193985754947776482033521739175877808808";
const IMPLEMENTATION_VERSION_NAME: &str = "RADRAFT_010";

/// A validated object, ready to archive: its identity and the exact bytes to keep.
#[derive(Debug)]
pub struct Parsed {
    pub study_uid: Uid,
    pub series_uid: Uid,
    pub sop_instance_uid: Uid,
    pub sop_class_uid: String,
    pub modality: Option<String>,
    pub accession_number: Option<String>,
    pub study_description: Option<String>,
    pub transfer_syntax_uid: String,
    pub sha256: String,
    pub file: Bytes,
}

/// Validates a Part 10 file; the archived bytes are the file as received.
pub(crate) fn part10(file: Bytes, limits: &Limits) -> Result<Parsed, IngestError> {
    let object = radraft_dicom_guard::read_file(&file, limits)?;
    let transfer_syntax = object
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_owned();
    identify(&object, transfer_syntax, file)
}

/// Validates a C-STORE data set and wraps it, unchanged, in a file meta group.
pub(crate) fn dataset(
    dataset: Vec<u8>,
    transfer_syntax: &str,
    calling_ae: Option<&str>,
    limits: &Limits,
) -> Result<Parsed, IngestError> {
    let transfer_syntax = transfer_syntax.trim_end_matches('\0').to_owned();
    let object = radraft_dicom_guard::read_dataset(&dataset, &transfer_syntax, limits)?;
    let sop_class = required(&object, tags::SOP_CLASS_UID, "SOPClassUID")?;
    let sop_instance = required(&object, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let mut meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .transfer_syntax(transfer_syntax.as_str())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    if let Some(ae) = calling_ae {
        meta = meta.source_application_entity_title(ae);
    }
    let meta = meta.build().map_err(|e| IngestError::NotDicom {
        reason: e.to_string(),
    })?;

    let mut file = BytesMut::with_capacity(dataset.len() + 512).writer();
    std::io::Write::write_all(&mut file, &[0u8; 128]).map_err(not_dicom)?;
    std::io::Write::write_all(&mut file, b"DICM").map_err(not_dicom)?;
    meta.write(&mut file).map_err(|e| IngestError::NotDicom {
        reason: e.to_string(),
    })?;
    let mut file = file.into_inner();
    file.extend_from_slice(&dataset);
    identify(&object, transfer_syntax, file.freeze())
}

fn not_dicom(e: std::io::Error) -> IngestError {
    IngestError::NotDicom {
        reason: e.to_string(),
    }
}

fn identify(
    object: &InMemDicomObject,
    transfer_syntax: String,
    file: Bytes,
) -> Result<Parsed, IngestError> {
    if transfer_syntax::decodable(&transfer_syntax).is_none() {
        return Err(IngestError::UnsupportedTransferSyntax {
            uid: transfer_syntax,
        });
    }
    let sop_class_uid = required(object, tags::SOP_CLASS_UID, "SOPClassUID")?;
    if sop_class::accepted(&sop_class_uid).is_none() {
        return Err(IngestError::UnsupportedSopClass { uid: sop_class_uid });
    }
    let sop_instance_uid = uid(object, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let study_uid = uid(object, tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?;
    let series_uid = uid(object, tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?;
    let modality = optional(object, tags::MODALITY);
    let accession_number = optional(object, tags::ACCESSION_NUMBER);
    let study_description = optional(object, tags::STUDY_DESCRIPTION);
    radraft_dicom_guard::check_pixel_data(object, &transfer_syntax)
        .map_err(IngestError::PixelData)?;
    let sha256 = hex::encode(Sha256::digest(&file));
    Ok(Parsed {
        study_uid,
        series_uid,
        sop_instance_uid,
        sop_class_uid: sop_class_uid.trim_end_matches('\0').to_owned(),
        modality,
        accession_number,
        study_description,
        transfer_syntax_uid: transfer_syntax,
        sha256,
        file,
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

/// The SOP class and instance UIDs a Part 10 file's meta group declares, each where it
/// could be read and is a valid UID: what a refusal names even when the data set itself
/// was unreadable.
pub fn declared_uids(file: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(meta) = radraft_dicom_guard::read_meta(file) else {
        return (None, None);
    };
    let valid = |raw: &str| {
        Uid::parse(raw.trim_end_matches(['\0', ' ']))
            .ok()
            .map(|u| u.to_string())
    };
    (
        valid(meta.media_storage_sop_class_uid()),
        valid(meta.media_storage_sop_instance_uid()),
    )
}
