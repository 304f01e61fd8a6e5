//! Where a job's files go inside its artifacts directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use taskotron_task_format::Action;

use crate::log::TaskLog;
use crate::process::{OutputSink, Stream};
use crate::{Observer, RunEvent};

/// The files of one job's artifacts directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the artifacts directory `root`.
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
        }
    }

    /// Create the directories.
    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.root.join("taskotron/actions"))
    }

    /// The artifacts directory itself (`${artifactsdir}`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `taskotron/results.yml`: every result the task recorded.
    pub fn results(&self) -> PathBuf {
        self.root.join("taskotron/results.yml")
    }

    /// `taskotron/taskotron.log`: the runner's log of the whole job.
    pub fn task_log(&self) -> PathBuf {
        self.root.join("taskotron/taskotron.log")
    }

    /// `taskotron/task_vars.json`: the task's variables.
    pub fn task_vars(&self) -> PathBuf {
        self.root.join("taskotron/task_vars.json")
    }

    /// `taskotron/summary.json`: the machine-readable summary.
    pub fn summary(&self) -> PathBuf {
        self.root.join("taskotron/summary.json")
    }

    /// An action's log, relative to the artifacts directory.
    pub fn action_log_rel(&self, action: &Action) -> String {
        let slug: String = action
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let slug = slug
            .split('-')
            .filter(|it| !it.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let slug: String = slug.chars().take(40).collect();
        let slug = if slug.is_empty() {
            action.directive.name.to_owned()
        } else {
            slug
        };
        format!("taskotron/actions/{:02}-{slug}.log", action.index)
    }

    /// Open an action's log: its output goes there, into the task log and to the observer.
    pub(crate) fn action_log<'a>(
        &self,
        action: &'a Action,
        task_log: &'a mut TaskLog,
        observer: &'a dyn Observer,
    ) -> std::io::Result<ActionSink<'a>> {
        let file = std::fs::File::create(self.root.join(self.action_log_rel(action)))?;
        Ok(ActionSink {
            file,
            task_log,
            observer,
            action,
        })
    }
}

/// The output of one running action.
pub(crate) struct ActionSink<'a> {
    file: std::fs::File,
    task_log: &'a mut TaskLog,
    observer: &'a dyn Observer,
    action: &'a Action,
}

impl ActionSink<'_> {
    /// A line from the runner about this action (not the action's own output).
    pub(crate) fn note(&mut self, line: &str) {
        let text = format!("[taskotron] {line}\n");
        self.output(Stream::Stderr, text.as_bytes());
    }

    /// Tell the observer how far the action got (not written to the logs).
    pub(crate) fn progress(&self, text: &str) {
        self.observer.event(RunEvent::Progress {
            action: self.action,
            text,
        });
    }
}

impl OutputSink for ActionSink<'_> {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        // A full disk must not stop the action; the task log says so once.
        if let Err(err) = self.file.write_all(bytes) {
            self.task_log
                .line(&format!("cannot write action log: {err}"));
        }
        self.task_log.raw(bytes);
        self.observer.event(RunEvent::Output {
            action: self.action,
            stream,
            bytes,
        });
    }
}
