//! Results out: a report revision as the two things a hospital receives, a DICOM
//! Comprehensive SR for the PACS and a FHIR R4 DiagnosticReport, plus a C-STORE sender for
//! the SR.
//!
//! The builders are pure (no database, no network): the caller loads a [`report::Revision`]
//! and the study's objects and decides where the results go. Every revision states that an
//! AI model drafted it; only a signed revision claims a radiologist verified it.

pub mod fhir;
pub mod report;
pub mod send;
pub mod sr;
#[cfg(test)]
mod testing;

pub use report::{Algorithm, ReportStatus, Revision, Signer};
