//! Greenwave's API: `POST /api/v1.0/decision`, `GET /api/v1.0/policies`,
//! `GET /api/v1.0/subject_types`, `POST /api/v1.0/validate-gating-yaml`
//! and `GET /api/v1.0/about` (`/version` redirects there), answered from
//! the configured policies, the result store and the waivers.
//!
//! The decision itself is `taskotron_gating::decide`; this module parses
//! the request as Greenwave does, asks Koji when a build was made (for
//! `valid_since` / `valid_until`) and where its sources are, fetches the
//! package's `gating.yaml` from dist-git for a `!RemoteRule`, looks up the
//! latest results of the required test cases (one query per subject type
//! and result query, every subject at once) and the waivers in force, and
//! renders Greenwave's JSON with Taskotron's plain-words `explanation`.
//! Gating never fails open: a store that cannot be read gives a 503 whose
//! body says the policies are not satisfied, and a Koji or dist-git that
//! cannot be asked gives an unsatisfied requirement.
//!
//! When a new result or waiver may change a decision, a decision check
//! commits with it; [`run_decision_checks`] then compares the decisions
//! before and after and replaces the check by a `greenwave.decision.update`
//! message in the outbox for each change, as Greenwave publishes it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use taskotron_gating::{
    ActiveCheck, Applies, Decision, Kind, LatestResult, Origin, Outcomes, Policy, Request,
    Requirement, Rule, Subject, SubjectTypes, WaivePermission, Waiver, decide, explain,
    parse_policies,
};
use taskotron_koji::{BuildRef, KojiClient, Retry};
use taskotron_store::resultsdb::{DataFilter, NewResult, ResultFilter, StoredResult};
use taskotron_store::waivers::{StoredWaiver, WaiverFilter};
use taskotron_store::{CheckKind, DecisionCheck, StoreError};

use crate::AppState;
use crate::error::ApiError;
use crate::waivers::{newest_per_key, subject_key, waiver_json};

/// The Greenwave version whose behaviour this API matches, unless
/// `[gating] greenwave-version` says otherwise.
pub const GREENWAVE_VERSION: &str = "2.3.0";

/// How many Koji builds the creation-time cache keeps.
const BUILD_CACHE_SIZE: usize = 50_000;

/// What the Greenwave API decides with.
#[derive(Debug, Clone)]
pub struct GatingSettings {
    /// The server's policies.
    pub policies: Vec<Policy>,
    /// The outcome classes.
    pub outcomes: Outcomes,
    /// Users who may waive for someone else (`proxied_by`), e.g. Bodhi's.
    pub superusers: Vec<String>,
    /// Who may waive which test cases (empty: everyone who may write).
    pub permissions: Vec<WaivePermission>,
    /// The subject types (Fedora's, plus the configured ones).
    pub subject_types: SubjectTypes,
    /// The Greenwave version `/api/v1.0/about` reports.
    pub greenwave_version: String,
    /// The Koji hub asked for builds' creation times and sources.
    pub koji: Option<KojiClient>,
    /// The dist-git base URL `gating.yaml` is fetched under.
    pub distgit_url: Option<String>,
    /// The HTTP client that fetches `gating.yaml`.
    pub http: reqwest::Client,
    /// Builds Koji told about (creation time and source never change).
    pub builds: Arc<BuildCache>,
    /// Wakes the decision checker ([`run_decision_checks`]) after a commit
    /// that wrote a decision check.
    pub checks_wake: Arc<tokio::sync::Notify>,
}

impl Default for GatingSettings {
    fn default() -> GatingSettings {
        GatingSettings {
            policies: Vec::new(),
            outcomes: Outcomes::default(),
            superusers: Vec::new(),
            permissions: Vec::new(),
            subject_types: SubjectTypes::fedora(),
            greenwave_version: GREENWAVE_VERSION.to_owned(),
            koji: None,
            distgit_url: None,
            http: reqwest::Client::new(),
            builds: Arc::default(),
            checks_wake: Arc::default(),
        }
    }
}

impl GatingSettings {
    /// Ask the Koji hub at `url` (quickly: a decision should not wait
    /// minutes for a hub that does not answer).
    pub fn with_koji(mut self, url: &str) -> Result<GatingSettings, taskotron_koji::KojiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|err| taskotron_koji::KojiError::BadUrl {
                url: url.to_owned(),
                why: format!("cannot make an HTTP client: {err}"),
            })?;
        let retry = Retry {
            attempts: 2,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        };
        self.koji = Some(KojiClient::with_http(url, http)?.with_retry(retry));
        self.http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Ok(self)
    }
}

/// What Koji said about a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// When it was created (UTC).
    pub created: Option<NaiveDateTime>,
    /// Where its sources are (`git+https://…#rev`).
    pub source: Option<String>,
}

/// Builds looked up in Koji, by NVR. Only builds Koji knows are kept: a
/// build's creation time and source never change, an unknown NVR may
/// appear later.
#[derive(Debug, Default)]
pub struct BuildCache {
    builds: Mutex<HashMap<String, BuildInfo>>,
}

impl BuildCache {
    fn get(&self, nvr: &str) -> Option<BuildInfo> {
        self.builds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(nvr)
            .cloned()
    }

    fn put(&self, nvr: &str, info: BuildInfo) {
        let mut builds = self
            .builds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if builds.len() >= BUILD_CACHE_SIZE {
            builds.clear();
        }
        builds.insert(nvr.to_owned(), info);
    }

    /// How many builds it holds.
    pub fn len(&self) -> usize {
        self.builds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1.0/", get(landing))
        .route("/healthcheck", get(healthcheck))
        .route("/api/v1.0/decision", post(decision).options(preflight))
        .route("/api/v1.0/policies", get(policies))
        .route("/api/v1.0/subject_types", get(subject_types))
        .route("/api/v1.0/validate-gating-yaml", post(validate_gating_yaml))
        .route("/api/v1.0/about", get(about))
        .route(
            "/api/v1.0/version",
            get(|| async { Redirect::permanent("/api/v1.0/about") }),
        )
        .layer(axum::middleware::from_fn(jsonp))
}

/// The longest JSONP callback name accepted.
const CALLBACK_MAX: usize = 128;

/// `GET …?callback=NAME`: the JSON answer wrapped as `NAME(…);` with the
/// type `application/javascript` (JSONP), as Greenwave's `@jsonp` answers.
/// Unlike Greenwave, the name must be a JavaScript name (letters, digits,
/// `_`, `$` and dots), or the answer is a 400: anything else would let a
/// page inject script.
async fn jsonp(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let callback = (request.method() == axum::http::Method::GET)
        .then(|| {
            form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .find(|(key, _)| key == "callback")
                .map(|(_, value)| value.into_owned())
        })
        .flatten();
    let Some(callback) = callback else {
        return next.run(request).await;
    };
    let valid = !callback.is_empty()
        && callback.len() <= CALLBACK_MAX
        && !callback.starts_with(|c: char| c.is_ascii_digit())
        && callback
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'));
    if !valid {
        return bad(format!(
            "callback: {callback:?} is not a JavaScript name (letters, digits, _, $ and dots, at most {CALLBACK_MAX})"
        ))
        .into_response();
    }
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|it| it.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Internal("cannot read the answer to wrap it for JSONP".into())
            .into_response();
    };
    let mut text = Vec::with_capacity(bytes.len() + callback.len() + 3);
    text.extend_from_slice(callback.as_bytes());
    text.push(b'(');
    text.extend_from_slice(&bytes);
    text.extend_from_slice(b");");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/javascript"),
    );
    Response::from_parts(parts, axum::body::Body::from(text))
}

async fn about(State(state): State<AppState>) -> Json<Value> {
    let auth_method = if state.resultsdb.auth.is_enabled() {
        "token-or-basic"
    } else {
        "none"
    };
    Json(json!({
        "version": state.gating.greenwave_version,
        "taskotron_version": crate::VERSION,
        "auth_method": auth_method,
    }))
}

/// `GET /api/v1.0/`: where the APIs are, the outcome classes and the
/// remote rule's URL template, as Greenwave's landing page lists them.
async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let origin = crate::resultsdb::origin(&state, &headers);
    let settings = &state.gating;
    let template = settings
        .distgit_url
        .as_deref()
        .map(taskotron_gating::default_template);
    Json(json!({
        "api_v1": format!("{origin}/api/v1.0/"),
        "resultsdb_api_url": format!("{origin}/api/v2.0"),
        "waiverdb_api_url": format!("{origin}/api/v1.0"),
        "koji_base_url": settings.koji.as_ref().map(KojiClient::url),
        "outcomes_passed": settings.outcomes.passed,
        "outcomes_error": settings.outcomes.error,
        "outcomes_incomplete": settings.outcomes.incomplete,
        "remote_rule_policies": {"*": template},
    }))
}

/// `GET /healthcheck`: the database answers.
async fn healthcheck(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({"message": "Health check OK"})).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"message": "The database does not answer"})),
            )
                .into_response()
        }
    }
}

/// `OPTIONS /api/v1.0/decision`: the CORS preflight browsers send.
async fn preflight() -> Response {
    (
        StatusCode::OK,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
        ],
    )
        .into_response()
}

async fn policies(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state.gating.policies.iter().map(policy_json).collect();
    Json(json!({ "policies": list }))
}

async fn subject_types(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .gating
        .subject_types
        .all()
        .iter()
        .map(|it| {
            json!({
                "id": it.id,
                "aliases": it.aliases,
                "item_key": it.item_key,
                "is_koji_build": it.is_koji_build,
                "is_nvr": it.is_nvr,
                "ignore_missing_policy": it.ignore_missing_policy,
                "result_queries": it.queries().iter().map(|q| json!({
                    "item_key": q.item_key,
                    "keys": q.keys.iter().map(|(k, v)| (k.clone(), json!(v.join(",")))).collect::<serde_json::Map<_, _>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "subject_types": list }))
}

/// `POST /api/v1.0/validate-gating-yaml`: a `gating.yaml` as the body.
async fn validate_gating_yaml(State(state): State<AppState>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match parse_policies(&text, Origin::Remote) {
        Err(problems) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": diagnostics_text(&problems)})),
        )
            .into_response(),
        Ok(found) => {
            let shares = found.iter().all(|policy| {
                state.gating.policies.iter().any(|parent| {
                    parent
                        .rules
                        .iter()
                        .any(|rule| matches!(rule, Rule::Remote { .. }))
                        && parent
                            .decision_contexts
                            .iter()
                            .any(|it| policy.decision_contexts.contains(it))
                })
            });
            let message = if shares {
                "All OK".to_owned()
            } else {
                "Policy: no parent policy with a RemoteRule shares a decision context with \
                 every policy of this file, so some of it is never used"
                    .to_owned()
            };
            Json(json!({ "message": message })).into_response()
        }
    }
}

fn diagnostics_text(problems: &[taskotron_task_format::diagnostic::Diagnostic]) -> String {
    problems
        .iter()
        .map(|it| {
            let mut text = format!(
                "line {}, column {}: {}",
                it.pos.line, it.pos.column, it.message
            );
            if let Some(help) = &it.help {
                text.push_str(&format!(" ({help})"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn policy_json(policy: &Policy) -> Value {
    let rules: Vec<Value> = policy
        .rules
        .iter()
        .map(|rule| match rule {
            Rule::PassingTestCase {
                test_case_name,
                scenario,
                valid_since,
                valid_until,
                ..
            } => json!({
                "rule": "PassingTestCaseRule",
                "test_case_name": test_case_name,
                "scenario": scenario,
                "valid_since": valid_since.map(|it| it.to_string()),
                "valid_until": valid_until.map(|it| it.to_string()),
            }),
            Rule::Remote {
                sources, required, ..
            } => json!({"rule": "RemoteRule", "sources": sources, "required": required}),
        })
        .collect();
    json!({
        "id": policy.id,
        "product_versions": policy.product_versions,
        "decision_contexts": policy.decision_contexts,
        "subject_types": policy.subject_types,
        "packages": policy.packages,
        "excluded_packages": policy.excluded_packages,
        "rules": rules,
    })
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// What a decision is asked about, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// The product version.
    pub(crate) product_version: String,
    /// The decision contexts.
    pub(crate) contexts: Vec<String>,
    /// The subjects, their types resolved.
    pub(crate) subjects: Vec<Subject>,
    /// The policies to decide with.
    pub(crate) policies: Arc<Vec<Policy>>,
    /// On-demand rules (no `applicable_policies`, no 404).
    pub(crate) on_demand: bool,
    /// Only results and waivers made by then (microseconds).
    pub(crate) until: Option<i64>,
    /// Results to leave out (`ignore_result`).
    pub(crate) ignored_results: Vec<i64>,
    /// Waivers to leave out (`ignore_waiver`).
    pub(crate) ignored_waivers: Vec<i64>,
}

/// A decision and what it was made from.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) decision: Decision,
    pub(crate) results: Vec<StoredResult>,
    pub(crate) waivers: Vec<StoredWaiver>,
    /// Queued or running checks, by (item, test case).
    pub(crate) active: HashMap<(String, String), String>,
}

/// What could not be read; the decision is then not satisfied.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) code: &'static str,
    pub(crate) what: &'static str,
    pub(crate) error: StoreError,
}

impl IntoResponse for Unreadable {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.error, what = self.what, "a decision could not be made");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "message": format!("cannot read the {}; the policies are not satisfied until they can be read", self.what),
                "policies_satisfied": false,
                "summary": format!("The {} cannot be read", self.what),
                "explanation": [{"code": self.code, "action": "retry-later",
                    "message": format!("the {} cannot be read: ask again later", self.what)}],
            })),
        )
            .into_response()
    }
}

fn unreadable(code: &'static str, what: &'static str) -> impl Fn(StoreError) -> Unreadable {
    move |error| Unreadable { code, what, error }
}

async fn decision(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|it| it.to_str().ok())
        .is_some_and(|it| it.starts_with("application/json"));
    if !is_json || body.is_empty() {
        return Err(ApiError::UnsupportedMediaType);
    }
    let request: Value =
        serde_json::from_slice(&body).map_err(|err| bad(format!("Invalid JSON body: {err}")))?;
    let Some(request) = request.as_object() else {
        return Err(bad("The request body must be a JSON object"));
    };
    let verbose = match request.get("verbose") {
        None => false,
        Some(Value::Bool(it)) => *it,
        Some(_) => return Err(bad("Invalid verbose flag, must be a boolean")),
    };
    let mut ask = parse_ask(&state, request)?;
    let dry_run = request.contains_key("policies");
    let decided = match make_decision(&state, &mut ask).await {
        Ok(it) => it,
        Err(unreadable) => return Ok(unreadable.into_response()),
    };
    let missing_policy_ok = ask.subjects.iter().all(|it| {
        state
            .gating
            .subject_types
            .resolve(&it.subject_type)
            .ignore_missing_policy
    });
    if decided.decision.applicable_policies.is_empty() && !ask.on_demand && !missing_policy_ok {
        let types: Vec<&str> = ask
            .subjects
            .iter()
            .map(|it| it.subject_type.as_str())
            .collect();
        return Err(ApiError::NotFound(format!(
            "Found no applicable policies for {} subjects at gating point(s) {} in {}",
            types.join(", "),
            ask.contexts.join(", "),
            ask.product_version
        )));
    }
    let mut response = decision_json(&decided, !ask.on_demand);
    if dry_run {
        response["dry_run"] = json!(true);
    }
    if verbose {
        let results: Vec<Value> = decided
            .results
            .iter()
            .map(|it| crate::resultsdb::result_json(&state, &headers, it))
            .collect();
        response["results"] = json!(results);
        response["waivers"] = json!(decided.waivers.iter().map(waiver_json).collect::<Vec<_>>());
    }
    Ok(Json(response).into_response())
}

/// Greenwave's decision JSON plus the plain-words `explanation`.
pub(crate) fn decision_json(decided: &Decided, with_policies: bool) -> Value {
    let decision = &decided.decision;
    let render = |it: &Requirement| requirement_json(it);
    let active = |it: &Requirement| {
        decided
            .active
            .get(&(it.subject_identifier.clone(), it.testcase.clone()))
            .map(|state| ActiveCheck {
                state: state.clone(),
            })
    };
    let explanation: Vec<Value> = explain(decision, &active)
        .into_iter()
        .map(|it| {
            json!({
                "code": it.code,
                "action": it.action.as_str(),
                "testcase": it.testcase,
                "subject_type": it.subject_type,
                "subject_identifier": it.subject_identifier,
                "message": it.message,
            })
        })
        .collect();
    let mut response = json!({
        "policies_satisfied": decision.satisfied(),
        "summary": decision.summary(),
        "satisfied_requirements": decision.requirements.iter().filter(|it| it.is_satisfied()).map(render).collect::<Vec<_>>(),
        "unsatisfied_requirements": decision.requirements.iter().filter(|it| !it.is_satisfied()).map(render).collect::<Vec<_>>(),
        "explanation": explanation,
    });
    if with_policies {
        response["applicable_policies"] = json!(decision.applicable_policies);
    }
    response
}

/// Parse a decision request (everything but `verbose`).
fn parse_ask(state: &AppState, request: &serde_json::Map<String, Value>) -> Result<Ask, ApiError> {
    let product_version = request
        .get("product_version")
        .and_then(Value::as_str)
        .filter(|it| !it.is_empty())
        .ok_or_else(|| bad("Missing required product version"))?
        .to_owned();
    let contexts: Vec<String> = match (request.get("decision_context"), request.get("rules")) {
        (Some(_), Some(_)) => return Err(bad("Cannot have both decision_context and rules")),
        (None, None) => return Err(bad("Either decision_context or rules is required.")),
        (Some(Value::String(one)), None) => vec![one.clone()],
        (Some(Value::Array(many)), None) => many
            .iter()
            .map(|it| it.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .filter(|it| !it.is_empty())
            .ok_or_else(|| bad("decision_context must be a string or a list of strings"))?,
        (Some(_), None) => {
            return Err(bad(
                "decision_context must be a string or a list of strings",
            ));
        }
        (None, Some(_)) => vec!["taskotron_on_demand".to_owned()],
    };
    let until = match request.get("when") {
        None => None,
        Some(Value::String(text)) => Some(
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| {
                    bad(format!(
                        "Invalid 'when' value {text:?}: use %Y-%m-%dT%H:%M:%S.%f"
                    ))
                })?
                .and_utc()
                .timestamp_micros(),
        ),
        Some(_) => return Err(bad("Invalid 'when' value: use %Y-%m-%dT%H:%M:%S.%f")),
    };
    let ids = |name: &str| -> Result<Vec<i64>, ApiError> {
        match request.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(Value::as_i64)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(format!("{name} must be a list of ids"))),
            Some(_) => Err(bad(format!("{name} must be a list of ids"))),
        }
    };
    let ignored_results = ids("ignore_result")?;
    let ignored_waivers = ids("ignore_waiver")?;
    let (policies, on_demand) = match (request.get("rules"), request.get("policies")) {
        (Some(_), Some(_)) => return Err(bad("Cannot have both rules and policies")),
        (Some(rules), None) => (Arc::new(vec![on_demand_policy(rules, &contexts)?]), true),
        (None, Some(Value::String(text))) => {
            let proposed = parse_policies(text, Origin::Server).map_err(|problems| {
                bad(format!(
                    "policies: the proposed policy file is invalid: {}",
                    diagnostics_text(&problems)
                ))
            })?;
            (Arc::new(proposed), false)
        }
        (None, Some(_)) => {
            return Err(bad(
                "policies: must be the text of a policy file (YAML), to decide with instead of the server's",
            ));
        }
        (None, None) => (Arc::new(state.gating.policies.clone()), false),
    };
    let subjects = subjects_of(state, request, &policies, on_demand)?;
    Ok(Ask {
        product_version,
        contexts,
        subjects,
        policies,
        on_demand,
        until,
        ignored_results,
        ignored_waivers,
    })
}

fn subjects_of(
    state: &AppState,
    request: &serde_json::Map<String, Value>,
    policies: &[Policy],
    on_demand: bool,
) -> Result<Vec<Subject>, ApiError> {
    let types = &state.gating.subject_types;
    let make = |field: &str, subject_type: &str, identifier: &str| {
        let named = policies
            .iter()
            .any(|it| it.subject_types.iter().any(|t| t == subject_type));
        if !on_demand && !named && !types.is_known(subject_type) {
            let known: Vec<String> = types.all().iter().flat_map(|it| it.names()).collect();
            return Err(ApiError::validation(
                field,
                format!(
                    "unknown subject type {subject_type:?}: no policy names it and it is not configured (known: {})",
                    known.join(", ")
                ),
                "enum",
            ));
        }
        Ok(subject(types, subject_type, identifier))
    };
    if let Some(list) = request.get("subject") {
        let items = list
            .as_array()
            .filter(|it| !it.is_empty())
            .ok_or_else(|| bad("Invalid subject, must be a non-empty list"))?;
        return items
            .iter()
            .enumerate()
            .map(|(idx, item)| {
                let (Some(kind), Some(id)) = (
                    item.get("type").and_then(Value::as_str),
                    item.get("item").and_then(Value::as_str),
                ) else {
                    return Err(bad(format!("Invalid subject {item}: needs type and item")));
                };
                make(&format!("subject.{idx}.type"), kind, id)
            })
            .collect();
    }
    let subject_type = request
        .get("subject_type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Missing required subject_type"))?;
    let identifier = request
        .get("subject_identifier")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Missing required subject_identifier"))?;
    Ok(vec![make("subject_type", subject_type, identifier)?])
}

/// A subject of a type (an alias is read as the type it stands for).
pub(crate) fn subject(types: &SubjectTypes, subject_type: &str, identifier: &str) -> Subject {
    let resolved = types.resolve(subject_type);
    let package = resolved
        .is_nvr
        .then(|| taskotron_types::Nvr::parse(identifier).ok())
        .flatten()
        .map(|it| it.name);
    Subject {
        package,
        koji_build: resolved.is_koji_build,
        ..Subject::new(&resolved.id, identifier)
    }
}

/// Make a decision: Koji, dist-git, results, waivers and the job queue.
pub(crate) async fn make_decision(state: &AppState, ask: &mut Ask) -> Result<Decided, Unreadable> {
    let settings = &state.gating;
    let policies = ask.policies.clone();
    // Koji: creation times for rules with a validity window, sources for
    // remote rules; asked once per build.
    let mut sources: HashMap<String, Result<Option<BuildInfo>, String>> = HashMap::new();
    {
        let request = Request {
            product_version: &ask.product_version,
            decision_contexts: &ask.contexts,
            subjects: &ask.subjects,
        };
        for subject in ask.subjects.iter().filter(|it| it.koji_build) {
            let needs = policies.iter().any(|policy| {
                request.applies(policy, subject) == Applies::Yes
                    && policy.rules.iter().any(|rule| match rule {
                        Rule::PassingTestCase {
                            valid_since,
                            valid_until,
                            ..
                        } => valid_since.is_some() || valid_until.is_some(),
                        Rule::Remote { .. } => true,
                    })
            });
            if needs && !sources.contains_key(&subject.identifier) {
                let info = build_info(settings, &subject.identifier).await;
                sources.insert(subject.identifier.clone(), info);
            }
        }
    }
    for subject in &mut ask.subjects {
        match sources.get(&subject.identifier) {
            Some(Ok(Some(info))) => subject.created = info.created,
            Some(Ok(None)) => {
                subject.build_info_error =
                    Some(format!("Koji has no build {}", subject.identifier));
            }
            Some(Err(err)) => subject.build_info_error = Some(err.clone()),
            None => {}
        }
    }
    // Remote rules.
    let mut remote = Vec::new();
    let mut fetched: HashMap<String, Fetched> = HashMap::new();
    let mut remote_policies: Vec<(usize, Vec<Policy>)> = Vec::new();
    {
        let request = Request {
            product_version: &ask.product_version,
            decision_contexts: &ask.contexts,
            subjects: &ask.subjects,
        };
        for policy in policies.iter() {
            for (idx, subject) in ask.subjects.iter().enumerate() {
                if !subject.koji_build || request.applies(policy, subject) != Applies::Yes {
                    continue;
                }
                for rule in &policy.rules {
                    let Rule::Remote {
                        sources: templates,
                        required,
                        ..
                    } = rule
                    else {
                        continue;
                    };
                    let (answers, found) = remote_rule(
                        settings,
                        policy,
                        subject,
                        sources.get(&subject.identifier),
                        templates,
                        *required,
                        &mut fetched,
                    )
                    .await;
                    remote.extend(answers);
                    let shared: Vec<Policy> = found
                        .into_iter()
                        .filter(|it| {
                            it.decision_contexts
                                .iter()
                                .any(|c| policy.decision_contexts.contains(c))
                        })
                        .collect();
                    if !shared.is_empty() {
                        remote_policies.push((idx, shared));
                    }
                }
            }
        }
    }
    for (idx, found) in remote_policies {
        if let Some(subject) = ask.subjects.get_mut(idx) {
            subject.remote_policies.extend(found);
        }
    }
    let request = Request {
        product_version: &ask.product_version,
        decision_contexts: &ask.contexts,
        subjects: &ask.subjects,
    };
    // The test cases the applicable policies ask for.
    let mut testcases: BTreeSet<String> = BTreeSet::new();
    for subject in &ask.subjects {
        for policy in policies.iter().chain(subject.remote_policies.iter()) {
            if request.applies(policy, subject) != Applies::Yes {
                continue;
            }
            for rule in &policy.rules {
                if let Rule::PassingTestCase { test_case_name, .. } = rule {
                    testcases.insert(test_case_name.clone());
                }
            }
        }
    }
    let mut found = latest_results(state, &ask.subjects, &testcases, ask.until)
        .await
        .map_err(unreadable("results-unreadable", "results"))?;
    if !ask.ignored_results.is_empty() {
        // As Greenwave: an ignored result is left out of the latest ones
        // (an older result of the same kind does not take its place).
        for results in found.values_mut() {
            results.retain(|it| !ask.ignored_results.contains(&it.id));
        }
    }
    let lookup = |subject: &Subject, testcase: &str| -> Vec<LatestResult> {
        found
            .get(&result_key(subject, testcase))
            .map(|results| results.iter().map(latest).collect())
            .unwrap_or_default()
    };
    let in_force = waivers_in_force(state, ask)
        .await
        .map_err(unreadable("waivers-unreadable", "waivers"))?;
    let waivers: Vec<Waiver> = in_force
        .iter()
        .map(|it| Waiver {
            id: it.id,
            subject_type: it.waiver.subject_type.clone(),
            subject_identifier: it.waiver.subject_identifier.clone(),
            testcase: it.waiver.testcase.clone(),
            scenario: it.waiver.scenario.clone(),
            covers_package: it.waiver.covers_package,
        })
        .collect();
    let decision = decide(
        &request,
        &policies,
        &lookup,
        &waivers,
        &settings.outcomes,
        remote,
    );
    // Checks that will bring a missing result.
    let items: Vec<String> = decision
        .requirements
        .iter()
        .filter(|it| it.kind == Kind::Missing && !it.is_satisfied())
        .map(|it| it.subject_identifier.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut active = HashMap::new();
    if !items.is_empty() {
        let checks = state
            .store
            .active_checks(&items)
            .await
            .map_err(unreadable("jobs-unreadable", "job queue"))?;
        for it in &decision.requirements {
            let running = checks.iter().find(|check| {
                check.item == it.subject_identifier
                    && (check.check_name == it.testcase
                        || it.testcase.ends_with(&format!(".{}", check.check_name)))
            });
            if let Some(check) = running {
                active.insert(
                    (it.subject_identifier.clone(), it.testcase.clone()),
                    check.state.clone(),
                );
            }
        }
    }
    let mut results: Vec<StoredResult> = found.into_values().flatten().collect();
    results.sort_by_key(|it| std::cmp::Reverse(it.id));
    results.dedup_by_key(|it| it.id);
    Ok(Decided {
        decision,
        results,
        waivers: in_force,
        active,
    })
}

/// What fetching a `gating.yaml` gave.
#[derive(Debug, Clone)]
enum Fetched {
    Found(String),
    Missing,
    Failed(String),
}

/// Evaluate one remote rule for one build: its answers and the policies
/// of the build's `gating.yaml`.
async fn remote_rule(
    settings: &GatingSettings,
    policy: &Policy,
    subject: &Subject,
    build: Option<&Result<Option<BuildInfo>, String>>,
    templates: &[String],
    required: bool,
    fetched: &mut HashMap<String, Fetched>,
) -> (Vec<Requirement>, Vec<Policy>) {
    let answer = |kind: Kind, reason: Option<String>, source: Option<String>| {
        let mut it = Requirement::new(kind, subject, "", policy.label());
        it.error_reason = reason;
        it.source = source;
        it
    };
    let failed = |reason: String| {
        (
            vec![answer(Kind::FailedFetchGatingYaml, Some(reason), None)],
            Vec::new(),
        )
    };
    let info = match build {
        Some(Ok(Some(info))) => info,
        Some(Ok(None)) => return failed(format!("Koji has no build {}", subject.identifier)),
        Some(Err(err)) => return failed(err.clone()),
        None => return failed("Koji was not asked about the build".to_owned()),
    };
    let Some(source) = info
        .source
        .as_deref()
        .and_then(taskotron_gating::parse_source)
    else {
        return failed(format!(
            "the Koji build {} has no dist-git source with a revision",
            subject.identifier
        ));
    };
    let templates: Vec<String> = if templates.is_empty() {
        match &settings.distgit_url {
            Some(url) => vec![taskotron_gating::default_template(url)],
            None => return failed("no dist-git is configured ([distgit] url)".to_owned()),
        }
    } else {
        templates.to_vec()
    };
    let mut last_url = None;
    for template in &templates {
        let url = match taskotron_gating::fill_template(template, &source, &subject.identifier) {
            Ok(it) => it,
            Err(err) => return failed(err),
        };
        let got = match fetched.get(&url) {
            Some(it) => it.clone(),
            None => {
                let it = fetch(&settings.http, &url).await;
                fetched.insert(url.clone(), it.clone());
                it
            }
        };
        match got {
            Fetched::Found(text) => {
                return match parse_policies(&text, Origin::Remote) {
                    Ok(found) => (
                        vec![answer(Kind::FetchedGatingYaml, None, Some(url))],
                        found,
                    ),
                    Err(problems) => (
                        vec![answer(
                            Kind::InvalidGatingYaml,
                            Some(diagnostics_text(&problems)),
                            Some(url),
                        )],
                        Vec::new(),
                    ),
                };
            }
            Fetched::Missing => last_url = Some(url),
            Fetched::Failed(err) => return failed(format!("{url}: {err}")),
        }
    }
    if required {
        (
            vec![answer(
                Kind::MissingGatingYaml,
                Some("the package has no gating.yaml".to_owned()),
                last_url,
            )],
            Vec::new(),
        )
    } else {
        (Vec::new(), Vec::new())
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Fetched {
    let response = match http.get(url).send().await {
        Ok(it) => it,
        Err(err) => return Fetched::Failed(format!("cannot fetch it: {err}")),
    };
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Fetched::Missing;
    }
    if !status.is_success() {
        return Fetched::Failed(format!("dist-git answered {status}"));
    }
    match response.text().await {
        Ok(text) => Fetched::Found(text),
        Err(err) => Fetched::Failed(format!("cannot read it: {err}")),
    }
}

/// A build's creation time and source, from the cache or Koji.
async fn build_info(settings: &GatingSettings, nvr: &str) -> Result<Option<BuildInfo>, String> {
    if let Some(info) = settings.builds.get(nvr) {
        return Ok(Some(info));
    }
    let Some(koji) = &settings.koji else {
        return Err("no Koji hub is configured ([koji] hub-url)".to_owned());
    };
    let build = koji
        .get_build(&BuildRef::Nvr(nvr.to_owned()))
        .await
        .map_err(|err| format!("Koji could not be asked about {nvr}: {err}"))?;
    let Some(build) = build else {
        return Ok(None);
    };
    let created = build.creation_ts.and_then(|seconds| {
        let micros = format!("{:.0}", seconds * 1_000_000.0)
            .parse::<i64>()
            .ok()?;
        chrono::DateTime::from_timestamp_micros(micros).map(|it| it.naive_utc())
    });
    let info = BuildInfo {
        created,
        source: build.source,
    };
    settings.builds.put(nvr, info.clone());
    Ok(Some(info))
}

/// The latest results of `testcases` for every subject: per subject type
/// and result query, all subjects at once, newest per identifier, test
/// case, scenario, architecture and variant.
async fn latest_results(
    state: &AppState,
    subjects: &[Subject],
    testcases: &BTreeSet<String>,
    until: Option<i64>,
) -> Result<HashMap<(String, String, String), Vec<StoredResult>>, StoreError> {
    let mut found: HashMap<(String, String, String), Vec<StoredResult>> = HashMap::new();
    if testcases.is_empty() {
        return Ok(found);
    }
    let testcases: Vec<String> = testcases.iter().cloned().collect();
    let mut by_type: BTreeMap<&str, Vec<&Subject>> = BTreeMap::new();
    for subject in subjects {
        by_type
            .entry(subject.subject_type.as_str())
            .or_default()
            .push(subject);
    }
    for (type_id, group) in by_type {
        let subject_type = state.gating.subject_types.resolve(type_id);
        let ids: Vec<String> = group.iter().map(|it| it.identifier.clone()).collect();
        for query in subject_type.queries() {
            let mut data = vec![DataFilter::Exact {
                key: query.item_key.clone(),
                values: ids.clone(),
            }];
            for (key, values) in &query.keys {
                data.push(DataFilter::Exact {
                    key: key.clone(),
                    values: values.clone(),
                });
            }
            let filter = ResultFilter {
                testcases: testcases.clone(),
                until,
                data,
                ..ResultFilter::default()
            };
            let distinct_on = [
                query.item_key.as_str(),
                "scenario",
                "system_architecture",
                "system_variant",
            ]
            .map(str::to_owned);
            for result in state.store.latest_results(&filter, &distinct_on).await? {
                let Some(values) = result.data.get(&query.item_key) else {
                    continue;
                };
                for subject in group.iter().filter(|it| values.contains(&it.identifier)) {
                    let entry = found
                        .entry(result_key(subject, &result.testcase.name))
                        .or_default();
                    if !entry.iter().any(|it| it.id == result.id) {
                        entry.push(result.clone());
                    }
                }
            }
        }
    }
    Ok(found)
}

/// The waivers in force for the subjects: the newest per subject, test
/// case and scenario, when it waives and has not expired.
async fn waivers_in_force(state: &AppState, ask: &Ask) -> Result<Vec<StoredWaiver>, StoreError> {
    let types = &state.gating.subject_types;
    // One query for every subject: their types (with aliases) and their
    // identifiers and package names; what matches which subject is sorted
    // out below.
    let mut type_names: BTreeSet<String> = BTreeSet::new();
    let mut identifiers: BTreeSet<String> = BTreeSet::new();
    for subject in &ask.subjects {
        type_names.extend(types.resolve(&subject.subject_type).names());
        identifiers.insert(subject.identifier.clone());
        identifiers.extend(subject.package.clone());
    }
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let filter = WaiverFilter {
        subject_types: type_names.into_iter().collect(),
        subject_identifiers: identifiers.into_iter().collect(),
        product_version: Some(ask.product_version.clone()),
        until: ask.until,
        ..WaiverFilter::default()
    };
    let now = ask
        .until
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros());
    let found = state.store.find_waivers(&[filter]).await?;
    let concerns = |it: &StoredWaiver| {
        ask.subjects.iter().any(|subject| {
            subject.subject_type == it.waiver.subject_type
                && if it.waiver.covers_package {
                    subject.package.as_deref() == Some(it.waiver.subject_identifier.as_str())
                } else {
                    subject.identifier == it.waiver.subject_identifier
                }
        })
    };
    Ok(newest_per_key(
        found
            .into_iter()
            .filter(|it| !ask.ignored_waivers.contains(&it.id))
            .map(|mut it| {
                // `brew-build` waivers are stored as `koji_build`; others
                // keep the alias they were given: match on the type's id.
                it.waiver.subject_type = types.resolve(&it.waiver.subject_type).id;
                it
            })
            .filter(concerns)
            .collect(),
        subject_key,
    )
    .into_iter()
    .filter(|it| it.waiver.waived && it.waiver.expires_at.is_none_or(|at| at > now))
    .collect())
}

fn result_key(subject: &Subject, testcase: &str) -> (String, String, String) {
    (
        subject.subject_type.clone(),
        subject.identifier.clone(),
        testcase.to_owned(),
    )
}

fn latest(result: &StoredResult) -> LatestResult {
    let first = |key: &str| result.data.get(key).and_then(|it| it.first()).cloned();
    LatestResult {
        id: result.id,
        outcome: result.outcome.clone(),
        scenario: first("scenario"),
        system_architecture: first("system_architecture"),
        system_variant: first("system_variant"),
        error_reason: first("error_reason"),
    }
}

/// An on-demand policy from the request's `rules`.
fn on_demand_policy(rules: &Value, contexts: &[String]) -> Result<Policy, ApiError> {
    let pos = taskotron_task_format::diagnostic::Pos { line: 1, column: 1 };
    let items = rules
        .as_array()
        .ok_or_else(|| bad("rules must be a list"))?;
    let mut parsed = Vec::new();
    for (idx, rule) in items.iter().enumerate() {
        match rule.get("type").and_then(Value::as_str) {
            Some("PassingTestCaseRule") => {
                let name = rule
                    .get("test_case_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        bad(format!(
                            "rules.{idx}.test_case_name: PassingTestCaseRule needs test_case_name"
                        ))
                    })?;
                parsed.push(Rule::PassingTestCase {
                    test_case_name: name.to_owned(),
                    scenario: rule
                        .get("scenario")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    valid_since: None,
                    valid_until: None,
                    pos,
                });
            }
            Some("RemoteRule") => parsed.push(Rule::Remote {
                sources: Vec::new(),
                required: rule
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                pos,
            }),
            other => {
                return Err(bad(format!(
                    "rules.{idx}.type: unknown rule type {}: use PassingTestCaseRule or RemoteRule",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    Ok(Policy {
        id: Some("on-demand".to_owned()),
        product_versions: vec!["*".to_owned()],
        decision_contexts: contexts.to_vec(),
        subject_types: vec!["*".to_owned()],
        rules: parsed,
        packages: Vec::new(),
        excluded_packages: Vec::new(),
        pos,
    })
}

fn requirement_json(it: &Requirement) -> Value {
    let mut out = json!({
        "type": it.type_name(),
        "subject_type": it.subject_type,
        "subject_identifier": it.subject_identifier,
        "source": it.source,
    });
    let result_kind = matches!(
        it.kind,
        Kind::Passed | Kind::Failed | Kind::Errored | Kind::Missing | Kind::Incomplete
    );
    if it.testcase.is_empty() {
        if matches!(
            it.kind,
            Kind::FetchedGatingYaml
                | Kind::MissingGatingYaml
                | Kind::InvalidGatingYaml
                | Kind::FailedFetchGatingYaml
        ) {
            out["testcase"] = json!(it.kind.as_str());
        }
    } else {
        out["testcase"] = json!(it.testcase);
    }
    if result_kind {
        out["scenario"] = json!(it.scenario);
    }
    if let Some(id) = it.result_id {
        out["result_id"] = json!(id);
        out["system_architecture"] = json!(it.system_architecture);
        out["system_variant"] = json!(it.system_variant);
    }
    if let Some(reason) = &it.error_reason {
        match it.kind {
            Kind::InvalidGatingYaml => out["details"] = json!(reason),
            Kind::FailedFetchGatingYaml | Kind::BuildInfoUnavailable => {
                out["error"] = json!(reason);
            }
            Kind::MissingGatingYaml => {}
            _ => out["error_reason"] = json!(reason),
        }
    }
    if let Some(id) = it.waiver_id {
        out["waiver_id"] = json!(id);
    } else if !it.is_satisfied() && result_kind {
        // Deprecated, kept for Greenwave's older clients.
        out["item"] = json!({"type": it.subject_type, "item": it.subject_identifier});
    }
    out
}

/// Settings shared with the handlers.
pub(crate) type Shared = Arc<GatingSettings>;

/// The subjects a result is about, as the subject types' result queries
/// find them (a result with `type` and `item` of an undeclared type is a
/// subject of the generic type).
fn subjects_of_result(types: &SubjectTypes, result: &StoredResult) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    let first = |key: &str| result.data.get(key).and_then(|it| it.first()).cloned();
    for subject_type in types.all() {
        for query in subject_type.queries() {
            let Some(id) = first(&query.item_key) else {
                continue;
            };
            let matches = query.keys.iter().all(|(key, values)| {
                result
                    .data
                    .get(key)
                    .is_some_and(|have| have.iter().any(|it| values.contains(it)))
            });
            if matches
                && !out
                    .iter()
                    .any(|it| it.subject_type == subject_type.id && it.identifier == id)
            {
                out.push(subject(types, &subject_type.id, &id));
            }
        }
    }
    if out.is_empty()
        && let (Some(kind), Some(item)) = (first("type"), first("item"))
    {
        out.push(subject(types, &kind, &item));
    }
    out
}

/// How often the decision checker looks for checks nobody woke it for:
/// checks left by a process that stopped, or written by another process
/// sharing the database.
pub const CHECK_POLL: Duration = Duration::from_secs(5);

/// After this many attempts that could not read what they needed, a
/// decision check is given up (and logged).
const CHECK_ATTEMPTS: i64 = 10;

/// The most builds of a package whose decisions a package waiver is
/// compared for (those with the newest results).
pub const PACKAGE_WAIVER_BUILDS: usize = 100;

/// Whether a result can change a decision: publishing is configured, a
/// policy asks for its test case (or a package's `gating.yaml` might), and
/// it is complete (not QUEUED or RUNNING, which Greenwave skips too).
fn result_is_relevant(state: &AppState, testcase: &str, outcome: &str) -> bool {
    state.resultsdb.publish_prefix.is_some()
        && !state
            .gating
            .outcomes
            .incomplete
            .iter()
            .any(|it| it == outcome)
        && state.gating.policies.iter().any(|policy| {
            policy.rules.iter().any(|rule| match rule {
                Rule::PassingTestCase { test_case_name, .. } => test_case_name == testcase,
                Rule::Remote { .. } => true,
            })
        })
}

/// Whether storing `new` must write a decision check with it.
pub(crate) fn result_needs_check(state: &AppState, new: &NewResult) -> bool {
    result_is_relevant(state, &new.testcase, &new.outcome)
}

/// Whether storing waivers must write a decision check with them.
pub(crate) fn waivers_need_check(state: &AppState) -> bool {
    state.resultsdb.publish_prefix.is_some() && !state.gating.policies.is_empty()
}

/// A decision check was committed: wake the checker.
pub(crate) fn check_written(state: &AppState) {
    state.gating.checks_wake.notify_one();
}

/// The decision checker: makes the decision checks as they are written
/// (woken by the API) and every [`CHECK_POLL`], for ever. Runs where the
/// outbox relay runs (`taskotron serve` with publishing configured), which
/// aborts it when it stops: a check cut short is made again, whole.
pub async fn run_decision_checks(state: AppState) {
    loop {
        if let Err(err) = make_decision_checks(&state).await {
            tracing::error!(error = %error_text(&err), "cannot make the decision checks; trying again later");
        }
        tokio::select! {
            () = state.gating.checks_wake.notified() => {}
            () = tokio::time::sleep(CHECK_POLL) => {}
        }
    }
}

/// Make every decision check waiting now, oldest first: compare the
/// decisions before and after, then delete the check and write a
/// `greenwave.decision.update` message for each change in one
/// transaction. A check that cannot read what it needs stays for the next
/// pass (up to [`CHECK_ATTEMPTS`] times). Returns how many were made.
pub async fn make_decision_checks(state: &AppState) -> Result<usize, StoreError> {
    let Some(prefix) = state.resultsdb.publish_prefix.clone() else {
        return Ok(0);
    };
    let mut after = 0;
    let mut made = 0;
    loop {
        let batch = state.store.decision_checks_pending(after, 100).await?;
        if batch.is_empty() {
            return Ok(made);
        }
        for check in batch {
            after = check.id;
            match check_messages(state, &prefix, &check).await {
                Ok(messages) => {
                    let written = state.store.decision_check_done(check.id, &messages).await?;
                    if written && !messages.is_empty() {
                        state.resultsdb.outbox_wake.notify_one();
                    }
                    made += 1;
                }
                Err(err) if check.attempts + 1 >= CHECK_ATTEMPTS => {
                    tracing::error!(check = check.id, attempts = check.attempts + 1, error = %err,
                        "giving up a decision check: no greenwave.decision.update for it");
                    state.store.decision_check_done(check.id, &[]).await?;
                }
                Err(err) => {
                    tracing::warn!(check = check.id, error = %err,
                        "a decision check could not be made; trying again later");
                    state.store.decision_check_failed(check.id).await?;
                }
            }
        }
    }
}

/// The `greenwave.decision.update` messages of one decision check.
async fn check_messages(
    state: &AppState,
    prefix: &str,
    check: &DecisionCheck,
) -> Result<Vec<String>, String> {
    let types = &state.gating.subject_types;
    let read = |err: StoreError| format!("cannot read the store: {}", error_text(&err));
    let mut asks: Vec<(Subject, String)> = Vec::new();
    match check.kind {
        CheckKind::Result => {
            for id in &check.ids {
                let Some(result) = state.store.get_result(*id).await.map_err(read)? else {
                    continue;
                };
                if !result_is_relevant(state, &result.testcase.name, &result.outcome) {
                    continue;
                }
                for subject in subjects_of_result(types, &result) {
                    if let Some(version) =
                        taskotron_gating::product_version_of_nvr(&subject.identifier)
                    {
                        asks.push((subject, version));
                    }
                }
            }
        }
        CheckKind::Waivers => {
            for id in &check.ids {
                let Some(waiver) = state.store.get_waiver(*id).await.map_err(read)? else {
                    continue;
                };
                let version = waiver.waiver.product_version.clone();
                if waiver.waiver.covers_package {
                    for build in package_builds(state, &waiver).await.map_err(read)? {
                        asks.push((build, version.clone()));
                    }
                } else {
                    let it = subject(
                        types,
                        &waiver.waiver.subject_type,
                        &waiver.waiver.subject_identifier,
                    );
                    asks.push((it, version));
                }
            }
        }
    }
    // Waivers stored together share one time: one comparison per subject.
    let mut seen = BTreeSet::new();
    asks.retain(|(subject, version)| {
        seen.insert((
            subject.subject_type.clone(),
            subject.identifier.clone(),
            version.clone(),
        ))
    });
    let mut messages = Vec::new();
    for (subject, version) in asks {
        messages.extend(compare(state, prefix, subject, &version, check.at).await?);
    }
    Ok(messages)
}

fn error_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The builds a package waiver can change decisions for: builds of the
/// package (NVRs whose name is the package) in the waiver's product
/// version (from the dist tag) that have a result, as of the waiver, of a
/// test case some policy asks for (any test case when a policy has a
/// `!RemoteRule`), found with the subject type's result queries; at most
/// [`PACKAGE_WAIVER_BUILDS`], those with the newest results.
async fn package_builds(
    state: &AppState,
    waiver: &StoredWaiver,
) -> Result<Vec<Subject>, StoreError> {
    let types = &state.gating.subject_types;
    let subject_type = types.resolve(&waiver.waiver.subject_type);
    let package = &waiver.waiver.subject_identifier;
    let remote = state.gating.policies.iter().any(|policy| {
        policy
            .rules
            .iter()
            .any(|rule| matches!(rule, Rule::Remote { .. }))
    });
    let testcases: Vec<String> = if remote {
        Vec::new()
    } else {
        state
            .gating
            .policies
            .iter()
            .flat_map(|policy| policy.rules.iter())
            .filter_map(|rule| match rule {
                Rule::PassingTestCase { test_case_name, .. } => Some(test_case_name.clone()),
                Rule::Remote { .. } => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    // Newest result first; `_` in a package name is a LIKE wildcard, and
    // SQLite's LIKE ignores case: the NVR's name is compared below.
    let mut found: Vec<(i64, String)> = Vec::new();
    for query in subject_type.queries() {
        let mut data = vec![DataFilter::Like {
            key: query.item_key.clone(),
            patterns: vec![format!("{package}-%")],
        }];
        for (key, values) in &query.keys {
            data.push(DataFilter::Exact {
                key: key.clone(),
                values: values.clone(),
            });
        }
        let filter = ResultFilter {
            testcases: testcases.clone(),
            until: Some(waiver.created_at),
            data,
            ..ResultFilter::default()
        };
        let distinct_on = [query.item_key.clone()];
        for result in state.store.latest_results(&filter, &distinct_on).await? {
            for nvr in result.data.get(&query.item_key).into_iter().flatten() {
                let of_package =
                    taskotron_types::Nvr::parse(nvr).is_ok_and(|it| it.name == *package);
                let in_version = taskotron_gating::product_version_of_nvr(nvr).as_deref()
                    == Some(waiver.waiver.product_version.as_str());
                if of_package && in_version {
                    found.push((result.id, nvr.clone()));
                }
            }
        }
    }
    found.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let mut seen = BTreeSet::new();
    Ok(found
        .into_iter()
        .filter(|(_, nvr)| seen.insert(nvr.clone()))
        .take(PACKAGE_WAIVER_BUILDS)
        .map(|(_, nvr)| subject(types, &subject_type.id, &nvr))
        .collect())
}

/// Compare the decisions just before and at `at` for every decision
/// context whose policies apply to the subject: the messages of the
/// changed ones.
async fn compare(
    state: &AppState,
    prefix: &str,
    subject: Subject,
    version: &str,
    at: i64,
) -> Result<Vec<String>, String> {
    let policies = Arc::new(state.gating.policies.clone());
    let mut contexts: BTreeSet<String> = BTreeSet::new();
    for policy in policies.iter() {
        for context in &policy.decision_contexts {
            let one = [context.clone()];
            let request = Request {
                product_version: version,
                decision_contexts: &one,
                subjects: std::slice::from_ref(&subject),
            };
            if request.applies(policy, &subject) != Applies::No {
                contexts.insert(context.clone());
            }
        }
    }
    let unreadable =
        |it: Unreadable| format!("cannot read the {}: {}", it.what, error_text(&it.error));
    let mut messages = Vec::new();
    for context in contexts {
        let mut ask = Ask {
            product_version: version.to_owned(),
            contexts: vec![context.clone()],
            subjects: vec![subject.clone()],
            policies: policies.clone(),
            on_demand: false,
            until: Some(at - 1),
            ignored_results: Vec::new(),
            ignored_waivers: Vec::new(),
        };
        let before = make_decision(state, &mut ask).await.map_err(unreadable)?;
        ask.until = Some(at);
        ask.subjects = vec![subject.clone()];
        let after = make_decision(state, &mut ask).await.map_err(unreadable)?;
        let old = decision_json(&before, true);
        let mut new = decision_json(&after, true);
        let comparable = |it: &Value| {
            (
                it["policies_satisfied"].clone(),
                it["summary"].clone(),
                it["satisfied_requirements"].clone(),
                it["unsatisfied_requirements"].clone(),
            )
        };
        if comparable(&old) == comparable(&new) {
            continue;
        }
        new["subject_type"] = json!(subject.subject_type);
        new["subject_identifier"] = json!(subject.identifier);
        new["subject"] = json!([{"type": subject.subject_type, "item": subject.identifier}]);
        new["decision_context"] = json!(context);
        new["product_version"] = json!(version);
        new["previous"] = old;
        let message = taskotron_bus::OutgoingMessage::fedora(
            prefix,
            "greenwave.decision.update",
            "",
            new,
            chrono::Utc::now(),
        );
        let text = serde_json::to_string(&message)
            .map_err(|err| format!("cannot serialise a decision.update message: {err}"))?;
        messages.push(text);
    }
    Ok(messages)
}
