//! `taskotron check-config` over the config crate's fixtures, and `check-formula`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{output, repo_root, taskotron, texts};

#[test]
fn check_config_accepts_good_files_and_names_the_problem_in_bad_ones() {
    let fixtures = repo_root().join("crates/taskotron_config/tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = output(taskotron(tmp.path()).arg("check-config").arg(&path));
        let (stdout, stderr) = texts(&out);
        if name.starts_with("bad-") {
            bad += 1;
            assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
            assert!(
                stderr.starts_with("error: ") && stderr.contains(&name),
                "{name}: {stderr}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
            assert!(stdout.ends_with(": ok\n"), "{name}: {stdout}");
        }
    }
    assert!(bad >= 5, "the fixtures went missing");

    let unknown = tmp.path().join("unknown.toml");
    std::fs::write(
        &unknown,
        "[server]\nlisten = \"127.0.0.1:9\"\n\n[runner]\ntimeout = \"1h\"\n",
    )
    .unwrap();
    let out = output(taskotron(tmp.path()).arg("check-config").arg(&unknown));
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("line 5") && stderr.contains("timeout"),
        "{stderr}"
    );

    let out = output(
        taskotron(tmp.path())
            .args(["check-config", "--print"])
            .arg(fixtures.join("minimal.toml")),
    );
    let (stdout, _) = texts(&out);
    assert!(stdout.contains("listen = \"127.0.0.1:8080\""), "{stdout}");
}

#[test]
fn check_formula_reports_like_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("f.yml"),
        "name: x\nactions:\n  - name: a\n    dummy: {result: MAYBE}\n",
    )
    .unwrap();
    let out = output(taskotron(tmp.path()).args(["check-formula", "f.yml"]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("f.yml:4:21: error: `dummy` parameter `result`: expected one of PASS, FAIL, found `MAYBE`"), "{stderr}");
}
