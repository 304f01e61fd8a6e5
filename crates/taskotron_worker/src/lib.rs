//! The worker agent: `taskotron worker --server URL`.
//!
//! Like crater's agents, a worker holds no database credentials and speaks only
//! HTTP to a `taskotron serve` ([`api`], the protocol of docs/worker-protocol.md).
//! [`run_worker`] registers the worker's capabilities, then each of its slots
//! long-polls for a lease, finds the job's formula in the tasks directory
//! ([`find_formula`]), runs it with [`taskotron_runner::run`] (the runner is the
//! only crate that spawns processes) while heartbeating at the interval the
//! server gives, and posts the result with the lease's fencing token. While
//! the task runs, the task log the runner writes is tailed and streamed to
//! the server in offset-checked chunks; when it ends, every file of the
//! artifacts directory is uploaded before the result is posted. A
//! heartbeat answered 409 (the lease was lost or the job cancelled) cancels the
//! run, and its result is dropped. While the server is unreachable the worker
//! backs off with jitter. Stopping (the `shutdown` token) stops leasing and
//! cancels the running jobs; their leases run out and the server requeues them.

pub mod api;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use taskotron_runner::{Job, NoObserver, RunConfig, TaskReport, TaskStatus};
use taskotron_task_format::{ValidateOptions, parse_formula};
use taskotron_types::{ItemType, Outcome};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use api::{ApiError, Capabilities, Client, FormulaSource, JobResult, Lease};

/// Everything a worker needs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The name to register with (must be the token's); the token's when `None`.
    pub name: Option<String>,
    /// What the worker offers.
    pub capabilities: Capabilities,
    /// One directory per check: `DIR/<check>/runtask.yml`, with or without
    /// the namespace.
    pub tasks_dir: PathBuf,
    /// Artifacts (`artifacts/<uuid>/attempt-N`) and work directories
    /// (`work/<uuid>-N`).
    pub data_dir: PathBuf,
    /// How jobs run (sandbox, timeouts, sources); the same for every job.
    pub run_config: RunConfig,
}

/// Why a worker stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The server refused the registration (bad token, bad capabilities).
    #[error("the server refused the registration: {0}")]
    Register(#[source] ApiError),
}

/// The first wait after a failure, doubled on each further one.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// The longest wait between attempts to reach the server.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Backoff with full jitter: a random wait below a bound that doubles with
/// each failure, up to [`BACKOFF_MAX`].
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let bound = BACKOFF_START
            .saturating_mul(1u32 << self.failures.min(16))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        // A v4 uuid is 122 random bits: enough randomness without a new crate.
        let fraction = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
        bound.mul_f64(0.5 + fraction / 2.0)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Sleep, or return `false` early when `shutdown` fires.
async fn sleep_or_stop(wait: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        () = shutdown.cancelled() => false,
    }
}

/// Run the worker until `shutdown` fires. Returns `Err` only when the server
/// refuses the registration for good.
pub async fn run_worker(
    client: Client,
    options: WorkerOptions,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let mut backoff = Backoff::default();
    let registered = loop {
        match client
            .register(options.name.as_deref(), &options.capabilities)
            .await
        {
            Ok(it) => break it,
            Err(err) if err.is_retryable() => {
                let wait = backoff.next();
                tracing::warn!(error = %err, retry_in = ?wait, "cannot register; retrying");
                if !sleep_or_stop(wait, &shutdown).await {
                    return Ok(());
                }
            }
            Err(err) => return Err(WorkerError::Register(err)),
        }
    };
    let span = tracing::info_span!("worker", worker.name = %registered.name);
    let times = registered.config;
    tracing::info!(
        parent: &span,
        server = client.base(),
        slots = options.capabilities.slots,
        lease_seconds = times.lease_seconds,
        heartbeat_seconds = times.heartbeat_seconds,
        "registered; waiting for jobs"
    );
    let options = Arc::new(options);
    let wait = secs(times.max_wait_seconds, Duration::from_secs(25));
    let mut slots = tokio::task::JoinSet::new();
    for slot in 0..options.capabilities.slots.max(1) {
        let client = client.clone();
        let options = Arc::clone(&options);
        let shutdown = shutdown.clone();
        slots.spawn(
            slot_loop(client, options, wait, shutdown)
                .instrument(tracing::info_span!(parent: &span, "slot", slot)),
        );
    }
    while slots.join_next().await.is_some() {}
    tracing::info!(parent: &span, "worker stopped");
    Ok(())
}

fn secs(value: f64, default: Duration) -> Duration {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|it| !it.is_zero())
        .unwrap_or(default)
}

async fn slot_loop(
    client: Client,
    options: Arc<WorkerOptions>,
    wait: Duration,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::default();
    while !shutdown.is_cancelled() {
        let asked = tokio::time::Instant::now();
        let leased = tokio::select! {
            it = client.lease(wait, &options.capabilities) => it,
            () = shutdown.cancelled() => break,
        };
        match leased {
            // A stopping server answers 204 at once: do not spin on it.
            Ok(None) if asked.elapsed() < Duration::from_secs(1) && !wait.is_zero() => {
                if !sleep_or_stop(backoff.next(), &shutdown).await {
                    break;
                }
            }
            Ok(None) => backoff.reset(),
            Ok(Some(lease)) => {
                backoff.reset();
                let span =
                    tracing::info_span!("job", job.id = %lease.uuid, job.attempt = lease.attempt);
                run_leased(&client, &options, lease, &shutdown)
                    .instrument(span)
                    .await;
            }
            Err(err) => {
                let wait = backoff.next();
                tracing::warn!(error = %err, retry_in = ?wait, "cannot lease a job; retrying");
                if !sleep_or_stop(wait, &shutdown).await {
                    break;
                }
            }
        }
    }
}

/// Where a check's formula lives: `DIR/<namespace.name>/runtask.yml`, else
/// `DIR/<name>/runtask.yml`. A check name that could leave the directory is
/// refused.
pub fn find_formula(tasks_dir: &Path, check: &str) -> Result<PathBuf, String> {
    let safe = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
    };
    if !safe(check) {
        return Err(format!(
            "the check name `{check}` cannot name a directory of the tasks directory"
        ));
    }
    let mut candidates = vec![tasks_dir.join(check).join("runtask.yml")];
    if let Some((_, name)) = check.split_once('.')
        && safe(name)
    {
        candidates.push(tasks_dir.join(name).join("runtask.yml"));
    }
    for path in &candidates {
        if path.is_file() {
            return Ok(path.clone());
        }
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|it| it.display().to_string())
        .collect();
    Err(format!(
        "no task formula for check `{check}` on this worker (looked for {})",
        tried.join(" and ")
    ))
}

/// How long fetching a formula's repository may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

async fn git(args: &[&str], cwd: &Path) -> Result<(), String> {
    let spec = taskotron_runner::process::ProcessSpec {
        program: "git".to_owned(),
        args: args.iter().map(|it| (*it).to_owned()).collect(),
        cwd: cwd.to_owned(),
        env: vec![
            ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
            ("LC_ALL".to_owned(), "C".to_owned()),
        ],
        env_remove: Vec::new(),
    };
    let mut sink = taskotron_runner::process::Collect::default();
    let finished = taskotron_runner::process::run(
        &spec,
        &taskotron_runner::process::Sandbox::None,
        tokio::time::Instant::now() + FETCH_TIMEOUT,
        &CancellationToken::new(),
        &mut sink,
    )
    .await
    .map_err(|err| err.to_string())?;
    if finished.ended == taskotron_runner::process::Ended::Exited(0) {
        Ok(())
    } else {
        let output = String::from_utf8_lossy(&sink.bytes);
        let last = output
            .lines()
            .rev()
            .find(|it| !it.trim().is_empty())
            .unwrap_or("");
        Err(format!(
            "git {} failed ({:?}): {}",
            args.join(" "),
            finished.ended,
            last.trim()
        ))
    }
}

/// Fetch a discovered task's formula: a checkout of its repository at its
/// commit, kept under `<data-dir>/sources/`; answers the formula's path.
///
/// # Errors
///
/// The source is malformed (a path leaving the repository, a commit that is
/// not hex) or git failed.
pub async fn fetch_source(data_dir: &Path, source: &FormulaSource) -> Result<PathBuf, String> {
    let relative = Path::new(&source.path);
    let safe = !source.path.is_empty()
        && relative.is_relative()
        && relative
            .components()
            .all(|it| matches!(it, std::path::Component::Normal(_)));
    if !safe {
        return Err(format!(
            "the formula path {:?} leaves its repository",
            source.path
        ));
    }
    if source.commit.len() < 7 || !source.commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "the commit {:?} is not a git commit id",
            source.commit
        ));
    }
    let sources = data_dir.join("sources");
    std::fs::create_dir_all(&sources)
        .map_err(|err| format!("cannot create {}: {err}", sources.display()))?;
    // Git runs in `sources` and is given paths in it: make them absolute.
    let sources = std::path::absolute(&sources)
        .map_err(|err| format!("cannot resolve {}: {err}", sources.display()))?;
    let key: String = {
        use sha2::Digest;
        sha2::Sha256::digest(source.repo.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let dir = sources.join(format!("{key}-{}", source.commit));
    if !dir.join(".git").is_dir() {
        let partial = sources.join(format!(
            ".{key}-{}-{}",
            source.commit,
            uuid::Uuid::new_v4().simple()
        ));
        let target = partial.to_string_lossy().into_owned();
        let outcome = async {
            git(
                &[
                    "clone",
                    "--quiet",
                    "--no-checkout",
                    "--",
                    &source.repo,
                    &target,
                ],
                &sources,
            )
            .await?;
            git(
                &["checkout", "--quiet", "--detach", &source.commit],
                &partial,
            )
            .await
        }
        .await;
        if let Err(err) = outcome {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(format!(
                "cannot fetch the formula from {}: {err}",
                source.repo
            ));
        }
        if std::fs::rename(&partial, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    let formula = dir.join(relative);
    if !formula.is_file() {
        return Err(format!(
            "{} has no formula {} at commit {}",
            source.repo, source.path, source.commit
        ));
    }
    Ok(formula)
}

/// The job to run for a lease, or why there is none.
fn prepare(
    options: &WorkerOptions,
    lease: &Lease,
    fetched: Option<PathBuf>,
) -> Result<Job, String> {
    let uuid = uuid::Uuid::parse_str(&lease.uuid)
        .map_err(|err| format!("the job's uuid `{}` is not a uuid: {err}", lease.uuid))?
        .to_string();
    let key = &lease.key;
    let item_type: ItemType = key
        .item_type
        .parse()
        .map_err(|err| format!("the job's item type `{}`: {err}", key.item_type))?;
    let formula_path = match fetched {
        Some(path) => path,
        None => find_formula(&options.tasks_dir, &key.check)?,
    };
    let src = std::fs::read_to_string(&formula_path)
        .map_err(|err| format!("cannot read the formula {}: {err}", formula_path.display()))?;
    let formula = parse_formula(
        &src,
        &formula_path.display().to_string(),
        &ValidateOptions {
            item_type: Some(item_type),
        },
    )
    .map_err(|diags| {
        format!(
            "the formula {} is invalid:\n{diags}",
            formula_path.display()
        )
    })?;
    Ok(Job {
        formula,
        formula_path,
        item: key.item.clone(),
        item_type,
        arch: key.arch.clone(),
        jobid: Some(uuid.clone()),
        artifacts_dir: options
            .data_dir
            .join("artifacts")
            .join(&uuid)
            .join(format!("attempt-{}", lease.attempt)),
        work_dir: options
            .data_dir
            .join("work")
            .join(format!("{uuid}-{}", lease.attempt)),
        uuid,
        timeout: None,
    })
}

/// The most bytes of an outcome the server accepts.
const OUTCOME_MAX: usize = 1000;

fn truncate(mut text: String) -> String {
    if text.len() > OUTCOME_MAX {
        let mut end = OUTCOME_MAX - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// The result to post for a finished run, or `None` for an interrupted one
/// (the worker is stopping: its lease runs out and the job is requeued).
pub fn result_of(report: &TaskReport, token: i64) -> Option<JobResult> {
    let worst = report.results.results.iter().map(|it| it.outcome).max();
    let (state, outcome, class) = match report.status {
        TaskStatus::Passed => (
            "finished",
            worst.unwrap_or(Outcome::Passed).to_string(),
            "verdict",
        ),
        TaskStatus::Failed => (
            "finished",
            worst
                .map_or(Outcome::Failed, |it| it.max(Outcome::Failed))
                .to_string(),
            "verdict",
        ),
        TaskStatus::Crashed => (
            "crashed",
            with_error("CRASHED", report),
            crash_class(report),
        ),
        TaskStatus::TimedOut => ("timed-out", with_error("ABORTED", report), "task"),
        TaskStatus::Interrupted => return None,
    };
    Some(JobResult {
        token,
        state,
        exit_status: Some(report.exit_code),
        outcome: Some(truncate(outcome)),
        result_group: Some(report.uuid.clone()),
        class,
        results: Vec::new(),
    })
}

/// Directives whose failure is the infrastructure's, not the task's: they
/// fetch from Koji, Bodhi, dist-git and the repositories, or report to
/// ResultsDB.
const INFRA_DIRECTIVES: [&str; 5] = ["koji", "bodhi", "distgit", "yumrepoinfo", "resultsdb"];

/// Whether a crash is the task's own (`task`) or the infrastructure's
/// (`infra`): the failed action's directive says, or a log that could not
/// be written.
fn crash_class(report: &TaskReport) -> &'static str {
    let failed = report
        .actions
        .iter()
        .find(|it| matches!(it.status, taskotron_runner::ActionStatus::Failed { .. }));
    match failed {
        Some(action) if INFRA_DIRECTIVES.contains(&action.directive) => "infra",
        Some(taskotron_runner::ActionReport {
            status: taskotron_runner::ActionStatus::Failed { error },
            ..
        }) if error.starts_with("cannot write the action's log") => "infra",
        _ => "task",
    }
}

fn with_error(word: &str, report: &TaskReport) -> String {
    match &report.error {
        Some(error) => format!("{word}: {error}"),
        None => word.to_owned(),
    }
}

/// An attempt that ended before the task ran: `class` is `infra` when
/// something around the task failed (the formula could not be fetched,
/// the sandbox could not start) and `task` when the job itself cannot run
/// (no formula for its check, an invalid formula, an unknown item type).
fn crashed(token: i64, message: &str, class: &'static str) -> JobResult {
    JobResult {
        token,
        state: "crashed",
        exit_status: Some(taskotron_runner::exit_code::ENVIRONMENT),
        outcome: Some(truncate(format!("CRASHED: {message}"))),
        result_group: None,
        class,
        results: Vec::new(),
    }
}

async fn run_leased(
    client: &Client,
    options: &WorkerOptions,
    lease: Lease,
    shutdown: &CancellationToken,
) {
    tracing::info!(check = %lease.key.check, item = %lease.key.item, arch = %lease.key.arch, "leased a job");
    let fetched = match &lease.source {
        Some(source) => match fetch_source(&options.data_dir, source).await {
            Ok(path) => Some(path),
            Err(message) => {
                tracing::warn!(%message, "the job's formula cannot be fetched");
                post(client, &lease, &crashed(lease.token, &message, "infra")).await;
                return;
            }
        },
        None => None,
    };
    let job = match prepare(options, &lease, fetched) {
        Ok(job) => job,
        Err(message) => {
            tracing::warn!(%message, "the job cannot run here");
            post(client, &lease, &crashed(lease.token, &message, "task")).await;
            return;
        }
    };
    let cancel = shutdown.child_token();
    let lost = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat_loop(
        client.clone(),
        lease.clone(),
        cancel.clone(),
        Arc::clone(&lost),
    ));
    // The runner appends to the task log as it goes: tail it to the server.
    let log_done = CancellationToken::new();
    let log = tokio::spawn(
        stream_log(
            client.clone(),
            lease.clone(),
            taskotron_runner::Layout::new(&job.artifacts_dir).task_log(),
            log_done.clone(),
        )
        .in_current_span(),
    );
    let report =
        taskotron_runner::run(&job, &options.run_config, cancel.clone(), &NoObserver).await;
    log_done.cancel();
    let _ = log.await;
    let result = if lost.load(Ordering::SeqCst) {
        None
    } else {
        match report {
            Ok(report) => {
                let mut result = result_of(&report, lease.token);
                // Without a ResultsDB of its own, the worker hands the
                // results to its server, which stores them with the job.
                if let Some(result) = &mut result
                    && options.run_config.resultsdb.is_none()
                {
                    result.results = taskotron_runner::result_payloads(&job, &report);
                }
                if result.is_none() {
                    tracing::info!(
                        "the task was interrupted; its lease will run out and the job be requeued"
                    );
                }
                result
            }
            Err(err) => {
                tracing::warn!(error = %err, "the task cannot start");
                Some(crashed(
                    lease.token,
                    &format!("the task cannot start: {err}"),
                    "infra",
                ))
            }
        }
    };
    // The heartbeats go on while the artifacts upload.
    if result.is_some() && job.artifacts_dir.is_dir() {
        upload_artifacts(client, &lease, &job.artifacts_dir).await;
    }
    beat.abort();
    if lost.load(Ordering::SeqCst) {
        tracing::warn!("the lease was lost; the task was killed and its result dropped");
        return;
    }
    if let Some(result) = result {
        post(client, &lease, &result).await;
    }
}

/// The most bytes of log one request carries.
const LOG_CHUNK: usize = 256 * 1024;
/// How often the task log is looked at while the task runs.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// What one look at the task log came to.
enum Tail {
    /// The server has everything written so far.
    CaughtUp,
    /// The server could not be reached: try again later.
    Retry,
    /// The server refused the log for good (too large, lease lost, no
    /// log storage); stop sending it.
    Stop,
}

/// Send what the task log has beyond `sent`, in chunks.
async fn send_log(client: &Client, lease: &Lease, path: &Path, sent: &mut u64) -> Tail {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let mut file = match tokio::fs::File::open(path).await {
        Ok(it) => it,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Tail::CaughtUp,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the task log; it is not streamed");
            return Tail::Stop;
        }
    };
    loop {
        let mut chunk = Vec::with_capacity(LOG_CHUNK);
        let read = async {
            file.seek(std::io::SeekFrom::Start(*sent)).await?;
            (&mut file)
                .take(LOG_CHUNK as u64)
                .read_to_end(&mut chunk)
                .await
        }
        .await;
        match read {
            Ok(0) => return Tail::CaughtUp,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the task log; it is not streamed");
                return Tail::Stop;
            }
        }
        match client
            .log_chunk(&lease.uuid, lease.token, *sent, chunk)
            .await
        {
            Ok(size) => *sent = size,
            Err(err) if err.is_retryable() => {
                tracing::debug!(error = %err, "cannot send the log; trying again");
                return Tail::Retry;
            }
            Err(err) => {
                tracing::warn!(error = %err, "the server refused the log; it is no longer streamed");
                return Tail::Stop;
            }
        }
    }
}

/// Stream the task log at `path` to the server until `done`, then send
/// the rest.
async fn stream_log(client: Client, lease: Lease, path: PathBuf, done: CancellationToken) {
    let mut sent = 0_u64;
    while !done.is_cancelled() {
        if let Tail::Stop = send_log(&client, &lease, &path, &mut sent).await {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(LOG_EVERY) => {}
            () = done.cancelled() => {}
        }
    }
    let mut backoff = Backoff::default();
    for _ in 0..5 {
        match send_log(&client, &lease, &path, &mut sent).await {
            Tail::CaughtUp | Tail::Stop => return,
            Tail::Retry => tokio::time::sleep(backoff.next()).await,
        }
    }
    tracing::warn!("the end of the task log could not be sent");
}

/// Every regular file under `dir` (symbolic links are not followed), as
/// `/`-separated names relative to `dir`, sorted.
fn artifact_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((at, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&at)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                tracing::warn!(file = %entry.path().display(), "an artifact whose name is not UTF-8 is not uploaded");
                continue;
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push((entry.path(), rel));
            } else if kind.is_file() {
                out.push((rel, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Upload every file of the artifacts directory; a file the server
/// refuses is skipped, and the upload stops at the server's size limit or
/// when the lease is lost.
async fn upload_artifacts(client: &Client, lease: &Lease, dir: &Path) {
    let files = {
        let dir = dir.to_owned();
        match tokio::task::spawn_blocking(move || artifact_files(&dir)).await {
            Ok(Ok(it)) => it,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "cannot list the artifacts; none is uploaded");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot list the artifacts; none is uploaded");
                return;
            }
        }
    };
    let mut uploaded = 0_usize;
    'files: for (name, path) in &files {
        let mut backoff = Backoff::default();
        for _ in 0..4 {
            // Read for each try: one file at a time is in memory, once.
            let bytes = match tokio::fs::read(path).await {
                Ok(it) => it,
                Err(err) => {
                    tracing::warn!(error = %err, artifact = %name, "cannot read an artifact; it is not uploaded");
                    continue 'files;
                }
            };
            match client
                .put_artifact(&lease.uuid, lease.token, name, bytes)
                .await
            {
                Ok(()) => {
                    uploaded += 1;
                    continue 'files;
                }
                Err(err) if err.is_retryable() => {
                    let wait = backoff.next();
                    tracing::warn!(error = %err, artifact = %name, retry_in = ?wait, "cannot upload an artifact; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(err @ (ApiError::LeaseLost { .. } | ApiError::Status { status: 413, .. })) => {
                    tracing::warn!(error = %err, "the artifacts upload stopped");
                    break 'files;
                }
                Err(err) => {
                    tracing::warn!(error = %err, artifact = %name, "the server refused an artifact");
                    continue 'files;
                }
            }
        }
        tracing::warn!(artifact = %name, "an artifact could not be uploaded");
    }
    tracing::info!(uploaded, files = files.len(), "artifacts uploaded");
}

/// Post a result, retrying while the server is unreachable, until the lease
/// would have run out anyway.
async fn post(client: &Client, lease: &Lease, result: &JobResult) {
    let deadline = tokio::time::Instant::now() + secs(lease.lease_seconds, Duration::from_secs(60));
    let mut backoff = Backoff::default();
    loop {
        match client.result(&lease.uuid, result).await {
            Ok(()) => {
                tracing::info!(state = result.state, outcome = ?result.outcome, "result recorded");
                return;
            }
            Err(err) if err.is_retryable() && tokio::time::Instant::now() < deadline => {
                let wait = backoff.next();
                tracing::warn!(error = %err, retry_in = ?wait, "cannot post the result; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "the result was not recorded");
                return;
            }
        }
    }
}

async fn heartbeat_loop(
    client: Client,
    lease: Lease,
    cancel: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    let every = secs(lease.heartbeat_seconds, Duration::from_secs(20));
    loop {
        if !sleep_or_stop(every, &cancel).await {
            return;
        }
        match client.heartbeat(&lease.uuid, lease.token).await {
            Ok(()) => tracing::debug!("heartbeat"),
            Err(ApiError::LeaseLost { message, .. }) => {
                tracing::warn!(%message, "lost the lease; killing the task");
                lost.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            // The next heartbeat may get through before the lease runs out.
            Err(err) => tracing::warn!(error = %err, "heartbeat failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crashed_in(directive: &'static str, error: &str) -> TaskReport {
        TaskReport {
            uuid: "u".into(),
            checkname: "dist.t".into(),
            item: "foo-1-1.fc44".into(),
            item_type: ItemType::KojiBuild,
            arch: "x86_64".into(),
            status: TaskStatus::Crashed,
            exit_code: taskotron_runner::exit_code::CRASHED,
            error: Some(format!("action 1 `a` failed: {error}")),
            sandbox: taskotron_runner::SandboxMode::Local,
            actions: vec![taskotron_runner::ActionReport {
                index: 1,
                name: "a".into(),
                directive,
                status: taskotron_runner::ActionStatus::Failed {
                    error: error.into(),
                },
                duration_ms: 1,
                log: None,
            }],
            results: taskotron_task_format::ResultYaml::default(),
            artifacts_dir: PathBuf::from("/nowhere"),
            started_at: "2026-11-27T00:00:00Z".into(),
            duration_ms: 1,
        }
    }

    #[test]
    fn crashes_are_the_tasks_unless_a_service_or_the_machine_failed() {
        let class = |report: &TaskReport| result_of(report, 1).map(|it| it.class);
        assert_eq!(
            class(&crashed_in("koji", "the hub did not answer")),
            Some("infra")
        );
        assert_eq!(class(&crashed_in("resultsdb", "503")), Some("infra"));
        assert_eq!(
            class(&crashed_in(
                "shell",
                "cannot write the action's log: disk full"
            )),
            Some("infra")
        );
        assert_eq!(class(&crashed_in("shell", "exit status 2")), Some("task"));
        assert_eq!(class(&crashed_in("python", "Traceback")), Some("task"));
        let mut timed_out = crashed_in("shell", "slow");
        timed_out.status = TaskStatus::TimedOut;
        assert_eq!(class(&timed_out), Some("task"));
        let mut passed = crashed_in("shell", "");
        passed.status = TaskStatus::Passed;
        passed.actions.clear();
        assert_eq!(class(&passed), Some("verdict"));
        assert_eq!(
            crashed(1, "the formula cannot be fetched", "infra").class,
            "infra"
        );
    }

    #[test]
    fn formulas_are_found_with_or_without_the_namespace() {
        let Ok(dir) = tempfile_dir() else { return };
        let with = dir.join("dist.rpmlint");
        let without = dir.join("depcheck");
        assert!(std::fs::create_dir_all(&with).is_ok());
        assert!(std::fs::create_dir_all(&without).is_ok());
        assert!(std::fs::write(with.join("runtask.yml"), "x").is_ok());
        assert!(std::fs::write(without.join("runtask.yml"), "x").is_ok());
        assert_eq!(
            find_formula(&dir, "dist.rpmlint"),
            Ok(with.join("runtask.yml"))
        );
        assert_eq!(
            find_formula(&dir, "dist.depcheck"),
            Ok(without.join("runtask.yml"))
        );
        let missing = find_formula(&dir, "dist.nothing");
        assert!(missing.is_err_and(|it| it.contains("no task formula for check `dist.nothing`")));
        for bad in ["../etc", "a/b", ".hidden", ""] {
            assert!(find_formula(&dir, bad).is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> std::io::Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("taskotron-worker-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let mut backoff = Backoff::default();
        let first = backoff.next();
        assert!(first >= BACKOFF_START / 2 && first <= BACKOFF_START);
        for _ in 0..40 {
            assert!(backoff.next() <= BACKOFF_MAX);
        }
        assert!(backoff.next() >= BACKOFF_MAX / 2);
        backoff.reset();
        assert!(backoff.next() <= BACKOFF_START);
    }

    #[test]
    fn artifacts_are_regular_files_by_relative_name_and_links_are_not_followed() {
        let Ok(dir) = tempfile_dir() else { return };
        let secret = dir.join("outside.txt");
        assert!(std::fs::create_dir_all(dir.join("art/taskotron/actions")).is_ok());
        assert!(std::fs::write(&secret, "secret").is_ok());
        assert!(std::fs::write(dir.join("art/report.txt"), "r").is_ok());
        assert!(std::fs::write(dir.join("art/taskotron/actions/01-a.log"), "a").is_ok());
        assert!(std::os::unix::fs::symlink(&secret, dir.join("art/link.txt")).is_ok());
        assert!(std::os::unix::fs::symlink(&dir, dir.join("art/loop")).is_ok());
        let names: Vec<String> = artifact_files(&dir.join("art"))
            .map(|files| files.into_iter().map(|(name, _)| name).collect())
            .unwrap_or_default();
        assert_eq!(names, ["report.txt", "taskotron/actions/01-a.log"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn long_outcomes_are_cut_on_a_char_boundary() {
        let cut = truncate("é".repeat(600));
        assert!(cut.len() <= OUTCOME_MAX && cut.ends_with("..."));
    }
}
