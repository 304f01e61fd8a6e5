//! What the tests share: the real CentOS Stream 9 data, small primary
//! documents, and test RPMs built with rpmbuild and indexed with
//! createrepo_c.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::path::{Path, PathBuf};

/// The CentOS Stream 9 metadata in the workplace's shared data, never
/// copied into the repository.
pub(crate) fn centos(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/centos-stream-9")
        .join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// Whether a missing tool fails the test (scripts/test sets it) or skips it.
pub(crate) fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// Run a program of the host (rpmbuild, createrepo_c): the tests build
/// their fixtures with the real tools.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run host tools directly to build fixtures"
)]
pub(crate) fn host_command(program: &str) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// Run `cmd`; `false` when its program is missing and not required.
fn run(mut cmd: std::process::Command, what: &str) -> bool {
    match cmd.output() {
        Ok(output) => {
            assert!(
                output.status.success(),
                "{what} failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            true
        }
        Err(err) => {
            assert!(!required(), "{what} cannot run: {err}");
            eprintln!("skipped: {what} cannot run ({err}); scripts/test installs it");
            false
        }
    }
}

/// Build the test RPMs (binary and source) of `tests/fixtures/rpms/` into
/// `out`; `None` when rpmbuild is missing and not required.
pub(crate) fn build_rpms(out: &Path) -> Option<Vec<PathBuf>> {
    let topdir = tempfile::tempdir().unwrap();
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpms");
    for spec in ["tr-base.spec", "tr-app.spec"] {
        let mut cmd = host_command("rpmbuild");
        cmd.arg("--quiet")
            .arg("-ba")
            .arg("--nodeps")
            .arg("--define")
            .arg(format!("_topdir {}", topdir.path().display()))
            .arg(specs.join(spec));
        if !run(cmd, "rpmbuild") {
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

/// A repository directory made by createrepo_c over the test RPMs, with
/// the RPMs' paths; `None` when a tool is missing and not required.
pub(crate) fn createrepo() -> Option<(tempfile::TempDir, Vec<PathBuf>)> {
    let dir = tempfile::tempdir().unwrap();
    let rpms = build_rpms(dir.path())?;
    let mut cmd = host_command("createrepo_c");
    cmd.arg("--quiet").arg("--no-database").arg(dir.path());
    if !run(cmd, "createrepo_c") {
        return None;
    }
    Some((dir, rpms))
}

/// A primary.xml with two packages, one rich dependency and a file name
/// with an escaped character.
pub(crate) const SMALL_PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>foo</name>
  <arch>x86_64</arch>
  <version epoch="1" ver="2.0" rel="3.el9"/>
  <checksum type="sha256" pkgid="YES">aaaa</checksum>
  <summary>Foo &amp; more</summary>
  <description>Has &lt;elements&gt; in text.</description>
  <location href="Packages/foo-2.0-3.el9.x86_64.rpm"/>
  <format>
    <rpm:sourcerpm>foo-2.0-3.el9.src.rpm</rpm:sourcerpm>
    <rpm:provides>
      <rpm:entry name="foo" flags="EQ" epoch="1" ver="2.0" rel="3.el9"/>
      <rpm:entry name="foo(x86-64)" flags="EQ" epoch="1" ver="2.0" rel="3.el9"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="bar" flags="GE" epoch="0" ver="1.5"/>
      <rpm:entry name="(baz &gt;= 2 or qux)"/>
    </rpm:requires>
    <rpm:conflicts>
      <rpm:entry name="oldfoo" flags="LT" epoch="0" ver="1.0" rel="1"/>
    </rpm:conflicts>
    <file>/usr/bin/foo</file>
    <file type="dir">/etc/foo</file>
    <file type="ghost">/etc/foo/a&amp;b.conf</file>
  </format>
</package>
<package type="rpm">
  <name>bar</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.5" rel="1"/>
  <checksum type="sha256" pkgid="YES">bbbb</checksum>
  <location href="Packages/bar-1.5-1.noarch.rpm"/>
  <format>
    <rpm:sourcerpm>bar-1.5-1.src.rpm</rpm:sourcerpm>
    <rpm:provides>
      <rpm:entry name="bar" flags="EQ" epoch="0" ver="1.5" rel="1"/>
    </rpm:provides>
  </format>
</package>
</metadata>
"#;
