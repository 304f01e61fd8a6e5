//! `taskotron rules`: check trigger rules and see what an event would plan.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use taskotron_scheduler::planner::Revisions;
use taskotron_triggers::{Fact, PlanContext};

use crate::display::stdout;

/// `rules` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check a rules file; print every problem with its line and column.
    Check {
        /// The rules file (taskotron-trigger's YAML).
        rules: PathBuf,
    },
    /// Print the jobs an event would make under a rules file.
    #[command(after_help = "\
EVENT is a JSON file: either an event's fact (message_type, item_type, item, \
item_revision and other fields) or a fedora-messaging message as \
`fedora-messaging consume` dumps it (topic, headers, id, body).

Exit codes: 0 the event plans at least one job, 1 it plans none, 2 the rules \
or the event are invalid.")]
    Test {
        /// The rules file.
        rules: PathBuf,
        /// The event.
        event: PathBuf,
        /// Architectures for rules without `arches` (repeat; default
        /// [scheduler] arches).
        #[arg(long = "arch", value_name = "ARCH")]
        arches: Vec<String>,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn main(config_path: Option<&Path>, command: Command) -> i32 {
    match command {
        Command::Check { rules } => match taskotron_scheduler::load_rules(&rules) {
            Ok(set) => {
                stdout(&format!(
                    "{}: {} rules, all valid\n",
                    rules.display(),
                    set.rules.len()
                ));
                0
            }
            Err(err) => {
                crate::report_error(&anyhow::Error::new(err));
                2
            }
        },
        Command::Test {
            rules,
            event,
            arches,
            json,
        } => match test(config_path, &rules, &event, arches, json) {
            Ok(code) => code,
            Err(err) => {
                crate::report_error(&err);
                2
            }
        },
    }
}

/// Read an event file: a fact, or a message dump decoded as intake would.
fn read_event(path: &Path) -> anyhow::Result<Fact> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if value.get("message_type").is_some() {
        return Fact::from_json(value).with_context(|| format!("{}", path.display()));
    }
    let wire = taskotron_bus::WireMessage::from_dump(text.trim())
        .with_context(|| format!("{}: neither a fact nor a message dump", path.display()))?;
    let decoded = taskotron_bus::decode(&wire)
        .with_context(|| format!("{}: the message does not decode", path.display()))?;
    taskotron_scheduler::normalize::fact_from_message(&decoded).map_err(|(_, reason)| {
        anyhow::anyhow!(
            "{}: nothing plans from this message: {reason}",
            path.display()
        )
    })
}

fn test(
    config_path: Option<&Path>,
    rules: &Path,
    event: &Path,
    arches: Vec<String>,
    json: bool,
) -> anyhow::Result<i32> {
    let (config, _) = taskotron_config::Config::resolve(config_path)?;
    let set = taskotron_scheduler::load_rules(rules)?;
    let fact = read_event(event)?;
    let context = PlanContext {
        arches: if arches.is_empty() {
            config.scheduler.arches.clone()
        } else {
            arches
        },
    };
    let plan = taskotron_triggers::plan(&set, &fact, &context);
    let revisions = Revisions {
        tasks_dir: config.scheduler.tasks_dir.clone(),
    };
    if json {
        stdout(&format!("{:#}\n", serde_json::to_value(&plan)?));
    } else {
        let mut out = format!(
            "event: {} {} {} (revision {})\nkey: {}\nrules matched: {}\n",
            fact.message_type(),
            fact.item_type(),
            fact.item(),
            fact.item_revision(),
            fact.natural_key()
                .as_deref()
                .unwrap_or("none (a re-run request)"),
            if plan.matched.is_empty() {
                "none".to_owned()
            } else {
                plan.matched.join(", ")
            }
        );
        for job in &plan.jobs {
            let revision = revisions
                .of(&job.task)
                .unwrap_or_else(|why| format!("? ({why})"));
            out.push_str(&format!(
                "job: {} @{} on {} for {} {}{}{}{}\n",
                job.task,
                revision,
                job.arch,
                job.item_type,
                job.item,
                if job.priority == 0 {
                    String::new()
                } else {
                    format!(" priority {}", job.priority)
                },
                job.debounce
                    .map(|it| format!(" debounce {}", humantime::format_duration(it)))
                    .unwrap_or_default(),
                if fact.is_retrigger() { " (re-run)" } else { "" },
            ));
        }
        for discovery in &plan.discoveries {
            out.push_str(&format!(
                "discover: {} at {}{}\n",
                discovery.repo,
                discovery.branch,
                discovery
                    .fallback_branch
                    .as_ref()
                    .map(|it| format!(" (else {it})"))
                    .unwrap_or_default()
            ));
        }
        for note in &plan.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        stdout(&out);
    }
    Ok(if plan.jobs.is_empty() { 1 } else { 0 })
}
