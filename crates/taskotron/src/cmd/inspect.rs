//! `taskotron events`, `jobs`, `workers` and `status`: what a running
//! server's scheduler and queue hold, on the command line.

use std::path::Path;

use serde_json::Value;

use crate::cmd::client::{Client, ServerArgs, block_on, cell, table};
use crate::display::stdout;

/// Arguments of `events`.
#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    /// Show one event whole (its fact, body and jobs).
    #[arg(value_name = "UUID")]
    uuid: Option<String>,
    /// Only events in this state: new, planned, rejected, ignored.
    #[arg(long)]
    state: Option<String>,
    /// Only from this source: bus, koji, bodhi, api.
    #[arg(long)]
    source: Option<String>,
    /// Only with this topic.
    #[arg(long)]
    topic: Option<String>,
    /// Only about this item.
    #[arg(long)]
    item: Option<String>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON.
    #[arg(long)]
    json: bool,
}

/// `jobs` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum JobsCommand {
    /// List jobs, newest first.
    List(JobsListArgs),
    /// Show one job with its attempts.
    Show {
        /// The job's uuid.
        uuid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Run a job's check again: a new job with the next re-run number.
    Rerun {
        /// The job's uuid.
        uuid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print a job's log; `--follow` keeps printing while it runs.
    Log(crate::cmd::job_files::LogArgs),
    /// List a job's artifacts, or download one with `--get NAME`.
    Artifacts(crate::cmd::job_files::ArtifactsArgs),
    /// Cancel a job (its worker stops it).
    Cancel {
        /// The job's uuid.
        uuid: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Arguments of `jobs list`.
#[derive(Debug, clap::Args)]
pub(crate) struct JobsListArgs {
    /// Only jobs in this state: queued, running, finished, crashed,
    /// cancelled, timed-out.
    #[arg(long)]
    state: Option<String>,
    /// Only about this item.
    #[arg(long)]
    item: Option<String>,
    /// Only of this check.
    #[arg(long)]
    check: Option<String>,
    /// Only run by this worker.
    #[arg(long)]
    worker: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `workers` and `status`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlainArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// An item (an NVR, an update alias, …): show its expected-results
    /// ledger, every check the rules called for and where it stands.
    #[arg(value_name = "ITEM")]
    item: Option<String>,
    /// The item's type.
    #[arg(long = "type", value_name = "TYPE", default_value = "koji_build")]
    item_type: String,
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON.
    #[arg(long)]
    json: bool,
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if let Some(value) = value {
            out.append_pair(name, value);
        }
    }
    let text = out.finish();
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

pub(crate) fn events(config_path: Option<&Path>, args: EventsArgs) -> i32 {
    block_on(async move {
        let client = Client::new(config_path, &args.server)?;
        if let Some(uuid) = &args.uuid {
            let event = client.get(&format!("/api/v1/events/{uuid}")).await?;
            stdout(&format!("{event:#}\n"));
            return Ok(0);
        }
        let path = format!(
            "/api/v1/events{}",
            query(&[
                ("state", args.state.clone()),
                ("source", args.source.clone()),
                ("topic", args.topic.clone()),
                ("item", args.item.clone()),
                ("limit", Some(args.limit.to_string())),
            ])
        );
        let answer = client.get(&path).await?;
        if args.json {
            stdout(&format!("{answer:#}\n"));
            return Ok(0);
        }
        let rows: Vec<Vec<String>> = answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|it| {
                vec![
                    cell(&it["received_at"]).chars().take(19).collect(),
                    cell(&it["source"]),
                    cell(&it["state"]),
                    cell(&it["message_type"]),
                    cell(&it["item"]),
                    cell(&it["job_count"]),
                    cell(&it["uuid"]),
                    cell(&it["reason"]),
                ]
            })
            .collect();
        stdout(&table(
            &[
                "RECEIVED", "SOURCE", "STATE", "TYPE", "ITEM", "JOBS", "UUID", "REASON",
            ],
            &rows,
        ));
        Ok(0)
    })
}

fn job_rows(jobs: &[Value]) -> Vec<Vec<String>> {
    jobs.iter()
        .map(|job| {
            let key = &job["key"];
            let rerun = key["rerun"].as_u64().unwrap_or(0);
            vec![
                cell(&job["uuid"]),
                cell(&job["state"]),
                format!(
                    "{}{}",
                    cell(&key["check"]),
                    if rerun > 0 {
                        format!(" (re-run {rerun})")
                    } else {
                        String::new()
                    }
                ),
                cell(&key["arch"]),
                format!("{} {}", cell(&key["item_type"]), cell(&key["item"])),
                cell(&job["worker"]),
                cell(&job["outcome"]),
            ]
        })
        .collect()
}

const JOB_HEADER: [&str; 7] = [
    "UUID", "STATE", "CHECK", "ARCH", "ITEM", "WORKER", "OUTCOME",
];

pub(crate) fn jobs(config_path: Option<&Path>, command: JobsCommand) -> i32 {
    let command = match command {
        JobsCommand::Log(args) => return crate::cmd::job_files::log(config_path, args),
        JobsCommand::Artifacts(args) => {
            return crate::cmd::job_files::artifacts(config_path, args);
        }
        other => other,
    };
    block_on(async move {
        match command {
            JobsCommand::List(args) => {
                let client = Client::new(config_path, &args.server)?;
                let path = format!(
                    "/api/v1/jobs{}",
                    query(&[
                        ("state", args.state.clone()),
                        ("item", args.item.clone()),
                        ("check", args.check.clone()),
                        ("worker", args.worker.clone()),
                        ("limit", Some(args.limit.to_string())),
                    ])
                );
                let answer = client.get(&path).await?;
                if args.json {
                    stdout(&format!("{answer:#}\n"));
                } else {
                    let jobs = answer["data"].as_array().cloned().unwrap_or_default();
                    stdout(&table(&JOB_HEADER, &job_rows(&jobs)));
                }
            }
            JobsCommand::Show { uuid, server } => {
                let client = Client::new(config_path, &server)?;
                let job = client.get(&format!("/api/v1/jobs/{uuid}")).await?;
                stdout(&format!("{job:#}\n"));
            }
            JobsCommand::Rerun { uuid, server } => {
                let client = Client::new(config_path, &server)?;
                let answer = client
                    .post(&format!("/api/v1/jobs/{uuid}/rerun"), &Value::Null)
                    .await?;
                let job = &answer["job"];
                stdout(&format!(
                    "queued {} as re-run {} of {uuid}\n",
                    cell(&job["uuid"]),
                    cell(&job["key"]["rerun"])
                ));
            }
            JobsCommand::Log(_) | JobsCommand::Artifacts(_) => {}
            JobsCommand::Cancel { uuid, server } => {
                let client = Client::new(config_path, &server)?;
                let answer = client
                    .post(&format!("/api/v1/jobs/{uuid}/cancel"), &Value::Null)
                    .await?;
                stdout(&format!(
                    "{}: {}\n",
                    uuid,
                    if answer["cancelled"] == true {
                        "cancelled".to_owned()
                    } else {
                        format!("not cancelled (it is {})", cell(&answer["job"]["state"]))
                    }
                ));
            }
        }
        Ok(0)
    })
}

pub(crate) fn workers(config_path: Option<&Path>, args: PlainArgs) -> i32 {
    block_on(async move {
        let client = Client::new(config_path, &args.server)?;
        let answer = client.get("/api/v1/workers").await?;
        if args.json {
            stdout(&format!("{answer:#}\n"));
            return Ok(0);
        }
        let rows: Vec<Vec<String>> = answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|it| {
                let jobs: Vec<String> = it["jobs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(cell)
                    .collect();
                vec![
                    cell(&it["name"]),
                    cell(&it["last_seen"]),
                    cell(&it["slots"]),
                    if jobs.is_empty() {
                        "-".to_owned()
                    } else {
                        jobs.join(",")
                    },
                ]
            })
            .collect();
        stdout(&table(&["WORKER", "LAST SEEN", "SLOTS", "JOBS"], &rows));
        Ok(0)
    })
}

/// An item's ledger in words.
fn print_ledger(ledger: &Value) -> String {
    let mut out = format!("{} {}\n", cell(&ledger["item_type"]), cell(&ledger["item"]));
    let rows: Vec<Vec<String>> = ledger["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            vec![
                cell(&it["check"]),
                cell(&it["arch"]),
                cell(&it["reason_code"]),
                cell(&it["reason"]),
                cell(&it["job"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no check was called for\n");
    } else {
        out.push_str(&table(&["CHECK", "ARCH", "STATE", "WHY", "JOB"], &rows));
    }
    let not_run: Vec<Vec<String>> = ledger["not_run"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            vec![
                cell(&it["check"]),
                cell(&it["reason_code"]),
                cell(&it["reason"]),
            ]
        })
        .collect();
    if !not_run.is_empty() {
        out.push_str("\nnot run:\n");
        out.push_str(&table(&["CHECK", "WHY", "DETAIL"], &not_run));
    }
    let waiting = ledger["events"]["waiting_for_planner"]
        .as_u64()
        .unwrap_or(0);
    if waiting > 0 {
        out.push_str(&format!(
            "\n{waiting} event(s) about it wait for the planner: more checks may come\n"
        ));
    }
    out
}

pub(crate) fn status(config_path: Option<&Path>, args: StatusArgs) -> i32 {
    block_on(async move {
        let client = Client::new(config_path, &args.server)?;
        if let Some(item) = &args.item {
            let encode =
                |it: &str| form_urlencoded::byte_serialize(it.as_bytes()).collect::<String>();
            let ledger = client
                .get(&format!(
                    "/api/v1/items/{}/{}/expected",
                    encode(&args.item_type),
                    encode(item)
                ))
                .await?;
            if args.json {
                stdout(&format!("{ledger:#}\n"));
            } else {
                stdout(&print_ledger(&ledger));
            }
            return Ok(0);
        }
        let scheduler = client.get("/api/v1/scheduler").await?;
        if args.json {
            stdout(&format!("{scheduler:#}\n"));
            return Ok(0);
        }
        let events = &scheduler["events"];
        let mut out = format!(
            "server: {}\nevents: {} new, {} planned, {} rejected, {} ignored\n",
            client.url(""),
            cell(&events["new"]),
            cell(&events["planned"]),
            cell(&events["rejected"]),
            cell(&events["ignored"]),
        );
        let rows: Vec<Vec<String>> = scheduler["pollers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|it| {
                vec![
                    cell(&it["name"]),
                    cell(&it["value"]),
                    cell(&it["last_ok_at"]),
                    format!("{}/{}", cell(&it["failures"]), cell(&it["runs"])),
                    cell(&it["found"]),
                    cell(&it["last_error"]),
                ]
            })
            .collect();
        if rows.is_empty() {
            out.push_str("pollers: none has run\n");
        } else {
            out.push('\n');
            out.push_str(&table(
                &[
                    "POLLER",
                    "WATERMARK",
                    "LAST OK",
                    "FAILED/RUNS",
                    "FOUND",
                    "LAST ERROR",
                ],
                &rows,
            ));
        }
        stdout(&out);
        Ok(0)
    })
}
