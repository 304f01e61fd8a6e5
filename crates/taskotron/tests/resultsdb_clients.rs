//! Wire compatibility with the real Python ResultsDB clients from PyPI:
//! `resultsdb_api`, `resultsdb_conventions`, and the `requests` queries
//! Greenwave and Bodhi make, run against `taskotron serve` over HTTP.
//!
//! For each database backend (SQLite always; PostgreSQL when
//! TASKOTRON_TEST_DATABASE_URL is set, in a schema of its own) the test starts
//! the real binary, waits for `/healthz`, then runs every
//! `tests/python/check_*.py` script with the Python of TASKOTRON_TEST_PYTHON
//! (scripts/test creates that venv and installs the clients into it). Without
//! that Python, or without the clients in it, the test skips with a message;
//! with TASKOTRON_REQUIRE_SERVICES=1 it fails instead.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions fail loudly and report the scripts' output"
)]

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, taskotron};

/// What the scripts import; all of it must be installed in the venv.
const IMPORTS: &str = "import requests, resultsdb_api, resultsdb_conventions.base, \
                       resultsdb_conventions.fedora, resultsdb_conventions.fedoracoreos, \
                       resultsdb_conventions.prodmd";

/// A script that runs longer than this is killed and fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn require_services() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some()
}

/// Skip with `reason`, or fail when the test script requires the services.
fn skip(reason: &str) {
    assert!(
        !require_services(),
        "{reason}, but TASKOTRON_REQUIRE_SERVICES is set: run scripts/test"
    );
    eprintln!("skipped: {reason}");
}

/// A command running an external program (the venv's Python).
#[expect(
    clippy::disallowed_methods,
    reason = "the compatibility test runs the real Python clients"
)]
fn external_command(program: &Path) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// A Python command isolated from the developer's environment.
fn python_command(python: &Path, dir: &Path) -> std::process::Command {
    let mut cmd = external_command(python);
    cmd.current_dir(dir)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        // requests honours proxy variables: keep loopback direct.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    cmd
}

/// The venv's Python with the clients importable, or `None` (skipped).
fn python() -> Option<PathBuf> {
    let Some(python) = std::env::var_os("TASKOTRON_TEST_PYTHON").map(PathBuf::from) else {
        skip("TASKOTRON_TEST_PYTHON is not set (scripts/test sets it to its venv's python)");
        return None;
    };
    let tmp = tempfile::tempdir().unwrap();
    let probe = python_command(&python, tmp.path())
        .args(["-c", IMPORTS])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => {
            skip(&format!(
                "the Python clients are not importable with {}: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rfind(|line| !line.trim().is_empty())
                    .unwrap_or("")
                    .trim()
            ));
            None
        }
        Err(err) => {
            skip(&format!("cannot run {}: {err}", python.display()));
            None
        }
    }
}

/// The `check_*.py` scripts, sorted.
fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|it| it.to_str())
                .is_some_and(|name| name.starts_with("check_") && name.ends_with(".py"))
        })
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no check_*.py in {}", dir.display());
    scripts
}

fn get(url: &str) -> Option<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { Some(reqwest::get(url).await.ok()?.status().as_u16()) })
}

/// A running `taskotron serve`, stopped with SIGTERM when dropped.
struct Server {
    child: Option<Child>,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Start the server in `dir` (with `config` when given) and wait until
    /// `/healthz` answers 200.
    fn start(dir: &Path, config: Option<&Path>) -> Server {
        let port = free_port();
        let log = dir.join("server.log");
        let mut cmd = taskotron(dir);
        cmd.env_remove("TASKOTRON_DATABASE_URL")
            .env_remove("TASKOTRON_AMQP_URL")
            .env_remove("TASKOTRON_LOG_FORMAT");
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .stdin(Stdio::null())
        .stdout(File::create(&log).unwrap())
        .stderr(File::create(dir.join("server.stderr")).unwrap());
        let mut server = Server {
            child: Some(cmd.spawn().unwrap()),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_healthy();
        server
    }

    fn logs(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        let stderr = self.log.with_file_name("server.stderr");
        format!("{}{}", read(&self.log), read(&stderr))
    }

    fn wait_healthy(&mut self) {
        let started = Instant::now();
        let url = format!("{}/healthz", self.base);
        loop {
            if get(&url) == Some(200) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!(
                    "the server exited ({status}) before answering:\n{}",
                    self.logs()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server never answered {url}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit code.
    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        if child.try_wait().unwrap().is_none() {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        }
        child.wait().unwrap().code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Drops the PostgreSQL schema when dropped (also when the test panics).
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dropped = runtime.block_on(async {
            let store =
                taskotron_store::Store::open_postgres(&self.url, Some(&self.schema)).await?;
            store.drop_schema_for_tests(&self.schema).await
        });
        if let Err(err) = dropped {
            eprintln!(
                "warning: cannot drop the test schema {}: {err}",
                self.schema
            );
        }
    }
}

/// Run one script against `api`; its combined output, and whether it passed.
fn run_script(python: &Path, script: &Path, api: &str, dir: &Path) -> (bool, String) {
    let name = script.file_name().unwrap().to_string_lossy().into_owned();
    let log_path = dir.join(format!("{name}.log"));
    let log = File::create(&log_path).unwrap();
    let started = Instant::now();
    let mut child = python_command(python, dir)
        .arg(script)
        .arg(api)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let passed = match status {
        Some(status) => status.success(),
        None => {
            output.push_str(&format!("\n[killed after {SCRIPT_TIMEOUT:?}]\n"));
            false
        }
    };
    eprintln!(
        "{name}: {} in {:.1}s",
        if passed { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    (passed, output)
}

/// Start a server, run every script against it, stop it; fail with the
/// output of each failed script.
fn run_clients(python: &Path, dir: &Path, config: Option<&Path>, backend: &str) {
    let mut server = Server::start(dir, config);
    let api = format!("{}/api/v2.0", server.base);
    let mut failures = Vec::new();
    for script in scripts() {
        let (passed, output) = run_script(python, &script, &api, dir);
        if !passed {
            failures.push(format!(
                "=== {} ({backend}) ===\n{output}",
                script.display()
            ));
        }
    }
    let code = server.stop();
    assert!(
        failures.is_empty(),
        "{} Python client script(s) failed against the {backend} backend:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        code,
        Some(0),
        "the server did not stop cleanly:\n{}",
        server.logs()
    );
}

#[test]
fn python_clients_against_sqlite() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    run_clients(&python, tmp.path(), None, "SQLite");
}

#[test]
fn python_clients_against_postgres() {
    let Ok(url) = std::env::var("TASKOTRON_TEST_DATABASE_URL") else {
        skip("TASKOTRON_TEST_DATABASE_URL is not set");
        return;
    };
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let config = tmp.path().join("taskotron.toml");
    let toml_string = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\nschema = \"{schema}\"\n",
            toml_string(&url)
        ),
    )
    .unwrap();
    let _schema = SchemaGuard {
        url: url.clone(),
        schema,
    };
    run_clients(&python, tmp.path(), Some(&config), "PostgreSQL");
}
