//! `taskotron reproduce JOB`: the local `taskotron run` command that runs a
//! job's check as its worker ran it (the same formula revision, item, item
//! type and arch), printed, or run here with `--run`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Parser as _;
use serde_json::Value;
use taskotron_config::Config;

use crate::cmd::client::{Client, ServerArgs};
use crate::display::{stderr, stdout};

/// Arguments of `reproduce`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The job's uuid.
    #[arg(value_name = "JOB")]
    job: String,
    /// Where the formulas of checks that do not come from git are
    /// (default: `scheduler.tasks-dir`, else `./tasks`).
    #[arg(long, value_name = "DIR")]
    tasks: Option<PathBuf>,
    /// Run the command here (a discovered formula is fetched first) instead
    /// of only printing it.
    #[arg(long)]
    run: bool,
    /// Run without the bubblewrap sandbox (`taskotron run --local`).
    #[arg(long)]
    local: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Quote `word` for a POSIX shell when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What the job ran: its key's fields.
struct Key {
    check: String,
    revision: String,
    item_type: String,
    item: String,
    arch: String,
}

fn text(job: &Value, field: &str) -> anyhow::Result<String> {
    job["key"][field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the server's job has no key.{field}"))
}

/// The `taskotron run` arguments (after `run`) for `formula`.
fn run_args(formula: &Path, key: &Key, local: bool) -> Vec<String> {
    let mut out = vec![
        formula.display().to_string(),
        "--item".to_owned(),
        key.item.clone(),
        "--type".to_owned(),
        key.item_type.clone(),
        "--arch".to_owned(),
        key.arch.clone(),
    ];
    if local {
        out.push("--local".to_owned());
    }
    out
}

/// The whole command line, quoted.
fn command_line(config_path: Option<&Path>, args: &[String]) -> String {
    let mut words = vec!["taskotron".to_owned()];
    if let Some(path) = config_path {
        words.push("--config".to_owned());
        words.push(path.display().to_string());
    }
    words.push("run".to_owned());
    words.extend(args.iter().cloned());
    words
        .iter()
        .map(|it| quote(it))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, clap::Parser)]
#[command(name = "taskotron run")]
struct RunOnly {
    #[command(flatten)]
    args: crate::cmd::run::Args,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    match prepare(config_path, &args) {
        Ok(Some(run)) => {
            let parsed = match RunOnly::try_parse_from(
                std::iter::once("taskotron run".to_owned()).chain(run),
            ) {
                Ok(it) => it,
                Err(err) => {
                    crate::report_error(&anyhow::anyhow!(
                        "the job cannot be run with `taskotron run`: {err}"
                    ));
                    return 1;
                }
            };
            crate::cmd::run::main(config_path, parsed.args)
        }
        Ok(None) => 0,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

/// Print the command; with `--run`, answer its arguments.
fn prepare(config_path: Option<&Path>, args: &Args) -> anyhow::Result<Option<Vec<String>>> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (config, _) = Config::resolve(config_path)?;
        let client = Client::new(config_path, &args.server)?;
        let job = client
            .get(&format!("/api/v1/jobs/{}", args.job))
            .await
            .with_context(|| format!("cannot read job {}", args.job))?;
        let key = Key {
            check: text(&job, "check")?,
            revision: text(&job, "check_revision")?,
            item_type: text(&job, "item_type")?,
            item: text(&job, "item")?,
            arch: text(&job, "arch")?,
        };
        let source: Option<taskotron_worker::FormulaSource> = match &job["source"] {
            Value::Null => None,
            it => Some(
                serde_json::from_value(it.clone())
                    .context("the job's formula source is not {repo, commit, path}")?,
            ),
        };
        if let Some(source) = source {
            let dir = format!(
                "taskotron-reproduce-{}",
                args.job.chars().take(8).collect::<String>()
            );
            let formula = Path::new(&dir).join(&source.path);
            stdout(&format!(
                "# {} revision {} on {} {} ({}), from {} at {}\n\
                 git clone --quiet {} {dir}\n\
                 git -C {dir} checkout --quiet {}\n\
                 {}\n",
                key.check,
                key.revision,
                key.item_type,
                key.item,
                key.arch,
                source.repo,
                source.commit,
                quote(&source.repo),
                quote(&source.commit),
                command_line(config_path, &run_args(&formula, &key, args.local))
            ));
            if !args.run {
                return Ok(None);
            }
            let fetched = taskotron_worker::fetch_source(&config.server.data_dir, &source)
                .await
                .map_err(|it| anyhow::anyhow!("cannot fetch the formula: {it}"))?;
            return Ok(Some(run_args(&fetched, &key, args.local)));
        }
        let tasks = args
            .tasks
            .clone()
            .or_else(|| config.scheduler.tasks_dir.clone())
            .unwrap_or_else(|| PathBuf::from("tasks"));
        let formula = taskotron_worker::find_formula(&tasks, &key.check)
            .map_err(|it| anyhow::anyhow!("{it}"))?;
        // The revision the planner gave the job is the formula's digest:
        // a different digest means the formula changed since.
        let now = taskotron_scheduler::planner::Revisions {
            tasks_dir: Some(tasks.clone()),
        }
        .of(&key.check)
        .map_err(|it| anyhow::anyhow!("{it}"))?;
        let same = key.revision == now;
        stdout(&format!(
            "# {} revision {} on {} {} ({})\n{}\n",
            key.check,
            key.revision,
            key.item_type,
            key.item,
            key.arch,
            command_line(config_path, &run_args(&formula, &key, args.local))
        ));
        if !same {
            let warning = if key.revision == "1" {
                format!(
                    "the job was planned without a tasks directory, so which revision of {} \
                     it ran is unknown; {} is at revision {now}",
                    key.check,
                    formula.display()
                )
            } else {
                format!(
                    "{} is at revision {now}, but the job ran revision {}: the formula changed \
                     since, and the command above does not run what the job ran",
                    formula.display(),
                    key.revision
                )
            };
            stderr(&format!("warning: {warning}\n"));
            if args.run && key.revision != "1" {
                bail!("not running a different formula revision than the job's");
            }
        }
        Ok(args.run.then(|| run_args(&formula, &key, args.local)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("foo-1.0-1.fc44"), "foo-1.0-1.fc44");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
