//! Who is asking: argon2id password hashes, random session and CSRF tokens, the session
//! cookie, and the [`Signed`] extractor every page and API route takes, so no handler can
//! answer without a session. Roles are checked with [`Signed::require`].

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use radraft_store::{Session, User};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "radraft_session";

/// The roles, as stored.
pub const RADIOLOGIST: &str = "radiologist";
pub const VIEWER: &str = "viewer";
pub const ADMIN: &str = "admin";
pub const ROLES: [&str; 3] = [RADIOLOGIST, VIEWER, ADMIN];

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the system's random source failed: {0}")]
    Random(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (false for an unreadable one).
pub fn verify_password(stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to check against when the username is unknown, so a wrong username takes as
/// long as a wrong password and does not reveal which users exist.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0bW6Xx1nU7bq0mYvS8aQx0m0uLq3xgZ4l7C3YzD6u5A"
}

/// A new random token (256 bits, hex) and the SHA-256 under which the database keeps it.
pub fn new_token() -> Result<(String, Vec<u8>), AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    let token = hex::encode(bytes);
    let digest = token_digest(&token);
    Ok((token, digest))
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The session token from the request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Compares without stopping at the first difference, so timing does not leak the token.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in user: the only way into any page or API route.
#[derive(Debug, Clone)]
pub struct Signed {
    pub user: User,
    pub csrf_token: String,
    pub token_digest: Vec<u8>,
}

impl Signed {
    /// Refuses (403) unless the user has one of `roles`.
    pub fn require(&self, roles: &[&str]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role.as_str()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// Refuses (403) a state-changing request whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        match sent {
            Some(token) if same_secret(token, &self.csrf_token) => Ok(()),
            _ => Err(ApiError::Csrf),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let wants_page = !parts.uri.path().starts_with("/api/");
        let missing = if wants_page {
            ApiError::SignIn
        } else {
            ApiError::Unauthenticated
        };
        let Some(token) = session_token(&parts.headers) else {
            return Err(missing);
        };
        let digest = token_digest(&token);
        match state.store.session(&digest).await? {
            Some(Session { user, csrf_token }) => Ok(Signed {
                user,
                csrf_token,
                token_digest: digest,
            }),
            None => Err(missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong horse"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
        assert!(PasswordHash::new(decoy_hash()).is_ok());
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, da) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(da, token_digest(&a));
        assert!(same_secret(&a, &a.clone()) && !same_secret(&a, &b));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "theme=dark; radraft_session=abc123; x=y".parse().unwrap(),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc123"));
    }
}
