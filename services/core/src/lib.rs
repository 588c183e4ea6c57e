//! radraft's domain model: identifiers, the study lifecycle and the messages services
//! exchange. This crate does no IO (see the invariants in ARCHITECTURE.md).

pub mod message;
pub mod review;
pub mod settings;
pub mod sop_class;
pub mod study;
pub mod tls;
pub mod transfer_syntax;
pub mod uid;

pub use message::StudyReady;
pub use study::{StudyState, TransitionError};
pub use uid::{Uid, UidError};
