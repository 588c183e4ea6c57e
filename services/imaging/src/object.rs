//! Opening DICOM objects (from a path or from bytes) and reading the attributes that
//! study selection needs, without touching the pixel data.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use radraft_dicom_guard::{GuardError, Limits};

use crate::error::ImagingError;

/// One opened DICOM object plus the attributes selection uses.
#[derive(Debug)]
pub struct Instance {
    pub(crate) object: DefaultDicomObject,
    /// SOP Instance UID, or empty when absent.
    pub sop_instance_uid: String,
    /// Series Instance UID, or empty when absent.
    pub series_instance_uid: String,
    /// Study Instance UID, or empty when absent.
    pub study_instance_uid: String,
    /// Modality (0008,0060), upper case, or empty.
    pub modality: String,
    /// View Position (0018,5101), upper case, or empty.
    pub view_position: String,
    /// Body Part Examined (0018,0015), upper case, or empty.
    pub body_part: String,
    pub instance_number: Option<i64>,
    pub image_position: Option<[f64; 3]>,
    pub image_orientation: Option<[f64; 6]>,
}

/// Opens a Part 10 file (with or without the 128-byte preamble).
pub fn open_path(path: &Path) -> Result<Instance, ImagingError> {
    let bytes = std::fs::read(path).map_err(|source| ImagingError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    open_bytes(&bytes).map_err(|e| match e {
        ImagingError::ParseBytes { source } => ImagingError::OpenFile {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

/// Parses a Part 10 object from memory (preamble optional) through the shared guarded
/// reader: every declared length checked before dicom-parser allocates, a deflated data set's
/// inflated size capped (`MAX_INFLATED_BYTES`), nesting bounded.
pub fn open_bytes(bytes: &[u8]) -> Result<Instance, ImagingError> {
    let object =
        radraft_dicom_guard::read_file(bytes, &Limits::default()).map_err(|error| match error {
            GuardError::DeclaredLength {
                tag,
                length,
                remaining,
            } => ImagingError::DeclaredLength {
                tag,
                length,
                remaining,
            },
            GuardError::InflatedTooLarge { limit } => ImagingError::InflatedTooLarge { limit },
            other => ImagingError::ParseBytes {
                source: Box::new(other),
            },
        })?;
    Ok(Instance::new(object))
}

impl Instance {
    fn new(object: DefaultDicomObject) -> Self {
        let text = |tag| {
            object
                .element_opt(tag)
                .ok()
                .flatten()
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let floats = |tag| {
            object
                .element_opt(tag)
                .ok()
                .flatten()
                .and_then(|e| e.to_multi_float64().ok())
        };
        let image_position = floats(tags::IMAGE_POSITION_PATIENT)
            .and_then(|v| <[f64; 3]>::try_from(v.as_slice()).ok());
        let image_orientation = floats(tags::IMAGE_ORIENTATION_PATIENT)
            .and_then(|v| <[f64; 6]>::try_from(v.as_slice()).ok());
        let instance_number = object
            .element_opt(tags::INSTANCE_NUMBER)
            .ok()
            .flatten()
            .and_then(|e| e.to_int::<i64>().ok());
        Instance {
            sop_instance_uid: text(tags::SOP_INSTANCE_UID),
            series_instance_uid: text(tags::SERIES_INSTANCE_UID),
            study_instance_uid: text(tags::STUDY_INSTANCE_UID),
            modality: text(tags::MODALITY).to_ascii_uppercase(),
            view_position: text(tags::VIEW_POSITION).to_ascii_uppercase(),
            body_part: text(tags::BODY_PART_EXAMINED).to_ascii_uppercase(),
            instance_number,
            image_position,
            image_orientation,
            object,
        }
    }

    /// The transfer syntax UID from the file meta group.
    pub fn transfer_syntax(&self) -> &str {
        self.object.meta().transfer_syntax()
    }

    /// Position along the slice normal (row x column direction cosines), if known.
    pub fn slice_position(&self) -> Option<f64> {
        let p = self.image_position?;
        let o = self.image_orientation?;
        let n = [
            o[1] * o[5] - o[2] * o[4],
            o[2] * o[3] - o[0] * o[5],
            o[0] * o[4] - o[1] * o[3],
        ];
        Some(p[0] * n[0] + p[1] * n[1] + p[2] * n[2])
    }
}
