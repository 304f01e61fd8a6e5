//! The on-disk cache: a second open reads it and gives the same data; a
//! corrupt, foreign or outdated cache file is replaced, never an error.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::{Path, PathBuf};

use taskotron_repo::{CacheStatus, Repo, open_repo};

/// The one cache file in `dir`.
fn cache_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|it| it.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

#[test]
fn second_open_reads_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let path = common::centos("baseos-2022-primary.xml.gz");
    let parsed = open_repo(&path, None).unwrap();
    assert_eq!(parsed.cache_status(), &CacheStatus::Disabled);

    let first = open_repo(&path, Some(cache.path())).unwrap();
    assert_eq!(first.cache_status(), &CacheStatus::Written);
    // Named by the sha256 of the bare primary file (it is in its name too).
    let file = cache_file(cache.path());
    assert_eq!(
        file.file_name().unwrap().to_str().unwrap(),
        "130494033cb9bffa40828ebc814d016920d9ce5d60041467af283ffcf38adef0.primary.cache"
    );

    let second = open_repo(&path, Some(cache.path())).unwrap();
    assert_eq!(second.cache_status(), &CacheStatus::Hit);
    assert!(second == parsed);
    assert_eq!(second.rich_count(), 224);
    assert_eq!(second.problems(), parsed.problems());
    // Strings are looked up the same after a load.
    let glibc = second.lookup("glibc").unwrap();
    assert_eq!(second.str(glibc), "glibc");
    assert_eq!(
        second.packages_named("glibc").count(),
        parsed.packages_named("glibc").count()
    );
}

#[test]
fn a_bad_cache_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let primary = dir.path().join("primary.xml");
    std::fs::write(&primary, common::SMALL_PRIMARY).unwrap();
    let first = open_repo(&primary, Some(&cache)).unwrap();
    assert_eq!(first.cache_status(), &CacheStatus::Written);
    let file = cache_file(&cache);
    let good = std::fs::read(&file).unwrap();

    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0xff;
    let mut old_version = good.clone();
    old_version[8] = old_version[8].wrapping_add(1);
    let cases: [(&str, Vec<u8>); 5] = [
        ("a flipped byte", flipped),
        ("a truncated file", good[..good.len() / 2].to_vec()),
        ("an empty file", Vec::new()),
        ("another format version", old_version),
        ("not a cache file", b"<metadata/>".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&file, &bytes).unwrap();
        let repo = open_repo(&primary, Some(&cache)).unwrap();
        assert!(
            matches!(repo.cache_status(), CacheStatus::Replaced(_)),
            "{what}: {:?}",
            repo.cache_status()
        );
        assert!(repo == first, "{what}");
        assert_eq!(std::fs::read(&file).unwrap(), good, "{what}: not rewritten");
        let again = open_repo(&primary, Some(&cache)).unwrap();
        assert_eq!(again.cache_status(), &CacheStatus::Hit, "{what}");
    }
}

#[test]
fn a_cache_that_cannot_be_written_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("primary.xml");
    std::fs::write(&primary, common::SMALL_PRIMARY).unwrap();
    // A file where the cache directory should be.
    let blocked = dir.path().join("cache");
    std::fs::write(&blocked, "not a directory").unwrap();
    let repo = open_repo(&primary, Some(&blocked)).unwrap();
    assert!(
        matches!(repo.cache_status(), CacheStatus::WriteFailed(_)),
        "{:?}",
        repo.cache_status()
    );
    assert_eq!(repo.len(), 2);
}

#[test]
fn cache_bytes_round_trip_and_reject_garbage() {
    let repo = open_repo(common::centos("baseos-2022-primary.xml.gz"), None).unwrap();
    let bytes = repo.to_cache_bytes();
    let back = Repo::from_cache_bytes(&bytes).unwrap();
    assert!(back == repo);
    for cut in [0, 7, 24, bytes.len() - 1] {
        assert!(
            Repo::from_cache_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}
