//! The example tasks under tasks/examples/, run end to end through the binary.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{example, output, taskotron, texts};
use serde_json::Value as Json;
use taskotron_task_format::parse_results;
use taskotron_types::Outcome;

fn run_example(
    name: &str,
    item: &str,
    extra: &[&str],
) -> (tempfile::TempDir, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    let formula = example(name);
    let mut cmd = taskotron(tmp.path());
    cmd.args(["run"]).arg(&formula).args([
        "-i",
        item,
        "-t",
        "koji_build",
        "--artifacts",
        "artifacts",
    ]);
    cmd.args(extra);
    let out = output(&mut cmd);
    (tmp, out)
}

fn results(tmp: &tempfile::TempDir) -> Vec<(String, Outcome, Option<String>)> {
    let path = tmp.path().join("artifacts/taskotron/results.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = parse_results(&text, "results.yml").unwrap();
    doc.results
        .into_iter()
        .map(|it| {
            (
                it.checkname.map(|c| c.to_string()).unwrap_or_default(),
                it.outcome,
                it.note,
            )
        })
        .collect()
}

#[test]
fn shell_task_passes_and_fails_on_its_input() {
    if !common::sandbox_available() {
        return;
    }
    let (tmp, out) = run_example("shell-check", "foo-1.0-1.fc40", &[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        results(&tmp),
        [(
            "scratch.shell-check".to_owned(),
            Outcome::Passed,
            Some("release 1.fc40 has dist tag fc40".to_owned())
        )]
    );
    let log = std::fs::read_to_string(tmp.path().join("artifacts/shell-check.log")).unwrap();
    assert_eq!(log, "foo-1.0-1.fc40: release 1.fc40 has dist tag fc40\n");
    assert!(
        stderr.contains("task scratch.shell-check passed (exit code 0)"),
        "{stderr}"
    );

    let (tmp, out) = run_example("shell-check", "foo-1.0-1", &[]);
    assert_eq!(out.status.code(), Some(100), "{:?}", texts(&out));
    assert_eq!(results(&tmp)[0].1, Outcome::Failed);
}

#[test]
fn python_task_uses_the_compatibility_module() {
    if !common::sandbox_available() {
        return;
    }
    let (tmp, out) = run_example(
        "python-check",
        "python-requests-2.31.0-1.fc40",
        &["-a", "x86_64", "--json"],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(100), "{stdout}\n{stderr}");
    assert_eq!(
        results(&tmp),
        [
            (
                "scratch.python-check".to_owned(),
                Outcome::Passed,
                Some("checked python-requests on x86_64".to_owned())
            ),
            (
                "scratch.python-check.name-length".to_owned(),
                Outcome::Failed,
                Some("name 'python-requests' is 15 characters long (limit 10)".to_owned())
            ),
        ]
    );
    let summary: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["status"], "failed");
    assert_eq!(summary["exit_code"], 100);
    assert_eq!(summary["sandbox"], "bwrap");
    assert_eq!(
        summary["results"]["results"][0]["keyvals"]["arch"],
        "x86_64"
    );
    let statuses: Vec<&str> = summary["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "ok"]);
    // The task's own artifact and the runner's files are all there.
    for rel in [
        "python-check.log",
        "taskotron/taskotron.log",
        "taskotron/task_vars.json",
        "taskotron/summary.json",
        "taskotron/actions/01-run-the-check.log",
        "taskotron/actions/02-report-results.log",
        "taskotron/actions/03-set-the-exit-code.log",
    ] {
        assert!(
            tmp.path().join("artifacts").join(rel).is_file(),
            "missing {rel}"
        );
    }
    let vars: Json = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("artifacts/taskotron/task_vars.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(vars["koji_build"], "python-requests-2.31.0-1.fc40");
    assert_eq!(vars["arch"], "x86_64");
    assert!(
        vars["check_output"]
            .as_str()
            .unwrap()
            .starts_with("results:"),
        "{vars}"
    );
}

#[test]
fn xunit_task_reports_each_case_and_writes_a_report() {
    if !common::sandbox_available() {
        return;
    }
    let (tmp, out) = run_example("xunit-check", "Foo-1.0-1.fc40", &[]);
    assert_eq!(out.status.code(), Some(100), "{:?}", texts(&out));
    let got: Vec<(String, Outcome)> = results(&tmp)
        .into_iter()
        .map(|(name, outcome, _)| (name, outcome))
        .collect();
    assert_eq!(
        got,
        [
            (
                "scratch.xunit-check.name_is_lowercase".to_owned(),
                Outcome::Failed
            ),
            (
                "scratch.xunit-check.version_starts_with_digit".to_owned(),
                Outcome::Passed
            ),
            (
                "scratch.xunit-check.release_has_dist_tag".to_owned(),
                Outcome::Passed
            ),
        ]
    );
    let report = std::fs::read_to_string(tmp.path().join("artifacts/report.html")).unwrap();
    assert!(
        report.contains("scratch.xunit-check.name_is_lowercase"),
        "{report}"
    );
    assert!(report.contains("2 PASSED, 1 FAILED"), "{report}");

    let (_tmp, out) = run_example("xunit-check", "foo-1.0-1.fc40", &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
}

#[test]
fn examples_are_valid_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["shell-check", "python-check", "xunit-check"] {
        let out = output(
            taskotron(tmp.path())
                .arg("check-formula")
                .arg(example(name))
                .args(["-t", "koji_build"]),
        );
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(
            stdout.contains(&format!("ok: scratch.{name} with")),
            "{stdout}"
        );
    }
}
