//! A decision in plain words: for every requirement that blocks, a stable
//! reason code, a sentence saying why, and what to do about it (wait for a
//! check that is queued or running, re-run it, waive it, fix the package's
//! `gating.yaml`, or ask again later).

use crate::decision::{Decision, Kind, Requirement};

/// What can be done about a blocking requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `wait`: a check is queued or running; its result will come.
    Wait,
    /// `run-or-waive`: no result and no check under way.
    RunOrWaive,
    /// `rerun-or-waive`: the check failed or errored.
    RerunOrWaive,
    /// `fix-gating-yaml`: the package's `gating.yaml` is missing or invalid.
    FixGatingYaml,
    /// `retry-later`: a service could not be asked; nothing is wrong yet.
    RetryLater,
}

impl Action {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Wait => "wait",
            Action::RunOrWaive => "run-or-waive",
            Action::RerunOrWaive => "rerun-or-waive",
            Action::FixGatingYaml => "fix-gating-yaml",
            Action::RetryLater => "retry-later",
        }
    }
}

/// A check of the job queue that will produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCheck {
    /// `queued` or `running`.
    pub state: String,
}

/// Why one requirement blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// A stable reason code: `result-missing`, `check-queued`,
    /// `check-running`, `result-incomplete`, `result-failed`,
    /// `result-errored`, `gating-yaml-missing`, `gating-yaml-invalid`,
    /// `gating-yaml-unreachable`, `koji-build-unavailable`.
    pub code: &'static str,
    /// The test case (empty for a `gating.yaml` problem).
    pub testcase: String,
    /// The subject type.
    pub subject_type: String,
    /// The subject identifier.
    pub subject_identifier: String,
    /// What to do.
    pub action: Action,
    /// The whole reason, for a person.
    pub message: String,
}

/// Explain every unsatisfied requirement of `decision`. `active(it)` says
/// whether a queued or running check will produce the missing result.
pub fn explain(
    decision: &Decision,
    active: &dyn Fn(&Requirement) -> Option<ActiveCheck>,
) -> Vec<Explanation> {
    decision
        .requirements
        .iter()
        .filter(|it| !it.is_satisfied())
        .map(|it| one(it, active(it)))
        .collect()
}

fn one(it: &Requirement, check: Option<ActiveCheck>) -> Explanation {
    let subject = format!("{} {}", it.subject_type, it.subject_identifier);
    let testcase = &it.testcase;
    let scenario = it
        .scenario
        .as_deref()
        .map(|it| format!(" (scenario {it})"))
        .unwrap_or_default();
    let reason = it.error_reason.as_deref().unwrap_or("no reason given");
    let (code, action, message) = match (it.kind, &check) {
        (Kind::Missing, Some(check)) if check.state == "running" => (
            "check-running",
            Action::Wait,
            format!(
                "{testcase}{scenario} has no result for {subject} yet, but the check is running: wait for it"
            ),
        ),
        (Kind::Missing, Some(_)) => (
            "check-queued",
            Action::Wait,
            format!(
                "{testcase}{scenario} has no result for {subject} yet, but the check is queued: wait for it"
            ),
        ),
        (Kind::Missing, None) => (
            "result-missing",
            Action::RunOrWaive,
            format!(
                "{testcase}{scenario} has no result for {subject} and no check is queued: run it, or waive it"
            ),
        ),
        (Kind::Incomplete, _) => (
            "result-incomplete",
            Action::Wait,
            format!(
                "{testcase}{scenario} for {subject} is still queued or running (result {}): wait for it",
                it.result_id.unwrap_or_default()
            ),
        ),
        (Kind::Failed, _) => (
            "result-failed",
            Action::RerunOrWaive,
            format!(
                "{testcase}{scenario} failed for {subject} (result {}): fix and re-run it, or waive it",
                it.result_id.unwrap_or_default()
            ),
        ),
        (Kind::Errored, _) => (
            "result-errored",
            Action::RerunOrWaive,
            format!(
                "{testcase}{scenario} errored for {subject} (result {}: {reason}): re-run it, or waive it",
                it.result_id.unwrap_or_default()
            ),
        ),
        (Kind::MissingGatingYaml, _) => (
            "gating-yaml-missing",
            Action::FixGatingYaml,
            format!("{subject} has no gating.yaml in dist-git, and a policy requires one: add it"),
        ),
        (Kind::InvalidGatingYaml, _) => (
            "gating-yaml-invalid",
            Action::FixGatingYaml,
            format!("the gating.yaml of {subject} is invalid ({reason}): fix it"),
        ),
        (Kind::FailedFetchGatingYaml, _) => (
            "gating-yaml-unreachable",
            Action::RetryLater,
            format!(
                "the gating.yaml of {subject} could not be fetched ({reason}): ask again later"
            ),
        ),
        (Kind::BuildInfoUnavailable, _) => (
            "koji-build-unavailable",
            Action::RetryLater,
            format!(
                "{testcase} applies only to builds made in a time window, and Koji could not say when {subject} was made ({reason}): ask again later"
            ),
        ),
        (Kind::Passed | Kind::Excluded | Kind::FetchedGatingYaml, _) => (
            "satisfied",
            Action::Wait,
            format!("{testcase} is satisfied for {subject}"),
        ),
    };
    Explanation {
        code,
        testcase: it.testcase.clone(),
        subject_type: it.subject_type.clone(),
        subject_identifier: it.subject_identifier.clone(),
        action,
        message,
    }
}
