//! Bad metadata is an error that names the file, the place and what is
//! wrong; it never panics and never loads part of a repository.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::io::Write;

use taskotron_repo::{RepoError, XmlErrorKind, open_repo, read_primary};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

/// Open `bytes` written to a file; the error and its message.
fn open_err(bytes: &[u8]) -> (RepoError, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("primary.xml.gz");
    std::fs::write(&path, bytes).unwrap();
    let err = open_repo(&path, None).unwrap_err();
    let message = err.to_string();
    let message = message.replace(&path.display().to_string(), "FILE");
    (err, message, dir)
}

fn edited(from: &str, to: &str) -> String {
    assert!(common::SMALL_PRIMARY.contains(from), "{from}");
    common::SMALL_PRIMARY.replacen(from, to, 1)
}

#[test]
fn truncated_gzip() {
    let whole = gzip(common::SMALL_PRIMARY.as_bytes());
    let (err, message, _dir) = open_err(&whole[..whole.len() * 2 / 3]);
    assert!(matches!(err, RepoError::Decompress { .. }), "{err:?}");
    assert!(
        message.starts_with("FILE: corrupt or truncated gzip data: "),
        "{message}"
    );
}

#[test]
fn truncated_real_gzip() {
    let whole = std::fs::read(common::centos("baseos-2022-primary.xml.gz")).unwrap();
    let (err, message, _dir) = open_err(&whole[..whole.len() / 2]);
    assert!(matches!(err, RepoError::Decompress { .. }), "{err:?}");
    assert!(
        message.starts_with("FILE: corrupt or truncated gzip data: "),
        "{message}"
    );
}

#[test]
fn garbage_in_gzip() {
    let mut bytes = gzip(common::SMALL_PRIMARY.as_bytes());
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    let (err, message, _dir) = open_err(&bytes);
    assert!(
        matches!(err, RepoError::Decompress { .. } | RepoError::Xml { .. }),
        "{err:?}"
    );
    assert!(message.starts_with("FILE: "), "{message}");
}

#[test]
fn truncated_xml_at_a_package_boundary() {
    let text = common::SMALL_PRIMARY;
    let cut = &text[..text.find("<package type=\"rpm\">\n  <name>bar").unwrap()];
    let (err, message, _dir) = open_err(&gzip(cut.as_bytes()));
    assert!(matches!(err, RepoError::Xml { .. }), "{err:?}");
    assert!(
        message.ends_with("the document ends before </metadata>: truncated?"),
        "{message}"
    );
}

#[test]
fn missing_attribute() {
    let text = edited(
        r#"<version epoch="0" ver="1.5" rel="1"/>"#,
        r#"<version epoch="0" ver="1.5"/>"#,
    );
    let (err, message, _dir) = open_err(text.as_bytes());
    let RepoError::Xml { position, kind, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        **kind,
        XmlErrorKind::MissingAttribute {
            element: "version",
            attribute: "rel"
        }
    );
    let line = text
        .lines()
        .position(|it| it.contains(r#"<version epoch="0" ver="1.5"/>"#))
        .unwrap() as u64
        + 1;
    assert_eq!(position.line_column, Some((line, 3)));
    assert_eq!(
        message,
        format!(
            "FILE: line {line}, column 3 (byte {}): <version> has no `rel` attribute",
            position.offset
        )
    );

    let text = edited(
        r#"<rpm:entry name="/bin/sh" pre="1"/>"#,
        r#"<rpm:entry pre="1"/>"#,
    );
    let (_, message, _dir) = open_err(&gzip(text.as_bytes()));
    assert!(
        message.ends_with("<rpm:entry> has no `name` attribute"),
        "{message}"
    );

    let text = edited(
        r#"<rpm:entry name="bar" flags="GE" epoch="0" ver="1.5"/>"#,
        r#"<rpm:entry name="bar" flags="GE"/>"#,
    );
    let (_, message, _dir) = open_err(text.as_bytes());
    assert!(
        message.ends_with("<rpm:entry> has no `ver` attribute"),
        "{message}"
    );
}

#[test]
fn bad_values() {
    for (from, to, want) in [
        (
            r#"name="bar" flags="GE""#,
            r#"name="bar" flags="GEQ""#,
            r#"<rpm:entry> has flags="GEQ"; expected EQ, LT, LE, GT or GE"#,
        ),
        (
            r#"<rpm:entry name="/bin/sh" pre="1"/>"#,
            r#"<rpm:entry name="/bin/sh" pre="yes"/>"#,
            r#"<rpm:entry> has pre="yes"; expected 0 or 1"#,
        ),
        (
            r#"<version epoch="1""#,
            r#"<version epoch="one""#,
            r#"<version> has epoch="one"; expected a number"#,
        ),
        (
            r#"<file type="dir">"#,
            r#"<file type="socket">"#,
            r#"<file> has type="socket"; expected dir, ghost or none"#,
        ),
        (
            r#"packages="2""#,
            r#"packages="3""#,
            "the document says it has 3 packages but has 2",
        ),
        ("<arch>noarch</arch>", "", "<package> has no <arch>"),
        (
            "<name>foo</name>",
            "<name></name>",
            "<package> has no <name>",
        ),
        ("a&amp;b.conf", "a&nbsp;b.conf", "unknown entity `&nbsp;`"),
        (
            "<metadata xmlns",
            "<metadate xmlns",
            "expected a <metadata> document, found <metadate>",
        ),
    ] {
        let text = edited(from, to);
        let (err, message, _dir) = open_err(text.as_bytes());
        assert!(matches!(err, RepoError::Xml { .. }), "{err:?}");
        assert!(message.starts_with("FILE: line "), "{message}");
        assert!(message.ends_with(want), "{message}\nwanted: {want}");
    }
}

#[test]
fn malformed_xml_names_the_place() {
    let text = edited("</rpm:requires>", "</rpm:require>");
    let (err, message, _dir) = open_err(text.as_bytes());
    let RepoError::Xml { position, kind, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(matches!(**kind, XmlErrorKind::Syntax(_)), "{kind:?}");
    let line = text
        .lines()
        .position(|it| it.contains("</rpm:require>"))
        .unwrap() as u64
        + 1;
    assert_eq!(position.line_column.map(|it| it.0), Some(line), "{message}");

    let (err, message, _dir) =
        open_err(b"<?xml version=\"1.0\"?>\n<metadata packages=\"1\"><package><name>x</na");
    assert!(matches!(err, RepoError::Xml { .. }), "{err:?}");
    assert!(message.starts_with("FILE: line 2, column "), "{message}");
}

#[test]
fn rich_dependencies_that_do_not_parse_are_kept_as_problems() {
    let text = edited("(baz &gt;= 2 or qux)", "(baz &gt;= 2 or or qux)");
    let repo = read_primary(text.as_bytes(), "primary.xml").unwrap();
    assert_eq!(repo.len(), 2);
    assert_eq!(repo.rich_count(), 1);
    let [problem] = repo.problems() else {
        panic!("{:?}", repo.problems());
    };
    assert_eq!(problem.package, 0);
    assert!(
        problem
            .to_string()
            .starts_with("foo-1:2.0-3.el9.x86_64: requires `(baz >= 2 or or qux)`: at character "),
        "{problem}"
    );
    let dep = &repo.deps(&repo.packages()[0], taskotron_repo::DepKind::Requires)[2];
    assert!(repo.is_rich(dep));
    assert_eq!(repo.rich(dep), None);
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_repo(dir.path(), None).unwrap_err();
    assert!(matches!(err, RepoError::NotARepo { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with(": a directory without repodata/repomd.xml"),
        "{err}"
    );
    let missing = dir.path().join("nothing.xml.gz");
    let err = open_repo(&missing, None).unwrap_err();
    assert!(matches!(err, RepoError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
}
