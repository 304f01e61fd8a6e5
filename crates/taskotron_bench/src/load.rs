//! `taskotron-bench load`: a closed-loop load generator for the ResultsDB
//! API, with the scenarios, options and report of `loadgen_resultsdb.py`
//! (the baseline's tool) at a fraction of its CPU per request.
//!
//! Each of C workers sends requests back to back on its own connection.
//! Requests that start during the warm-up are not counted; then the run
//! measures for the duration. Latencies are sorted for the percentiles.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::http::{Conn, Target};
use crate::payload::{self, Rng};

/// What to request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// POST /testcases once for each of the 20 testcases (idempotent).
    Setup,
    /// POST /results with realistic koji_build results.
    Post,
    /// GET /results/latest?item=I&type=koji_build&testcases=dist.rpmlint,dist.depcheck&_distinct_on=scenario
    Latest,
    /// GET /results?item=I&type=koji_build&limit=20
    ByItem,
    /// GET /results?testcases:like=dist.*&limit=20&page=50
    LikePage,
    /// GET /results/<random id>
    ById,
    /// POST /decision (Greenwave's API: give the `/api/v1.0` base) for an
    /// update of 20 random builds, as Bodhi asks it.
    Decision,
}

impl Scenario {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Setup => "setup",
            Scenario::Post => "post",
            Scenario::Latest => "latest",
            Scenario::ByItem => "by-item",
            Scenario::LikePage => "like-page",
            Scenario::ById => "by-id",
            Scenario::Decision => "decision",
        }
    }
}

/// How to load the server.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LoadArgs {
    /// The API's base URL, e.g. http://127.0.0.1:5001/api/v2.0
    base: String,
    /// The scenario.
    #[arg(value_enum)]
    scenario: Scenario,
    /// Workers (connections), each with one request in flight.
    #[arg(short, long, default_value_t = 8)]
    concurrency: usize,
    /// Measured seconds.
    #[arg(short, long, default_value_t = 30.0)]
    duration: f64,
    /// Unmeasured seconds first.
    #[arg(short, long, default_value_t = 5.0)]
    warmup: f64,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The item namespace's size.
    #[arg(long, default_value_t = 100_000)]
    items: u64,
    /// Results per group uuid (post).
    #[arg(long, default_value_t = 5)]
    group_size: u64,
    /// by-id: the smallest id.
    #[arg(long, default_value_t = 1)]
    id_min: u64,
    /// by-id: the largest id (default: probe the API).
    #[arg(long)]
    id_max: Option<u64>,
    /// Parse every Nth good response to count rows (0: never).
    #[arg(long, default_value_t = 20)]
    check_every: u64,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// A new connection per request.
    #[arg(long)]
    no_keepalive: bool,
    /// Also report this process's CPU time and memory (the server's pid).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also report the CPU time of every process with this command name
    /// (e.g. `postgres`, for the database's share).
    #[arg(long, value_name = "NAME")]
    cpu_of_command: Option<String>,
    /// A label copied to the report (e.g. the backend).
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Debug, Default)]
struct Stats {
    /// Seconds, counted requests only.
    lat: Vec<f64>,
    status: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    sampled: u64,
    sampled_rows: u64,
    bytes: u64,
}

/// One worker's request state.
#[derive(Debug)]
struct Worker {
    rng: Rng,
    group: String,
    left_in_group: u64,
    seq: u64,
}

/// (method, path after the prefix, body, expected status).
type Request = (&'static str, String, Option<Vec<u8>>, u16);

fn build_request(args: &LoadArgs, id_max: u64, worker: &mut Worker) -> Request {
    let rng = &mut worker.rng;
    match args.scenario {
        Scenario::Post | Scenario::Setup => {
            if worker.left_in_group == 0 {
                worker.group = rng.uuid();
                worker.left_in_group = args.group_size.max(1);
            }
            worker.left_in_group -= 1;
            worker.seq += 1;
            let sample = payload::sample(rng, args.items, &worker.group, worker.seq, 1.0);
            let data: serde_json::Map<String, Value> = sample
                .data
                .into_iter()
                .map(|(key, value)| (key.to_owned(), Value::String(value)))
                .collect();
            let body = json!({
                "testcase": {"name": sample.testcase, "ref_url": payload::testcase_ref_url(sample.testcase)},
                "outcome": sample.outcome,
                "groups": [worker.group],
                "note": sample.note,
                "ref_url": sample.ref_url,
                "data": data,
            });
            (
                "POST",
                "/results".to_owned(),
                Some(serde_json::to_vec(&body).unwrap_or_default()),
                201,
            )
        }
        Scenario::Latest => (
            "GET",
            format!(
                "/results/latest?item={}&type=koji_build&testcases=dist.rpmlint,dist.depcheck&_distinct_on=scenario",
                payload::nvr(rng.below(args.items.max(1)))
            ),
            None,
            200,
        ),
        Scenario::ByItem => (
            "GET",
            format!(
                "/results?item={}&type=koji_build&limit=20",
                payload::nvr(rng.below(args.items.max(1)))
            ),
            None,
            200,
        ),
        Scenario::LikePage => (
            "GET",
            "/results?testcases:like=dist.*&limit=20&page=50".to_owned(),
            None,
            200,
        ),
        Scenario::Decision => {
            let mut subject: Vec<Value> = (0..20)
                .map(|_| {
                    json!({"type": "koji_build", "item": payload::nvr(rng.below(args.items.max(1)))})
                })
                .collect();
            subject.push(json!({"type": "bodhi_update", "item": "FEDORA-2026-bench"}));
            let body = json!({
                "product_version": "fedora-41",
                "decision_context": "bench_gate",
                "subject": subject,
                "verbose": false,
            });
            (
                "POST",
                "/decision".to_owned(),
                Some(serde_json::to_vec(&body).unwrap_or_default()),
                200,
            )
        }
        Scenario::ById => {
            let span = id_max.saturating_sub(args.id_min) + 1;
            (
                "GET",
                format!("/results/{}", args.id_min + rng.below(span)),
                None,
                200,
            )
        }
    }
}

async fn worker(
    wid: u64,
    args: Arc<LoadArgs>,
    target: Target,
    id_max: u64,
    t_measure: Instant,
    t_end: Instant,
) -> Stats {
    let mut state = Worker {
        rng: Rng::stream(args.seed, 1000, wid),
        group: String::new(),
        left_in_group: 0,
        seq: 0,
    };
    let mut conn = Conn::new(target, !args.no_keepalive);
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut stats = Stats::default();
    let mut n: u64 = 0;
    loop {
        let t0 = Instant::now();
        if t0 >= t_end {
            return stats;
        }
        let (method, path, body, expect) = build_request(&args, id_max, &mut state);
        let answer = tokio::time::timeout(timeout, conn.send(method, &path, body.as_deref())).await;
        let t1 = Instant::now();
        if answer.is_err() {
            // Timed out: the request may still be in flight; start afresh.
            conn.reset();
        }
        if t0 < t_measure || t1 > t_end {
            continue;
        }
        stats.lat.push((t1 - t0).as_secs_f64());
        let response = match answer {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => {
                *stats
                    .errors
                    .entry(err.root_cause().to_string())
                    .or_default() += 1;
                continue;
            }
            Err(_) => {
                *stats.errors.entry("Timeout".to_owned()).or_default() += 1;
                continue;
            }
        };
        stats.bytes += response.body.len() as u64;
        *stats.status.entry(response.status).or_default() += 1;
        n += 1;
        if response.status == expect
            && args.check_every > 0
            && n.is_multiple_of(args.check_every)
            && let Ok(doc) = serde_json::from_slice::<Value>(&response.body)
        {
            stats.sampled += 1;
            if let Some(list) = doc.get("data").and_then(Value::as_array) {
                stats.sampled_rows += list.len() as u64;
            } else if doc.get("id").is_some() {
                stats.sampled_rows += 1;
            }
        }
    }
}

/// The largest existing result id, assuming ids are dense from 1.
async fn probe_max_id(target: &Target) -> anyhow::Result<u64> {
    let mut conn = Conn::new(target.clone(), true);
    let mut exists = async |id: u64| -> anyhow::Result<bool> {
        Ok(conn
            .send("GET", &format!("/results/{id}"), None)
            .await?
            .status
            == 200)
    };
    if !exists(1).await? {
        bail!("no result with id 1; pass --id-min/--id-max");
    }
    let (mut lo, mut hi) = (1u64, 2u64);
    while exists(hi).await? {
        lo = hi;
        hi *= 2;
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if exists(mid).await? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Linear interpolation between the closest ranks, as the Python tool does.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let k = (sorted.len() - 1) as f64 * q;
    let f = k.floor() as usize;
    let c = (f + 1).min(sorted.len() - 1);
    Some(sorted[f] + (sorted[c] - sorted[f]) * (k - f as f64))
}

fn ms(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |it| json!((it * 100_000.0).round() / 100.0))
}

/// Seconds of CPU (user + system) a process has used, from /proc.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

/// Seconds of CPU used by every process whose command name is `name`.
fn command_cpu_seconds(name: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut total = 0.0;
    for entry in dir.flatten() {
        let pid = entry.file_name();
        let Some(pid) = pid
            .to_str()
            .filter(|it| it.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() == name {
            total += cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    total
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|it| it.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

pub(crate) async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let target = Target::parse(args.base.trim_end_matches('/'))?;
    if args.scenario == Scenario::Setup {
        let mut conn = Conn::new(target, true);
        for name in payload::TESTCASES {
            let body = serde_json::to_vec(
                &json!({"name": name, "ref_url": payload::testcase_ref_url(name)}),
            )?;
            let response = conn
                .send("POST", "/testcases", Some(&body))
                .await
                .with_context(|| format!("POST /testcases {name}"))?;
            if response.status != 201 {
                bail!("POST /testcases {name} -> {}", response.status);
            }
        }
        println!(
            "RESULT {}",
            json!({"scenario": "setup", "testcases": payload::TESTCASES.len()})
        );
        return Ok(());
    }
    let id_max = match (args.scenario, args.id_max) {
        (Scenario::ById, None) => probe_max_id(&target).await?,
        (_, id_max) => id_max.unwrap_or(args.id_min),
    };
    let args = Arc::new(args);
    let server_pid = args.server_pid.map(|it| it.to_string());
    let self_cpu = || cpu_seconds("self").unwrap_or(0.0);
    let server_cpu = || server_pid.as_deref().and_then(cpu_seconds);
    let other_cpu = || args.cpu_of_command.as_deref().map(command_cpu_seconds);

    let start = Instant::now();
    let t_measure = start + Duration::from_secs_f64(args.warmup);
    let t_end = t_measure + Duration::from_secs_f64(args.duration);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|wid| {
            tokio::spawn(worker(
                wid as u64,
                args.clone(),
                target.clone(),
                id_max,
                t_measure,
                t_end,
            ))
        })
        .collect();
    tokio::time::sleep_until(t_measure.into()).await;
    let (cpu0, server0, other0) = (self_cpu(), server_cpu(), other_cpu());
    tokio::time::sleep_until(t_end.into()).await;
    let (cpu1, server1, other1) = (self_cpu(), server_cpu(), other_cpu());
    let mut stats = Stats::default();
    for handle in workers {
        let one = handle.await?;
        stats.lat.extend(one.lat);
        for (status, count) in one.status {
            *stats.status.entry(status).or_default() += count;
        }
        for (error, count) in one.errors {
            *stats.errors.entry(error).or_default() += count;
        }
        stats.sampled += one.sampled;
        stats.sampled_rows += one.sampled_rows;
        stats.bytes += one.bytes;
    }
    let wall = start.elapsed().as_secs_f64();
    let mut lat = stats.lat;
    lat.sort_by(f64::total_cmp);
    let requests = lat.len() as u64;
    let ok: u64 = stats
        .status
        .iter()
        .filter(|(status, _)| matches!(status, 200 | 201))
        .map(|it| it.1)
        .sum();
    let round1 = |value: f64| (value * 10.0).round() / 10.0;
    let mean = (!lat.is_empty()).then(|| lat.iter().sum::<f64>() / lat.len() as f64);
    let mut report = json!({
        "scenario": args.scenario.name(),
        "label": args.label,
        "base": args.base,
        "concurrency": args.concurrency,
        "keepalive": !args.no_keepalive,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "requests": requests,
        "ok": ok,
        "rps": round1(requests as f64 / args.duration),
        "ok_rps": round1(ok as f64 / args.duration),
        "p50_ms": ms(percentile(&lat, 0.50)),
        "p90_ms": ms(percentile(&lat, 0.90)),
        "p99_ms": ms(percentile(&lat, 0.99)),
        "max_ms": ms(lat.last().copied()),
        "mean_ms": ms(mean),
        "status": stats.status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "errors": stats.errors,
        "mean_rows_per_response": (stats.sampled > 0).then(|| ((stats.sampled_rows as f64 / stats.sampled as f64) * 100.0).round() / 100.0),
        "mean_response_bytes": (requests > 0).then(|| stats.bytes / requests),
        "loadgen_cpu_s": ((cpu1 - cpu0) * 100.0).round() / 100.0,
        "loadgen_wall_s": (wall * 100.0).round() / 100.0,
    });
    if args.scenario == Scenario::ById {
        report["id_range"] = json!([args.id_min, id_max]);
    }
    if let (Some(before), Some(after), Some(pid)) = (server0, server1, args.server_pid) {
        report["server_cpu_s"] = json!(((after - before) * 100.0).round() / 100.0);
        if requests > 0 {
            report["server_cpu_ms_per_req"] =
                json!(((after - before) * 1000.0 / requests as f64 * 1000.0).round() / 1000.0);
        }
        report["server_rss_mib"] = json!(rss_mib(pid));
    }
    if let (Some(before), Some(after), Some(name)) = (other0, other1, &args.cpu_of_command) {
        report["other_command"] = json!(name);
        report["other_cpu_s"] = json!(((after - before) * 100.0).round() / 100.0);
        if requests > 0 {
            report["other_cpu_ms_per_req"] =
                json!(((after - before) * 1000.0 / requests as f64 * 1000.0).round() / 1000.0);
        }
    }
    let show = |key: &str| report.get(key).map_or_else(String::new, Value::to_string);
    let mut err = std::io::stderr();
    writeln!(
        err,
        "{:<9} c={:<3} {:>8} req/s  ok={ok}  p50={} ms  p90={} ms  p99={} ms  max={} ms  status={}{}",
        args.scenario.name(),
        args.concurrency,
        show("rps"),
        show("p50_ms"),
        show("p90_ms"),
        show("p99_ms"),
        show("max_ms"),
        show("status"),
        if stats.errors.is_empty() {
            String::new()
        } else {
            format!("  errors={}", show("errors"))
        }
    )?;
    println!("RESULT {report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_the_python_tool() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&values, 0.5), Some(2.5));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 1.0), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_seconds("self").is_some());
    }
}
