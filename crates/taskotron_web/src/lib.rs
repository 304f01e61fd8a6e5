//! Taskotron's HTTP server.
//!
//! [`router`] builds the axum application over an [`AppState`]: the home
//! page, `/healthz`, `/version`, `/metrics` (Prometheus text format) and the
//! ResultsDB v2.0 API under `/api/v2.0` ([`resultsdb`]), Greenwave's
//! decision API ([`greenwave`]) and WaiverDB's API ([`waivers`]) under
//! `/api/v1.0`, and the jobs API and worker protocol under `/api/v1`
//! ([`jobs`], [`worker_api`]).
//!
//! Architecture invariant: the server never executes tasks (this crate does not
//! depend on `taskotron_runner`) and holds no SQL (it goes through
//! `taskotron_store`).

pub mod artifacts;
pub mod auth;
pub mod error;
pub mod events;
pub mod greenwave;
pub mod job_results;
pub mod jobs;
pub mod ledger;
pub mod outbox;
pub mod resultsdb;
pub mod waivers;
pub mod worker_api;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::json;
use taskotron_store::Store;
use tower_http::trace::TraceLayer;

/// The version the server reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Labels of the HTTP request metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// The server's Prometheus metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
    /// Results stored through the ResultsDB API.
    pub(crate) results_created: Counter,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("taskotron");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let up = Gauge::<i64>::default();
        up.set(1);
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            durations.clone(),
        );
        registry.register("up", "1 while the server runs", up);
        let results_created = Counter::default();
        registry.register(
            "results_created",
            "Results stored through the ResultsDB API",
            results_created.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            durations,
            results_created,
        }
    }

    /// Register more metrics (the scheduler's, …) in the server's registry.
    pub fn register_with(&self, register: impl FnOnce(&mut Registry)) {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        register(&mut registry);
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// How the ResultsDB API behaves.
    pub resultsdb: Arc<resultsdb::ResultsdbSettings>,
    /// The gating policies the Greenwave API decides with.
    pub gating: greenwave::Shared,
    /// The worker protocol's tokens, registrations and wake-ups.
    pub worker: Arc<worker_api::WorkerSettings>,
    /// Wakes the scheduler's planner when the API records an event.
    pub scheduler_wake: Arc<tokio::sync::Notify>,
    /// Where job logs and artifacts go, and their limits.
    pub job_files: Arc<artifacts::JobFiles>,
}

impl AppState {
    /// State over an open store, with fresh metrics and default API settings.
    pub fn new(store: Store) -> AppState {
        AppState::with_settings(store, resultsdb::ResultsdbSettings::new(&[]))
    }

    /// State over an open store with these ResultsDB API settings.
    pub fn with_settings(store: Store, settings: resultsdb::ResultsdbSettings) -> AppState {
        AppState {
            store,
            metrics: Arc::new(Metrics::new()),
            resultsdb: Arc::new(settings),
            gating: Arc::new(greenwave::GatingSettings::default()),
            worker: Arc::new(worker_api::WorkerSettings::default()),
            scheduler_wake: Arc::new(tokio::sync::Notify::new()),
            job_files: Arc::new(artifacts::JobFiles::default()),
        }
    }

    /// The same state, deciding with these policies.
    #[must_use]
    pub fn with_policies(mut self, policies: Vec<taskotron_gating::Policy>) -> AppState {
        let mut gating = (*self.gating).clone();
        gating.policies = policies;
        self.gating = Arc::new(gating);
        self
    }

    /// The same state, with these gating settings (policies, waiver
    /// rules, subject types, Koji and dist-git).
    #[must_use]
    pub fn with_gating(mut self, gating: greenwave::GatingSettings) -> AppState {
        self.gating = Arc::new(gating);
        self
    }

    /// The same state, letting these users waive for others.
    #[must_use]
    pub fn with_waiver_superusers(mut self, superusers: Vec<String>) -> AppState {
        let mut gating = (*self.gating).clone();
        gating.superusers = superusers;
        self.gating = Arc::new(gating);
        self
    }
}

impl AppState {
    /// The same state, with these worker API settings.
    #[must_use]
    pub fn with_worker_api(mut self, settings: worker_api::WorkerSettings) -> AppState {
        self.worker = Arc::new(settings);
        self
    }

    /// The same state, keeping job logs and artifacts so.
    #[must_use]
    pub fn with_job_files(mut self, files: artifacts::JobFiles) -> AppState {
        self.job_files = Arc::new(files);
        self
    }

    /// The same state, waking this planner when the API records an event.
    pub fn with_scheduler_wake(mut self, wake: Arc<tokio::sync::Notify>) -> AppState {
        self.scheduler_wake = wake;
        self
    }
}

/// The whole application. A path with doubled slashes
/// (`//api/v1.0/decision`, which clients make by joining a base URL that
/// ends in `/`) is served as if they were single, without a redirect.
pub fn router(state: AppState) -> Router {
    let inner = routes(state);
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(single_slashes)
            .service(inner),
    )
}

/// The request with every run of slashes in its path made one.
fn single_slashes(mut request: Request) -> Request {
    let uri = request.uri();
    if !uri.path().contains("//") {
        return request;
    }
    let mut path = String::with_capacity(uri.path().len());
    for ch in uri.path().chars() {
        if !(ch == '/' && path.ends_with('/')) {
            path.push(ch);
        }
    }
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(it) = path_and_query.parse() {
        parts.path_and_query = Some(it);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            // Links the APIs build from the request's URI use single slashes too.
            request
                .extensions_mut()
                .insert(axum::extract::OriginalUri(uri.clone()));
            *request.uri_mut() = uri;
        }
    }
    request
}

fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/version", get(version))
        .route("/metrics", get(metrics))
        .merge(resultsdb::routes())
        .merge(greenwave::routes())
        .merge(jobs::routes())
        .merge(events::routes())
        .merge(ledger::routes())
        .merge(waivers::routes())
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |it| it.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .durations
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn home() -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Taskotron</title></head>
<body>
<h1>Taskotron</h1>
<p>Version {VERSION}. Results are served under /api/v2.0.</p>
<ul>
<li><a href="/healthz">/healthz</a>: health</li>
<li><a href="/version">/version</a>: version</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="/api/v2.0">/api/v2.0</a>: the ResultsDB API</li>
</ul>
</body></html>
"#
    ))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({"name": "taskotron", "version": VERSION}))
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn app() -> (Router, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(tmp.path()).await.unwrap();
        (router(AppState::new(store)), tmp)
    }

    async fn get_text(app: &Router, uri: &str) -> (StatusCode, String) {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn health_version_home_and_metrics() {
        let (app, _tmp) = app().await;
        assert_eq!(
            get_text(&app, "/healthz").await,
            (StatusCode::OK, r#"{"database":"ok","status":"ok"}"#.into())
        );
        let (status, body) = get_text(&app, "/version").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            format!(r#"{{"name":"taskotron","version":"{VERSION}"}}"#)
        );
        let (status, body) = get_text(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<h1>Taskotron</h1>"));
        let (status, _) = get_text(&app, "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = get_text(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(
                r#"taskotron_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{body}"
        );
        assert!(body.contains(r#"route="unmatched",status="404""#), "{body}");
    }

    #[tokio::test]
    async fn health_reports_a_dead_database() {
        let (app, _tmp) = app().await;
        // A state whose store is closed stands for a database that stopped answering.
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(tmp.path()).await.unwrap();
        store.close().await;
        let dead = router(AppState::new(store));
        let (status, body) = get_text(&dead, "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("unavailable"));
        drop(app);
    }
}
