//! `taskotron-bench queue`: the job queue through the worker protocol, as
//! real workers use it, against the real `serve` router (in this process,
//! on a loopback port) over a fresh SQLite store or PostgreSQL schema.
//!
//! 1. Throughput: `--jobs` jobs wait in the queue; `--workers` simulated
//!    workers (each its own token and keep-alive connection) loop on
//!    `POST /api/v1/worker/lease` (no wait) and
//!    `POST /api/v1/worker/jobs/{uuid}/result` until the queue is empty.
//!    Cycles per second = jobs / the time from the first lease to the last
//!    result. Then the check: every job was leased once, finished, and has
//!    exactly one attempt (zero double claims).
//! 2. Latency: the workers long-poll while jobs are enqueued one at a time
//!    through `POST /api/v1/jobs` at `--rate` per second for `--seconds`;
//!    a job's latency runs from just before its enqueue request to the
//!    moment a worker holds its lease. With `--two-servers` (PostgreSQL)
//!    the jobs are enqueued through a second server on the same database,
//!    so only PostgreSQL's NOTIFY wakes the waiting workers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_store::jobs::{JobFilter, JobKey, JobState, NewJob, Requirements};
use taskotron_web::auth::WorkerAuth;
use taskotron_web::worker_api::{WorkerSettings, listen_for_jobs};
use taskotron_web::{AppState, router};
use tokio_util::sync::CancellationToken;

use crate::http::{Conn, Target};

/// Arguments of `queue`.
#[derive(Debug, clap::Args)]
pub(crate) struct QueueArgs {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// PostgreSQL (a schema of its own is made and dropped per run).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Simulated workers.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Jobs of the throughput run.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Jobs enqueued per second in the latency run.
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Runs, each on a fresh store; with several, the medians are printed.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Enqueue the latency run's jobs through a second server on the same
    /// PostgreSQL database.
    #[arg(long)]
    two_servers: bool,
}

/// A `serve` router on a loopback port.
struct Server {
    base: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn token(idx: usize) -> String {
    format!("bench-worker-token-{idx}")
}

async fn start_server(store: &Store, workers: usize) -> anyhow::Result<Server> {
    let tokens = (0..workers).map(|i| (format!("w{i}"), token(i))).collect();
    let settings = WorkerSettings::new(Some(WorkerAuth::from_pairs(tokens)));
    let state = AppState::new(store.clone()).with_worker_api(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state.clone());
    let serve = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            note(&format!("the server stopped: {err}"));
        }
    });
    let wakeups = tokio::spawn(listen_for_jobs(store.clone(), state.worker.wake.clone()));
    Ok(Server {
        base,
        tasks: vec![serve, wakeups],
    })
}

struct Setup {
    stores: Vec<Store>,
    schema: Option<String>,
    _tmp: tempfile::TempDir,
}

async fn open(args: &QueueArgs) -> anyhow::Result<Setup> {
    let tmp = tempfile::tempdir()?;
    match args.backend.as_str() {
        "sqlite" => {
            anyhow::ensure!(
                !args.two_servers,
                "--two-servers needs PostgreSQL: SQLite belongs to one process"
            );
            Ok(Setup {
                stores: vec![Store::open_sqlite(tmp.path()).await?],
                schema: None,
                _tmp: tmp,
            })
        }
        "postgres" => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let mut stores = vec![Store::open_postgres(&args.pg_url, Some(&schema)).await?];
            if args.two_servers {
                stores.push(Store::open_postgres(&args.pg_url, Some(&schema)).await?);
            }
            Ok(Setup {
                stores,
                schema: Some(schema),
                _tmp: tmp,
            })
        }
        other => anyhow::bail!("--backend {other:?}: expected sqlite or postgres"),
    }
}

fn new_job(item: String) -> NewJob {
    NewJob {
        key: JobKey {
            check: "bench.queue".to_owned(),
            check_revision: "1".to_owned(),
            item_type: "koji_build".to_owned(),
            item_revision: item.clone(),
            item,
            arch: "x86_64".to_owned(),
            rerun: 0,
        },
        priority: 0,
        delay: Duration::ZERO,
        requires: Requirements::default(),
        max_attempts: 3,
    }
}

/// A simulated worker's connection, registered.
async fn worker_conn(base: &str, idx: usize) -> anyhow::Result<Conn> {
    let mut conn = Conn::new(Target::parse(base)?, true).with_bearer(&token(idx));
    let answer = conn
        .send(
            "POST",
            "/api/v1/worker/register",
            Some(br#"{"arches": ["x86_64"], "slots": 1}"#),
        )
        .await?;
    anyhow::ensure!(
        answer.status == 200,
        "register: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    Ok(conn)
}

/// One leased job: its uuid, token and item.
struct Leased {
    uuid: String,
    token: i64,
    item: String,
}

/// Ask for a lease waiting at most `wait` seconds; `None` on 204.
async fn lease(conn: &mut Conn, wait: u32) -> anyhow::Result<Option<Leased>> {
    let body = format!(r#"{{"wait_seconds": {wait}}}"#);
    let answer = conn
        .send("POST", "/api/v1/worker/lease", Some(body.as_bytes()))
        .await?;
    match answer.status {
        204 => Ok(None),
        200 => {
            let lease: Value = serde_json::from_slice(&answer.body)?;
            Ok(Some(Leased {
                uuid: lease["uuid"]
                    .as_str()
                    .context("a lease without uuid")?
                    .to_owned(),
                token: lease["token"].as_i64().context("a lease without token")?,
                item: lease["key"]["item"]
                    .as_str()
                    .context("a lease without item")?
                    .to_owned(),
            }))
        }
        other => anyhow::bail!("lease: {other} {}", String::from_utf8_lossy(&answer.body)),
    }
}

async fn finish(conn: &mut Conn, leased: &Leased) -> anyhow::Result<()> {
    let body = json!({"token": leased.token, "state": "finished", "exit_status": 0,
                      "outcome": "PASSED"})
    .to_string();
    let answer = conn
        .send(
            "POST",
            &format!("/api/v1/worker/jobs/{}/result", leased.uuid),
            Some(body.as_bytes()),
        )
        .await?;
    anyhow::ensure!(
        answer.status == 200,
        "result: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    Ok(())
}

/// What one run measured.
struct Figures {
    cycles_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn throughput(
    args: &QueueArgs,
    store: &Store,
    server: &Server,
    run: &str,
) -> anyhow::Result<f64> {
    let items: Vec<String> = (0..args.jobs).map(|n| format!("t{run}-{n}")).collect();
    for chunk in items.chunks(500) {
        let jobs: Vec<NewJob> = chunk.iter().cloned().map(new_job).collect();
        store.enqueue_jobs(&jobs).await?;
    }
    let mut conns = Vec::with_capacity(args.workers);
    for idx in 0..args.workers {
        conns.push(worker_conn(&server.base, idx).await?);
    }
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for mut conn in conns {
        workers.spawn(async move {
            let mut done = Vec::new();
            while let Some(leased) = lease(&mut conn, 0).await? {
                finish(&mut conn, &leased).await?;
                done.push(leased.uuid);
            }
            anyhow::Ok(done)
        });
    }
    let mut leased = Vec::with_capacity(args.jobs);
    while let Some(done) = workers.join_next().await {
        leased.extend(done??);
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Zero double claims: each job leased once, finished, one attempt.
    let unique: HashSet<&String> = leased.iter().collect();
    let finished = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Finished),
            limit: i64::try_from(args.jobs + 1)?,
            ..JobFilter::default()
        })
        .await?;
    let double = finished
        .iter()
        .filter(|job| {
            job.attempts.len() != 1 || job.attempts[0].end_reason.as_deref() != Some("finished")
        })
        .count();
    anyhow::ensure!(
        leased.len() == args.jobs && unique.len() == args.jobs,
        "{} leases for {} jobs ({} distinct): a job was leased twice or lost",
        leased.len(),
        args.jobs,
        unique.len()
    );
    anyhow::ensure!(
        finished.len() == args.jobs && double == 0,
        "{} of {} jobs finished, {double} with other than one finished attempt",
        finished.len(),
        args.jobs
    );
    let rate = args.jobs as f64 / elapsed;
    println!(
        "{} throughput: {} workers, {} claim+complete cycles in {elapsed:.2} s: {rate:.0} cycles/s; \
         every job leased once and finished with one attempt (0 double claims)",
        args.backend, args.workers, args.jobs
    );
    Ok(rate)
}

async fn latency(
    args: &QueueArgs,
    workers_at: &Server,
    enqueue_at: &Server,
    run: &str,
) -> anyhow::Result<(f64, f64, f64)> {
    let count = usize::try_from(args.rate * args.seconds)?;
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let stop = CancellationToken::new();
    let mut workers = tokio::task::JoinSet::new();
    for idx in 0..args.workers {
        let mut conn = worker_conn(&workers_at.base, idx).await?;
        let received = received.clone();
        let stop = stop.clone();
        workers.spawn(async move {
            loop {
                let leased = tokio::select! {
                    it = lease(&mut conn, 25) => it?,
                    () = stop.cancelled() => return anyhow::Ok(()),
                };
                let Some(leased) = leased else { continue };
                let at = Instant::now();
                received
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(leased.item.clone(), at);
                finish(&mut conn, &leased).await?;
            }
        });
    }
    // Let every worker reach its long poll.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut enqueuer = Conn::new(Target::parse(&enqueue_at.base)?, true);
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(count);
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1))));
    note(&format!(
        "enqueuing {count} jobs one at a time at {}/s…",
        args.rate
    ));
    for n in 0..count {
        ticker.tick().await;
        let item = format!("l{run}-{n}");
        let body = json!({"jobs": [{"check": "bench.queue", "check_revision": "1",
            "item_type": "koji_build", "item": item, "arch": "x86_64"}]})
        .to_string();
        sent.insert(item, Instant::now());
        let answer = enqueuer
            .send("POST", "/api/v1/jobs", Some(body.as_bytes()))
            .await?;
        anyhow::ensure!(
            answer.status == 201,
            "enqueue: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    let waited = Instant::now();
    loop {
        let have = received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        if have >= count {
            break;
        }
        if let Some(Ok(Err(err))) = workers.try_join_next() {
            return Err(err);
        }
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(60),
            "only {have} of {count} jobs leased a minute after the last enqueue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let received = received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(item, at)| {
            received
                .get(item)
                .map(|got| got.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let max = latencies.last().copied().unwrap_or(f64::NAN);
    println!(
        "{} latency enqueue → a waiting worker holds the lease, {} jobs at {}/s, {} waiting workers{}: \
         p50 {p50:.1} ms, p95 {:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        args.backend,
        latencies.len(),
        args.rate,
        args.workers,
        if args.two_servers {
            ", enqueued through another server"
        } else {
            ""
        },
        percentile(&latencies, 95.0),
    );
    Ok((p50, p99, max))
}

async fn one_run(args: &QueueArgs) -> anyhow::Result<Figures> {
    let setup = open(args).await?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let store = setup.stores[0].clone();
    let server = start_server(&store, args.workers).await?;
    let cycles_per_second = throughput(args, &store, &server, &run).await?;
    let other = match setup.stores.get(1) {
        Some(store) => Some(start_server(store, args.workers).await?),
        None => None,
    };
    let (p50_ms, p99_ms, max_ms) =
        latency(args, &server, other.as_ref().unwrap_or(&server), &run).await?;
    drop(other);
    drop(server);
    if let Some(schema) = &setup.schema {
        for extra in &setup.stores[1..] {
            extra.close().await;
        }
        store.drop_schema_for_tests(schema).await?;
    }
    Ok(Figures {
        cycles_per_second,
        p50_ms,
        p99_ms,
        max_ms,
    })
}

pub(crate) async fn run(args: QueueArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=256).contains(&args.workers),
        "--workers must be from 1 to 256"
    );
    anyhow::ensure!(args.rate > 0, "--rate must be at least 1");
    let mut all = Vec::with_capacity(args.runs);
    for n in 0..args.runs.max(1) {
        note(&format!("run {} of {}…", n + 1, args.runs.max(1)));
        all.push(one_run(&args).await?);
    }
    if all.len() > 1 {
        let median = |pick: fn(&Figures) -> f64| {
            let mut values: Vec<f64> = all.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        println!(
            "{} medians of {} runs: {:.0} cycles/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            args.backend,
            all.len(),
            median(|it| it.cycles_per_second),
            median(|it| it.p50_ms),
            median(|it| it.p99_ms),
            median(|it| it.max_ms),
        );
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A progress line on stderr, so that stdout holds only the figures.
#[expect(clippy::print_stderr, reason = "progress of a command-line tool")]
fn note(text: &str) {
    eprintln!("{text}");
}
