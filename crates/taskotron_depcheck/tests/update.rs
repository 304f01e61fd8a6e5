//! `check_update` against brute force: on generated repositories and
//! updates (versioned provides and requires, rich `or`, conflicts,
//! obsoletes, multilib pairs), its regressions must be exactly the packages
//! installable before the update and not after it, found by checking every
//! package in two pools built separately, and the update's own verdicts
//! must be those of the pool after the update.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use taskotron_depcheck::taskotron_repo::{Repo, open_repo};
use taskotron_depcheck::{ArchPolicy, Checker, PkgId, Pool, Role, check_update};

/// A small deterministic generator (64-bit LCG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone)]
struct Pkg {
    name: String,
    version: u64,
    arch: &'static str,
    provides: Vec<String>,
    requires: Vec<String>,
    conflicts: Vec<String>,
    obsoletes: Vec<String>,
}

fn entry(dep: &str) -> String {
    let escaped = |text: &str| text.replace('<', "&lt;").replace('>', "&gt;");
    for (op, flag) in [(" >= ", "GE"), (" = ", "EQ"), (" < ", "LT")] {
        if let Some((name, ver)) = dep.split_once(op) {
            return format!(
                r#"<rpm:entry name="{}" flags="{flag}" epoch="0" ver="{ver}" rel="1"/>"#,
                escaped(name)
            );
        }
    }
    format!(r#"<rpm:entry name="{}"/>"#, escaped(dep))
}

fn primary(packages: &[Pkg]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        packages.len()
    );
    for p in packages {
        write!(
            out,
            "<package type=\"rpm\"><name>{}</name><arch>{}</arch><version epoch=\"0\" ver=\"{}\" rel=\"1\"/><checksum type=\"sha256\" pkgid=\"YES\">{}{}{}</checksum><location href=\"{}.rpm\"/><format>",
            p.name, p.arch, p.version, p.name, p.version, p.arch, p.name
        )
        .unwrap();
        for (tag, list) in [
            ("provides", &p.provides),
            ("requires", &p.requires),
            ("conflicts", &p.conflicts),
            ("obsoletes", &p.obsoletes),
        ] {
            if !list.is_empty() {
                write!(out, "<rpm:{tag}>").unwrap();
                for dep in list {
                    out.push_str(&entry(dep));
                }
                write!(out, "</rpm:{tag}>").unwrap();
            }
        }
        out.push_str("</format></package>\n");
    }
    out.push_str("</metadata>\n");
    out
}

/// A repository of `n` packages `p0`…, and an update of a few of them.
fn generate(seed: u64, n: usize) -> (Vec<Pkg>, Vec<Pkg>) {
    let mut rng = Rng(seed);
    let mut repo = Vec::new();
    for i in 0..n {
        let arch = match rng.below(10) {
            0..=4 => "x86_64",
            5..=7 => "noarch",
            8 => "i686",
            _ => "aarch64",
        };
        let mut p = Pkg {
            name: format!("p{i}"),
            version: 1 + rng.below(3),
            arch,
            provides: Vec::new(),
            requires: Vec::new(),
            conflicts: Vec::new(),
            obsoletes: Vec::new(),
        };
        if rng.chance(30) {
            p.provides
                .push(format!("cap{} = {}", rng.below(40), 1 + rng.below(3)));
        }
        // Dependencies point at earlier packages mostly (deep chains),
        // sometimes anywhere (cycles), sometimes at nothing.
        for _ in 0..rng.below(4) {
            let target = if i > 0 && rng.chance(80) {
                rng.below(i as u64)
            } else {
                rng.below(n as u64)
            };
            let dep = match rng.below(12) {
                0..=4 => format!("p{target}"),
                10 => format!("p{target} = {}", 1 + rng.below(3)),
                11 => format!("p{target} < 4"),
                5 => format!("p{target} >= {}", 1 + rng.below(3)),
                6 => format!("cap{}", rng.below(40)),
                7 => format!("cap{} >= {}", rng.below(40), 1 + rng.below(3)),
                8 => format!("(p{target} or cap{})", rng.below(40)),
                _ => format!("missing{}", rng.below(3)),
            };
            if dep.starts_with("missing") && !rng.chance(5) {
                continue;
            }
            p.requires.push(dep);
        }
        if rng.chance(8) {
            p.conflicts.push(format!("p{}", rng.below(n as u64)));
        }
        if rng.chance(4) {
            p.obsoletes.push(format!("p{} < 3", rng.below(n as u64)));
        }
        repo.push(p.clone());
        // Multilib pairs: the same package for i686 too.
        if arch == "x86_64" && rng.chance(15) {
            repo.push(Pkg { arch: "i686", ..p });
        }
    }
    let mut update = Vec::new();
    for _ in 0..2 + rng.below(7) {
        // Early packages are the ones others need.
        let Some(old) = repo.get(rng.below(repo.len() as u64 / 4) as usize) else {
            continue;
        };
        if update.iter().any(|it: &Pkg| it.name == old.name) || old.arch == "aarch64" {
            continue;
        }
        let mut new = old.clone();
        new.version = 4 + rng.below(2);
        match rng.below(4) {
            // Drops what it provided.
            0 => new.provides.clear(),
            // Provides something else.
            1 => new.provides = vec![format!("cap{} = 9", rng.below(40))],
            // Needs something new.
            2 => new.requires.push(format!("p{}", rng.below(n as u64))),
            // Conflicts with something.
            _ => new.conflicts.push(format!("p{}", rng.below(n as u64))),
        }
        update.push(new);
    }
    (repo, update)
}

fn open(dir: &Path, name: &str, packages: &[Pkg]) -> Repo {
    let path = dir.join(name);
    std::fs::write(&path, primary(packages)).unwrap();
    open_repo(&path, None).unwrap()
}

/// Whether an update package replaces a repository package, as `taskotron
/// check depcheck` decides: the same name and arch, or either noarch.
fn replaces(update: &Repo, repo: &Repo, index: usize) -> bool {
    let package = &repo.packages()[index];
    let (name, arch) = (repo.str(package.name), repo.str(package.arch));
    update.packages().iter().any(|new| {
        let new_arch = update.str(new.arch);
        update.str(new.name) == name
            && (new_arch == arch || new_arch == "noarch" || arch == "noarch")
    })
}

/// Verdicts by NEVRA (installable or not) of every candidate of a pool.
fn all_verdicts(pool: &Pool<'_>) -> BTreeMap<String, bool> {
    Checker::new(pool)
        .check_many(&pool.candidates(), 2)
        .into_iter()
        .map(|it| (it.nevra.clone(), it.installable()))
        .collect()
}

#[test]
fn regressions_are_those_of_two_whole_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_regressions = 0;
    for seed in 0..60 {
        let (repo_pkgs, update_pkgs) = generate(seed, 160 + (seed as usize % 5) * 40);
        let repo = open(dir.path(), &format!("repo-{seed}.xml"), &repo_pkgs);
        let update = open(dir.path(), &format!("update-{seed}.xml"), &update_pkgs);
        let policy = ArchPolicy::new("x86_64").unwrap();

        // One pool, two worlds.
        let pool = Pool::new(
            policy.clone(),
            &[(&update, Role::Check), (&repo, Role::Check)],
        );
        let (mut added, mut removed) = (Vec::<PkgId>::new(), Vec::<PkgId>::new());
        for id in 0..u32::try_from(pool.len()).unwrap() {
            if !pool.installable_arch(id) {
                continue;
            }
            match pool.location(id) {
                (0, _) => added.push(id),
                (_, index) if replaces(&update, &repo, index) => removed.push(id),
                _ => {}
            }
        }
        let outcome = check_update(&pool, &removed, &added, 2);

        // Brute force: two pools built separately, every package checked.
        let before_pool = Pool::new(policy.clone(), &[(&repo, Role::Check)]);
        let before = all_verdicts(&before_pool);
        let after_pool = Pool::with_excluded(
            policy,
            &[(&update, Role::Check), (&repo, Role::Check)],
            &|r, index| r == 1 && replaces(&update, &repo, index),
        );
        let after = all_verdicts(&after_pool);
        let expected: Vec<&String> = before
            .iter()
            .filter(|(nevra, good)| **good && after.get(*nevra) == Some(&false))
            .map(|(nevra, _)| nevra)
            .collect();
        let mut found: Vec<&String> = outcome.regressions.iter().map(|it| &it.nevra).collect();
        found.sort();
        assert_eq!(found, expected, "seed {seed}: regressions");
        for verdict in &outcome.regressions {
            assert!(!verdict.reasons.is_empty(), "seed {seed}: {verdict:?}");
        }
        total_regressions += found.len();

        // The update's own packages, as the pool after the update says.
        assert_eq!(outcome.update.len(), added.len());
        for verdict in &outcome.update {
            assert_eq!(
                after.get(&verdict.nevra),
                Some(&verdict.installable()),
                "seed {seed}: {verdict:?}"
            );
        }
    }
    // The generated updates do break things.
    assert!(total_regressions > 40, "{total_regressions} regressions");
}

#[test]
fn check_broken_agrees_with_check_many() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 100..110 {
        let (repo_pkgs, _) = generate(seed, 300);
        let repo = open(dir.path(), &format!("repo-{seed}.xml"), &repo_pkgs);
        let pool = Pool::new(ArchPolicy::new("x86_64").unwrap(), &[(&repo, Role::Check)]);
        let ids = pool.candidates();
        let all: Vec<_> = Checker::new(&pool)
            .check_many(&ids, 2)
            .into_iter()
            .filter(|it| !it.installable())
            .collect();
        let broken = Checker::new(&pool).check_broken(&ids, 2);
        assert_eq!(broken, all, "seed {seed}");
        assert!(!broken.is_empty(), "seed {seed}: nothing broken");
    }
}
