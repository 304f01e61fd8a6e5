//! depcheck's verdicts on large data against the python3-solv oracle's,
//! recorded in tests/data/expected by scripts/depcheck-expected: the CentOS
//! Stream 9 AppStream against the 2022 BaseOS, and Debian bookworm's
//! package graph converted to rpm-md (variants A and B).

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskotron_depcheck::taskotron_repo::open_repo;
use taskotron_depcheck::{ArchPolicy, Checker, Pool, Role};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn centos(name: &str) -> PathBuf {
    let path = manifest()
        .join("../../../shared/data/centos-stream-9")
        .join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

fn expected(name: &str) -> BTreeSet<String> {
    let path = manifest().join("tests/data/expected").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    text.lines().map(str::to_owned).collect()
}

fn broken(arch: &str, repos: &[(PathBuf, Role)]) -> BTreeSet<String> {
    let opened: Vec<_> = repos
        .iter()
        .map(|(path, role)| (open_repo(path, None).unwrap(), *role))
        .collect();
    let roles: Vec<_> = opened.iter().map(|(repo, role)| (repo, *role)).collect();
    let pool = Pool::new(ArchPolicy::new(arch).unwrap(), &roles);
    let checker = Checker::new(&pool);
    let verdicts = checker.check_many(&pool.candidates(), 2);
    for verdict in &verdicts {
        if !verdict.installable() {
            assert!(!verdict.reasons.is_empty());
            assert!(
                verdict
                    .reasons
                    .iter()
                    .all(|it| !it.starts_with("depcheck gave up")),
                "{verdict:?}"
            );
        }
    }
    verdicts
        .into_iter()
        .filter(|it| !it.installable())
        .map(|it| it.nevra)
        .collect()
}

fn assert_same(ours: &BTreeSet<String>, theirs: &BTreeSet<String>, what: &str) {
    let only_ours: Vec<_> = ours.difference(theirs).take(10).collect();
    let only_theirs: Vec<_> = theirs.difference(ours).take(10).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{what}: {} broken for depcheck, {} for the oracle; only depcheck: {only_ours:?}; only the oracle: {only_theirs:?}",
        ours.len(),
        theirs.len()
    );
}

#[test]
fn centos_stream_9_appstream_against_the_2022_baseos() {
    let ours = broken(
        "x86_64",
        &[
            (centos("appstream-primary.xml.gz"), Role::Check),
            (centos("baseos-2022-primary.xml.gz"), Role::Base),
        ],
    );
    let theirs = expected("cs9-appstream-x86_64.broken");
    assert_eq!(theirs.len(), 6706, "the recorded verdicts changed size");
    assert_same(&ours, &theirs, "CS9 AppStream");
}

/// Convert the pinned Debian snapshot with scripts/depcheck-deb2rpmmd.
#[expect(
    clippy::disallowed_methods,
    reason = "the test runs the repository's conversion script"
)]
fn converted(dir: &Path, clean: bool) -> PathBuf {
    let out = dir.join(if clean {
        "b-primary.xml.gz"
    } else {
        "a-primary.xml.gz"
    });
    let mut cmd = <std::process::Command>::new("python3");
    cmd.arg(manifest().join("../../scripts/depcheck-deb2rpmmd"));
    if clean {
        cmd.arg("--clean");
    }
    let status = cmd
        .arg(manifest().join("tests/data/debian-bookworm-main-amd64.Packages.xz"))
        .arg(&out)
        .status()
        .expect("python3 runs the conversion (scripts/test installs it)");
    assert!(status.success(), "depcheck-deb2rpmmd failed");
    out
}

#[test]
fn debian_graph_as_rpm_md_variant_b() {
    let dir = tempfile::tempdir().unwrap();
    let ours = broken("x86_64", &[(converted(dir.path(), true), Role::Check)]);
    let theirs = expected("deb-b-x86_64.broken");
    assert_eq!(theirs.len(), 608);
    assert_same(&ours, &theirs, "Debian variant B");
}

#[test]
fn debian_graph_as_rpm_md_variant_a() {
    let dir = tempfile::tempdir().unwrap();
    let ours = broken("x86_64", &[(converted(dir.path(), false), Role::Check)]);
    let theirs = expected("deb-a-x86_64.broken");
    assert_eq!(theirs.len(), 15466);
    assert_same(&ours, &theirs, "Debian variant A");
}
