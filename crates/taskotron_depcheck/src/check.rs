//! Installability, package by package, with libsolv's semantics: each
//! package is solved on its own in an empty system (weak dependencies
//! ignored), with the rules libsolv makes for the packages its job can
//! reach.

use hashbrown::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::arch::ArchRank;
use crate::pool::{Cx, PkgId, Pool, Req};
use crate::sat::{Lit, Outcome, Sat, neg, pos};

/// Why a package cannot be installed: libsolv's problem rules, in its
/// words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The package, as [`Pool::nevra`] prints it.
    pub nevra: String,
    /// The package's id in the pool.
    #[serde(skip)]
    pub id: PkgId,
    /// Empty when the package is installable; otherwise the reasons, one
    /// line each (`nothing provides X needed by Y`, …).
    pub reasons: Vec<String>,
}

impl Verdict {
    /// Whether the package can be installed.
    pub fn installable(&self) -> bool {
        self.reasons.is_empty()
    }
}

const UNKNOWN: u8 = 0;
const GOOD: u8 = 1;
const BAD: u8 = 2;

/// How many conflicts one package's solve may take before depcheck gives
/// up on it (and reports it as not installable, never as installable).
const MAX_CONFLICTS: usize = 200_000;

/// What each clause of a solve means, for explanations.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Job,
    NothingProvides(PkgId, Req),
    Requires(PkgId, Req),
    Conflicts(PkgId, Req, PkgId),
    Obsoletes(PkgId, u32, PkgId),
    SameName(PkgId, PkgId),
    InferiorArch(PkgId),
}

/// Package-level facts that hold whatever else is installed.
#[derive(Debug)]
struct Absolute {
    /// A requirement that no package (or only broken ones) provides.
    broken: Vec<Option<Req>>,
}

/// The checker: a pool and what is known so far about its packages.
#[derive(Debug)]
pub struct Checker<'p, 'a> {
    pool: &'p Pool<'a>,
    state: Vec<AtomicU8>,
    absolute: Absolute,
    /// Packages of the pool that this checker's world does not have.
    gone: Vec<bool>,
    /// Whether a name has packages of two arch ranks in this world.
    multiarch: Vec<bool>,
    /// Each rich dependency of the pool as a CNF that holds when it does
    /// (for requires) and when it does not (for conflicts).
    req_cnf: Vec<Cnf>,
    conf_cnf: Vec<Cnf>,
}

impl<'p, 'a> Checker<'p, 'a> {
    /// A checker over `pool`: finds the packages that can never be
    /// installed (a requirement nothing provides, or only such packages).
    pub fn new(pool: &'p Pool<'a>) -> Checker<'p, 'a> {
        Checker::without(pool, &[])
    }

    /// A checker over `pool` as if `gone` were not in it: they are never
    /// installed and provide nothing (one pool serves the world before an
    /// update, without the update's packages, and the world after it,
    /// without the packages it replaces).
    pub fn without(pool: &'p Pool<'a>, gone_ids: &[PkgId]) -> Checker<'p, 'a> {
        let n = pool.solvables.len();
        let mut gone_flags = vec![false; n];
        for id in gone_ids {
            if let Some(slot) = gone_flags.get_mut(*id as usize) {
                *slot = true;
            }
        }
        let gone = gone_flags;
        // Multiarch names: only those of the packages gone can change.
        let mut multiarch = pool.multiarch.clone();
        for id in gone_ids {
            let Some(solvable) = pool.solvables.get(*id as usize) else {
                continue;
            };
            let mut ranks = pool.by_name[solvable.name as usize]
                .iter()
                .filter(|it| !gone[**it as usize])
                .filter_map(|it| match pool.solvables[*it as usize].rank {
                    Some(ArchRank::Rank(r)) => Some(r),
                    _ => None,
                });
            let first = ranks.next();
            multiarch[solvable.name as usize] = ranks.any(|it| Some(it) != first);
        }
        let mut broken: Vec<Option<Req>> = vec![None; n];
        // Direct: a simple requirement with no provider. The packages that
        // need each package (through a simple requirement it may meet) are
        // kept in one flat array, `needers[starts[q]..starts[q + 1]]`.
        let mut starts: Vec<u32> = vec![0; n + 1];
        let mut queue = Vec::new();
        let live_requires = |id: usize| {
            let solvable = &pool.solvables[id];
            let skip = solvable.rank.is_none() || gone[id];
            solvable
                .requires
                .iter()
                .filter(move |_| !skip)
                .filter_map(|req| match req {
                    Req::Simple(dep) => Some((*req, &pool.deps[*dep as usize].providers)),
                    Req::Rich(_) => None,
                })
        };
        for (id, slot) in broken.iter_mut().enumerate() {
            let pid = u32::try_from(id).unwrap_or(u32::MAX);
            for (req, providers) in live_requires(id) {
                if providers.iter().all(|it| gone[*it as usize]) {
                    if slot.is_none() {
                        *slot = Some(req);
                        queue.push(pid);
                    }
                } else if !providers.contains(&pid) {
                    for p in providers {
                        if !gone[*p as usize] {
                            starts[*p as usize + 1] += 1;
                        }
                    }
                }
            }
        }
        if !queue.is_empty() {
            for at in 0..n {
                starts[at + 1] += starts[at];
            }
            let mut fill: Vec<u32> = starts[..n].to_vec();
            let mut needers: Vec<(PkgId, Req)> = vec![(0, Req::Simple(0)); starts[n] as usize];
            for id in 0..n {
                let pid = u32::try_from(id).unwrap_or(u32::MAX);
                for (req, providers) in live_requires(id) {
                    if providers.contains(&pid) || providers.iter().all(|it| gone[*it as usize]) {
                        continue;
                    }
                    for p in providers {
                        if !gone[*p as usize] {
                            let slot = &mut fill[*p as usize];
                            needers[*slot as usize] = (pid, req);
                            *slot += 1;
                        }
                    }
                }
            }
            // Propagate: every provider of a requirement broken.
            while let Some(p) = queue.pop() {
                let range = starts[p as usize] as usize..starts[p as usize + 1] as usize;
                for (q, req) in needers[range].iter().copied() {
                    if broken[q as usize].is_some() {
                        continue;
                    }
                    let Req::Simple(dep) = req else { continue };
                    if pool.deps[dep as usize]
                        .providers
                        .iter()
                        .all(|it| broken[*it as usize].is_some() || gone[*it as usize])
                    {
                        broken[q as usize] = Some(req);
                        queue.push(q);
                    }
                }
            }
        }
        let state = broken
            .iter()
            .map(|it| AtomicU8::new(if it.is_some() { BAD } else { UNKNOWN }))
            .collect();
        Checker {
            pool,
            state,
            absolute: Absolute { broken },
            gone,
            multiarch,
            req_cnf: pool.rich.iter().map(|it| requires_cnf(&it.expr)).collect(),
            conf_cnf: pool.rich.iter().map(|it| conflicts_cnf(&it.expr)).collect(),
        }
    }

    /// Whether `p` is in this checker's world.
    fn live(&self, p: PkgId) -> bool {
        !self.gone[p as usize]
    }

    /// Whether a dependency has no provider in this world.
    fn unprovided(&self, dep: u32) -> bool {
        self.pool.deps[dep as usize]
            .providers
            .iter()
            .all(|it| !self.live(*it))
    }

    /// Check some packages, in parallel over `threads` threads; the
    /// verdicts come back in the order of `ids`.
    pub fn check_many(&self, ids: &[PkgId], threads: usize) -> Vec<Verdict> {
        self.run_many(ids, threads, |id, work| self.check_with(id, work))
    }

    /// [`Checker::check_many`], keeping only the verdicts of the packages
    /// that are not installable (in the order of `ids`).
    pub fn check_broken(&self, ids: &[PkgId], threads: usize) -> Vec<Verdict> {
        self.run_many(ids, threads, |id, work| {
            self.reasons(id, work).map(|reasons| Verdict {
                nevra: self.pool.nevra(id),
                id,
                reasons,
            })
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// `decide` for each of `ids`, in parallel over `threads` threads,
    /// after [`Checker::share`]; the results in the order of `ids`.
    fn run_many<T: Send>(
        &self,
        ids: &[PkgId],
        threads: usize,
        decide: impl Fn(PkgId, &mut Work) -> T + Sync,
    ) -> Vec<T> {
        self.share(ids);
        let threads = threads.clamp(1, 64);
        if threads == 1 || ids.len() < 64 {
            let mut work = Work::new(self.pool.solvables.len());
            return ids.iter().map(|id| decide(*id, &mut work)).collect();
        }
        let chunk = ids.len().div_ceil(threads * 8).max(1);
        let chunks: Vec<&[PkgId]> = ids.chunks(chunk).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut results: Vec<Vec<T>> = Vec::new();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut work = Work::new(self.pool.solvables.len());
                        let mut out = Vec::new();
                        loop {
                            let at = next.fetch_add(1, Ordering::Relaxed);
                            let Some(list) = chunks.get(at) else { break };
                            let verdicts: Vec<T> =
                                list.iter().map(|id| decide(*id, &mut work)).collect();
                            out.push((at, verdicts));
                        }
                        out
                    })
                })
                .collect();
            let mut all: Vec<(usize, Vec<T>)> = handles
                .into_iter()
                .flat_map(|it| it.join().unwrap_or_default())
                .collect();
            all.sort_by_key(|it| it.0);
            results = all.into_iter().map(|it| it.1).collect();
        });
        results.into_iter().flatten().collect()
    }

    /// Grow one installation that holds as many of `ids` as it can, with
    /// what they need: a set in which every requirement of a member has a
    /// provider that is a member, and no two members conflict, obsolete
    /// one another or share a name. Each member is then installable (what
    /// it reaches inside the set is an installation), without a solve of
    /// its own. Packages with rich dependencies that a later member could
    /// falsify (`if`, `unless`, rich conflicts) and inferior architectures
    /// stay out; whatever cannot join is checked on its own as before.
    fn share(&self, ids: &[PkgId]) {
        let n = self.pool.solvables.len();
        let mut shared = Shared {
            mark: vec![0; n],
            trial: Vec::new(),
            blocked: Vec::new(),
        };
        for id in ids {
            if (*id as usize) < n && shared.mark[*id as usize] == 0 {
                self.try_join(*id, &mut shared);
            }
        }
        for (p, mark) in shared.mark.iter().enumerate() {
            if *mark == IN {
                self.state[p].store(GOOD, Ordering::Relaxed);
            }
        }
    }

    /// Whether `q` may ever join the shared set.
    fn shareable(&self, q: PkgId) -> bool {
        let pool = self.pool;
        let solvable = &pool.solvables[q as usize];
        if !self.live(q) || self.absolute.broken[q as usize].is_some() {
            return false;
        }
        match solvable.rank {
            None => return false,
            Some(ArchRank::Rank(rank)) if rank > 0 && self.multiarch[solvable.name as usize] => {
                return false;
            }
            _ => {}
        }
        solvable.requires.iter().all(|req| match req {
            Req::Simple(_) => true,
            Req::Rich(rich) => self.req_cnf[*rich as usize]
                .iter()
                .all(|clause| clause.iter().all(|lit| lit & 1 == 0)),
        }) && solvable
            .conflicts
            .iter()
            .all(|req| matches!(req, Req::Simple(_)))
    }

    /// Whether `q` may join the shared set now: nothing in it (or in the
    /// trial) rules `q` out, and `q` rules nothing in it out.
    fn joinable(&self, q: PkgId, shared: &Shared) -> bool {
        let mark = shared.mark[q as usize];
        if mark != 0 || !self.shareable(q) {
            return false;
        }
        let pool = self.pool;
        let solvable = &pool.solvables[q as usize];
        let member = |r: PkgId| r != q && shared.member(r);
        for req in &solvable.conflicts {
            if let Req::Simple(dep) = req
                && pool.deps[*dep as usize]
                    .providers
                    .iter()
                    .any(|r| member(*r))
            {
                return false;
            }
        }
        for dep in &solvable.obsoletes {
            if pool.deps[*dep as usize]
                .providers
                .iter()
                .any(|r| member(*r) && pool.obsoletes_match(*dep, *r))
            {
                return false;
            }
        }
        !pool.by_name[solvable.name as usize]
            .iter()
            .any(|r| member(*r))
    }

    /// Put `q` into the trial and rule out what it cannot go with.
    fn put_trial(&self, q: PkgId, shared: &mut Shared) {
        let pool = self.pool;
        shared.mark[q as usize] = TRIAL;
        shared.trial.push(q);
        let solvable = &pool.solvables[q as usize];
        let block = |r: PkgId, shared: &mut Shared| {
            if r != q && shared.mark[r as usize] == 0 {
                shared.mark[r as usize] = TRIAL_BLOCKED;
                shared.blocked.push(r);
            }
        };
        for req in &solvable.conflicts {
            if let Req::Simple(dep) = req {
                for r in &pool.deps[*dep as usize].providers {
                    block(*r, shared);
                }
            }
        }
        for dep in &solvable.obsoletes {
            for r in &pool.deps[*dep as usize].providers {
                if pool.obsoletes_match(*dep, *r) {
                    block(*r, shared);
                }
            }
        }
        for r in &pool.by_name[solvable.name as usize] {
            block(*r, shared);
        }
    }

    /// Try to add `id` and what it needs to the shared set; on failure
    /// the set is as it was.
    fn try_join(&self, id: PkgId, shared: &mut Shared) {
        const LIMIT: usize = 20_000;
        if !self.joinable(id, shared) {
            return;
        }
        shared.trial.clear();
        shared.blocked.clear();
        self.put_trial(id, shared);
        let pool = self.pool;
        let mut next = 0;
        let mut ok = true;
        'walk: while next < shared.trial.len() {
            if shared.trial.len() > LIMIT {
                ok = false;
                break;
            }
            let p = shared.trial[next];
            next += 1;
            for req in &pool.solvables[p as usize].requires {
                match req {
                    Req::Simple(dep) => {
                        let providers = &pool.deps[*dep as usize].providers;
                        if providers.iter().any(|q| *q == p || shared.member(*q)) {
                            continue;
                        }
                        let Some(q) = providers
                            .iter()
                            .copied()
                            .find(|q| self.joinable(*q, shared))
                        else {
                            ok = false;
                            break 'walk;
                        };
                        self.put_trial(q, shared);
                    }
                    Req::Rich(rich) => {
                        for clause in &self.req_cnf[*rich as usize] {
                            if clause
                                .iter()
                                .any(|lit| (lit >> 1) == p || shared.member(lit >> 1))
                            {
                                continue;
                            }
                            let Some(q) = clause
                                .iter()
                                .map(|lit| lit >> 1)
                                .find(|q| self.joinable(*q, shared))
                            else {
                                ok = false;
                                break 'walk;
                            };
                            self.put_trial(q, shared);
                        }
                    }
                }
            }
        }
        let (member, blocked) = if ok { (IN, BLOCKED) } else { (0, 0) };
        for p in &shared.trial {
            shared.mark[*p as usize] = member;
        }
        for p in &shared.blocked {
            shared.mark[*p as usize] = blocked;
        }
        if !ok && shared.mark[id as usize] == 0 {
            // Not again: it is checked on its own.
            shared.mark[id as usize] = FAILED;
        }
    }

    /// The packages of `ids` that are not quickly proven installable (by
    /// the shared installation or a greedy one of their own): the
    /// uninstallable ones, and some installable ones. No solves; the
    /// greedy installations are spread over `threads`.
    pub(crate) fn unproven(&self, ids: &[PkgId], threads: usize) -> Vec<PkgId> {
        self.run_many(ids, threads, |id, work| {
            (self.live(id)
                && (self.absolute.broken[id as usize].is_some()
                    || (self.state[id as usize].load(Ordering::Relaxed) != GOOD
                        && !self.greedy(id, work))))
            .then_some(id)
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// Check one package.
    pub fn check(&self, id: PkgId) -> Verdict {
        let mut work = Work::new(self.pool.solvables.len());
        self.check_with(id, &mut work)
    }

    fn check_with(&self, id: PkgId, work: &mut Work) -> Verdict {
        Verdict {
            nevra: self.pool.nevra(id),
            id,
            reasons: self.reasons(id, work).unwrap_or_default(),
        }
    }

    /// Why `id` cannot be installed; `None` when it can.
    fn reasons(&self, id: PkgId, work: &mut Work) -> Option<Vec<String>> {
        if !self.live(id) {
            let nevra = self.pool.nevra(id);
            return Some(vec![format!(
                "package {nevra} is not in the repositories checked"
            )]);
        }
        if self.absolute.broken[id as usize].is_some() {
            let mut reasons = Vec::new();
            self.explain_absolute(id, &mut reasons, &mut Vec::new(), 0);
            if reasons.is_empty() {
                reasons.push(format!(
                    "package {} is not installable",
                    self.pool.nevra(id)
                ));
            }
            return Some(reasons);
        }
        if self.state[id as usize].load(Ordering::Relaxed) == GOOD || self.greedy(id, work) {
            return None;
        }
        let reasons = self.solve(id, work);
        (!reasons.is_empty()).then_some(reasons)
    }

    /// Try to build an installation of `id` greedily (the best acceptable
    /// provider for each open requirement) and verify it against every
    /// rule; on success every package of it is known installable. `false`
    /// says nothing: the full solve decides.
    fn greedy(&self, id: PkgId, work: &mut Work) -> bool {
        const LIMIT: usize = 20_000;
        let pool = self.pool;
        work.start_set();
        if !self.acceptable(id, work) {
            return false;
        }
        self.add(id, work);
        let mut next = 0;
        while next < work.members.len() {
            if work.members.len() > LIMIT {
                return false;
            }
            let p = work.members[next];
            next += 1;
            for req in &pool.solvables[p as usize].requires {
                match req {
                    Req::Simple(dep) => {
                        let providers = &pool.deps[*dep as usize].providers;
                        if providers.iter().any(|q| *q == p || work.in_set(*q)) {
                            continue;
                        }
                        let Some(q) = providers.iter().copied().find(|q| {
                            self.state[*q as usize].load(Ordering::Relaxed) != BAD
                                && self.acceptable(*q, work)
                        }) else {
                            return false;
                        };
                        self.add(q, work);
                    }
                    Req::Rich(rich) => {
                        for clause in &self.req_cnf[*rich as usize] {
                            if clause.contains(&pos(p)) || holds(clause, work) {
                                continue;
                            }
                            let Some(q) = clause
                                .iter()
                                .filter(|lit| *lit & 1 == 0)
                                .map(|lit| lit >> 1)
                                .find(|q| {
                                    self.state[*q as usize].load(Ordering::Relaxed) != BAD
                                        && self.acceptable(*q, work)
                                })
                            else {
                                return false;
                            };
                            self.add(q, work);
                        }
                    }
                }
            }
        }
        // Verify every rule over the set.
        for p in &work.members {
            let p = *p;
            let solvable = &pool.solvables[p as usize];
            if let Some(ArchRank::Rank(rank)) = solvable.rank
                && rank > 0
                && self.multiarch[solvable.name as usize]
            {
                return false;
            }
            for req in &solvable.requires {
                let ok = match req {
                    Req::Simple(dep) => pool.deps[*dep as usize]
                        .providers
                        .iter()
                        .any(|q| *q == p || work.in_set(*q)),
                    Req::Rich(rich) => self.req_cnf[*rich as usize]
                        .iter()
                        .all(|clause| clause.contains(&pos(p)) || holds(clause, work)),
                };
                if !ok {
                    return false;
                }
            }
            for req in &solvable.conflicts {
                let ok = match req {
                    Req::Simple(dep) => !pool.deps[*dep as usize]
                        .providers
                        .iter()
                        .any(|q| *q != p && work.in_set(*q)),
                    Req::Rich(rich) => self.conf_cnf[*rich as usize]
                        .iter()
                        .all(|clause| holds(clause, work)),
                };
                if !ok {
                    return false;
                }
            }
            if !self.own_rules_allow(p, work) {
                return false;
            }
        }
        for p in &work.members {
            self.state[*p as usize].store(GOOD, Ordering::Relaxed);
        }
        true
    }

    /// Whether `q`'s obsoletes and name allow it next to the set.
    fn own_rules_allow(&self, q: PkgId, work: &Work) -> bool {
        let pool = self.pool;
        let solvable = &pool.solvables[q as usize];
        for dep in &solvable.obsoletes {
            if pool.deps[*dep as usize]
                .providers
                .iter()
                .any(|r| *r != q && work.in_set(*r) && pool.obsoletes_match(*dep, *r))
            {
                return false;
            }
        }
        !pool.by_name[solvable.name as usize]
            .iter()
            .any(|r| *r != q && work.in_set(*r))
    }

    /// Whether `q` may join the set: not in it, not ruled out by its
    /// members, and its own conflicts, obsoletes and name allow it.
    fn acceptable(&self, q: PkgId, work: &Work) -> bool {
        let pool = self.pool;
        if work.in_set(q) || work.forbidden(q) || !self.live(q) {
            return false;
        }
        for req in &pool.solvables[q as usize].conflicts {
            match req {
                Req::Simple(dep) => {
                    if pool.deps[*dep as usize]
                        .providers
                        .iter()
                        .any(|r| *r != q && work.in_set(*r))
                    {
                        return false;
                    }
                }
                Req::Rich(_) => {}
            }
        }
        self.own_rules_allow(q, work)
    }

    /// Put `q` into the set and rule out what it cannot go with.
    fn add(&self, q: PkgId, work: &mut Work) {
        let pool = self.pool;
        work.put(q);
        let solvable = &pool.solvables[q as usize];
        for req in &solvable.conflicts {
            if let Req::Simple(dep) = req {
                for r in &pool.deps[*dep as usize].providers {
                    if *r != q {
                        work.forbid(*r);
                    }
                }
            }
        }
        for dep in &solvable.obsoletes {
            for r in &pool.deps[*dep as usize].providers {
                if *r != q && pool.obsoletes_match(*dep, *r) {
                    work.forbid(*r);
                }
            }
        }
        for r in &pool.by_name[solvable.name as usize] {
            if *r != q {
                work.forbid(*r);
            }
        }
    }

    fn explain_absolute(
        &self,
        id: PkgId,
        out: &mut Vec<String>,
        seen: &mut Vec<PkgId>,
        depth: usize,
    ) {
        if seen.contains(&id) || depth > 8 || out.len() > 40 {
            return;
        }
        seen.push(id);
        let pool = self.pool;
        let solvable = &pool.solvables[id as usize];
        let nevra = pool.nevra(id);
        let mut direct = false;
        for req in &solvable.requires {
            if let Req::Simple(dep) = req
                && self.unprovided(*dep)
            {
                out.push(format!(
                    "nothing provides {} needed by {nevra}",
                    pool.dep_text(*dep)
                ));
                direct = true;
            }
        }
        if direct {
            return;
        }
        if let Some(req @ Req::Simple(dep)) = self.absolute.broken[id as usize] {
            out.push(format!(
                "package {nevra} requires {}, but none of the providers can be installed",
                pool.req_text(req)
            ));
            for p in &pool.deps[dep as usize].providers {
                if self.live(*p) {
                    self.explain_absolute(*p, out, seen, depth + 1);
                }
            }
        }
    }

    /// The closure of what a job installing `id` can reach, as libsolv
    /// adds rules for it (requires, recommends and suggests pull in their
    /// providers; supplements and enhances pull in their packages when
    /// possible); into `work.closure`.
    fn closure(&self, id: PkgId, work: &mut Work) {
        let pool = self.pool;
        work.next_generation();
        let mut stack = vec![id];
        loop {
            while let Some(p) = stack.pop() {
                if work.mark(p) {
                    continue;
                }
                work.closure.push(p);
                let solvable = &pool.solvables[p as usize];
                for req in &solvable.requires {
                    match req {
                        Req::Simple(dep) => {
                            let providers = &pool.deps[*dep as usize].providers;
                            if providers.contains(&p) {
                                continue;
                            }
                            stack.extend(
                                providers
                                    .iter()
                                    .filter(|it| !work.marked(**it) && self.live(**it)),
                            );
                        }
                        Req::Rich(rich) => {
                            for clause in &self.req_cnf[*rich as usize] {
                                if clause.iter().any(|it| *it == pos(p)) {
                                    continue;
                                }
                                stack.extend(
                                    clause
                                        .iter()
                                        .filter(|it| **it & 1 == 0)
                                        .map(|it| it >> 1)
                                        .filter(|it| self.live(*it)),
                                );
                            }
                        }
                    }
                }
                for req in &solvable.conflicts {
                    if let Req::Rich(rich) = req {
                        for clause in &self.conf_cnf[*rich as usize] {
                            if clause.iter().any(|it| *it == pos(p)) {
                                continue;
                            }
                            stack.extend(
                                clause
                                    .iter()
                                    .filter(|it| **it & 1 == 0)
                                    .map(|it| it >> 1)
                                    .filter(|it| self.live(*it)),
                            );
                        }
                    }
                }
                for req in &solvable.weak {
                    match req {
                        Req::Simple(dep) => stack.extend(
                            pool.deps[*dep as usize]
                                .providers
                                .iter()
                                .filter(|it| self.live(**it)),
                        ),
                        Req::Rich(rich) => {
                            let mut leaves = Vec::new();
                            positive_leaves(&pool.rich[*rich as usize].expr, &mut leaves);
                            stack.extend(leaves.into_iter().filter(|it| self.live(*it)));
                        }
                    }
                }
            }
            // Packages that supplement or enhance something reachable.
            for p in &pool.reverse_weak {
                if work.marked(*p) || !self.live(*p) {
                    continue;
                }
                let possible =
                    pool.solvables[*p as usize]
                        .reverse_weak
                        .iter()
                        .any(|req| match req {
                            Req::Simple(dep) => pool.deps[*dep as usize]
                                .providers
                                .iter()
                                .any(|it| work.marked(*it)),
                            Req::Rich(rich) => possible(&pool.rich[*rich as usize].expr, work),
                        });
                if possible {
                    stack.push(*p);
                }
            }
            if stack.is_empty() {
                break;
            }
        }
    }

    fn solve(&self, id: PkgId, work: &mut Work) -> Vec<String> {
        let pool = self.pool;
        self.closure(id, work);
        let closure = std::mem::take(&mut work.closure);
        let mut local: HashMap<PkgId, u32> = HashMap::with_capacity(closure.len());
        for (index, p) in closure.iter().enumerate() {
            local.insert(*p, u32::try_from(index).unwrap_or(u32::MAX));
        }
        let var = |p: PkgId| local.get(&p).copied();
        let mut sat = Sat::new(closure.len());
        let mut rules: Vec<Rule> = Vec::new();
        let mut clause: Vec<Lit> = Vec::new();
        let add = |sat: &mut Sat, rules: &mut Vec<Rule>, clause: &[Lit], rule: Rule| {
            sat.add(clause);
            rules.push(rule);
        };
        if let Some(v) = var(id) {
            add(&mut sat, &mut rules, &[pos(v)], Rule::Job);
        }
        // Inferior architectures: per name, only the best arch rank
        // reachable may be installed.
        let mut best: HashMap<u32, u8> = HashMap::new();
        for p in &closure {
            let solvable = &pool.solvables[*p as usize];
            if let Some(ArchRank::Rank(rank)) = solvable.rank
                && self.multiarch[solvable.name as usize]
            {
                let entry = best.entry(solvable.name).or_insert(rank);
                *entry = (*entry).min(rank);
            }
        }
        for (index, p) in closure.iter().enumerate() {
            let pv = u32::try_from(index).unwrap_or(u32::MAX);
            let solvable = &pool.solvables[*p as usize];
            if let Some(ArchRank::Rank(rank)) = solvable.rank
                && best.get(&solvable.name).is_some_and(|it| *it < rank)
            {
                add(&mut sat, &mut rules, &[neg(pv)], Rule::InferiorArch(*p));
            }
            for req in &solvable.requires {
                match req {
                    Req::Simple(dep) => {
                        let providers = &pool.deps[*dep as usize].providers;
                        if providers.contains(p) {
                            continue;
                        }
                        clause.clear();
                        clause.push(neg(pv));
                        clause.extend(providers.iter().filter_map(|it| var(*it)).map(pos));
                        let rule = if clause.len() == 1 {
                            Rule::NothingProvides(*p, *req)
                        } else {
                            Rule::Requires(*p, *req)
                        };
                        add(&mut sat, &mut rules, &clause, rule);
                    }
                    Req::Rich(rich) => {
                        let cnf = &self.req_cnf[*rich as usize];
                        if cnf.is_empty() {
                            continue;
                        }
                        for one in cnf {
                            if one.contains(&pos(*p)) {
                                continue;
                            }
                            clause.clear();
                            clause.push(neg(pv));
                            let mut lits: Vec<Lit> = one
                                .iter()
                                .filter_map(|lit| {
                                    let v = var(lit >> 1)?;
                                    Some(if lit & 1 == 0 { pos(v) } else { neg(v) })
                                })
                                .collect();
                            // A negative literal on a package out of reach
                            // is true: the clause holds.
                            if one
                                .iter()
                                .any(|lit| lit & 1 == 1 && var(lit >> 1).is_none())
                            {
                                continue;
                            }
                            let none = lits.is_empty();
                            clause.append(&mut lits);
                            let rule = if none {
                                Rule::NothingProvides(*p, *req)
                            } else {
                                Rule::Requires(*p, *req)
                            };
                            add(&mut sat, &mut rules, &clause, rule);
                        }
                    }
                }
            }
            for req in &solvable.conflicts {
                match req {
                    Req::Simple(dep) => {
                        for q in &pool.deps[*dep as usize].providers {
                            if q == p {
                                continue;
                            }
                            if let Some(qv) = var(*q) {
                                add(
                                    &mut sat,
                                    &mut rules,
                                    &[neg(pv), neg(qv)],
                                    Rule::Conflicts(*p, *req, *q),
                                );
                            }
                        }
                    }
                    Req::Rich(rich) => {
                        for one in &self.conf_cnf[*rich as usize] {
                            if one
                                .iter()
                                .any(|lit| lit & 1 == 1 && var(lit >> 1).is_none())
                            {
                                continue;
                            }
                            clause.clear();
                            clause.push(neg(pv));
                            let other = one.first().map_or(*p, |it| it >> 1);
                            clause.extend(one.iter().filter_map(|lit| {
                                let v = var(lit >> 1)?;
                                Some(if lit & 1 == 0 { pos(v) } else { neg(v) })
                            }));
                            add(
                                &mut sat,
                                &mut rules,
                                &clause,
                                Rule::Conflicts(*p, *req, other),
                            );
                        }
                    }
                }
            }
            for dep in &solvable.obsoletes {
                for q in &pool.deps[*dep as usize].providers {
                    if q == p || !pool.obsoletes_match(*dep, *q) {
                        continue;
                    }
                    if let Some(qv) = var(*q) {
                        add(
                            &mut sat,
                            &mut rules,
                            &[neg(pv), neg(qv)],
                            Rule::Obsoletes(*p, *dep, *q),
                        );
                    }
                }
            }
            // One package per name (libsolv's implicit obsoletes).
            for q in &pool.by_name[solvable.name as usize] {
                if q <= p {
                    continue;
                }
                if let Some(qv) = var(*q) {
                    add(
                        &mut sat,
                        &mut rules,
                        &[neg(pv), neg(qv)],
                        Rule::SameName(*p, *q),
                    );
                }
            }
        }
        let outcome = sat.solve(MAX_CONFLICTS);
        work.closure = closure;
        match outcome {
            Outcome::Sat(model) => {
                // Every package of a model is installable: the model
                // restricted to its own reach satisfies its own solve.
                for v in model {
                    if let Some(p) = work.closure.get(v as usize) {
                        self.state[*p as usize].store(GOOD, Ordering::Relaxed);
                    }
                }
                Vec::new()
            }
            Outcome::Unsat(core) => {
                self.state[id as usize].store(BAD, Ordering::Relaxed);
                let mut lines: Vec<String> = Vec::new();
                for clause in core {
                    if let Some(rule) = rules.get(clause as usize)
                        && let Some(line) = self.rule_text(*rule)
                        && !lines.contains(&line)
                    {
                        lines.push(line);
                    }
                }
                if lines.is_empty() {
                    lines.push(format!("package {} is not installable", pool.nevra(id)));
                }
                lines
            }
            Outcome::GaveUp => vec![format!(
                "depcheck gave up on {} after {MAX_CONFLICTS} conflicts",
                pool.nevra(id)
            )],
        }
    }

    fn rule_text(&self, rule: Rule) -> Option<String> {
        let pool = self.pool;
        Some(match rule {
            Rule::Job => return None,
            Rule::NothingProvides(p, req) => {
                format!(
                    "nothing provides {} needed by {}",
                    pool.req_text(req),
                    pool.nevra(p)
                )
            }
            Rule::Requires(p, req) => format!(
                "package {} requires {}, but none of the providers can be installed",
                pool.nevra(p),
                pool.req_text(req)
            ),
            Rule::Conflicts(p, req, q) => format!(
                "package {} conflicts with {} provided by {}",
                pool.nevra(p),
                pool.req_text(req),
                pool.nevra(q)
            ),
            Rule::Obsoletes(p, dep, q) => format!(
                "package {} obsoletes {} provided by {}",
                pool.nevra(p),
                pool.dep_text(dep),
                pool.nevra(q)
            ),
            Rule::SameName(p, q) => {
                format!(
                    "cannot install both {} and {}",
                    pool.nevra(p),
                    pool.nevra(q)
                )
            }
            Rule::InferiorArch(p) => format!("{} has inferior architecture", pool.nevra(p)),
        })
    }
}

/// The shared installation [`Checker::share`] grows: `mark` per package.
struct Shared {
    mark: Vec<u8>,
    /// The packages of the current attempt, and those it rules out.
    trial: Vec<PkgId>,
    blocked: Vec<PkgId>,
}

/// In the shared set.
const IN: u8 = 1;
/// Ruled out by a member.
const BLOCKED: u8 = 2;
/// In the current attempt.
const TRIAL: u8 = 3;
/// Ruled out by a package of the current attempt.
const TRIAL_BLOCKED: u8 = 4;
/// Tried and could not join.
const FAILED: u8 = 5;

impl Shared {
    fn member(&self, p: PkgId) -> bool {
        matches!(self.mark[p as usize], IN | TRIAL)
    }
}

/// Per-thread scratch space.
struct Work {
    stamp: Vec<u32>,
    generation: u32,
    closure: Vec<PkgId>,
    /// The greedy set: 2g = member, 2g + 1 = forbidden, for generation g.
    set: Vec<u32>,
    set_generation: u32,
    members: Vec<PkgId>,
}

impl Work {
    fn new(n: usize) -> Work {
        Work {
            stamp: vec![0; n],
            generation: 0,
            closure: Vec::new(),
            set: vec![0; n],
            set_generation: 0,
            members: Vec::new(),
        }
    }

    fn start_set(&mut self) {
        self.set_generation = self.set_generation.wrapping_add(1);
        if self.set_generation >= u32::MAX / 2 - 1 || self.set_generation == 0 {
            self.set.iter_mut().for_each(|it| *it = 0);
            self.set_generation = 1;
        }
        self.members.clear();
    }

    fn in_set(&self, p: PkgId) -> bool {
        self.set[p as usize] == self.set_generation * 2
    }

    fn forbidden(&self, p: PkgId) -> bool {
        self.set[p as usize] == self.set_generation * 2 + 1
    }

    fn put(&mut self, p: PkgId) {
        self.set[p as usize] = self.set_generation * 2;
        self.members.push(p);
    }

    fn forbid(&mut self, p: PkgId) {
        if !self.in_set(p) {
            self.set[p as usize] = self.set_generation * 2 + 1;
        }
    }

    fn next_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|it| *it = 0);
            self.generation = 1;
        }
        self.closure.clear();
    }

    /// Mark; whether it was marked already.
    fn mark(&mut self, p: PkgId) -> bool {
        let slot = &mut self.stamp[p as usize];
        if *slot == self.generation {
            return true;
        }
        *slot = self.generation;
        false
    }

    fn marked(&self, p: PkgId) -> bool {
        self.stamp[p as usize] == self.generation
    }
}

/// A CNF over packages: each clause a list of literals (`2p` installed,
/// `2p + 1` not installed).
type Cnf = Vec<Vec<u32>>;

const MAX_CLAUSES: usize = 4096;

fn and(mut a: Cnf, b: Cnf) -> Cnf {
    a.extend(b);
    a
}

/// (A or B) in CNF: every pair of clauses joined.
fn or(a: &Cnf, b: &Cnf) -> Cnf {
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if out.len() >= MAX_CLAUSES {
                return out;
            }
            let mut clause = x.clone();
            clause.extend_from_slice(y);
            clause.sort_unstable();
            clause.dedup();
            // A clause with p and not-p always holds.
            if clause.windows(2).any(|w| w[0] >> 1 == w[1] >> 1) {
                continue;
            }
            out.push(clause);
        }
    }
    out
}

/// The CNF that holds when the expression holds.
fn cnf(cx: &Cx, negated: bool) -> Cnf {
    match (cx, negated) {
        (Cx::Leaf(set), false) => vec![set.iter().map(|p| p << 1).collect()],
        (Cx::Leaf(set), true) => set.iter().map(|p| vec![(p << 1) | 1]).collect(),
        (Cx::And(items), false) | (Cx::Or(items), true) => items
            .iter()
            .map(|it| cnf(it, negated))
            .fold(Vec::new(), and),
        (Cx::Or(items), false) | (Cx::And(items), true) => {
            let mut parts = items.iter().map(|it| cnf(it, negated));
            let first = parts.next().unwrap_or_else(|| vec![Vec::new()]);
            parts.fold(first, |acc, it| or(&acc, &it))
        }
        // (A if B [else C]) = (not B or A) and (B or C)
        (Cx::If(then, cond, otherwise), false) => {
            let mut out = or(&cnf(cond, true), &cnf(then, false));
            if let Some(other) = otherwise {
                out = and(out, or(&cnf(cond, false), &cnf(other, false)));
            }
            out
        }
        // not (A if B) = B and not A; with else: (B and not A) or (not B and not C)
        (Cx::If(then, cond, otherwise), true) => match otherwise {
            None => and(cnf(cond, false), cnf(then, true)),
            Some(other) => or(
                &and(cnf(cond, false), cnf(then, true)),
                &and(cnf(cond, true), cnf(other, true)),
            ),
        },
        // libsolv reads (A unless B) as (A and not B); with an else, as
        // (not B implies A) and (B implies C).
        (Cx::Unless(then, cond, None), false) => and(cnf(then, false), cnf(cond, true)),
        (Cx::Unless(then, cond, None), true) => or(&cnf(then, true), &cnf(cond, false)),
        (Cx::Unless(then, cond, Some(other)), false) => and(
            or(&cnf(cond, false), &cnf(then, false)),
            or(&cnf(cond, true), &cnf(other, false)),
        ),
        (Cx::Unless(then, cond, Some(other)), true) => or(
            &and(cnf(cond, true), cnf(then, true)),
            &and(cnf(cond, false), cnf(other, true)),
        ),
    }
}

fn requires_cnf(cx: &Cx) -> Cnf {
    cnf(cx, false)
}

fn conflicts_cnf(cx: &Cx) -> Cnf {
    cnf(cx, true)
}

/// Whether a clause holds with the greedy set installed and nothing else.
fn holds(clause: &[u32], work: &Work) -> bool {
    clause.iter().any(|lit| {
        let member = work.in_set(lit >> 1);
        if lit & 1 == 0 { member } else { !member }
    })
}

fn positive_leaves(cx: &Cx, out: &mut Vec<PkgId>) {
    for clause in cnf(cx, false) {
        out.extend(clause.iter().filter(|it| *it & 1 == 0).map(|it| it >> 1));
    }
}

/// Whether an expression could hold with the packages reached so far.
fn possible(cx: &Cx, work: &Work) -> bool {
    match cx {
        Cx::Leaf(set) => set.iter().any(|it| work.marked(*it)),
        Cx::And(items) => items.iter().all(|it| possible(it, work)),
        Cx::Or(items) => items.iter().any(|it| possible(it, work)),
        Cx::If(then, cond, _) => possible(then, work) && possible(cond, work),
        Cx::Unless(then, _, _) => possible(then, work),
    }
}
