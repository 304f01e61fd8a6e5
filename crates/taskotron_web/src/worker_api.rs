//! The worker protocol under `/api/v1/worker`, after crater's agent API:
//! a worker holds no database credentials and speaks only HTTP.
//!
//! A worker authenticates with its own Bearer token (`api.worker-tokens-file`,
//! `NAME:TOKEN` lines: the name is the worker's), registers its capabilities,
//! long-polls for a lease, heartbeats with the lease's fencing token and
//! posts its result with the same token. A heartbeat or result whose token
//! no longer holds the job (the lease expired and the sweeper took the job
//! back, the job was cancelled) is a 409: the worker must stop the task.
//! Without a token file the worker API is disabled (404).
//!
//! Worker registrations live in memory: after a restart a worker's next
//! lease request carries its capabilities again, or it registers again.
//!
//! A waiting lease request wakes when jobs become claimable: at once for
//! jobs enqueued, planned, re-run or requeued by this process (the
//! [`WorkerSettings::wake`] `Notify`), through PostgreSQL's `NOTIFY` for
//! those of the other servers sharing the database ([`listen_for_jobs`]),
//! and otherwise every [`WorkerSettings::recheck`]. Woken requests of
//! workers with the same capabilities claim one after the other, and stop
//! as soon as one of them found nothing after the wake-up, so that one
//! job does not make every waiting worker query the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_store::jobs::{
    FailureClass, FinalState, Finished, JobFilter, JobOutcome, JobState, Wakeup, WorkerCaps,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::AppState;
use crate::auth::WorkerAuth;
use crate::error::ApiError;
use crate::jobs::{RouteEntry, from_table, job_error, json_body, parse_uuid, render_key, time};

/// How the worker API behaves.
#[derive(Debug)]
pub struct WorkerSettings {
    /// The workers' tokens; `None` disables the worker API.
    pub auth: Option<WorkerAuth>,
    /// How long a lease (and each heartbeat) holds a job.
    pub lease: Duration,
    /// The longest a lease request waits for a job.
    pub max_wait: Duration,
    /// How often a waiting lease request looks at the queue even without a
    /// wake-up (jobs enqueued by another process, delays that ran out).
    pub recheck: Duration,
    /// Woken when jobs become claimable in this process.
    pub wake: Arc<Notify>,
    /// The pause before the first automatic retry of an attempt that
    /// ended in an infrastructure fault; it doubles with each attempt, up
    /// to an hour.
    pub retry_backoff: Duration,
    closing: AtomicBool,
    workers: Mutex<BTreeMap<String, WorkerInfo>>,
    /// Per set of capabilities, when the last woken claim that found
    /// nothing started (see [`WorkerSettings::claim_after_wake`]).
    gates: Mutex<HashMap<CapsKey, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

/// Capabilities as a key: workers with equal keys can run the same jobs.
type CapsKey = (Vec<String>, Vec<String>, Vec<String>);

fn caps_key(caps: &WorkerCaps) -> CapsKey {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list.dedup();
        list
    };
    (
        sorted(&caps.arches),
        sorted(&caps.sandboxes),
        sorted(&caps.labels),
    )
}

impl Default for WorkerSettings {
    fn default() -> WorkerSettings {
        WorkerSettings::new(None)
    }
}

impl WorkerSettings {
    /// Settings with these tokens and the default times: 60 s leases,
    /// 25 s long polls, a look at the queue every 2 s while waiting, 30 s
    /// before retrying an infrastructure fault.
    pub fn new(auth: Option<WorkerAuth>) -> WorkerSettings {
        WorkerSettings {
            auth,
            lease: Duration::from_secs(60),
            max_wait: Duration::from_secs(25),
            recheck: Duration::from_secs(2),
            wake: Arc::default(),
            retry_backoff: Duration::from_secs(30),
            closing: AtomicBool::new(false),
            workers: Mutex::default(),
            gates: Mutex::default(),
        }
    }

    /// Claim a job for a lease request woken at `woken`, unless a request
    /// of a worker with the same capabilities started a claim after that
    /// and found nothing: then every job the wake-up announced is taken,
    /// and this one answers `None` without asking the database. Such claims
    /// run one at a time per set of capabilities.
    async fn claim_after_wake(
        &self,
        store: &Store,
        caps: &WorkerCaps,
        woken: Instant,
    ) -> Result<Option<taskotron_store::jobs::Lease>, taskotron_store::StoreError> {
        let gate = {
            let mut gates = self
                .gates
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(gates.entry(caps_key(caps)).or_default())
        };
        let mut last_empty = gate.lock().await;
        if last_empty.is_some_and(|it| it >= woken) {
            return Ok(None);
        }
        let started = Instant::now();
        let lease = store.claim_job(caps, self.lease).await?;
        if lease.is_none() {
            *last_empty = Some(started);
        }
        Ok(lease)
    }

    /// The server is stopping: waiting lease requests answer 204 at once
    /// and new ones claim nothing, so shutdown does not wait for long polls.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, WorkerInfo>> {
        self.workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The capabilities of every worker registered with this server.
    pub(crate) fn registered(&self) -> Vec<WorkerCaps> {
        self.registry()
            .iter()
            .map(|(name, info)| info.caps.caps(name))
            .collect()
    }

    /// The worker's name, checking its token; 404 when the API is disabled.
    fn authenticate(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        match &self.auth {
            Some(auth) => auth.check(headers),
            None => Err(ApiError::NotFound(
                "the worker API is disabled: set api.worker-tokens-file in the server's \
                 configuration"
                    .to_owned(),
            )),
        }
    }

    fn touch(&self, name: &str) {
        if let Some(info) = self.registry().get_mut(name) {
            info.last_seen = chrono::Utc::now();
        }
    }
}

/// What a worker announced, and when it was last heard from.
#[derive(Debug, Clone)]
struct WorkerInfo {
    caps: Capabilities,
    registered_at: chrono::DateTime<chrono::Utc>,
    last_seen: chrono::DateTime<chrono::Utc>,
}

fn one() -> u32 {
    1
}

/// What a worker offers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Capabilities {
    /// The worker's name; must be the token's when given.
    name: Option<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    sandboxes: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default = "one")]
    slots: u32,
}

impl Capabilities {
    fn check(&self, worker: &str) -> Result<(), ApiError> {
        if let Some(name) = &self.name
            && name != worker
        {
            return Err(ApiError::validation(
                "name",
                format!("the token belongs to worker {worker:?}, not {name:?}"),
                "value_error",
            ));
        }
        for (field, values) in [
            ("arches", &self.arches),
            ("sandboxes", &self.sandboxes),
            ("labels", &self.labels),
        ] {
            if values.len() > 64 {
                return Err(ApiError::validation(
                    field,
                    "at most 64 entries".to_owned(),
                    "too_long",
                ));
            }
            if let Some(bad) = values
                .iter()
                .find(|it| it.is_empty() || it.len() > 100 || it.chars().any(char::is_whitespace))
            {
                return Err(ApiError::validation(
                    field,
                    format!("{bad:?} must be 1 to 100 characters without white space"),
                    "value_error",
                ));
            }
        }
        if !(1..=256).contains(&self.slots) {
            return Err(ApiError::validation(
                "slots",
                "must be from 1 to 256".to_owned(),
                "value_error",
            ));
        }
        Ok(())
    }

    fn caps(&self, worker: &str) -> WorkerCaps {
        WorkerCaps {
            name: worker.to_owned(),
            arches: self.arches.clone(),
            sandboxes: self.sandboxes.clone(),
            labels: self.labels.clone(),
        }
    }
}

pub(crate) fn table() -> Vec<RouteEntry> {
    vec![
        ("POST", "/api/v1/worker/register", post(register)),
        ("POST", "/api/v1/worker/lease", post(lease)),
        (
            "POST",
            "/api/v1/worker/jobs/{uuid}/heartbeat",
            post(heartbeat),
        ),
        ("POST", "/api/v1/worker/jobs/{uuid}/result", post(result)),
        ("GET", "/api/v1/workers", get(list_workers)),
    ]
    .into_iter()
    .chain(crate::artifacts::table())
    .collect()
}

/// The worker protocol's routes.
pub fn routes() -> Router<AppState> {
    from_table(table())
}

/// What the server tells a worker about timing.
fn timing(settings: &WorkerSettings) -> Value {
    json!({
        "lease_seconds": settings.lease.as_secs_f64(),
        "heartbeat_seconds": (settings.lease / 3).as_secs_f64(),
        "max_wait_seconds": settings.max_wait.as_secs_f64(),
    })
}

fn record(settings: &WorkerSettings, name: &str, caps: Capabilities) {
    let now = chrono::Utc::now();
    let mut registry = settings.registry();
    let registered_at = registry.get(name).map_or(now, |it| it.registered_at);
    registry.insert(
        name.to_owned(),
        WorkerInfo {
            caps,
            registered_at,
            last_seen: now,
        },
    );
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let settings = &state.worker;
    let name = settings.authenticate(&headers)?;
    let caps: Capabilities = json_body(&state, &headers, body, false).await?;
    caps.check(&name)?;
    tracing::info!(worker.name = %name, arches = ?caps.arches, sandboxes = ?caps.sandboxes,
        labels = ?caps.labels, slots = caps.slots, "worker registered");
    record(settings, &name, caps);
    Ok(Json(json!({"name": name, "config": timing(settings)})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseRequest {
    /// How long to wait for a job, at most the server's `max_wait`.
    wait_seconds: Option<f64>,
    /// Capabilities, registering the worker again (after a server restart).
    capabilities: Option<Capabilities>,
}

async fn lease(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let settings = state.worker.clone();
    let name = settings.authenticate(&headers)?;
    let request: LeaseRequest = json_body(&state, &headers, body, true).await?;
    if let Some(caps) = request.capabilities {
        caps.check(&name)?;
        record(&settings, &name, caps);
    }
    let Some(caps) = settings.registry().get(&name).map(|it| it.caps.caps(&name)) else {
        return Err(ApiError::BadRequest(format!(
            "worker {name} is not registered: POST /api/v1/worker/register, or send \
             \"capabilities\" with the lease request"
        )));
    };
    settings.touch(&name);
    let wait = match request.wait_seconds {
        Some(secs) if secs.is_finite() && secs >= 0.0 => {
            Duration::from_secs_f64(secs.min(settings.max_wait.as_secs_f64()))
        }
        Some(_) => {
            return Err(ApiError::validation(
                "wait_seconds",
                "must be a number of seconds, 0 or more".to_owned(),
                "greater_than_equal",
            ));
        }
        None => settings.max_wait,
    };
    let deadline = Instant::now() + wait;
    // When a wake-up (rather than the request's arrival or the periodic
    // look) made this pass claim.
    let mut woken = None;
    loop {
        // Listen before looking, so an enqueue between the look and the
        // wait is not missed.
        let notified = settings.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if settings.is_closing() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let claimed = match woken {
            Some(at) => settings.claim_after_wake(&state.store, &caps, at).await?,
            None => state.store.claim_job(&caps, settings.lease).await?,
        };
        if let Some(lease) = claimed {
            tracing::info!(job.id = %lease.uuid, worker.name = %name, token = lease.token,
                attempt = lease.attempt, "job leased");
            let mut body = json!({
                "uuid": lease.uuid,
                "key": render_key(&lease.key),
                "attempt": lease.attempt,
                "token": lease.token,
                "lease_expires_at": time(lease.expires_at),
                "source": lease
                    .source
                    .as_deref()
                    .and_then(|it| serde_json::from_str::<Value>(it).ok()),
            });
            if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), timing(&settings)) {
                obj.extend(more);
            }
            return Ok(Json(body).into_response());
        }
        let now = Instant::now();
        if now >= deadline {
            settings.touch(&name);
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let nap = (deadline - now).min(settings.recheck);
        woken = tokio::select! {
            () = &mut notified => Some(Instant::now()),
            () = tokio::time::sleep(nap) => None,
        };
    }
}

/// Wake this server's waiting lease requests whenever another process
/// sharing the PostgreSQL database makes jobs claimable (its `NOTIFY`),
/// and once more after the listening connection was lost and made again.
/// Runs until aborted; returns at once on SQLite, where this process is the
/// only one.
pub async fn listen_for_jobs(store: Store, wake: Arc<Notify>) {
    let mut failures = 0_u32;
    // 0.5 s after the first failure, doubling up to a minute.
    let pause = |failures: &mut u32| {
        *failures = failures.saturating_add(1);
        Duration::from_millis(250).saturating_mul(1 << (*failures).min(8))
    };
    let mut wakeups = loop {
        match store.job_wakeups().await {
            Ok(Some(it)) => break it,
            Ok(None) => return,
            Err(err) => {
                let wait = pause(&mut failures);
                tracing::warn!(error = %err, retry_in = ?wait,
                    "cannot listen for jobs enqueued by other servers; waiting requests look every few seconds meanwhile");
                tokio::time::sleep(wait).await;
            }
        }
    };
    tracing::info!(
        channel = wakeups.channel(),
        "listening for jobs enqueued by other servers"
    );
    // Whatever was enqueued before listening began.
    wake.notify_waiters();
    loop {
        match wakeups.next().await {
            Ok(Wakeup::Jobs) => {
                failures = 0;
                wake.notify_waiters();
            }
            Ok(Wakeup::Reconnected) => {
                tracing::info!("listening again for jobs enqueued by other servers");
                failures = 0;
                wake.notify_waiters();
            }
            Err(err) => {
                let wait = pause(&mut failures);
                tracing::warn!(error = %err, retry_in = ?wait,
                    "lost the connection that listens for jobs; trying again");
                tokio::time::sleep(wait).await;
                wake.notify_waiters();
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatRequest {
    token: i64,
}

/// 409 unless the job's current attempt is this worker's under `token`
/// (the store checks the token again when it writes).
async fn check_holder(
    state: &AppState,
    uuid: &str,
    name: &str,
    token: i64,
) -> Result<i64, ApiError> {
    let job = state
        .store
        .get_job(uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {uuid} not found")))?;
    if job.worker.as_deref() != Some(name) || job.token != token {
        tracing::warn!(job.id = %uuid, worker.name = %name, token, "a worker spoke for a job it does not hold");
        return Err(ApiError::Store(taskotron_store::StoreError::StaleAttempt {
            job: uuid.to_owned(),
            token,
        }));
    }
    Ok(job.attempt_count)
}

async fn heartbeat(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let settings = &state.worker;
    let name = settings.authenticate(&headers)?;
    let uuid = parse_uuid(&uuid)?;
    let request: HeartbeatRequest = json_body(&state, &headers, body, false).await?;
    settings.touch(&name);
    check_holder(&state, &uuid, &name, request.token).await?;
    let expires = state
        .store
        .heartbeat(&uuid, request.token, settings.lease)
        .await
        .map_err(job_error(&uuid))?;
    tracing::debug!(job.id = %uuid, worker.name = %name, "lease renewed");
    Ok(Json(json!({
        "uuid": uuid,
        "lease_expires_at": time(expires),
        "lease_seconds": settings.lease.as_secs_f64(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultRequest {
    token: i64,
    state: String,
    exit_status: Option<i64>,
    outcome: Option<String>,
    log_url: Option<String>,
    artifacts_url: Option<String>,
    result_group: Option<String>,
    /// `verdict`, `task` or `infra`; without it, `verdict` for a finished
    /// job and `task` otherwise.
    class: Option<String>,
    /// The task's results, as `POST /api/v2.0/results` bodies: stored in
    /// the job's group once the attempt is accepted (`job_results.rs`).
    results: Option<Vec<Value>>,
}

/// The pause before retrying attempt `attempt` (from 1) after an
/// infrastructure fault: `base` doubled for each earlier attempt, at most
/// an hour.
#[must_use]
pub fn retry_backoff(base: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(1 << doublings)
        .min(Duration::from_secs(3600))
}

async fn result(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let settings = &state.worker;
    let name = settings.authenticate(&headers)?;
    let uuid = parse_uuid(&uuid)?;
    let request: ResultRequest = json_body(&state, &headers, body, false).await?;
    let final_state = match request.state.as_str() {
        "finished" => FinalState::Finished,
        "crashed" => FinalState::Crashed,
        "timed-out" => FinalState::TimedOut,
        other => {
            return Err(ApiError::validation(
                "state",
                format!("{other:?} is not finished, crashed or timed-out"),
                "enum",
            ));
        }
    };
    if request.outcome.as_ref().is_some_and(|it| it.len() > 1000) {
        return Err(ApiError::validation(
            "outcome",
            "at most 1000 bytes".to_owned(),
            "string_too_long",
        ));
    }
    let class = match request.class.as_deref() {
        None if final_state == FinalState::Finished => FailureClass::Verdict,
        None => FailureClass::Task,
        Some(name) => FailureClass::parse(name).ok_or_else(|| {
            ApiError::validation(
                "class",
                format!("{name:?} is not verdict, task or infra"),
                "enum",
            )
        })?,
    };
    if class == FailureClass::Verdict && final_state != FinalState::Finished {
        return Err(ApiError::validation(
            "class",
            format!(
                "a verdict finishes the job; the state is {:?}",
                request.state
            ),
            "value_error",
        ));
    }
    let results = request
        .results
        .as_deref()
        .map(|it| crate::job_results::check(&state, it))
        .transpose()?;
    settings.touch(&name);
    let attempt = check_holder(&state, &uuid, &name, request.token).await?;
    // The links the attempt's uploads set, unless the worker sends its own.
    let (log_url, artifacts_url) =
        crate::artifacts::uploaded_links(&state, &uuid, request.token).await?;
    let outcome = JobOutcome {
        state: final_state,
        exit_status: request.exit_status,
        outcome: request.outcome,
        log_url: request.log_url.or(log_url),
        artifacts_url: request.artifacts_url.or(artifacts_url),
        result_group: request.result_group,
        class: Some(class),
        retry_after: (class == FailureClass::Infra)
            .then(|| retry_backoff(settings.retry_backoff, attempt)),
        results,
    };
    let finished = state
        .store
        .finish_job(&uuid, request.token, &outcome)
        .await
        .map_err(job_error(&uuid))?;
    tracing::info!(job.id = %uuid, worker.name = %name, state = %request.state,
        class = class.as_str(), outcome = outcome.outcome.as_deref().unwrap_or(""),
        "job result accepted");
    if finished == Finished::Ended && outcome.results.is_some() {
        // Store the results now; the sweeper's pass does what this misses.
        let relay = state.clone();
        tokio::spawn(async move {
            if let Err(err) = crate::job_results::store_pending(&relay).await {
                tracing::warn!(error = %err, "cannot store a job's results yet; the sweeper tries again");
            }
        });
    }
    Ok(match finished {
        Finished::Ended => Json(json!({"uuid": uuid, "state": request.state})),
        Finished::Retrying { not_before } => {
            tracing::info!(job.id = %uuid, "an infrastructure fault: the job is queued again");
            Json(json!({"uuid": uuid, "state": "queued", "retry_at": time(not_before)}))
        }
    }
    .into_response())
}

async fn list_workers(State(state): State<AppState>) -> Result<Response, ApiError> {
    let settings = &state.worker;
    if settings.auth.is_none() {
        settings.authenticate(&HeaderMap::new())?;
    }
    let running = state
        .store
        .list_jobs(&JobFilter {
            state: Some(JobState::Running),
            limit: crate::jobs::MAX_JOBS as i64,
            ..JobFilter::default()
        })
        .await?;
    let data: Vec<Value> = settings
        .registry()
        .iter()
        .map(|(name, info)| {
            json!({
                "name": name,
                "arches": info.caps.arches,
                "sandboxes": info.caps.sandboxes,
                "labels": info.caps.labels,
                "slots": info.caps.slots,
                "registered_at": info.registered_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "last_seen": info.last_seen.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "jobs": running
                    .iter()
                    .filter(|job| job.worker.as_deref() == Some(name.as_str()))
                    .map(|job| job.uuid.as_str())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"data": data})).into_response())
}
