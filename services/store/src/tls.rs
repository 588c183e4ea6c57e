//! Checking a database URL's TLS settings before connecting. sqlx (rustls) reads them from
//! the URL itself: `sslmode` (`verify-full` verifies the server's certificate and that it
//! names the host; `verify-ca` only the certificate; `require` encrypts without verifying)
//! and `sslrootcert`, a CA file trusted in addition to the system's roots. A file that is
//! missing or holds no usable certificate would only fail at the first connection, as a
//! transient error retried forever; services check it here at start-up instead.

use std::str::FromStr;

use radraft_core::tls::{CaError, TrustedCa};
use sqlx::postgres::PgConnectOptions;

/// The query keys sqlx accepts for the root certificate.
const ROOT_CERT_KEYS: [&str; 3] = ["sslrootcert", "ssl-root-cert", "ssl-ca"];

/// What is wrong with a database URL's TLS settings. Never holds the URL, which may carry a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseTlsError {
    #[error("does not parse: {0}")]
    Parse(String),
    #[error("sslrootcert {path} cannot be read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sslrootcert {path} {source}")]
    Invalid {
        path: String,
        #[source]
        source: CaError,
    },
}

/// Checks that `database_url` parses for sqlx (a known `sslmode` among others) and that its
/// `sslrootcert`, if any, is a readable file of usable CA certificates (or inline PEM, as
/// sqlx also accepts).
pub fn check_database_tls(database_url: &str) -> Result<(), DatabaseTlsError> {
    PgConnectOptions::from_str(database_url).map_err(|e| DatabaseTlsError::Parse(e.to_string()))?;
    let url = url::Url::parse(database_url).map_err(|e| DatabaseTlsError::Parse(e.to_string()))?;
    let roots = url
        .query_pairs()
        .filter(|(key, _)| ROOT_CERT_KEYS.contains(&key.as_ref()));
    for (_, value) in roots {
        // sqlx's own test for inline PEM rather than a path.
        let trimmed = value.trim();
        let (pem, path) = if trimmed.starts_with("-----BEGIN") && trimmed.ends_with("-----") {
            (trimmed.as_bytes().to_vec(), "(inline PEM)".to_owned())
        } else {
            let path = value.to_string();
            let pem = std::fs::read(&path).map_err(|source| DatabaseTlsError::Read {
                path: path.clone(),
                source,
            })?;
            (pem, path)
        };
        TrustedCa::from_pem(&pem).map_err(|source| DatabaseTlsError::Invalid { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_tls_settings_pass_and_bad_ones_are_named() {
        check_database_tls("postgres://u:pw@127.0.0.1:5432/db").unwrap();
        check_database_tls("postgres://u@h/db?sslmode=require").unwrap();
        let mode =
            check_database_tls("postgres://u:s3cret@h/db?sslmode=verify-everything").unwrap_err();
        assert!(matches!(mode, DatabaseTlsError::Parse(_)), "{mode}");
        assert!(!mode.to_string().contains("s3cret"), "{mode}");
        let missing =
            check_database_tls("postgres://u@h/db?sslmode=verify-full&sslrootcert=/no/such.pem")
                .unwrap_err();
        assert!(missing.to_string().contains("/no/such.pem"), "{missing}");
        let dir = std::env::temp_dir().join(format!("radraft-store-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let url = format!(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert={}",
            junk.display()
        );
        let invalid = check_database_tls(&url).unwrap_err();
        assert!(
            matches!(invalid, DatabaseTlsError::Invalid { .. }),
            "{invalid}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
