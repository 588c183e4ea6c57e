//! `radraft-review user add|list`: local accounts, made by an administrator at the console.

use radraft_store::{Store, User};

use crate::auth::{self, ROLES};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("username {0:?}: use 1 to 64 lower-case letters, digits, '.', '_' or '-'")]
    Username(String),
    #[error("role {0:?}: one of radiologist, viewer, admin")]
    Role(String),
    #[error("the password must be at least 12 characters")]
    WeakPassword,
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Store(#[from] radraft_store::StoreError),
}

/// Checks and adds a user, audited as done by `actor`.
pub async fn add(
    store: &Store,
    username: &str,
    display_name: &str,
    role: &str,
    password: &str,
    actor: &str,
) -> Result<User, UserError> {
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if !valid {
        return Err(UserError::Username(username.to_owned()));
    }
    if !ROLES.contains(&role) {
        return Err(UserError::Role(role.to_owned()));
    }
    if password.chars().count() < 12 {
        return Err(UserError::WeakPassword);
    }
    let hash = auth::hash_password(password)?;
    Ok(store
        .create_user(username, display_name, role, &hash, actor)
        .await?)
}
