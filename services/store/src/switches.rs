//! The governance controls: each model version's mode (active, or shadow: it drafts, but its
//! drafts are never shown) and the drafting kill switch. Every change is an audit event in
//! the same transaction, by the administrator who made it. The draft insert reads the mode
//! (`drafts`); the worker reads the switch before each study.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{Store, StoreError, audit, query_failed};

/// A model version's mode as an administrator last set it. A version never set is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMode {
    pub model_id: String,
    pub model_revision: String,
    pub shadow: bool,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Whether the workers draft, and who said so last, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftingSwitch {
    pub enabled: bool,
    pub reason: Option<String>,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

fn mode_name(shadow: bool) -> &'static str {
    if shadow { "shadow" } else { "active" }
}

impl Store {
    /// Every model version an administrator set a mode for, by model and revision.
    pub async fn model_modes(&self) -> Result<Vec<ModelMode>, StoreError> {
        let rows: Vec<(String, String, bool, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT model_id, model_revision, mode = 'shadow', changed_by, changed_at
             FROM model_modes ORDER BY model_id, model_revision",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("read model modes"))?;
        Ok(rows
            .into_iter()
            .map(|r| ModelMode {
                model_id: r.0,
                model_revision: r.1,
                shadow: r.2,
                changed_by: r.3,
                changed_at: r.4,
            })
            .collect())
    }

    /// Puts a model version in shadow mode or makes it active; drafts already made keep the
    /// mode they were made in. Returns whether the mode changed (no event when it did not).
    pub async fn set_model_mode(
        &self,
        model_id: &str,
        model_revision: &str,
        shadow: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let previous: Option<bool> = sqlx::query_scalar(
            "SELECT mode = 'shadow' FROM model_modes
             WHERE model_id = $1 AND model_revision = $2 FOR UPDATE",
        )
        .bind(model_id)
        .bind(model_revision)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_failed("read model mode"))?;
        // A version never set drafts as active.
        if previous.unwrap_or(false) == shadow {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO model_modes (model_id, model_revision, mode, changed_by)
             VALUES ($1, $2, $3::model_mode, $4)
             ON CONFLICT (model_id, model_revision) DO UPDATE
             SET mode = EXCLUDED.mode, changed_by = EXCLUDED.changed_by, changed_at = now()",
        )
        .bind(model_id)
        .bind(model_revision)
        .bind(mode_name(shadow))
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("set model mode"))?;
        audit::append(
            &mut *tx,
            actor,
            "model.mode_changed",
            None,
            json!({ "model_id": model_id, "model_revision": model_revision,
                    "mode": mode_name(shadow), "previous": mode_name(!shadow) }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(query_failed("commit model mode"))?;
        Ok(true)
    }

    pub async fn drafting_switch(&self) -> Result<DraftingSwitch, StoreError> {
        let row: Option<(bool, Option<String>, String, DateTime<Utc>)> =
            sqlx::query_as("SELECT enabled, reason, changed_by, changed_at FROM drafting_switch")
                .fetch_optional(&self.pool)
                .await
                .map_err(query_failed("read drafting switch"))?;
        Ok(match row {
            Some((enabled, reason, changed_by, changed_at)) => DraftingSwitch {
                enabled,
                reason,
                changed_by,
                changed_at,
            },
            // The migration writes the row; without it nobody has switched drafting off.
            None => DraftingSwitch {
                enabled: true,
                reason: None,
                changed_by: "migration".to_owned(),
                changed_at: DateTime::<Utc>::UNIX_EPOCH,
            },
        })
    }

    /// Whether workers may draft now: read for every delivery, so it is one small query.
    pub async fn drafting_enabled(&self) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT coalesce((SELECT enabled FROM drafting_switch), true)")
            .fetch_one(&self.pool)
            .await
            .map_err(query_failed("read drafting switch"))
    }

    /// Switches drafting off (with a reason) or on again (a reason is optional). Returns
    /// whether it changed.
    pub async fn set_drafting(
        &self,
        enabled: bool,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<bool, StoreError> {
        // The table refuses "off" without a reason; the caller asks for one first.
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let current: Option<bool> =
            sqlx::query_scalar("SELECT enabled FROM drafting_switch FOR UPDATE")
                .fetch_optional(&mut *tx)
                .await
                .map_err(query_failed("read drafting switch"))?;
        if current.unwrap_or(true) == enabled {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO drafting_switch (singleton, enabled, reason, changed_by)
             VALUES (true, $1, $2, $3)
             ON CONFLICT (singleton) DO UPDATE SET enabled = EXCLUDED.enabled,
                 reason = EXCLUDED.reason, changed_by = EXCLUDED.changed_by, changed_at = now()",
        )
        .bind(enabled)
        .bind(reason)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(query_failed("set drafting switch"))?;
        let kind = if enabled {
            "drafting.enabled"
        } else {
            "drafting.disabled"
        };
        audit::append(&mut *tx, actor, kind, None, json!({ "reason": reason })).await?;
        tx.commit()
            .await
            .map_err(query_failed("commit drafting switch"))?;
        Ok(true)
    }
}
