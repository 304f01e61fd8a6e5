//! `taskotron check rpmlint` running the real rpmlint on RPMs built here with
//! rpmbuild: per-package counts, spec findings going to the source package,
//! an rpmlintrc's filters, the default filters, and bad input refused.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod check_support;
mod common;

use std::path::{Path, PathBuf};

use check_support::{build, have, rpmbuild};
use common::{taskotron, texts};
use serde_json::Value as Json;

/// A package without a %changelog: rpmlint's `no-changelogname-tag` error
/// on the binary and the source package.
const NO_CHANGELOG: &str = r"Name:           tk-nolog
Version:        1.0
Release:        1.fc44
Summary:        Taskotron check test package
License:        MIT
URL:            https://example.org/tk
BuildArch:      noarch

%description
A package for Taskotron's check tests.

%install
mkdir -p %{buildroot}%{_datadir}/%{name}
echo 1 > %{buildroot}%{_datadir}/%{name}/version

%files
%{_datadir}/%{name}/version
";

fn rpmlint(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = taskotron(dir)
        .args(["check", "rpmlint"])
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    (out.status.code(), stdout, stderr)
}

fn json(dir: &Path, args: &[&str]) -> (Option<i32>, Json) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = rpmlint(dir, &all);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}\n{stderr}"));
    (code, json)
}

fn paths(files: &[PathBuf]) -> Vec<&str> {
    files.iter().map(|it| it.to_str().unwrap()).collect()
}

fn counts(body: &Json) -> Vec<(String, String, u64)> {
    body["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["package"].as_str().unwrap().to_owned(),
                it["outcome"].as_str().unwrap().to_owned(),
                it["errors"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn rpmlint_results_per_package() {
    if !have("rpmlint") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(good) = build("tk-lint", "1.0", ".fc44", None, &dir.path().join("good")) else {
        return;
    };
    let Some(bad) = rpmbuild(
        NO_CHANGELOG,
        &[("tk_name", "tk-nolog")],
        &dir.path().join("bad"),
    ) else {
        return;
    };

    // A tidy package passes; warnings are counted, and what rpmlint says
    // about the spec file belongs to the source package.
    let (code, body) = json(dir.path(), &paths(&good));
    assert_eq!(code, Some(0), "{body:#}");
    assert_eq!(body["outcome"], "PASSED");
    assert_eq!(body["errors"], 0);
    assert_eq!(
        counts(&body),
        [
            ("tk-lint.noarch".to_owned(), "PASSED".to_owned(), 0),
            ("tk-lint.src".to_owned(), "PASSED".to_owned(), 0),
        ]
    );
    let warnings: u64 = body["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["warnings"].as_u64().unwrap())
        .sum();
    assert_eq!(body["warnings"].as_u64(), Some(warnings));
    assert!(warnings > 0, "{body:#}");
    let source_ids: Vec<&str> = body["packages"][1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert!(source_ids.contains(&"no-%build-section"), "{source_ids:?}");

    // Without a changelog: one error per package, named in the note.
    let (code, body) = json(dir.path(), &paths(&bad));
    assert_eq!(code, Some(1), "{body:#}");
    assert_eq!(body["outcome"], "FAILED");
    assert_eq!(
        counts(&body),
        [
            ("tk-nolog.noarch".to_owned(), "FAILED".to_owned(), 1),
            ("tk-nolog.src".to_owned(), "FAILED".to_owned(), 1),
        ]
    );
    let errors: Vec<&str> = body["packages"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["level"] == "E")
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["no-changelogname-tag"]);
    let note = body["note"].as_str().unwrap();
    assert!(
        note.starts_with("2 errors, ")
            && note.ends_with("; tk-nolog.noarch (1 error), tk-nolog.src (1 error)"),
        "{note}"
    );

    // The package's rpmlintrc filters it; a line rpmlint would silently
    // ignore is pointed out.
    let rc = dir.path().join("tk-nolog.rpmlintrc");
    std::fs::write(
        &rc,
        "# known\naddFilter(\"no-changelogname-tag\")\nadd_filter('typo')\n",
    )
    .unwrap();
    let mut args = paths(&bad);
    args.extend(["--rpmlintrc", rc.to_str().unwrap()]);
    let (code, stdout, stderr) = rpmlint(dir.path(), &args);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("tk-nolog.noarch: PASSED (0 errors, "),
        "{stdout}"
    );
    assert!(stdout.contains("RESULT: PASSED"), "{stdout}");
    assert!(
        stderr.contains("tk-nolog.rpmlintrc:3: rpmlint ignores this line")
            && stderr.contains("add_filter('typo')"),
        "{stderr}"
    );

    // Koji builds are unsigned: no-signature is filtered unless asked.
    let mut args = paths(&good);
    args.push("--no-default-filters");
    let (code, body) = json(dir.path(), &args);
    assert_eq!(code, Some(1), "{body:#}");
    let ids: Vec<&str> = body["packages"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"no-signature"), "{ids:?}");
}

#[test]
fn rpmlint_refuses_bad_input() {
    if !have("rpmlint") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(good) = build("tk-lint", "1.0", ".fc44", None, &dir.path().join("good")) else {
        return;
    };
    let text = dir.path().join("notes-1-1.noarch.rpm");
    std::fs::write(&text, "not an rpm\n").unwrap();
    let truncated = dir.path().join("tk-cut-1-1.noarch.rpm");
    let bytes = std::fs::read(&good[0]).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len().min(3000)]).unwrap();
    for (args, want) in [
        (
            vec![text.to_str().unwrap()],
            format!("{} is not an RPM file", text.display()),
        ),
        (
            vec![truncated.to_str().unwrap()],
            format!("rpmlint could not read {}", truncated.display()),
        ),
        (
            vec![
                good[0].to_str().unwrap(),
                "--rpmlintrc",
                "missing.rpmlintrc",
            ],
            "cannot read the rpmlintrc missing.rpmlintrc".to_owned(),
        ),
        (
            vec!["nothere-1-1.noarch.rpm"],
            "cannot open nothere-1-1.noarch.rpm".to_owned(),
        ),
    ] {
        let (code, stdout, stderr) = rpmlint(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(&want), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}
