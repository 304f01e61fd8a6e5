//! Policy files as Greenwave writes them, and every mistake a policy author
//! can make, each reported with its line and column.

use taskotron_gating::{Applies, Origin, Rule, parse_policies};

const FEDORA: &str = "--- !Policy
id: taskotron_release_critical_tasks_for_testing
product_versions:
  - fedora-*
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
excluded_packages: [python-*-docs]
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: fedora-ci.koji-build.tier0.functional, scenario: fedora.x86_64, valid_since: 2026-01-01}
  - !RemoteRule {required: false}
--- !Policy
id: openqa_critpath_for_stable
product_versions: [fedora-44, fedora-rawhide]
decision_context: bodhi_update_push_stable_critpath
subject_types: [bodhi_update, koji_build]
packages: [kernel*, systemd]
rules: []
";

#[test]
fn a_real_looking_file_parses_whole() {
    let policies = parse_policies(FEDORA, Origin::Server).unwrap();
    assert_eq!(policies.len(), 2);
    let first = &policies[0];
    assert_eq!(
        first.id.as_deref(),
        Some("taskotron_release_critical_tasks_for_testing")
    );
    assert_eq!(first.product_versions, ["fedora-*"]);
    assert_eq!(first.subject_types, ["koji_build"]);
    assert_eq!(first.rules.len(), 3);
    let Rule::PassingTestCase {
        test_case_name,
        scenario,
        valid_since,
        ..
    } = &first.rules[1]
    else {
        panic!("{:?}", first.rules[1]);
    };
    assert_eq!(test_case_name, "fedora-ci.koji-build.tier0.functional");
    assert_eq!(scenario.as_deref(), Some("fedora.x86_64"));
    assert_eq!(valid_since.unwrap().to_string(), "2026-01-01 00:00:00");
    assert!(matches!(
        first.rules[2],
        Rule::Remote {
            required: false,
            ..
        }
    ));
    assert_eq!(policies[1].pos.line, 13);
    assert!(policies[1].rules.is_empty());
}

#[test]
fn applying_follows_contexts_versions_types_and_packages() {
    let policies = parse_policies(FEDORA, Origin::Server).unwrap();
    let (testing, critpath) = (&policies[0], &policies[1]);
    let ctx = "bodhi_update_push_testing";
    assert_eq!(
        testing.applies(ctx, "fedora-44", "koji_build", Some("foo")),
        Applies::Yes
    );
    assert_eq!(
        testing.applies(ctx, "epel-9", "koji_build", Some("foo")),
        Applies::No
    );
    assert_eq!(
        testing.applies("other", "fedora-44", "koji_build", Some("foo")),
        Applies::No
    );
    assert_eq!(
        testing.applies(ctx, "fedora-44", "bodhi_update", None),
        Applies::No
    );
    assert_eq!(
        testing.applies(ctx, "fedora-44", "koji_build", Some("python-foo-docs")),
        Applies::Excluded
    );
    let ctx = "bodhi_update_push_stable_critpath";
    assert_eq!(
        critpath.applies(ctx, "fedora-44", "koji_build", Some("kernel-core")),
        Applies::Yes
    );
    assert_eq!(
        critpath.applies(ctx, "fedora-44", "koji_build", Some("bash")),
        Applies::No
    );
    assert_eq!(
        critpath.applies(ctx, "fedora-43", "bodhi_update", None),
        Applies::No
    );
    assert_eq!(
        critpath.applies(ctx, "fedora-rawhide", "bodhi_update", None),
        Applies::Yes
    );
}

#[test]
fn gating_yaml_gets_remote_defaults() {
    let src = "--- !Policy
decision_context: bodhi_update_push_stable
rules:
  - !PassingTestCaseRule {test_case_name: fedora-ci.koji-build.tier0.functional}
";
    let policies = parse_policies(src, Origin::Remote).unwrap();
    assert_eq!(policies[0].product_versions, ["*"]);
    assert_eq!(policies[0].subject_types, ["*"]);
    assert_eq!(policies[0].id, None);
    assert_eq!(policies[0].label(), "the policy at line 2");
    // The same file is not a server policy: it has no id and no product versions.
    let errors = parse_policies(src, Origin::Server).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|it| it.message.as_str()).collect();
    assert!(messages.contains(&"the policy has no `id`"), "{messages:?}");
    assert!(
        messages.contains(&"the policy has no `product_versions`"),
        "{messages:?}"
    );
}

/// Parse `src` and expect exactly these `(line, column, message fragment)` problems.
fn problems(src: &str, origin: Origin, want: &[(usize, usize, &str)]) {
    let errors = parse_policies(src, origin).expect_err(src);
    let got: Vec<String> = errors
        .iter()
        .map(|it| format!("{}:{} {}", it.pos.line, it.pos.column, it.message))
        .collect();
    assert_eq!(errors.len(), want.len(), "{got:#?}");
    for (line, column, fragment) in want {
        assert!(
            errors.iter().any(|it| it.pos.line == *line
                && it.pos.column == *column
                && it.message.contains(fragment)),
            "no {line}:{column} {fragment:?} in {got:#?}"
        );
    }
}

#[test]
fn every_mistake_is_reported_where_it_is() {
    problems(
        "--- !Policy
id: a
product_version: [fedora-*]
decision_context: x
decision_contexts: [y]
subject_type: koji_build
rules:
  - !PassingTestCaseRul {test_case_name: t}
  - !PackageSpecificBuild {test_case_name: t}
  - !PassingTestCaseRule {testcase: t}
  - !PassingTestCaseRule {test_case_name: t, valid_since: soon}
  - !RemoteRule {required: maybe}
  - plain
",
        Origin::Server,
        &[
            (3, 1, "unknown policy key `product_version`"),
            (2, 1, "the policy has no `product_versions`"),
            (
                4,
                19,
                "give `decision_context` or `decision_contexts`, not both",
            ),
            (8, 25, "unknown rule `!PassingTestCaseRul`"),
            (9, 27, "`!PackageSpecificBuild` is obsolete"),
            (10, 27, "`!PassingTestCaseRule` has no key `testcase`"),
            (10, 26, "`!PassingTestCaseRule` needs `test_case_name`"),
            (11, 59, "`valid_since` \"soon\" is not a date"),
            (12, 28, "`required` must be true or false"),
            (13, 5, "a rule must be tagged"),
        ],
    );
    problems(
        "id: untagged\n--- !SubjectType\nid: koji_build\n",
        Origin::Server,
        &[
            (1, 1, "must be tagged `!Policy`"),
            (3, 1, "`!SubjectType` is not a policy"),
        ],
    );
    problems(
        "--- !Policy
id: a
product_versions: []
decision_context: c
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: t, valid_since: 2026-02-01, valid_until: 2026-01-01}
--- !Policy
id: a
product_versions: [fedora-*]
decision_context: c
subject_type: koji_build
",
        Origin::Server,
        &[
            (3, 19, "`product_versions` must not be empty"),
            (7, 26, "`valid_since` must be before `valid_until`"),
            (9, 1, "the policy has no `rules`"),
        ],
    );
    problems(
        "--- !Policy\ndecision_context: c\nrules:\n  - !RemoteRule {}\n",
        Origin::Remote,
        &[(4, 17, "may not hold a `!RemoteRule`")],
    );
    problems(
        "--- !Policy\n[1, 2]\n",
        Origin::Server,
        &[(2, 1, "a policy is a mapping")],
    );
    problems(
        "--- !Policy\nid: [a\n",
        Origin::Server,
        &[(3, 1, "invalid YAML")],
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let one = "--- !Policy\nid: same\nproduct_versions: [a]\ndecision_context: c\nsubject_type: t\nrules: []\n";
    let src = format!("{one}{one}");
    problems(
        &src,
        Origin::Server,
        &[(8, 1, "policy id `same` is used twice")],
    );
}
