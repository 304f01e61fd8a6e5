//! `taskotron check depcheck`: installcheck's output and exit codes, JSON,
//! an update's own packages and the packages it breaks, filelists read
//! when a file dependency needs them, and bad input.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{output, taskotron, texts};

fn entry(dep: &str) -> String {
    match dep.split_once(" >= ") {
        Some((name, ver)) => {
            format!(r#"<rpm:entry name="{name}" flags="GE" epoch="0" ver="{ver}"/>"#)
        }
        None => format!(
            r#"<rpm:entry name="{}"/>"#,
            dep.replace('>', "&gt;").replace('<', "&lt;")
        ),
    }
}

/// A primary.xml: (name, version, arch, provides, requires, conflicts, files).
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [&'a str],
    &'a [&'a str],
    &'a [&'a str],
    &'a [&'a str],
);

fn primary(rows: &[Row<'_>]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        rows.len()
    );
    for (name, version, arch, provides, requires, conflicts, files) in rows {
        out.push_str(&format!(
            "<package type=\"rpm\"><name>{name}</name><arch>{arch}</arch><version epoch=\"0\" ver=\"{version}\" rel=\"1\"/><checksum type=\"sha256\" pkgid=\"YES\">{name}{version}{arch}</checksum><location href=\"{name}.rpm\"/><format>"
        ));
        for (tag, list) in [
            ("provides", provides),
            ("requires", requires),
            ("conflicts", conflicts),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("<rpm:{tag}>"));
                for dep in *list {
                    out.push_str(&entry(dep));
                }
                out.push_str(&format!("</rpm:{tag}>"));
            }
        }
        for file in *files {
            out.push_str(&format!("<file>{file}</file>"));
        }
        out.push_str("</format></package>\n");
    }
    out.push_str("</metadata>\n");
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn depcheck(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = output(
        taskotron(dir)
            .args(["check", "depcheck", "--no-cache"])
            .args(args),
    );
    let (stdout, stderr) = texts(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn all_prints_installcheck_blocks_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let repo = write(
        dir.path(),
        "primary.xml",
        &primary(&[
            (
                "libfoo",
                "1.0",
                "x86_64",
                &["libfoo.so.1()(64bit)"],
                &[],
                &[],
                &[],
            ),
            (
                "app",
                "1.0",
                "noarch",
                &[],
                &["libfoo.so.1()(64bit)", "/usr/bin/tool"],
                &[],
                &[],
            ),
            ("tool", "1.0", "noarch", &[], &[], &[], &["/usr/bin/tool"]),
            (
                "broken",
                "1.0",
                "noarch",
                &[],
                &["does-not-exist >= 2.0"],
                &[],
                &[],
            ),
            ("needsbroken", "1.0", "noarch", &[], &["broken"], &[], &[]),
            ("conflicter", "1.0", "noarch", &[], &["app"], &["tool"], &[]),
            (
                "rich",
                "1.0",
                "noarch",
                &[],
                &["(app and (tool or nothere))"],
                &[],
                &[],
            ),
            (
                "other",
                "1.0",
                "aarch64",
                &[],
                &["does-not-exist"],
                &[],
                &[],
            ),
        ]),
    );
    let repo = repo.to_str().unwrap();
    let (code, stdout, stderr) =
        depcheck(dir.path(), &["--arch", "x86_64", "--repo", repo, "--all"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout.contains(
            "can't install broken-1.0-1.noarch:\n  nothing provides does-not-exist >= 2.0 needed by broken-1.0-1.noarch\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("can't install needsbroken-1.0-1.noarch:\n  package needsbroken-1.0-1.noarch requires broken, but none of the providers can be installed\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  package conflicter-1.0-1.noarch conflicts with tool provided by tool-1.0-1.noarch\n"
        ),
        "{stdout}"
    );
    for fine in ["app-", "rich-", "tool-", "libfoo-", "other-"] {
        assert!(
            !stdout.contains(&format!("can't install {fine}")),
            "{fine}: {stdout}"
        );
    }
    assert_eq!(stdout.matches("can't install").count(), 3, "{stdout}");

    let (code, stdout, _) = depcheck(
        dir.path(),
        &["--arch", "x86_64", "--repo", repo, "--all", "--json"],
    );
    assert_eq!(code, Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["arch"], "x86_64");
    assert_eq!(json["checked"], 7);
    assert_eq!(json["installable"], 4);
    assert_eq!(json["broken"][0]["nevra"], "broken-1.0-1.noarch");

    // Only installable packages: exit 0, nothing printed. aarch64 packages
    // are not x86_64's.
    let clean = write(
        dir.path(),
        "clean.xml",
        &primary(&[
            ("tool", "1.0", "noarch", &[], &[], &[], &["/usr/bin/tool"]),
            (
                "other",
                "1.0",
                "aarch64",
                &[],
                &["does-not-exist"],
                &[],
                &[],
            ),
        ]),
    );
    let (code, stdout, stderr) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            clean.to_str().unwrap(),
            "--all",
        ],
    );
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    let (code, stdout, _) = depcheck(
        dir.path(),
        &[
            "--arch",
            "aarch64",
            "--repo",
            clean.to_str().unwrap(),
            "--all",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(stdout.contains("nothing provides does-not-exist needed by other-1.0-1.aarch64"));

    // --nocheck: the base satisfies, and is not checked.
    let (code, stdout, stderr) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            clean.to_str().unwrap(),
            "--nocheck",
            repo,
            "--all",
        ],
    );
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.xml",
        &primary(&[("a", "1", "noarch", &[], &[], &[], &[])]),
    );
    let truncated = dir.path().join("primary.xml.gz");
    let real = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/centos-stream-9/baseos-2022-primary.xml.gz"),
    )
    .unwrap();
    std::fs::write(&truncated, &real[..real.len() / 2]).unwrap();
    let unknown = write(dir.path(), "data.bin", "\u{1}\u{2}\u{3} not xml");
    let not_rpm = write(dir.path(), "fake.rpm", "this is not an RPM");
    let good = good.to_str().unwrap();
    for (args, named) in [
        (
            vec![
                "--arch",
                "x86_64",
                "--repo",
                truncated.to_str().unwrap(),
                "--all",
            ],
            "primary.xml.gz",
        ),
        (
            vec![
                "--arch",
                "x86_64",
                "--repo",
                unknown.to_str().unwrap(),
                "--all",
            ],
            "data.bin",
        ),
        (
            vec!["--arch", "x86_64", "--repo", "/nonexistent/repo", "--all"],
            "/nonexistent/repo",
        ),
        (
            vec![
                "--arch",
                "x86_64",
                "--repo",
                good,
                not_rpm.to_str().unwrap(),
            ],
            "fake.rpm",
        ),
        (vec!["--arch", "vax", "--repo", good, "--all"], "vax"),
    ] {
        let (code, stdout, stderr) = depcheck(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(
            stdout.is_empty(),
            "{args:?}: never a verdict on bad input: {stdout}"
        );
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

#[expect(
    clippy::disallowed_methods,
    reason = "tests build fixtures with rpmbuild and createrepo_c"
)]
fn host(program: &str) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// Build a noarch RPM; `None` when rpmbuild is missing and not required.
fn rpm(out: &Path, name: &str, version: &str, tags: &str, files: &[&str]) -> Option<PathBuf> {
    let top = tempfile::tempdir().unwrap();
    let mut install = String::new();
    for file in files {
        install.push_str(&format!(
            "mkdir -p $(dirname %{{buildroot}}{file}); echo x > %{{buildroot}}{file}\n"
        ));
    }
    let spec = format!(
        "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n{tags}\n%description\nt\n%install\n{install}%files\n{}\n",
        files.join("\n")
    );
    let spec_path = top.path().join(format!("{name}.spec"));
    std::fs::write(&spec_path, spec).unwrap();
    let result = host("rpmbuild")
        .arg("--quiet")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", out.display()))
        .arg("--define")
        .arg("_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm")
        .arg(&spec_path)
        .output();
    match result {
        Ok(output) => {
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(out.join(format!("{name}-{version}-1.noarch.rpm")))
        }
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            eprintln!("skipped: rpmbuild cannot run ({err})");
            None
        }
    }
}

fn createrepo(dir: &Path) -> bool {
    match host("createrepo_c")
        .arg("--quiet")
        .arg("--no-database")
        .arg(dir)
        .output()
    {
        Ok(output) => {
            assert!(output.status.success());
            true
        }
        Err(err) => {
            assert!(!required(), "createrepo_c cannot run: {err}");
            false
        }
    }
}

#[test]
fn an_update_is_checked_and_what_it_breaks_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let updates = dir.path().join("updates");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&updates).unwrap();
    let built = [
        rpm(
            &base,
            "libfoo",
            "1.0",
            "Provides: libfoo.so.1",
            &["/usr/lib/libfoo/one"],
        ),
        rpm(
            &base,
            "app",
            "1.0",
            "Requires: libfoo.so.1",
            &["/usr/share/app/a"],
        ),
        rpm(
            &base,
            "plugin",
            "1.0",
            "Requires: app",
            &["/usr/share/plugin/p"],
        ),
        rpm(&base, "unrelated", "1.0", "", &["/usr/share/unrelated/u"]),
        rpm(
            &updates,
            "libfoo",
            "1.1",
            "Provides: libfoo.so.1",
            &["/usr/lib/libfoo/one"],
        ),
        rpm(
            &updates,
            "libfoo",
            "2.0",
            "Provides: libfoo.so.2",
            &["/usr/lib/libfoo/two"],
        ),
        rpm(
            &updates,
            "newapp",
            "1.0",
            "Requires: /usr/lib/libfoo/one",
            &["/usr/share/newapp/n"],
        ),
    ];
    if built.iter().any(Option::is_none) || !createrepo(&base) {
        return;
    }
    let base = base.to_str().unwrap();
    let update = |name: &str| updates.join(name).to_str().unwrap().to_owned();

    // A compatible update: installable, nothing breaks.
    let (code, stdout, stderr) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            base,
            &update("libfoo-1.1-1.noarch.rpm"),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("nothing that was installable breaks"),
        "{stdout}"
    );

    // libfoo 2.0 drops libfoo.so.1: app and plugin break.
    let (code, stdout, stderr) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            base,
            &update("libfoo-2.0-1.noarch.rpm"),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let (_, regressions) = stdout
        .split_once("packages the update makes uninstallable:\n")
        .unwrap();
    assert!(
        regressions.contains("can't install app-1.0-1.noarch:\n  nothing provides libfoo.so.1 needed by app-1.0-1.noarch\n"),
        "{stdout}"
    );
    assert!(
        regressions.contains("can't install plugin-1.0-1.noarch:"),
        "{stdout}"
    );
    assert!(!stdout.contains("unrelated"), "{stdout}");
    let (code, stdout, _) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            base,
            "--json",
            &update("libfoo-2.0-1.noarch.rpm"),
        ],
    );
    assert_eq!(code, Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["broken"].as_array().unwrap().len(), 0);
    assert_eq!(json["regressions"].as_array().unwrap().len(), 2);

    // A file dependency met only by filelists.xml: read when needed.
    let (code, stdout, stderr) = depcheck(
        dir.path(),
        &[
            "--arch",
            "x86_64",
            "--repo",
            base,
            &update("newapp-1.0-1.noarch.rpm"),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}
