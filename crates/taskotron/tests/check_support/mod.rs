//! Helpers of the `check_*` tests: RPMs built with the host's rpmbuild, and
//! `fake-infra` serving them with a configuration pointing at it.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared test helpers: each test file uses some of them, and they fail loudly"
)]

use std::path::{Path, PathBuf};

/// Whether the test script requires every tool (then a missing one fails).
pub(crate) fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// A spec for a small noarch package; `%{tk_name}`, `%{tk_version}`,
/// `%{dist}` and optionally `%{tk_epoch}` are defined by [`rpmbuild`].
pub(crate) const SPEC: &str = r"Name:           %{tk_name}
%{?tk_epoch:Epoch: %{tk_epoch}}
Version:        %{tk_version}
Release:        1%{?dist}
Summary:        Taskotron check test package
License:        MIT
URL:            https://example.org/tk
BuildArch:      noarch

%description
A package for Taskotron's check tests.

%install
mkdir -p %{buildroot}%{_datadir}/%{name}
echo %{version} > %{buildroot}%{_datadir}/%{name}/version

%files
%{_datadir}/%{name}/version

%changelog
* Fri Nov 20 2026 Tester <tester@example.org> - %{tk_version}-1
- Built for a test.
";

/// Build `spec` (binary and source RPMs) with these `--define`s into
/// `out`; the files made, or `None` when rpmbuild is missing and not required.
#[expect(
    clippy::disallowed_methods,
    reason = "the test builds its fixture RPMs with the host's rpmbuild"
)]
pub(crate) fn rpmbuild(spec: &str, defines: &[(&str, &str)], out: &Path) -> Option<Vec<PathBuf>> {
    let top = tempfile::tempdir().unwrap();
    let spec_path = top.path().join("tk.spec");
    std::fs::write(&spec_path, spec).unwrap();
    let mut cmd = std::process::Command::new("rpmbuild");
    cmd.arg("--quiet")
        .arg("-ba")
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()));
    for (name, value) in defines {
        cmd.arg("--define").arg(format!("{name} {value}"));
    }
    match cmd.arg(&spec_path).output() {
        Ok(output) => assert!(
            output.status.success(),
            "rpmbuild failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            eprintln!("skipped: rpmbuild cannot run: {err}");
            return None;
        }
    }
    std::fs::create_dir_all(out).unwrap();
    let mut made = Vec::new();
    for entry in walk(&top.path().join("RPMS"))
        .into_iter()
        .chain(walk(&top.path().join("SRPMS")))
    {
        let to = out.join(entry.file_name().unwrap());
        std::fs::copy(&entry, &to).unwrap();
        made.push(to);
    }
    made.sort();
    Some(made)
}

/// Build `name` at `version` for a dist tag (`.fc44`), with an epoch if given.
pub(crate) fn build(
    name: &str,
    version: &str,
    dist: &str,
    epoch: Option<&str>,
    out: &Path,
) -> Option<Vec<PathBuf>> {
    let mut defines = vec![("tk_name", name), ("tk_version", version), ("dist", dist)];
    if let Some(epoch) = epoch {
        defines.push(("tk_epoch", epoch));
    }
    rpmbuild(SPEC, &defines, out)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Whether a host program runs; false (and a note) when it does not and the
/// test script does not require it.
#[expect(
    clippy::disallowed_methods,
    reason = "probing a host tool the test needs"
)]
pub(crate) fn have(program: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        assert!(!required(), "{program} is not installed");
        eprintln!("skipped: {program} is not installed");
    }
    ok
}

/// `fake-infra` over `dir`, and a `taskotron.toml` in `dir` pointing at it.
pub(crate) async fn fake_infra(dir: &Path) -> String {
    let addr = taskotron_fake_infra::spawn(dir, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    std::fs::write(
        dir.join("taskotron.toml"),
        format!(
            "[server]\ndata-dir = \"{data}\"\n\
             [koji]\nhub-url = \"{base}/kojihub\"\npkgs-url = \"{base}/kojipkgs\"\n\
             [bodhi]\nurl = \"{base}/bodhi/\"\n\
             [distgit]\nurl = \"{base}/distgit\"\n",
            data = dir.join("data").display()
        ),
    )
    .unwrap();
    base
}

/// POST a JSON body to fake-infra's admin API; panics unless it answers 2xx.
pub(crate) async fn admin(base: &str, path: &str, body: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
}
