//! Compression is told by the first bytes, never by the file's name: the
//! same primary.xml as gzip, xz, zstd and plain gives the same repository.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::io::Write;
use std::path::Path;

use taskotron_repo::{Compression, DepKind, FileKind, RepoError, open_repo, read_primary};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = liblzma::write::XzEncoder::new(Vec::new(), 6);
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

#[test]
fn every_compression_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let plain = common::SMALL_PRIMARY.as_bytes();
    // Misleading names on purpose: only the magic bytes count.
    let files = [
        ("primary.xml.zst", plain.to_vec()),
        ("primary.xml", gzip(plain)),
        ("primary.xml.gz", xz(plain)),
        ("primary.xml.xz", zstd(plain)),
    ];
    let mut repos = Vec::new();
    for (name, bytes) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        repos.push(open_repo(&path, None).unwrap());
        // The same through the reader API.
        assert!(read_primary(&bytes[..], name).unwrap() == repos[0]);
    }
    assert!(repos.iter().all(|it| *it == repos[0]));

    let repo = &repos[0];
    assert_eq!(repo.len(), 2);
    let foo = &repo.packages()[0];
    assert_eq!(repo.nevra(foo), "foo-1:2.0-3.el9.x86_64");
    let requires: Vec<String> = repo
        .deps(foo, DepKind::Requires)
        .iter()
        .map(|it| repo.dep_string(it))
        .collect();
    assert_eq!(requires, ["/bin/sh", "bar >= 1.5", "(baz >= 2 or qux)"]);
    assert!(repo.deps(foo, DepKind::Requires)[0].pre);
    assert_eq!(repo.rich_count(), 1);
    let files: Vec<(String, FileKind)> = repo
        .files(foo)
        .iter()
        .map(|it| (repo.file_path(it), it.kind))
        .collect();
    assert_eq!(
        files,
        [
            ("/usr/bin/foo".to_owned(), FileKind::File),
            ("/etc/foo".to_owned(), FileKind::Dir),
            ("/etc/foo/a&b.conf".to_owned(), FileKind::Ghost)
        ]
    );
}

#[test]
fn multi_member_gzip_and_concatenated_zstd_frames() {
    let plain = common::SMALL_PRIMARY.as_bytes();
    let (head, tail) = plain.split_at(plain.len() / 2);
    let want = read_primary(plain, "plain").unwrap();
    let gz = [gzip(head), gzip(tail)].concat();
    assert!(read_primary(&gz[..], "two members").unwrap() == want);
    let zst = [zstd(head), zstd(tail)].concat();
    assert!(read_primary(&zst[..], "two frames").unwrap() == want);
    let xzs = [xz(head), xz(tail)].concat();
    assert!(read_primary(&xzs[..], "two streams").unwrap() == want);
}

#[test]
fn unknown_compression_is_named() {
    for (bytes, want) in [
        (&b"BZh91AY&SY"[..], "bzip2 compression is not supported"),
        (b"", "the file is empty"),
        (
            b"PK\x03\x04zip",
            "unknown format: starts with bytes 50 4b 03 04",
        ),
    ] {
        let err = read_primary(bytes, Path::new("repodata/primary.xml.bz2")).unwrap_err();
        assert!(matches!(err, RepoError::UnknownFormat { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("repodata/primary.xml.bz2: {want}")),
            "{message}"
        );
    }
    assert_eq!(Compression::detect(b"\x1f\x8b"), Ok(Compression::Gzip));
}
