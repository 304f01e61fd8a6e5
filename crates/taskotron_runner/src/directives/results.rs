//! `resultsdb` and `exitcode`: the directives that read ResultYAML.

use std::path::{Component, Path};

use serde_json::{Value as Json, json};
use taskotron_task_format::{ResultYaml, parse_results};
use taskotron_types::CheckName;

use super::{Cx, DirectiveError, failed};
use crate::layout::ActionSink;

/// ResultYAML from `results` (text) or `file` (a path).
pub(crate) fn load_results(cx: &Cx<'_>, params: &Json) -> Result<ResultYaml, DirectiveError> {
    let (text, origin) = if let Some(file) = params.get("file") {
        let path = cx.readable_file("file", &super::files::text(file))?;
        let text = std::fs::read_to_string(&path).map_err(|err| {
            failed(format!(
                "cannot read results file {}: {err}",
                path.display()
            ))
        })?;
        (text, path.display().to_string())
    } else {
        let key = ["results", "result_last", "result_worst"]
            .into_iter()
            .find(|key| params.get(key).is_some())
            .unwrap_or("results");
        (
            super::files::text(&params[key]),
            format!("`{key}` parameter"),
        )
    };
    parse_results(&text, &origin).map_err(|diags| failed(format!("invalid ResultYAML:\n{diags}")))
}

/// `exitcode`: 0 when the last (or worst) result passes, 100 otherwise. The
/// task's exit code is the worst of all `exitcode` actions.
pub(super) fn exitcode(
    cx: &mut Cx<'_>,
    params: &Json,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let doc = load_results(cx, params)?;
    let outcome = if params.get("result_last").is_some() {
        doc.results.last().map(|it| it.outcome)
    } else {
        doc.worst()
    };
    let code = match outcome {
        Some(outcome) if !outcome.is_passing() => 100,
        Some(_) => 0,
        None => {
            sink.note("no results given; exit code 0");
            0
        }
    };
    sink.note(&format!("exit code {code}"));
    cx.exit_code = Some(cx.exit_code.unwrap_or(0).max(code));
    Ok(json!(code))
}

/// `resultsdb`: validate, fill in the default check name, record in
/// `taskotron/results.yml`, and report to ResultsDB when configured.
pub(super) async fn resultsdb(
    cx: &mut Cx<'_>,
    params: &Json,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let mut doc = load_results(cx, params)?;
    let default_checkname = CheckName::new(cx.job.formula.checkname())
        .map_err(|err| failed(format!("the task's check name is invalid: {err}")))?;
    for result in &mut doc.results {
        if result.checkname.is_none() {
            result.checkname = Some(default_checkname.clone());
        }
        if let Some(artifact) = &result.artifact
            && !inside(Path::new(artifact))
        {
            sink.note(&format!(
                    "artifact `{artifact}` is not a relative path inside the artifacts directory; it is left out"
                ));
            result.artifact = None;
        }
    }
    let report_unchanged = match params.get("report_unchanged") {
        None => false,
        Some(Json::Bool(value)) => *value,
        Some(other) => {
            return Err(failed(format!(
                "parameter `report_unchanged` must be true or false, found {other}"
            )));
        }
    };
    let mut errors = Vec::new();
    for result in &mut doc.results {
        let payload = crate::resultsdb::payload(cx.job, cx.config.resultsdb.as_ref(), result);
        if let Some(target) = &cx.config.resultsdb
            && !report_unchanged
        {
            match crate::resultsdb::unchanged(&cx.http, target, &payload).await {
                Ok(Some(id)) => {
                    sink.note(&format!(
                        "not reported again: result {id} at {} is the latest for {} {} ({}) and has the same outcome, note and data",
                        target.url,
                        payload["testcase"]["name"].as_str().unwrap_or_default(),
                        result.item,
                        subject(&payload)
                    ));
                    let mut internal = result.internal.take().unwrap_or_else(|| json!({}));
                    if let Some(map) = internal.as_object_mut() {
                        map.insert("resultsdb_result_id".into(), json!(id));
                        map.insert("resultsdb_unchanged".into(), json!(true));
                    }
                    result.internal = Some(internal);
                    continue;
                }
                Ok(None) => {}
                Err(err) => sink.note(&format!(
                    "cannot tell whether the result is unchanged ({err}); reporting it"
                )),
            }
        }
        match &cx.config.resultsdb {
            None => sink.note(&format!(
                "ResultsDB is not configured; would send: {payload}"
            )),
            Some(target) => match crate::resultsdb::post(&cx.http, target, &payload).await {
                Ok(id) => {
                    sink.note(&format!("reported result {id} to {}", target.url));
                    let mut internal = result.internal.take().unwrap_or_else(|| json!({}));
                    if let Some(map) = internal.as_object_mut() {
                        map.insert("resultsdb_result_id".into(), json!(id));
                    }
                    result.internal = Some(internal);
                }
                Err(err) => {
                    sink.note(&format!("cannot report a result: {err}"));
                    errors.push(err);
                }
            },
        }
    }
    cx.results.results.extend(doc.results.iter().cloned());
    std::fs::write(cx.layout.results(), cx.results.to_yaml()).map_err(|err| {
        failed(format!(
            "cannot write {}: {err}",
            cx.layout.results().display()
        ))
    })?;
    sink.note(&format!(
        "recorded {} ({})",
        plural(doc.results.len()),
        doc.summary()
    ));
    if !errors.is_empty() {
        return Err(failed(format!(
            "{} of {} could not be reported to ResultsDB (they are kept in taskotron/results.yml): {}",
            errors.len(),
            plural(doc.results.len()),
            errors.join("; ")
        )));
    }
    Ok(Json::String(doc.to_yaml()))
}

/// `type koji_build, arch x86_64, scenario …` for the log.
fn subject(payload: &Json) -> String {
    ["type", "arch", "scenario"]
        .iter()
        .filter_map(|key| {
            payload["data"].get(key).map(|value| match value {
                Json::String(text) => format!("{key} {text}"),
                other => format!("{key} {other}"),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 result".to_owned()
    } else {
        format!("{n} results")
    }
}

/// Whether a path stays inside the directory it is relative to.
fn inside(path: &Path) -> bool {
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|it| matches!(it, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths() {
        assert!(inside(Path::new("logs/x.log")));
        assert!(inside(Path::new("./x")));
        assert!(!inside(Path::new("../x")));
        assert!(!inside(Path::new("/etc/passwd")));
        assert!(!inside(Path::new("a/../../x")));
        assert!(!inside(Path::new("")));
    }
}
