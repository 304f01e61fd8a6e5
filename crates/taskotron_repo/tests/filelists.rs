//! filelists.xml merged into the packages of primary.xml: by pkgid, else by
//! NEVRA; a package primary.xml does not have is an error that changes
//! nothing.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use taskotron_repo::{FileKind, Repo, RepoError, read_filelists, read_primary};

const FILELISTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="2">
<package pkgid="bbbb-not-in-primary" name="bar" arch="noarch">
  <version epoch="0" ver="1.5" rel="1"/>
  <file type="dir">/usr/share/bar</file>
  <file>/usr/share/bar/a&lt;b</file>
</package>
<package pkgid="aaaa" name="foo" arch="x86_64">
  <version epoch="1" ver="2.0" rel="3.el9"/>
  <file>/usr/bin/foo</file>
  <file type="dir">/etc/foo</file>
  <file type="ghost">/etc/foo/a&amp;b.conf</file>
  <file>/usr/share/foo/data</file>
</package>
</filelists>
"#;

fn files(repo: &Repo, index: usize) -> Vec<(String, FileKind)> {
    repo.files(&repo.packages()[index])
        .iter()
        .map(|it| (repo.file_path(it), it.kind))
        .collect()
}

#[test]
fn merges_by_pkgid_and_by_nevra() {
    let mut repo = read_primary(common::SMALL_PRIMARY.as_bytes(), "primary.xml").unwrap();
    assert_eq!(files(&repo, 0).len(), 3);
    assert!(files(&repo, 1).is_empty());
    read_filelists(&mut repo, FILELISTS.as_bytes(), "filelists.xml").unwrap();
    assert!(repo.has_all_files());
    assert_eq!(
        files(&repo, 0),
        [
            ("/usr/bin/foo".to_owned(), FileKind::File),
            ("/etc/foo".to_owned(), FileKind::Dir),
            ("/etc/foo/a&b.conf".to_owned(), FileKind::Ghost),
            ("/usr/share/foo/data".to_owned(), FileKind::File),
        ]
    );
    assert_eq!(
        files(&repo, 1),
        [
            ("/usr/share/bar".to_owned(), FileKind::Dir),
            ("/usr/share/bar/a<b".to_owned(), FileKind::File),
        ]
    );
    // The dependencies did not move.
    assert_eq!(repo.rich_count(), 1);
}

#[test]
fn an_unknown_package_changes_nothing() {
    let mut repo = read_primary(common::SMALL_PRIMARY.as_bytes(), "primary.xml").unwrap();
    let before = repo.clone();
    let text = FILELISTS.replace(r#"name="bar" arch="noarch""#, r#"name="baz" arch="noarch""#);
    let err = read_filelists(&mut repo, text.as_bytes(), "filelists.xml").unwrap_err();
    assert!(matches!(err, RepoError::UnknownPackage { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "filelists.xml: package baz-1.5-1.noarch (pkgid bbbb-not-in-primary) is not in the primary metadata"
    );
    assert_eq!(repo.packages(), before.packages());
    assert!(!repo.has_all_files());

    let err =
        read_filelists(&mut repo, common::SMALL_PRIMARY.as_bytes(), "filelists.xml").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected a <filelists> document, found <metadata>"),
        "{err}"
    );
    let text = FILELISTS.replace("</filelists>\n", "");
    let err = read_filelists(&mut repo, text.as_bytes(), "filelists.xml").unwrap_err();
    assert!(err.to_string().ends_with("truncated?"), "{err}");
    assert_eq!(repo.packages(), before.packages());
}
