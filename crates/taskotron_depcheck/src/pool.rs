//! The pool: every package of the repositories, with dependencies
//! resolved to the packages that provide them ("whatprovides"), file
//! provides included.

use hashbrown::HashMap;

use taskotron_repo::{Constraint, DepKind, Dependency, Package, Repo, Sym};
use taskotron_rpm::{Op, RangeRef, Rich, range_refs_overlap, rpmvercmp};

use crate::arch::{ArchPolicy, ArchRank};

/// A package in the pool, by its index in [`Pool::packages`].
pub type PkgId = u32;

/// One package of the pool.
#[derive(Debug)]
pub(crate) struct Solvable<'a> {
    pub(crate) repo: u32,
    /// The package's index in its repository.
    pub(crate) index: u32,
    pub(crate) package: &'a Package,
    pub(crate) name: u32,
    /// `None`: the target does not install this architecture.
    pub(crate) rank: Option<ArchRank>,
    pub(crate) version: &'a str,
    pub(crate) release: &'a str,
    pub(crate) requires: Vec<Req>,
    pub(crate) conflicts: Vec<Req>,
    pub(crate) obsoletes: Vec<u32>,
    /// Recommends and suggests: only pulled into the closure, like libsolv.
    pub(crate) weak: Vec<Req>,
    /// Supplements and enhances.
    pub(crate) reverse_weak: Vec<Req>,
}

/// A dependency resolved in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Req {
    /// A simple dependency, by its index in `Pool::deps`.
    Simple(u32),
    /// A rich dependency, by its index in `Pool::rich`.
    Rich(u32),
}

/// A simple dependency and its providers, best first.
#[derive(Debug)]
pub(crate) struct DepInfo<'a> {
    pub(crate) name: u32,
    pub(crate) range: Option<RangeRef<'a>>,
    pub(crate) providers: Vec<PkgId>,
}

/// A rich dependency compiled over the pool: leaves are provider sets.
#[derive(Debug, Clone)]
pub(crate) enum Cx {
    Leaf(Vec<PkgId>),
    And(Vec<Cx>),
    Or(Vec<Cx>),
    If(Box<Cx>, Box<Cx>, Option<Box<Cx>>),
    Unless(Box<Cx>, Box<Cx>, Option<Box<Cx>>),
}

#[derive(Debug)]
pub(crate) struct RichInfo<'a> {
    pub(crate) text: &'a str,
    pub(crate) expr: Cx,
}

/// Whether a repository's packages are checked or only used to satisfy
/// dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Checked (`--repo`, and the packages of an update).
    Check,
    /// Only a base (`--nocheck`).
    Base,
}

type DepKey<'a> = (u32, Option<RangeRef<'a>>);

/// Every package of some repositories for one target architecture, with
/// what each dependency resolves to.
#[derive(Debug)]
pub struct Pool<'a> {
    pub(crate) repos: Vec<(&'a Repo, Role)>,
    pub(crate) policy: ArchPolicy,
    pub(crate) solvables: Vec<Solvable<'a>>,
    pub(crate) names: Vec<&'a str>,
    pub(crate) deps: Vec<DepInfo<'a>>,
    pub(crate) rich: Vec<RichInfo<'a>>,
    /// Installable packages by package name.
    pub(crate) by_name: Vec<Vec<PkgId>>,
    /// Whether a name has installable packages of two arch ranks.
    pub(crate) multiarch: Vec<bool>,
    /// Packages with supplements or enhances.
    pub(crate) reverse_weak: Vec<PkgId>,
}

struct Builder<'a> {
    names: Vec<&'a str>,
    /// Whether each name is a file path.
    file_names: Vec<bool>,
    /// Whether each name is a rich dependency's text (starts with `(`).
    rich_names: Vec<bool>,
    name_ids: HashMap<&'a str, u32>,
    provides: Vec<Vec<(PkgId, Option<RangeRef<'a>>)>>,
    deps: Vec<DepInfo<'a>>,
    dep_ids: HashMap<DepKey<'a>, u32>,
    rich: Vec<RichInfo<'a>>,
    rich_ids: HashMap<&'a str, u32>,
    /// What orders the providers of a dependency, per package.
    pref: Vec<Pref<'a>>,
    /// Per repository: the name id of each of its strings (u32::MAX: not
    /// yet looked up), so each string is hashed once.
    sym_caps: Vec<Vec<u32>>,
    /// Per repository: simple dependencies already resolved.
    /// Per repository and string: the first of the chain of its resolved
    /// simple dependencies in `sym_dep_chain` (u32::MAX: none), so that a
    /// dependency entry is found by its name's index and a few
    /// comparisons rather than by hashing.
    sym_deps: Vec<Vec<u32>>,
    /// (constraint, dependency id, next in the chain).
    sym_dep_chain: Vec<(Option<Constraint>, u32, u32)>,
    /// Per repository and string: the rich dependency it is (u32::MAX:
    /// not yet known).
    sym_rich: Vec<Vec<u32>>,
    /// While true, new dependencies get their providers later, all at once
    /// ([`Builder::resolve_deferred`]).
    deferred: bool,
    /// Rich dependencies to compile once the providers are known.
    rich_waiting: Vec<(u32, &'a Rich)>,
}

/// The order of providers: best arch rank first, then the newest.
#[derive(Debug, Clone, Copy)]
struct Pref<'a> {
    rank: u16,
    epoch: u64,
    version: &'a str,
    release: &'a str,
}

impl<'a> Builder<'a> {
    fn sort(&self, list: &mut [PkgId]) {
        if list.len() < 2 {
            return;
        }
        list.sort_unstable_by(|x, y| {
            let (a, b) = (&self.pref[*x as usize], &self.pref[*y as usize]);
            a.rank
                .cmp(&b.rank)
                .then_with(|| b.epoch.cmp(&a.epoch))
                .then_with(|| rpmvercmp(b.version, a.version))
                .then_with(|| rpmvercmp(b.release, a.release))
                .then_with(|| x.cmp(y))
        });
    }

    /// The name id of a repository's string.
    fn cap(&mut self, index: usize, repo: &'a Repo, sym: Sym) -> u32 {
        if let Some(cap) = self.sym_caps[index].get(sym.index()).copied()
            && cap != u32::MAX
        {
            return cap;
        }
        let cap = self.name(repo.str(sym));
        if let Some(slot) = self.sym_caps[index].get_mut(sym.index()) {
            *slot = cap;
        }
        cap
    }

    /// A repository's simple dependency, resolved.
    fn repo_dep(&mut self, index: usize, repo: &'a Repo, dep: &Dependency) -> u32 {
        let head = self.sym_deps[index]
            .get(dep.name.index())
            .copied()
            .unwrap_or(u32::MAX);
        let mut at = head;
        while let Some((constraint, id, next)) = self.sym_dep_chain.get(at as usize) {
            if *constraint == dep.constraint {
                return *id;
            }
            at = *next;
        }
        let name = self.cap(index, repo, dep.name);
        let id = self.simple(name, range_of(repo, dep.constraint.as_ref()));
        if let Some(slot) = self.sym_deps[index].get_mut(dep.name.index()) {
            *slot = u32::try_from(self.sym_dep_chain.len()).unwrap_or(u32::MAX);
            self.sym_dep_chain.push((dep.constraint, id, head));
        }
        id
    }

    fn name(&mut self, text: &'a str) -> u32 {
        if let Some(id) = self.name_ids.get(text) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(text);
        self.file_names.push(text.starts_with('/'));
        self.rich_names.push(text.starts_with('('));
        self.provides.push(Vec::new());
        self.name_ids.insert(text, id);
        id
    }

    fn simple(&mut self, name: u32, range: Option<RangeRef<'a>>) -> u32 {
        if let Some(id) = self.dep_ids.get(&(name, range)) {
            return *id;
        }
        let providers = if self.deferred {
            Vec::new()
        } else {
            self.providers(name, range)
        };
        let id = u32::try_from(self.deps.len()).unwrap_or(u32::MAX);
        self.deps.push(DepInfo {
            name,
            range,
            providers,
        });
        self.dep_ids.insert((name, range), id);
        id
    }

    /// The packages that provide `name` in `range`, best first.
    fn providers(&self, name: u32, range: Option<RangeRef<'a>>) -> Vec<PkgId> {
        let mut providers: Vec<PkgId> = self
            .provides
            .get(name as usize)
            .map(|list| {
                list.iter()
                    .filter(|(_, provided)| range_refs_overlap(range, *provided))
                    .map(|(pkg, _)| *pkg)
                    .collect()
            })
            .unwrap_or_default();
        self.sort(&mut providers);
        providers.dedup();
        providers
    }

    /// Compute the providers of the dependencies made while `deferred`,
    /// over a few threads, then compile the rich dependencies waiting for
    /// them.
    fn resolve_deferred(&mut self) {
        const PER_THREAD: usize = 8192;
        self.deferred = false;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 8)
            .min(self.deps.len().div_ceil(PER_THREAD).max(1));
        let mut deps = std::mem::take(&mut self.deps);
        if threads == 1 {
            for dep in &mut deps {
                dep.providers = self.providers(dep.name, dep.range);
            }
        } else {
            let chunk = deps.len().div_ceil(threads);
            let this = &*self;
            std::thread::scope(|scope| {
                for part in deps.chunks_mut(chunk) {
                    scope.spawn(move || {
                        for dep in part {
                            dep.providers = this.providers(dep.name, dep.range);
                        }
                    });
                }
            });
        }
        self.deps = deps;
        for (rid, rich) in std::mem::take(&mut self.rich_waiting) {
            let expr = self.compile(rich);
            if let Some(slot) = self.rich.get_mut(rid as usize) {
                slot.expr = expr;
            }
        }
    }

    fn compile(&mut self, rich: &'a Rich) -> Cx {
        match rich {
            Rich::Dep(dep) => {
                let name = self.name_existing(&dep.name);
                let providers = match name {
                    Some(name) => {
                        let range = dep.constraint.as_ref().map(|(op, evr)| RangeRef {
                            op: *op,
                            epoch: evr.epoch.unwrap_or(0),
                            version: &evr.version,
                            release: evr.release.as_deref(),
                        });
                        let id = self.simple(name, range);
                        self.deps[id as usize].providers.clone()
                    }
                    None => Vec::new(),
                };
                Cx::Leaf(providers)
            }
            Rich::And(items) => Cx::And(items.iter().map(|it| self.compile(it)).collect()),
            Rich::Or(items) => Cx::Or(items.iter().map(|it| self.compile(it)).collect()),
            Rich::With(items) => {
                let mut sets = items.iter().map(|it| self.set(it));
                let first = sets.next().unwrap_or_default();
                let set = sets.fold(first, |acc, set| {
                    acc.into_iter().filter(|it| set.contains(it)).collect()
                });
                Cx::Leaf(set)
            }
            Rich::Without(a, b) => {
                let minus = self.set(b);
                let set = self
                    .set(a)
                    .into_iter()
                    .filter(|it| !minus.contains(it))
                    .collect();
                Cx::Leaf(set)
            }
            Rich::If {
                then,
                cond,
                otherwise,
            } => Cx::If(
                Box::new(self.compile(then)),
                Box::new(self.compile(cond)),
                otherwise.as_ref().map(|it| Box::new(self.compile(it))),
            ),
            Rich::Unless {
                then,
                cond,
                otherwise,
            } => Cx::Unless(
                Box::new(self.compile(then)),
                Box::new(self.compile(cond)),
                otherwise.as_ref().map(|it| Box::new(self.compile(it))),
            ),
        }
    }

    /// The packages that satisfy an expression on their own (`with` and
    /// `without` operands).
    fn set(&mut self, rich: &'a Rich) -> Vec<PkgId> {
        fn flatten(cx: &Cx, out: &mut Vec<PkgId>, and: bool) {
            match cx {
                Cx::Leaf(set) => out.extend_from_slice(set),
                Cx::Or(items) => items.iter().for_each(|it| flatten(it, out, false)),
                Cx::And(items) => {
                    let mut sets = items.iter().map(|it| {
                        let mut one = Vec::new();
                        flatten(it, &mut one, true);
                        one
                    });
                    let first = sets.next().unwrap_or_default();
                    out.extend(sets.fold(first, |acc, set| {
                        acc.into_iter().filter(|it| set.contains(it)).collect()
                    }));
                }
                Cx::If(..) | Cx::Unless(..) => {
                    let _ = and;
                }
            }
        }
        let cx = self.compile(rich);
        let mut out = Vec::new();
        flatten(&cx, &mut out, false);
        self.sort(&mut out);
        out.dedup();
        out
    }

    fn name_existing(&self, text: &str) -> Option<u32> {
        self.name_ids.get(text).copied()
    }
}

fn range_of<'a>(repo: &'a Repo, constraint: Option<&Constraint>) -> Option<RangeRef<'a>> {
    constraint.map(|it| RangeRef {
        op: it.op,
        epoch: it.epoch,
        version: repo.str(it.version),
        release: it.release.map(|sym| repo.str(sym)),
    })
}

impl<'a> Pool<'a> {
    /// Build the pool of `repos` for the target `policy`. File
    /// dependencies are matched against the files each repository has
    /// loaded (primary.xml's, or all of them once filelists are loaded).
    pub fn new(policy: ArchPolicy, repos: &[(&'a Repo, Role)]) -> Pool<'a> {
        Pool::with_excluded(policy, repos, &|_, _| false)
    }

    /// [`Pool::new`], leaving out the packages for which `excluded` (given
    /// the repository's index and the package's) is true: they are neither
    /// checked nor provide anything, as if the repository did not hold
    /// them (the packages an update replaces).
    pub fn with_excluded(
        policy: ArchPolicy,
        repos: &[(&'a Repo, Role)],
        excluded: &dyn Fn(usize, usize) -> bool,
    ) -> Pool<'a> {
        let mut b = Builder {
            names: Vec::new(),
            file_names: Vec::new(),
            rich_names: Vec::new(),
            name_ids: HashMap::with_capacity(repos.iter().map(|(repo, _)| repo.len() * 2).sum()),
            provides: Vec::new(),
            deps: Vec::new(),
            dep_ids: HashMap::new(),
            rich: Vec::new(),
            rich_ids: HashMap::new(),
            pref: Vec::new(),
            sym_caps: repos
                .iter()
                .map(|(repo, _)| vec![u32::MAX; repo.string_count()])
                .collect(),
            sym_deps: repos
                .iter()
                .map(|(repo, _)| vec![u32::MAX; repo.string_count()])
                .collect(),
            sym_dep_chain: Vec::new(),
            sym_rich: repos
                .iter()
                .map(|(repo, _)| vec![u32::MAX; repo.string_count()])
                .collect(),
            deferred: true,
            rich_waiting: Vec::new(),
        };
        let mut solvables = Vec::with_capacity(repos.iter().map(|(repo, _)| repo.len()).sum());
        for (index, (repo, _)) in repos.iter().enumerate() {
            // The rank of each architecture string, looked up once.
            let mut ranks: Vec<(Sym, Option<ArchRank>)> = Vec::new();
            for (at, package) in repo.packages().iter().enumerate() {
                let name = b.cap(index, repo, package.name);
                solvables.push(Solvable {
                    repo: u32::try_from(index).unwrap_or(u32::MAX),
                    index: u32::try_from(at).unwrap_or(u32::MAX),
                    package,
                    name,
                    rank: if excluded(index, at) {
                        None
                    } else if let Some((_, rank)) =
                        ranks.iter().find(|(arch, _)| *arch == package.arch)
                    {
                        *rank
                    } else {
                        let rank = policy.rank(repo.str(package.arch));
                        ranks.push((package.arch, rank));
                        rank
                    },
                    version: repo.str(package.version),
                    release: repo.str(package.release),
                    requires: Vec::new(),
                    conflicts: Vec::new(),
                    obsoletes: Vec::new(),
                    weak: Vec::new(),
                    reverse_weak: Vec::new(),
                });
            }
        }
        // Preference: best arch rank first, then the newest.
        b.pref = solvables
            .iter()
            .map(|it| Pref {
                rank: match it.rank {
                    Some(ArchRank::Rank(r)) => u16::from(r),
                    Some(ArchRank::Noarch) => 0,
                    None => u16::MAX,
                },
                epoch: it.package.epoch,
                version: it.version,
                release: it.release,
            })
            .collect();
        // Provides, with the self-provide libsolv adds.
        let mut id: PkgId = 0;
        let mut file_caps = Vec::new();
        for (index, (repo, _)) in repos.iter().enumerate() {
            // The rich dependencies whose leaves are registered already.
            let mut rich_seen = vec![false; repo.string_count()];
            for package in repo.packages() {
                let solvable = &solvables[id as usize];
                if solvable.rank.is_some() {
                    let own = RangeRef {
                        op: Op::Eq,
                        epoch: package.epoch,
                        version: solvable.version,
                        release: Some(solvable.release),
                    };
                    b.provides[solvable.name as usize].push((id, Some(own)));
                    for dep in repo.deps(package, DepKind::Provides) {
                        let name = b.cap(index, repo, dep.name);
                        b.provides[name as usize]
                            .push((id, range_of(repo, dep.constraint.as_ref())));
                    }
                }
                for kind in [
                    DepKind::Requires,
                    DepKind::Conflicts,
                    DepKind::Recommends,
                    DepKind::Suggests,
                    DepKind::Supplements,
                    DepKind::Enhances,
                ] {
                    for dep in repo.deps(package, kind) {
                        let name = b.cap(index, repo, dep.name);
                        if b.file_names[name as usize] {
                            file_caps.push(name);
                        } else if dep.constraint.is_none()
                            && b.rich_names[name as usize]
                            && rich_seen
                                .get_mut(dep.name.index())
                                .is_some_and(|seen| !std::mem::replace(seen, true))
                            && let Some(rich) = repo.rich(dep)
                        {
                            for leaf in rich.deps() {
                                let leaf_name = b.name(&leaf.name);
                                if b.file_names[leaf_name as usize] {
                                    file_caps.push(leaf_name);
                                }
                            }
                        }
                    }
                }
                id += 1;
            }
        }
        // File provides: only paths some dependency asks for.
        file_caps.sort_unstable();
        file_caps.dedup();
        if !file_caps.is_empty() {
            let mut path = String::new();
            let mut id: PkgId = 0;
            for (repo, _) in repos {
                for package in repo.packages() {
                    if solvables[id as usize].rank.is_some() {
                        for file in repo.files(package) {
                            path.clear();
                            path.push_str(repo.str(file.dir));
                            path.push_str(repo.str(file.base));
                            if let Some(cap) = b.name_ids.get(path.as_str())
                                && file_caps.binary_search(cap).is_ok()
                            {
                                b.provides[*cap as usize].push((id, None));
                            }
                        }
                    }
                    id += 1;
                }
            }
        }
        // Resolve every dependency.
        let mut id: usize = 0;
        for (index, (repo, _)) in repos.iter().enumerate() {
            for package in repo.packages() {
                if solvables[id].rank.is_none() {
                    id += 1;
                    continue;
                }
                let resolve = |b: &mut Builder<'a>, dep: &'a Dependency| -> Req {
                    let rich = if dep.constraint.is_none() {
                        let name = b.cap(index, repo, dep.name);
                        if b.rich_names[name as usize] {
                            repo.rich(dep)
                        } else {
                            None
                        }
                    } else {
                        None
                    };
                    match rich {
                        Some(rich) => {
                            if let Some(id) = b.sym_rich[index].get(dep.name.index())
                                && *id != u32::MAX
                            {
                                return Req::Rich(*id);
                            }
                            let text = repo.str(dep.name);
                            if let Some(id) = b.rich_ids.get(text).copied() {
                                if let Some(slot) = b.sym_rich[index].get_mut(dep.name.index()) {
                                    *slot = id;
                                }
                                return Req::Rich(id);
                            }
                            // Compiled once the providers are known.
                            let rid = u32::try_from(b.rich.len()).unwrap_or(u32::MAX);
                            b.rich.push(RichInfo {
                                text,
                                expr: Cx::And(Vec::new()),
                            });
                            b.rich_waiting.push((rid, rich));
                            b.rich_ids.insert(text, rid);
                            if let Some(slot) = b.sym_rich[index].get_mut(dep.name.index()) {
                                *slot = rid;
                            }
                            Req::Rich(rid)
                        }
                        None => Req::Simple(b.repo_dep(index, repo, dep)),
                    }
                };
                let requires = repo
                    .deps(package, DepKind::Requires)
                    .iter()
                    .map(|dep| resolve(&mut b, dep))
                    .collect();
                let conflicts = repo
                    .deps(package, DepKind::Conflicts)
                    .iter()
                    .map(|dep| resolve(&mut b, dep))
                    .collect();
                let weak = [DepKind::Recommends, DepKind::Suggests]
                    .into_iter()
                    .flat_map(|kind| repo.deps(package, kind))
                    .map(|dep| resolve(&mut b, dep))
                    .collect();
                let reverse_weak = [DepKind::Supplements, DepKind::Enhances]
                    .into_iter()
                    .flat_map(|kind| repo.deps(package, kind))
                    .map(|dep| resolve(&mut b, dep))
                    .collect();
                let obsoletes = repo
                    .deps(package, DepKind::Obsoletes)
                    .iter()
                    .map(|dep| b.repo_dep(index, repo, dep))
                    .collect();
                let solvable = &mut solvables[id];
                solvable.requires = requires;
                solvable.conflicts = conflicts;
                solvable.weak = weak;
                solvable.reverse_weak = reverse_weak;
                solvable.obsoletes = obsoletes;
                id += 1;
            }
        }
        b.resolve_deferred();
        let mut by_name = vec![Vec::new(); b.names.len()];
        let mut reverse_weak = Vec::new();
        for (id, solvable) in solvables.iter().enumerate() {
            if solvable.rank.is_some() {
                let id = u32::try_from(id).unwrap_or(u32::MAX);
                by_name[solvable.name as usize].push(id);
                if !solvable.reverse_weak.is_empty() {
                    reverse_weak.push(id);
                }
            }
        }
        let multiarch = by_name
            .iter()
            .map(|list| {
                let mut ranks = list
                    .iter()
                    .filter_map(|it| match solvables[*it as usize].rank {
                        Some(ArchRank::Rank(r)) => Some(r),
                        _ => None,
                    });
                let first = ranks.next();
                ranks.any(|it| Some(it) != first)
            })
            .collect();
        Pool {
            repos: repos.to_vec(),
            policy,
            solvables,
            names: b.names,
            deps: b.deps,
            rich: b.rich,
            by_name,
            multiarch,
            reverse_weak,
        }
    }

    /// How many packages the pool has (installable or not).
    pub fn len(&self) -> usize {
        self.solvables.len()
    }

    /// Whether the pool has no packages.
    pub fn is_empty(&self) -> bool {
        self.solvables.is_empty()
    }

    /// The target architecture.
    pub fn arch(&self) -> &str {
        self.policy.target()
    }

    /// A package's repository (its index in the list given to
    /// [`Pool::new`]) and the package.
    pub fn package(&self, id: PkgId) -> (usize, &'a Package) {
        let solvable = &self.solvables[id as usize];
        (solvable.repo as usize, solvable.package)
    }

    /// A package's repository and its index there (both as given to
    /// [`Pool::new`]).
    pub fn location(&self, id: PkgId) -> (usize, usize) {
        let solvable = &self.solvables[id as usize];
        (solvable.repo as usize, solvable.index as usize)
    }

    /// `name-[epoch:]version-release.arch`, as libsolv prints a package.
    pub fn nevra(&self, id: PkgId) -> String {
        let solvable = &self.solvables[id as usize];
        self.repos[solvable.repo as usize].0.nevra(solvable.package)
    }

    /// The packages installcheck would check: those of the [`Role::Check`]
    /// repositories whose architecture the target installs.
    pub fn candidates(&self) -> Vec<PkgId> {
        self.solvables
            .iter()
            .enumerate()
            .filter(|(_, it)| it.rank.is_some() && self.repos[it.repo as usize].1 == Role::Check)
            .map(|(id, _)| u32::try_from(id).unwrap_or(u32::MAX))
            .collect()
    }

    /// Whether the target installs the package's architecture.
    pub fn installable_arch(&self, id: PkgId) -> bool {
        self.solvables[id as usize].rank.is_some()
    }

    pub(crate) fn dep_text(&self, dep: u32) -> String {
        let info = &self.deps[dep as usize];
        let name = self.names[info.name as usize];
        match info.range {
            None => name.to_owned(),
            Some(range) => {
                let mut out = format!("{name} {} ", range.op.as_str());
                if range.epoch != 0 {
                    out.push_str(&format!("{}:", range.epoch));
                }
                out.push_str(range.version);
                if let Some(release) = range.release {
                    out.push('-');
                    out.push_str(release);
                }
                out
            }
        }
    }

    pub(crate) fn req_text(&self, req: Req) -> String {
        match req {
            Req::Simple(dep) => self.dep_text(dep),
            Req::Rich(rich) => self.rich[rich as usize].text.to_owned(),
        }
    }

    /// Whether package `q` is what obsoletes dependency `dep` names: the
    /// same name and its EVR in the range (libsolv matches obsoletes
    /// against names, not provides).
    pub(crate) fn obsoletes_match(&self, dep: u32, q: PkgId) -> bool {
        let info = &self.deps[dep as usize];
        let solvable = &self.solvables[q as usize];
        info.name == solvable.name
            && range_refs_overlap(
                info.range,
                Some(RangeRef {
                    op: Op::Eq,
                    epoch: solvable.package.epoch,
                    version: solvable.version,
                    release: Some(solvable.release),
                }),
            )
    }
}

impl Pool<'_> {
    /// Every package a rich dependency mentions, added to `out`.
    pub(crate) fn rich_packages_into(&self, rich: u32, out: &mut Vec<PkgId>) {
        fn walk(cx: &Cx, out: &mut Vec<PkgId>) {
            match cx {
                Cx::Leaf(set) => out.extend_from_slice(set),
                Cx::And(items) | Cx::Or(items) => items.iter().for_each(|it| walk(it, out)),
                Cx::If(a, b, c) | Cx::Unless(a, b, c) => {
                    walk(a, out);
                    walk(b, out);
                    if let Some(c) = c {
                        walk(c, out);
                    }
                }
            }
        }
        walk(&self.rich[rich as usize].expr, out);
    }
}
