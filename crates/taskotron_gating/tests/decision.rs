//! Decisions as Greenwave makes them: every requirement type, scenarios,
//! validity windows, exclusions, waivers and the summary text.

use chrono::NaiveDate;
use taskotron_gating::{
    Kind, LatestResult, Origin, Outcomes, Request, Subject, Waiver, decide, parse_policies,
};

const POLICIES: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
excluded_packages: [skipme]
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
  - !PassingTestCaseRule {test_case_name: dist.abicheck, valid_since: 2026-06-01}
--- !Policy
id: openqa
product_versions: [fedora-44]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: update.install, scenario: fedora.x86_64}
--- !Policy
id: elsewhere
product_versions: [epel-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: never.asked}
";

fn result(id: i64, outcome: &str, scenario: Option<&str>) -> LatestResult {
    LatestResult {
        id,
        outcome: outcome.to_owned(),
        scenario: scenario.map(str::to_owned),
        system_architecture: None,
        system_variant: None,
        error_reason: (outcome == "ERROR").then(|| "VM died".to_owned()),
    }
}

fn subject(nvr: &str, package: &str) -> Subject {
    Subject {
        created: NaiveDate::from_ymd_opt(2026, 5, 1).and_then(|it| it.and_hms_opt(0, 0, 0)),
        ..Subject::build("koji_build", nvr, package)
    }
}

#[test]
fn every_requirement_type_and_the_summary() {
    let policies = parse_policies(POLICIES, Origin::Server).unwrap();
    let subjects = [subject("foo-1.0-1.fc44", "foo")];
    let contexts = ["bodhi_update_push_testing".to_owned()];
    let request = Request {
        product_version: "fedora-44",
        decision_contexts: &contexts,
        subjects: &subjects,
    };
    let results = |_: &Subject, testcase: &str| match testcase {
        "dist.depcheck" => vec![result(1, "PASSED", None)],
        "dist.rpmlint" => vec![result(2, "FAILED", None)],
        "update.install" => vec![
            result(3, "RUNNING", Some("fedora.x86_64")),
            result(4, "PASSED", Some("fedora.aarch64")),
        ],
        _ => Vec::new(),
    };
    let decision = decide(
        &request,
        &policies,
        &results,
        &[],
        &Outcomes::default(),
        Vec::new(),
    );
    assert_eq!(decision.applicable_policies, ["testing", "openqa"]);
    let kinds: Vec<(Kind, &str, Option<i64>)> = decision
        .requirements
        .iter()
        .map(|it| (it.kind, it.testcase.as_str(), it.result_id))
        .collect();
    // depcheck asked by both policies counts once; abicheck is not yet valid
    // for a build made before 2026-06-01; the aarch64 install result is not
    // the rule's scenario.
    assert_eq!(
        kinds,
        [
            (Kind::Passed, "dist.depcheck", Some(1)),
            (Kind::Failed, "dist.rpmlint", Some(2)),
            (Kind::Incomplete, "update.install", Some(3)),
        ]
    );
    assert!(!decision.satisfied());
    assert_eq!(
        decision.summary(),
        "Of 3 required tests, 1 test failed, 1 test incomplete"
    );
    assert_eq!(decision.requirements[2].type_name(), "test-result-missing");

    // A waiver for rpmlint, and one for the install test on another scenario.
    let waivers = [
        Waiver {
            id: 7,
            subject_type: "koji_build".to_owned(),
            subject_identifier: "foo-1.0-1.fc44".to_owned(),
            testcase: "dist.rpmlint".to_owned(),
            scenario: None,
            covers_package: false,
        },
        Waiver {
            id: 8,
            subject_type: "koji_build".to_owned(),
            subject_identifier: "foo-1.0-1.fc44".to_owned(),
            testcase: "update.install".to_owned(),
            scenario: Some("fedora.aarch64".to_owned()),
            covers_package: false,
        },
    ];
    let decision = decide(
        &request,
        &policies,
        &results,
        &waivers,
        &Outcomes::default(),
        Vec::new(),
    );
    assert_eq!(
        decision.requirements[1].type_name(),
        "test-result-failed-waived"
    );
    assert_eq!(decision.requirements[1].waiver_id, Some(7));
    assert_eq!(decision.requirements[2].waiver_id, None);
    assert_eq!(decision.summary(), "Of 3 required tests, 1 test incomplete");

    // Everything passes or is waived.
    let all_pass = |_: &Subject, testcase: &str| match testcase {
        "dist.rpmlint" => vec![result(2, "FAILED", None)],
        "update.install" => vec![result(5, "INFO", Some("fedora.x86_64"))],
        _ => vec![result(9, "PASSED", None)],
    };
    let decision = decide(
        &request,
        &policies,
        &all_pass,
        &waivers,
        &Outcomes::default(),
        Vec::new(),
    );
    assert!(decision.satisfied());
    assert_eq!(
        decision.summary(),
        "All required tests (3 total) have passed or been waived"
    );
}

#[test]
fn missing_errored_excluded_and_no_policy() {
    let policies = parse_policies(POLICIES, Origin::Server).unwrap();
    let contexts = ["bodhi_update_push_testing".to_owned()];
    let subjects = [
        subject("bar-2-1.fc43", "bar"),
        subject("skipme-1-1.fc43", "skipme"),
    ];
    let request = Request {
        product_version: "fedora-43",
        decision_contexts: &contexts,
        subjects: &subjects,
    };
    let results = |_: &Subject, testcase: &str| match testcase {
        "dist.depcheck" => vec![result(1, "ERROR", None)],
        _ => Vec::new(),
    };
    let decision = decide(
        &request,
        &policies,
        &results,
        &[],
        &Outcomes::default(),
        Vec::new(),
    );
    assert_eq!(decision.applicable_policies, ["testing"]);
    let kinds: Vec<(Kind, &str)> = decision
        .requirements
        .iter()
        .map(|it| (it.kind, it.subject_identifier.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::Errored, "bar-2-1.fc43"),
            (Kind::Missing, "bar-2-1.fc43"),
            (Kind::Excluded, "skipme-1-1.fc43"),
        ]
    );
    assert_eq!(
        decision.requirements[0].error_reason.as_deref(),
        Some("VM died")
    );
    assert_eq!(
        decision.summary(),
        "Of 3 required tests, 1 result missing, 1 test errored"
    );

    let request = Request {
        product_version: "rhel-9",
        ..request
    };
    let decision = decide(
        &request,
        &policies,
        &results,
        &[],
        &Outcomes::default(),
        Vec::new(),
    );
    assert!(decision.applicable_policies.is_empty());
    assert!(decision.satisfied());
    assert_eq!(decision.summary(), "No tests are required");
}

#[test]
fn package_waivers_unknown_build_times_remote_policies_and_explanations() {
    let policies = parse_policies(POLICIES, Origin::Server).unwrap();
    let contexts = ["bodhi_update_push_testing".to_owned()];
    // Koji could not say when this build was made; its gating.yaml adds a test.
    let mut unknown = Subject::build("koji_build", "foo-2.0-1.fc44", "foo");
    unknown.build_info_error = Some("Koji could not be asked: timed out".to_owned());
    unknown.remote_policies = parse_policies(
        "--- !Policy\ndecision_context: bodhi_update_push_testing\nrules:\n  - !PassingTestCaseRule {test_case_name: dist.fromgit}\n",
        Origin::Remote,
    )
    .unwrap();
    let subjects = [unknown];
    let request = Request {
        product_version: "fedora-44",
        decision_contexts: &contexts,
        subjects: &subjects,
    };
    let results = |_: &Subject, testcase: &str| match testcase {
        "dist.depcheck" | "update.install" => vec![result(1, "PASSED", Some("fedora.x86_64"))],
        "dist.rpmlint" => vec![result(2, "FAILED", None)],
        _ => Vec::new(),
    };
    // A waiver for every build of foo covers rpmlint; one for another
    // package does not.
    let waivers = [
        Waiver {
            id: 9,
            subject_type: "koji_build".to_owned(),
            subject_identifier: "foo".to_owned(),
            testcase: "dist.rpmlint".to_owned(),
            scenario: None,
            covers_package: true,
        },
        Waiver {
            id: 10,
            subject_type: "koji_build".to_owned(),
            subject_identifier: "foobar".to_owned(),
            testcase: "dist.fromgit".to_owned(),
            scenario: None,
            covers_package: true,
        },
    ];
    let decision = decide(
        &request,
        &policies,
        &results,
        &waivers,
        &Outcomes::default(),
        Vec::new(),
    );
    let kinds: Vec<(String, &str)> = decision
        .requirements
        .iter()
        .map(|it| (it.type_name(), it.testcase.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("test-result-passed".to_owned(), "dist.depcheck"),
            ("test-result-failed-waived".to_owned(), "dist.rpmlint"),
            ("koji-build-unavailable".to_owned(), "dist.abicheck"),
            ("test-result-passed".to_owned(), "update.install"),
            ("test-result-missing".to_owned(), "dist.fromgit"),
        ]
    );
    assert_eq!(
        decision.summary(),
        "1 rule could not be checked without Koji. Of 5 required tests, 1 result missing"
    );
    let active = |it: &taskotron_gating::Requirement| {
        (it.testcase == "dist.fromgit").then(|| taskotron_gating::ActiveCheck {
            state: "running".to_owned(),
        })
    };
    let explained = taskotron_gating::explain(&decision, &active);
    let codes: Vec<(&str, &str)> = explained
        .iter()
        .map(|it| (it.code, it.action.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("koji-build-unavailable", "retry-later"),
            ("check-running", "wait")
        ]
    );
    assert!(
        explained[0].message.contains("timed out"),
        "{}",
        explained[0].message
    );
}
