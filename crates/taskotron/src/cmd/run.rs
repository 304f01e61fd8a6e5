//! `taskotron run`: the runtask replacement.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use taskotron_bodhi::repos::{RepoTemplates, TagOverride};
use taskotron_config::{Config, SandboxKind};
use taskotron_runner::{Job, ResultsdbTarget, RunConfig, SandboxMode, Sources, exit_code};
use taskotron_task_format::{ValidateOptions, parse_formula};
use taskotron_types::ItemType;
use tokio_util::sync::CancellationToken;

use crate::display::{Display, stderr, stdout};

const EXIT_CODES: &str = "\
Exit codes:
    0    the task passed (or has no exitcode action)
  100    an exitcode action says the task failed
    1    the task could not start (sandbox, program or directory missing)
    2    bad arguments or an invalid formula (every problem is listed)
    3    the task crashed: a directive failed (results already recorded are kept)
    4    an action or the task ran out of time and was killed
  130    interrupted (Ctrl-C or SIGTERM); the processes were killed, logs kept

Artifacts (default: <data-dir>/artifacts/<uuid>):
  taskotron/results.yml, taskotron/taskotron.log, taskotron/actions/NN-name.log,
  taskotron/task_vars.json, taskotron/summary.json, and what the task writes.";

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES)]
pub(crate) struct Args {
    /// The task formula (runtask.yml).
    formula: PathBuf,
    /// The item to check, e.g. an NVR for koji_build.
    #[arg(short = 'i', long)]
    item: String,
    /// The item's type: koji_build, koji_tag, bodhi_update, compose, dist_git_commit,
    /// docker_image, git_commit, module_build or pull_request.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    item_type: ItemType,
    /// The architecture.
    #[arg(short = 'a', long, default_value = "noarch")]
    arch: String,
    /// The job's uuid (default: a new random one).
    #[arg(long)]
    uuid: Option<String>,
    /// An external job id, available to the task as ${jobid}.
    #[arg(short = 'j', long)]
    jobid: Option<String>,
    /// The job's artifacts directory; must be absent or empty.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Run the actions directly on this machine, without the bubblewrap sandbox.
    #[arg(long)]
    local: bool,
    /// Time limit for the whole task, e.g. 20m (overrides the formula and config).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    json: bool,
    /// Show the actions' output as it comes.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Keep the work directory after the run.
    #[arg(long)]
    keep_workdir: bool,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let prepared = match prepare(config_path, &args) {
        Ok(it) => it,
        Err(Prep::Usage(err)) => {
            crate::report_error(&err);
            return exit_code::USAGE;
        }
        Err(Prep::Invalid(text)) => {
            stderr(&format!("{text}\n"));
            return exit_code::USAGE;
        }
        Err(Prep::Environment(err)) => {
            crate::report_error(&err);
            return exit_code::ENVIRONMENT;
        }
    };
    let (job, run_config) = prepared;
    if run_config.sandbox == SandboxMode::Local {
        stderr(
            "note: running without a sandbox: actions can read and write whatever your user can, and reach the network\n",
        );
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(it) => it,
        Err(err) => {
            crate::report_error(&anyhow::Error::new(err).context("cannot start the async runtime"));
            return exit_code::ENVIRONMENT;
        }
    };
    let display = Display::new(args.verbose);
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let signals = tokio::spawn(async move {
            crate::cmd::serve::shutdown_signal().await;
            trigger.cancel();
        });
        let report = taskotron_runner::run(&job, &run_config, cancel, &display).await;
        signals.abort();
        report
    });
    match result {
        Ok(report) => {
            display.finish(&report);
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => stdout(&format!("{text}\n")),
                    Err(err) => crate::report_error(
                        &anyhow::Error::new(err).context("cannot print the summary"),
                    ),
                }
            }
            report.exit_code
        }
        Err(err) => {
            crate::report_error(&anyhow::Error::new(err).context("the task cannot start"));
            exit_code::ENVIRONMENT
        }
    }
}

enum Prep {
    Usage(anyhow::Error),
    Invalid(String),
    Environment(anyhow::Error),
}

fn prepare(config_path: Option<&Path>, args: &Args) -> Result<(Job, RunConfig), Prep> {
    let (config, _) = Config::resolve(config_path).map_err(|err| Prep::Usage(err.into()))?;
    let formula_path = std::fs::canonicalize(&args.formula)
        .with_context(|| format!("cannot find the formula {}", args.formula.display()))
        .map_err(Prep::Usage)?;
    let src = std::fs::read_to_string(&formula_path)
        .with_context(|| format!("cannot read the formula {}", args.formula.display()))
        .map_err(Prep::Usage)?;
    let formula = parse_formula(
        &src,
        &args.formula.display().to_string(),
        &ValidateOptions {
            item_type: Some(args.item_type),
        },
    )
    .map_err(|diags| Prep::Invalid(diags.to_string()))?;

    let uuid = match &args.uuid {
        Some(uuid) => {
            let safe = !uuid.is_empty()
                && uuid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !uuid.starts_with('.');
            if !safe {
                return Err(Prep::Usage(anyhow::anyhow!(
                    "--uuid `{uuid}` must be letters, digits, `-`, `_` and `.` (it names the artifacts directory)"
                )));
            }
            uuid.clone()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let data_dir = absolute(&config.server.data_dir);
    let artifacts_dir = match &args.artifacts {
        Some(dir) => absolute(dir),
        None => data_dir.join("artifacts").join(&uuid),
    };
    if std::fs::read_dir(&artifacts_dir).is_ok_and(|mut it| it.next().is_some()) {
        return Err(Prep::Usage(anyhow::anyhow!(
            "the artifacts directory {} is not empty; give another --artifacts or --uuid so no earlier job's files are overwritten",
            artifacts_dir.display()
        )));
    }
    let work_dir = data_dir.join("work").join(&uuid);

    let resultsdb = match config.resultsdb.url.clone() {
        None => None,
        Some(url) => Some(ResultsdbTarget {
            url,
            token: config
                .resultsdb
                .token()
                .map_err(|err| Prep::Environment(err.into()))?,
            artifacts_base_url: config.resultsdb.artifacts_base_url.clone(),
        }),
    };
    let sandbox = if args.local || config.runner.sandbox == SandboxKind::None {
        SandboxMode::Local
    } else {
        SandboxMode::Bwrap
    };
    let run_config = RunConfig {
        sandbox,
        bwrap: config.runner.bwrap.display().to_string(),
        python: config.runner.python.display().to_string(),
        task_timeout: config.runner.task_timeout,
        action_timeout: config.runner.action_timeout,
        keep_workdir: args.keep_workdir || config.runner.keep_workdir,
        resultsdb,
        taskotron_exe: std::env::current_exe().ok(),
        secret_env: vec![taskotron_config::RESULTSDB_TOKEN_ENV.to_owned()],
        secret_files: config
            .resultsdb
            .token_file
            .iter()
            .map(|it| absolute(it))
            .collect(),
        sources: sources(&config, &data_dir),
    };
    let job = Job {
        formula,
        formula_path,
        item: args.item.clone(),
        item_type: args.item_type,
        arch: args.arch.clone(),
        uuid,
        jobid: args.jobid.clone(),
        artifacts_dir,
        work_dir,
        timeout: args.timeout,
    };
    Ok((job, run_config))
}

/// The services the Fedora directives read, from the config.
pub(crate) fn sources(config: &Config, data_dir: &Path) -> Sources {
    let repos = &config.repos;
    Sources {
        koji_hub: config.koji.hub_url.clone(),
        kojipkgs: config.koji.pkgs_url.clone(),
        bodhi: config.bodhi.url.clone(),
        distgit: config.distgit.url.clone(),
        cache_dir: absolute(&config.koji.effective_cache_dir(data_dir)),
        downloads: config.koji.downloads,
        repo_templates: RepoTemplates {
            release: repos.release.clone(),
            development: repos.development.clone(),
            updates: repos.updates.clone(),
            updates_testing: repos.updates_testing.clone(),
        },
        repo_overrides: repos
            .tags
            .iter()
            .map(|(tag, entry)| {
                (
                    tag.clone(),
                    TagOverride {
                        url: entry.url.clone(),
                        parent: entry.parent.clone(),
                    },
                )
            })
            .collect(),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
