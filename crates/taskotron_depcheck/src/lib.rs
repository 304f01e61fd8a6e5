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
    // What the update can reach is found on a second thread while the
    // checkers of both worlds are made.
    let affected_of = || {
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
        affected
    };
    let (after, before, update, affected) = if threads > 1 {
        std::thread::scope(|scope| {
            let reach = scope.spawn(affected_of);
            let after = Checker::without(pool, removed);
            let update = after.check_many(added, threads);
            let before = Checker::without(pool, added);
            let affected = reach
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (after, Some(before), update, affected)
        })
    } else {
        let after = Checker::without(pool, removed);
        let update = after.check_many(added, threads);
        (after, None, update, affected_of())
    };
    // Most are installable after the update, proven without a solve; the
    // rest are checked before it, and those installable before are solved
    // after it.
    let suspects = after.unproven(&affected, threads);
    if suspects.is_empty() {
        return UpdateVerdicts {
            update,
            regressions: Vec::new(),
        };
    }
    let before = before.unwrap_or_else(|| Checker::without(pool, added));
    let bad_before: std::collections::HashSet<PkgId> = before
        .check_broken(&suspects, threads)
        .into_iter()
        .map(|it| it.id)
        .collect();
    let good_before: Vec<PkgId> = suspects
        .into_iter()
        .filter(|it| !bad_before.contains(it))
        .collect();
    let regressions = after.check_broken(&good_before, threads);
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
    // Every edge "`from` leads to `to`", called once to count and once to
    // fill the flat array of who leads to each package.
    let edges = |visit: &mut dyn FnMut(PkgId, PkgId)| {
        let mut rich = Vec::new();
        for (id, solvable) in pool.solvables.iter().enumerate() {
            if solvable.rank.is_none() {
                continue;
            }
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let forward = solvable
                .requires
                .iter()
                .chain(&solvable.conflicts)
                .chain(&solvable.weak);
            for req in forward {
                match req {
                    pool::Req::Simple(dep) => {
                        for p in &pool.deps[*dep as usize].providers {
                            visit(id, *p);
                        }
                    }
                    pool::Req::Rich(index) => {
                        rich.clear();
                        pool.rich_packages_into(*index, &mut rich);
                        for p in &rich {
                            visit(id, *p);
                        }
                    }
                }
            }
            // A package that supplements or enhances X joins the reach of
            // whatever reaches X: X leads to it.
            for req in &solvable.reverse_weak {
                match req {
                    pool::Req::Simple(dep) => {
                        for x in &pool.deps[*dep as usize].providers {
                            visit(*x, id);
                        }
                    }
                    pool::Req::Rich(index) => {
                        rich.clear();
                        pool.rich_packages_into(*index, &mut rich);
                        for x in &rich {
                            visit(*x, id);
                        }
                    }
                }
            }
        }
    };
    let mut starts: Vec<u32> = vec![0; n + 1];
    edges(&mut |_, to| starts[to as usize + 1] += 1);
    for at in 0..n {
        starts[at + 1] += starts[at];
    }
    let mut fill: Vec<u32> = starts[..n].to_vec();
    let mut leads: Vec<PkgId> = vec![0; starts[n] as usize];
    edges(&mut |from, to| {
        let slot = &mut fill[to as usize];
        leads[*slot as usize] = from;
        *slot += 1;
    });
    let mut seen = vec![false; n];
    let mut stack: Vec<PkgId> = targets.to_vec();
    let mut out = Vec::new();
    while let Some(p) = stack.pop() {
        if std::mem::replace(&mut seen[p as usize], true) {
            continue;
        }
        out.push(p);
        let range = starts[p as usize] as usize..starts[p as usize + 1] as usize;
        stack.extend(leads[range].iter().filter(|it| !seen[**it as usize]));
    }
    out
}
