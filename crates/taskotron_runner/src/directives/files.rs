//! `create_report`, `createrepo` and `dummy`, and small helpers.

use std::path::Path;

use minijinja::{Environment, context};
use serde_json::{Value as Json, json};
use tokio::time::Instant;

use super::{Cx, DirectiveError, describe_exit, failed};
use crate::layout::ActionSink;
use crate::process::{Ended, ProcessSpec};

/// The report template used when the formula names none.
const DEFAULT_REPORT: &str = include_str!("../../templates/report.html.j2");

/// A parameter as text (numbers as written).
pub(crate) fn text(value: &Json) -> String {
    taskotron_task_format::vars::render_inline(value)
}

/// `create_report`: render ResultYAML as HTML into the artifacts directory.
pub(super) fn create_report(
    cx: &Cx<'_>,
    params: &Json,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let doc = super::results::load_results(cx, params)?;
    let artifacts = match params.get("artifactsdir") {
        Some(dir) => cx.artifacts_subdir("artifactsdir", &text(dir))?,
        None => cx.job.artifacts_dir.clone(),
    };
    let rel = params
        .get("path")
        .map(text)
        .unwrap_or_else(|| "report.html".to_owned());
    if Path::new(&rel).is_absolute() || rel.split('/').any(|it| it == "..") {
        return Err(failed(format!(
            "report path `{rel}` must be relative and stay inside the artifacts directory"
        )));
    }
    let source = match params.get("template") {
        Some(template) => {
            let path = cx.readable_file("template", &text(template))?;
            std::fs::read_to_string(&path)
                .map_err(|err| failed(format!("cannot read template {}: {err}", path.display())))?
        }
        None => DEFAULT_REPORT.to_owned(),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template_owned("report", source)
        .map_err(|err| failed(format!("invalid report template: {err:#}")))?;
    let results: Vec<Json> = doc
        .results
        .iter()
        .map(|it| {
            json!({
                "item": it.item,
                "type": it.item_type,
                "checkname": it.checkname.as_ref().map_or_else(|| cx.job.formula.checkname(), |c| c.to_string()),
                "outcome": it.outcome.as_str(),
                "note": it.note,
                "artifact": it.artifact,
                "keyvals": it.keyvals,
            })
        })
        .collect();
    let html = env
        .get_template("report")
        .and_then(|t| {
            t.render(context! {
                checkname => cx.job.formula.checkname(),
                item => &cx.job.item,
                type => cx.job.item_type.as_str(),
                arch => &cx.job.arch,
                uuid => &cx.job.uuid,
                summary => doc.summary(),
                worst => doc.worst().map(|it| it.as_str()),
                results => minijinja::Value::from(minijinja::value::Serde(&results)),
            })
        })
        .map_err(|err| failed(format!("cannot render the report: {err:#}")))?;
    let target = artifacts.join(&rel);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| failed(format!("cannot create {}: {err}", parent.display())))?;
    }
    std::fs::write(&target, html)
        .map_err(|err| failed(format!("cannot write {}: {err}", target.display())))?;
    sink.note(&format!("wrote {}", target.display()));
    Ok(Json::String(target.display().to_string()))
}

/// `createrepo`: run createrepo_c on a directory of RPMs; returns its output.
pub(super) async fn createrepo(
    cx: &Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let repodir = cx.resolve(&text(&params["repodir"]));
    if !repodir.is_dir() {
        return Err(failed(format!(
            "repodir {} is not a directory",
            repodir.display()
        )));
    }
    let spec = ProcessSpec {
        program: "createrepo_c".to_owned(),
        args: vec![repodir.display().to_string()],
        cwd: cx.task_dir(),
        env: cx.env(),
        env_remove: cx.config.secret_env.clone(),
    };
    let finished = cx.spawn(&spec, deadline, sink).await?;
    if finished.ended != Ended::Exited(0) {
        return Err(failed(format!(
            "createrepo_c {}",
            describe_exit(finished.ended)
        )));
    }
    Ok(Json::String(
        String::from_utf8_lossy(&finished.stdout)
            .trim_end()
            .to_owned(),
    ))
}

/// `dummy`: return `msg`, or fail with it when `result` is FAIL.
pub(super) fn dummy(params: &Json) -> Result<Json, DirectiveError> {
    let msg = params.get("msg").map(text).unwrap_or_default();
    if params["result"] == json!("FAIL") {
        let reason = if msg.is_empty() {
            "no message".to_owned()
        } else {
            msg
        };
        return Err(failed(format!("dummy directive asked to fail: {reason}")));
    }
    Ok(Json::String(msg))
}
