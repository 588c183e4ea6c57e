//! radraft-review: where radiologists review the AI's drafts and the hospital proves who
//! decided what. Accounts and sessions ([`auth`], [`session`]), the triaged worklist as a
//! page and as JSON ([`pages`], [`api`]), the study page with the images the model saw and
//! the radiologist's decision ([`study`], [`images`], [`diff`]), user management
//! ([`users`]), the governance view and its controls ([`governance`], [`controls`],
//! [`metrics`]), critical-finding loops ([`critical`]) and the audit trail's verification
//! ([`audit`]). Results out follow.

pub mod amendment;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod controls;
pub mod critical;
pub mod diff;
pub mod error;
pub mod export;
pub mod governance;
pub mod images;
pub mod metrics;
pub mod pages;
pub mod report;
pub mod session;
pub mod study;
pub mod users;

pub use app::{App, AppState, StartError, router};
