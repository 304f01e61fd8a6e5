//! Test RPMs, built with rpmbuild from the spec files in
//! `tests/fixtures/rpms/`, and a fake infrastructure directory around them.

use std::path::{Path, PathBuf};

/// Whether a missing tool fails the test (scripts/test sets it) or skips it.
pub(crate) fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// Run a program of the host (rpmbuild, python): the tests are not Taskotron
/// and do not go through its runner.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run host tools directly to build fixtures"
)]
pub(crate) fn host_command(program: &str) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// Build `spec` (with `defines`) into `out`; `None` when rpmbuild is missing
/// and not required.
pub(crate) fn rpmbuild(spec: &str, defines: &[(&str, &str)], out: &Path) -> Option<Vec<PathBuf>> {
    let topdir = tempfile::tempdir().unwrap();
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rpms")
        .join(spec);
    let mut cmd = host_command("rpmbuild");
    cmd.arg("--quiet")
        .arg("-ba")
        .arg("--define")
        .arg(format!("_topdir {}", topdir.path().display()));
    for (name, value) in defines {
        cmd.arg("--define").arg(format!("{name} {value}"));
    }
    cmd.arg(&spec_path);
    match cmd.output() {
        Ok(output) => assert!(
            output.status.success(),
            "rpmbuild {spec} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            eprintln!("skipped: rpmbuild cannot run ({err}); scripts/test installs it");
            return None;
        }
    }
    let mut built = Vec::new();
    for sub in ["SRPMS", "RPMS/noarch"] {
        for entry in std::fs::read_dir(topdir.path().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let dest = out.join(path.file_name().unwrap());
            std::fs::copy(&path, &dest).unwrap();
            built.push(dest);
        }
    }
    built.sort();
    Some(built)
}

/// A directory with tk-hello 1.2-3.fc44 (two binary RPMs), tk-other
/// 1.0-1.fc44 and 1.1-1.fc44 (epoch 2), and an `infra.yaml` that tags them.
pub(crate) fn infra_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let rpms = dir.path().join("rpms");
    std::fs::create_dir(&rpms).unwrap();
    rpmbuild("tk-hello.spec", &[], &rpms)?;
    rpmbuild("tk-other.spec", &[("tk_version", "1.0")], &rpms)?;
    rpmbuild("tk-other.spec", &[("tk_version", "1.1")], &rpms)?;
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  tags: [f44]\n  builds:\n\
         \x20   - nvr: tk-other-1.0-1.fc44\n      epoch: 2\n      completed: 2026-11-01T08:00:00Z\n      tags: [f44]\n\
         \x20   - nvr: tk-other-1.1-1.fc44\n      epoch: 2\n      owner: bob\n      completed: 2026-11-10T08:00:00Z\n      tags: [f44-updates-candidate, f44]\n\
         \x20   - nvr: tk-hello-1.2-3.fc44\n      owner: alice\n      completed: 2026-11-20T10:20:00Z\n      task_id: 140000001\n      tags: [f44-updates-candidate]\n\
         \x20   - nvr: tk-broken-1-1.fc44\n      state: failed\n",
    )
    .unwrap();
    Some(dir)
}
