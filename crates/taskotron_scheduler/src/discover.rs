//! `discover`: find task formulas in a git repository (a package's tests in
//! dist-git) at the item's branch, or a fallback branch.
//!
//! `git ls-remote` resolves the branch to a commit; a shallow clone of that
//! branch is kept per repository and commit under the cache directory; the
//! formulas are the `runtask.yml` files in its root and top-level
//! directories, or at any depth with `recursive: true`. Each becomes a
//! check named by its formula's `name`, with the commit as its check
//! revision, and a source (`{"repo", "commit", "path"}`) the worker fetches
//! the formula from.
//!
//! A branch that does not exist (nor its fallback) finds nothing and says
//! so; any other failure (the repository cannot be reached) is an error,
//! and the planner tries the event again later.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use sha2::{Digest, Sha256};
use taskotron_runner::process::{Collect, Ended, ProcessSpec, Sandbox, run};
use taskotron_triggers::Discovery;
use tokio_util::sync::CancellationToken;

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Deepest directory a recursive search enters.
const MAX_DEPTH: usize = 8;

/// A formula found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The formula's `name`: the check's name.
    pub check: String,
    /// Where it is, relative to the repository's root.
    pub path: String,
}

/// What a discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The branch used (the fallback when the branch does not exist).
    pub branch: String,
    /// The commit the branch points at.
    pub commit: String,
    /// The formulas.
    pub formulas: Vec<Found>,
    /// Formulas that could not be read, with why.
    pub problems: Vec<String>,
}

/// Runs discoveries, keeping checkouts under a cache directory.
#[derive(Debug, Clone)]
pub struct Discoverer {
    /// Where checkouts are kept (`<dir>/<repo hash>-<commit>`).
    pub cache_dir: PathBuf,
}

async fn git(args: &[&str], cwd: &Path) -> Result<(Ended, String), String> {
    let spec = ProcessSpec {
        program: "git".to_owned(),
        args: args.iter().map(|it| (*it).to_owned()).collect(),
        cwd: cwd.to_owned(),
        env: vec![
            ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
            ("GIT_ASKPASS".to_owned(), "true".to_owned()),
            ("LC_ALL".to_owned(), "C".to_owned()),
        ],
        env_remove: Vec::new(),
    };
    let mut sink = Collect::default();
    let finished = run(
        &spec,
        &Sandbox::None,
        Instant::now() + GIT_TIMEOUT,
        &CancellationToken::new(),
        &mut sink,
    )
    .await
    .map_err(|err| err.to_string())?;
    Ok((
        finished.ended,
        String::from_utf8_lossy(&sink.bytes).into_owned(),
    ))
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|it| !it.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// The repository's key in the cache: a hash, so any URL makes a safe name.
#[must_use]
pub fn repo_key(repo: &str) -> String {
    Sha256::digest(repo.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `resolve` answers for a repository that does not exist.
const MISSING: &str = "\0missing";

/// Whether git's output says the repository does not exist (most packages
/// have no tests repository: that is an answer, not a failure).
fn repository_missing(output: &str) -> bool {
    let lower = output.to_ascii_lowercase();
    [
        "not found",
        "does not appear to be a git repository",
        "does not exist",
        "no such file or directory",
    ]
    .iter()
    .any(|it| lower.contains(it))
}

impl Discoverer {
    /// The commit `branch` of `repo` points at; `None` when there is no
    /// such branch.
    async fn resolve(&self, repo: &str, branch: &str) -> Result<Option<String>, String> {
        let reference = format!("refs/heads/{branch}");
        let (ended, output) = git(
            &[
                "ls-remote",
                "--exit-code",
                "--heads",
                "--",
                repo,
                &reference,
            ],
            &self.cache_dir,
        )
        .await?;
        match ended {
            Ended::Exited(0) => {
                let commit = output
                    .lines()
                    .find_map(|line| {
                        let (sha, name) = line.split_once('\t')?;
                        (name.trim() == reference).then(|| sha.trim().to_owned())
                    })
                    .filter(|sha| sha.len() >= 40 && sha.chars().all(|c| c.is_ascii_hexdigit()));
                commit
                    .map(Some)
                    .ok_or_else(|| format!("git ls-remote {repo} gave no commit for {branch}"))
            }
            Ended::Exited(2) => Ok(None),
            _ if repository_missing(&output) => Err(MISSING.to_owned()),
            other => Err(format!(
                "git ls-remote {repo} failed ({other:?}): {}",
                last_line(&output)
            )),
        }
    }

    /// A checkout of `commit` (the tip of `branch`), cloned when missing.
    async fn checkout(&self, repo: &str, branch: &str, commit: &str) -> Result<PathBuf, String> {
        let dir = self.cache_dir.join(format!("{}-{commit}", repo_key(repo)));
        if dir.join(".git").is_dir() {
            return Ok(dir);
        }
        let partial = self.cache_dir.join(format!(
            ".{}-{commit}-{}",
            repo_key(repo),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&partial);
        let target = partial.to_string_lossy().into_owned();
        let (ended, output) = git(
            &[
                "clone", "--quiet", "--depth", "1", "--branch", branch, "--", repo, &target,
            ],
            &self.cache_dir,
        )
        .await?;
        if ended != Ended::Exited(0) {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(format!(
                "git clone {repo} {branch} failed: {}",
                last_line(&output)
            ));
        }
        let (_, head) = git(&["rev-parse", "HEAD"], &partial).await?;
        if head.trim() != commit {
            // The branch moved between ls-remote and clone: use what was
            // cloned under its own commit next time; this time, try again.
            let _ = std::fs::remove_dir_all(&partial);
            return Err(format!(
                "{repo} {branch} moved while it was cloned; trying again later"
            ));
        }
        match std::fs::rename(&partial, &dir) {
            Ok(()) => Ok(dir),
            Err(_) if dir.join(".git").is_dir() => {
                let _ = std::fs::remove_dir_all(&partial);
                Ok(dir)
            }
            Err(err) => Err(format!("cannot keep the checkout {}: {err}", dir.display())),
        }
    }

    /// Run one discovery: `Ok(None)` when the repository does not exist or
    /// has neither branch.
    ///
    /// # Errors
    ///
    /// Git failed for another reason (the repository cannot be reached):
    /// try again later.
    pub async fn discover(&self, discovery: &Discovery) -> Result<Option<Discovered>, String> {
        std::fs::create_dir_all(&self.cache_dir)
            .map_err(|err| format!("cannot create {}: {err}", self.cache_dir.display()))?;
        // Git runs in the cache directory and is given paths in it: they
        // must not be relative to two different places.
        let absolute = std::path::absolute(&self.cache_dir)
            .map_err(|err| format!("cannot resolve {}: {err}", self.cache_dir.display()))?;
        let this = Discoverer {
            cache_dir: absolute,
        };
        this.discover_in(discovery).await
    }

    async fn discover_in(&self, discovery: &Discovery) -> Result<Option<Discovered>, String> {
        let mut branches = vec![discovery.branch.as_str()];
        if let Some(fallback) = &discovery.fallback_branch {
            branches.push(fallback);
        }
        for branch in branches {
            if branch.starts_with('-') || branch.contains("..") {
                return Ok(None);
            }
            let commit = match self.resolve(&discovery.repo, branch).await {
                Ok(Some(commit)) => commit,
                Ok(None) => continue,
                Err(why) if why == MISSING => return Ok(None),
                Err(why) => return Err(why),
            };
            let dir = self.checkout(&discovery.repo, branch, &commit).await?;
            let (formulas, problems) = find_formulas(&dir, discovery.recursive);
            return Ok(Some(Discovered {
                branch: branch.to_owned(),
                commit,
                formulas,
                problems,
            }));
        }
        Ok(None)
    }
}

/// The formulas under `root`: `runtask.yml` in the root and its top-level
/// directories, or at any depth (up to [`MAX_DEPTH`]) when `recursive`.
#[must_use]
pub fn find_formulas(root: &Path, recursive: bool) -> (Vec<Found>, Vec<String>) {
    let mut paths = Vec::new();
    let mut stack = vec![(root.to_owned(), 0_usize)];
    while let Some((dir, depth)) = stack.pop() {
        let candidate = dir.join("runtask.yml");
        if candidate.is_file() {
            paths.push(candidate);
        }
        if !(recursive && depth < MAX_DEPTH || depth == 0) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && !name.to_string_lossy().starts_with('.') {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    paths.sort();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(root).map_or_else(
            |_| path.display().to_string(),
            |it| it.display().to_string(),
        );
        let text = match std::fs::read_to_string(&path) {
            Ok(it) => it,
            Err(err) => {
                problems.push(format!("{relative}: {err}"));
                continue;
            }
        };
        match taskotron_task_format::parse_formula(
            &text,
            &relative,
            &taskotron_task_format::ValidateOptions::default(),
        ) {
            Ok(formula) => found.push(Found {
                check: formula.checkname(),
                path: relative,
            }),
            Err(diags) => problems.push(format!(
                "{relative} is not a valid formula: {}",
                last_line(&diags.to_string())
            )),
        }
    }
    (found, problems)
}
