//! What `taskotron run` shows on the terminal while a task runs, and the
//! plain-text fallback when stderr is not a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use taskotron_runner::{ActionStatus, Observer, RunEvent, TaskReport, TaskStatus};

/// Write to stdout; a closed pipe is not worth a panic.
pub(crate) fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Write to stderr.
pub(crate) fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The live display of a run.
#[derive(Debug)]
pub(crate) struct Display {
    verbose: bool,
    terminal: bool,
    current: Mutex<Option<ProgressBar>>,
    total: std::sync::atomic::AtomicUsize,
}

impl Display {
    pub(crate) fn new(verbose: bool) -> Display {
        Display {
            verbose,
            terminal: std::io::stderr().is_terminal(),
            current: Mutex::new(None),
            total: 0.into(),
        }
    }

    fn println(&self, line: &str) {
        let guard = self.current.lock().unwrap_or_else(|it| it.into_inner());
        match guard.as_ref() {
            Some(bar) => bar.println(line),
            None => stderr(&format!("{line}\n")),
        }
    }

    /// The closing summary: results, status, where the artifacts are.
    pub(crate) fn finish(&self, report: &TaskReport) {
        let mut out = String::new();
        if !report.results.results.is_empty() {
            out.push_str(&format!("results: {}\n", report.results.summary()));
            for result in &report.results.results {
                let checkname = result
                    .checkname
                    .as_ref()
                    .map_or(report.checkname.as_str(), |it| it.as_str());
                out.push_str(&format!(
                    "  {:<16} {checkname}  {}",
                    result.outcome.as_str(),
                    result.item
                ));
                if let Some(note) = &result.note {
                    out.push_str(&format!("  ({note})"));
                }
                out.push('\n');
            }
        }
        let status = match report.status {
            TaskStatus::Passed => "passed",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Crashed => "CRASHED",
            TaskStatus::TimedOut => "TIMED OUT",
            TaskStatus::Interrupted => "INTERRUPTED",
        };
        out.push_str(&format!(
            "task {} {status} (exit code {}) in {:.1}s\n",
            report.checkname,
            report.exit_code,
            Duration::from_millis(report.duration_ms).as_secs_f64()
        ));
        if let Some(err) = &report.error {
            out.push_str(&format!("error: {err}\n"));
        }
        out.push_str(&format!("artifacts: {}\n", report.artifacts_dir.display()));
        stderr(&out);
    }
}

impl Observer for Display {
    fn event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::ActionStarted { action, total } => {
                self.total
                    .store(total, std::sync::atomic::Ordering::Relaxed);
                let label = format!(
                    "[{}/{total}] {} ({})",
                    action.index, action.name, action.directive.name
                );
                if self.terminal {
                    let bar = ProgressBar::new_spinner().with_message(label);
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    *self.current.lock().unwrap_or_else(|it| it.into_inner()) = Some(bar);
                } else {
                    stderr(&format!("{label} ...\n"));
                }
            }
            RunEvent::Output { bytes, .. } => {
                if self.verbose {
                    let text = String::from_utf8_lossy(bytes);
                    for line in text.lines() {
                        self.println(&format!("    {line}"));
                    }
                }
            }
            RunEvent::Progress { action, text } => {
                // Only a terminal shows it: logs get the action's own summary lines.
                if let Some(bar) = self
                    .current
                    .lock()
                    .unwrap_or_else(|it| it.into_inner())
                    .as_ref()
                {
                    bar.set_message(format!(
                        "[{}/{}] {} ({}): {text}",
                        action.index,
                        self.total.load(std::sync::atomic::Ordering::Relaxed),
                        action.name,
                        action.directive.name
                    ));
                }
            }
            RunEvent::ActionFinished { report } => {
                let (mark, what) = match &report.status {
                    ActionStatus::Ok => ("ok", String::new()),
                    ActionStatus::Failed { error } => ("FAILED", format!(": {error}")),
                    ActionStatus::TimedOut { .. } => ("TIMED OUT", String::new()),
                    ActionStatus::Cancelled => ("INTERRUPTED", String::new()),
                    ActionStatus::Skipped => ("skipped", String::new()),
                };
                let line = format!(
                    "[{}/{}] {} ({}) {mark} {:.1}s{what}",
                    report.index,
                    self.total.load(std::sync::atomic::Ordering::Relaxed),
                    report.name,
                    report.directive,
                    Duration::from_millis(report.duration_ms).as_secs_f64()
                );
                let bar = self
                    .current
                    .lock()
                    .unwrap_or_else(|it| it.into_inner())
                    .take();
                match bar {
                    Some(bar) => {
                        bar.finish_and_clear();
                        stderr(&format!("{line}\n"));
                    }
                    None => stderr(&format!("{line}\n")),
                }
            }
        }
    }
}
