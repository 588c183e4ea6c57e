//! Messages on the broker. They carry UIDs and counts only, never patient data.

use serde::{Deserialize, Serialize};

use crate::Uid;

/// Published once per settled study version on the work exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyReady {
    pub study_uid: Uid,
    pub study_version: i32,
    pub instance_count: i64,
}

impl StudyReady {
    /// The routing key the gateway publishes with and the worker's queue binds to.
    pub const ROUTING_KEY: &'static str = "study.ready";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_has_exactly_the_documented_fields() {
        let msg = StudyReady {
            study_uid: Uid::parse("1.2.3").unwrap(),
            study_version: 2,
            instance_count: 5,
        };
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"study_uid": "1.2.3", "study_version": 2, "instance_count": 5})
        );
        let back: StudyReady = serde_json::from_value(json).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn refuses_unknown_fields_so_phi_cannot_ride_along() {
        let with_extra =
            r#"{"study_uid":"1.2","study_version":1,"instance_count":1,"patient_name":"X"}"#;
        assert!(serde_json::from_str::<StudyReady>(with_extra).is_err());
    }
}
