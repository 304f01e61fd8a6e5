//! The `koji`, `bodhi`, `distgit` and `yumrepoinfo` directives, run by the
//! real `taskotron run` against `fake-infra` serving RPMs built here with
//! rpmbuild: what they download, what they return, what they refuse.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{taskotron, texts};
use serde_json::Value as Json;

const SPEC: &str = r"Name:           tk-dl
Version:        %{tk_version}
Release:        1.fc44
Summary:        Taskotron download test package
License:        MIT
%global debug_package %{nil}

%description
A package with an arch-specific part, a noarch part and a debuginfo part.

%package data
Summary:        Its data
BuildArch:      noarch

%description data
Its data.

%package debuginfo
Summary:        Pretend debug information

%description debuginfo
Pretend debug information.

%install
mkdir -p %{buildroot}%{_datadir}/tk-dl
echo %{tk_version} > %{buildroot}%{_datadir}/tk-dl/version

%files

%files data
%{_datadir}/tk-dl/version

%files debuginfo
";

fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// Build tk-dl at `version` into `out`; false when rpmbuild is missing and
/// not required.
#[expect(
    clippy::disallowed_methods,
    reason = "the test builds its fixture RPMs with the host's rpmbuild"
)]
fn rpmbuild(version: &str, out: &Path) -> bool {
    let top = tempfile::tempdir().unwrap();
    let spec = top.path().join("tk-dl.spec");
    std::fs::write(&spec, SPEC).unwrap();
    let result = <std::process::Command>::new("rpmbuild")
        .arg("--quiet")
        .arg("-ba")
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()))
        .arg("--define")
        .arg(format!("tk_version {version}"))
        .arg(&spec)
        .output();
    match result {
        Ok(output) => assert!(
            output.status.success(),
            "rpmbuild failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            return false;
        }
    }
    for entry in walk(&top.path().join("RPMS"))
        .into_iter()
        .chain(walk(&top.path().join("SRPMS")))
    {
        std::fs::copy(&entry, out.join(entry.file_name().unwrap())).unwrap();
    }
    true
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

const INFRA: &str = "koji:
  builds:
    - nvr: tk-dl-1.0-1.fc44
      tags: [f44-updates-candidate, f44-updates]
    - nvr: tk-dl-2.0-1.fc44
      tags: [f44-updates-candidate, f44-updates-testing-pending]
    - nvr: tk-broken-1-1.fc44
      state: failed
bodhi:
  releases:
    - name: F44
  updates:
    - alias: FEDORA-2026-00000000aa
      builds: [tk-dl-2.0-1.fc44]
      release: F44
";

const FORMULA: &str = r#"name: fedora-sources
input: {args: [koji_build]}
actions:
  - name: the build for x86_64, with logs
    koji: {action: download, koji_build: "${koji_build}", arch: x86_64, build_log: true, target_dir: build}
    export: build
  - name: everything
    koji: {action: download, koji_build: "${koji_build}", src: true, debuginfo: true, target_dir: all}
    export: all
  - name: latest stable
    koji: {action: download_latest_stable, koji_build: "${koji_build}", arch: [], target_dir: stable}
    export: stable
  - name: a tag
    koji: {action: download_tag, koji_tag: f44-updates, arch: x86_64, arch_exclude: noarch, target_dir: tag}
    export: tag
  - name: the update
    bodhi: {action: download, update_id: FEDORA-2026-00000000aa, arch: [], target_dir: update}
    export: update
  - name: dist-git files
    distgit: {nvr: "${koji_build}", path: [tk-dl.spec, tests/gating.yaml], localpath: [tk-dl.spec, ci/gating.yaml], target_dir: dg}
    export: files
  - name: a file that may be missing
    distgit: {package: tk-dl, path: nope.txt, ignore_missing: true, target_dir: dg2}
    export: missing
  - name: repositories
    yumrepoinfo: {koji_tag: f44-updates-testing-pending, arch: [x86_64, aarch64]}
    export: repos
"#;

struct Setup {
    infra: tempfile::TempDir,
    task: tempfile::TempDir,
    base: String,
}

async fn setup(formula: &str) -> Option<Setup> {
    let infra = tempfile::tempdir().unwrap();
    let rpms = infra.path().join("rpms");
    std::fs::create_dir_all(&rpms).unwrap();
    if !rpmbuild("1.0", &rpms) || !rpmbuild("2.0", &rpms) {
        return None;
    }
    std::fs::write(infra.path().join("infra.yaml"), INFRA).unwrap();
    let f44 = infra.path().join("distgit/rpms/tk-dl/f44");
    std::fs::create_dir_all(f44.join("tests")).unwrap();
    std::fs::write(f44.join("tk-dl.spec"), SPEC).unwrap();
    std::fs::write(f44.join("tests/gating.yaml"), "--- !Policy\n").unwrap();
    let addr = taskotron_fake_infra::spawn(infra.path(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let task = tempfile::tempdir().unwrap();
    std::fs::write(task.path().join("runtask.yml"), formula).unwrap();
    std::fs::write(
        task.path().join("taskotron.toml"),
        format!(
            "[server]\ndata-dir = \"data\"\n\
             [koji]\nhub-url = \"{base}/kojihub\"\npkgs-url = \"{base}/kojipkgs\"\n\
             [bodhi]\nurl = \"{base}/bodhi/\"\n\
             [distgit]\nurl = \"{base}/distgit\"\n\
             [repos]\nrelease = \"{base}/mirror/releases/{{version}}/{{arch}}/\"\n\
             updates = \"{base}/mirror/updates/{{version}}/{{arch}}/\"\n\
             updates-testing = \"{base}/mirror/testing/{{version}}/{{arch}}/\"\n"
        ),
    )
    .unwrap();
    Some(Setup { infra, task, base })
}

impl Setup {
    fn run(&self, artifacts: &str, item: &str) -> std::process::Output {
        taskotron(self.task.path())
            .env("TASKOTRON_CONFIG", "taskotron.toml")
            .args([
                "run",
                "runtask.yml",
                "-i",
                item,
                "-t",
                "koji_build",
                "--local",
                "--keep-workdir",
                "--artifacts",
                artifacts,
            ])
            .output()
            .unwrap()
    }

    fn vars(&self, artifacts: &str) -> Json {
        let path = self
            .task
            .path()
            .join(artifacts)
            .join("taskotron/task_vars.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn task_log(&self, artifacts: &str) -> String {
        std::fs::read_to_string(
            self.task
                .path()
                .join(artifacts)
                .join("taskotron/taskotron.log"),
        )
        .unwrap()
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// The file names of a list of paths, sorted.
fn names(value: &Json) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|it| {
            let path = Path::new(it.as_str().unwrap());
            assert!(path.is_file(), "{} was not downloaded", path.display());
            path.file_name().unwrap().to_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn directives_download_what_koji_bodhi_and_distgit_serve() {
    let Some(setup) = setup(FORMULA).await else {
        return;
    };
    let arch = std::env::consts::ARCH;
    let out = setup.run("a1", "tk-dl-2.0-1.fc44");
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    let vars = setup.vars("a1");

    // The arch's package and noarch, never debuginfo unless asked; one log per arch.
    assert_eq!(
        names(&vars["build"]["downloaded_rpms"]),
        sorted(vec![
            format!("tk-dl-2.0-1.fc44.{arch}.rpm"),
            "tk-dl-data-2.0-1.fc44.noarch.rpm".to_owned()
        ])
    );
    assert_eq!(
        names(&vars["build"]["downloaded_logs"]),
        sorted(vec![
            format!("build.log.{arch}"),
            "build.log.noarch".to_owned()
        ])
    );
    assert_eq!(vars["build"]["log_errors"], serde_json::json!([]));
    let log =
        std::fs::read_to_string(vars["build"]["downloaded_logs"][0].as_str().unwrap()).unwrap();
    assert!(log.contains("tk-dl-2.0-1.fc44"), "{log}");
    let build_dir = setup.task.path().join("data/work");
    assert!(
        Path::new(vars["build"]["downloaded_rpms"][0].as_str().unwrap())
            .starts_with(std::fs::canonicalize(&build_dir).unwrap()),
        "target_dir is relative to the work directory: {}",
        vars["build"]
    );
    // The downloaded file is the RPM Koji serves, byte for byte.
    let original = setup
        .infra
        .path()
        .join(format!("rpms/tk-dl-2.0-1.fc44.{arch}.rpm"));
    let fetched = vars["build"]["downloaded_rpms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it.as_str().unwrap())
        .find(|it| it.ends_with(&format!(".{arch}.rpm")))
        .unwrap();
    assert_eq!(
        std::fs::read(fetched).unwrap(),
        std::fs::read(original).unwrap()
    );

    assert_eq!(
        names(&vars["all"]["downloaded_rpms"]),
        sorted(vec![
            format!("tk-dl-2.0-1.fc44.{arch}.rpm"),
            "tk-dl-2.0-1.fc44.src.rpm".to_owned(),
            format!("tk-dl-debuginfo-2.0-1.fc44.{arch}.rpm"),
            "tk-dl-data-2.0-1.fc44.noarch.rpm".to_owned(),
        ])
    );
    // arch: [] means noarch only; the stable build is 1.0, in f44-updates.
    assert_eq!(
        names(&vars["stable"]["downloaded_rpms"]),
        ["tk-dl-data-1.0-1.fc44.noarch.rpm"]
    );
    assert_eq!(
        names(&vars["tag"]["downloaded_rpms"]),
        [format!("tk-dl-1.0-1.fc44.{arch}.rpm")]
    );
    assert_eq!(
        names(&vars["update"]["downloaded_rpms"]),
        ["tk-dl-data-2.0-1.fc44.noarch.rpm"]
    );

    // dist-git: the branch comes from the NVR's Bodhi release; local names as asked.
    assert_eq!(
        names(&vars["files"]["downloaded_files"]),
        ["gating.yaml", "tk-dl.spec"]
    );
    let gating = vars["files"]["downloaded_files"][1].as_str().unwrap();
    assert!(gating.ends_with("dg/ci/gating.yaml"), "{gating}");
    assert_eq!(std::fs::read_to_string(gating).unwrap(), "--- !Policy\n");
    assert_eq!(vars["missing"]["downloaded_files"], serde_json::json!([]));

    // The testing tag stands for testing, updates and the release, per arch.
    let base = &setup.base;
    assert_eq!(
        vars["repos"],
        serde_json::json!({
            "f44-updates-testing": {
                "aarch64": format!("{base}/mirror/testing/44/aarch64/"),
                "x86_64": format!("{base}/mirror/testing/44/x86_64/"),
            },
            "f44-updates": {
                "aarch64": format!("{base}/mirror/updates/44/aarch64/"),
                "x86_64": format!("{base}/mirror/updates/44/x86_64/"),
            },
            "f44": {
                "aarch64": format!("{base}/mirror/releases/44/aarch64/"),
                "x86_64": format!("{base}/mirror/releases/44/x86_64/"),
            },
        })
    );

    // `taskotron repos` shows the same mapping, newest layer first.
    let out = taskotron(setup.task.path())
        .env("TASKOTRON_CONFIG", "taskotron.toml")
        .args(["repos", "f44-updates-pending", "--arch", "x86_64"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "f44-updates\n  x86_64   {base}/mirror/updates/44/x86_64/\nf44\n  x86_64   {base}/mirror/releases/44/x86_64/\n"
        )
    );

    // A second run finds every RPM in the shared cache.
    let again = setup.run("a2", "tk-dl-2.0-1.fc44");
    assert_eq!(again.status.code(), Some(0), "{:?}", texts(&again));
    let log = setup.task_log("a2");
    assert!(
        log.contains("downloading 2/2 files, 0.0 MiB of") && log.contains("(2 from the cache)"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn directives_fail_with_the_reason() {
    let formula = "name: fails
input: {args: [koji_build]}
actions:
  - name: download
    koji: {action: download, koji_build: \"${koji_build}\"}
";
    let Some(setup) = setup(formula).await else {
        return;
    };
    for (item, want) in [
        ("tk-none-1-1.fc44", "Koji has no build tk-none-1-1.fc44"),
        (
            "tk-broken-1-1.fc44",
            "build tk-broken-1-1.fc44 is failed; only complete builds have RPMs to download",
        ),
    ] {
        let out = setup.run(item, item);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }

    for (name, action, want) in [
        (
            "d1",
            "distgit: {package: tk-dl, gitref: f44, path: nope.txt}",
            "/distgit/rpms/tk-dl/raw/f44/f/nope.txt: not found (HTTP 404)",
        ),
        (
            "r1",
            "yumrepoinfo: {koji_tag: f12-updates, arch: x86_64}",
            "Koji tag `f12-updates` belongs to no Bodhi release",
        ),
        // Escaping the work and artifacts directories is refused before anything is fetched.
        (
            "t1",
            "koji: {action: download, koji_build: tk-dl-2.0-1.fc44, target_dir: /tmp}",
            "is outside the directories a directive may use",
        ),
    ] {
        std::fs::write(
            setup.task.path().join("runtask.yml"),
            format!("name: fails\nactions:\n  - name: fails\n    {action}\n  - name: never\n    dummy: {{result: PASS}}\n"),
        )
        .unwrap();
        let out = setup.run(name, "tk-dl-2.0-1.fc44");
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(3), "{action}: {stderr}");
        assert!(stderr.contains(want), "{action}: {stderr}");
    }
}

#[test]
fn formulas_missing_what_an_action_needs_are_rejected_before_running() {
    let task = tempfile::tempdir().unwrap();
    std::fs::write(
        task.path().join("runtask.yml"),
        "name: bad
actions:
  - name: tag without a tag
    koji: {action: download_tag}
  - name: both
    distgit: {package: a, nvr: a-1-1, path: x}
  - name: typo
    bodhi: {action: download, update: FEDORA-1}
",
    )
    .unwrap();
    let out = taskotron(task.path())
        .args(["check-formula", "runtask.yml"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    let all = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(2), "{all}");
    for want in [
        "`koji` with `action: download_tag` needs the parameter `koji_tag`",
        "`distgit` takes only one of `package` or `nvr`",
        "`bodhi` has no parameter `update`",
        "`bodhi` needs the parameter `update_id`",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn symlinks_planted_by_a_task_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "original").unwrap();
    let formula = format!(
        "name: planted
actions:
  - name: plant a file link and a directory link
    shell:
      - mkdir -p ${{workdir}}/dg
      - ln -s {victim} ${{workdir}}/dg/tk-dl.spec
      - ln -s {outside} ${{workdir}}/dg/sub
  - name: fetch over the file link
    distgit: {{package: tk-dl, gitref: f44, path: tk-dl.spec, target_dir: dg}}
    export: fetched
  - name: fetch through the directory link
    distgit: {{package: tk-dl, gitref: f44, path: tk-dl.spec, localpath: sub/x.spec, target_dir: dg}}
",
        victim = victim.display(),
        outside = outside.path().display()
    );
    let Some(setup) = setup(&formula).await else {
        return;
    };
    let out = setup.run("s1", "tk-dl-2.0-1.fc44");
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("leads outside"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "original");
    assert!(!outside.path().join("x.spec").exists());
    let vars = setup.vars("s1");
    let fetched = vars["fetched"]["downloaded_files"][0].as_str().unwrap();
    let meta = std::fs::symlink_metadata(fetched).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by the file"
    );
    assert_eq!(std::fs::read_to_string(fetched).unwrap(), SPEC);
}
