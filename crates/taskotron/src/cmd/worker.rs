//! `taskotron worker`: lease jobs from a server and run them on this machine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use taskotron_config::{Config, SandboxKind};
use taskotron_runner::{ResultsdbTarget, RunConfig, SandboxMode};
use taskotron_worker::{Capabilities, Client, WorkerOptions};
use tokio_util::sync::CancellationToken;

/// The environment variable holding the worker's token.
const TOKEN_ENV: &str = "TASKOTRON_WORKER_TOKEN";

const AFTER_HELP: &str = "\
The worker's token is read from TASKOTRON_WORKER_TOKEN or --token-file, never
from the command line; the server's api.worker-tokens-file holds it as a
NAME:TOKEN line.

Tasks directory: one directory per check, named with or without the namespace:
  DIR/dist.rpmlint/runtask.yml  or  DIR/rpmlint/runtask.yml

SIGTERM or Ctrl-C stops leasing, kills the running jobs and exits 0; the server
requeues their jobs once their leases run out.";

/// Arguments of `worker`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct Args {
    /// The server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The worker's name (default: the token's name).
    #[arg(long)]
    name: Option<String>,
    /// How many jobs to run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    slots: u16,
    /// The tasks directory: DIR/<check>/runtask.yml.
    #[arg(long, value_name = "DIR", default_value = "tasks")]
    tasks: PathBuf,
    /// Where the jobs' artifacts and work directories go.
    #[arg(long, value_name = "DIR", default_value = "worker-data")]
    data_dir: PathBuf,
    /// Run the tasks directly on this machine, without the bubblewrap sandbox.
    #[arg(long)]
    local: bool,
    /// An architecture to run jobs for (repeatable; default: this machine's and noarch).
    #[arg(long = "arch", value_name = "ARCH")]
    arches: Vec<String>,
    /// A label jobs may require (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
    /// A file holding the worker's token (else TASKOTRON_WORKER_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    match run(config_path, args) {
        Ok(()) => 0,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

fn read_token(args: &Args) -> anyhow::Result<String> {
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?,
        None => std::env::var(TOKEN_ENV)
            .with_context(|| format!("no worker token: set {TOKEN_ENV} or give --token-file"))?,
    };
    let token = token.trim().to_owned();
    anyhow::ensure!(!token.is_empty(), "the worker token is empty");
    Ok(token)
}

fn run(config_path: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let (config, _) = Config::resolve(config_path)?;
    let token = read_token(&args)?;
    let data_dir = absolute(&args.data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let sandbox = if args.local || config.runner.sandbox == SandboxKind::None {
        SandboxMode::Local
    } else {
        SandboxMode::Bwrap
    };
    // The worker's own token never reaches a task.
    let run_config = run_config(
        &config,
        sandbox,
        &data_dir,
        &[TOKEN_ENV],
        args.token_file.as_slice(),
    )?;
    let arches = if args.arches.is_empty() {
        vec![std::env::consts::ARCH.to_owned(), "noarch".to_owned()]
    } else {
        args.arches.clone()
    };
    let options = WorkerOptions {
        name: args.name.clone(),
        capabilities: Capabilities {
            arches,
            sandboxes: match sandbox {
                SandboxMode::Bwrap => vec!["bwrap".to_owned()],
                SandboxMode::Local => Vec::new(),
            },
            labels: args.labels.clone(),
            slots: args.slots,
        },
        tasks_dir: absolute(&args.tasks),
        data_dir,
        run_config,
    };
    let client = Client::new(&args.server, &token)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        let signals = tokio::spawn(async move {
            crate::cmd::serve::shutdown_signal().await;
            tracing::info!("stopping: no new leases, running jobs are killed");
            trigger.cancel();
        });
        let result = taskotron_worker::run_worker(client, options, shutdown).await;
        signals.abort();
        result
    })?;
    Ok(())
}

/// How a worker runs its jobs: the `[runner]` settings and the sources of
/// `config`, with the ResultsDB token and `secret_env` removed from every
/// task's environment and `secret_files` hidden from it.
pub(crate) fn run_config(
    config: &Config,
    sandbox: SandboxMode,
    data_dir: &Path,
    secret_env: &[&str],
    secret_files: &[PathBuf],
) -> anyhow::Result<RunConfig> {
    let resultsdb = match config.resultsdb.url.clone() {
        None => None,
        Some(url) => Some(ResultsdbTarget {
            url,
            token: config.resultsdb.token()?,
            artifacts_base_url: config.resultsdb.artifacts_base_url.clone(),
        }),
    };
    Ok(RunConfig {
        sandbox,
        bwrap: config.runner.bwrap.display().to_string(),
        python: config.runner.python.display().to_string(),
        task_timeout: config.runner.task_timeout,
        action_timeout: config.runner.action_timeout,
        keep_workdir: config.runner.keep_workdir,
        resultsdb,
        taskotron_exe: std::env::current_exe().ok(),
        secret_env: std::iter::once(taskotron_config::RESULTSDB_TOKEN_ENV)
            .chain(secret_env.iter().copied())
            .map(str::to_owned)
            .collect(),
        secret_files: config
            .resultsdb
            .token_file
            .iter()
            .chain(secret_files)
            .map(|it| absolute(it))
            .collect(),
        sources: crate::cmd::run::sources(config, data_dir),
    })
}

pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
