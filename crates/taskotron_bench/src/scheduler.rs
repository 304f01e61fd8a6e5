//! `taskotron-bench scheduler`: the scheduler's intake and planner, from
//! RabbitMQ to committed events and jobs.
//!
//! 1. Throughput: `--messages` Koji "build complete" messages (each a new
//!    NVR) wait in the intake queue; intake and the planner then start, and
//!    the clock runs until every event is planned and its jobs (two per
//!    build: rpmlint for x86_64 and python-versions for noarch) are in the
//!    queue. Messages per second = messages / that time.
//! 2. Latency: with intake and the planner running, `--rate` messages per
//!    second are published for `--seconds`; each message's latency is from
//!    just before its publish call to its first job's `created_at` (the
//!    database's clock, on the same machine).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use chrono::Utc;
use serde_json::json;
use taskotron_bus::{Consumer, ConsumerConfig, OutgoingMessage, Publisher, schema};
use taskotron_scheduler::SchedulerMetrics;
use taskotron_scheduler::intake::Intake;
use taskotron_scheduler::planner::{Planner, Revisions};
use taskotron_store::Store;
use taskotron_store::events::EventState;
use taskotron_store::jobs::JobFilter;
use taskotron_triggers::PlanContext;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const RULES: &str = "
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - tasks: [rpmlint]
    - tasks: [python-versions]
      arches: [noarch]
";

/// Arguments of `scheduler`.
#[derive(Debug, clap::Args)]
pub(crate) struct SchedulerArgs {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// PostgreSQL (a schema of its own is made and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// The broker.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
    /// Messages for the throughput run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Messages per second for the latency run.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 20)]
    seconds: u32,
}

fn build_message(prefix: &str, run: &str, n: usize) -> OutgoingMessage {
    OutgoingMessage::fedora(
        prefix,
        "buildsys.build.state.change",
        schema::BUILD_STATE_CHANGE,
        json!({
            "build_id": n, "name": format!("bench-{run}-{n}"), "version": "1.0",
            "release": "1.fc44", "owner": "bench", "task_id": n, "old": 0, "new": 1,
            "attribute": "state", "instance": "primary", "epoch": null,
        }),
        Utc::now(),
    )
}

struct Setup {
    store: Store,
    schema: Option<String>,
    _tmp: tempfile::TempDir,
}

async fn open(args: &SchedulerArgs) -> anyhow::Result<Setup> {
    let tmp = tempfile::tempdir()?;
    match args.backend.as_str() {
        "sqlite" => Ok(Setup {
            store: Store::open_sqlite(tmp.path()).await?,
            schema: None,
            _tmp: tmp,
        }),
        "postgres" => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            Ok(Setup {
                store: Store::open_postgres(&args.pg_url, Some(&schema)).await?,
                schema: Some(schema),
                _tmp: tmp,
            })
        }
        other => anyhow::bail!("--backend {other:?}: expected sqlite or postgres"),
    }
}

fn parts(
    args: &SchedulerArgs,
    store: &Store,
    prefix: &str,
    queue: &str,
) -> anyhow::Result<(Intake, Planner, Arc<Notify>)> {
    let metrics = Arc::new(SchedulerMetrics::default());
    let wake = Arc::new(Notify::new());
    let mut consumer = ConsumerConfig::new(&args.amqp, queue, prefix);
    consumer.prefetch = 1000;
    let planner = Planner {
        store: store.clone(),
        rules: Arc::new(
            taskotron_triggers::parse_rules(RULES)
                .map_err(|it| anyhow::anyhow!("bad rules: {it:?}"))?,
        ),
        context: PlanContext::default(),
        revisions: Revisions::default(),
        max_attempts: 3,
        metrics,
        jobs_wake: Arc::default(),
        discoverer: taskotron_scheduler::discover::Discoverer {
            cache_dir: std::env::temp_dir().join("taskotron-discover-cache"),
        },
    };
    let intake = Intake {
        consumer,
        store: store.clone(),
        metrics: planner.metrics.clone(),
        wake: wake.clone(),
        planner: Some(planner.clone()),
    };
    Ok((intake, planner, wake))
}

async fn planned(store: &Store) -> anyhow::Result<i64> {
    Ok(store
        .event_counts()
        .await?
        .iter()
        .filter(|(state, _)| *state == EventState::Planned)
        .map(|(_, n)| *n)
        .sum())
}

fn micros_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |it| i64::try_from(it.as_micros()).unwrap_or(i64::MAX))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) async fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let setup = open(&args).await?;
    let store = setup.store.clone();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("bench.{run}");
    let queue = format!("taskotron-bench-{run}");
    let publisher = Publisher::connect(&args.amqp, "amq.topic")
        .await
        .context("cannot connect to the broker")?;

    // Throughput: fill the queue, then start intake and the planner.
    let declare = Consumer::connect(&ConsumerConfig::new(&args.amqp, &queue, &prefix)).await?;
    declare.close().await;
    tracing_note(&format!("publishing {} messages…", args.messages));
    for n in 0..args.messages {
        publisher.publish(&build_message(&prefix, &run, n)).await?;
    }
    let (intake, planner, wake) = parts(&args, &store, &prefix, &queue)?;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let tasks = [
        tokio::spawn(intake.run(shutdown.clone())),
        tokio::spawn(planner.clone().run(wake.clone(), shutdown.clone())),
    ];
    let total = i64::try_from(args.messages)?;
    let mut recorded_after = None;
    loop {
        let counts = store.event_counts().await?;
        let all: i64 = counts.iter().map(|(_, n)| *n).sum();
        if recorded_after.is_none() && all >= total {
            recorded_after = Some(started.elapsed().as_secs_f64());
        }
        let planned: i64 = counts
            .iter()
            .filter(|(state, _)| *state == EventState::Planned)
            .map(|(_, n)| *n)
            .sum();
        if planned >= total {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "not done in 10 minutes"
        );
        // Counting costs the database too: look five times a second.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let jobs = planner.metrics.jobs_inserted();
    println!(
        "{} throughput: {} messages → {} events (all recorded after {:.2} s) and {jobs} jobs in {elapsed:.2} s: {:.0} messages/s, {:.0} jobs/s",
        args.backend,
        args.messages,
        total,
        recorded_after.unwrap_or(elapsed),
        args.messages as f64 / elapsed,
        jobs as f64 / elapsed
    );

    // Latency at a steady rate, with everything running.
    let count = usize::try_from(args.rate * args.seconds)?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut sent: HashMap<String, i64> = HashMap::with_capacity(count);
    let mut ticker = tokio::time::interval(interval);
    tracing_note(&format!("publishing {count} messages at {}/s…", args.rate));
    for n in 0..count {
        ticker.tick().await;
        let message = build_message(&prefix, &run, args.messages + n);
        let nvr = format!("bench-{run}-{}-1.0-1.fc44", args.messages + n);
        sent.insert(nvr, micros_now());
        publisher.publish(&message).await?;
    }
    let goal = total + i64::try_from(count)?;
    let waited = Instant::now();
    while planned(&store).await? < goal {
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(120),
            "latency run not done in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The newest jobs: this run's.
    let jobs = store
        .list_jobs(&JobFilter {
            limit: i64::try_from(count * 2)?,
            ..JobFilter::default()
        })
        .await?;
    let mut first_job: HashMap<&str, i64> = HashMap::new();
    for job in &jobs {
        let at = first_job
            .entry(job.key.item.as_str())
            .or_insert(job.created_at);
        *at = (*at).min(job.created_at);
    }
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(nvr, at)| {
            first_job
                .get(nvr.as_str())
                .map(|job| (job - at) as f64 / 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "{} latency publish → job queued at {}/s ({} messages): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.backend,
        args.rate,
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }
    publisher.close().await;
    // The queue is durable: remove it.
    Consumer::connect(&ConsumerConfig::new(&args.amqp, &queue, &prefix))
        .await?
        .delete_queue()
        .await?;
    if let Some(schema) = &setup.schema {
        store.drop_schema_for_tests(schema).await?;
    }
    Ok(())
}

/// A progress line on stderr, so that stdout holds only the figures.
#[expect(clippy::print_stderr, reason = "progress of a command-line tool")]
fn tracing_note(text: &str) {
    eprintln!("{text}");
}
