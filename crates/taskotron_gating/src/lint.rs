//! `taskotron policies lint`: policies that parse but cannot do what their
//! author meant: ones that never apply, rules that can never be checked,
//! duplicates, and policies that are always satisfied.

use chrono::NaiveDateTime;
use taskotron_task_format::diagnostic::Pos;

use crate::policy::{Policy, Rule};

/// One finding, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The policy's index in the slice linted.
    pub policy: usize,
    /// Where.
    pub pos: Pos,
    /// `never-applies`, `expired-rule`, `duplicate-rule`, `always-satisfied`,
    /// `duplicate-policy`, `never-satisfied` (a remote rule whose URL
    /// template can never be filled) or `rule-never-applies` (a remote rule
    /// in a policy for subjects that are not Koji builds).
    pub code: &'static str,
    /// What, in words.
    pub message: String,
}

/// Lint policies (of one or several files, in order); `now` decides which
/// validity windows have closed.
pub fn lint(policies: &[Policy], now: NaiveDateTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (idx, policy) in policies.iter().enumerate() {
        let label = policy.label();
        if policy.excluded_packages.iter().any(|it| it == "*") {
            findings.push(Finding {
                policy: idx,
                pos: policy.pos,
                code: "never-applies",
                message: format!("{label} excludes every package (`excluded_packages: [\"*\"]`), so it never applies to builds"),
            });
        } else if !policy.packages.is_empty()
            && policy
                .packages
                .iter()
                .all(|it| policy.excluded_packages.contains(it))
        {
            findings.push(Finding {
                policy: idx,
                pos: policy.pos,
                code: "never-applies",
                message: format!("{label} excludes every package it lists in `packages`, so it never applies to builds"),
            });
        }
        let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
        let mut checkable = 0usize;
        for rule in &policy.rules {
            match rule {
                Rule::PassingTestCase {
                    test_case_name,
                    scenario,
                    valid_until,
                    pos,
                    ..
                } => {
                    let key = (test_case_name.as_str(), scenario.as_deref());
                    if seen.contains(&key) {
                        findings.push(Finding {
                            policy: idx,
                            pos: *pos,
                            code: "duplicate-rule",
                            message: format!(
                                "{label} requires `{test_case_name}`{} twice",
                                scenario
                                    .as_deref()
                                    .map(|it| format!(" (scenario {it})"))
                                    .unwrap_or_default()
                            ),
                        });
                    }
                    seen.push(key);
                    if valid_until.is_some_and(|until| until <= now) {
                        findings.push(Finding {
                policy: idx,
                            pos: *pos,
                            code: "expired-rule",
                            message: format!(
                                "{label}: the rule for `{test_case_name}` is valid only for builds made before {}, which have all been made",
                                valid_until.map(|it| it.to_string()).unwrap_or_default()
                            ),
                        });
                    } else {
                        checkable += 1;
                    }
                }
                Rule::Remote {
                    required,
                    sources,
                    pos,
                } => {
                    if *required {
                        checkable += 1;
                    }
                    let probe = crate::remote::Source {
                        namespace: "rpms/".to_owned(),
                        name: "probe".to_owned(),
                        rev: "0".to_owned(),
                    };
                    if let Some(why) = sources
                        .iter()
                        .find_map(|it| crate::remote::fill_template(it, &probe, "probe-1-1").err())
                    {
                        findings.push(Finding {
                            policy: idx,
                            pos: *pos,
                            code: "never-satisfied",
                            message: format!("{label} has a remote rule that can never fetch gating.yaml ({why}), so it is never satisfied for builds"),
                        });
                    }
                    let builds = policy.subject_types.iter().any(|it| {
                        it == "*"
                            || it == "koji_build"
                            || it == "brew-build"
                            || it.starts_with("redhat-")
                    });
                    if !builds {
                        findings.push(Finding {
                            policy: idx,
                            pos: *pos,
                            code: "rule-never-applies",
                            message: format!("{label} has a remote rule, but remote rules apply only to Koji builds and its subject types ({}) have none", policy.subject_types.join(", ")),
                        });
                    }
                }
            }
        }
        if checkable == 0 {
            findings.push(Finding {
                policy: idx,
                pos: policy.pos,
                code: "always-satisfied",
                message: format!("{label} has no rule that can fail, so it is always satisfied"),
            });
        }
        if let Some(first) = policies[..idx].iter().find(|other| {
            same_scope(other, policy)
                && other.rules.len() == policy.rules.len()
                && other
                    .rules
                    .iter()
                    .zip(&policy.rules)
                    .all(|(a, b)| same_rule(a, b))
        }) {
            findings.push(Finding {
                policy: idx,
                pos: policy.pos,
                code: "duplicate-policy",
                message: format!(
                    "{label} says the same as {} (line {})",
                    first.label(),
                    first.pos.line
                ),
            });
        }
    }
    findings
}

fn same_scope(a: &Policy, b: &Policy) -> bool {
    a.product_versions == b.product_versions
        && a.decision_contexts == b.decision_contexts
        && a.subject_types == b.subject_types
        && a.packages == b.packages
        && a.excluded_packages == b.excluded_packages
}

fn same_rule(a: &Rule, b: &Rule) -> bool {
    match (a, b) {
        (
            Rule::PassingTestCase {
                test_case_name: na,
                scenario: sa,
                valid_since: fa,
                valid_until: ua,
                ..
            },
            Rule::PassingTestCase {
                test_case_name: nb,
                scenario: sb,
                valid_since: fb,
                valid_until: ub,
                ..
            },
        ) => na == nb && sa == sb && fa == fb && ua == ub,
        (
            Rule::Remote {
                sources: xa,
                required: ra,
                ..
            },
            Rule::Remote {
                sources: xb,
                required: rb,
                ..
            },
        ) => xa == xb && ra == rb,
        _ => false,
    }
}
