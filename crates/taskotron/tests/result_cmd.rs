//! `taskotron result`: the shell task's way to append a result.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{output, taskotron, texts};
use taskotron_task_format::parse_results;

#[test]
fn appends_results_creating_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("results.yml");
    for (outcome, extra) in [
        ("PASSED", vec!["-k", "arch=x86_64"]),
        (
            "FAILED",
            vec![
                "-n",
                "broken: yes",
                "-c",
                "dist.x.sub",
                "-a",
                "log.txt",
                "-k",
                "t=a",
                "-k",
                "t=b",
            ],
        ),
    ] {
        let mut cmd = taskotron(tmp.path());
        cmd.args([
            "result",
            "-f",
            "results.yml",
            "-i",
            "foo-1.0-1.fc40",
            "-t",
            "koji_build",
            "-o",
            outcome,
        ])
        .args(extra);
        let out = output(&mut cmd);
        assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    }
    let doc = parse_results(&std::fs::read_to_string(&file).unwrap(), "results.yml").unwrap();
    assert_eq!(doc.summary(), "1 PASSED, 1 FAILED");
    assert_eq!(doc.results[0].keyvals["arch"], "x86_64");
    let second = &doc.results[1];
    assert_eq!(second.note.as_deref(), Some("broken: yes"));
    assert_eq!(second.checkname.as_ref().unwrap().as_str(), "dist.x.sub");
    assert_eq!(second.artifact.as_deref(), Some("log.txt"));
    assert_eq!(second.keyvals["t"], serde_json::json!(["a", "b"]));
}

#[test]
fn bad_input_is_refused_and_the_file_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = output(taskotron(tmp.path()).args([
        "result",
        "-f",
        "r.yml",
        "-i",
        "x",
        "-t",
        "koji_build",
        "-o",
        "GREAT",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("unknown outcome `GREAT`"),
        "{:?}",
        texts(&out)
    );
    assert!(!tmp.path().join("r.yml").exists());

    std::fs::write(tmp.path().join("r.yml"), "not: [valid\n").unwrap();
    let out = output(taskotron(tmp.path()).args([
        "result",
        "-f",
        "r.yml",
        "-i",
        "x",
        "-t",
        "koji_build",
        "-o",
        "PASSED",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("the results file is not valid ResultYAML; it was left as it is"),
        "{stderr}"
    );
    assert!(stderr.contains("r.yml:"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("r.yml")).unwrap(),
        "not: [valid\n"
    );

    let out = output(taskotron(tmp.path()).args([
        "result",
        "-f",
        "n.yml",
        "-i",
        "x",
        "-t",
        "koji_build",
        "-o",
        "PASSED",
        "-k",
        "outcome=x",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("reserved key"), "{:?}", texts(&out));
}
