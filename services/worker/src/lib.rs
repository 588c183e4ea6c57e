//! radraft-worker: studies to draft reports. [`inputs`] opens DICOM files and groups them
//! into studies, [`draft_study`] runs imaging then MedGemma (draft and triage) on one study.
//! The binary's `draft` command drives it from the command line, the way an ML engineer
//! tries a new export; [`serve`] is the queue consumer that writes drafts to Postgres.

mod draft;
mod error;
pub mod inputs;
pub mod prompt;
pub mod provenance;
pub mod scope;
pub mod sections;
pub mod serve;
pub mod triage;

pub use draft::{
    DEFAULT_MAX_NEW_TOKENS, DraftOptions, ImageRef, StageTimings, StudyDraft, draft_study,
};
pub use error::DraftError;
