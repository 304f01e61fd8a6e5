//! Repository metadata: any bytes (compressed or not, told by their magic)
//! are a primary.xml repository or an error, never a panic; a repository
//! that loads reads back whole, survives the cache format unchanged, and
//! the same bytes as a filelists.xml merge into it or fail cleanly. Any
//! bytes given as a cache file load or are refused.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_repo::{DepKind, Repo, read_filelists, read_primary};

fuzz_target!(|data: &[u8]| {
    match read_primary(data, "fuzz/primary.xml") {
        Ok(repo) => {
            check(&repo);
            let back = Repo::from_cache_bytes(&repo.to_cache_bytes())
                .unwrap_or_else(|why| panic!("the cache of a parsed repository does not load: {why}"));
            assert!(back == repo, "the cache changed the repository");
            assert_eq!(back.problems(), repo.problems());
            let mut merged = repo.clone();
            match read_filelists(&mut merged, data, "fuzz/filelists.xml") {
                Ok(()) => {
                    assert!(merged.has_all_files());
                    check(&merged);
                }
                Err(err) => {
                    let _ = err.to_string();
                    // A failed merge leaves the packages as they were.
                    assert_eq!(merged.packages(), repo.packages());
                }
            }
        }
        Err(err) => {
            assert!(err.to_string().starts_with("fuzz/primary.xml: "), "{err}");
        }
    }
    if let Ok(repo) = Repo::from_cache_bytes(data) {
        check(&repo);
    }
});

/// Every string, dependency and file of every package reads back.
fn check(repo: &Repo) {
    for package in repo.packages() {
        let _ = repo.nevra(package);
        for kind in DepKind::ALL {
            for dep in repo.deps(package, kind) {
                let _ = repo.dep_string(dep);
                if repo.is_rich(dep) && kind.allows_rich() {
                    let parsed = repo.rich(dep).is_some();
                    let failed = repo.problems().iter().any(|it| it.dependency == repo.str(dep.name));
                    assert!(parsed != failed, "a rich dependency is neither parsed nor a problem");
                }
            }
        }
        for file in repo.files(package) {
            assert!(!repo.file_path(file).is_empty());
        }
    }
}
