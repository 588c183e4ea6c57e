//! The DICOM listener's limits (`DIMSE_*`): associations open at once and how long a peer
//! may keep the gateway waiting. Defaults follow dcmtk and Orthanc (30 s ACSE timeout,
//! 30 s idle associations closed).

use std::time::Duration;

use radraft_core::settings::Settings;

use super::ENV_PREFIX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimseLimits {
    /// Associations open at once. The next peer is rejected with A-ASSOCIATE-RJ
    /// (rejected-transient, service-provider presentation, local-limit-exceeded).
    pub max_associations: usize,
    /// From accepting the TCP connection to answering its A-ASSOCIATE-RQ (the ARTIM
    /// timer of PS3.8 9.1.5): a connection that says nothing is closed after this.
    pub negotiation_timeout: Duration,
    /// The longest wait for the next whole PDU on an open association; past it the
    /// association is aborted (A-ABORT). Time the gateway spends storing an instance does
    /// not count: the peer is waiting for its answer then.
    pub idle_timeout: Duration,
    /// The longest writing one PDU may take (a peer that stops reading).
    pub write_timeout: Duration,
}

impl Default for DimseLimits {
    fn default() -> Self {
        Self {
            max_associations: 64,
            negotiation_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
        }
    }
}

impl DimseLimits {
    /// Reads and checks the `DIMSE_*` settings; problems go to `env`.
    pub(super) fn read(env: &mut Settings) -> Self {
        let default = Self::default();
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let limits = Self {
            max_associations: env.get("DIMSE_MAX_ASSOCIATIONS", default.max_associations),
            negotiation_timeout: Duration::from_millis(env.get(
                "DIMSE_NEGOTIATION_TIMEOUT_MS",
                millis(default.negotiation_timeout),
            )),
            idle_timeout: Duration::from_millis(
                env.get("DIMSE_IDLE_TIMEOUT_MS", millis(default.idle_timeout)),
            ),
            write_timeout: Duration::from_millis(
                env.get("DIMSE_WRITE_TIMEOUT_MS", millis(default.write_timeout)),
            ),
        };
        if limits.max_associations == 0 {
            env.problem(format!(
                "{ENV_PREFIX}DIMSE_MAX_ASSOCIATIONS must be above 0"
            ));
        }
        for (name, value) in [
            ("DIMSE_NEGOTIATION_TIMEOUT_MS", limits.negotiation_timeout),
            ("DIMSE_IDLE_TIMEOUT_MS", limits.idle_timeout),
            ("DIMSE_WRITE_TIMEOUT_MS", limits.write_timeout),
        ] {
            if value.is_zero() {
                env.problem(format!("{ENV_PREFIX}{name} must be above 0"));
            }
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::GatewayConfig;
    use super::super::tests::vars;
    use super::*;

    #[test]
    fn dimse_limits_default_and_parse() {
        let config = GatewayConfig::from_vars(HashMap::new()).unwrap();
        assert_eq!(config.dimse, DimseLimits::default());
        let config = GatewayConfig::from_vars(vars(&[
            ("DIMSE_MAX_ASSOCIATIONS", "200"),
            ("DIMSE_IDLE_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(config.dimse.max_associations, 200);
        assert_eq!(config.dimse.idle_timeout, Duration::from_millis(1500));
        assert_eq!(config.dimse.negotiation_timeout, Duration::from_secs(30));
    }

    #[test]
    fn zero_dimse_limits_are_refused() {
        let err = GatewayConfig::from_vars(vars(&[
            ("DIMSE_MAX_ASSOCIATIONS", "0"),
            ("DIMSE_NEGOTIATION_TIMEOUT_MS", "0"),
            ("DIMSE_WRITE_TIMEOUT_MS", "0"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
    }
}
