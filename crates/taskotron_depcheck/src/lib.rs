//! depcheck: whether packages can be installed from repositories, with
//! libsolv's semantics and libsolv-style explanations ("nothing provides X
//! needed by Y", conflicts, obsoletes).
//!
//! - [`Pool`] gathers the packages of some repositories for one target
//!   architecture ([`ArchPolicy`]) and resolves every dependency to the
//!   packages that provide it: provides (and the `name = evr` every
//!   package provides), file provides (from the files each
//!   [`taskotron_repo::Repo`] has loaded), rich dependencies compiled over
//!   provider sets.
//! - [`Checker`] decides, package by package, whether a job installing it
//!   alone into an empty system can succeed, as libsolv's solver does with
//!   weak dependencies ignored: requires, conflicts (self-conflicts
//!   allowed), obsoletes matched against package names, one package per
//!   name, and libsolv's inferior-architecture rule over the packages the
//!   job can reach (the fresh-solver multilib behaviour: see
//!   docs/depcheck.md).
//! - [`regressions`] compares a pool before and after an update.
//!
//! Packages that can never be installed (a requirement nothing provides,
//! transitively) are found once for the whole pool; every other package
//! gets a CDCL solve over what it can reach, and every package of a model
//! found is known installable without a solve of its own.
//!
//! Architecture invariant: pure domain code over `taskotron_repo`'s model,
//! no IO.

mod arch;
mod check;
mod pool;
mod sat;

pub use arch::{ArchPolicy, ArchRank};
pub use check::{Checker, Verdict};
pub use pool::{PkgId, Pool, Role};
/// The repository readers depcheck works on.
pub use taskotron_repo;

use std::collections::{HashMap, HashSet};

/// The identity of a package across two pools: its NEVRA.
fn identity(pool: &Pool<'_>, id: PkgId) -> String {
    pool.nevra(id)
}

/// Packages of the checked repositories that the update breaks: those of
/// `before`'s candidates (by NEVRA) that are
/// installable in `before` and not in `after`. Only packages that can
/// reach something the update added or removed are solved again.
/// `removed` are `before`'s packages that the update replaces; `added`
/// are `after`'s packages that the update brings.
pub fn regressions(
    before: &Pool<'_>,
    after: &Pool<'_>,
    removed: &[PkgId],
    added: &[PkgId],
    threads: usize,
) -> Vec<Verdict> {
    let affected_before = reverse_reach(before, removed);
    let affected_after = reverse_reach(after, added);
    let mut wanted: HashSet<String> = HashSet::new();
    for id in &affected_before {
        wanted.insert(identity(before, *id));
    }
    for id in &affected_after {
        wanted.insert(identity(after, *id));
    }
    let removed_set: HashSet<PkgId> = removed.iter().copied().collect();
    let before_ids: Vec<PkgId> = before
        .candidates()
        .into_iter()
        .filter(|id| !removed_set.contains(id) && wanted.contains(&identity(before, *id)))
        .collect();
    let after_index: HashMap<String, PkgId> = after
        .candidates()
        .into_iter()
        .map(|id| (identity(after, id), id))
        .collect();
    let before_checker = Checker::new(before);
    let good_before: Vec<PkgId> = before_checker
        .check_many(&before_ids, threads)
        .into_iter()
        .filter(Verdict::installable)
        .map(|it| it.id)
        .collect();
    let after_ids: Vec<PkgId> = good_before
        .iter()
        .filter_map(|id| after_index.get(&identity(before, *id)).copied())
        .collect();
    let after_checker = Checker::new(after);
    after_checker
        .check_many(&after_ids, threads)
        .into_iter()
        .filter(|it| !it.installable())
        .collect()
}

/// Every installable package that can reach one of `targets` through
/// requirements (any provider), the targets included.
fn reverse_reach(pool: &Pool<'_>, targets: &[PkgId]) -> Vec<PkgId> {
    if targets.is_empty() {
        return Vec::new();
    }
    let n = pool.solvables.len();
    let mut reverse: Vec<Vec<PkgId>> = vec![Vec::new(); n];
    for (id, solvable) in pool.solvables.iter().enumerate() {
        if solvable.rank.is_none() {
            continue;
        }
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        for req in solvable.requires.iter().chain(&solvable.conflicts) {
            match req {
                pool::Req::Simple(dep) => {
                    for p in &pool.deps[*dep as usize].providers {
                        reverse[*p as usize].push(id);
                    }
                }
                pool::Req::Rich(rich) => {
                    for p in pool.rich_packages(*rich) {
                        reverse[p as usize].push(id);
                    }
                }
            }
        }
    }
    let mut seen = vec![false; n];
    let mut stack: Vec<PkgId> = targets.to_vec();
    let mut out = Vec::new();
    while let Some(p) = stack.pop() {
        if std::mem::replace(&mut seen[p as usize], true) {
            continue;
        }
        out.push(p);
        stack.extend(reverse[p as usize].iter().filter(|it| !seen[**it as usize]));
    }
    out
}
