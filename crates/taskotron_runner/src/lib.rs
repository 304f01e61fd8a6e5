//! Runs a validated task formula, exactly as production runs it.
//!
//! [`run`] takes a [`Job`] (a formula plus the item, arch, uuid and directories)
//! and a [`RunConfig`], checks the machine first ([`preflight`]: sandbox,
//! programs, writable directories), then runs the actions in order. Each
//! action's parameters are substituted from the task's variables, checked
//! against the directive's table, and run; its output goes to its own log and
//! to the task log; its return value may be exported for later actions.
//!
//! Artifacts of a job (see [`Layout`]): `taskotron/results.yml` (rewritten after
//! every `resultsdb` action, so results already produced survive a crash),
//! `taskotron/taskotron.log`, `taskotron/actions/NN-name.log`,
//! `taskotron/task_vars.json` and `taskotron/summary.json`, plus whatever the task writes
//! into `${artifactsdir}`.
//!
//! Architecture invariant: this is the only crate that spawns processes, all of
//! them through [`process`]. A failing check is a result; a failing directive
//! makes the task CRASHED; neither is a Rust error. [`run`] returns `Err` only
//! when the job cannot start at all.

mod directives;
mod layout;
mod log;
pub mod process;
mod resultsdb;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value as Json, json};
use taskotron_task_format::directives::check_params;
use taskotron_task_format::vars::{Scope, substitute};
use taskotron_task_format::{Action, Formula, ResultYaml};
use taskotron_types::ItemType;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use layout::Layout;
pub use log::TaskLog;
pub use process::{Sandbox, Stream};

/// Process exit codes of `taskotron run`, the contract with shells and CI.
pub mod exit_code {
    /// The task finished and its `exitcode` directives (if any) say it passed.
    pub const PASSED: i32 = 0;
    /// The task could not start: the sandbox, a program or a directory is missing.
    pub const ENVIRONMENT: i32 = 1;
    /// Bad command-line arguments or an invalid formula.
    pub const USAGE: i32 = 2;
    /// A directive failed; the task crashed (results already produced are kept).
    pub const CRASHED: i32 = 3;
    /// An action or the whole task ran out of time and was killed.
    pub const TIMED_OUT: i32 = 4;
    /// The task finished and an `exitcode` directive says it failed.
    pub const FAILED: i32 = 100;
    /// The run was interrupted (Ctrl-C or SIGTERM).
    pub const INTERRUPTED: i32 = 130;
}

/// How actions are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// Under bubblewrap: read-only host, writable workdir and artifacts only,
    /// no network unless the formula asks for it.
    Bwrap,
    /// Directly on this machine (`--local`).
    Local,
}

/// Where results are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsdbTarget {
    /// The API base, e.g. `http://127.0.0.1:8080/api/v2.0`.
    pub url: String,
    /// A bearer token for writes.
    pub token: Option<String>,
    /// Base of the artifacts' public URL; the job's uuid is appended.
    pub artifacts_base_url: Option<String>,
}

/// How the runner behaves on this machine.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Sandbox or not.
    pub sandbox: SandboxMode,
    /// The bubblewrap program.
    pub bwrap: String,
    /// The Python interpreter for the `python` directive.
    pub python: String,
    /// The whole task's time limit, unless the formula sets one.
    pub task_timeout: Duration,
    /// Each action's time limit, unless the action sets one.
    pub action_timeout: Duration,
    /// Keep the work directory after the run.
    pub keep_workdir: bool,
    /// Report results here; `None` validates and logs what would be sent.
    pub resultsdb: Option<ResultsdbTarget>,
    /// The `taskotron` executable, put on actions' `PATH` so shell tasks can call
    /// `taskotron result`.
    pub taskotron_exe: Option<PathBuf>,
    /// Environment variables that hold secrets: removed from every action's environment.
    pub secret_env: Vec<String>,
    /// Files that hold secrets: hidden inside the sandbox, and never read by a directive.
    pub secret_files: Vec<PathBuf>,
    /// Where the `koji`, `bodhi`, `distgit` and `yumrepoinfo` directives read.
    pub sources: Sources,
}

/// The services the `koji`, `bodhi`, `distgit` and `yumrepoinfo` directives
/// read, and where downloads are cached.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The Koji hub (XML-RPC).
    pub koji_hub: String,
    /// The top of the kojipkgs tree.
    pub kojipkgs: String,
    /// Bodhi's base URL.
    pub bodhi: String,
    /// The dist-git web front end.
    pub distgit: String,
    /// The download cache shared by jobs.
    pub cache_dir: PathBuf,
    /// Downloads at once.
    pub downloads: usize,
    /// The repository URL templates of the tag → repositories mapping.
    pub repo_templates: taskotron_bodhi::repos::RepoTemplates,
    /// Tags whose repositories are given by hand.
    pub repo_overrides: BTreeMap<String, taskotron_bodhi::repos::TagOverride>,
}

impl Sources {
    /// Fedora's services, caching under `cache_dir`.
    pub fn fedora(cache_dir: PathBuf) -> Sources {
        Sources {
            koji_hub: "https://koji.fedoraproject.org/kojihub".to_owned(),
            kojipkgs: "https://kojipkgs.fedoraproject.org".to_owned(),
            bodhi: "https://bodhi.fedoraproject.org/".to_owned(),
            distgit: "https://src.fedoraproject.org".to_owned(),
            cache_dir,
            downloads: 4,
            repo_templates: taskotron_bodhi::repos::RepoTemplates::default(),
            repo_overrides: BTreeMap::new(),
        }
    }
}

/// One run of one task.
#[derive(Debug, Clone)]
pub struct Job {
    /// The validated formula.
    pub formula: Formula,
    /// The formula's file; its directory is the task directory.
    pub formula_path: PathBuf,
    /// The item under test.
    pub item: String,
    /// The item's type.
    pub item_type: ItemType,
    /// The architecture (`noarch` for arch-independent tasks).
    pub arch: String,
    /// The job's uuid: the ResultsDB group and the artifacts' name.
    pub uuid: String,
    /// An external job id, when there is one.
    pub jobid: Option<String>,
    /// The job's artifacts directory.
    pub artifacts_dir: PathBuf,
    /// The job's scratch directory.
    pub work_dir: PathBuf,
    /// A task time limit that overrides the formula's and the config's.
    pub timeout: Option<Duration>,
}

/// Something happened during a run, for live displays and log streaming.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// An action starts.
    ActionStarted {
        /// The action.
        action: &'a Action,
        /// How many actions the task has.
        total: usize,
    },
    /// An action wrote output.
    Output {
        /// The action.
        action: &'a Action,
        /// Which stream.
        stream: Stream,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// A long action tells how far it got (downloads: files and bytes).
    Progress {
        /// The action.
        action: &'a Action,
        /// What it is doing, in a few words.
        text: &'a str,
    },
    /// An action ended.
    ActionFinished {
        /// Its report.
        report: &'a ActionReport,
    },
}

/// Receives [`RunEvent`]s.
pub trait Observer: Send + Sync {
    /// Called for every event, in order.
    fn event(&self, event: RunEvent<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn event(&self, _event: RunEvent<'_>) {}
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionStatus {
    /// It did its work.
    Ok,
    /// The directive failed.
    Failed {
        /// Why.
        error: String,
    },
    /// It ran out of time.
    TimedOut {
        /// After how many seconds.
        after_secs: u64,
    },
    /// The run was interrupted while it ran.
    Cancelled,
    /// It did not run because an earlier action ended the task.
    Skipped,
}

/// One action of a finished run.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    /// 1-based position.
    pub index: usize,
    /// The action's name.
    pub name: String,
    /// The directive it ran.
    pub directive: &'static str,
    /// How it ended.
    #[serde(flatten)]
    pub status: ActionStatus,
    /// How long it took.
    pub duration_ms: u64,
    /// Its log, relative to the artifacts directory.
    pub log: Option<String>,
}

/// How the whole task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Every action ran; the `exitcode` directives (if any) say it passed.
    Passed,
    /// Every action ran; an `exitcode` directive says it failed.
    Failed,
    /// A directive failed.
    Crashed,
    /// Out of time.
    TimedOut,
    /// Interrupted.
    Interrupted,
}

impl TaskStatus {
    /// The process exit code of `taskotron run` for this status.
    pub fn exit_code(self) -> i32 {
        match self {
            TaskStatus::Passed => exit_code::PASSED,
            TaskStatus::Failed => exit_code::FAILED,
            TaskStatus::Crashed => exit_code::CRASHED,
            TaskStatus::TimedOut => exit_code::TIMED_OUT,
            TaskStatus::Interrupted => exit_code::INTERRUPTED,
        }
    }
}

/// What a run did, written to `taskotron/summary.json` and printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    /// The job's uuid.
    pub uuid: String,
    /// `namespace.name`.
    pub checkname: String,
    /// The item.
    pub item: String,
    /// The item's type.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// The arch.
    pub arch: String,
    /// How it ended.
    pub status: TaskStatus,
    /// The process exit code that goes with it.
    pub exit_code: i32,
    /// Why it crashed, timed out or was interrupted.
    pub error: Option<String>,
    /// Sandbox or local.
    pub sandbox: SandboxMode,
    /// Every action.
    pub actions: Vec<ActionReport>,
    /// The results recorded by `resultsdb` actions.
    pub results: ResultYaml,
    /// The artifacts directory.
    pub artifacts_dir: PathBuf,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
}

/// Why a job could not start. Nothing has run when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// bwrap is missing or cannot build a sandbox here.
    #[error("{0}")]
    Sandbox(String),
    /// A program a directive needs is missing.
    #[error("`{program}` is not installed or not on PATH; the {purpose}")]
    ProgramMissing {
        /// The program.
        program: String,
        /// Who needs it.
        purpose: String,
    },
    /// A directory cannot be created or written.
    #[error("{what} {path} is not writable: {source}")]
    NotWritable {
        /// Which directory.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Check the machine and prepare the directories; nothing of the task runs.
pub async fn preflight(job: &Job, config: &RunConfig) -> Result<Sandbox, PreflightError> {
    let uses = |name: &str| {
        job.formula
            .actions
            .iter()
            .any(|it| it.directive.name == name)
    };
    let mut needed: Vec<(&str, String)> = Vec::new();
    if uses("python") {
        needed.push((config.python.as_str(), "`python` directive needs it (set runner.python in the config to use another interpreter)".into()));
    }
    if uses("createrepo") {
        needed.push(("createrepo_c", "`createrepo` directive needs it (Debian and Fedora package: createrepo-c / createrepo_c)".into()));
    }
    if uses("shell") {
        needed.push(("bash", "`shell` directive runs commands with it".into()));
    }
    for (program, purpose) in needed {
        if process::find_program(program).is_none() {
            return Err(PreflightError::ProgramMissing {
                program: program.to_owned(),
                purpose,
            });
        }
    }
    let mut dirs = vec![
        ("artifacts directory", &job.artifacts_dir),
        ("work directory", &job.work_dir),
    ];
    if uses("koji") || uses("bodhi") {
        dirs.push(("download cache", &config.sources.cache_dir));
    }
    for (what, dir) in dirs {
        check_writable(dir).map_err(|source| PreflightError::NotWritable {
            what,
            path: dir.clone(),
            source,
        })?;
    }
    match config.sandbox {
        SandboxMode::Local => Ok(Sandbox::None),
        SandboxMode::Bwrap => {
            let Some(program) = process::find_program(&config.bwrap) else {
                return Err(PreflightError::Sandbox(format!(
                    "bubblewrap (`{}`) is not installed, so actions cannot run sandboxed; install it \
                     (Debian/Fedora package: bubblewrap) or pass --local to run them directly on this machine",
                    config.bwrap
                )));
            };
            process::probe_bwrap(&program).await.map_err(|err| {
                PreflightError::Sandbox(format!(
                    "bubblewrap cannot build a sandbox on this machine ({err}); pass --local to run the \
                     actions directly on this machine"
                ))
            })?;
            let task_dir = task_dir(&job.formula_path);
            Ok(Sandbox::Bwrap {
                program,
                readable: vec![task_dir],
                writable: vec![job.work_dir.clone(), job.artifacts_dir.clone()],
                network: job.formula.environment.network,
                hidden: config
                    .secret_files
                    .iter()
                    .filter(|it| it.exists())
                    .cloned()
                    .collect(),
            })
        }
    }
}

fn check_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".taskotron-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

fn task_dir(formula_path: &Path) -> PathBuf {
    formula_path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The ResultsDB POST bodies of a run's results, as the `resultsdb`
/// directive posts them when the runner has a target (the group is the
/// job's uuid), for a caller that stores them itself: a worker hands them
/// to its server with the attempt's outcome.
pub fn result_payloads(job: &Job, report: &TaskReport) -> Vec<serde_json::Value> {
    report
        .results
        .results
        .iter()
        .map(|it| resultsdb::payload(job, None, it))
        .collect()
}

/// Run a job to its end. `Err` only when it cannot start (see [`preflight`]).
pub async fn run(
    job: &Job,
    config: &RunConfig,
    cancel: CancellationToken,
    observer: &dyn Observer,
) -> Result<TaskReport, PreflightError> {
    let sandbox = preflight(job, config).await?;
    let layout = Layout::new(&job.artifacts_dir);
    layout
        .create()
        .map_err(|source| PreflightError::NotWritable {
            what: "artifacts directory",
            path: job.artifacts_dir.clone(),
            source,
        })?;
    let mut task_log =
        TaskLog::create(&layout.task_log()).map_err(|source| PreflightError::NotWritable {
            what: "artifacts directory",
            path: job.artifacts_dir.clone(),
            source,
        })?;
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let formula = &job.formula;
    let task_timeout = job
        .timeout
        .or(formula.timeout)
        .unwrap_or(config.task_timeout);
    let task_deadline = started + task_timeout;

    task_log.line(&format!(
        "task {} on {} {} ({}), uuid {}, {}",
        formula.checkname(),
        job.item_type,
        job.item,
        job.arch,
        job.uuid,
        match &sandbox {
            Sandbox::None => "running locally without a sandbox".to_owned(),
            Sandbox::Bwrap { network, .. } => format!(
                "sandboxed with bubblewrap ({})",
                if *network {
                    "network allowed"
                } else {
                    "no network"
                }
            ),
        }
    ));

    if !formula.environment.rpm.is_empty() {
        task_log.line(&format!(
            "environment.rpm lists {}; this runner does not install packages, so they must already be installed",
            formula.environment.rpm.join(", ")
        ));
    }
    let mut scope = initial_scope(job);
    let mut cx = directives::Cx {
        job,
        config,
        sandbox,
        layout: layout.clone(),
        results: ResultYaml::default(),
        exit_code: None,
        cancel: cancel.clone(),
        http: reqwest::Client::new(),
        repo_map: None,
    };
    let mut reports = Vec::new();
    let mut status = None;
    let mut error = None;
    write_vars(&layout, &scope, &mut task_log);

    for action in &formula.actions {
        if status.is_some() {
            reports.push(ActionReport {
                index: action.index,
                name: action.name.clone(),
                directive: action.directive.name,
                status: ActionStatus::Skipped,
                duration_ms: 0,
                log: None,
            });
            continue;
        }
        observer.event(RunEvent::ActionStarted {
            action,
            total: formula.actions.len(),
        });
        let action_started = Instant::now();
        let action_timeout = action.timeout.unwrap_or(config.action_timeout);
        let deadline = (action_started + action_timeout).min(task_deadline);
        let task_limited = task_deadline <= action_started + action_timeout;
        let log_rel = layout.action_log_rel(action);
        task_log.line(&format!(
            "action {}/{} `{}` ({}) started, log {}",
            action.index,
            formula.actions.len(),
            action.name,
            action.directive.name,
            log_rel
        ));
        let outcome = match layout.action_log(action, &mut task_log, observer) {
            Err(err) => Err(directives::DirectiveError::Failed(format!(
                "cannot write the action's log: {err}"
            ))),
            Ok(mut sink) => {
                let result = match prepare_params(action, &scope) {
                    Ok(params) => cx.run(action, params, deadline, &mut sink).await,
                    Err(err) => Err(directives::DirectiveError::Failed(err)),
                };
                if let Err(err) = &result {
                    sink.note(&format!("error: {err}"));
                }
                result
            }
        };
        let elapsed = action_started.elapsed();
        let action_status = match outcome {
            Ok(value) => {
                if let Some(name) = &action.export {
                    scope.insert(name.clone(), value);
                }
                ActionStatus::Ok
            }
            Err(directives::DirectiveError::Failed(err)) => {
                status = Some(TaskStatus::Crashed);
                error = Some(format!(
                    "action {} `{}` failed: {err}",
                    action.index, action.name
                ));
                ActionStatus::Failed { error: err }
            }
            Err(directives::DirectiveError::TimedOut) => {
                status = Some(TaskStatus::TimedOut);
                let secs = elapsed.as_secs();
                error = Some(if task_limited {
                    format!(
                        "the task ran out of its {} limit during action {} `{}`",
                        human(task_timeout),
                        action.index,
                        action.name
                    )
                } else {
                    format!(
                        "action {} `{}` ran out of its {} limit",
                        action.index,
                        action.name,
                        human(action_timeout)
                    )
                });
                ActionStatus::TimedOut { after_secs: secs }
            }
            Err(directives::DirectiveError::Cancelled) => {
                status = Some(TaskStatus::Interrupted);
                error = Some(format!(
                    "interrupted during action {} `{}`",
                    action.index, action.name
                ));
                ActionStatus::Cancelled
            }
        };
        task_log.line(&format!(
            "action {} `{}` {} after {:.1}s",
            action.index,
            action.name,
            match &action_status {
                ActionStatus::Ok => "finished".to_owned(),
                ActionStatus::Failed { error } => format!("failed ({error})"),
                ActionStatus::TimedOut { .. } => "timed out and was killed".to_owned(),
                ActionStatus::Cancelled => "was interrupted and killed".to_owned(),
                ActionStatus::Skipped => "was skipped".to_owned(),
            },
            elapsed.as_secs_f64()
        ));
        let report = ActionReport {
            index: action.index,
            name: action.name.clone(),
            directive: action.directive.name,
            status: action_status,
            duration_ms: millis(elapsed),
            log: Some(log_rel),
        };
        observer.event(RunEvent::ActionFinished { report: &report });
        reports.push(report);
        write_vars(&layout, &scope, &mut task_log);
    }

    let status = status.unwrap_or(match cx.exit_code {
        Some(code) if code != 0 => TaskStatus::Failed,
        _ => TaskStatus::Passed,
    });
    let report = TaskReport {
        uuid: job.uuid.clone(),
        checkname: formula.checkname(),
        item: job.item.clone(),
        item_type: job.item_type,
        arch: job.arch.clone(),
        status,
        exit_code: status.exit_code(),
        error,
        sandbox: config.sandbox,
        actions: reports,
        results: cx.results.clone(),
        artifacts_dir: job.artifacts_dir.clone(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: millis(started.elapsed()),
    };
    task_log.line(&format!(
        "task finished: {} (exit code {}), results: {}",
        serde_json::to_value(status)
            .ok()
            .and_then(|it| it.as_str().map(str::to_owned))
            .unwrap_or_default(),
        report.exit_code,
        report.results.summary()
    ));
    if let Some(err) = &report.error {
        task_log.line(&format!("error: {err}"));
    }
    match serde_json::to_vec_pretty(&report) {
        Ok(bytes) => {
            if let Err(err) = std::fs::write(layout.summary(), bytes) {
                task_log.line(&format!("cannot write summary.json: {err}"));
            }
        }
        Err(err) => task_log.line(&format!("cannot serialise the summary: {err}")),
    }
    if !config.keep_workdir
        && let Err(err) = std::fs::remove_dir_all(&job.work_dir)
    {
        task_log.line(&format!(
            "cannot remove the work directory {}: {err}",
            job.work_dir.display()
        ));
    }
    Ok(report)
}

/// The runner variables and the item-type-named variable.
fn initial_scope(job: &Job) -> Scope {
    let mut scope = BTreeMap::new();
    let path = |p: &Path| Json::String(p.display().to_string());
    scope.insert("arch".into(), json!(job.arch));
    scope.insert("artifactsdir".into(), path(&job.artifacts_dir));
    scope.insert("checkname".into(), json!(job.formula.checkname()));
    scope.insert("item".into(), json!(job.item));
    scope.insert("jobid".into(), json!(job.jobid.clone().unwrap_or_default()));
    scope.insert("namespace".into(), json!(job.formula.namespace));
    scope.insert("taskdir".into(), path(&task_dir(&job.formula_path)));
    scope.insert("type".into(), json!(job.item_type.as_str()));
    scope.insert("uuid".into(), json!(job.uuid));
    scope.insert("workdir".into(), path(&job.work_dir));
    scope.insert(job.item_type.as_str().into(), json!(job.item));
    scope
}

fn prepare_params(action: &Action, scope: &Scope) -> Result<Json, String> {
    let params = substitute(&action.params, scope).map_err(|err| err.to_string())?;
    check_params(action.directive, &params)?;
    Ok(params)
}

fn write_vars(layout: &Layout, scope: &Scope, log: &mut TaskLog) {
    let written = serde_json::to_vec_pretty(scope)
        .map_err(|err| err.to_string())
        .and_then(|bytes| std::fs::write(layout.task_vars(), bytes).map_err(|err| err.to_string()));
    if let Err(err) = written {
        log.line(&format!("cannot write task_vars.json: {err}"));
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s if s > 0 => format!("{s}s"),
        _ => format!("{}ms", duration.as_millis()),
    }
}
