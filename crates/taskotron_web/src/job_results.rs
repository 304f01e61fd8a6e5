//! A job's results, from its worker to the result store: the worker posts
//! the task's results (ResultsDB POST bodies) with the attempt's outcome;
//! they are checked as `POST /results` would check them, kept in the
//! transaction that accepts the attempt (`job_results`), and stored by
//! [`store_pending`] in the job's group, with the job's page as `ref_url`
//! when they give none, each exactly once (see the store's
//! `job_results.rs`). A store that cannot be written keeps them for the
//! next pass.

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use taskotron_store::StoreError;
use taskotron_store::resultsdb::GroupUpdate;

use crate::AppState;
use crate::error::ApiError;

/// The most results one attempt may report.
pub const MAX_RESULTS: usize = 1000;

/// Check a worker's reported results; the JSON array to keep.
///
/// # Errors
///
/// 400 naming the result (`results[2].outcome`) and what is wrong.
pub(crate) fn check(state: &AppState, results: &[Value]) -> Result<String, ApiError> {
    if results.len() > MAX_RESULTS {
        return Err(ApiError::validation(
            "results",
            format!("at most {MAX_RESULTS} results"),
            "too_long",
        ));
    }
    let now = chrono::Utc::now().timestamp_micros();
    for (idx, result) in results.iter().enumerate() {
        let Some(object) = result.as_object() else {
            return Err(ApiError::validation(
                &format!("results[{idx}]"),
                "must be an object, as POST /api/v2.0/results takes".to_owned(),
                "dict_type",
            ));
        };
        crate::resultsdb::parse_result(state, object, now).map_err(|err| match err {
            ApiError::Validation {
                field,
                message,
                kind,
            } => ApiError::Validation {
                field: format!("results[{idx}].{field}"),
                message,
                kind,
            },
            other => other,
        })?;
    }
    Ok(Value::Array(results.to_vec()).to_string())
}

/// The job's page, for `ref_url`s: under `api.public-url` when set.
pub(crate) fn job_url(state: &AppState, uuid: &str) -> String {
    let base = state
        .resultsdb
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    format!("{base}/api/v1/jobs/{uuid}")
}

/// One reported result, ready to store: in the job's group (whose
/// `ref_url` is the job's page), with the job's page as its own `ref_url`
/// when it gives none.
fn prepare(
    state: &AppState,
    uuid: &str,
    object: &Map<String, Value>,
    now: i64,
) -> Result<taskotron_store::resultsdb::NewResult, ApiError> {
    let mut new = crate::resultsdb::parse_result(state, object, now)?;
    let page = job_url(state, uuid);
    new.groups.retain(|it| it.uuid != uuid);
    new.groups.insert(
        0,
        GroupUpdate {
            uuid: uuid.to_owned(),
            description: None,
            ref_url: Some(Some(page.clone())),
        },
    );
    if new.ref_url.is_none() {
        new.ref_url = Some(page);
    }
    Ok(new)
}

/// Store the results waiting in `job_results`, oldest job first; answers
/// how many were stored.
///
/// # Errors
///
/// A store error: what was stored stays stored, and the next pass goes on
/// from there.
pub async fn store_pending(state: &AppState) -> Result<usize, StoreError> {
    let mut stored = 0;
    let headers = HeaderMap::new();
    for row in state.store.pending_job_results(100).await? {
        let payloads: Vec<Value> = match serde_json::from_str(&row.payloads) {
            Ok(Value::Array(items)) => items,
            _ => {
                tracing::error!(job.id = %row.job_uuid, "a job's kept results are not a JSON array; dropped");
                state.store.job_results_stored(row.id).await?;
                continue;
            }
        };
        let now = chrono::Utc::now().timestamp_micros();
        let start = usize::try_from(row.written).unwrap_or(usize::MAX);
        for (idx, payload) in payloads.iter().enumerate().skip(start) {
            let index = i64::try_from(idx).unwrap_or(i64::MAX);
            let prepared = payload
                .as_object()
                .ok_or_else(|| "not an object".to_owned())
                .and_then(|object| {
                    prepare(state, &row.job_uuid, object, now).map_err(|err| err.to_string())
                });
            let new = match prepared {
                Ok(it) => it,
                Err(why) => {
                    // Checked when the attempt was accepted: only a change
                    // of the accepted outcomes since gets here. Kept as an
                    // ERROR result in its place, so nothing vanishes.
                    tracing::error!(job.id = %row.job_uuid, index, error = %why, "a job's kept result no longer passes the checks");
                    let mut object = Map::new();
                    object.insert(
                        "testcase".into(),
                        payload
                            .get("testcase")
                            .cloned()
                            .unwrap_or(json!("taskotron")),
                    );
                    object.insert("outcome".into(), json!("ERROR"));
                    object.insert(
                        "note".into(),
                        json!(format!("the reported result was refused: {why}")),
                    );
                    match prepare(state, &row.job_uuid, &object, now) {
                        Ok(it) => it,
                        Err(_) => {
                            state.store.job_results_stored(row.id).await?;
                            break;
                        }
                    }
                }
            };
            match crate::resultsdb::store_result(state, &headers, &new, Some((row.id, index))).await
            {
                Ok(_) => stored += 1,
                Err(StoreError::Write(why)) if why.contains("written already") => {
                    // Another server is storing this job's results.
                    break;
                }
                Err(err) => return Err(err),
            }
            if idx + 1 == payloads.len() {
                state.store.job_results_stored(row.id).await?;
            }
        }
        if start >= payloads.len() {
            state.store.job_results_stored(row.id).await?;
        }
    }
    Ok(stored)
}
