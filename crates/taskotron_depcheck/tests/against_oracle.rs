//! Small repositories built with rpmbuild and createrepo_c, one package
//! per semantic of the spec, checked by depcheck and by the python3-solv
//! oracle (scripts/depcheck-oracle) live: the verdicts must be identical.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use taskotron_depcheck::taskotron_repo::{Repo, open_repo};
use taskotron_depcheck::{ArchPolicy, Checker, Pool, Role};

/// A test package: name, epoch:version, arch, spec tags, and extra files
/// (`path` → content; `/usr/share/NAME/data` is always shipped).
struct Spec {
    name: &'static str,
    version: &'static str,
    arch: &'static str,
    tags: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const fn pkg(
    name: &'static str,
    version: &'static str,
    arch: &'static str,
    tags: &'static str,
) -> Spec {
    Spec {
        name,
        version,
        arch,
        tags,
        files: &[],
    }
}

const BASE: &[Spec] = &[
    pkg("libfoo", "1.0", "noarch", "Provides: libfoo.so.1()(64bit)"),
    pkg(
        "foo",
        "1.0",
        "noarch",
        "Requires: libfoo.so.1()(64bit)\nRequires: /usr/bin/barcmd",
    ),
    Spec {
        name: "bar",
        version: "1.0",
        arch: "noarch",
        tags: "AutoReq: yes",
        files: &[("/usr/bin/barcmd", "#!/bin/sh\necho bar\n")],
    },
    Spec {
        name: "sh",
        version: "1.0",
        arch: "noarch",
        tags: "",
        files: &[("/bin/sh", "not a shell\n")],
    },
    pkg("broken", "1.0", "noarch", "Requires: does-not-exist >= 2.0"),
    pkg("needsbroken", "1.0", "noarch", "Requires: broken"),
    pkg(
        "rich",
        "1.0",
        "noarch",
        "Requires: (foo and (bar or baz))\nRequires: (libfoo if foo)",
    ),
    pkg(
        "richbad",
        "1.0",
        "noarch",
        "Requires: (foo and nonexistent-pkg)",
    ),
    pkg(
        "conflicter",
        "1.0",
        "noarch",
        "Requires: foo\nConflicts: foo",
    ),
    pkg("oldver", "2.0", "noarch", "Requires: libfoo > 5"),
    pkg("releaseless", "1.0", "noarch", "Requires: libfoo = 1.0"),
    pkg("notgreater", "1.0", "noarch", "Requires: libfoo > 1.0"),
    pkg(
        "obsoleter",
        "1.0",
        "noarch",
        "Obsoletes: bar < 2\nProvides: bar = 2.0",
    ),
    pkg(
        "needsobs",
        "1.0",
        "noarch",
        "Requires: obsoleter\nRequires: /usr/bin/barcmd",
    ),
    pkg("libbar", "1.0", "x86_64", "Provides: libbar.so.1()(64bit)"),
    pkg("libbar", "1.0", "i686", "Provides: libbar.so.1"),
    pkg("needs32", "1.0", "x86_64", "Requires: libbar.so.1"),
    pkg("needs64", "1.0", "x86_64", "Requires: libbar.so.1()(64bit)"),
    pkg(
        "needsboth",
        "1.0",
        "x86_64",
        "Requires: libbar.so.1\nRequires: libbar = 1.0",
    ),
    pkg("epochy", "1:0.5", "noarch", ""),
    pkg("needsepoch", "1.0", "noarch", "Requires: epochy >= 2.0"),
    pkg("needsepoch2", "1.0", "noarch", "Requires: epochy >= 2:0.1"),
    pkg(
        "selfcon",
        "1.0",
        "noarch",
        "Provides: selfcon-cap\nConflicts: selfcon-cap",
    ),
    pkg(
        "vercon",
        "1.0",
        "noarch",
        "Requires: libfoo\nConflicts: libfoo >= 1.0",
    ),
    pkg(
        "vercon-ok",
        "1.0",
        "noarch",
        "Requires: libfoo\nConflicts: libfoo < 1.0",
    ),
    pkg("dup", "1.0", "noarch", "Provides: dup-one"),
    pkg("dup", "2.0", "noarch", "Provides: dup-two"),
    pkg(
        "needsdup",
        "1.0",
        "noarch",
        "Requires: dup-one\nRequires: dup-two",
    ),
    pkg("needsdup-ok", "1.0", "noarch", "Requires: dup >= 1.5"),
    pkg(
        "withdep",
        "1.0",
        "x86_64",
        "Requires: (libbar with libbar.so.1)",
    ),
    pkg(
        "withoutdep",
        "1.0",
        "x86_64",
        "Requires: (libbar without libbar.so.1)",
    ),
    pkg("unlessc", "1.0", "noarch", "Conflicts: (nothere unless sh)"),
    pkg(
        "unlessc2",
        "1.0",
        "noarch",
        "Requires: sh\nConflicts: (nothere unless sh)",
    ),
    pkg(
        "ifelse",
        "1.0",
        "noarch",
        "Requires: (libfoo if foo else sh)",
    ),
    pkg(
        "ifcon",
        "1.0",
        "noarch",
        "Requires: foo\nConflicts: (sh and libfoo)",
    ),
    pkg("tilde", "1.0~rc1", "noarch", "Requires: libfoo < 1.0^post1"),
    pkg(
        "tildebad",
        "1.0",
        "noarch",
        "Requires: libfoo >= 1.0.1~beta",
    ),
    pkg("chain", "1.0", "noarch", "Requires: (conflicter or broken)"),
    pkg("pick", "1.0", "noarch", "Requires: (conflicter or foo)"),
    pkg("srcless", "1.0", "aarch64", ""),
];

const UPDATE: &[Spec] = &[
    pkg("foo", "2.0", "noarch", "Requires: libfoo >= 2.0"),
    pkg(
        "baz",
        "1.0",
        "noarch",
        "Requires: libfoo >= 1.0~beta\nRequires: (sh or nothere)\nRequires: (sh with sh)\nConflicts: (nothere unless sh)",
    ),
    pkg(
        "filedep",
        "1.0",
        "noarch",
        "Requires: /usr/share/libfoo/data",
    ),
    pkg(
        "obsall",
        "1.0",
        "noarch",
        "Obsoletes: libfoo\nRequires: foo",
    ),
];

fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

#[expect(
    clippy::disallowed_methods,
    reason = "tests run host tools directly to build fixtures and run the oracle"
)]
fn host(program: &str) -> std::process::Command {
    <std::process::Command>::new(program)
}

fn spec_text(spec: &Spec) -> String {
    let (epoch, version) = match spec.version.split_once(':') {
        Some((epoch, version)) => (format!("Epoch: {epoch}\n"), version),
        None => (String::new(), spec.version),
    };
    let mut install = String::new();
    let mut files = String::new();
    for (path, content) in spec.files {
        let dir = Path::new(path).parent().unwrap().display().to_string();
        install.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\ncat > %{{buildroot}}{path} <<'END'\n{content}END\nchmod 755 %{{buildroot}}{path}\n"
        ));
        files.push_str(&format!("{path}\n"));
    }
    let autoreq = if spec.tags.contains("AutoReq") {
        ""
    } else {
        "AutoReqProv: no\n"
    };
    format!(
        "%global debug_package %{{nil}}\nName: {name}\n{epoch}Version: {version}\nRelease: 1\nSummary: t\nLicense: MIT\n{arch}{autoreq}{tags}\n%description\nt\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\necho x > %{{buildroot}}/usr/share/{name}/data\n{install}%files\n/usr/share/{name}\n{files}",
        name = spec.name,
        arch = if spec.arch == "noarch" {
            "BuildArch: noarch\n"
        } else {
            ""
        },
        tags = spec.tags,
    )
}

/// Build the packages into a createrepo_c repository at `out`; `false`
/// when the tools are missing (and not required).
fn build_repo(specs: &[Spec], out: &Path) -> bool {
    let top = tempfile::tempdir().unwrap();
    for arch in ["noarch", "x86_64", "i686", "aarch64"] {
        let mut files = Vec::new();
        for (index, spec) in specs.iter().filter(|it| it.arch == arch).enumerate() {
            let path = top.path().join(format!("{}-{index}.spec", spec.name));
            std::fs::write(&path, spec_text(spec)).unwrap();
            files.push(path);
        }
        if files.is_empty() {
            continue;
        }
        let mut cmd = host("rpmbuild");
        cmd.arg("--quiet")
            .arg("-bb")
            .arg("--define")
            .arg(format!("_topdir {}", top.path().display()))
            .arg("--define")
            .arg(format!("_rpmdir {}", out.display()));
        if arch != "noarch" {
            cmd.arg("--target").arg(arch);
        }
        cmd.args(&files);
        match cmd.output() {
            Ok(output) => assert!(
                output.status.success(),
                "rpmbuild failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(err) => {
                assert!(!required(), "rpmbuild cannot run: {err}");
                eprintln!("skipped: rpmbuild cannot run ({err}); scripts/test installs it");
                return false;
            }
        }
    }
    let output = host("createrepo_c")
        .arg("--quiet")
        .arg("--no-database")
        .arg(out)
        .output();
    match output {
        Ok(output) => assert!(output.status.success(), "createrepo_c failed"),
        Err(err) => {
            assert!(!required(), "createrepo_c cannot run: {err}");
            return false;
        }
    }
    true
}

fn metadata(repo: &Path, kind: &str) -> PathBuf {
    std::fs::read_dir(repo.join("repodata"))
        .unwrap()
        .map(|it| it.unwrap().path())
        .find(|it| {
            it.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(&format!("-{kind}.xml.gz"))
        })
        .unwrap()
}

/// The oracle's uninstallable packages; `None` when python3-solv is
/// missing (and not required).
fn oracle(arch: &str, args: &[String]) -> Option<BTreeSet<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/depcheck-oracle");
    let output = match host("/usr/bin/python3")
        .arg(script)
        .arg("--verdicts")
        .arg(arch)
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            assert!(!required(), "python3 cannot run: {err}");
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'solv'") {
        assert!(!required(), "python3-solv is missing");
        eprintln!("skipped: python3-solv is missing; scripts/test installs it");
        return None;
    }
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "oracle failed: {stderr}"
    );
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

struct Case<'r> {
    arch: &'static str,
    repos: Vec<(&'r Repo, Role)>,
}

fn ours(case: &Case<'_>) -> (BTreeSet<String>, Vec<(String, Vec<String>)>) {
    let pool = Pool::new(ArchPolicy::new(case.arch).unwrap(), &case.repos);
    let checker = Checker::new(&pool);
    let verdicts = checker.check_many(&pool.candidates(), 2);
    let broken: Vec<_> = verdicts
        .into_iter()
        .filter(|it| !it.installable())
        .map(|it| (it.nevra, it.reasons))
        .collect();
    (broken.iter().map(|it| it.0.clone()).collect(), broken)
}

fn reasons_of<'v>(broken: &'v [(String, Vec<String>)], nevra: &str) -> &'v [String] {
    &broken
        .iter()
        .find(|it| it.0 == nevra)
        .unwrap_or_else(|| panic!("{nevra} is not broken"))
        .1
}

#[test]
fn small_repositories_match_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let (base_dir, update_dir) = (dir.path().join("base"), dir.path().join("update"));
    std::fs::create_dir_all(&base_dir).unwrap();
    std::fs::create_dir_all(&update_dir).unwrap();
    if !build_repo(BASE, &base_dir) || !build_repo(UPDATE, &update_dir) {
        return;
    }
    let (base_primary, base_files) = (
        metadata(&base_dir, "primary"),
        metadata(&base_dir, "filelists"),
    );
    let update_primary = metadata(&update_dir, "primary");
    let base_plain = open_repo(&base_dir, None).unwrap();
    let mut base_all = open_repo(&base_dir, None).unwrap();
    assert!(base_all.load_filelists().unwrap());
    let update = open_repo(&update_dir, None).unwrap();
    let path = |it: &Path| it.display().to_string();

    // Every package of the base, all files known.
    let case = Case {
        arch: "x86_64",
        repos: vec![(&base_all, Role::Check)],
    };
    let (mine, broken) = ours(&case);
    let theirs = oracle(
        "x86_64",
        &[format!("{},{}", path(&base_primary), path(&base_files))],
    );
    let Some(theirs) = theirs else { return };
    assert_eq!(mine, theirs, "base, x86_64");
    // The explanations are libsolv's words.
    assert_eq!(
        reasons_of(&broken, "broken-1.0-1.noarch"),
        ["nothing provides does-not-exist >= 2.0 needed by broken-1.0-1.noarch"]
    );
    assert_eq!(
        reasons_of(&broken, "oldver-2.0-1.noarch"),
        ["nothing provides libfoo > 5 needed by oldver-2.0-1.noarch"]
    );
    let conflicter = reasons_of(&broken, "conflicter-1.0-1.noarch");
    assert!(
        conflicter.contains(
            &"package conflicter-1.0-1.noarch conflicts with foo provided by foo-1.0-1.noarch"
                .to_owned()
        ),
        "{conflicter:?}"
    );
    let needsobs = reasons_of(&broken, "needsobs-1.0-1.noarch");
    assert!(
        needsobs.iter().any(|it| it
            == "package obsoleter-1.0-1.noarch obsoletes bar < 2 provided by bar-1.0-1.noarch"),
        "{needsobs:?}"
    );
    let needsboth = reasons_of(&broken, "needsboth-1.0-1.x86_64");
    assert!(
        needsboth
            .iter()
            .any(|it| it == "libbar-1.0-1.i686 has inferior architecture"),
        "{needsboth:?}"
    );
    let needsdup = reasons_of(&broken, "needsdup-1.0-1.noarch");
    assert!(
        needsdup
            .iter()
            .any(|it| it.starts_with("cannot install both dup-")),
        "{needsdup:?}"
    );
    for installable in [
        "needs32-1.0-1.x86_64",
        "needsepoch-1.0-1.noarch",
        "selfcon-1.0-1.noarch",
        "releaseless-1.0-1.noarch",
        "pick-1.0-1.noarch",
        "tilde-1.0~rc1-1.noarch",
    ] {
        assert!(
            !mine.contains(installable),
            "{installable} should be installable"
        );
    }

    // The same, with only primary.xml's files.
    let case = Case {
        arch: "x86_64",
        repos: vec![(&base_plain, Role::Check)],
    };
    assert_eq!(
        ours(&case).0,
        oracle("x86_64", &[path(&base_primary)]).unwrap(),
        "base, primary only"
    );

    // On i686: x86_64 packages are not candidates.
    let case = Case {
        arch: "i686",
        repos: vec![(&base_all, Role::Check)],
    };
    assert_eq!(
        ours(&case).0,
        oracle(
            "i686",
            &[format!("{},{}", path(&base_primary), path(&base_files))]
        )
        .unwrap(),
        "base, i686"
    );

    // The update against the base, without and with the base's filelists.
    let case = Case {
        arch: "x86_64",
        repos: vec![(&update, Role::Check), (&base_plain, Role::Base)],
    };
    let (mine, broken) = ours(&case);
    assert_eq!(
        mine,
        oracle(
            "x86_64",
            &[
                path(&update_primary),
                "--nocheck".to_owned(),
                path(&base_primary)
            ]
        )
        .unwrap(),
        "update, primary only"
    );
    assert_eq!(
        reasons_of(&broken, "filedep-1.0-1.noarch"),
        ["nothing provides /usr/share/libfoo/data needed by filedep-1.0-1.noarch"]
    );
    let case = Case {
        arch: "x86_64",
        repos: vec![(&update, Role::Check), (&base_all, Role::Base)],
    };
    let (mine, broken) = ours(&case);
    assert_eq!(
        mine,
        oracle(
            "x86_64",
            &[
                path(&update_primary),
                "--nocheck".to_owned(),
                format!("{},{}", path(&base_primary), path(&base_files))
            ]
        )
        .unwrap(),
        "update, with filelists"
    );
    assert!(!mine.contains("filedep-1.0-1.noarch"));
    assert_eq!(
        reasons_of(&broken, "foo-2.0-1.noarch"),
        ["nothing provides libfoo >= 2.0 needed by foo-2.0-1.noarch"]
    );
}
