//! Placeholder: this crate is being built under its own issue.
