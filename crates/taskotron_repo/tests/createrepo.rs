//! A repository made by createrepo_c over RPMs built with rpmbuild: read
//! through repomd.xml, with filelists, with the cache, and against the same
//! RPM files read with the `rpm` crate.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::Path;

use taskotron_repo::{
    CacheStatus, DepKind, FileKind, Package, Repo, RepoError, open_repo, read_rpm_file,
};

/// Everything a package says, as text, to compare two readers.
fn describe(repo: &Repo, package: &Package) -> Vec<String> {
    let mut out = vec![
        repo.nevra(package),
        format!("pkgid {:?}", package.pkgid.map(|it| repo.str(it))),
        format!("sourcerpm {:?}", package.sourcerpm.map(|it| repo.str(it))),
    ];
    for kind in DepKind::ALL {
        for dep in repo.deps(package, kind) {
            out.push(format!(
                "{kind}: {}{}",
                repo.dep_string(dep),
                if dep.pre { " (pre)" } else { "" }
            ));
        }
    }
    out
}

fn files(repo: &Repo, package: &Package) -> Vec<(String, FileKind)> {
    let mut files: Vec<_> = repo
        .files(package)
        .iter()
        .map(|it| (repo.file_path(it), it.kind))
        .collect();
    files.sort();
    files
}

/// createrepo_c's rule for the files primary.xml lists.
fn is_primary(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

fn find<'a>(repo: &'a Repo, nevra: &str) -> &'a Package {
    repo.packages()
        .iter()
        .find(|it| repo.nevra(it) == nevra)
        .unwrap_or_else(|| panic!("no {nevra}"))
}

#[test]
fn repomd_primary_and_filelists() {
    let Some((dir, _rpms)) = common::createrepo() else {
        return;
    };
    let mut repo = open_repo(dir.path(), None).unwrap();
    let mut nevras: Vec<String> = repo.packages().iter().map(|it| repo.nevra(it)).collect();
    nevras.sort();
    assert_eq!(
        nevras,
        [
            "tr-app-3.2-4.fc44.noarch",
            "tr-app-3.2-4.fc44.src",
            "tr-base-2:1.0-1.fc44.noarch",
            "tr-base-2:1.0-1.fc44.src"
        ]
    );

    let app = find(&repo, "tr-app-3.2-4.fc44.noarch");
    assert_eq!(
        describe(&repo, app)[3..],
        [
            "provides: tr-app = 3.2-4.fc44",
            "provides: tr-app-data = 3.2-4.fc44",
            "requires: (tr-cap >= 1.5 or tr-other)",
            "requires: (tr-lang if tr-base)",
            "requires: /bin/sh (pre)",
            "requires: /usr/share/tr-base/data",
            "requires: tr-base >= 2:1.0",
            "requires: tr-base-compat (pre)",
            "requires: tr-cap",
            "conflicts: (tr-bad and tr-worse)",
            "conflicts: tr-old < 1.0",
            "obsoletes: tr-legacy <= 0.9-1",
            "recommends: tr-extra",
            "suggests: tr-docs > 1",
            "supplements: (tr-base and tr-lang)",
            "enhances: tr-base",
        ]
    );
    assert_eq!(repo.rich_count(), 4);
    assert_eq!(repo.problems(), &[]);
    let source = find(&repo, "tr-app-3.2-4.fc44.src");
    assert!(describe(&repo, source).contains(&"requires: tr-base-devel >= 1".to_owned()));
    assert_eq!(source.sourcerpm, None);

    // Primary has the primary files only; filelists has them all.
    let base = find(&repo, "tr-base-2:1.0-1.fc44.noarch");
    let primary_files = [
        ("/etc/tr-base".to_owned(), FileKind::Dir),
        ("/etc/tr-base/tr-base.conf".to_owned(), FileKind::File),
        ("/usr/bin/tr-base".to_owned(), FileKind::File),
    ];
    assert_eq!(files(&repo, base), primary_files);
    assert!(!repo.has_all_files());
    assert!(repo.load_filelists().unwrap());
    assert!(repo.has_all_files());
    assert_eq!(
        files(&repo, find(&repo, "tr-base-2:1.0-1.fc44.noarch")),
        [
            ("/etc/tr-base".to_owned(), FileKind::Dir),
            ("/etc/tr-base/tr-base.conf".to_owned(), FileKind::File),
            ("/usr/bin/tr-base".to_owned(), FileKind::File),
            ("/usr/share/tr-base".to_owned(), FileKind::Dir),
            ("/usr/share/tr-base/data".to_owned(), FileKind::File),
            ("/var/log/tr-base.log".to_owned(), FileKind::Ghost),
        ]
    );
    // Loading again changes nothing.
    let loaded = repo.clone();
    assert!(repo.load_filelists().unwrap());
    assert!(repo == loaded);

    // The same repository through its repodata directory and its repomd.xml.
    let repodata = dir.path().join("repodata");
    assert!(open_repo(&repodata, None).unwrap() == open_repo(dir.path(), None).unwrap());
    assert!(
        open_repo(repodata.join("repomd.xml"), None).unwrap()
            == open_repo(dir.path(), None).unwrap()
    );
}

#[test]
fn rpm_files_read_as_createrepo_c_writes_them() {
    let Some((dir, rpms)) = common::createrepo() else {
        return;
    };
    let mut repo = open_repo(dir.path(), None).unwrap();
    let primary = repo.clone();
    repo.load_filelists().unwrap();
    assert_eq!(rpms.len(), 4);
    for path in &rpms {
        let local = read_rpm_file(path).unwrap();
        let [package] = local.packages() else {
            panic!("{:?}", local.packages());
        };
        assert!(local.has_all_files());
        let nevra = local.nevra(package);
        // createrepo_c's pkgid is the file's sha256, as ours.
        let indexed = find(&primary, &nevra);
        assert_eq!(
            describe(&local, package),
            describe(&primary, indexed),
            "{nevra}"
        );
        assert_eq!(
            Path::new(local.str(package.location.unwrap())).file_name(),
            Path::new(primary.str(indexed.location.unwrap())).file_name()
        );
        // All files as filelists.xml has them; the primary ones as primary.xml.
        let all = files(&local, package);
        assert_eq!(all, files(&repo, find(&repo, &nevra)), "{nevra}");
        let primary_only: Vec<_> = all
            .into_iter()
            .filter(|(path, _)| is_primary(path))
            .collect();
        assert_eq!(primary_only, files(&primary, indexed), "{nevra}");
    }

    // Several RPMs in one repository share its strings.
    let mut both = Repo::new();
    for path in &rpms {
        both.add_rpm_file(path).unwrap();
    }
    assert_eq!(both.len(), 4);
    assert_eq!(both.rich_count(), repo.rich_count());
}

#[test]
fn filelists_and_primary_are_cached() {
    let Some((dir, _rpms)) = common::createrepo() else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let mut first = open_repo(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(first.cache_status(), &CacheStatus::Written);
    first.load_filelists().unwrap();
    assert_eq!(first.cache_status(), &CacheStatus::Written);
    // Two files, named by the sha256 of repomd.xml.
    let key = {
        use sha2::Digest;
        let bytes = std::fs::read(dir.path().join("repodata/repomd.xml")).unwrap();
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|it| format!("{it:02x}"))
            .collect::<String>()
    };
    let mut names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|it| it.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{key}.filelists.cache"),
            format!("{key}.primary.cache")
        ]
    );

    let mut second = open_repo(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(second.cache_status(), &CacheStatus::Hit);
    assert!(!second.has_all_files());
    second.load_filelists().unwrap();
    assert_eq!(second.cache_status(), &CacheStatus::Hit);
    assert!(second == first);
}

#[test]
fn checksum_mismatch_and_missing_files() {
    let Some((dir, _rpms)) = common::createrepo() else {
        return;
    };
    let repodata = dir.path().join("repodata");
    let name = |suffix: &str| {
        std::fs::read_dir(&repodata)
            .unwrap()
            .map(|it| it.unwrap().path())
            .find(|it| it.to_str().unwrap().ends_with(suffix))
            .unwrap()
    };
    // Another valid primary under the name repomd.xml gives.
    let primary = name("-primary.xml.gz");
    std::fs::write(&primary, common::SMALL_PRIMARY).unwrap();
    let err = open_repo(dir.path(), None).unwrap_err();
    let RepoError::Checksum {
        path, algorithm, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((path, algorithm.as_str()), (&primary, "sha256"));
    assert!(
        err.to_string()
            .contains("sha256 checksum mismatch: repomd.xml says "),
        "{err}"
    );

    std::fs::remove_file(&primary).unwrap();
    let err = open_repo(dir.path(), None).unwrap_err();
    assert!(
        matches!(&err, RepoError::Io { path, .. } if *path == primary),
        "{err:?}"
    );

    let repomd = repodata.join("repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(
        &repomd,
        text.replace("type=\"primary\"", "type=\"primary_old\""),
    )
    .unwrap();
    let err = open_repo(dir.path(), None).unwrap_err();
    assert!(
        matches!(
            err,
            RepoError::MissingRecord {
                record: "primary",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("repomd.xml: no <data type=\"primary\"> record"),
        "{err}"
    );
}

#[test]
fn not_an_rpm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.rpm");
    std::fs::write(&path, common::SMALL_PRIMARY).unwrap();
    let err = read_rpm_file(&path).unwrap_err();
    assert!(matches!(err, RepoError::Rpm { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: not a readable RPM package: ", path.display())),
        "{err}"
    );
    // A real RPM cut short.
    let Some(rpms) = common::build_rpms(dir.path()) else {
        return;
    };
    let bytes = std::fs::read(&rpms[0]).unwrap();
    std::fs::write(&path, &bytes[..bytes.len().min(2000)]).unwrap();
    let err = read_rpm_file(&path).unwrap_err();
    assert!(matches!(err, RepoError::Rpm { .. }), "{err:?}");
}
