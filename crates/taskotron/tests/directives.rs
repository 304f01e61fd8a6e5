//! Directives not covered by the example tasks: createrepo (real createrepo_c),
//! create_report with a task's own template, dummy, and exitcode's variants.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{Task, texts};

#[test]
fn createrepo_makes_repository_metadata() {
    if !common::sandbox_available() {
        return;
    }
    let task = Task::new(
        "name: repo
actions:
  - name: make a directory
    shell: [\"mkdir -p ${workdir}/repo\"]
  - name: createrepo
    createrepo: {repodir: \"${workdir}/repo\"}
  - name: look
    shell: [\"test -s ${workdir}/repo/repodata/repomd.xml && grep -c '<data type=\\\"primary\\\">' ${workdir}/repo/repodata/repomd.xml\"]
    export: found
",
    );
    let out = task.run(&["--keep-workdir"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    let vars: serde_json::Value =
        serde_json::from_str(&task.artifact("taskotron/task_vars.json")).unwrap();
    assert_eq!(vars["found"], "1");

    let task = Task::new("name: repo\nactions:\n  - name: c\n    createrepo: {repodir: nowhere}\n");
    let out = task.run(&[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out).1.contains("is not a directory"),
        "{:?}",
        texts(&out)
    );
}

#[test]
fn create_report_uses_the_tasks_template_and_escapes_html() {
    let task = Task::new(
        "name: rep
input: {args: [koji_build]}
actions:
  - name: results
    shell: [\"taskotron result -f ${workdir}/r.yml -i ${koji_build} -t koji_build -o INFO -n '<b>bold</b>'\"]
  - name: report
    create_report: {file: \"${workdir}/r.yml\", template: mine.j2, path: sub/mine.txt}
",
    )
    .file("mine.j2", "{{ checkname }}|{% for r in results %}{{ r.outcome }}:{{ r.note }}{% endfor %}|{{ summary }}");
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    assert_eq!(
        task.artifact("sub/mine.txt"),
        "scratch.rep|INFO:&lt;b&gt;bold&lt;&#x2f;b&gt;|1 INFO"
    );

    let task = Task::new(
        "name: rep\nactions:\n  - name: report\n    create_report: {results: 'results: []', path: ../outside.html}\n",
    );
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out)
            .1
            .contains("must be relative and stay inside the artifacts directory"),
        "{:?}",
        texts(&out)
    );
}

#[test]
fn dummy_passes_or_fails_on_request() {
    let task = Task::new(
        "name: d\nactions:\n  - name: ok\n    dummy: {result: PASS, msg: fine}\n    export: m\n",
    );
    assert_eq!(task.run(&["--local"]).status.code(), Some(0));
    let task =
        Task::new("name: d\nactions:\n  - name: no\n    dummy: {result: FAIL, msg: on purpose}\n");
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out)
            .1
            .contains("dummy directive asked to fail: on purpose"),
        "{:?}",
        texts(&out)
    );
}

#[test]
fn exitcode_last_versus_worst_and_the_worst_action_wins() {
    let results = "results:\n  - {item: x, type: koji_build, outcome: FAILED}\n  - {item: x, type: koji_build, outcome: PASSED}\n";
    let formula = |key: &str| {
        format!(
            "name: e\nactions:\n  - name: code\n    exitcode:\n      {key}: |\n{}\n",
            results
                .lines()
                .map(|l| format!("        {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    assert_eq!(
        Task::new(&formula("result_last"))
            .run(&["--local"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        Task::new(&formula("result_worst"))
            .run(&["--local"])
            .status
            .code(),
        Some(100)
    );
    let both = "name: e
actions:
  - name: bad
    exitcode: {result_worst: \"results: [{item: x, type: t, outcome: NEEDS_INSPECTION}]\"}
  - name: good
    exitcode: {result_last: \"results: [{item: x, type: t, outcome: INFO}]\"}
";
    assert_eq!(Task::new(both).run(&["--local"]).status.code(), Some(100));
    let invalid = "name: e\nactions:\n  - name: bad\n    exitcode: {result_worst: \"results: [{item: x}]\"}\n";
    let out = Task::new(invalid).run(&["--local"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out).1.contains("invalid ResultYAML"),
        "{:?}",
        texts(&out)
    );
}
