//! Reporting results to a ResultsDB v2.0 API (`POST /results`).

use serde_json::{Map, Value as Json, json};
use taskotron_task_format::TaskResult;

use crate::{Job, ResultsdbTarget};

/// The `POST /api/v2.0/results` body for one result: the testcase is the
/// check name, the group is the job's uuid, keyvals become `data`.
pub(crate) fn payload(job: &Job, target: Option<&ResultsdbTarget>, result: &TaskResult) -> Json {
    let base = target
        .and_then(|it| it.artifacts_base_url.as_deref())
        .map(|it| it.trim_end_matches('/'));
    let job_url = base.map(|base| format!("{base}/{}", job.uuid));
    let ref_url = match (&job_url, &result.artifact) {
        (Some(url), Some(artifact)) => Some(format!("{url}/{artifact}")),
        (Some(url), None) => Some(url.clone()),
        (None, _) => None,
    };
    let mut data = Map::new();
    data.insert("item".into(), json!(result.item));
    data.insert("type".into(), json!(result.item_type));
    for (key, value) in &result.keyvals {
        data.insert(key.clone(), value.clone());
    }
    let checkname = result
        .checkname
        .as_ref()
        .map_or_else(|| job.formula.checkname(), |it| it.to_string());
    let mut group = json!({"uuid": job.uuid});
    if let Some(url) = &job_url {
        group["ref_url"] = json!(url);
    }
    json!({
        "testcase": {"name": checkname},
        "outcome": result.outcome.as_str(),
        "note": result.note.clone().unwrap_or_default(),
        "ref_url": ref_url,
        "groups": [group],
        "data": data,
    })
}

/// Post one result; returns the id ResultsDB gave it.
pub(crate) async fn post(
    http: &reqwest::Client,
    target: &ResultsdbTarget,
    payload: &Json,
) -> Result<i64, String> {
    let url = format!("{}/results", target.url.trim_end_matches('/'));
    let mut request = http
        .post(&url)
        .json(payload)
        .timeout(std::time::Duration::from_secs(60));
    if let Some(token) = &target.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|err| format!("POST {url}: {err}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let excerpt: String = body.chars().take(300).collect();
        return Err(format!("POST {url} answered {status}: {excerpt}"));
    }
    serde_json::from_str::<Json>(&body)
        .ok()
        .and_then(|it| it["id"].as_i64())
        .ok_or_else(|| format!("POST {url} answered {status} without a result id"))
}
