//! Greenwave's API: `POST /api/v1.0/decision`, `GET /api/v1.0/policies`
//! and `GET /api/v1.0/about` (`/version` redirects there), answered from
//! the configured policies and the result store.
//!
//! The decision itself is `taskotron_gating::decide`; this module parses
//! the request as Greenwave does, looks up the latest results of the
//! required test cases (one query per subject), and renders Greenwave's
//! JSON, applying the waivers in force for the subjects (`ignore_waiver`
//! leaves some out). Remote rules are not fetched yet: each one gives an unsatisfied
//! `failed-fetch-gating-yaml` requirement, so gating never fails open.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use taskotron_gating::{
    Kind, LatestResult, Outcomes, Policy, Request, Requirement, Rule, Subject, Waiver, decide,
};
use taskotron_store::resultsdb::{DataFilter, ResultFilter, StoredResult};
use taskotron_store::waivers::{StoredWaiver, WaiverFilter};

use crate::AppState;
use crate::error::ApiError;
use crate::waivers::{newest_per_key, subject_key, waiver_json};

/// What the Greenwave API decides with.
#[derive(Debug, Clone, Default)]
pub struct GatingSettings {
    /// The server's policies.
    pub policies: Vec<Policy>,
    /// The outcome classes.
    pub outcomes: Outcomes,
    /// Users who may waive for someone else (`proxied_by`), e.g. Bodhi's.
    pub superusers: Vec<String>,
}

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1.0/decision", post(decision))
        .route("/api/v1.0/policies", get(policies))
        .route("/api/v1.0/about", get(about))
        .route(
            "/api/v1.0/version",
            get(|| async { Redirect::permanent("/api/v1.0/about") }),
        )
}

async fn about() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION")}))
}

async fn policies(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state.gating.policies.iter().map(policy_json).collect();
    Json(json!({ "policies": list }))
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

/// Subject types whose identifier is an NVR (package rules apply).
fn canonical_type(subject_type: &str) -> &str {
    match subject_type {
        "brew-build" => "koji_build",
        other => other,
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
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
    let product_version = request
        .get("product_version")
        .and_then(Value::as_str)
        .filter(|it| !it.is_empty())
        .ok_or_else(|| bad("Missing required product version"))?;
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
    let verbose = match request.get("verbose") {
        None => false,
        Some(Value::Bool(it)) => *it,
        Some(_) => return Err(bad("Invalid verbose flag, must be a boolean")),
    };
    let until = match request.get("when") {
        None => None,
        Some(Value::String(text)) => Some(
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
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
    if request
        .get("ignore_result")
        .and_then(Value::as_array)
        .is_some_and(|it| !it.is_empty())
    {
        return Err(bad(
            "ignore_result is not supported by this server yet; ask without it",
        ));
    }
    let subjects = subjects_of(request)?;
    let on_demand;
    let policies: &[Policy] = match request.get("rules") {
        Some(rules) => {
            on_demand = vec![on_demand_policy(rules, &contexts)?];
            &on_demand
        }
        None => &state.gating.policies,
    };
    let gating_request = Request {
        product_version,
        decision_contexts: &contexts,
        subjects: &subjects,
    };

    // The test cases the applicable policies ask for, and the remote rules.
    let mut testcases: BTreeSet<String> = BTreeSet::new();
    let mut remote = Vec::new();
    for policy in policies {
        for subject in &subjects {
            if gating_request.applies(policy, subject) != taskotron_gating::Applies::Yes {
                continue;
            }
            for rule in &policy.rules {
                match rule {
                    Rule::PassingTestCase { test_case_name, .. } => {
                        testcases.insert(test_case_name.clone());
                    }
                    // Remote rules read the build's gating.yaml: only builds have one.
                    Rule::Remote { .. } if subject.subject_type != "koji_build" => {}
                    Rule::Remote { .. } => {
                        let mut failed = Requirement::new(
                            Kind::FailedFetchGatingYaml,
                            subject,
                            "",
                            policy.label(),
                        );
                        failed.error_reason =
                            Some("this server does not fetch gating.yaml yet".to_owned());
                        remote.push(failed);
                    }
                }
            }
        }
    }
    // Results by (subject type, identifier, test case).
    let mut found: HashMap<(String, String, String), Vec<StoredResult>> = HashMap::new();
    if !testcases.is_empty() {
        let testcases: Vec<String> = testcases.iter().cloned().collect();
        let distinct = ["scenario", "system_architecture", "system_variant"].map(str::to_owned);
        // Koji builds, an update's many builds included, in one query: the
        // newest result per build, test case, scenario, arch and variant.
        let builds: Vec<&Subject> = subjects
            .iter()
            .filter(|it| it.subject_type == "koji_build")
            .collect();
        if !builds.is_empty() {
            let nvrs: Vec<String> = builds.iter().map(|it| it.identifier.clone()).collect();
            // Greenwave's two queries for a Koji build: `item` with the
            // build types, and `original_spec_nvr` (CI results).
            for (key, extra) in [
                (
                    "item",
                    Some(DataFilter::Exact {
                        key: "type".to_owned(),
                        values: vec!["koji_build".to_owned(), "brew-build".to_owned()],
                    }),
                ),
                ("original_spec_nvr", None),
            ] {
                let mut data = vec![DataFilter::Exact {
                    key: key.to_owned(),
                    values: nvrs.clone(),
                }];
                data.extend(extra);
                let filter = ResultFilter {
                    testcases: testcases.clone(),
                    until,
                    data,
                    ..ResultFilter::default()
                };
                let mut by_build = vec![key.to_owned()];
                by_build.extend(distinct.iter().cloned());
                for result in state.store.latest_results(&filter, &by_build).await? {
                    let nvr = result.data.get(key).and_then(|it| it.first()).cloned();
                    for subject in builds
                        .iter()
                        .filter(|it| Some(&it.identifier) == nvr.as_ref())
                    {
                        found
                            .entry(result_key(subject, &result.testcase.name))
                            .or_default()
                            .push(result.clone());
                    }
                }
            }
        }
        for subject in &subjects {
            if subject.subject_type == "koji_build" {
                continue;
            }
            let filter = ResultFilter {
                testcases: testcases.clone(),
                until,
                data: subject_filter(subject),
                ..ResultFilter::default()
            };
            for result in state.store.latest_results(&filter, &distinct).await? {
                found
                    .entry(result_key(subject, &result.testcase.name))
                    .or_default()
                    .push(result);
            }
        }
    }
    let lookup = |subject: &Subject, testcase: &str| -> Vec<LatestResult> {
        found
            .get(&result_key(subject, testcase))
            .map(|results| results.iter().map(latest).collect())
            .unwrap_or_default()
    };
    // The waivers in force: the newest per subject, test case and scenario,
    // when it waives (a newer `waived: false` revokes).
    let ignored: Vec<i64> = request
        .get("ignore_waiver")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let filters: Vec<WaiverFilter> = subjects
        .iter()
        .map(|subject| WaiverFilter {
            subject_types: if subject.subject_type == "koji_build" {
                vec!["koji_build".to_owned(), "brew-build".to_owned()]
            } else {
                vec![subject.subject_type.clone()]
            },
            subject_identifier: Some(subject.identifier.clone()),
            product_version: Some(product_version.to_owned()),
            until,
            ..WaiverFilter::default()
        })
        .collect();
    let in_force: Vec<StoredWaiver> = newest_per_key(
        state
            .store
            .find_waivers(&filters)
            .await?
            .into_iter()
            .filter(|it| !ignored.contains(&it.id))
            .collect(),
        subject_key,
    )
    .into_iter()
    .filter(|it| it.waiver.waived)
    .collect();
    let waivers: Vec<Waiver> = in_force
        .iter()
        .map(|it| Waiver {
            id: it.id,
            subject_type: it.waiver.subject_type.clone(),
            subject_identifier: it.waiver.subject_identifier.clone(),
            testcase: it.waiver.testcase.clone(),
            scenario: it.waiver.scenario.clone(),
        })
        .collect();
    let decided = decide(
        &gating_request,
        policies,
        &lookup,
        &waivers,
        &state.gating.outcomes,
        remote,
    );
    if decided.applicable_policies.is_empty()
        && request.get("rules").is_none()
        && !subjects.iter().all(|it| it.subject_type == "bodhi_update")
    {
        let types: Vec<&str> = subjects.iter().map(|it| it.subject_type.as_str()).collect();
        return Err(ApiError::NotFound(format!(
            "Found no applicable policies for {} subjects at gating point(s) {} in {product_version}",
            types.join(", "),
            contexts.join(", ")
        )));
    }
    let render = |it: &Requirement| requirement_json(it);
    let mut response = json!({
        "policies_satisfied": decided.satisfied(),
        "summary": decided.summary(),
        "satisfied_requirements": decided.requirements.iter().filter(|it| it.is_satisfied()).map(render).collect::<Vec<_>>(),
        "unsatisfied_requirements": decided.requirements.iter().filter(|it| !it.is_satisfied()).map(render).collect::<Vec<_>>(),
    });
    if request.get("rules").is_none() {
        response["applicable_policies"] = json!(decided.applicable_policies);
    }
    if verbose {
        let results: Vec<Value> = found
            .values()
            .flatten()
            .map(|it| json!({"id": it.id, "outcome": it.outcome, "testcase": {"name": it.testcase.name}, "data": it.data}))
            .collect();
        response["results"] = json!(results);
        response["waivers"] = json!(in_force.iter().map(waiver_json).collect::<Vec<_>>());
    }
    Ok(Json(response).into_response())
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

/// The ResultsDB data filter that finds a subject's results.
fn subject_filter(subject: &Subject) -> Vec<DataFilter> {
    let exact = |key: &str, values: &[&str]| DataFilter::Exact {
        key: key.to_owned(),
        values: values.iter().map(|it| (*it).to_owned()).collect(),
    };
    match subject.subject_type.as_str() {
        "compose" => vec![exact("productmd.compose.id", &[&subject.identifier])],
        other => vec![
            exact("item", &[&subject.identifier]),
            exact("type", &[other]),
        ],
    }
}

fn subjects_of(request: &serde_json::Map<String, Value>) -> Result<Vec<Subject>, ApiError> {
    let make = |subject_type: &str, identifier: &str| {
        let subject_type = canonical_type(subject_type).to_owned();
        let package = (subject_type == "koji_build")
            .then(|| taskotron_types::Nvr::parse(identifier).ok())
            .flatten()
            .map(|it| it.name);
        Subject {
            subject_type,
            identifier: identifier.to_owned(),
            package,
            created: None,
        }
    };
    if let Some(list) = request.get("subject") {
        let items = list
            .as_array()
            .filter(|it| !it.is_empty())
            .ok_or_else(|| bad("Invalid subject, must be a non-empty list"))?;
        return items
            .iter()
            .map(|item| {
                let (Some(kind), Some(id)) = (
                    item.get("type").and_then(Value::as_str),
                    item.get("item").and_then(Value::as_str),
                ) else {
                    return Err(bad(format!("Invalid subject {item}: needs type and item")));
                };
                Ok(make(kind, id))
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
    Ok(vec![make(subject_type, identifier)])
}

/// An on-demand policy from the request's `rules`.
fn on_demand_policy(rules: &Value, contexts: &[String]) -> Result<Policy, ApiError> {
    let items = rules
        .as_array()
        .ok_or_else(|| bad("rules must be a list"))?;
    let mut parsed = Vec::new();
    for rule in items {
        match rule.get("type").and_then(Value::as_str) {
            Some("PassingTestCaseRule") => {
                let name = rule
                    .get("test_case_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("PassingTestCaseRule needs test_case_name"))?;
                parsed.push(Rule::PassingTestCase {
                    test_case_name: name.to_owned(),
                    scenario: rule
                        .get("scenario")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    valid_since: None,
                    valid_until: None,
                    pos: taskotron_task_format::diagnostic::Pos { line: 1, column: 1 },
                });
            }
            Some("RemoteRule") => parsed.push(Rule::Remote {
                sources: Vec::new(),
                required: rule
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                pos: taskotron_task_format::diagnostic::Pos { line: 1, column: 1 },
            }),
            other => {
                return Err(bad(format!(
                    "Unknown rule type {}: use PassingTestCaseRule or RemoteRule",
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
        pos: taskotron_task_format::diagnostic::Pos { line: 1, column: 1 },
    })
}

fn requirement_json(it: &Requirement) -> Value {
    let mut out = json!({
        "type": it.type_name(),
        "subject_type": it.subject_type,
        "subject_identifier": it.subject_identifier,
        "source": Value::Null,
    });
    if !it.testcase.is_empty() {
        out["testcase"] = json!(it.testcase);
    }
    if matches!(
        it.kind,
        Kind::Passed | Kind::Failed | Kind::Errored | Kind::Missing | Kind::Incomplete
    ) {
        out["scenario"] = json!(it.scenario);
    }
    if let Some(id) = it.result_id {
        out["result_id"] = json!(id);
        out["system_architecture"] = json!(it.system_architecture);
        out["system_variant"] = json!(it.system_variant);
    }
    if let Some(reason) = &it.error_reason {
        out["error_reason"] = json!(reason);
    }
    if let Some(id) = it.waiver_id {
        out["waiver_id"] = json!(id);
    } else if !it.is_satisfied()
        && matches!(
            it.kind,
            Kind::Failed | Kind::Errored | Kind::Missing | Kind::Incomplete
        )
    {
        // Deprecated, kept for Greenwave's older clients.
        out["item"] = json!({"type": it.subject_type, "item": it.subject_identifier});
    }
    out
}

/// Settings shared with the handlers.
pub(crate) type Shared = Arc<GatingSettings>;
