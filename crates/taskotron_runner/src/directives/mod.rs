//! The directives: what each action of a formula does.
//!
//! Parameters arrive substituted and type-checked against
//! `taskotron_task_format::directives`; a directive returns the value its
//! action may export, or a [`DirectiveError`] that ends the task.

mod fedora;
mod files;
mod python;
mod results;
mod shell;
mod xunit;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use taskotron_task_format::{Action, ResultYaml};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::layout::{ActionSink, Layout};
use crate::process::{self, Ended, Finished, ProcessSpec, Sandbox};
use crate::{Job, RunConfig};

/// Why a directive did not complete.
#[derive(Debug)]
pub(crate) enum DirectiveError {
    /// It failed; the message says why.
    Failed(String),
    /// It ran out of time and was killed.
    TimedOut,
    /// The run was interrupted.
    Cancelled,
}

impl fmt::Display for DirectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectiveError::Failed(err) => f.write_str(err),
            DirectiveError::TimedOut => f.write_str("timed out; its processes were killed"),
            DirectiveError::Cancelled => f.write_str("interrupted; its processes were killed"),
        }
    }
}

pub(crate) fn failed(message: impl Into<String>) -> DirectiveError {
    DirectiveError::Failed(message.into())
}

/// What directives share during one run.
pub(crate) struct Cx<'a> {
    pub(crate) job: &'a Job,
    pub(crate) config: &'a RunConfig,
    pub(crate) sandbox: Sandbox,
    pub(crate) layout: Layout,
    /// Every result recorded so far, as in `taskotron/results.yml`.
    pub(crate) results: ResultYaml,
    /// The worst exit code set by `exitcode` directives.
    pub(crate) exit_code: Option<i32>,
    pub(crate) cancel: CancellationToken,
    pub(crate) http: reqwest::Client,
    /// The tag → repositories map, read from Bodhi once per run.
    pub(crate) repo_map: Option<std::sync::Arc<taskotron_bodhi::repos::RepoMap>>,
}

impl Cx<'_> {
    pub(crate) async fn run(
        &mut self,
        action: &Action,
        params: Json,
        deadline: Instant,
        sink: &mut ActionSink<'_>,
    ) -> Result<Json, DirectiveError> {
        match action.directive.name {
            "shell" => shell::shell(self, &params, deadline, sink).await,
            "python" => python::python(self, &params, deadline, sink).await,
            "exitcode" => results::exitcode(self, &params, sink),
            "resultsdb" => results::resultsdb(self, &params, sink).await,
            "xunit" => xunit::xunit(self, &params),
            "create_report" => files::create_report(self, &params, sink),
            "createrepo" => files::createrepo(self, &params, deadline, sink).await,
            "dummy" => files::dummy(&params),
            "koji" => fedora::koji(self, &params, deadline, sink).await,
            "bodhi" => fedora::bodhi(self, &params, deadline, sink).await,
            "distgit" => fedora::distgit(self, &params, deadline, sink).await,
            "yumrepoinfo" => fedora::yumrepoinfo(self, &params, sink).await,
            other => Err(failed(format!(
                "directive `{other}` is not implemented by this runner"
            ))),
        }
    }

    /// The task directory (the formula's directory).
    pub(crate) fn task_dir(&self) -> PathBuf {
        crate::task_dir(&self.job.formula_path)
    }

    /// A path parameter: absolute as given, relative to the task directory otherwise.
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.task_dir().join(path)
        }
    }

    /// A file a directive reads itself (outside the sandbox): it must lie inside
    /// the task, work or artifacts directory and must not be a secret file.
    pub(crate) fn readable_file(
        &self,
        param: &str,
        value: &str,
    ) -> Result<PathBuf, DirectiveError> {
        let path = self.resolve(value);
        let real = std::fs::canonicalize(&path)
            .map_err(|err| failed(format!("`{param}` {}: {err}", path.display())))?;
        self.check_inside(
            param,
            &path,
            &real,
            &[
                self.task_dir(),
                self.job.work_dir.clone(),
                self.job.artifacts_dir.clone(),
            ],
        )?;
        Ok(real)
    }

    /// `target_dir` of a downloading directive: default the work directory; a
    /// relative path is relative to the work directory; it must lie inside the
    /// work or artifacts directory. Created when missing.
    pub(crate) fn target_dir(&self, params: &Json) -> Result<PathBuf, DirectiveError> {
        let value = params
            .get("target_dir")
            .map(files::text)
            .unwrap_or_default();
        let path = if value.is_empty() {
            self.job.work_dir.clone()
        } else if Path::new(&value).is_absolute() {
            PathBuf::from(&value)
        } else {
            self.job.work_dir.join(&value)
        };
        std::fs::create_dir_all(&path)
            .map_err(|err| failed(format!("`target_dir` {}: {err}", path.display())))?;
        let real = std::fs::canonicalize(&path)
            .map_err(|err| failed(format!("`target_dir` {}: {err}", path.display())))?;
        self.check_inside(
            "target_dir",
            &path,
            &real,
            &[self.job.work_dir.clone(), self.job.artifacts_dir.clone()],
        )?;
        Ok(real)
    }

    /// A directory a directive writes into itself: it must lie inside the artifacts directory.
    pub(crate) fn artifacts_subdir(
        &self,
        param: &str,
        value: &str,
    ) -> Result<PathBuf, DirectiveError> {
        let path = self.resolve(value);
        std::fs::create_dir_all(&path)
            .map_err(|err| failed(format!("`{param}` {}: {err}", path.display())))?;
        let real = std::fs::canonicalize(&path)
            .map_err(|err| failed(format!("`{param}` {}: {err}", path.display())))?;
        self.check_inside(
            param,
            &path,
            &real,
            std::slice::from_ref(&self.job.artifacts_dir),
        )?;
        Ok(real)
    }

    fn check_inside(
        &self,
        param: &str,
        shown: &Path,
        real: &Path,
        roots: &[PathBuf],
    ) -> Result<(), DirectiveError> {
        let secret = self
            .config
            .secret_files
            .iter()
            .any(|it| std::fs::canonicalize(it).is_ok_and(|it| it == real));
        let inside = roots
            .iter()
            .any(|root| std::fs::canonicalize(root).is_ok_and(|root| real.starts_with(root)));
        if secret || !inside {
            let names: Vec<String> = roots.iter().map(|it| it.display().to_string()).collect();
            return Err(failed(format!(
                "`{param}` {} is outside the directories a directive may use ({})",
                shown.display(),
                names.join(", ")
            )));
        }
        Ok(())
    }

    /// The environment every action's processes get, on top of the runner's own.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let job = self.job;
        let mut env = vec![
            ("TASKOTRON_ITEM".to_owned(), job.item.clone()),
            (
                "TASKOTRON_ITEM_TYPE".to_owned(),
                job.item_type.as_str().to_owned(),
            ),
            ("TASKOTRON_ARCH".to_owned(), job.arch.clone()),
            ("TASKOTRON_UUID".to_owned(), job.uuid.clone()),
            ("TASKOTRON_CHECKNAME".to_owned(), job.formula.checkname()),
            (
                "TASKOTRON_WORKDIR".to_owned(),
                job.work_dir.display().to_string(),
            ),
            (
                "TASKOTRON_ARTIFACTSDIR".to_owned(),
                job.artifacts_dir.display().to_string(),
            ),
            (
                "TASKOTRON_TASKDIR".to_owned(),
                self.task_dir().display().to_string(),
            ),
            ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
            ("PYTHONIOENCODING".to_owned(), "utf-8".to_owned()),
        ];
        if let Some(dir) = self.config.taskotron_exe.as_deref().and_then(Path::parent) {
            let path = std::env::var("PATH").unwrap_or_default();
            env.push(("PATH".to_owned(), format!("{}:{path}", dir.display())));
        }
        env
    }

    /// Run a process in the sandbox, mapping timeouts and cancellation.
    pub(crate) async fn spawn(
        &self,
        spec: &ProcessSpec,
        deadline: Instant,
        sink: &mut ActionSink<'_>,
    ) -> Result<Finished, DirectiveError> {
        let finished = process::run(spec, &self.sandbox, deadline, &self.cancel, sink)
            .await
            .map_err(|err| failed(err.to_string()))?;
        match finished.ended {
            Ended::TimedOut => Err(DirectiveError::TimedOut),
            Ended::Cancelled => Err(DirectiveError::Cancelled),
            _ => Ok(finished),
        }
    }
}

/// A readable description of a process's end, for error messages.
pub(crate) fn describe_exit(ended: Ended) -> String {
    match ended {
        Ended::Exited(code) => format!("exited with status {code}"),
        Ended::Signalled(signal) => format!("was killed by signal {signal}"),
        Ended::TimedOut => "timed out".to_owned(),
        Ended::Cancelled => "was interrupted".to_owned(),
    }
}
