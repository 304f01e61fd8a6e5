//! `taskotron worker` against a real `taskotron serve`: jobs enqueued through
//! the jobs API are leased, run and reported; a job without a formula ends with
//! a result saying so; SIGTERM kills the running task and exits 0.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{block_on, free_port, get_json, taskotron};
use serde_json::{Value, json};

const WORKER_TOKEN: &str = "worker-secret";
const ADMIN_TOKEN: &str = "admin-secret";

/// A `taskotron serve` on a free loopback port with the worker API enabled,
/// stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_on(free_port())
    }

    fn start_on(port: u16) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("workers.tokens"),
            format!("w1:{WORKER_TOKEN}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("api.tokens"),
            format!("admin:{ADMIN_TOKEN}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("taskotron.toml"),
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\n\
                 [api]\nworker-tokens-file = \"workers.tokens\"\ntokens-file = \"api.tokens\"\n\n\
                 [worker]\nlocal-slots = 0\n"
            ),
        )
        .unwrap();
        let child = taskotron(dir.path())
            .args(["--config", "taskotron.toml", "serve"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while get_json(&format!("{base}/healthz")).is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server never answered"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    fn enqueue(&self, check: &str, item: &str) -> String {
        self.enqueue_revision(check, "1", item)
    }

    fn enqueue_revision(&self, check: &str, revision: &str, item: &str) -> String {
        let body = json!({"jobs": [{"check": check, "check_revision": revision,
                                    "item_type": "koji_build", "item": item, "arch": "noarch"}]});
        let url = format!("{}/api/v1/jobs", self.base);
        let answer: Value = block_on(async {
            reqwest::Client::new()
                .post(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        answer["data"][0]["uuid"].as_str().unwrap().to_owned()
    }

    fn job(&self, uuid: &str) -> Value {
        get_json(&format!("{}/api/v1/jobs/{uuid}", self.base)).unwrap()
    }

    /// Wait until the job is in one of `states`, and return it.
    fn wait_for(&self, uuid: &str, states: &[&str], within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let job = self.job(uuid);
            if states.iter().any(|it| job["state"] == *it) {
                return job;
            }
            assert!(
                started.elapsed() < within,
                "the job never reached {states:?}: {job:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        signal(&self.child, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _ = nix::sys::signal::kill(pid, signal);
}

/// A tasks directory: `dist.verdict` (with its namespace) reports FAILED for
/// the item; `sleeper` (without it) sleeps.
fn tasks_dir(root: &Path) -> std::path::PathBuf {
    let tasks = root.join("tasks");
    let verdict = tasks.join("dist.verdict");
    std::fs::create_dir_all(&verdict).unwrap();
    std::fs::write(
        verdict.join("runtask.yml"),
        "name: verdict\nnamespace: dist\ninput:\n  args: [koji_build]\nactions:\n\
         \x20 - name: check\n    shell:\n      - ./check.sh \"${koji_build}\" \"${workdir}/results.yml\"\n\
         \x20 - name: report\n    resultsdb:\n      file: ${workdir}/results.yml\n    export: reported\n\
         \x20 - name: exit code\n    exitcode:\n      result_worst: ${reported}\n",
    )
    .unwrap();
    std::fs::write(
        verdict.join("check.sh"),
        "#!/bin/sh\nenv > \"$TASKOTRON_ARTIFACTSDIR/env.txt\"\ncat > \"$2\" <<EOF\nresults:\n  - item: $1\n    type: koji_build\n    outcome: FAILED\nEOF\n",
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(verdict.join("check.sh"), mode).unwrap();
    let sleeper = tasks.join("sleeper");
    std::fs::create_dir_all(&sleeper).unwrap();
    std::fs::write(
        sleeper.join("runtask.yml"),
        "name: sleeper\nnamespace: dist\nactions:\n  - name: sleep\n    shell:\n      - sleep 600\n",
    )
    .unwrap();
    tasks
}

fn start_worker(server: &Server, dir: &Path, tasks: &Path, slots: &str) -> Child {
    start_worker_at(&server.base, dir, tasks, slots)
}

fn start_worker_at(base: &str, dir: &Path, tasks: &Path, slots: &str) -> Child {
    taskotron(dir)
        .args([
            "worker", "--server", base, "--local", "--slots", slots, "--tasks",
        ])
        .arg(tasks)
        .args(["--data-dir", "wdata"])
        .env("TASKOTRON_WORKER_TOKEN", WORKER_TOKEN)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_worker_runs_jobs_and_reports_missing_formulas() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = tasks_dir(dir.path());
    let verdict = server.enqueue("dist.verdict", "foo-1.0-1.fc40");
    let missing = server.enqueue("dist.nothing", "foo-1.0-1.fc40");
    let mut worker = start_worker(&server, dir.path(), &tasks, "2");

    let job = server.wait_for(&verdict, &["finished", "crashed"], Duration::from_secs(60));
    assert_eq!(job["state"], "finished", "{job:#}");
    assert_eq!(job["outcome"], "FAILED", "{job:#}");
    let attempts = job["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{job:#}");
    assert_eq!(attempts[0]["worker"], "w1");
    assert_eq!(attempts[0]["exit_status"], 100);
    assert_eq!(attempts[0]["outcome"], "FAILED");
    // The run's artifacts are kept under the data dir, by uuid and attempt.
    let results = std::fs::read_to_string(
        dir.path()
            .join("wdata/artifacts")
            .join(&verdict)
            .join("attempt-1/taskotron/results.yml"),
    )
    .unwrap();
    assert!(results.contains("FAILED"), "{results}");
    // The worker's token never reaches a task.
    let env = std::fs::read_to_string(
        dir.path()
            .join("wdata/artifacts")
            .join(&verdict)
            .join("attempt-1/env.txt"),
    )
    .unwrap();
    assert!(env.contains("TASKOTRON_ARTIFACTSDIR="), "{env}");
    assert!(!env.contains(WORKER_TOKEN), "{env}");
    // The task's result reached the server's result store, in the job's
    // group, with the job's page.
    let started = Instant::now();
    let stored = loop {
        let listed = get_json(&format!(
            "{}/api/v2.0/results?groups={verdict}",
            server.base
        ))
        .unwrap();
        if let Some(first) = listed["data"].as_array().and_then(|it| it.first()) {
            break first.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job's result was never stored"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(stored["outcome"], "FAILED", "{stored:#}");
    assert_eq!(stored["testcase"]["name"], "dist.verdict", "{stored:#}");
    assert_eq!(
        stored["data"]["item"],
        json!(["foo-1.0-1.fc40"]),
        "{stored:#}"
    );
    assert!(
        stored["ref_url"]
            .as_str()
            .is_some_and(|it| it.ends_with(&format!("/api/v1/jobs/{verdict}"))),
        "{stored:#}"
    );

    let job = server.wait_for(&missing, &["finished", "crashed"], Duration::from_secs(60));
    assert_eq!(job["state"], "crashed", "{job:#}");
    let outcome = job["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("no task formula for check `dist.nothing`"),
        "{outcome}"
    );
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1, "{job:#}");

    // The worker is still alive after the failed job, and stops cleanly.
    assert!(worker.try_wait().unwrap().is_none());
    signal(&worker, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(worker.wait().unwrap().code(), Some(0));
}

#[test]
fn sigterm_kills_the_running_task_and_exits_0() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = tasks_dir(dir.path());
    let sleeper = server.enqueue("dist.sleeper", "foo-1.0-1.fc40");
    let mut worker = start_worker(&server, dir.path(), &tasks, "1");
    let job = server.wait_for(&sleeper, &["running"], Duration::from_secs(60));
    assert_eq!(job["worker"], "w1", "{job:#}");
    // Wait until the task's process runs, so the kill is tested.
    let log = dir
        .path()
        .join("wdata/artifacts")
        .join(&sleeper)
        .join("attempt-1/taskotron/taskotron.log");
    let started = Instant::now();
    while !log.is_file() {
        assert!(started.elapsed() < Duration::from_secs(30), "no task log");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let stopping = Instant::now();
    signal(&worker, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(worker.wait().unwrap().code(), Some(0));
    assert!(
        stopping.elapsed() < Duration::from_secs(20),
        "the worker took {:?} to stop",
        stopping.elapsed()
    );
    // No result was posted: the job stays leased until the sweeper takes it back.
    let job = server.job(&sleeper);
    assert_eq!(job["state"], "running", "{job:#}");
    assert!(job["attempts"][0]["ended_at"].is_null(), "{job:#}");
}

#[test]
fn a_cancelled_job_is_killed_on_its_worker_at_the_next_heartbeat() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = tasks_dir(dir.path());
    let sleeper = server.enqueue("dist.sleeper", "foo-1.0-1.fc40");
    let mut worker = start_worker(&server, dir.path(), &tasks, "1");
    server.wait_for(&sleeper, &["running"], Duration::from_secs(60));
    // The one slot is busy: this job waits until the sleeper is killed.
    let verdict = server.enqueue("dist.verdict", "bar-1.0-1.fc40");
    let url = format!("{}/api/v1/jobs/{sleeper}/cancel", server.base);
    let answer: Value = block_on(async {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(answer["cancelled"], true, "{answer:#}");
    // The heartbeat (every 20 s) gets 409, the worker kills `sleep 600` and
    // its slot takes the next job.
    let job = server.wait_for(&verdict, &["finished", "crashed"], Duration::from_secs(60));
    assert_eq!(job["outcome"], "FAILED", "{job:#}");
    let job = server.job(&sleeper);
    assert_eq!(job["state"], "cancelled", "{job:#}");
    assert_eq!(job["attempts"][0]["end_reason"], "cancelled", "{job:#}");
    assert!(job["attempts"][0]["exit_status"].is_null(), "{job:#}");
    signal(&worker, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(worker.wait().unwrap().code(), Some(0));
}

#[test]
fn a_worker_waits_for_a_server_that_is_not_up_yet() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = tasks_dir(dir.path());
    let port = free_port();
    let mut worker = start_worker_at(&format!("http://127.0.0.1:{port}"), dir.path(), &tasks, "1");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(worker.try_wait().unwrap().is_none(), "the worker gave up");
    let server = Server::start_on(port);
    let verdict = server.enqueue("dist.verdict", "foo-1.0-1.fc40");
    let job = server.wait_for(&verdict, &["finished", "crashed"], Duration::from_secs(60));
    assert_eq!(job["outcome"], "FAILED", "{job:#}");
    signal(&worker, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(worker.wait().unwrap().code(), Some(0));
}

#[test]
fn a_wrong_token_or_no_token_is_a_clear_error() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = common::output(
        taskotron(dir.path())
            .args(["worker", "--server", &server.base, "--local"])
            .env("TASKOTRON_WORKER_TOKEN", "wrong"),
    );
    let (_, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the registration"), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");

    let out = common::output(
        taskotron(dir.path())
            .args(["worker", "--server", &server.base, "--local"])
            .env_remove("TASKOTRON_WORKER_TOKEN"),
    );
    let (_, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TASKOTRON_WORKER_TOKEN"), "{stderr}");
}

/// A GET's status and body as text.
fn get_text(url: &str) -> (u16, String) {
    block_on(async {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// A child process killed when the test fails before it stops it.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_jobs_log_and_artifacts_reach_the_server() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = dir.path().join("tasks");
    let files = tasks.join("dist.files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("runtask.yml"),
        "name: files\nnamespace: dist\ninput:\n  args: [koji_build]\nactions:\n\
         \x20 - name: say and keep\n    shell:\n\
         \x20     - echo \"hello from ${koji_build}\"\n\
         \x20     - mkdir -p ${artifactsdir}/out && echo \"artifact of ${koji_build}\" > ${artifactsdir}/out/report.txt\n",
    )
    .unwrap();
    let uuid = server.enqueue("dist.files", "foo-1.0-1.fc40");
    let mut worker = Reaped(Some(start_worker(&server, dir.path(), &tasks, "1")));
    // The worker uploads before it posts the result: once finished, all is there.
    let job = server.wait_for(&uuid, &["finished", "crashed"], Duration::from_secs(60));
    assert_eq!(job["state"], "finished", "{job:#}");
    let attempt = &job["attempts"][0];
    assert_eq!(
        attempt["log_url"],
        format!("{}/api/v1/jobs/{uuid}/log?attempt=1", server.base).as_str(),
        "{job:#}"
    );
    assert_eq!(
        attempt["artifacts_url"],
        format!("{}/api/v1/jobs/{uuid}/artifacts?attempt=1", server.base).as_str(),
        "{job:#}"
    );

    let (status, log) = get_text(&format!("{}/api/v1/jobs/{uuid}/log", server.base));
    assert_eq!(status, 200, "{log}");
    assert!(log.contains("hello from foo-1.0-1.fc40"), "{log}");
    let listing = get_json(&format!("{}/api/v1/jobs/{uuid}/artifacts", server.base)).unwrap();
    let names: Vec<&str> = listing["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"out/report.txt"), "{listing:#}");
    assert!(names.contains(&"taskotron/taskotron.log"), "{listing:#}");
    let (status, report) = get_text(&format!(
        "{}/api/v1/jobs/{uuid}/artifacts/out/report.txt",
        server.base
    ));
    assert_eq!(
        (status, report.as_str()),
        (200, "artifact of foo-1.0-1.fc40\n")
    );

    // The same through the command line.
    let out = common::output(taskotron(dir.path()).args([
        "jobs",
        "log",
        &uuid,
        "--follow",
        "--server",
        &server.base,
    ]));
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, log);
    let out = common::output(taskotron(dir.path()).args([
        "jobs",
        "artifacts",
        &uuid,
        "--server",
        &server.base,
    ]));
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("text/plain; charset=utf-8  out/report.txt"),
        "{stdout}"
    );
    let out = common::output(taskotron(dir.path()).args([
        "jobs",
        "artifacts",
        &uuid,
        "--get",
        "out/report.txt",
        "--server",
        &server.base,
    ]));
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "artifact of foo-1.0-1.fc40\n");

    // A log is readable while its task runs: this task waits for a file
    // the test creates only after it read the task's first line through the API.
    let gate = dir.path().join("gate");
    let live = tasks.join("dist.live");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::write(
        live.join("runtask.yml"),
        format!(
            "name: live\nnamespace: dist\nactions:\n\
             \x20 - name: wait\n    shell:\n\
             \x20     - echo waiting for the gate; while [ ! -e {gate} ]; do sleep 0.1; done; echo through\n",
            gate = gate.display()
        ),
    )
    .unwrap();
    let live = server.enqueue("dist.live", "foo-1.0-1.fc40");
    server.wait_for(&live, &["running"], Duration::from_secs(60));
    let follow = taskotron(dir.path())
        .args(["jobs", "log", &live, "--follow", "--server", &server.base])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let (_, text) = get_text(&format!("{}/api/v1/jobs/{live}/log", server.base));
        if text.contains("waiting for the gate") {
            assert!(!text.lines().any(|it| it == "through"), "{text}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the running task's log never showed its first line: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let job = server.job(&live);
    assert_eq!(job["state"], "running", "{job:#}");
    std::fs::write(&gate, "").unwrap();
    server.wait_for(&live, &["finished", "crashed"], Duration::from_secs(60));
    // `--follow` printed the whole log and stopped when the attempt ended.
    let out = follow.wait_with_output().unwrap();
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("waiting for the gate"), "{stdout}");
    assert!(stdout.lines().any(|it| it == "through"), "{stdout}");
    let (_, log) = get_text(&format!("{}/api/v1/jobs/{live}/log", server.base));
    assert_eq!(stdout, log);

    let worker = worker.0.take().unwrap();
    signal(&worker, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(worker.wait_with_output().unwrap().status.code(), Some(0));
}

#[test]
fn reproduce_prints_and_runs_the_command_that_runs_a_jobs_check() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let tasks = tasks_dir(root.path());
    let revision = taskotron_scheduler::planner::Revisions {
        tasks_dir: Some(tasks.clone()),
    }
    .of("dist.verdict")
    .unwrap();
    let uuid = server.enqueue_revision("dist.verdict", &revision, "repro-1.0-1.fc44");
    let reproduce = |extra: &[&str]| {
        taskotron(root.path())
            .args(["reproduce", &uuid, "--tasks"])
            .arg(&tasks)
            .args(["--server", &server.base])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = reproduce(&[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    let formula = tasks.join("dist.verdict/runtask.yml");
    assert!(
        stdout.contains(&format!(
            "taskotron run {} --item repro-1.0-1.fc44 --type koji_build --arch noarch",
            formula.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("revision {revision}")), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // Run here: the task reports FAILED for the item, as the job would.
    let out = reproduce(&["--run", "--local"]);
    assert_eq!(
        out.status.code(),
        Some(100),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Once the formula changes, the command no longer runs what the job
    // ran: a warning, and --run refuses.
    let mut text = std::fs::read_to_string(&formula).unwrap();
    text.push_str("# changed\n");
    std::fs::write(&formula, text).unwrap();
    let out = reproduce(&[]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the formula changed"), "{stderr}");
    let out = reproduce(&["--run", "--local"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not running"), "{stderr}");
}
