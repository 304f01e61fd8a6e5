//! The outcome ladder of ResultYAML.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A check's verdict, ordered from best to worst:
/// `PASSED < INFO < FAILED < NEEDS_INSPECTION < ABORTED < CRASHED`.
///
/// The derived `Ord` follows the ladder, so `max` of several outcomes is the
/// worst one ("worst wins", as libtaskotron's `CheckDetail.update_outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The check found nothing wrong.
    Passed,
    /// Nothing wrong, but there is something a person may want to read.
    Info,
    /// The check found a problem.
    Failed,
    /// The check could not decide; a person has to look.
    NeedsInspection,
    /// The check gave up because of an outside problem; a re-run may help.
    Aborted,
    /// The task broke and produced no usable verdict.
    Crashed,
}

impl Outcome {
    /// Every outcome, best first.
    pub const ALL: [Outcome; 6] = [
        Outcome::Passed,
        Outcome::Info,
        Outcome::Failed,
        Outcome::NeedsInspection,
        Outcome::Aborted,
        Outcome::Crashed,
    ];

    /// The outcome as ResultYAML and ResultsDB spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Info => "INFO",
            Outcome::Failed => "FAILED",
            Outcome::NeedsInspection => "NEEDS_INSPECTION",
            Outcome::Aborted => "ABORTED",
            Outcome::Crashed => "CRASHED",
        }
    }

    /// Whether this outcome counts as a pass for the `exitcode` directive
    /// (PASSED and INFO do).
    pub fn is_passing(self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Info)
    }

    /// The worst of several outcomes, `None` for none.
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Option<Outcome> {
        outcomes.into_iter().max()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the six outcomes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown outcome `{0}`, expected one of PASSED, INFO, FAILED, NEEDS_INSPECTION, ABORTED, CRASHED"
)]
pub struct UnknownOutcome(pub String);

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|it| it.as_str() == s)
            .ok_or_else(|| UnknownOutcome(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_order_is_the_documented_one() {
        let mut shuffled = vec![
            Outcome::Crashed,
            Outcome::Info,
            Outcome::Aborted,
            Outcome::Passed,
            Outcome::NeedsInspection,
            Outcome::Failed,
        ];
        shuffled.sort();
        assert_eq!(shuffled, Outcome::ALL.to_vec());
    }

    #[test]
    fn worst_wins() {
        assert_eq!(
            Outcome::worst([Outcome::Info, Outcome::Failed, Outcome::Passed]),
            Some(Outcome::Failed)
        );
        assert_eq!(Outcome::worst([]), None);
    }

    #[test]
    fn round_trips_through_strings_and_serde() {
        for it in Outcome::ALL {
            assert_eq!(it.as_str().parse::<Outcome>(), Ok(it));
            let json = serde_json::to_string(&it).unwrap();
            assert_eq!(json, format!("\"{}\"", it.as_str()));
        }
        let err = "passed".parse::<Outcome>().unwrap_err();
        assert!(err.to_string().contains("`passed`"), "{err}");
    }

    #[test]
    fn passing_outcomes() {
        let passing: Vec<_> = Outcome::ALL
            .into_iter()
            .filter(|it| it.is_passing())
            .collect();
        assert_eq!(passing, [Outcome::Passed, Outcome::Info]);
    }
}
