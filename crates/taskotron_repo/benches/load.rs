//! Opening the CentOS Stream 9 AppStream primary metadata (17,649
//! packages, 3.6 MB gzip, 52 MB XML): parsed, and loaded from the cache.
//!
//! `cargo bench -p taskotron_repo --bench load`

#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use taskotron_repo::{CacheStatus, open_repo};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/centos-stream-9")
        .join(name)
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_repo");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for (label, file) in [
        ("appstream", "appstream-primary.xml.gz"),
        ("baseos-2022", "baseos-2022-primary.xml.gz"),
    ] {
        let path = data(file);
        group.bench_function(format!("{label}/parse"), |b| {
            b.iter(|| open_repo(&path, None).unwrap());
        });
        let cache = tempfile::tempdir().unwrap();
        assert_eq!(
            open_repo(&path, Some(cache.path())).unwrap().cache_status(),
            &CacheStatus::Written
        );
        group.bench_function(format!("{label}/cached"), |b| {
            b.iter(|| {
                let repo = open_repo(&path, Some(cache.path())).unwrap();
                assert_eq!(repo.cache_status(), &CacheStatus::Hit);
                repo
            });
        });
    }
    group.finish();
}

criterion_group!(benches, open);
criterion_main!(benches);
