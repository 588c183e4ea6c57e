//! radraft-worker: studies to draft reports. [`inputs`] opens DICOM files and groups them
//! into studies, [`draft_study`] runs imaging then MedGemma on one study. The binary's
//! `draft` command drives both from the command line, the way an ML engineer tries a new
//! export; the queue consumer builds on the same calls.

mod draft;
mod error;
pub mod inputs;
pub mod prompt;

pub use draft::{DraftOptions, ImageRef, StageTimings, StudyDraft, draft_study};
pub use error::DraftError;
