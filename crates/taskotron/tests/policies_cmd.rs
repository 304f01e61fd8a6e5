//! `taskotron policies check`: files and directories, problems with their
//! places, ids unique across files.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{output, taskotron, texts};

const GOOD: &str = "--- !Policy
id: depcheck
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
";

#[test]
fn checks_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("a.yaml"), GOOD).unwrap();
    std::fs::write(policies.join("notes.txt"), "not a policy").unwrap();
    let out = output(taskotron(dir.path()).args(["policies", "check", "policies"]));
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "policies/a.yaml: ok: 1 policy with 2 rules\n");

    // The same id in a second file, and a broken third one.
    std::fs::write(policies.join("b.yaml"), GOOD).unwrap();
    std::fs::write(
        policies.join("c.yaml"),
        "--- !Policy\nid: c\nproduct_versions: [fedora-*]\ndecision_context: x\nsubject_type: koji_build\nrules:\n  - !PassingTestCaseRule {test_case: t}\n",
    )
    .unwrap();
    let out = output(taskotron(dir.path()).args(["policies", "check", "policies"]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "policies/b.yaml:2:1: error: policy id `depcheck` is also used in policies/a.yaml"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("policies/c.yaml:7:27: error: `!PassingTestCaseRule` has no key `test_case`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("takes test_case_name, scenario"),
        "{stderr}"
    );

    // A gating.yaml needs no id, but may not hold a RemoteRule.
    std::fs::write(
        dir.path().join("gating.yaml"),
        "--- !Policy\ndecision_context: x\nrules:\n  - !RemoteRule {}\n",
    )
    .unwrap();
    let out = output(taskotron(dir.path()).args(["policies", "check", "--remote", "gating.yaml"]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("may not hold a `!RemoteRule`"), "{stderr}");

    let out = output(taskotron(dir.path()).args(["policies", "check", "missing.yaml"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("cannot read missing.yaml"));
}

#[test]
fn lint_flags_what_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), GOOD).unwrap();
    let out = output(taskotron(dir.path()).args(["policies", "lint", "a.yaml"]));
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "1 policies: no findings\n");

    std::fs::write(
        dir.path().join("b.yaml"),
        "--- !Policy\nid: nothing\nproduct_versions: [fedora-*]\ndecision_context: x\nsubject_type: koji_build\nexcluded_packages: ['*']\nrules: []\n",
    )
    .unwrap();
    let out = output(taskotron(dir.path()).args(["policies", "lint", "a.yaml", "b.yaml"]));
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stdout,
        "b.yaml:2:1: warning[never-applies]: nothing excludes every package (`excluded_packages: [\"*\"]`), so it never applies to builds\n\
         b.yaml:2:1: warning[always-satisfied]: nothing has no rule that can fail, so it is always satisfied\n"
    );
}
