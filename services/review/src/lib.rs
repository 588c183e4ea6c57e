//! radraft-review: where radiologists review the AI's drafts and the hospital proves who
//! decided what. This first part checks the audit trail's hash chains
//! ([`audit::verify`]); the worklist, sign-off and results out build on the same crate.

pub mod audit;
pub mod config;
