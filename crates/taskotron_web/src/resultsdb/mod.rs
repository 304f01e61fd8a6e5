//! The ResultsDB v2.0 API under `/api/v2.0`: what Bodhi, Greenwave,
//! `resultsdb_api` and `resultsdb_conventions` talk to.
//!
//! Shapes, parameters and quirks follow the reference server (see
//! docs/resultsdb-compat.md for the deliberate differences). A posted result
//! and its `resultsdb.result.new` message commit together (the outbox); the
//! relay publishes the message after the commit.

mod body;
mod params;
mod render;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value as Json_, json};
use taskotron_store::resultsdb::{Page, ResultFilter};

use crate::AppState;
use crate::auth::WriteAuth;
use crate::error::ApiError;
use render::Urls;

/// The outcomes every ResultsDB accepts.
const BASE_OUTCOMES: [&str; 4] = ["PASSED", "INFO", "FAILED", "NEEDS_INSPECTION"];

/// How the ResultsDB API behaves: from the `[api]` and `[amqp]` config tables.
#[derive(Debug, Clone)]
pub struct ResultsdbSettings {
    /// `api.public-url`, without a trailing slash.
    pub public_url: Option<String>,
    /// The accepted outcomes: the four base ones plus `api.additional-outcomes`.
    pub outcomes: Vec<String>,
    /// `api.max-body-bytes`.
    pub max_body_bytes: usize,
    /// Who may write.
    pub auth: WriteAuth,
    /// When set, each new result writes a message with this topic prefix to
    /// the outbox (the relay publishes it); `None` when no broker is configured.
    pub publish_prefix: Option<String>,
    /// Woken after a commit that wrote to the outbox.
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

impl ResultsdbSettings {
    /// Settings with the base outcomes plus `additional`.
    pub fn new(additional: &[String]) -> ResultsdbSettings {
        let mut outcomes: Vec<String> = BASE_OUTCOMES.map(str::to_owned).to_vec();
        for outcome in additional {
            if !outcomes.contains(outcome) {
                outcomes.push(outcome.clone());
            }
        }
        ResultsdbSettings {
            public_url: None,
            outcomes,
            max_body_bytes: 1024 * 1024,
            auth: WriteAuth::default(),
            publish_prefix: None,
            outbox_wake: Arc::default(),
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2.0", get(landing))
        .route("/api/v2.0/", get(landing))
        .route("/api/v2.0/healthcheck", get(healthcheck))
        .route("/api/v2.0/results", get(list_results).post(create_result))
        .route("/api/v2.0/results/latest", get(latest_results))
        .route("/api/v2.0/results/{id}", get(get_result))
        .route("/api/v2.0/groups", get(list_groups).post(create_group))
        .route("/api/v2.0/groups/{uuid}", get(get_group))
        .route("/api/v2.0/groups/{uuid}/results", get(group_results))
        .route(
            "/api/v2.0/testcases",
            get(list_testcases).post(create_testcase),
        )
        .route("/api/v2.0/testcases/{*name}", get(get_testcase))
        .route("/api/v2.0/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::from_fn(guard))
}

/// Answers what the handlers never see: a NUL or invalid UTF-8 in the path
/// (404) or a NUL in the query (400), which no database should be asked
/// about; OPTIONS (200 with `Allow`); and a wrong method (405 as JSON).
async fn guard(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8();
    if decoded.as_ref().map_or(true, |it| it.contains('\0')) {
        return ApiError::NotFound("Not found".into()).into_response();
    }
    let query = request.uri().query().unwrap_or("");
    if params::pairs(Some(query))
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return ApiError::BadRequest("NUL characters are not allowed in query parameters".into())
            .into_response();
    }
    let options = request.method() == axum::http::Method::OPTIONS;
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut answer = if options {
        StatusCode::OK.into_response()
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(json!({"message": "The method is not allowed for the requested URL."})),
        )
            .into_response()
    };
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// `scheme://host[/prefix]` as the client sees the server.
pub(crate) fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.resultsdb.public_url {
        return url.clone();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|it| it.to_str().ok())
            .map(str::to_owned)
    };
    let scheme = header("x-forwarded-scheme").unwrap_or_else(|| "http".to_owned());
    let host = header("x-forwarded-host")
        .or_else(|| header(header::HOST.as_str()))
        .unwrap_or_else(|| "localhost".to_owned());
    let prefix = header("x-script-name").unwrap_or_default();
    format!("{scheme}://{host}{}", prefix.trim_end_matches('/'))
}

fn urls(state: &AppState, headers: &HeaderMap) -> Urls {
    Urls {
        api: format!("{}/api/v2.0", origin(state, headers)),
    }
}

/// A stored result as `GET /api/v2.0/results/<id>` shows it (Greenwave's
/// verbose decisions list results so).
pub(crate) fn result_json(
    state: &AppState,
    headers: &HeaderMap,
    result: &taskotron_store::resultsdb::StoredResult,
) -> Json_ {
    render::result(&urls(state, headers), result)
}

fn collection(data: Vec<Json_>, links: (Option<String>, Option<String>)) -> Response {
    Json(json!({"data": data, "prev": links.0, "next": links.1})).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not found".into())
}

async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let api = urls(&state, &headers).api;
    let body = json!({
        "message": "Taskotron's ResultsDB API v2.0. See the documentation for the endpoints.",
        "documentation": "https://github.com/release-engineering/resultsdb",
        "groups": format!("{api}/groups"),
        "results": format!("{api}/results"),
        "testcases": format!("{api}/testcases"),
        "outcomes": state.resultsdb.outcomes,
    });
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn healthcheck(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({"message": "Health check OK"})).into_response()),
        Err(err) => {
            tracing::error!(error = %err, "health check: the database does not answer");
            Err(ApiError::Unavailable(
                "Unable to communicate with database".into(),
            ))
        }
    }
}

async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(serde_json::Map<String, Json_>, axum::body::Bytes), ApiError> {
    state.resultsdb.auth.check(headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .unwrap_or("");
    // Werkzeug's rule: application/json, or any application/…+json.
    let mimetype = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = mimetype == "application/json"
        || (mimetype.starts_with("application/") && mimetype.ends_with("+json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let limit = state.resultsdb.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge(limit))?;
    Ok((body::object(&bytes)?, bytes))
}

async fn create_result(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (object, raw) = read_body(&state, &headers, body).await?;
    let now = chrono::Utc::now();
    let new = body::new_result(
        &object,
        &raw,
        &state.resultsdb.outcomes,
        now.timestamp_micros(),
    )?;
    let stored = store_result(&state, &headers, &new, None).await?;
    let urls = urls(&state, &headers);
    Ok((StatusCode::CREATED, Json(render::result(&urls, &stored))).into_response())
}

/// Store `new` as `POST /results` does: its `resultsdb.result.new` message
/// and, when it may change a gating decision, a decision check commit with
/// it. With `mark` (a `job_results` row and index), it is one of a job's
/// reported results, stored at most once (see `crate::job_results`).
pub(crate) async fn store_result(
    state: &AppState,
    headers: &HeaderMap,
    new: &taskotron_store::resultsdb::NewResult,
    mark: Option<(i64, i64)>,
) -> Result<taskotron_store::resultsdb::StoredResult, taskotron_store::StoreError> {
    let now = chrono::Utc::now();
    let urls = urls(state, headers);
    let prefix = state.resultsdb.publish_prefix.clone();
    // A decision check commits with the result when it may change a gating
    // decision (greenwave.rs).
    let check = crate::greenwave::result_needs_check(state, new);
    let message = |stored: &taskotron_store::resultsdb::StoredResult| {
        let prefix = prefix?;
        let body = render::result(&urls, stored);
        let message =
            taskotron_bus::OutgoingMessage::fedora(&prefix, "resultsdb.result.new", "", body, now);
        serde_json::to_string(&message).ok()
    };
    let stored = match mark {
        None => {
            state
                .store
                .create_result_with_check(new, message, check)
                .await?
        }
        Some((row, index)) => {
            state
                .store
                .create_job_result(new, message, check, row, index)
                .await?
        }
    };
    if state.resultsdb.publish_prefix.is_some() {
        state.resultsdb.outbox_wake.notify_one();
    }
    state.metrics.results_created.inc();
    if check {
        crate::greenwave::check_written(state);
    }
    tracing::info!(result.id = stored.id, testcase.name = %stored.testcase.name, outcome = %stored.outcome, "result stored");
    Ok(stored)
}

/// A result body as `POST /results` takes it, checked and made ready to
/// store (`now`: its submit time when it gives none).
pub(crate) fn parse_result(
    state: &AppState,
    object: &serde_json::Map<String, Json_>,
    now: i64,
) -> Result<taskotron_store::resultsdb::NewResult, ApiError> {
    let raw = serde_json::to_vec(object).unwrap_or_default();
    body::new_result(object, &raw, &state.resultsdb.outcomes, now)
}

async fn list_results(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = params::pairs(query.as_deref());
    let parsed = params::result_params(&pairs, false, &state.resultsdb.outcomes)?;
    results_page(
        &state,
        &headers,
        uri.path(),
        query.as_deref(),
        &parsed.filter,
        parsed.order,
        parsed.page,
    )
    .await
}

async fn results_page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    query: Option<&str>,
    filter: &ResultFilter,
    order: taskotron_store::resultsdb::Order,
    page: Page,
) -> Result<Response, ApiError> {
    let found = state.store.list_results(filter, order, page).await?;
    let urls = urls(state, headers);
    let data = found
        .items
        .iter()
        .map(|it| render::result(&urls, it))
        .collect();
    let base = format!("{}{path}", origin(state, headers));
    Ok(collection(
        data,
        params::prev_next(&base, query, page, found.has_next),
    ))
}

async fn latest_results(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = params::pairs(query.as_deref());
    let parsed = params::result_params(&pairs, true, &state.resultsdb.outcomes)?;
    let found = state
        .store
        .latest_results(&parsed.filter, &parsed.distinct_on)
        .await?;
    let urls = urls(&state, &headers);
    let data: Vec<Json_> = found.iter().map(|it| render::result(&urls, it)).collect();
    Ok(Json(json!({"data": data})).into_response())
}

async fn get_result(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("Result not found".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let result = state.store.get_result(id).await?.ok_or_else(not_found)?;
    Ok(Json(render::result(&urls(&state, &headers), &result)).into_response())
}

async fn list_groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = params::pairs(query.as_deref());
    let like = params::like(params::list(&pairs, "description:like"));
    let page = params::page(&pairs)?;
    let found = state
        .store
        .list_groups(
            &params::list(&pairs, "uuid"),
            &params::list(&pairs, "description"),
            &like,
            page,
        )
        .await?;
    let urls = urls(&state, &headers);
    let data = found
        .items
        .iter()
        .map(|it| render::group(&urls, it))
        .collect();
    let base = format!("{}{}", origin(&state, &headers), uri.path());
    Ok(collection(
        data,
        params::prev_next(&base, query.as_deref(), page, found.has_next),
    ))
}

async fn create_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (object, _) = read_body(&state, &headers, body).await?;
    let update = body::group_update(&object)?;
    let group = state.store.upsert_group(&update).await?;
    Ok((
        StatusCode::CREATED,
        Json(render::group(&urls(&state, &headers), &group)),
    )
        .into_response())
}

async fn get_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let group = state
        .store
        .get_group(&uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound("Group not found".into()))?;
    Ok(Json(render::group(&urls(&state, &headers), &group)).into_response())
}

async fn group_results(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(uuid): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if state.store.get_group(&uuid).await?.is_none() {
        return Err(ApiError::NotFound(format!("Group not found: {uuid}")));
    }
    let pairs = params::pairs(query.as_deref());
    let mut parsed = params::result_params(&pairs, false, &state.resultsdb.outcomes)?;
    parsed.filter.groups = vec![uuid];
    results_page(
        &state,
        &headers,
        uri.path(),
        query.as_deref(),
        &parsed.filter,
        parsed.order,
        parsed.page,
    )
    .await
}

async fn list_testcases(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = params::pairs(query.as_deref());
    let like = params::like(params::list(&pairs, "name:like"));
    let page = params::page(&pairs)?;
    let found = state
        .store
        .list_testcases(&params::list(&pairs, "name"), &like, page)
        .await?;
    let urls = urls(&state, &headers);
    let data = found
        .items
        .iter()
        .map(|it| render::testcase(&urls, it))
        .collect();
    let base = format!("{}{}", origin(&state, &headers), uri.path());
    Ok(collection(
        data,
        params::prev_next(&base, query.as_deref(), page, found.has_next),
    ))
}

async fn create_testcase(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (object, _) = read_body(&state, &headers, body).await?;
    let (name, ref_url) = body::testcase_update(&object)?;
    let testcase = state.store.upsert_testcase(&name, &ref_url).await?;
    Ok((
        StatusCode::CREATED,
        Json(render::testcase(&urls(&state, &headers), &testcase)),
    )
        .into_response())
}

/// `/testcases/<name>` and `/testcases/<name>/results` (a name may hold slashes).
async fn get_testcase(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("Testcase not found".into());
    if let Some(testcase) = name.strip_suffix("/results") {
        if state.store.get_testcase(testcase).await?.is_none() {
            return Err(not_found());
        }
        let pairs = params::pairs(query.as_deref());
        let mut parsed = params::result_params(&pairs, false, &state.resultsdb.outcomes)?;
        parsed.filter.testcases = vec![testcase.to_owned()];
        parsed.filter.testcases_like.clear();
        return results_page(
            &state,
            &headers,
            uri.path(),
            query.as_deref(),
            &parsed.filter,
            parsed.order,
            parsed.page,
        )
        .await;
    }
    let testcase = state
        .store
        .get_testcase(&name)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(render::testcase(&urls(&state, &headers), &testcase)).into_response())
}
