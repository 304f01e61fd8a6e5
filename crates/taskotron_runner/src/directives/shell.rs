//! `shell`: run commands with bash in the task directory, one after the other.

use serde_json::Value as Json;
use tokio::time::Instant;

use super::{Cx, DirectiveError, describe_exit, failed};
use crate::layout::ActionSink;
use crate::process::{Ended, ProcessSpec};

/// Run each command; the first that fails fails the action. Returns their
/// standard output, concatenated, without its last newline.
pub(super) async fn shell(
    cx: &Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let commands: Vec<String> = match params {
        Json::Array(items) => items.iter().map(crate::directives::files::text).collect(),
        other => vec![crate::directives::files::text(other)],
    };
    let mut output = Vec::new();
    for (idx, command) in commands.iter().enumerate() {
        sink.note(&format!("$ {command}"));
        let spec = ProcessSpec {
            program: "bash".to_owned(),
            args: vec!["-c".to_owned(), command.clone()],
            cwd: cx.task_dir(),
            env: cx.env(),
            env_remove: cx.config.secret_env.clone(),
        };
        let finished = cx.spawn(&spec, deadline, sink).await?;
        output.extend_from_slice(&finished.stdout);
        if finished.ended != Ended::Exited(0) {
            return Err(failed(format!(
                "command {} of {} (`{command}`) {}",
                idx + 1,
                commands.len(),
                describe_exit(finished.ended)
            )));
        }
    }
    let mut text = String::from_utf8_lossy(&output).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(Json::String(text))
}
