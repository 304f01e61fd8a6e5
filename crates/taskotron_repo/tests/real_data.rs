//! The real CentOS Stream 9 metadata (spec §5.1): counts, and the
//! dependencies of a known package, as the XML says them.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::collections::BTreeMap;

use taskotron_repo::{DepKind, FileKind, Repo, open_repo};
use taskotron_rpm::{Dep, Rich};

fn counts(repo: &Repo) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for package in repo.packages() {
        *counts.entry("packages").or_default() += 1;
        for kind in DepKind::ALL {
            let deps = repo.deps(package, kind);
            *counts.entry("dep entries").or_default() += deps.len();
            *counts.entry("pre").or_default() += deps.iter().filter(|it| it.pre).count();
            if kind == DepKind::Obsoletes && !deps.is_empty() {
                *counts.entry("with obsoletes").or_default() += 1;
            }
            if kind == DepKind::Conflicts && !deps.is_empty() {
                *counts.entry("with conflicts").or_default() += 1;
            }
        }
        for file in repo.files(package) {
            *counts.entry("files").or_default() += 1;
            match file.kind {
                FileKind::Dir => *counts.entry("dirs").or_default() += 1,
                FileKind::Ghost => *counts.entry("ghosts").or_default() += 1,
                FileKind::File => {}
            }
        }
    }
    counts.insert("rich", repo.rich_count());
    counts
}

fn arches(repo: &Repo) -> BTreeMap<String, usize> {
    let mut arches = BTreeMap::new();
    for package in repo.packages() {
        *arches.entry(repo.str(package.arch).to_owned()).or_default() += 1;
    }
    arches
}

/// One test for the big file: it takes seconds to parse in a debug build.
#[test]
fn appstream() {
    let repo = open_repo(common::centos("appstream-primary.xml.gz"), None).unwrap();
    appstream_counts_match_the_spec(&repo);
    appstream_tomcat_as_the_xml_says(&repo);
}

fn appstream_counts_match_the_spec(repo: &Repo) {
    assert_eq!(repo.len(), 17_649);
    assert_eq!(
        arches(repo),
        BTreeMap::from([
            ("i686".to_owned(), 2_689),
            ("noarch".to_owned(), 5_697),
            ("x86_64".to_owned(), 9_263)
        ])
    );
    assert_eq!(
        counts(repo),
        BTreeMap::from([
            ("packages", 17_649),
            ("dep entries", 415_637),
            ("rich", 1_395),
            ("pre", 3_883),
            ("with obsoletes", 3_751),
            ("with conflicts", 1_308),
            ("files", 36_204),
            ("dirs", 2_904),
            ("ghosts", 767),
        ])
    );
    // Every rich dependency of the real data parses.
    assert_eq!(repo.problems(), &[]);
    assert!(!repo.has_all_files());
}

fn appstream_tomcat_as_the_xml_says(repo: &Repo) {
    let (_, tomcat) = repo
        .packages_named("tomcat")
        .find(|(_, it)| repo.str(it.release) == "14.el9")
        .unwrap();
    assert_eq!(repo.nevra(tomcat), "tomcat-1:9.0.62-14.el9.noarch");
    assert_eq!(tomcat.epoch, 1);
    assert_eq!(
        repo.str(tomcat.location.unwrap()),
        "Packages/tomcat-9.0.62-14.el9.noarch.rpm"
    );
    assert_eq!(
        repo.str(tomcat.sourcerpm.unwrap()),
        "tomcat-9.0.62-14.el9.src.rpm"
    );
    assert_eq!(
        repo.str(tomcat.pkgid.unwrap()),
        "149aded1a4cbb579281f572cfa45cf619d958f21d1c307436bf8ff269bf59abc"
    );
    let strings = |kind| -> Vec<String> {
        repo.deps(tomcat, kind)
            .iter()
            .map(|it| {
                format!(
                    "{}{}",
                    repo.dep_string(it),
                    if it.pre { " (pre)" } else { "" }
                )
            })
            .collect()
    };
    assert_eq!(
        strings(DepKind::Provides),
        [
            "config(tomcat) = 1:9.0.62-14.el9",
            "pki-servlet-engine",
            "tomcat = 1:9.0.62-14.el9",
            "tomcat-log4j = 1:9.0.62-14.el9"
        ]
    );
    assert_eq!(
        strings(DepKind::Requires),
        [
            "(java-headless >= 1:1.8 or java-1.8.0-headless or java-11-headless or java-17-headless or java >= 1:1.8)",
            "/bin/sh (pre)",
            "/bin/sh",
            "/usr/bin/bash",
            "javapackages-tools",
            "shadow-utils (pre)",
            "systemd (pre)",
            "systemd",
            "tomcat-lib = 1:9.0.62-14.el9"
        ]
    );
    assert_eq!(
        strings(DepKind::Obsoletes),
        ["pki-servlet-engine <= 1:9.0.50"]
    );
    assert_eq!(strings(DepKind::Recommends), ["tomcat-native >= 1.2.21"]);
    assert!(strings(DepKind::Conflicts).is_empty());

    // The rich requirement is parsed; the simple ones match with rpm's rules.
    let requires = repo.deps(tomcat, DepKind::Requires);
    assert!(repo.is_rich(&requires[0]));
    let Some(Rich::Or(alternatives)) = repo.rich(&requires[0]) else {
        panic!("not an or: {:?}", repo.rich(&requires[0]));
    };
    assert_eq!(alternatives.len(), 5);
    let lib = repo.to_dep(&requires[8]);
    assert!(lib.overlaps(&Dep::parse("tomcat-lib = 1:9.0.62-14.el9").unwrap()));
    assert!(!lib.overlaps(&Dep::parse("tomcat-lib = 1:9.0.62-16.el9").unwrap()));

    let files: Vec<String> = repo
        .files(tomcat)
        .iter()
        .map(|it| repo.file_path(it))
        .collect();
    assert_eq!(
        files.first().map(String::as_str),
        Some("/etc/logrotate.d/tomcat.disabled")
    );
    assert!(files.contains(&"/usr/sbin/tomcat".to_owned()));
    let dir = repo.files(tomcat)[2];
    assert_eq!(
        (repo.file_path(&dir).as_str(), dir.kind),
        ("/etc/tomcat", FileKind::Dir)
    );
}

#[test]
fn baseos_2022_counts_match() {
    let repo = open_repo(common::centos("baseos-2022-primary.xml.gz"), None).unwrap();
    assert_eq!(
        arches(&repo),
        BTreeMap::from([
            ("i686".to_owned(), 242),
            ("noarch".to_owned(), 119),
            ("x86_64".to_owned(), 764)
        ])
    );
    let counts = counts(&repo);
    assert_eq!(counts["packages"], 1_125);
    assert_eq!(counts["dep entries"], 83_793);
    assert_eq!(counts["rich"], 224);
    assert_eq!(counts["pre"], 388);
    assert_eq!(counts["files"], 3_680);
    let (_, glibc) = repo
        .packages_named("glibc")
        .find(|(_, it)| repo.str(it.arch) == "x86_64")
        .unwrap();
    assert_eq!(repo.nevra(glibc), "glibc-2.34-21.el9.x86_64");
    let provides: Vec<String> = repo
        .deps(glibc, DepKind::Provides)
        .iter()
        .map(|it| repo.dep_string(it))
        .collect();
    assert!(
        provides.contains(&"libc.so.6(GLIBC_2.34)(64bit)".to_owned()),
        "{provides:?}"
    );
}
