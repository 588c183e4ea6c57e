//! Why an object was refused, and how each door reports it to the sender.

use dicom_core::Tag;
use radraft_archive::ArchiveError;
use radraft_core::UidError;
use radraft_dicom_guard::{GuardError, PixelProblem};
use radraft_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("object is {size} bytes, over the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a readable DICOM object: {reason}")]
    NotDicom { reason: String },
    /// A length the object declares runs past its end; refused before anything is
    /// allocated for it.
    #[error("element {tag} declares {length} bytes, {remaining} remain")]
    DeclaredLength {
        tag: Tag,
        length: u32,
        remaining: usize,
    },
    #[error("data set inflates to more than {limit} bytes")]
    InflatedTooLarge { limit: u64 },
    /// More elements than any real object holds: refused before they cost the memory.
    #[error("data set holds more than {limit} elements")]
    TooManyElements { limit: usize },
    /// Nesting too deep, or a sequence or the encapsulated pixel data left open.
    #[error("{problem}")]
    Malformed { problem: String },
    /// The pixel data cannot match the object's own image description.
    #[error("{0}")]
    PixelData(PixelProblem),
    #[error("required attribute {name} is missing")]
    MissingAttribute { name: &'static str },
    #[error("attribute {name} is not a valid UID: {source}")]
    InvalidUid {
        name: &'static str,
        #[source]
        source: UidError,
    },
    #[error("SOP class {uid} is not an image storage class radraft accepts")]
    UnsupportedSopClass { uid: String },
    #[error("transfer syntax {uid} cannot be decoded by radraft")]
    UnsupportedTransferSyntax { uid: String },
    #[error("could not archive the object")]
    Archive(#[from] ArchiveError),
    /// Writing or reading the spool file a received data set goes to.
    #[error("could not spool the object")]
    Spool {
        #[source]
        source: std::io::Error,
    },
    #[error("could not index the object")]
    Index(#[from] StoreError),
    #[error("ingest task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// C-STORE response statuses (PS3.4 Annex B.2.3 and PS3.7 Annex C).
pub mod status {
    pub const SUCCESS: u16 = 0x0000;
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    pub const DATASET_DOES_NOT_MATCH_SOP_CLASS: u16 = 0xA900;
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    pub const PROCESSING_FAILURE: u16 = 0x0110;
}

impl IngestError {
    /// Whether the sender's object is at fault (retrying it unchanged will fail again).
    pub fn is_sender_fault(&self) -> bool {
        match self {
            Self::Archive(_) | Self::Spool { .. } | Self::Task(_) => false,
            Self::Index(error) => matches!(error, StoreError::SeriesInOtherStudy { .. }),
            _ => true,
        }
    }

    pub fn dimse_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. }
            | Self::InflatedTooLarge { .. }
            | Self::TooManyElements { .. } => status::OUT_OF_RESOURCES,
            Self::NotDicom { .. } | Self::DeclaredLength { .. } | Self::Malformed { .. } => {
                status::CANNOT_UNDERSTAND
            }
            Self::PixelData(_) => status::DATASET_DOES_NOT_MATCH_SOP_CLASS,
            Self::MissingAttribute { .. } | Self::InvalidUid { .. } => {
                status::DATASET_DOES_NOT_MATCH_SOP_CLASS
            }
            Self::UnsupportedSopClass { .. } => status::SOP_CLASS_NOT_SUPPORTED,
            Self::UnsupportedTransferSyntax { .. } => status::CANNOT_UNDERSTAND,
            Self::Index(StoreError::SeriesInOtherStudy { .. }) => {
                status::DATASET_DOES_NOT_MATCH_SOP_CLASS
            }
            Self::Archive(_) | Self::Spool { .. } | Self::Index(_) => status::OUT_OF_RESOURCES,
            Self::Task(_) => status::PROCESSING_FAILURE,
        }
    }

    /// The DICOMweb failure reason code for a FailedSOPSequence item (PS3.18 Table I.2-3).
    pub fn stow_failure_reason(&self) -> u16 {
        self.dimse_status()
    }

    /// A stable, PHI-free code naming the failure for logs and HTTP clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::NotDicom { .. } => "not_dicom",
            Self::DeclaredLength { .. } => "declared_length",
            Self::InflatedTooLarge { .. } => "inflated_too_large",
            Self::TooManyElements { .. } => "too_many_elements",
            Self::Malformed { .. } => "malformed",
            Self::PixelData(_) => "pixel_data_mismatch",
            Self::MissingAttribute { .. } => "missing_attribute",
            Self::InvalidUid { .. } => "invalid_uid",
            Self::UnsupportedSopClass { .. } => "unsupported_sop_class",
            Self::UnsupportedTransferSyntax { .. } => "unsupported_transfer_syntax",
            Self::Archive(_) | Self::Spool { .. } => "archive_unavailable",
            Self::Index(StoreError::SeriesInOtherStudy { .. }) => "series_in_other_study",
            Self::Index(_) => "database_unavailable",
            Self::Task(_) => "internal",
        }
    }
}

impl From<GuardError> for IngestError {
    fn from(error: GuardError) -> Self {
        match error {
            GuardError::DeclaredLength {
                tag,
                length,
                remaining,
            } => Self::DeclaredLength {
                tag,
                length,
                remaining,
            },
            GuardError::InflatedTooLarge { limit } => Self::InflatedTooLarge { limit },
            GuardError::TooManyElements { limit } => Self::TooManyElements { limit },
            error @ (GuardError::TooDeep { .. }
            | GuardError::Unterminated { .. }
            | GuardError::Structure { .. }) => Self::Malformed {
                problem: error.to_string(),
            },
            GuardError::TransferSyntax { uid } => Self::UnsupportedTransferSyntax { uid },
            // Our own spool file, not the sender's bytes.
            GuardError::Source { source } => Self::Spool { source },
            other => Self::NotDicom {
                reason: other.to_string(),
            },
        }
    }
}
