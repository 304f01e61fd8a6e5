//! The task log: the runner's timestamped lines and every action's output, in
//! order, in one file (the one place to look when a job goes wrong).

use std::io::Write;
use std::path::Path;

/// The open task log of a job.
#[derive(Debug)]
pub struct TaskLog {
    file: std::fs::File,
    failed: bool,
}

impl TaskLog {
    /// Create (truncate) the task log.
    pub fn create(path: &Path) -> std::io::Result<TaskLog> {
        Ok(TaskLog {
            file: std::fs::File::create(path)?,
            failed: false,
        })
    }

    /// A timestamped line from the runner.
    pub fn line(&mut self, text: &str) {
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        tracing::debug!(target: "taskotron_runner::task_log", "{text}");
        self.raw(format!("[{stamp}] {text}\n").as_bytes());
    }

    /// Bytes as they are (an action's output).
    pub fn raw(&mut self, bytes: &[u8]) {
        if let Err(err) = self.file.write_all(bytes)
            && !self.failed
        {
            self.failed = true;
            tracing::error!(error = %err, "cannot write the task log");
        }
    }
}
