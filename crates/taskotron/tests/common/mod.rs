//! Helpers shared by the integration tests that run the real `taskotron` binary.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "shared test helpers: each test file uses some of them, and they fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value as Json;

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// An example task's formula.
pub(crate) fn example(name: &str) -> PathBuf {
    repo_root()
        .join("tasks/examples")
        .join(name)
        .join("runtask.yml")
}

/// A `taskotron` command in `dir`, isolated from the developer's environment.
pub(crate) fn taskotron(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::cargo_bin("taskotron").unwrap();
    cmd.current_dir(dir)
        .env_remove("TASKOTRON_CONFIG")
        .env_remove("TASKOTRON_RESULTSDB_TOKEN")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Run and capture.
pub(crate) fn output(cmd: &mut std::process::Command) -> Output {
    cmd.output().unwrap()
}

/// Stdout and stderr as text, for assertion messages.
pub(crate) fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether bubblewrap works here. When the test script requires services
/// (TASKOTRON_REQUIRE_SERVICES=1) a missing sandbox fails the test instead.
pub(crate) fn sandbox_available() -> bool {
    let ok = taskotron_probe();
    if !ok {
        assert!(
            std::env::var("TASKOTRON_REQUIRE_SERVICES").is_err(),
            "bubblewrap cannot build a sandbox here, but TASKOTRON_REQUIRE_SERVICES is set; install bubblewrap"
        );
        eprintln!("skipped: bubblewrap cannot build a sandbox on this machine");
    }
    ok
}

fn taskotron_probe() -> bool {
    let tmp = tempfile::tempdir().unwrap();
    let formula = tmp.path().join("probe.yml");
    std::fs::write(
        &formula,
        "name: probe\nactions:\n  - name: a\n    shell: [\"true\"]\n",
    )
    .unwrap();
    let out = output(taskotron(tmp.path()).args(["run", "probe.yml", "-i", "x", "-t", "koji_tag"]));
    out.status.code() == Some(0)
}

/// A task written into a temporary directory, run from there.
pub(crate) struct Task {
    pub(crate) dir: tempfile::TempDir,
}

impl Task {
    /// A task directory holding `runtask.yml` with this text.
    pub(crate) fn new(formula: &str) -> Task {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("runtask.yml"), formula).unwrap();
        Task { dir }
    }

    /// Add a file to the task directory.
    pub(crate) fn file(self, name: &str, text: &str) -> Task {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        self
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The artifacts directory used by [`Task::run`].
    pub(crate) fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    /// `taskotron run runtask.yml -i ITEM -t koji_build --artifacts artifacts EXTRA…`
    pub(crate) fn command(&self, extra: &[&str]) -> std::process::Command {
        let mut cmd = taskotron(self.dir.path());
        cmd.args([
            "run",
            "runtask.yml",
            "-i",
            "foo-1.0-1.fc40",
            "-t",
            "koji_build",
            "--artifacts",
            "artifacts",
        ]);
        cmd.args(extra);
        cmd
    }

    pub(crate) fn run(&self, extra: &[&str]) -> Output {
        output(&mut self.command(extra))
    }

    /// `taskotron/summary.json` of the run.
    pub(crate) fn summary(&self) -> Json {
        let text =
            std::fs::read_to_string(self.artifacts().join("taskotron/summary.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub(crate) fn artifact(&self, rel: &str) -> String {
        std::fs::read_to_string(self.artifacts().join(rel))
            .unwrap_or_else(|err| panic!("cannot read artifact {rel}: {err}"))
    }
}

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run `future` to its end on a runtime of its own.
pub(crate) fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// GET `url`'s JSON; `None` unless it answers 200 with JSON.
pub(crate) fn get_json(url: &str) -> Option<Json> {
    block_on(async {
        let response = reqwest::get(url).await.ok()?;
        if response.status() != 200 {
            return None;
        }
        response.json().await.ok()
    })
}
