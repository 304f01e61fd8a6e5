//! depcheck over any repository metadata: whatever primary.xml parses
//! (rich dependencies, file provides, odd versions and arches included),
//! building the pool and checking every package never panics, every
//! verdict of an uninstallable package has reasons, and a package found
//! installable stays so when checked again on its own.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_depcheck::taskotron_repo::read_primary;
use taskotron_depcheck::{ArchPolicy, Checker, Pool, Role};

fuzz_target!(|data: &[u8]| {
    let Ok(repo) = read_primary(data, "fuzz/primary.xml") else {
        return;
    };
    for arch in ["x86_64", "i686"] {
        let Some(policy) = ArchPolicy::new(arch) else {
            return;
        };
        let pool = Pool::new(policy, &[(&repo, Role::Check)]);
        let checker = Checker::new(&pool);
        let candidates = pool.candidates();
        let verdicts = checker.check_many(&candidates, 1);
        assert_eq!(verdicts.len(), candidates.len());
        for verdict in &verdicts {
            assert_eq!(verdict.installable(), verdict.reasons.is_empty());
            let again = Checker::new(&pool).check(verdict.id);
            assert_eq!(
                again.installable(),
                verdict.installable(),
                "{verdict:?} then {again:?}"
            );
        }
    }
});
