//! Review accounts: users (the password hash is made and checked by the review service;
//! this only stores it), sessions looked up by the hash of their token, and failed
//! sign-ins counted for rate limiting. User changes are audit events.

use std::time::Duration;

use serde_json::json;

use crate::{Store, StoreError, audit, query_failed};

/// A user as the review service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// `radiologist`, `viewer` or `admin`.
    pub role: String,
    pub disabled: bool,
}

/// A live session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

type UserRow = (i64, String, String, String, bool);

fn user(row: UserRow) -> User {
    User {
        id: row.0,
        username: row.1,
        display_name: row.2,
        role: row.3,
        disabled: row.4,
    }
}

impl Store {
    /// Adds a user (audited as `user.created` by `actor`). Fails on a taken username.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: &str,
        password_hash: &str,
        actor: &str,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let row: UserRow = sqlx::query_as(
            "INSERT INTO users (username, display_name, role, password_hash)
             VALUES ($1, $2, $3::user_role, $4)
             RETURNING id, username, display_name, role::text, disabled",
        )
        .bind(username)
        .bind(display_name)
        .bind(role)
        .bind(password_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(query_failed("insert user"))?;
        audit::append(
            &mut *tx,
            actor,
            "user.created",
            None,
            json!({ "username": username, "role": role }),
        )
        .await?;
        tx.commit().await.map_err(query_failed("commit user"))?;
        Ok(user(row))
    }

    /// Disables (or re-enables) a user: their sessions stop working at once, and they cannot
    /// sign in. Audited as done by `actor`. False when there is no such user.
    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(query_failed("begin"))?;
        let changed = sqlx::query("UPDATE users SET disabled = $2 WHERE username = $1")
            .bind(username)
            .bind(disabled)
            .execute(&mut *tx)
            .await
            .map_err(query_failed("disable user"))?
            .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        let kind = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        audit::append(&mut *tx, actor, kind, None, json!({ "username": username })).await?;
        tx.commit()
            .await
            .map_err(query_failed("commit user change"))?;
        Ok(true)
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, username, display_name, role::text, disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query_failed("list users"))?;
        Ok(rows.into_iter().map(user).collect())
    }

    /// A user and their password hash, for signing in.
    pub async fn user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(i64, String, String, String, bool, String)> = sqlx::query_as(
            "SELECT id, username, display_name, role::text, disabled, password_hash
             FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("read user"))?;
        Ok(row.map(|r| (user((r.0, r.1, r.2, r.3, r.4)), r.5)))
    }

    /// Failed sign-ins for `username` within `window`.
    pub async fn recent_login_failures(
        &self,
        username: &str,
        window: Duration,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT count(*) FROM login_failures
             WHERE username = $1 AND at > now() - make_interval(secs => $2)",
        )
        .bind(username)
        .bind(window.as_secs_f64())
        .fetch_one(&self.pool)
        .await
        .map_err(query_failed("count login failures"))
    }

    pub async fn record_login_failure(&self, username: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO login_failures (username) VALUES ($1)")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(query_failed("record login failure"))?;
        Ok(())
    }

    /// Opens a session for `user_id`, stored under the hash of its token.
    pub async fn create_session(
        &self,
        token_sha256: &[u8],
        user_id: i64,
        csrf_token: &str,
        lifetime: Duration,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_sha256, user_id, csrf_token, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        )
        .bind(token_sha256)
        .bind(user_id)
        .bind(csrf_token)
        .bind(lifetime.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(query_failed("create session"))?;
        Ok(())
    }

    /// The live session with this token hash: not expired, not revoked, user not disabled.
    pub async fn session(&self, token_sha256: &[u8]) -> Result<Option<Session>, StoreError> {
        let row: Option<(i64, String, String, String, bool, String)> = sqlx::query_as(
            "SELECT u.id, u.username, u.display_name, u.role::text, u.disabled, s.csrf_token
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
               AND NOT u.disabled",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_failed("read session"))?;
        Ok(row.map(|r| Session {
            user: user((r.0, r.1, r.2, r.3, r.4)),
            csrf_token: r.5,
        }))
    }

    pub async fn revoke_session(&self, token_sha256: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.pool)
            .await
            .map_err(query_failed("revoke session"))?;
        Ok(())
    }
}
