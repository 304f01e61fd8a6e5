//! The expected-results ledger: for an item, every check the rules called
//! for and where it stands (queued, running, finished, or not run and
//! why), at `GET /api/v1/items/{type}/{item}/expected`; and the writer of
//! the QUEUED and RUNNING results that stand in the result store for a job
//! until its final result replaces them.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};
use taskotron_store::StoreError;
use taskotron_store::events::{EventFilter, EventState};
use taskotron_store::jobs::{Job, JobFilter, JobState, WorkerCaps};
use taskotron_store::resultsdb::{GroupUpdate, NewResult};

use crate::AppState;
use crate::error::ApiError;
use crate::jobs::{opt_time, render_key, time};

/// Jobs and events the ledger reads per item, newest first.
const LEDGER_ROWS: u32 = 1000;
/// Placeholders written per pass.
const PLACEHOLDERS_PER_PASS: u32 = 500;

/// The ledger's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items/{item_type}/{item}/expected", get(expected))
        .route("/api/v1/checks/flakiness", get(flakiness))
}

/// `part / whole`, 0 when `whole` is 0.
#[allow(clippy::cast_precision_loss, reason = "a rate needs no exact counts")]
fn rate(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        part as f64 / whole as f64
    } else {
        0.0
    }
}

/// Each check's verdict flips on repeated runs of the same input.
async fn flakiness(State(state): State<AppState>) -> Result<Response, ApiError> {
    let data: Vec<Value> = state
        .store
        .flakiness()
        .await?
        .iter()
        .map(|it| {
            json!({
                "check": it.check,
                "runs": it.runs,
                "repeated_runs": it.repeated,
                "flips": it.flips,
                "flip_rate": rate(it.flips, it.repeated),
            })
        })
        .collect();
    Ok(Json(json!({"data": data})).into_response())
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Whether a worker with `caps` may run `job`.
fn can_run(caps: &WorkerCaps, job: &Job) -> bool {
    job.requires
        .arch
        .as_ref()
        .is_none_or(|arch| caps.arches.contains(arch))
        && job
            .requires
            .sandbox
            .as_ref()
            .is_none_or(|it| caps.sandboxes.contains(it))
        && job
            .requires
            .labels
            .iter()
            .all(|it| caps.labels.contains(it))
}

/// What a job needs, in words.
fn needs(job: &Job) -> String {
    let mut parts = Vec::new();
    if let Some(arch) = &job.requires.arch {
        parts.push(format!("arch {arch}"));
    }
    if let Some(sandbox) = &job.requires.sandbox {
        parts.push(format!("sandbox {sandbox}"));
    }
    if !job.requires.labels.is_empty() {
        parts.push(format!("labels {}", job.requires.labels.join(", ")));
    }
    if parts.is_empty() {
        "nothing in particular".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Where one job stands: a stable reason code and words.
fn standing(job: &Job, workers: &[WorkerCaps], now: i64) -> (&'static str, String) {
    let last = job.attempts.last();
    match job.state {
        JobState::Queued if job.not_before > now && job.attempt_count > 0 => (
            "retrying",
            format!(
                "queued again after {}; attempt {} of {} may start at {}",
                last.and_then(|it| it.end_reason.as_deref())
                    .unwrap_or("an attempt that did not finish"),
                job.attempt_count + 1,
                job.max_attempts,
                time(job.not_before).as_str().unwrap_or_default()
            ),
        ),
        JobState::Queued if job.not_before > now => (
            "debounced",
            format!(
                "waiting until {} before it may start",
                time(job.not_before).as_str().unwrap_or_default()
            ),
        ),
        JobState::Queued if !workers.iter().any(|it| can_run(it, job)) => (
            "no-worker",
            format!(
                "queued, but no worker registered with this server can run it (it needs {})",
                needs(job)
            ),
        ),
        JobState::Queued if job.attempt_count > 0 => (
            "queued",
            format!(
                "queued again for attempt {} of {} after {}",
                job.attempt_count + 1,
                job.max_attempts,
                last.and_then(|it| it.end_reason.as_deref())
                    .unwrap_or("an attempt that did not finish")
            ),
        ),
        JobState::Queued => ("queued", "waiting for a worker".to_owned()),
        JobState::Running => (
            "running",
            format!(
                "running on {} (attempt {} of {})",
                job.worker.as_deref().unwrap_or("a worker"),
                job.attempt_count,
                job.max_attempts
            ),
        ),
        JobState::Finished => (
            "finished",
            format!(
                "finished: {}",
                job.outcome.as_deref().unwrap_or("no outcome")
            ),
        ),
        JobState::Crashed => (
            "crashed",
            format!(
                "crashed after {} attempt(s): {}",
                job.attempt_count,
                job.outcome
                    .as_deref()
                    .or_else(|| last.and_then(|it| it.end_reason.as_deref()))
                    .unwrap_or("no reason recorded")
            ),
        ),
        JobState::Cancelled => ("cancelled", "cancelled".to_owned()),
        JobState::TimedOut => (
            "timed-out",
            format!(
                "timed out: {}",
                job.outcome.as_deref().unwrap_or("no outcome")
            ),
        ),
    }
}

/// A planning note's reason code and, when it names one, its check.
fn classify(note: &str) -> (&'static str, Option<String>) {
    let named = note
        .split('`')
        .nth(1)
        .filter(|it| !it.is_empty())
        .map(str::to_owned);
    if note.contains(" excluded by rule `") {
        ("excluded", named.filter(|_| note.starts_with("task `")))
    } else if note == "no rule matched" {
        ("no-rule-matched", None)
    } else if note.contains("task formula") || note.contains("check name") {
        ("task-missing", named)
    } else if note.contains("discover") || note.contains(".git") {
        ("discovery", None)
    } else {
        ("note", named)
    }
}

async fn expected(
    State(state): State<AppState>,
    Path((item_type, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(ledger(&state, &item_type, &item).await?).into_response())
}

/// The ledger of one item as JSON.
///
/// # Errors
///
/// A store error.
pub async fn ledger(state: &AppState, item_type: &str, item: &str) -> Result<Value, ApiError> {
    let jobs = state
        .store
        .list_jobs(&JobFilter {
            item: Some(item.to_owned()),
            limit: i64::from(LEDGER_ROWS),
            ..JobFilter::default()
        })
        .await?;
    let events = state
        .store
        .list_events(&EventFilter {
            item: Some(item.to_owned()),
            limit: Some(LEDGER_ROWS),
            ..EventFilter::default()
        })
        .await?;
    let workers = state.worker.registered();
    let now = now_micros();
    // The newest job of each (check, arch) stands for it; older ones (an
    // earlier item revision, a re-run's predecessor) are counted.
    let mut newest: BTreeMap<(String, String), (&Job, usize)> = BTreeMap::new();
    for job in jobs.iter().filter(|it| it.key.item_type == item_type) {
        newest
            .entry((job.key.check.clone(), job.key.arch.clone()))
            .and_modify(|(kept, older)| {
                *older += 1;
                if (job.created_at, job.key.rerun) > (kept.created_at, kept.key.rerun) {
                    *kept = job;
                }
            })
            .or_insert((job, 0));
    }
    let checks: Vec<Value> = newest
        .values()
        .map(|(job, older)| {
            let (code, words) = standing(job, &workers, now);
            json!({
                "check": job.key.check,
                "arch": job.key.arch,
                "state": job.state.as_str(),
                "reason_code": code,
                "reason": words,
                "outcome": job.outcome,
                "job": job.uuid,
                "key": render_key(&job.key),
                "attempts": job.attempt_count,
                "max_attempts": job.max_attempts,
                "not_before": time(job.not_before),
                "updated_at": time(job.updated_at),
                "earlier_jobs": older,
            })
        })
        .collect();
    let mut not_run = Vec::new();
    let mut seen_notes = std::collections::BTreeSet::new();
    let mut pending = 0;
    for event in events
        .iter()
        .filter(|it| it.item_type.as_deref() == Some(item_type))
    {
        match event.state {
            EventState::New => pending += 1,
            EventState::Rejected | EventState::Ignored => not_run.push(json!({
                "reason_code": if event.state == EventState::Rejected {
                    "event-rejected"
                } else {
                    "event-ignored"
                },
                "reason": event.reason,
                "check": Value::Null,
                "event": event.uuid,
                "received_at": time(event.received_at),
            })),
            EventState::Planned => {
                for note in event.reason.as_deref().unwrap_or("").split("; ") {
                    if note.is_empty() || !seen_notes.insert(note.to_owned()) {
                        continue;
                    }
                    let (code, check) = classify(note);
                    not_run.push(json!({
                        "reason_code": code,
                        "reason": note,
                        "check": check,
                        "event": event.uuid,
                        "received_at": time(event.received_at),
                    }));
                }
            }
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for check in &checks {
        *counts
            .entry(check["reason_code"].as_str().unwrap_or("unknown"))
            .or_default() += 1;
    }
    Ok(json!({
        "item_type": item_type,
        "item": item,
        "checks": checks,
        "not_run": not_run,
        "events": {
            "total": events.iter().filter(|it| it.item_type.as_deref() == Some(item_type)).count(),
            "waiting_for_planner": pending,
            "latest": events
                .iter()
                .find(|it| it.item_type.as_deref() == Some(item_type))
                .map(|it| time(it.received_at)),
        },
        "summary": counts,
        "generated_at": opt_time(Some(now)),
    }))
}

/// One pass of the placeholder writer: a QUEUED result for each waiting
/// job and a RUNNING result for each running attempt that has none yet,
/// in the job's group, dated when the job entered that state. Answers how
/// many it wrote.
///
/// # Errors
///
/// A store error; what was written stays written, and the next pass
/// writes the rest.
pub async fn placeholders_once(state: &AppState) -> Result<usize, StoreError> {
    let pending = state
        .store
        .pending_placeholders(PLACEHOLDERS_PER_PASS)
        .await?;
    // All at once: the store's writer commits concurrent results together.
    let mut writes = tokio::task::JoinSet::new();
    for placeholder in pending {
        let key = &placeholder.key;
        let note = match placeholder.outcome {
            "RUNNING" => format!(
                "running on {} (attempt {})",
                placeholder.worker.as_deref().unwrap_or("a worker"),
                placeholder.attempt
            ),
            _ => "queued: waiting for a worker".to_owned(),
        };
        let job_url = crate::job_results::job_url(state, &placeholder.uuid);
        let new = NewResult {
            testcase: key.check.clone(),
            testcase_ref_url: None,
            outcome: placeholder.outcome.to_owned(),
            note: Some(note),
            ref_url: Some(job_url.clone()),
            submit_time: placeholder.since,
            groups: vec![GroupUpdate {
                uuid: placeholder.uuid.clone(),
                description: None,
                ref_url: Some(Some(job_url)),
            }],
            data: vec![
                ("arch".to_owned(), key.arch.clone()),
                ("item".to_owned(), key.item.clone()),
                ("type".to_owned(), key.item_type.clone()),
            ],
        };
        let store = state.store.clone();
        writes.spawn(async move {
            store
                .create_result(&new, |_| None)
                .await
                .map(|_| (placeholder.job_id, placeholder.mark))
        });
    }
    let mut marks = Vec::with_capacity(writes.len());
    let mut failed = None;
    while let Some(done) = writes.join_next().await {
        match done {
            Ok(Ok(mark)) => marks.push(mark),
            Ok(Err(err)) => failed = Some(err),
            Err(err) => {
                failed = Some(StoreError::Write(format!(
                    "a placeholder write died: {err}"
                )));
            }
        }
    }
    // What was written is recorded even when some writes failed, so it is
    // not written twice.
    state.store.mark_placeholders(&marks).await?;
    if let Some(err) = failed {
        return Err(err);
    }
    Ok(marks.len())
}

/// Placeholder passes until one finds fewer than a full batch (at most 20
/// in a row, so a flood never starves the sweeper). Answers how many it
/// wrote.
///
/// # Errors
///
/// As [`placeholders_once`].
pub async fn placeholders(state: &AppState) -> Result<usize, StoreError> {
    let mut written = 0;
    for _ in 0..20 {
        let now = placeholders_once(state).await?;
        written += now;
        if now < PLACEHOLDERS_PER_PASS as usize {
            break;
        }
    }
    Ok(written)
}
