//! The study lifecycle: receiving → stable → queued → processing → drafted | failed |
//! out of scope.
//!
//! A late instance reopens a study from any state; it settles again as a new version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyState {
    /// Instances are arriving; the quiet period has not elapsed.
    Receiving,
    /// The quiet period elapsed; a version was cut and awaits publication.
    Stable,
    /// `study.ready` for the current version was confirmed by the broker.
    Queued,
    /// A worker holds the current version.
    Processing,
    /// A draft report exists for the current version.
    Drafted,
    /// The current version cannot be processed; the reason is recorded beside it.
    Failed,
    /// The deployment does not draft this kind of study (modality or body part); neither
    /// drafted nor failed.
    OutOfScope,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a study cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: StudyState,
    pub to: StudyState,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a study state")]
pub struct UnknownState(pub String);

impl StudyState {
    pub const ALL: [StudyState; 7] = [
        Self::Receiving,
        Self::Stable,
        Self::Queued,
        Self::Processing,
        Self::Drafted,
        Self::Failed,
        Self::OutOfScope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receiving => "receiving",
            Self::Stable => "stable",
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Drafted => "drafted",
            Self::Failed => "failed",
            Self::OutOfScope => "out_of_scope",
        }
    }

    /// Whether the lifecycle allows `self → to`. Reopening (→ receiving) is allowed from
    /// every state because a PACS may always send one more instance.
    pub fn can_become(self, to: StudyState) -> bool {
        use StudyState::*;
        matches!(
            (self, to),
            (_, Receiving)
                | (Receiving, Stable)
                | (Stable, Queued)
                | (Queued, Processing)
                | (Processing, Drafted)
                | (Processing, Failed)
                // A redelivered message may find the study already taken or failed
                // before it was ever processed (for example, no usable image).
                | (Queued, Failed)
                | (Processing, Queued)
                | (Processing, OutOfScope)
                // The worker may take a version before the announcer has recorded the
                // broker's confirmation of its study.ready.
                | (Stable, Processing)
                | (Queued, OutOfScope)
        )
    }

    pub fn transition(self, to: StudyState) -> Result<StudyState, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for StudyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StudyState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::StudyState::*;
    use super::*;

    #[test]
    fn the_happy_path_is_allowed() {
        let path = [Receiving, Stable, Queued, Processing, Drafted];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition(pair[1]), Ok(pair[1]));
        }
    }

    #[test]
    fn skipping_steps_is_refused() {
        assert!(Receiving.transition(Queued).is_err());
        assert!(Stable.transition(Drafted).is_err());
        assert!(Drafted.transition(Failed).is_err());
        assert!(Failed.transition(Drafted).is_err());
    }

    #[test]
    fn every_state_can_reopen() {
        for state in StudyState::ALL {
            assert!(state.can_become(Receiving), "{state} must reopen");
        }
    }

    #[test]
    fn names_round_trip() {
        for state in StudyState::ALL {
            assert_eq!(state.as_str().parse::<StudyState>(), Ok(state));
        }
        assert!("done".parse::<StudyState>().is_err());
    }
}
