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
//! - [`check_update`] checks an update's packages and finds what it
//!   breaks, in one pool that holds the worlds before and after it.
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

/// What an update does: its own packages' verdicts, and the packages it
/// breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateVerdicts {
    /// The verdict of each of the update's packages, in the world after
    /// the update, in the order given.
    pub update: Vec<Verdict>,
    /// Packages of the checked repositories that are installable before
    /// the update and not after it, with the reasons after it, in pool
    /// order.
    pub regressions: Vec<Verdict>,
}

/// Check an update in one pool that holds both worlds: before the update
/// the pool without `added` (the update's packages), after it the pool
/// without `removed` (the repositories' packages the update replaces).
///
/// The update's packages are checked after the update. A package of the
/// checked repositories can change its verdict only when something that
/// changed is within its reach (through requires, conflicts, weak
/// dependencies, or a supplements/enhances that reaches it), so only
/// those are checked: first after the update, and the few that are not
/// installable after it also before it.
pub fn check_update(
    pool: &Pool<'_>,
    removed: &[PkgId],
    added: &[PkgId],
    threads: usize,
) -> UpdateVerdicts {
    let after = Checker::without(pool, removed);
    let update = after.check_many(added, threads);
    let changed: Vec<PkgId> = removed.iter().chain(added).copied().collect();
    let mut skip = vec![false; pool.len()];
    for id in &changed {
        skip[*id as usize] = true;
    }
    let mut affected = reverse_reach(pool, &changed);
    affected.retain(|id| !skip[*id as usize]);
    let candidates: std::collections::HashSet<PkgId> = pool.candidates().into_iter().collect();
    affected.retain(|id| candidates.contains(id));
    affected.sort_unstable();
    let broken_after: Vec<Verdict> = after
        .check_many(&affected, threads)
        .into_iter()
        .filter(|it| !it.installable())
        .collect();
    if broken_after.is_empty() {
        return UpdateVerdicts {
            update,
            regressions: Vec::new(),
        };
    }
    let before = Checker::without(pool, added);
    let ids: Vec<PkgId> = broken_after.iter().map(|it| it.id).collect();
    let good_before: std::collections::HashSet<PkgId> = before
        .check_many(&ids, threads)
        .into_iter()
        .filter(Verdict::installable)
        .map(|it| it.id)
        .collect();
    let regressions = broken_after
        .into_iter()
        .filter(|it| good_before.contains(&it.id))
        .collect();
    UpdateVerdicts {
        update,
        regressions,
    }
}

/// Every installable package that can reach one of `targets` (the targets
/// included): through requires, conflicts and weak dependencies (any
/// provider), and from what a package supplements or enhances to it.
fn reverse_reach(pool: &Pool<'_>, targets: &[PkgId]) -> Vec<PkgId> {
    if targets.is_empty() {
        return Vec::new();
    }
    let n = pool.solvables.len();
    let mut reverse: Vec<Vec<PkgId>> = vec![Vec::new(); n];
    let edge = |reverse: &mut Vec<Vec<PkgId>>, from: PkgId, req: &pool::Req| match req {
        pool::Req::Simple(dep) => {
            for p in &pool.deps[*dep as usize].providers {
                reverse[*p as usize].push(from);
            }
        }
        pool::Req::Rich(rich) => {
            for p in pool.rich_packages(*rich) {
                reverse[p as usize].push(from);
            }
        }
    };
    for (id, solvable) in pool.solvables.iter().enumerate() {
        if solvable.rank.is_none() {
            continue;
        }
        let id = u32::try_from(id).unwrap_or(u32::MAX);
        for req in solvable
            .requires
            .iter()
            .chain(&solvable.conflicts)
            .chain(&solvable.weak)
        {
            edge(&mut reverse, id, req);
        }
        // A package that supplements or enhances X joins the reach of
        // whatever reaches X: X leads to it.
        for req in &solvable.reverse_weak {
            let targets: Vec<PkgId> = match req {
                pool::Req::Simple(dep) => pool.deps[*dep as usize].providers.clone(),
                pool::Req::Rich(rich) => pool.rich_packages(*rich),
            };
            for x in targets {
                reverse[id as usize].push(x);
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
