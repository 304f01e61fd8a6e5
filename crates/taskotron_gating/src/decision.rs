//! Greenwave's decision, as a pure function of the policies, the latest
//! results and the waivers that the server looked up for the subjects.
//!
//! [`decide`] evaluates every applicable policy's `PassingTestCaseRule`s for
//! every subject and returns the requirements Greenwave's
//! `POST /api/v1.0/decision` lists: `test-result-passed`, `-failed`,
//! `-errored`, `-missing` (also for a QUEUED or RUNNING result, then with
//! its id), `excluded`, and the `-waived` forms. Remote rules are answered by
//! the caller (it fetched `gating.yaml`) and passed in as [`Requirement`]s.

use chrono::NaiveDateTime;

use crate::policy::{Applies, Policy, Rule};

/// One subject of a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// `koji_build`, `bodhi_update`, …
    pub subject_type: String,
    /// Its identifier: an NVR, an update alias, a compose id.
    pub identifier: String,
    /// The package name, for subjects that are NVRs.
    pub package: Option<String>,
    /// Whether it is a Koji build (`valid_since` / `valid_until` and remote
    /// rules apply to Koji builds only).
    pub koji_build: bool,
    /// When the build was made, for `valid_since` / `valid_until`.
    pub created: Option<NaiveDateTime>,
    /// Why the build's creation time could not be looked up, when it could
    /// not: a rule with a validity window then blocks the decision.
    pub build_info_error: Option<String>,
    /// The policies of its `gating.yaml` that apply (read for a remote rule).
    pub remote_policies: Vec<Policy>,
}

impl Subject {
    /// A subject that is not a Koji build, with nothing looked up.
    pub fn new(subject_type: &str, identifier: &str) -> Subject {
        Subject {
            subject_type: subject_type.to_owned(),
            identifier: identifier.to_owned(),
            package: None,
            koji_build: false,
            created: None,
            build_info_error: None,
            remote_policies: Vec::new(),
        }
    }

    /// A Koji build of `package`.
    pub fn build(subject_type: &str, nvr: &str, package: &str) -> Subject {
        Subject {
            package: Some(package.to_owned()),
            koji_build: true,
            ..Subject::new(subject_type, nvr)
        }
    }
}

/// A latest result of a test case for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestResult {
    /// ResultsDB's id.
    pub id: i64,
    /// The outcome.
    pub outcome: String,
    /// Its `scenario`, `system_architecture` and `system_variant` data, if any.
    pub scenario: Option<String>,
    /// `system_architecture`.
    pub system_architecture: Option<String>,
    /// `system_variant`.
    pub system_variant: Option<String>,
    /// `error_reason`, for errored results.
    pub error_reason: Option<String>,
}

/// A waiver in force (`waived: true`, newest for its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// WaiverDB's id.
    pub id: i64,
    /// The subject type it waives for.
    pub subject_type: String,
    /// The subject identifier.
    pub subject_identifier: String,
    /// The test case.
    pub testcase: String,
    /// Only this scenario, when set.
    pub scenario: Option<String>,
    /// The waiver covers every build of the package named by
    /// `subject_identifier`, not one build.
    pub covers_package: bool,
}

/// Outcome classes, as Greenwave's configuration names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    /// `OUTCOMES_PASSED`.
    pub passed: Vec<String>,
    /// `OUTCOMES_ERROR`.
    pub error: Vec<String>,
    /// `OUTCOMES_INCOMPLETE`.
    pub incomplete: Vec<String>,
}

impl Default for Outcomes {
    fn default() -> Outcomes {
        let list = |items: &[&str]| items.iter().map(|it| (*it).to_owned()).collect();
        Outcomes {
            passed: list(&["PASSED", "INFO"]),
            error: list(&["ERROR"]),
            incomplete: list(&["QUEUED", "RUNNING"]),
        }
    }
}

/// What a requirement is, in Greenwave's spelling (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `test-result-passed`.
    Passed,
    /// `test-result-failed`.
    Failed,
    /// `test-result-errored`.
    Errored,
    /// `test-result-missing` with no result.
    Missing,
    /// `test-result-missing` with a QUEUED or RUNNING result.
    Incomplete,
    /// `excluded`.
    Excluded,
    /// `fetched-gating-yaml`.
    FetchedGatingYaml,
    /// `missing-gating-yaml`.
    MissingGatingYaml,
    /// `invalid-gating-yaml`.
    InvalidGatingYaml,
    /// `failed-fetch-gating-yaml`.
    FailedFetchGatingYaml,
    /// `koji-build-unavailable` (Taskotron's): a rule has a validity window
    /// but Koji could not say when the build was made.
    BuildInfoUnavailable,
}

impl Kind {
    /// Greenwave's `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Passed => "test-result-passed",
            Kind::Failed => "test-result-failed",
            Kind::Errored => "test-result-errored",
            Kind::Missing | Kind::Incomplete => "test-result-missing",
            Kind::Excluded => "excluded",
            Kind::FetchedGatingYaml => "fetched-gating-yaml",
            Kind::MissingGatingYaml => "missing-gating-yaml",
            Kind::InvalidGatingYaml => "invalid-gating-yaml",
            Kind::FailedFetchGatingYaml => "failed-fetch-gating-yaml",
            Kind::BuildInfoUnavailable => "koji-build-unavailable",
        }
    }

    /// Whether it satisfies the policy by itself.
    pub fn satisfied(self) -> bool {
        matches!(
            self,
            Kind::Passed | Kind::Excluded | Kind::FetchedGatingYaml
        )
    }
}

/// One requirement of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// What it is.
    pub kind: Kind,
    /// The waiver that covers it, when it is waived.
    pub waiver_id: Option<i64>,
    /// The test case (empty for policy-level answers).
    pub testcase: String,
    /// The subject type.
    pub subject_type: String,
    /// The subject identifier.
    pub subject_identifier: String,
    /// The result it is about.
    pub result_id: Option<i64>,
    /// The rule's or the result's scenario.
    pub scenario: Option<String>,
    /// The result's `system_architecture`.
    pub system_architecture: Option<String>,
    /// The result's `system_variant`.
    pub system_variant: Option<String>,
    /// `error_reason` of an errored result.
    pub error_reason: Option<String>,
    /// The policy that asked for it.
    pub policy: String,
    /// Where a `gating.yaml` answer comes from (its URL).
    pub source: Option<String>,
}

impl Requirement {
    /// A requirement of `kind` about a subject (and a test case, or `""`),
    /// asked by the policy labelled `policy`.
    pub fn new(kind: Kind, subject: &Subject, testcase: &str, policy: String) -> Requirement {
        Requirement {
            kind,
            waiver_id: None,
            testcase: testcase.to_owned(),
            subject_type: subject.subject_type.clone(),
            subject_identifier: subject.identifier.clone(),
            result_id: None,
            scenario: None,
            system_architecture: None,
            system_variant: None,
            error_reason: None,
            policy,
            source: None,
        }
    }

    /// Whether it is satisfied: on its own, or by a waiver.
    pub fn is_satisfied(&self) -> bool {
        self.kind.satisfied() || self.waiver_id.is_some()
    }

    /// Greenwave's `type`, with `-waived` for a waived requirement.
    pub fn type_name(&self) -> String {
        match self.waiver_id {
            Some(_) => format!("{}-waived", self.kind.as_str()),
            None => self.kind.as_str().to_owned(),
        }
    }
}

/// A decision: the requirements and whether all are satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Ids (or labels) of the policies that applied.
    pub applicable_policies: Vec<String>,
    /// Every requirement, satisfied or not, in policy and rule order.
    pub requirements: Vec<Requirement>,
}

impl Decision {
    /// Greenwave's `policies_satisfied`.
    pub fn satisfied(&self) -> bool {
        self.requirements.iter().all(Requirement::is_satisfied)
    }

    /// Greenwave's `summary` text.
    pub fn summary(&self) -> String {
        let total = self.requirements.len();
        if total == 0 {
            return "No tests are required".to_owned();
        }
        let count = |kind: Kind| {
            self.requirements
                .iter()
                .filter(|it| it.kind == kind && !it.is_satisfied())
                .count()
        };
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let mut parts = Vec::new();
        for (kind, text) in [
            (Kind::Missing, ("result missing", "results missing")),
            (Kind::Failed, ("test failed", "tests failed")),
            (Kind::Incomplete, ("test incomplete", "tests incomplete")),
            (Kind::Errored, ("test errored", "tests errored")),
        ] {
            let n = count(kind);
            if n > 0 {
                parts.push(plural(n, text.0, text.1));
            }
        }
        let yaml_errors = count(Kind::MissingGatingYaml)
            + count(Kind::InvalidGatingYaml)
            + count(Kind::FailedFetchGatingYaml);
        let unknown_builds = count(Kind::BuildInfoUnavailable);
        if parts.is_empty() && yaml_errors == 0 && unknown_builds == 0 {
            return format!("All required tests ({total} total) have passed or been waived");
        }
        let mut text = String::new();
        if unknown_builds > 0 {
            text.push_str(&plural(
                unknown_builds,
                "rule could not be checked without Koji",
                "rules could not be checked without Koji",
            ));
            if yaml_errors > 0 || !parts.is_empty() {
                text.push_str(". ");
            }
        }
        if yaml_errors > 0 {
            text.push_str(&plural(
                yaml_errors,
                "error in the gating.yaml",
                "errors in the gating.yaml",
            ));
            if !parts.is_empty() {
                text.push_str(". ");
            }
        }
        if !parts.is_empty() {
            text.push_str(&format!(
                "Of {}, {}",
                plural(total, "required test", "required tests"),
                parts.join(", ")
            ));
        }
        text
    }
}

/// What a decision is asked about.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The product version, e.g. `fedora-44`.
    pub product_version: &'a str,
    /// The decision contexts.
    pub decision_contexts: &'a [String],
    /// The subjects.
    pub subjects: &'a [Subject],
}

impl Request<'_> {
    /// Whether `policy` applies to `subject` in any of the request's
    /// decision contexts (applying wins over excluding).
    pub fn applies(&self, policy: &Policy, subject: &Subject) -> Applies {
        self.decision_contexts
            .iter()
            .map(|context| {
                policy.applies(
                    context,
                    self.product_version,
                    &subject.subject_type,
                    subject.package.as_deref(),
                )
            })
            .fold(Applies::No, |acc, it| match (acc, it) {
                (Applies::Yes, _) | (_, Applies::Yes) => Applies::Yes,
                (Applies::Excluded, _) | (_, Applies::Excluded) => Applies::Excluded,
                _ => Applies::No,
            })
    }
}

/// Decide. `results(subject, testcase)` gives the latest results (one per
/// scenario, architecture and variant); `waivers` are those in force for
/// the subjects; `remote` holds the answers of remote rules the caller
/// evaluated. Policies that do not apply are skipped.
pub fn decide(
    request: &Request<'_>,
    policies: &[Policy],
    results: &dyn Fn(&Subject, &str) -> Vec<LatestResult>,
    waivers: &[Waiver],
    outcomes: &Outcomes,
    remote: Vec<Requirement>,
) -> Decision {
    let mut applicable = Vec::new();
    let mut requirements = Vec::new();
    let mut remote_policies: Vec<(&Subject, &Policy)> = Vec::new();
    for subject in request.subjects {
        remote_policies.extend(subject.remote_policies.iter().map(|it| (subject, it)));
    }
    let server = policies.iter().map(|policy| (policy, None));
    let remote_ones = remote_policies
        .iter()
        .map(|(subject, policy)| (*policy, Some(subject.identifier.as_str())));
    for (policy, only) in server.chain(remote_ones) {
        let mut applied = false;
        for subject in request.subjects {
            if only.is_some_and(|it| it != subject.identifier) {
                continue;
            }
            match request.applies(policy, subject) {
                Applies::No => continue,
                Applies::Excluded => {
                    applied = true;
                    requirements.push(requirement(Kind::Excluded, subject, "", policy));
                    continue;
                }
                Applies::Yes => applied = true,
            }
            for rule in &policy.rules {
                let Rule::PassingTestCase {
                    test_case_name,
                    scenario,
                    valid_since,
                    valid_until,
                    ..
                } = rule
                else {
                    continue;
                };
                let windowed = valid_since.is_some() || valid_until.is_some();
                if windowed && subject.koji_build {
                    match subject.created {
                        Some(created)
                            if valid_since.is_some_and(|since| created < since)
                                || valid_until.is_some_and(|until| created >= until) =>
                        {
                            continue;
                        }
                        Some(_) => {}
                        None => {
                            let mut unknown = requirement(
                                Kind::BuildInfoUnavailable,
                                subject,
                                test_case_name,
                                policy,
                            );
                            unknown.error_reason = Some(
                                subject
                                    .build_info_error
                                    .clone()
                                    .unwrap_or_else(|| "Koji was not asked".to_owned()),
                            );
                            requirements.push(unknown);
                            continue;
                        }
                    }
                }
                let found: Vec<LatestResult> = results(subject, test_case_name)
                    .into_iter()
                    .filter(|it| scenario.is_none() || it.scenario == *scenario)
                    .collect();
                if found.is_empty() {
                    let mut missing = requirement(Kind::Missing, subject, test_case_name, policy);
                    missing.scenario.clone_from(scenario);
                    requirements.push(missing);
                    continue;
                }
                for result in found {
                    let kind = if outcomes.incomplete.contains(&result.outcome) {
                        Kind::Incomplete
                    } else if outcomes.passed.contains(&result.outcome) {
                        Kind::Passed
                    } else if outcomes.error.contains(&result.outcome) {
                        Kind::Errored
                    } else {
                        Kind::Failed
                    };
                    let mut answer = requirement(kind, subject, test_case_name, policy);
                    answer.result_id = Some(result.id);
                    answer.scenario = result.scenario;
                    answer.system_architecture = result.system_architecture;
                    answer.system_variant = result.system_variant;
                    if kind == Kind::Errored {
                        answer.error_reason = result.error_reason;
                    }
                    requirements.push(answer);
                }
            }
        }
        if applied && !applicable.contains(&policy.label()) {
            applicable.push(policy.label());
        }
    }
    requirements.extend(remote);
    // The same requirement asked by two policies counts once.
    let mut unique: Vec<Requirement> = Vec::with_capacity(requirements.len());
    for it in requirements {
        let same = |other: &Requirement| {
            other.kind == it.kind
                && other.testcase == it.testcase
                && other.subject_type == it.subject_type
                && other.subject_identifier == it.subject_identifier
                && other.result_id == it.result_id
                && other.scenario == it.scenario
                && other.system_architecture == it.system_architecture
                && other.system_variant == it.system_variant
        };
        if !unique.iter().any(same) {
            unique.push(it);
        }
    }
    for it in unique.iter_mut().filter(|it| !it.kind.satisfied()) {
        if matches!(
            it.kind,
            Kind::Failed | Kind::Errored | Kind::Missing | Kind::Incomplete
        ) {
            it.waiver_id = waivers
                .iter()
                .filter(|waiver| {
                    let package = || {
                        request
                            .subjects
                            .iter()
                            .find(|subject| {
                                subject.subject_type == it.subject_type
                                    && subject.identifier == it.subject_identifier
                            })
                            .and_then(|subject| subject.package.as_deref())
                    };
                    let subject = if waiver.covers_package {
                        package() == Some(waiver.subject_identifier.as_str())
                    } else {
                        waiver.subject_identifier == it.subject_identifier
                    };
                    waiver.subject_type == it.subject_type
                        && subject
                        && waiver.testcase == it.testcase
                        && (waiver.scenario.is_none() || waiver.scenario == it.scenario)
                })
                .map(|waiver| waiver.id)
                .max();
        }
    }
    Decision {
        applicable_policies: applicable,
        requirements: unique,
    }
}

fn requirement(kind: Kind, subject: &Subject, testcase: &str, policy: &Policy) -> Requirement {
    Requirement::new(kind, subject, testcase, policy.label())
}
