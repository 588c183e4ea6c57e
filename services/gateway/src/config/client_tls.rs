//! TLS to the servers the gateway connects to (`tls` holds what it serves), checked at
//! start-up so a wrong file is a configuration error rather than a failed connection later:
//! - Postgres: `sslmode` and `sslrootcert` in `DATABASE_URL` (see `radraft_store`);
//! - the broker: `AMQP_CA_FILE` for an `amqps://` URL (see `radraft_queue`);
//! - Orthanc: `ORTHANC__CA_FILE` for an `https://` URL, then the only CA trusted for it.
//!
//! Without a CA file the system's roots are trusted; certificates are always verified.

use std::path::PathBuf;

use radraft_core::settings::Settings;
use radraft_core::tls::TrustedCa;

use super::ENV_PREFIX;

/// Reads `ORTHANC__CA_FILE` for an Orthanc at `orthanc_url`; problems go to `env`.
pub(super) fn orthanc_ca(env: &mut Settings, orthanc_url: &str) -> Option<TrustedCa> {
    let path = env.optional::<PathBuf>("ORTHANC__CA_FILE")?;
    if !orthanc_url.starts_with("https://") {
        env.problem(format!(
            "{ENV_PREFIX}ORTHANC__CA_FILE is set but ORTHANC__URL is not https://: \
             the connection would not use TLS"
        ));
    }
    match radraft_queue::read_ca_file(&path) {
        Ok(ca) => Some(ca),
        Err(e) => {
            env.problem(format!("{ENV_PREFIX}ORTHANC__CA_FILE: {e}"));
            None
        }
    }
}

/// Checks `DATABASE_URL`'s TLS settings; problems go to `env`, never the URL.
pub(super) fn check_database_url(env: &mut Settings, database_url: &str) {
    if let Err(e) = radraft_store::check_database_tls(database_url) {
        env.problem(format!("{ENV_PREFIX}DATABASE_URL: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use radraft_queue::BrokerTrust;

    use super::super::GatewayConfig;
    use super::super::tests::vars;

    #[test]
    fn tls_urls_are_accepted_and_trust_the_system_roots() {
        let config = GatewayConfig::from_vars(vars(&[
            (
                "DATABASE_URL",
                "postgres://u@db.example/radraft?sslmode=verify-full",
            ),
            ("AMQP_URL", "amqps://u:p@mq.example:5671/%2f"),
            ("ORTHANC__URL", "https://orthanc.example:8042"),
        ]))
        .unwrap();
        assert_eq!(config.amqp_trust, BrokerTrust::SystemRoots);
        assert!(config.orthanc.unwrap().ca.is_none());
    }

    #[test]
    fn missing_or_unparsable_ca_files_are_each_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\naGk=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let junk = junk.to_str().unwrap();
        let database_url =
            format!("postgres://u:s3cret@db/radraft?sslmode=verify-full&sslrootcert={junk}");
        let err = GatewayConfig::from_vars(vars(&[
            ("DATABASE_URL", &database_url),
            ("AMQP_URL", "amqps://u:p@mq.example:5671/%2f"),
            ("AMQP_CA_FILE", "/nonexistent/ca.pem"),
            ("ORTHANC__URL", "http://orthanc.example:8042"),
            ("ORTHANC__CA_FILE", junk),
        ]))
        .unwrap_err();
        let text = err.to_string();
        // The database's file, the broker's missing file, Orthanc's file, and a CA named for
        // plain HTTP.
        assert_eq!(err.problems.len(), 4, "{text}");
        assert!(
            text.contains("AMQP_CA_FILE: cannot read /nonexistent/ca.pem"),
            "{text}"
        );
        assert!(text.contains("DATABASE_URL: sslrootcert"), "{text}");
        assert!(text.contains("ORTHANC__URL is not https://"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
