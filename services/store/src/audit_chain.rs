//! Verifying the audit trail's hash chains (migration `..._audit_chain.sql` links them):
//! every event is recomputed from its content and its link to the previous event of its
//! chain, and each chain's end is compared with its recorded head. The first break, in
//! event order, says where the trail was changed.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::{Store, StoreError, query_failed};

/// Events read per query while verifying.
const PAGE: i64 = 10_000;

/// Where a chain stops holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first event that does not verify (for a missing tail: the chain's last event).
    pub event_id: i64,
    pub study_uid: Option<String>,
    pub problem: String,
}

/// The result of [`Store::verify_audit_chain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: u64,
    pub chains: u64,
    pub first_break: Option<ChainBreak>,
}

type EventRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    Vec<u8>,
    Vec<u8>,
);

/// The text an event's hash covers, as `audit_event_canonical` builds it in SQL.
fn canonical(row: &EventRow) -> String {
    let (id, micros, actor, kind, study_uid, detail, _, _) = row;
    format!(
        "{id}\n{micros}\n{actor}\n{kind}\n{}\n{detail}",
        study_uid.as_deref().unwrap_or("")
    )
}

impl Store {
    /// Recomputes every chain of the audit trail and reports the first break.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        let mut last: HashMap<String, (i64, Vec<u8>)> = HashMap::new();
        let mut events = 0u64;
        let mut breaks: Vec<ChainBreak> = Vec::new();
        let mut after = 0i64;
        loop {
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor, kind, study_uid,
                        detail::text, prev_hash, hash
                 FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await
            .map_err(query_failed("read audit events"))?;
            let Some(end) = rows.last().map(|r| r.0) else {
                break;
            };
            after = end;
            for row in rows {
                events += 1;
                let chain = row.4.clone().unwrap_or_default();
                let expected_prev = last.get(&chain).map(|(_, h)| h.clone()).unwrap_or_default();
                let (id, prev, hash) = (row.0, &row.6, &row.7);
                let broken = |problem: &str| ChainBreak {
                    event_id: id,
                    study_uid: row.4.clone(),
                    problem: problem.to_owned(),
                };
                if *prev != expected_prev {
                    breaks.push(broken(
                        "its link does not match the previous event of its chain \
                         (an event before it was removed, inserted or changed)",
                    ));
                } else {
                    let mut digest = Sha256::new();
                    digest.update(prev);
                    digest.update(canonical(&row).as_bytes());
                    if digest.finalize().as_slice() != hash.as_slice() {
                        breaks.push(broken(
                            "its content does not match its hash (changed after it was written)",
                        ));
                    }
                }
                last.insert(chain, (id, hash.clone()));
            }
        }
        let heads: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT chain, head FROM audit_chain_heads")
                .fetch_all(&self.pool)
                .await
                .map_err(query_failed("read audit chain heads"))?;
        for (chain, head) in heads {
            let (id, hash) = last.get(&chain).cloned().unwrap_or_default();
            if hash != head {
                breaks.push(ChainBreak {
                    event_id: id,
                    study_uid: (!chain.is_empty()).then_some(chain),
                    problem: "the chain ends before its recorded head \
                              (its newest events were removed)"
                        .to_owned(),
                });
            }
        }
        Ok(ChainReport {
            events,
            chains: last.len() as u64,
            first_break: breaks.into_iter().min_by_key(|b| b.event_id),
        })
    }
}
