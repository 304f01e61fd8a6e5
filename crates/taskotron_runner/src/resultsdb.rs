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

/// The data keys that say which result a new one would repeat: the same
/// testcase, item, type, arch and scenario (a key a result lacks counts as
/// its own value, as `_distinct_on` buckets it).
const SAME_SUBJECT: [&str; 4] = ["item", "type", "arch", "scenario"];

/// The newest result ResultsDB holds for the same testcase, item, type, arch
/// and scenario as `payload`, if it is identical to it: same outcome, same
/// note and the same data (as ResultsDB stores data: every value as text, a
/// list as several values). Only `ref_url` and the groups, which name the
/// job, may differ. `Ok(None)` when there is none or it differs; `Err` when
/// ResultsDB could not be asked (the caller then reports anyway).
pub(crate) async fn unchanged(
    http: &reqwest::Client,
    target: &ResultsdbTarget,
    payload: &Json,
) -> Result<Option<i64>, String> {
    let testcase = payload["testcase"]["name"].as_str().unwrap_or_default();
    let data = &payload["data"];
    let mut query: Vec<(String, String)> = vec![
        ("testcases".to_owned(), testcase.to_owned()),
        ("_distinct_on".to_owned(), SAME_SUBJECT.join(",")),
    ];
    for key in SAME_SUBJECT {
        match data.get(key) {
            // A filter value with a comma means "any of"; such a value (or a
            // list) is left to the comparison below instead.
            Some(Json::String(value)) if !value.contains(',') && !value.is_empty() => {
                query.push((key.to_owned(), value.clone()));
            }
            _ => {}
        }
    }
    if !query.iter().any(|(key, _)| key == "item") {
        // Without an item the lookup would list every item of the testcase.
        return Ok(None);
    }
    let url = format!("{}/results/latest", target.url.trim_end_matches('/'));
    let response = http
        .get(&url)
        .query(&query)
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let excerpt: String = body.chars().take(300).collect();
        return Err(format!("GET {url} answered {status}: {excerpt}"));
    }
    let answer: Json = serde_json::from_str(&body)
        .map_err(|err| format!("GET {url} answered {status} with no JSON: {err}"))?;
    let Some(latest) = answer["data"].as_array() else {
        return Err(format!("GET {url} answered {status} without a `data` list"));
    };
    let mine = rows(data);
    let same_subject = |it: &&Json| {
        let theirs = rows(&it["data"]);
        SAME_SUBJECT.iter().all(|key| {
            let pick = |rows: &[(String, String)]| -> Vec<String> {
                rows.iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            pick(&mine) == pick(&theirs)
        })
    };
    // The newest in the bucket; several tie only on equal submit times.
    let candidates: Vec<&Json> = latest.iter().filter(same_subject).collect();
    let newest = candidates.iter().copied().max_by(|a, b| {
        let time = |it: &Json| it["submit_time"].as_str().unwrap_or_default().to_owned();
        time(a)
            .cmp(&time(b))
            .then_with(|| a["id"].as_i64().cmp(&b["id"].as_i64()))
    });
    let Some(newest) = newest else {
        return Ok(None);
    };
    let identical = newest["outcome"] == payload["outcome"]
        && newest["note"].as_str().unwrap_or_default()
            == payload["note"].as_str().unwrap_or_default()
        && rows(&newest["data"]) == mine;
    Ok(identical.then(|| newest["id"].as_i64()).flatten())
}

/// Data as ResultsDB stores it: sorted (key, text) rows, a list giving one
/// row per element. Values that are not text are written as Python's `str()`
/// would for the simple types ResultYAML allows; anything else is kept as
/// JSON, which at worst makes two equal results look different (and both
/// are reported), never the other way round.
fn rows(data: &Json) -> Vec<(String, String)> {
    fn text(value: &Json) -> String {
        match value {
            Json::String(text) => text.clone(),
            Json::Bool(true) => "True".to_owned(),
            Json::Bool(false) => "False".to_owned(),
            Json::Null => "None".to_owned(),
            other => other.to_string(),
        }
    }
    let mut rows = Vec::new();
    if let Some(map) = data.as_object() {
        for (key, value) in map {
            match value {
                Json::Array(items) => {
                    rows.extend(items.iter().map(|it| (key.clone(), text(it))));
                }
                other => rows.push((key.clone(), text(other))),
            }
        }
    }
    rows.sort();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_data_as_resultsdb_stores_it() {
        assert_eq!(
            rows(&serde_json::json!({"b": ["x", 1], "a": true, "c": "y"})),
            [
                ("a".to_owned(), "True".to_owned()),
                ("b".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x".to_owned()),
                ("c".to_owned(), "y".to_owned()),
            ]
        );
        // ResultsDB answers every value as a list of text.
        assert_eq!(
            rows(&serde_json::json!({"a": ["True"], "b": ["1", "x"], "c": ["y"]})),
            rows(&serde_json::json!({"b": ["x", 1], "a": true, "c": "y"}))
        );
    }
}
