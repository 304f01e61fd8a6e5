//! Starting, watching and stopping processes: the only place in Taskotron that
//! spawns one (enforced by clippy's `disallowed-methods`, see clippy.toml).
//!
//! Every process starts in its own process group, optionally inside a
//! bubblewrap sandbox. Its stdout and stderr stream to an [`OutputSink`] while
//! it runs. When it times out or is cancelled, the whole group gets SIGTERM,
//! then SIGKILL after a grace period; a sandboxed process tree dies with its
//! pid namespace. When the main process exits, stray children left in its
//! group are killed too, so an action never outlives itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a process group has between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long output is still read after the main process has exited.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// At most this much stdout is kept in memory for a directive's return value.
const MAX_CAPTURE: usize = 16 * 1024 * 1024;

/// Where a process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sandbox {
    /// Directly on the host (`--local`).
    None,
    /// Inside bubblewrap: a read-only view of the host, a private `/tmp`, and
    /// only the listed directories writable.
    Bwrap {
        /// The bwrap program.
        program: PathBuf,
        /// Directories bound read-only on top of the host view (needed when
        /// they live under `/tmp`, which the sandbox replaces).
        readable: Vec<PathBuf>,
        /// Directories bound writable.
        writable: Vec<PathBuf>,
        /// Whether the process keeps the host's network.
        network: bool,
        /// Files hidden from the sandbox (covered by an empty file): secrets
        /// such as the ResultsDB token file.
        hidden: Vec<PathBuf>,
    },
}

impl Sandbox {
    fn wrap(&self, program: &str, args: &[String]) -> (OsString, Vec<OsString>) {
        match self {
            Sandbox::None => (program.into(), args.iter().map(OsString::from).collect()),
            Sandbox::Bwrap {
                program: bwrap,
                readable,
                writable,
                network,
                hidden,
            } => {
                let mut out: Vec<OsString> = Vec::new();
                let mut push = |items: &[&str]| out.extend(items.iter().map(OsString::from));
                push(&[
                    "--ro-bind",
                    "/",
                    "/",
                    "--dev",
                    "/dev",
                    "--proc",
                    "/proc",
                    "--tmpfs",
                    "/tmp",
                ]);
                push(&["--unshare-all", "--die-with-parent", "--new-session"]);
                if *network {
                    push(&["--share-net"]);
                }
                for (flag, dirs) in [("--ro-bind", readable), ("--bind", writable)] {
                    for dir in dirs {
                        out.push(flag.into());
                        out.push(dir.into());
                        out.push(dir.into());
                    }
                }
                for file in hidden {
                    out.push("--ro-bind".into());
                    out.push("/dev/null".into());
                    out.push(file.into());
                }
                out.push("--".into());
                out.push(program.into());
                out.extend(args.iter().map(OsString::from));
                (bwrap.into(), out)
            }
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The program, found on `PATH` when it has no slash.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Variables removed from the inherited environment (secrets).
    pub env_remove: Vec<String>,
}

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives a process's output as it comes.
pub trait OutputSink: Send {
    /// A chunk of output; not necessarily whole lines.
    fn output(&mut self, stream: Stream, bytes: &[u8]);
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status code.
    Exited(i32),
    /// A signal killed it.
    Signalled(i32),
    /// It ran past its deadline and was killed.
    TimedOut,
    /// It was cancelled (Ctrl-C, a lost lease) and was killed.
    Cancelled,
}

/// A finished process.
#[derive(Debug, Clone)]
pub struct Finished {
    /// How it ended.
    pub ended: Ended,
    /// Its stdout, up to 16 MiB, when capture was asked for.
    pub stdout: Vec<u8>,
}

/// Why a process could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program does not exist or cannot be executed.
    #[error("cannot start `{program}`: {source}")]
    Start {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Run a process to its end, its deadline, or cancellation.
pub async fn run(
    spec: &ProcessSpec,
    sandbox: &Sandbox,
    deadline: Instant,
    cancel: &CancellationToken,
    sink: &mut dyn OutputSink,
) -> Result<Finished, SpawnError> {
    let (program, args) = sandbox.wrap(&spec.program, &spec.args);
    let shown = spec.program.clone();
    #[expect(
        clippy::disallowed_methods,
        reason = "this module is the one place that spawns processes"
    )]
    let mut command = Command::new(&program);
    for key in &spec.env_remove {
        command.env_remove(key);
    }
    command
        .args(&args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| SpawnError::Start {
        program: if matches!(sandbox, Sandbox::None) {
            shown
        } else {
            program.to_string_lossy().into_owned()
        },
        source,
    })?;
    let pgid = child
        .id()
        .and_then(|it| i32::try_from(it).ok())
        .map(Pid::from_raw);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut captured = Vec::new();
    let mut out_buf = vec![0u8; 64 * 1024];
    let mut err_buf = vec![0u8; 64 * 1024];

    let mut status = None;
    let mut interrupted = None;
    let drain_deadline = |now: Instant| now + DRAIN_GRACE;
    let mut drain_until: Option<Instant> = None;
    loop {
        if stdout.is_none() && stderr.is_none() && (status.is_some() || interrupted.is_some()) {
            break;
        }
        let limit = match (drain_until, interrupted) {
            (Some(until), _) => until,
            (None, Some(_)) => Instant::now() + KILL_GRACE,
            (None, None) => deadline,
        };
        tokio::select! {
            read = read_some(&mut stdout, &mut out_buf) => {
                if let Some(bytes) = read {
                    if captured.len() < MAX_CAPTURE {
                        captured.extend_from_slice(&bytes[..bytes.len().min(MAX_CAPTURE - captured.len())]);
                    }
                    sink.output(Stream::Stdout, bytes);
                }
            }
            read = read_some(&mut stderr, &mut err_buf) => {
                if let Some(bytes) = read {
                    sink.output(Stream::Stderr, bytes);
                }
            }
            waited = child.wait(), if status.is_none() => {
                status = Some(waited);
                // Whatever the main process left behind in its group goes too.
                kill_group(pgid, Signal::SIGKILL);
                drain_until = Some(drain_deadline(Instant::now()));
            }
            () = cancel.cancelled(), if interrupted.is_none() && status.is_none() => {
                interrupted = Some(Ended::Cancelled);
                kill_group(pgid, Signal::SIGTERM);
            }
            () = tokio::time::sleep_until(limit) => {
                if drain_until.is_some() {
                    break;
                }
                if interrupted.is_none() {
                    interrupted = Some(Ended::TimedOut);
                    kill_group(pgid, Signal::SIGTERM);
                } else {
                    kill_group(pgid, Signal::SIGKILL);
                    let _ = child.start_kill();
                }
            }
        }
    }
    let ended = match (interrupted, status) {
        (Some(reason), _) => reason,
        (None, Some(Ok(status))) => match status.code() {
            Some(code) => Ended::Exited(code),
            None => {
                use std::os::unix::process::ExitStatusExt;
                Ended::Signalled(status.signal().unwrap_or(0))
            }
        },
        (None, Some(Err(err))) => {
            return Err(SpawnError::Start {
                program: spec.program.clone(),
                source: err,
            });
        }
        (None, None) => Ended::Cancelled,
    };
    reap(&mut child).await;
    Ok(Finished {
        ended,
        stdout: captured,
    })
}

/// Read one chunk; `None` (and the reader dropped) at end of stream. A missing
/// reader never completes, so `select!` ignores it.
async fn read_some<'a, R: AsyncReadExt + Unpin>(
    reader: &mut Option<R>,
    buf: &'a mut [u8],
) -> Option<&'a [u8]> {
    let Some(it) = reader.as_mut() else {
        return std::future::pending().await;
    };
    match it.read(buf).await {
        Ok(0) | Err(_) => {
            *reader = None;
            None
        }
        Ok(n) => Some(&buf[..n]),
    }
}

fn kill_group(pgid: Option<Pid>, signal: Signal) {
    if let Some(pgid) = pgid {
        // The group may already be gone; that is the goal, not an error.
        let _ = killpg(pgid, signal);
    }
}

async fn reap(child: &mut Child) {
    if tokio::time::timeout(KILL_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Look a program up on `PATH` (or check a path), for clear errors before a run starts.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = Path::new(program);
        return path.is_file().then(|| path.to_owned());
    }
    which::which(program).ok()
}

/// Check that bubblewrap can actually build a sandbox here (it needs user
/// namespaces); the error carries bwrap's own explanation.
pub async fn probe_bwrap(program: &Path) -> Result<(), String> {
    let sandbox = Sandbox::Bwrap {
        program: program.to_owned(),
        readable: Vec::new(),
        writable: Vec::new(),
        network: false,
        hidden: Vec::new(),
    };
    let spec = ProcessSpec {
        program: "true".into(),
        args: Vec::new(),
        cwd: "/".into(),
        env: Vec::new(),
        env_remove: Vec::new(),
    };
    let mut sink = Collect::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    match run(
        &spec,
        &sandbox,
        deadline,
        &CancellationToken::new(),
        &mut sink,
    )
    .await
    {
        Ok(Finished {
            ended: Ended::Exited(0),
            ..
        }) => Ok(()),
        Ok(finished) => Err(format!(
            "{} ({:?})",
            String::from_utf8_lossy(&sink.bytes).trim(),
            finished.ended
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// An [`OutputSink`] that keeps everything in memory.
#[derive(Debug, Default)]
pub struct Collect {
    /// Everything written, both streams interleaved.
    pub bytes: Vec<u8>,
}

impl OutputSink for Collect {
    fn output(&mut self, _stream: Stream, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ProcessSpec {
        ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("GREETING".into(), "hello".into())],
            env_remove: vec!["SECRET_FOR_TEST".into()],
        }
    }

    async fn run_sh(script: &str, timeout: Duration) -> (Finished, String) {
        let mut sink = Collect::default();
        let finished = run(
            &sh(script),
            &Sandbox::None,
            Instant::now() + timeout,
            &CancellationToken::new(),
            &mut sink,
        )
        .await
        .unwrap();
        (finished, String::from_utf8_lossy(&sink.bytes).into_owned())
    }

    #[tokio::test]
    async fn captures_output_and_status() {
        let (finished, all) = run_sh(
            "echo $GREETING; echo oops >&2; exit 3",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(finished.ended, Ended::Exited(3));
        assert_eq!(finished.stdout, b"hello\n");
        assert!(all.contains("hello") && all.contains("oops"), "{all}");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_tree() {
        let marker = tempfile::NamedTempFile::new().unwrap();
        let path = marker.path().display().to_string();
        // The grandchild would write the marker after the deadline if it survived.
        let script = format!("(sleep 3; echo alive > {path}) & sleep 30");
        let (finished, _) = run_sh(&script, Duration::from_millis(300)).await;
        assert_eq!(finished.ended, Ended::TimedOut);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "the grandchild survived"
        );
    }

    #[tokio::test]
    async fn stray_background_children_do_not_outlive_the_action() {
        let marker = tempfile::NamedTempFile::new().unwrap();
        let path = marker.path().display().to_string();
        let script = format!("(sleep 2; echo alive > {path}) & echo started");
        let (finished, out) = run_sh(&script, Duration::from_secs(10)).await;
        assert_eq!(finished.ended, Ended::Exited(0));
        assert!(out.contains("started"));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[tokio::test]
    async fn cancellation_kills() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.cancel();
        });
        let mut sink = Collect::default();
        let started = Instant::now();
        let finished = run(
            &sh("sleep 30"),
            &Sandbox::None,
            Instant::now() + Duration::from_secs(60),
            &cancel,
            &mut sink,
        )
        .await
        .unwrap();
        assert_eq!(finished.ended, Ended::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let spec = ProcessSpec {
            program: "no-such-program-xyz".into(),
            args: vec![],
            cwd: "/".into(),
            env: vec![],
            env_remove: vec![],
        };
        let err = run(
            &spec,
            &Sandbox::None,
            Instant::now() + Duration::from_secs(5),
            &CancellationToken::new(),
            &mut Collect::default(),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot start `no-such-program-xyz`"),
            "{err}"
        );
    }

    #[test]
    fn bwrap_arguments() {
        let sandbox = Sandbox::Bwrap {
            program: "/usr/bin/bwrap".into(),
            readable: vec!["/tmp/task".into()],
            writable: vec!["/tmp/work".into()],
            network: false,
            hidden: vec!["/etc/token".into()],
        };
        let (program, args) = sandbox.wrap("sh", &["-c".into(), "true".into()]);
        assert_eq!(program, "/usr/bin/bwrap");
        let args: Vec<String> = args
            .iter()
            .map(|it| it.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(
            joined.starts_with("--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all"),
            "{joined}"
        );
        assert!(
            joined
                .contains("--ro-bind /tmp/task /tmp/task --bind /tmp/work /tmp/work --ro-bind /dev/null /etc/token -- sh -c true"),
            "{joined}"
        );
        assert!(!joined.contains("--share-net"));
    }
}
