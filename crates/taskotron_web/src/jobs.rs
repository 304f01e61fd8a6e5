//! The jobs JSON API under `/api/v1/jobs` and the lease sweeper.
//!
//! Reads are open; enqueuing and cancelling are writes, protected like the
//! ResultsDB POSTs (`api.tokens-file`, `api.users-file`). Every route is
//! described in `docs/worker-protocol.md`, and a test checks the document
//! against [`route_list`].

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use taskotron_store::StoreError;
use taskotron_store::jobs::{
    Enqueued, Expired, FailureClass, Job, JobFilter, JobKey, JobState, NewJob, Requirements,
};

use crate::AppState;
use crate::error::ApiError;

/// The most jobs one list or one enqueue may hold.
pub const MAX_JOBS: usize = 1000;
/// The longest delay a job may be enqueued with (a year).
const MAX_DELAY_SECS: u64 = 366 * 24 * 3600;

/// One route: method, path (axum's syntax) and its handler.
pub(crate) type RouteEntry = (&'static str, &'static str, MethodRouter<AppState>);

fn table() -> Vec<RouteEntry> {
    vec![
        ("GET", "/api/v1/jobs", get(list_jobs)),
        ("POST", "/api/v1/jobs", post(enqueue)),
        ("GET", "/api/v1/jobs/{uuid}", get(one_job)),
        ("POST", "/api/v1/jobs/{uuid}/cancel", post(cancel)),
        ("POST", "/api/v1/jobs/{uuid}/rerun", post(rerun)),
    ]
}

/// Build a router from a route table (paths with several methods merge).
pub(crate) fn from_table(entries: Vec<RouteEntry>) -> Router<AppState> {
    entries
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// The jobs API and the worker protocol.
pub fn routes() -> Router<AppState> {
    from_table(table()).merge(crate::worker_api::routes())
}

/// Every route of the jobs API and the worker protocol, as (method, path).
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    table()
        .into_iter()
        .chain(crate::worker_api::table())
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// A time in microseconds since the epoch as RFC 3339 in UTC.
pub(crate) fn time(micros: i64) -> Value {
    chrono::DateTime::from_timestamp_micros(micros).map_or(Value::Null, |it| {
        Value::String(it.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    })
}

pub(crate) fn opt_time(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, time)
}

/// A job key as JSON.
pub(crate) fn render_key(key: &JobKey) -> Value {
    json!({
        "check": key.check,
        "check_revision": key.check_revision,
        "item_type": key.item_type,
        "item": key.item,
        "item_revision": key.item_revision,
        "arch": key.arch,
        "rerun": key.rerun,
    })
}

/// A job with its attempts as JSON (fencing tokens are not shown).
pub fn render_job(job: &Job) -> Value {
    let attempts: Vec<Value> = job
        .attempts
        .iter()
        .map(|it| {
            json!({
                "attempt": it.attempt,
                "worker": it.worker,
                "started_at": time(it.started_at),
                "lease_expires_at": time(it.lease_expires_at),
                "ended_at": opt_time(it.ended_at),
                "end_reason": it.end_reason,
                "exit_status": it.exit_status,
                "outcome": it.outcome,
                "log_url": it.log_url,
                "artifacts_url": it.artifacts_url,
                "class": it.class.map(FailureClass::as_str),
            })
        })
        .collect();
    // Attempts that ended in an infrastructure fault before the last one:
    // a verdict reached only on retry shows them.
    let infra_faults = job
        .attempts
        .iter()
        .filter(|it| it.class == Some(FailureClass::Infra))
        .count();
    json!({
        "uuid": job.uuid,
        "key": render_key(&job.key),
        "state": job.state.as_str(),
        "priority": job.priority,
        "not_before": time(job.not_before),
        "requires": {
            "arch": job.requires.arch,
            "sandbox": job.requires.sandbox,
            "labels": job.requires.labels,
        },
        "attempt_count": job.attempt_count,
        "max_attempts": job.max_attempts,
        "lease_expires_at": opt_time(job.lease_expires_at),
        "worker": job.worker,
        "created_at": time(job.created_at),
        "updated_at": time(job.updated_at),
        "outcome": job.outcome,
        "result_group": job.result_group,
        "source": job
            .source
            .as_deref()
            .and_then(|it| serde_json::from_str::<Value>(it).ok()),
        "attempts": attempts,
        "infra_faults": infra_faults,
        "verdict_on_retry": job.state == JobState::Finished && infra_faults > 0,
    })
}

/// Read a JSON body of at most `api.max-body-bytes` into `T`; an empty body
/// reads as `{}` when `empty_ok`.
pub(crate) async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    empty_ok: bool,
) -> Result<T, ApiError> {
    let limit = state.resultsdb.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok {
        return serde_json::from_str("{}")
            .map_err(|err| ApiError::BadRequest(format!("the request body is invalid: {err}")));
    }
    let mimetype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mimetype != "application/json" {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::BadRequest(format!("the request body is invalid: {err}")))
}

/// A job uuid from the path: 404 for anything that is not a uuid.
pub(crate) fn parse_uuid(text: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(text)
        .map(|it| it.hyphenated().to_string())
        .map_err(|_| ApiError::NotFound(format!("job {text:?} not found")))
}

/// A store error, with the store's `NotFound` as a 404 naming the job.
pub(crate) fn job_error(uuid: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |err| match err {
        StoreError::NotFound(_) => ApiError::NotFound(format!("job {uuid} not found")),
        other => ApiError::Store(other),
    }
}

fn filter_from(query: Option<&str>) -> Result<JobFilter, ApiError> {
    let mut filter = JobFilter::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "state" => {
                filter.state = Some(JobState::parse(&value).ok_or_else(|| {
                    ApiError::validation(
                        "state",
                        format!(
                            "unknown state {value:?}: expected queued, running, finished, \
                             crashed, cancelled or timed-out"
                        ),
                        "enum",
                    )
                })?);
            }
            "item" => filter.item = Some(value),
            "check" => filter.check = Some(value),
            "worker" => filter.worker = Some(value),
            "limit" => {
                filter.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|it| (1..=MAX_JOBS as i64).contains(it))
                    .ok_or_else(|| {
                        ApiError::validation(
                            "limit",
                            format!("must be a whole number from 1 to {MAX_JOBS}"),
                            "int_parsing",
                        )
                    })?;
            }
            other => {
                return Err(ApiError::validation(
                    other,
                    "unknown parameter: expected state, item, check, worker or limit".to_owned(),
                    "extra_forbidden",
                ));
            }
        }
    }
    Ok(filter)
}

async fn list_jobs(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let filter = filter_from(query.as_deref())?;
    let jobs = state.store.list_jobs(&filter).await?;
    let data: Vec<Value> = jobs.iter().map(render_job).collect();
    Ok(Json(json!({"data": data})).into_response())
}

async fn one_job(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = parse_uuid(&uuid)?;
    match state.store.get_job(&uuid).await? {
        Some(job) => Ok(Json(render_job(&job)).into_response()),
        None => Err(ApiError::NotFound(format!("job {uuid} not found"))),
    }
}

async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let who = state.resultsdb.auth.check(&headers)?;
    let uuid = parse_uuid(&uuid)?;
    let cancelled = state
        .store
        .cancel_job(&uuid)
        .await
        .map_err(job_error(&uuid))?;
    let job = state
        .store
        .get_job(&uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {uuid} not found")))?;
    tracing::info!(job.id = %uuid, cancelled, by = who.as_deref().unwrap_or("anonymous"), "job cancel asked");
    Ok(Json(json!({"cancelled": cancelled, "job": render_job(&job)})).into_response())
}

async fn rerun(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let who = state.resultsdb.auth.check(&headers)?;
    let uuid = parse_uuid(&uuid)?;
    let Some((key, new)) = state.store.rerun_job(&uuid).await? else {
        return Err(ApiError::NotFound(format!("job {uuid} not found")));
    };
    state.worker.wake.notify_waiters();
    let job = state
        .store
        .get_job(&new)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {new} not found")))?;
    tracing::info!(job.id = %uuid, rerun.id = %new, rerun = key.rerun, by = who.as_deref().unwrap_or("anonymous"), "job re-run asked");
    Ok((
        StatusCode::CREATED,
        Json(json!({"rerun_of": uuid, "job": render_job(&job)})),
    )
        .into_response())
}

/// What a worker must offer, as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiresJson {
    arch: Option<String>,
    sandbox: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

fn three() -> u32 {
    3
}

/// A job to enqueue, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewJobJson {
    check: String,
    check_revision: String,
    item_type: String,
    item: String,
    /// Defaults to the item.
    item_revision: Option<String>,
    arch: String,
    #[serde(default)]
    rerun: u32,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    delay_seconds: u64,
    #[serde(default)]
    requires: RequiresJson,
    #[serde(default = "three")]
    max_attempts: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnqueueJson {
    jobs: Vec<NewJobJson>,
}

fn new_job(idx: usize, job: NewJobJson) -> Result<NewJob, ApiError> {
    let item_revision = job.item_revision.unwrap_or_else(|| job.item.clone());
    for (field, value) in [
        ("check", &job.check),
        ("check_revision", &job.check_revision),
        ("item_type", &job.item_type),
        ("item", &job.item),
        ("item_revision", &item_revision),
        ("arch", &job.arch),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::validation(
                &format!("jobs.{idx}.{field}"),
                "must not be empty".to_owned(),
                "string_too_short",
            ));
        }
    }
    if job.delay_seconds > MAX_DELAY_SECS {
        return Err(ApiError::validation(
            &format!("jobs.{idx}.delay_seconds"),
            format!("must be at most {MAX_DELAY_SECS}"),
            "less_than_equal",
        ));
    }
    Ok(NewJob {
        key: JobKey {
            check: job.check,
            check_revision: job.check_revision,
            item_type: job.item_type,
            item: job.item,
            item_revision,
            arch: job.arch,
            rerun: job.rerun,
        },
        priority: job.priority,
        delay: Duration::from_secs(job.delay_seconds),
        requires: Requirements {
            arch: job.requires.arch,
            sandbox: job.requires.sandbox,
            labels: job.requires.labels,
        },
        max_attempts: job.max_attempts,
    })
}

async fn enqueue(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.resultsdb.auth.check(&headers)?;
    let request: EnqueueJson = json_body(&state, &headers, body, false).await?;
    if request.jobs.is_empty() || request.jobs.len() > MAX_JOBS {
        return Err(ApiError::validation(
            "jobs",
            format!("must hold from 1 to {MAX_JOBS} jobs"),
            "too_long",
        ));
    }
    let jobs = request
        .jobs
        .into_iter()
        .enumerate()
        .map(|(idx, job)| new_job(idx, job))
        .collect::<Result<Vec<_>, _>>()?;
    let done = state.store.enqueue_jobs(&jobs).await?;
    let mut inserted = 0_usize;
    let data: Vec<Value> = done
        .iter()
        .map(|(key, what)| {
            let status = match what {
                Enqueued::Inserted(_) => {
                    inserted += 1;
                    "inserted"
                }
                Enqueued::Existing(_) => "existing",
            };
            json!({"uuid": what.uuid(), "status": status, "key": render_key(key)})
        })
        .collect();
    if inserted > 0 {
        state.worker.wake.notify_waiters();
    }
    tracing::info!(jobs = done.len(), inserted, "jobs enqueued through the API");
    let status = if inserted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"data": data}))).into_response())
}

/// One pass of the sweeper: requeue or crash the jobs whose lease ran out,
/// and wake the waiting workers when some went back to the queue.
pub async fn sweep_once(state: &AppState) -> Result<Vec<Expired>, StoreError> {
    let expired = state.store.expire_leases().await?;
    if expired.iter().any(|it| it.state == JobState::Queued) {
        state.worker.wake.notify_waiters();
    }
    Ok(expired)
}

/// The sweeper: [`sweep_once`] and the ledger's placeholder writer
/// ([`crate::ledger::placeholders`]) every `every`, for ever (abort
/// the task to stop it). A failed pass is logged and the next one tries again.
pub async fn run_sweeper(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = sweep_once(&state).await {
            tracing::warn!(error = %err, "the lease sweeper failed; it tries again");
        }
        if let Err(err) = crate::job_results::store_pending(&state).await {
            tracing::warn!(error = %err, "storing jobs' results failed; the next pass tries again");
        }
        if let Err(err) = crate::ledger::placeholders(&state).await {
            tracing::warn!(error = %err, "writing QUEUED and RUNNING results failed; the next pass tries again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse() {
        let filter =
            filter_from(Some("state=running&item=a-1-1&check=c&worker=w&limit=5")).unwrap();
        assert_eq!(filter.state, Some(JobState::Running));
        assert_eq!(filter.item.as_deref(), Some("a-1-1"));
        assert_eq!(filter.check.as_deref(), Some("c"));
        assert_eq!(filter.worker.as_deref(), Some("w"));
        assert_eq!(filter.limit, 5);
        for bad in [
            "state=done",
            "limit=0",
            "limit=x",
            "limit=1001",
            "colour=red",
        ] {
            assert!(
                matches!(filter_from(Some(bad)), Err(ApiError::Validation { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(time(1_500_000), json!("1970-01-01T00:00:01.500000Z"));
        assert_eq!(opt_time(None), Value::Null);
    }
}
