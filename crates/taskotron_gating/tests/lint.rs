//! Lint findings for policies that parse but cannot work as meant.

use chrono::NaiveDate;
use taskotron_gating::{Origin, lint, parse_policies};

#[test]
fn each_finding_with_its_place() {
    let src = "--- !Policy
id: excluded
product_versions: [fedora-*]
decision_context: c
subject_type: koji_build
excluded_packages: ['*']
rules:
  - !PassingTestCaseRule {test_case_name: a}
--- !Policy
id: twice
product_versions: [fedora-*]
decision_context: c
subject_type: koji_build
packages: [kernel]
excluded_packages: [kernel]
rules:
  - !PassingTestCaseRule {test_case_name: a}
  - !PassingTestCaseRule {test_case_name: a}
  - !PassingTestCaseRule {test_case_name: b, valid_until: 2020-01-01}
--- !Policy
id: empty
product_versions: [fedora-*]
decision_context: c
subject_type: koji_build
rules:
  - !RemoteRule {required: false}
--- !Policy
id: fine
product_versions: [fedora-*]
decision_context: d
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: a}
--- !Policy
id: fine-again
product_versions: [fedora-*]
decision_context: d
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: a}
";
    let policies = parse_policies(src, Origin::Server).expect("valid policies");
    let now = NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|it| it.and_hms_opt(0, 0, 0))
        .expect("a date");
    let found: Vec<(usize, &str)> = lint(&policies, now)
        .iter()
        .map(|it| (it.pos.line, it.code))
        .collect();
    assert_eq!(
        found,
        [
            (2, "never-applies"),
            (10, "never-applies"),
            (18, "duplicate-rule"),
            (19, "expired-rule"),
            (21, "always-satisfied"),
            (35, "duplicate-policy"),
        ]
    );
    let clean = parse_policies(
        "--- !Policy\nid: ok\nproduct_versions: [fedora-*]\ndecision_context: c\nsubject_type: koji_build\nrules:\n  - !PassingTestCaseRule {test_case_name: a}\n",
        Origin::Server,
    )
    .expect("valid");
    assert!(lint(&clean, now).is_empty());
}

#[test]
fn remote_rules_that_can_never_work() {
    let src = "--- !Policy
id: bad-template
product_versions: [fedora-*]
decision_context: c
subject_type: koji_build
rules:
  - !RemoteRule {required: true, sources: ['https://h/{pkg}/gating.yaml']}
--- !Policy
id: updates
product_versions: [fedora-*]
decision_context: c
subject_type: bodhi_update
rules:
  - !PassingTestCaseRule {test_case_name: a}
  - !RemoteRule {required: true}
";
    let policies = parse_policies(src, Origin::Server).expect("valid policies");
    let now = NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|it| it.and_hms_opt(0, 0, 0))
        .expect("a date");
    let found = lint(&policies, now);
    let codes: Vec<(usize, &str)> = found.iter().map(|it| (it.pos.line, it.code)).collect();
    assert_eq!(codes, [(7, "never-satisfied"), (15, "rule-never-applies")]);
    assert!(
        found[0].message.contains("unknown placeholder {pkg}"),
        "{}",
        found[0].message
    );
}
