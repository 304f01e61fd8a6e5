//! Faults with real processes: several `taskotron worker`s and two
//! `taskotron serve` instances sharing one PostgreSQL schema (then one
//! server on SQLite); a worker is killed with SIGKILL in the middle of a
//! job and a server in the middle of the workers' claims, then started
//! again. Every job must end finished with exactly one accepted attempt,
//! and none may be lost.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{block_on, free_port, get_json, taskotron};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "admin-secret";
const WORKERS: usize = 3;
const JOBS: usize = 24;

/// A child process killed (SIGKILL) when dropped, so that no test leaves
/// one behind, whatever happens.
struct Killed(Option<Child>);

impl Killed {
    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `serve` setup: its directory, port and config.
struct Serve {
    dir: PathBuf,
    port: u16,
    process: Killed,
}

impl Serve {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn new(root: &Path, name: &str, database: Option<(&str, &str)>) -> Serve {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let tokens: String = (1..=WORKERS).map(|n| format!("w{n}:token-{n}\n")).collect();
        std::fs::write(dir.join("workers.tokens"), tokens).unwrap();
        std::fs::write(dir.join("api.tokens"), format!("admin:{ADMIN_TOKEN}\n")).unwrap();
        let port = free_port();
        let mut config = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\n\
             [api]\nworker-tokens-file = \"workers.tokens\"\ntokens-file = \"api.tokens\"\n\n\
             [worker]\nlocal-slots = 0\nlease = \"3s\"\nretry-backoff = \"0s\"\n\n"
        );
        if let Some((url, schema)) = database {
            config.push_str(&format!("[database]\nurl = {url:?}\nschema = {schema:?}\n"));
        }
        std::fs::write(dir.join("taskotron.toml"), config).unwrap();
        let mut serve = Serve {
            dir,
            port,
            process: Killed(None),
        };
        serve.start();
        serve
    }

    fn start(&mut self) {
        let child = taskotron(&self.dir)
            .args(["--config", "taskotron.toml", "serve"])
            .env_remove("TASKOTRON_DATABASE_URL")
            .env_remove("TASKOTRON_AMQP_URL")
            .stderr(std::fs::File::create(self.dir.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        self.process = Killed(Some(child));
        let started = Instant::now();
        while get_json(&format!("{}/healthz", self.base())).is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve never answered: {}",
                std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn enqueue(&self, items: &[String]) {
        let jobs: Vec<Value> = items
            .iter()
            .map(|item| {
                json!({"check": "dist.steady", "check_revision": "1", "item_type": "koji_build",
                       "item": item, "arch": "noarch", "max_attempts": 10})
            })
            .collect();
        let url = format!("{}/api/v1/jobs", self.base());
        block_on(async {
            reqwest::Client::new()
                .post(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({"jobs": jobs}))
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
        });
    }

    fn jobs(&self, query: &str) -> Vec<Value> {
        get_json(&format!("{}/api/v1/jobs?limit=1000{query}", self.base()))
            .map(|it| it["data"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// `dist.steady`: sleeps a little, then reports PASSED for its item.
fn tasks_dir(root: &Path) -> PathBuf {
    let task = root.join("tasks").join("dist.steady");
    std::fs::create_dir_all(&task).unwrap();
    std::fs::write(
        task.join("runtask.yml"),
        "name: steady\nnamespace: dist\ninput:\n  args: [koji_build]\nactions:\n\
         \x20 - name: work\n    shell:\n      - sleep 1.5\n      - ./report.sh \"${koji_build}\" \"${workdir}/results.yml\"\n\
         \x20 - name: report\n    resultsdb:\n      file: ${workdir}/results.yml\n",
    )
    .unwrap();
    std::fs::write(
        task.join("report.sh"),
        "#!/bin/sh\ncat > \"$2\" <<EOF\nresults:\n  - item: $1\n    type: koji_build\n    outcome: PASSED\nEOF\n",
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(task.join("report.sh"), mode).unwrap();
    root.join("tasks")
}

fn worker(root: &Path, n: usize, base: &str, tasks: &Path) -> Killed {
    let dir = root.join(format!("worker-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    Killed(Some(
        taskotron(&dir)
            .args([
                "worker", "--server", base, "--local", "--slots", "2", "--tasks",
            ])
            .arg(tasks)
            .args(["--data-dir", "wdata", "--name", &format!("w{n}")])
            .env("TASKOTRON_WORKER_TOKEN", format!("token-{n}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ))
}

/// Wait until `check` holds, polling.
fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The run: `servers[0]` gets the jobs; workers are spread over the
/// servers; worker 1 is killed while it runs a job, and the last server is
/// killed while claims are going on and started again.
fn run(root: &Path, servers: &mut [Serve], backend: &str) {
    let tasks = tasks_dir(root);
    let items: Vec<String> = (0..JOBS).map(|n| format!("chaos-{n}-1.0-1.fc44")).collect();
    servers[0].enqueue(&items);
    let mut workers: Vec<Killed> = (1..=WORKERS)
        .map(|n| worker(root, n, &servers[n % servers.len()].base(), &tasks))
        .collect();

    // Worker 1 dies in the middle of a job.
    wait_until("worker 1 runs a job", Duration::from_secs(60), || {
        !servers[0].jobs("&state=running&worker=w1").is_empty()
    });
    workers[0].kill();

    // A server dies while workers claim from it, and comes back.
    let last = servers.len() - 1;
    std::thread::sleep(Duration::from_millis(300));
    servers[last].process.kill();
    std::thread::sleep(Duration::from_millis(500));
    servers[last].start();

    wait_until(
        &format!("{backend}: every job finished"),
        Duration::from_secs(120),
        || {
            let jobs = servers[0].jobs("");
            jobs.len() == JOBS && jobs.iter().all(|it| it["state"] == "finished")
        },
    );
    drop(workers);

    let jobs = servers[0].jobs("");
    let mut lost_attempts = 0;
    let mut seen: Vec<String> = Vec::new();
    for job in &jobs {
        let attempts = job["attempts"].as_array().unwrap();
        let accepted: Vec<&Value> = attempts
            .iter()
            .filter(|it| it["end_reason"] == "finished")
            .collect();
        assert_eq!(accepted.len(), 1, "{backend}: {job:#}");
        assert_eq!(accepted[0]["class"], "verdict", "{job:#}");
        assert_eq!(job["outcome"], "PASSED", "{job:#}");
        // Earlier attempts were taken back (lease lost), never accepted.
        for earlier in attempts.iter().filter(|it| it["end_reason"] != "finished") {
            assert_eq!(earlier["end_reason"], "lease-expired", "{job:#}");
            lost_attempts += 1;
        }
        seen.push(job["key"]["item"].as_str().unwrap().to_owned());
    }
    seen.sort();
    let mut expected = items.clone();
    expected.sort();
    assert_eq!(seen, expected, "{backend}: a job is missing or doubled");
    eprintln!(
        "{backend}: {} jobs, each finished once; {lost_attempts} attempt(s) lost to the kills \
         were taken back",
        jobs.len()
    );
    assert!(
        lost_attempts >= 1,
        "{backend}: the killed worker's job should have lost its lease"
    );
}

#[test]
fn killed_workers_and_servers_lose_no_job_and_accept_each_once() {
    let tmp = tempfile::tempdir().unwrap();
    // SQLite: one server.
    let mut servers = vec![Serve::new(&tmp.path().join("sqlite"), "serve-a", None)];
    run(&tmp.path().join("sqlite"), &mut servers, "sqlite");
    drop(servers);
    // PostgreSQL: two servers on one schema.
    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let root = tmp.path().join("postgres");
            let a = Serve::new(&root, "serve-a", Some((&url, &schema)));
            let b = Serve::new(&root, "serve-b", Some((&url, &schema)));
            let mut servers = vec![a, b];
            run(&root, &mut servers, "postgres");
            drop(servers);
            block_on(async {
                let store = taskotron_store::Store::open_postgres(&url, Some(&schema))
                    .await
                    .unwrap();
                store.drop_schema_for_tests(&schema).await.unwrap();
            });
        }
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped PostgreSQL: TASKOTRON_TEST_DATABASE_URL is not set");
        }
    }
}
