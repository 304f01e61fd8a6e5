//! `taskotron check depcheck`: are packages installable from repositories,
//! with libsolv's semantics and installcheck's output.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use taskotron_depcheck::taskotron_repo::{self, DepKind, Repo};
use taskotron_depcheck::{ArchPolicy, Checker, Pool, Role, Verdict};

use crate::display::{stderr, stdout};

/// Arguments of `check depcheck`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
REPO is a directory with repodata/ (or repodata/ or repomd.xml itself), or a \
primary.xml file, compressed or not. Each package is solved on its own in an \
empty system, as libsolv's installcheck does (weak dependencies ignored); \
--nocheck repositories only satisfy dependencies. filelists.xml is read when \
a file dependency is not met by the primary files (or always with \
--filelists). With RPM files, each is checked against the repositories, in \
which it replaces the packages of its name, and the packages of the --repo \
repositories that the update breaks are reported too. docs/depcheck.md \
describes the semantics, including the multilib policy.

Exit codes: 0 everything installable, 1 something is not (or the update \
breaks something), 2 bad input (unreadable or corrupt metadata, not an RPM, \
unknown architecture).")]
pub(crate) struct Args {
    /// The target architecture (x86_64, i686, aarch64, ppc64le, s390x, …).
    #[arg(long)]
    arch: String,
    /// A repository to check (with --all) or to check the update against.
    #[arg(long = "repo", value_name = "REPO", required = true)]
    repos: Vec<PathBuf>,
    /// A repository that only satisfies dependencies.
    #[arg(long = "nocheck", value_name = "REPO")]
    nocheck: Vec<PathBuf>,
    /// Check every package of the --repo repositories, like installcheck.
    #[arg(long, conflicts_with = "rpms")]
    all: bool,
    /// Always read the repositories' filelists.xml.
    #[arg(long)]
    filelists: bool,
    /// Where parsed metadata is cached between runs (default:
    /// $XDG_CACHE_HOME/taskotron/depcheck, or ~/.cache/taskotron/depcheck).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not use the metadata cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// Threads for the solves (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Print JSON instead of installcheck's text.
    #[arg(long)]
    json: bool,
    /// The update's packages: local RPM files.
    #[arg(value_name = "RPM", required_unless_present = "all")]
    rpms: Vec<PathBuf>,
}

/// Bad input (exit 2) rather than a failed check.
#[derive(Debug)]
struct BadInput(anyhow::Error);

pub(crate) fn main(_config: Option<&Path>, args: Args) -> i32 {
    match run(&args) {
        Ok(clean) => i32::from(!clean),
        Err(err) => {
            crate::report_error(&err.0);
            2
        }
    }
}

fn cache_dir(args: &Args) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    if let Some(dir) = &args.cache_dir {
        return Some(dir.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|it| !it.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("taskotron").join("depcheck"))
}

/// A spinner on stderr while something long runs, when it is a terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn say(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn load(path: &Path, cache: Option<&Path>, progress: &Progress) -> Result<Repo, BadInput> {
    progress.say(format!("reading {}", path.display()));
    let repo = taskotron_repo::open_repo(path, cache).map_err(|err| BadInput(err.into()))?;
    for problem in repo.problems() {
        stderr(&format!(
            "warning: {}: {problem} (nothing can provide it)\n",
            path.display()
        ));
    }
    Ok(repo)
}

/// Whether some file dependency is met by no file or provide the loaded
/// metadata has.
fn file_deps_unmet(repos: &[&Repo]) -> bool {
    let mut wanted: HashSet<&str> = HashSet::new();
    for repo in repos {
        // Each dependency name is looked at once, not once per entry.
        let mut seen = vec![false; repo.string_count()];
        for package in repo.packages() {
            for kind in [DepKind::Requires, DepKind::Conflicts] {
                for dep in repo.deps(package, kind) {
                    if seen
                        .get_mut(dep.name.index())
                        .is_some_and(|it| std::mem::replace(it, true))
                    {
                        continue;
                    }
                    let name = repo.str(dep.name);
                    if name.starts_with('/') {
                        wanted.insert(name);
                    } else if name.starts_with('(')
                        && let Some(rich) = repo.rich(dep)
                    {
                        wanted.extend(
                            rich.deps()
                                .into_iter()
                                .filter(|it| it.name.starts_with('/'))
                                .map(|it| it.name.as_str()),
                        );
                    }
                }
            }
        }
    }
    if wanted.is_empty() {
        return false;
    }
    // What the loaded metadata has of what is wanted.
    let mut have: HashSet<&str> = HashSet::new();
    let mut path = String::new();
    for repo in repos {
        for package in repo.packages() {
            for dep in repo.deps(package, DepKind::Provides) {
                if let Some(name) = wanted.get(repo.str(dep.name)) {
                    have.insert(name);
                }
            }
            for file in repo.files(package) {
                path.clear();
                path.push_str(repo.str(file.dir));
                path.push_str(repo.str(file.base));
                if let Some(name) = wanted.get(path.as_str()) {
                    have.insert(name);
                }
            }
        }
    }
    have.len() < wanted.len()
}

fn run(args: &Args) -> Result<bool, BadInput> {
    let policy = ArchPolicy::new(&args.arch).ok_or_else(|| {
        BadInput(anyhow::anyhow!(
            "unknown architecture `{}` (known: {})",
            args.arch,
            ArchPolicy::known().join(", ")
        ))
    })?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let cache = cache_dir(args);
    let progress = Progress::new();
    let mut repos = Vec::new();
    for path in args.repos.iter().chain(&args.nocheck) {
        repos.push(load(path, cache.as_deref(), &progress)?);
    }
    let mut update = Repo::new();
    for path in &args.rpms {
        progress.say(format!("reading {}", path.display()));
        update
            .add_rpm_file(path)
            .map_err(|err| BadInput(anyhow::Error::from(err)))?;
    }
    let all_repos: Vec<&Repo> = repos.iter().chain(std::iter::once(&update)).collect();
    if args.filelists || file_deps_unmet(&all_repos) {
        for (repo, path) in repos.iter_mut().zip(args.repos.iter().chain(&args.nocheck)) {
            progress.say(format!("reading the filelists of {}", path.display()));
            repo.load_filelists()
                .map_err(|err| BadInput(anyhow::Error::from(err)))?;
        }
    }
    let checked = args.repos.len();
    let roles: Vec<(&Repo, Role)> = repos
        .iter()
        .enumerate()
        .map(|(index, repo)| {
            (
                repo,
                if index < checked {
                    Role::Check
                } else {
                    Role::Base
                },
            )
        })
        .collect();
    if args.all {
        progress.say("building the pool".to_owned());
        let pool = Pool::new(policy, &roles);
        let candidates = pool.candidates();
        progress.say(format!("checking {} packages", candidates.len()));
        let checker = Checker::new(&pool);
        let verdicts = checker.check_broken(&candidates, threads);
        drop(progress);
        let broken: Vec<&Verdict> = verdicts.iter().collect();
        if args.json {
            print_json(&pool, candidates.len(), &broken, None);
        } else {
            stdout(&installcheck_text(&broken));
        }
        let clean = broken.is_empty();
        drop(broken);
        drop(verdicts);
        drop(checker);
        leave_to_exit(pool);
        leave_to_exit(repos);
        leave_to_exit(update);
        return Ok(clean);
    }
    // An update: its packages replace those of the same name and arch.
    let replaced = |repo_index: usize, package_index: usize| -> bool {
        let repo = &repos[repo_index];
        let package = &repo.packages()[package_index];
        let (name, arch) = (repo.str(package.name), repo.str(package.arch));
        update.packages().iter().any(|new| {
            let new_arch = update.str(new.arch);
            update.str(new.name) == name
                && (new_arch == arch || new_arch == "noarch" || arch == "noarch")
        })
    };
    // One pool for both worlds: the update's packages first, then the
    // repositories; before the update is without the update's packages,
    // after it without the packages they replace.
    progress.say("building the pool".to_owned());
    let mut update_roles = vec![(&update, Role::Check)];
    update_roles.extend(roles.iter().copied());
    let pool = Pool::new(policy, &update_roles);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for id in (0..pool.len()).filter_map(|id| u32::try_from(id).ok()) {
        if !pool.installable_arch(id) {
            continue;
        }
        match pool.location(id) {
            (0, _) => added.push(id),
            (repo, index) if replaced(repo - 1, index) => removed.push(id),
            _ => {}
        }
    }
    progress.say(format!("checking {} packages", added.len()));
    let outcome = taskotron_depcheck::check_update(&pool, &removed, &added, threads);
    let verdicts = outcome.update;
    let regressions = outcome.regressions;
    drop(progress);
    let broken: Vec<&Verdict> = verdicts.iter().filter(|it| !it.installable()).collect();
    let regressed: Vec<&Verdict> = regressions.iter().collect();
    if args.json {
        print_json(&pool, verdicts.len(), &broken, Some(&regressed));
    } else {
        let mut text = installcheck_text(&broken);
        if !regressed.is_empty() {
            text.push_str("packages the update makes uninstallable:\n");
            text.push_str(&installcheck_text(&regressed));
        }
        if broken.is_empty() && regressed.is_empty() {
            text.push_str(&format!(
                "all {} packages of the update are installable, and nothing that was installable breaks\n",
                verdicts.len()
            ));
        }
        stdout(&text);
    }
    let clean = broken.is_empty() && regressed.is_empty();
    leave_to_exit(pool);
    leave_to_exit(repos);
    leave_to_exit(update);
    Ok(clean)
}

/// The pool and the repositories are millions of small allocations that
/// the process's exit gives back at once: freeing them one by one first
/// costs a run milliseconds for nothing.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

fn installcheck_text(broken: &[&Verdict]) -> String {
    let mut text = String::new();
    for verdict in broken {
        text.push_str(&format!("can't install {}:\n", verdict.nevra));
        for reason in &verdict.reasons {
            text.push_str(&format!("  {reason}\n"));
        }
    }
    text
}

fn print_json(
    pool: &Pool<'_>,
    checked: usize,
    broken: &[&Verdict],
    regressions: Option<&[&Verdict]>,
) {
    let mut out = serde_json::json!({
        "arch": pool.arch(),
        "checked": checked,
        "installable": checked - broken.len(),
        "broken": broken,
    });
    if let Some(regressions) = regressions {
        out["regressions"] = serde_json::json!(regressions);
    }
    stdout(&format!("{out:#}\n"));
}

impl From<anyhow::Error> for BadInput {
    fn from(err: anyhow::Error) -> BadInput {
        BadInput(err)
    }
}
