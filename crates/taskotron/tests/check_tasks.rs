//! The checks as tasks: `tasks/dist.rpmlint`, `dist.upgradepath` and
//! `dist.depcheck` run by the real `taskotron run` against `fake-infra`
//! serving RPMs built here, reporting to a real `taskotron serve`; and the
//! `resultsdb` directive reporting a result again only when it changed.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions fail loudly; skipped parts say so"
)]

mod check_support;
mod common;

use std::path::{Path, PathBuf};

use check_support::{Serve, build, fake_infra, have, rpmbuild, serve_files};
use common::{repo_root, taskotron, texts};
use serde_json::Value as Json;

/// A scratch directory outside /tmp, which the sandbox replaces with its
/// own: the configuration the tasks' checks read must stay visible.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn task(name: &str) -> PathBuf {
    repo_root().join("tasks").join(name).join("runtask.yml")
}

/// Whether runs go without the sandbox: only when bubblewrap cannot build one
/// here (and the test script does not require it); otherwise the tasks run
/// sandboxed, as production runs them.
fn local() -> bool {
    static LOCAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOCAL.get_or_init(|| !common::sandbox_available())
}

/// `taskotron run FORMULA -i ITEM -t TYPE -a ARCH --artifacts DIR` (with
/// `--local` when there is no sandbox), with `dir/taskotron.toml` as
/// TASKOTRON_CONFIG (so the checks the task runs read it too).
fn run(
    dir: &Path,
    formula: &Path,
    item: &str,
    item_type: &str,
    arch: &str,
    artifacts: &str,
) -> (Option<i32>, String) {
    let mut cmd = taskotron(dir);
    cmd.env("TASKOTRON_CONFIG", dir.join("taskotron.toml"))
        .arg("run")
        .arg(formula)
        .args(["-i", item, "-t", item_type, "-a", arch]);
    if local() {
        cmd.arg("--local");
    }
    let out = cmd
        .arg("--artifacts")
        .arg(dir.join(artifacts))
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// The results a run recorded in `taskotron/results.yml`, as
/// (item, type, outcome, arch, scenario, note).
fn results(dir: &Path, artifacts: &str) -> Vec<[String; 6]> {
    let text = std::fs::read_to_string(dir.join(artifacts).join("taskotron/results.yml")).unwrap();
    let doc = taskotron_task_format::parse_results(&text, "results.yml").unwrap();
    doc.results
        .iter()
        .map(|it| {
            let key = |name: &str| {
                it.keyvals
                    .get(name)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            [
                it.item.clone(),
                it.item_type.clone(),
                it.outcome.as_str().to_owned(),
                key("arch"),
                key("scenario"),
                it.note.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn log(dir: &Path, artifacts: &str) -> String {
    std::fs::read_to_string(dir.join(artifacts).join("taskotron/taskotron.log")).unwrap()
}

/// The results ResultsDB holds for a testcase, newest first.
fn stored(serve: &Serve, testcase: &str) -> Vec<Json> {
    serve
        .get(&format!("/api/v2.0/results?testcases={testcase}&limit=100"))
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn report_to(dir: &Path, serve: &Serve) {
    let path = dir.join("taskotron.toml");
    let mut config = std::fs::read_to_string(&path).unwrap_or_default();
    config.push_str(&format!("[resultsdb]\nurl = \"{}/api/v2.0\"\n", serve.base));
    std::fs::write(&path, config).unwrap();
}

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

#[test]
fn the_formulas_check() {
    for (name, item_type) in [
        ("dist.rpmlint", "koji_build"),
        ("dist.upgradepath", "bodhi_update"),
        ("dist.upgradepath", "koji_build"),
        ("dist.upgradepath", "koji_tag"),
        ("dist.depcheck", "koji_tag"),
    ] {
        let out = taskotron(&repo_root())
            .arg("check-formula")
            .arg(task(name))
            .args(["-t", item_type])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {:?}", texts(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rpmlint_task_reports_once_per_change() {
    if !have("rpmlint") {
        return;
    }
    let dir = scratch();
    let d = dir.path();
    if rpmbuild(NO_CHANGELOG, &[("tk_name", "tk-nolog")], &d.join("rpms")).is_none() {
        return;
    }
    std::fs::write(
        d.join("infra.yaml"),
        "bodhi:\n  releases:\n    - name: F44\n",
    )
    .unwrap();
    fake_infra(d).await;
    let serve = Serve::start(d);
    report_to(d, &serve);
    let formula = task("dist.rpmlint");

    // No rpmlintrc in dist-git: the missing changelog is an error.
    let (code, out) = run(
        d,
        &formula,
        "tk-nolog-1.0-1.fc44",
        "koji_build",
        "noarch",
        "a1",
    );
    assert_eq!(code, Some(100), "{out}");
    let first = results(d, "a1");
    assert_eq!(first.len(), 1, "{first:?}");
    let [item, kind, outcome, arch, scenario, note] = first[0].clone();
    assert_eq!(
        [item, kind, outcome, arch, scenario],
        [
            "tk-nolog-1.0-1.fc44",
            "koji_build",
            "FAILED",
            "noarch",
            "noarch"
        ]
    );
    assert!(
        note.starts_with("2 errors, ") && note.contains("tk-nolog.noarch: 1 errors"),
        "{note}"
    );
    assert!(d.join("a1/rpmlint.json").is_file());
    let rows = stored(&serve, "dist.rpmlint");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["data"]["scenario"], serde_json::json!(["noarch"]));
    assert_eq!(
        rows[0]["data"]["error_ids"],
        serde_json::json!(["no-changelogname-tag"])
    );

    // The same build again: nothing changed, nothing is reported, and the
    // log says why. The result is still recorded in results.yml.
    let (code, out) = run(
        d,
        &formula,
        "tk-nolog-1.0-1.fc44",
        "koji_build",
        "noarch",
        "a2",
    );
    assert_eq!(code, Some(100), "{out}");
    let id = rows[0]["id"].as_i64().unwrap();
    assert!(
        log(d, "a2").contains(&format!("not reported again: result {id} at ")),
        "{}",
        log(d, "a2")
    );
    assert_eq!(results(d, "a2").len(), 1);
    assert_eq!(stored(&serve, "dist.rpmlint").len(), 1);

    // The package's rpmlintrc in dist-git filters the error: a new outcome,
    // reported.
    let branch = d.join("distgit/rpms/tk-nolog/f44");
    std::fs::create_dir_all(&branch).unwrap();
    std::fs::write(
        branch.join("tk-nolog.rpmlintrc"),
        "addFilter(\"no-changelogname-tag\")\n",
    )
    .unwrap();
    let (code, out) = run(
        d,
        &formula,
        "tk-nolog-1.0-1.fc44",
        "koji_build",
        "noarch",
        "a3",
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(results(d, "a3")[0][2], "PASSED");
    let rows = stored(&serve, "dist.rpmlint");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["outcome"], "PASSED");
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_results_are_not_reported_again_unless_forced() {
    let dir = scratch();
    let d = dir.path();
    let serve = Serve::start(d);
    report_to(d, &serve);
    let formula = |note: &str, arch: &str, force: bool| {
        format!(
            "name: flood\nnamespace: scratch\nactions:\n  - name: report\n    resultsdb:\n      report_unchanged: {force}\n      results: |\n        results:\n          - item: foo-1.0-1.fc44\n            type: koji_build\n            outcome: FAILED\n            note: {note}\n            arch: {arch}\n            scenario: {arch}\n            tags: [a, 1]\n"
        )
    };
    let path = d.join("flood.yml");
    let mut runs = 0;
    let mut go = |text: String| {
        runs += 1;
        std::fs::write(&path, text).unwrap();
        let artifacts = format!("r{runs}");
        let (code, out) = run(
            d,
            &path,
            "foo-1.0-1.fc44",
            "koji_build",
            "noarch",
            &artifacts,
        );
        assert_eq!(code, Some(0), "{out}");
        log(d, &artifacts)
    };
    let count = || stored(&serve, "scratch.flood").len();

    go(formula("one problem", "x86_64", false));
    assert_eq!(count(), 1);
    // Identical (data lists included): skipped.
    let text = go(formula("one problem", "x86_64", false));
    assert!(text.contains("not reported again"), "{text}");
    assert_eq!(count(), 1);
    // Another arch is another subject.
    go(formula("one problem", "aarch64", false));
    assert_eq!(count(), 2);
    // The details changed.
    go(formula("two problems", "x86_64", false));
    assert_eq!(count(), 3);
    // ... and back: the latest differs again, so it is reported.
    go(formula("one problem", "x86_64", false));
    assert_eq!(count(), 4);
    // Forced.
    let text = go(formula("one problem", "x86_64", true));
    assert!(!text.contains("not reported again"), "{text}");
    assert_eq!(count(), 5);
}

const UPGRADE_INFRA: &str = "koji:
  tags: [f43, f43-updates, f43-updates-pending, f44, f44-updates, f44-updates-pending,
         f45, f45-updates, f45-updates-pending]
  builds:
    - nvr: tk-up-1.0-1.fc43
      tags: [f43]
    - nvr: tk-up-1.1-1.fc44
      tags: [f44-updates-pending]
    - nvr: tk-up-1.0-1.fc45
      tags: [f45]
bodhi:
  releases:
    - name: F43
    - name: F44
    - name: F45
  updates:
    - alias: FEDORA-2026-00000000up
      builds: [tk-up-1.1-1.fc44]
      release: F44
      request: stable
";

#[tokio::test(flavor = "multi_thread")]
async fn upgradepath_task_reports_each_build_and_the_update() {
    let dir = scratch();
    let d = dir.path();
    for (version, dist) in [("1.0", ".fc43"), ("1.1", ".fc44"), ("1.0", ".fc45")] {
        if build("tk-up", version, dist, None, &d.join("rpms")).is_none() {
            return;
        }
    }
    std::fs::write(d.join("infra.yaml"), UPGRADE_INFRA).unwrap();
    fake_infra(d).await;
    let formula = task("dist.upgradepath");
    let (code, out) = run(
        d,
        &formula,
        "FEDORA-2026-00000000up",
        "bodhi_update",
        "noarch",
        "u1",
    );
    assert_eq!(code, Some(100), "{out}");
    let got = results(d, "u1");
    let short: Vec<[&str; 5]> = got
        .iter()
        .map(|it| {
            [
                it[0].as_str(),
                it[1].as_str(),
                it[2].as_str(),
                it[3].as_str(),
                it[4].as_str(),
            ]
        })
        .collect();
    assert_eq!(
        short,
        [
            [
                "tk-up-1.1-1.fc44",
                "koji_build",
                "FAILED",
                "noarch",
                "noarch"
            ],
            [
                "FEDORA-2026-00000000up",
                "bodhi_update",
                "FAILED",
                "noarch",
                "noarch"
            ],
        ]
    );
    assert_eq!(
        got[0][5],
        "tk-up-1.1-1.fc44 into F44: F45: tk-up-1.0-1.fc45 is older than tk-up-1.1-1.fc44"
    );
    // A tag as the item: its builds and the tag.
    let (code, out) = run(
        d,
        &formula,
        "f44-updates-pending",
        "koji_tag",
        "noarch",
        "u4",
    );
    assert_eq!(code, Some(100), "{out}");
    let got: Vec<[String; 3]> = results(d, "u4")
        .into_iter()
        .map(|it| [it[0].clone(), it[1].clone(), it[2].clone()])
        .collect();
    assert_eq!(
        got,
        [
            ["tk-up-1.1-1.fc44", "koji_build", "FAILED"].map(str::to_owned),
            ["f44-updates-pending", "koji_tag", "FAILED"].map(str::to_owned),
        ]
    );
    // A single build as the item.
    let (code, out) = run(
        d,
        &formula,
        "tk-up-1.0-1.fc43",
        "koji_build",
        "noarch",
        "u2",
    );
    assert_eq!(code, Some(0), "{out}");
    let got = results(d, "u2");
    assert_eq!(got.len(), 1, "{got:?}");
    // F44's only build is pending push to stable: INFO.
    assert_eq!(got[0][2], "INFO");

    // A check that cannot decide crashes the task: no result at all, never
    // a PASSED, and the log says why.
    let (code, out) = run(
        d,
        &formula,
        "FEDORA-2026-ffffffffff",
        "bodhi_update",
        "noarch",
        "u3",
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(
        log(d, "u3").contains("Bodhi has no update FEDORA-2026-ffffffffff"),
        "{}",
        log(d, "u3")
    );
    assert!(!d.join("u3/taskotron/results.yml").exists());
}

/// A spec whose package needs something: `%{tk_requires}`.
const NEEDS: &str = r"Name:           %{tk_name}
Version:        1.0
Release:        1.fc44
Summary:        Taskotron depcheck test package
License:        MIT
BuildArch:      noarch
%{?tk_requires:Requires: %{tk_requires}}

%description
A package for Taskotron's check tests.

%install
mkdir -p %{buildroot}%{_datadir}/%{name}
echo 1 > %{buildroot}%{_datadir}/%{name}/version

%files
%{_datadir}/%{name}/version
";

#[expect(
    clippy::disallowed_methods,
    reason = "the test makes its repositories with the host's createrepo_c"
)]
fn createrepo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let out = <std::process::Command>::new("createrepo_c")
        .arg("--quiet")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn depcheck_task_reports_each_pending_build() {
    if !have("createrepo_c") {
        return;
    }
    let dir = scratch();
    let d = dir.path();
    // The release has tk-base; the pending tag holds one build that needs
    // it and one that needs something nobody provides.
    let base = d.join("mirror/releases/44/x86_64");
    let Some(_) = rpmbuild(NEEDS, &[("tk_name", "tk-base")], &base) else {
        return;
    };
    for file in std::fs::read_dir(&base).unwrap() {
        let path = file.unwrap().path();
        if path.to_str().unwrap().ends_with(".src.rpm") {
            std::fs::remove_file(path).unwrap();
        }
    }
    createrepo(&base);
    createrepo(&d.join("mirror/updates/44/x86_64"));
    let pending = d.join("rpms");
    rpmbuild(
        NEEDS,
        &[("tk_name", "tk-good"), ("tk_requires", "tk-base")],
        &pending,
    )
    .unwrap();
    rpmbuild(
        NEEDS,
        &[("tk_name", "tk-bad"), ("tk_requires", "tk-missing")],
        &pending,
    )
    .unwrap();
    std::fs::write(
        d.join("infra.yaml"),
        "koji:
  tags: [f44-updates-pending]
  builds:
    - nvr: tk-good-1.0-1.fc44
      tags: [f44-updates-pending]
    - nvr: tk-bad-1.0-1.fc44
      tags: [f44-updates-pending]
bodhi:
  releases:
    - name: F44
",
    )
    .unwrap();
    fake_infra(d).await;
    let mirror = serve_files(&d.join("mirror")).await;
    let mut config = std::fs::read_to_string(d.join("taskotron.toml")).unwrap();
    config.push_str(&format!(
        "[repos]\nrelease = \"{mirror}/releases/{{version}}/{{arch}}/\"\nupdates = \"{mirror}/updates/{{version}}/{{arch}}/\"\nupdates-testing = \"{mirror}/testing/{{version}}/{{arch}}/\"\n"
    ));
    std::fs::write(d.join("taskotron.toml"), config).unwrap();

    // Whether depcheck is there yet (it is built alongside).
    let probe = taskotron(d)
        .args(["check", "depcheck", "--arch", "x86_64", "--repo"])
        .arg(&base)
        .arg("--all")
        .output()
        .unwrap();
    if probe.status.code() != Some(0) {
        eprintln!(
            "skipped: taskotron check depcheck does not work yet: {:?}",
            texts(&probe)
        );
        return;
    }

    let (code, out) = run(
        d,
        &task("dist.depcheck"),
        "f44-updates-pending",
        "koji_tag",
        "x86_64",
        "d1",
    );
    assert_eq!(code, Some(100), "{out}");
    let got = results(d, "d1");
    let short: Vec<[&str; 5]> = got
        .iter()
        .map(|it| {
            [
                it[0].as_str(),
                it[1].as_str(),
                it[2].as_str(),
                it[3].as_str(),
                it[4].as_str(),
            ]
        })
        .collect();
    assert_eq!(
        short,
        [
            [
                "tk-bad-1.0-1.fc44",
                "koji_build",
                "FAILED",
                "x86_64",
                "x86_64"
            ],
            [
                "tk-good-1.0-1.fc44",
                "koji_build",
                "PASSED",
                "x86_64",
                "x86_64"
            ],
            [
                "f44-updates-pending",
                "koji_tag",
                "FAILED",
                "x86_64",
                "x86_64"
            ],
        ]
    );
    assert!(
        got[0][5].contains("nothing provides tk-missing needed by tk-bad-1.0-1.fc44.noarch"),
        "{}",
        got[0][5]
    );
}
