//! `radraft-review audit verify`: recomputes the audit trail's hash chains and says whether
//! they hold, or where the first break is.

use std::fmt;

use radraft_store::{ChainReport, Store, StoreError};

/// What the verification found, printable for an operator.
#[derive(Debug)]
pub struct Verdict(pub ChainReport);

impl Verdict {
    pub fn intact(&self) -> bool {
        self.0.first_break.is_none()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.0;
        match &r.first_break {
            None => write!(
                f,
                "audit trail intact: {} events in {} chains verified",
                r.events, r.chains
            ),
            Some(b) => write!(
                f,
                "audit trail BROKEN: first break at event {} ({}): {}",
                b.event_id,
                b.study_uid
                    .as_deref()
                    .map_or("events about no study".to_owned(), |u| format!("study {u}")),
                b.problem
            ),
        }
    }
}

pub async fn verify(store: &Store) -> Result<Verdict, StoreError> {
    store.verify_audit_chain().await.map(Verdict)
}
