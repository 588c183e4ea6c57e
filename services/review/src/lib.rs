//! radraft-review: where radiologists review the AI's drafts and the hospital proves who
//! decided what. Today: accounts and sessions ([`auth`], [`session`]), the triaged worklist
//! as a page and as JSON ([`pages`], [`api`]), user management ([`users`]) and the audit
//! trail's verification ([`audit`]). The study page, sign-off and results out build on it.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod pages;
pub mod session;
pub mod users;

pub use app::{App, AppState, StartError, router};
