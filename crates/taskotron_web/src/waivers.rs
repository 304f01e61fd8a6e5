//! WaiverDB's API under `/api/v1.0`: `GET` and `POST /waivers/`,
//! `GET /waivers/<id>` and `POST /waivers/+filtered`.
//!
//! Waivers are never edited; the newest for a key wins and `waived: false`
//! revokes. `GET /waivers/` hides a waiver that a newer one with the same
//! subject, test case, scenario, user and product version replaces;
//! `+filtered` (what Greenwave asks) keys on subject, test case and
//! scenario only. Writing needs the API's credentials (`api.tokens-file`,
//! `api.users-file`); the authenticated name is the waiver's `username`,
//! and only `[waivers] superusers` may waive for someone else
//! (`proxied_by`); `[[waivers.permissions]]` limits who may waive which
//! test cases. Beyond WaiverDB, a waiver may cover every build of a
//! package (`"scope": "package"`) and may expire (`expires_at`).

use std::collections::HashSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use taskotron_store::waivers::{NewWaiver, Obsolete, StoredWaiver, WaiverFilter};

use crate::AppState;
use crate::error::ApiError;

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1.0/waivers/", get(list).post(create))
        .route("/api/v1.0/waivers/+filtered", post(filtered))
        .route(
            "/api/v1.0/waivers/+by-subjects-and-testcases",
            post(by_subjects_and_testcases),
        )
        .route("/api/v1.0/waivers/{id}", get(one))
        .route("/api/v1.0/config", get(config))
        .route("/api/v1.0/permissions", get(permissions))
}

fn permission_json(entry: &taskotron_gating::WaivePermission) -> Value {
    json!({
        "testcases": entry.testcases,
        "testcases_ignore": entry.testcases_ignore,
        "users": entry.users,
        "groups": [],
    })
}

/// `GET /api/v1.0/config`: who may waive what, and who may waive for others.
async fn config(State(state): State<AppState>) -> Json<Value> {
    let entries: Vec<Value> = state
        .gating
        .permissions
        .iter()
        .map(permission_json)
        .collect();
    Json(json!({
        "permission_mapping": entries,
        "superusers": state.gating.superusers,
    }))
}

/// `GET /api/v1.0/permissions[?testcase=T]`: the permission entries (that
/// cover `T`).
async fn permissions(State(state): State<AppState>, RawQuery(query): RawQuery) -> Json<Value> {
    let testcase = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "testcase")
        .map(|(_, value)| value.into_owned());
    let entries: Vec<Value> = state
        .gating
        .permissions
        .iter()
        .filter(|entry| {
            testcase.as_deref().is_none_or(|it| {
                entry
                    .testcases
                    .iter()
                    .any(|glob| taskotron_gating::fnmatch(glob, it))
                    && !entry
                        .testcases_ignore
                        .iter()
                        .any(|glob| taskotron_gating::fnmatch(glob, it))
            })
        })
        .map(permission_json)
        .collect();
    Json(Value::Array(entries))
}

/// The keys a `+filtered` filter may hold.
const FILTER_KEYS: [&str; 8] = [
    "subject_type",
    "subject_identifier",
    "testcase",
    "scenario",
    "product_version",
    "username",
    "proxied_by",
    "since",
];

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// A waiver in WaiverDB's JSON.
pub(crate) fn waiver_json(stored: &StoredWaiver) -> Value {
    let w = &stored.waiver;
    let subject = if w.subject_type == "compose" {
        json!({"productmd.compose.id": w.subject_identifier})
    } else {
        json!({"type": w.subject_type, "item": w.subject_identifier})
    };
    let time = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(|it| it.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
    };
    let timestamp = time(stored.created_at);
    json!({
        "id": stored.id,
        "subject_type": w.subject_type,
        "subject_identifier": w.subject_identifier,
        "subject": subject,
        "testcase": w.testcase,
        "scenario": w.scenario,
        "username": w.username,
        "proxied_by": w.proxied_by,
        "product_version": w.product_version,
        "waived": w.waived,
        "comment": w.comment,
        "timestamp": timestamp,
        "scope": if w.covers_package { "package" } else { "build" },
        "expires_at": w.expires_at.and_then(time),
    })
}

/// Keep only the newest waiver of each key (the list is newest first).
pub(crate) fn newest_per_key<K: std::hash::Hash + Eq>(
    waivers: Vec<StoredWaiver>,
    key: impl Fn(&NewWaiver) -> K,
) -> Vec<StoredWaiver> {
    let mut seen = HashSet::new();
    waivers
        .into_iter()
        .filter(|it| seen.insert(key(&it.waiver)))
        .collect()
}

/// The key of `+filtered` and of decisions.
pub(crate) fn subject_key(w: &NewWaiver) -> (String, String, String, Option<String>, bool) {
    (
        w.subject_type.clone(),
        w.subject_identifier.clone(),
        w.testcase.clone(),
        w.scenario.clone(),
        w.covers_package,
    )
}

fn subject_types(subject_type: &str) -> Vec<String> {
    match subject_type {
        "koji_build" | "brew-build" => vec!["koji_build".to_owned(), "brew-build".to_owned()],
        other => vec![other.to_owned()],
    }
}

/// A filter from query pairs or a `+filtered` object.
fn filter_from(get: &dyn Fn(&str) -> Option<String>) -> Result<WaiverFilter, ApiError> {
    let mut filter = WaiverFilter {
        subject_types: get("subject_type").map_or_else(Vec::new, |it| subject_types(&it)),
        subject_identifier: get("subject_identifier"),
        testcase: get("testcase"),
        scenario: get("scenario"),
        product_version: get("product_version"),
        username: get("username"),
        proxied_by: get("proxied_by"),
        ..WaiverFilter::default()
    };
    if let Some(since) = get("since") {
        let (start, end) = match since.split_once(',') {
            Some((start, end)) => (start.to_owned(), Some(end.to_owned())),
            None => (since.clone(), None),
        };
        filter.since = Some(micros(&start)?);
        filter.until = end.as_deref().map(micros).transpose()?;
    }
    Ok(filter)
}

fn micros(text: &str) -> Result<i64, ApiError> {
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|it| it.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| bad(format!("since: {text:?} is not an ISO 8601 date or time")))?;
    Ok(parsed.and_utc().timestamp_micros())
}

fn flag(text: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(bad(format!("{name}: {other:?} is not a boolean"))),
    }
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let filter = filter_from(&get)?;
    let include_obsolete = flag(get("include_obsolete").as_deref(), "include_obsolete")?;
    let page: usize = match get("page") {
        None => 1,
        Some(text) => text
            .parse()
            .ok()
            .filter(|it| *it >= 1)
            .ok_or_else(|| bad("page: must be a whole number from 1"))?,
    };
    let limit: usize = match get("limit") {
        None => 10,
        Some(text) => text
            .parse()
            .ok()
            .filter(|it| *it >= 1)
            .ok_or_else(|| bad("limit: must be a whole number from 1"))?,
    };
    let obsolete = if include_obsolete {
        Obsolete::Include
    } else {
        Obsolete::ByUserAndProduct
    };
    let limit_sql = i64::try_from(limit).map_err(|_| bad("limit: too large"))?;
    let offset = i64::try_from(page - 1)
        .ok()
        .and_then(|it| it.checked_mul(limit_sql))
        .ok_or_else(|| bad("page: too large"))?;
    let found = state
        .store
        .page_waivers(&filter, obsolete, offset, limit_sql)
        .await?;
    let total = usize::try_from(found.total).unwrap_or(0);
    let pages = total.div_ceil(limit).max(1);
    let data: Vec<Value> = found.waivers.iter().map(waiver_json).collect();
    let base = format!(
        "{}/api/v1.0/waivers/",
        crate::resultsdb::origin(&state, &headers)
    );
    let link = |page: usize| {
        let mut query: Vec<(String, String)> = pairs
            .iter()
            .filter(|(key, _)| key != "page")
            .cloned()
            .collect();
        query.push(("page".to_owned(), page.to_string()));
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("{base}?{encoded}")
    };
    Ok(Json(json!({
        "data": data,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        "first": link(1),
        "last": link(pages),
    }))
    .into_response())
}

async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("Waiver not found".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let waiver = state.store.get_waiver(id).await?.ok_or_else(not_found)?;
    Ok(Json(waiver_json(&waiver)).into_response())
}

/// A subject in WaiverDB's old dict format (`{type, item}`,
/// `{original_spec_nvr}` or `{productmd.compose.id}`) as (type,
/// identifier).
fn legacy_subject(subject: &Value) -> Option<(String, String)> {
    let field = |name: &str| subject.get(name).and_then(Value::as_str).map(str::to_owned);
    match (
        field("type"),
        field("item"),
        field("original_spec_nvr"),
        field("productmd.compose.id"),
    ) {
        (Some(kind), Some(item), _, _) => Some((kind, item)),
        (_, _, Some(nvr), _) => Some(("koji_build".to_owned(), nvr)),
        (_, _, _, Some(compose)) => Some(("compose".to_owned(), compose)),
        _ => None,
    }
}

/// WaiverDB's deprecated query in the old subject-dict format: `subject`,
/// a list of subjects (`{type, item}`, `{original_spec_nvr}` or
/// `{productmd.compose.id}`), and `testcase`, a list of test case names,
/// each optional (ORed within, ANDed together), with `product_version`,
/// `username`, `proxied_by`, `since` and `include_obsolete` as for
/// `+filtered`. Not paginated: `{"data": [...]}`, newest first.
async fn by_subjects_and_testcases(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|err| bad(format!("Invalid JSON body: {err}")))?
    };
    let Some(object) = request.as_object() else {
        return Err(bad("the body must be a JSON object"));
    };
    const KEYS: [&str; 7] = [
        "subject",
        "testcase",
        "product_version",
        "username",
        "proxied_by",
        "since",
        "include_obsolete",
    ];
    if let Some(key) = object.keys().find(|it| !KEYS.contains(&it.as_str())) {
        return Err(bad(format!(
            "unknown key {key:?} (use {})",
            KEYS.join(", ")
        )));
    }
    let list = |name: &str| -> Result<Vec<Value>, ApiError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(_) => Err(bad(format!("{name}: must be a list"))),
        }
    };
    let mut subjects: Vec<(String, String)> = Vec::new();
    for subject in list("subject")? {
        subjects.push(legacy_subject(&subject).ok_or_else(|| {
            bad("subject: each needs type and item, original_spec_nvr or productmd.compose.id")
        })?);
    }
    let mut testcases: Vec<String> = Vec::new();
    for testcase in list("testcase")? {
        match testcase {
            Value::String(it) => testcases.push(it),
            _ => return Err(bad("testcase: must be a list of test case names")),
        }
    }
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(it)) => Ok(Some(it.clone())),
            Some(_) => Err(bad(format!("{name}: must be a string"))),
        }
    };
    let (product_version, username, proxied_by, since) = (
        text("product_version")?,
        text("username")?,
        text("proxied_by")?,
        text("since")?,
    );
    let include_obsolete = match object.get("include_obsolete") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(it)) => *it,
        Some(_) => return Err(bad("include_obsolete: must be a boolean")),
    };
    // One filter per (subject, test case) pair, or per subject, or per
    // test case, or one for everything.
    let subject_options: Vec<Option<&(String, String)>> = if subjects.is_empty() {
        vec![None]
    } else {
        subjects.iter().map(Some).collect()
    };
    let testcase_options: Vec<Option<&String>> = if testcases.is_empty() {
        vec![None]
    } else {
        testcases.iter().map(Some).collect()
    };
    let mut parsed = Vec::new();
    for subject in &subject_options {
        for testcase in &testcase_options {
            let get = |name: &str| match name {
                "subject_type" => subject.map(|it| it.0.clone()),
                "subject_identifier" => subject.map(|it| it.1.clone()),
                "testcase" => testcase.cloned(),
                "product_version" => product_version.clone(),
                "username" => username.clone(),
                "proxied_by" => proxied_by.clone(),
                "since" => since.clone(),
                _ => None,
            };
            parsed.push(filter_from(&get)?);
        }
    }
    let mut found = state.store.find_waivers(&parsed).await?;
    if !include_obsolete {
        found = newest_per_key(found, subject_key);
    }
    let data: Vec<Value> = found.iter().map(waiver_json).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

async fn filtered(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: Value =
        serde_json::from_slice(&body).map_err(|err| bad(format!("Invalid JSON body: {err}")))?;
    let filters = request
        .get("filters")
        .and_then(Value::as_array)
        .filter(|it| !it.is_empty())
        .ok_or_else(|| bad("filters: a list of at least one filter is required"))?;
    let mut parsed = Vec::new();
    for item in filters {
        let Some(object) = item.as_object() else {
            return Err(bad("filters: each filter must be an object"));
        };
        for (key, value) in object {
            if !FILTER_KEYS.contains(&key.as_str()) {
                return Err(bad(format!(
                    "filters: unknown key {key:?} (use {})",
                    FILTER_KEYS.join(", ")
                )));
            }
            if !value.is_string() {
                return Err(bad(format!("filters: {key} must be a string")));
            }
        }
        if !(object.contains_key("subject_type") && object.contains_key("subject_identifier")) {
            return Err(bad(
                "filters: each filter needs subject_type and subject_identifier",
            ));
        }
        let get = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        parsed.push(filter_from(&get)?);
    }
    let include_obsolete = match request.get("include_obsolete") {
        None => false,
        Some(Value::Bool(it)) => *it,
        Some(_) => return Err(bad("include_obsolete: must be a boolean")),
    };
    let mut found = state.store.find_waivers(&parsed).await?;
    if !include_obsolete {
        found = newest_per_key(found, subject_key);
    }
    let data: Vec<Value> = found.iter().map(waiver_json).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = state.resultsdb.auth.check(&headers)?;
    let request: Value =
        serde_json::from_slice(&body).map_err(|err| bad(format!("Invalid JSON body: {err}")))?;
    let (items, many) = match &request {
        Value::Array(items) if !items.is_empty() => (items.clone(), true),
        Value::Object(_) => (vec![request.clone()], false),
        _ => {
            return Err(bad(
                "the body must be a waiver object or a non-empty list of them",
            ));
        }
    };
    let mut waivers = Vec::new();
    for item in &items {
        let Some(object) = item.as_object() else {
            return Err(bad("each waiver must be an object"));
        };
        waivers.push(new_waiver(&state, object, user.as_deref()).await?);
    }
    // A decision check commits with the waivers (greenwave.rs).
    let check = crate::greenwave::waivers_need_check(&state);
    // Each waiver's `waiver.new` message commits with it, as WaiverDB
    // publishes one after its commit.
    let prefix = state.resultsdb.publish_prefix.clone();
    let now = chrono::Utc::now();
    let announce = |stored: &StoredWaiver| {
        let prefix = prefix.as_deref()?;
        let message = taskotron_bus::OutgoingMessage::fedora(
            prefix,
            "waiverdb.waiver.new",
            "",
            waiver_json(stored),
            now,
        );
        serde_json::to_string(&message).ok()
    };
    let stored = state
        .store
        .create_waivers_announced(&waivers, check, &announce)
        .await?;
    if prefix.is_some() {
        state.resultsdb.outbox_wake.notify_one();
    }
    if check {
        crate::greenwave::check_written(&state);
    }
    let body = if many {
        Value::Array(stored.iter().map(waiver_json).collect())
    } else {
        stored.first().map(waiver_json).unwrap_or(Value::Null)
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn new_waiver(
    state: &AppState,
    object: &Map<String, Value>,
    user: Option<&str>,
) -> Result<NewWaiver, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(it)) => Ok(Some(it.clone())),
            Some(_) => Err(ApiError::Validation {
                field: name.to_owned(),
                message: "must be a string".to_owned(),
                kind: "string_type",
            }),
        }
    };
    let required = |name: &str, value: Option<String>| {
        value
            .filter(|it| !it.trim().is_empty())
            .ok_or_else(|| ApiError::Validation {
                field: name.to_owned(),
                message: "is required and must not be empty".to_owned(),
                kind: "missing",
            })
    };
    let product_version = required("product_version", text("product_version")?)?;
    let comment = required("comment", text("comment")?)?;
    let waived = match object.get("waived") {
        None => true,
        Some(Value::Bool(it)) => *it,
        Some(_) => return Err(bad("waived: must be a boolean")),
    };
    let has = |name: &str| object.get(name).is_some_and(|it| !it.is_null());
    let (subject_type, subject_identifier, testcase, scenario) = if has("result_id") {
        if ["subject", "subject_type", "subject_identifier", "testcase"]
            .iter()
            .any(|it| has(it))
        {
            return Err(bad(
                "result_id cannot be combined with subject, subject_type, subject_identifier or testcase",
            ));
        }
        let id = object
            .get("result_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("result_id: must be a whole number"))?;
        let result = state
            .store
            .get_result(id)
            .await?
            .ok_or_else(|| bad("Result id not found in Resultsdb"))?;
        let first = |key: &str| result.data.get(key).and_then(|it| it.first()).cloned();
        let (kind, item) = match (first("original_spec_nvr"), first("type"), first("item")) {
            (Some(nvr), _, _) => ("koji_build".to_owned(), nvr),
            (None, Some(kind), Some(item)) => (kind, item),
            _ => {
                return Err(bad(
                    "the result has neither original_spec_nvr nor type and item",
                ));
            }
        };
        (kind, item, result.testcase.name.clone(), first("scenario"))
    } else {
        let (kind, item) = if has("subject") {
            if has("subject_type") || has("subject_identifier") {
                return Err(bad(
                    "subject cannot be combined with subject_type or subject_identifier",
                ));
            }
            let subject = object
                .get("subject")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("subject: must be an object"))?;
            legacy_subject(&Value::Object(subject.clone())).ok_or_else(|| {
                bad("subject: needs type and item, original_spec_nvr or productmd.compose.id")
            })?
        } else {
            (
                required("subject_type", text("subject_type")?)?,
                required("subject_identifier", text("subject_identifier")?)?,
            )
        };
        (
            kind,
            item,
            required("testcase", text("testcase")?)?,
            text("scenario")?,
        )
    };
    let types = &state.gating.subject_types;
    let named = state
        .gating
        .policies
        .iter()
        .any(|it| it.subject_types.contains(&subject_type));
    if !named && !types.is_known(&subject_type) {
        return Err(ApiError::validation(
            "subject_type",
            format!(
                "unknown subject type {subject_type:?}: no policy names it and it is not configured"
            ),
            "enum",
        ));
    }
    let subject_type = if subject_type == "brew-build" {
        "koji_build".to_owned()
    } else {
        subject_type
    };
    let covers_package = match text("scope")?.as_deref() {
        None | Some("build") => false,
        Some("package") => {
            if !types.resolve(&subject_type).is_nvr {
                return Err(ApiError::validation(
                    "scope",
                    format!(
                        "package waivers are only for subject types whose identifiers are NVRs, not {subject_type}"
                    ),
                    "value_error",
                ));
            }
            if taskotron_types::Nvr::parse(&subject_identifier).is_ok() {
                return Err(ApiError::validation(
                    "subject_identifier",
                    format!(
                        "a package waiver names the package, not a build ({subject_identifier:?} is an NVR)"
                    ),
                    "value_error",
                ));
            }
            true
        }
        Some(other) => {
            return Err(ApiError::validation(
                "scope",
                format!("must be \"build\" or \"package\", not {other:?}"),
                "enum",
            ));
        }
    };
    let expires_at = match text("expires_at")? {
        None => None,
        Some(value) => {
            let at = expiry(&value).ok_or_else(|| {
                ApiError::validation(
                    "expires_at",
                    format!("{value:?} is not an ISO 8601 time (2026-12-01T00:00:00Z) or date"),
                    "datetime_parsing",
                )
            })?;
            if at <= chrono::Utc::now().timestamp_micros() {
                return Err(ApiError::validation(
                    "expires_at",
                    format!("{value:?} has already passed"),
                    "value_error",
                ));
            }
            Some(at)
        }
    };
    let asked = text("username")?;
    let (username, proxied_by) = match (user, asked) {
        (Some(user), Some(other)) if other != user => {
            if !state.gating.superusers.iter().any(|it| it == user) {
                return Err(ApiError::Forbidden(format!(
                    "{user} is not allowed to waive for another user ({other})"
                )));
            }
            (other, Some(user.to_owned()))
        }
        (Some(user), _) => (user.to_owned(), None),
        (None, Some(other)) => (other, None),
        (None, None) => ("anonymous".to_owned(), None),
    };
    let waiver_as = &username;
    if !taskotron_gating::may_waive(&state.gating.permissions, waiver_as, &testcase) {
        return Err(ApiError::Forbidden(format!(
            "User {waiver_as} is not authorized to submit waivers for the test case {testcase}"
        )));
    }
    Ok(NewWaiver {
        subject_type,
        subject_identifier,
        testcase,
        scenario,
        product_version,
        username,
        proxied_by,
        waived,
        comment,
        covers_package,
        expires_at,
    })
}

/// An expiry time: RFC 3339, or a naive time or date read as UTC.
fn expiry(text: &str) -> Option<i64> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_micros());
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|it| it.and_hms_opt(0, 0, 0))
        })
        .map(|it| it.and_utc().timestamp_micros())
}
