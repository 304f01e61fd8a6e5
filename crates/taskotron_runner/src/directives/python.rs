//! `python`: call a function in a Python file of the task, with the system
//! python3 and the `libtaskotron` compatibility module on its path.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};
use tokio::time::Instant;

use super::{Cx, DirectiveError, describe_exit, failed};
use crate::layout::ActionSink;
use crate::process::{Ended, ProcessSpec};

/// The pure-Python files shipped inside the binary: (relative path, contents).
const PYTHON_FILES: &[(&str, &str)] = &[
    (
        "libtaskotron/__init__.py",
        include_str!("../../python/libtaskotron/__init__.py"),
    ),
    (
        "libtaskotron/check.py",
        include_str!("../../python/libtaskotron/check.py"),
    ),
    (
        "taskotron_python_driver.py",
        include_str!("../../python/taskotron_python_driver.py"),
    ),
];

/// Write the compatibility module and the driver under `dir`.
pub(crate) fn install_python_support(dir: &Path) -> std::io::Result<()> {
    for (rel, contents) in PYTHON_FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}

pub(super) async fn python(
    cx: &Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let mut kwargs: Map<String, Json> = params.as_object().cloned().unwrap_or_default();
    let file = kwargs
        .remove("file")
        .map(|it| super::files::text(&it))
        .unwrap_or_default();
    let callable = kwargs
        .remove("callable")
        .map(|it| super::files::text(&it))
        .unwrap_or_default();
    let script = cx.resolve(&file);
    if !script.is_file() {
        return Err(failed(format!(
            "python file {} does not exist",
            script.display()
        )));
    }
    let support = cx.job.work_dir.join(".taskotron/python");
    install_python_support(&support).map_err(|err| {
        failed(format!(
            "cannot write the Python support files into {}: {err}",
            support.display()
        ))
    })?;
    let calls = cx.job.work_dir.join(".taskotron/calls");
    std::fs::create_dir_all(&calls)
        .map_err(|err| failed(format!("cannot create {}: {err}", calls.display())))?;
    let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let request_path: PathBuf = calls.join(format!("{stamp}-request.json"));
    let response_path: PathBuf = calls.join(format!("{stamp}-response.json"));
    let request =
        json!({"file": script.display().to_string(), "callable": callable, "kwargs": kwargs});
    std::fs::write(&request_path, request.to_string())
        .map_err(|err| failed(format!("cannot write {}: {err}", request_path.display())))?;

    let mut env = cx.env();
    let python_path = match std::env::var("PYTHONPATH") {
        Ok(existing) if !existing.is_empty() => format!("{}:{existing}", support.display()),
        _ => support.display().to_string(),
    };
    env.push(("PYTHONPATH".to_owned(), python_path));
    let spec = ProcessSpec {
        program: cx.config.python.clone(),
        args: vec![
            support
                .join("taskotron_python_driver.py")
                .display()
                .to_string(),
            request_path.display().to_string(),
            response_path.display().to_string(),
        ],
        cwd: cx.task_dir(),
        env,
        env_remove: cx.config.secret_env.clone(),
    };
    sink.note(&format!("calling {callable}() in {}", script.display()));
    let finished = cx.spawn(&spec, deadline, sink).await?;
    let response: Option<Json> = std::fs::read(&response_path)
        .ok()
        .and_then(|it| serde_json::from_slice(&it).ok());
    match (finished.ended, response) {
        (Ended::Exited(0), Some(response)) if response["ok"] == json!(true) => {
            Ok(response.get("value").cloned().unwrap_or(Json::Null))
        }
        (_, Some(response)) if response["ok"] == json!(false) => Err(failed(format!(
            "{}() in {} raised {} (traceback in the action log)",
            callable,
            file,
            response["error"].as_str().unwrap_or("an error")
        ))),
        (ended, _) => Err(failed(format!(
            "the Python driver {} without an answer (see the action log)",
            describe_exit(ended)
        ))),
    }
}
