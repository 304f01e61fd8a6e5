//! The scheduler under faults, with real processes: a private RabbitMQ
//! node, `taskotron fake-infra` dropping 10% of its messages on purpose,
//! and `taskotron serve` scheduling from the bus and from its Koji and
//! Bodhi pollers. While 2,000 builds and 200 updates are made, the server
//! is killed with SIGKILL three times (and started again) and the broker is
//! killed and started again once. After the pollers' next pass every
//! (check, item, arch) the rules call for has exactly one job: none
//! missing, none duplicated.
//!
//! The broker is a node of its own (the machine's `rabbitmq-server` with a
//! private name, ports and data directory) so that restarting it disturbs
//! no other test. The database is a PostgreSQL schema of its own when
//! TASKOTRON_TEST_DATABASE_URL is set, else SQLite.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a test that fails loudly and prints its counts"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, taskotron};
use serde_json::{Value, json};

const BUILDS: usize = 2000;
const UPDATES: usize = 200;
const ARCHES: [&str; 2] = ["x86_64", "aarch64"];
const RABBITMQ: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

const RULES: &str = "
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - tasks: [rpmlint]
    - tasks: [python-versions]
      arches: [noarch]
- when: {message_type: BodhiUpdateReady}
  do:
    - tasks: [depcheck]
      arches: [x86_64]
";

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    let _ = nix::sys::signal::kill(pid, signal);
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn wait_until(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A RabbitMQ node of this test's own.
struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    dist_port: u16,
    name: String,
    child: Option<Child>,
}

impl Broker {
    fn start() -> Broker {
        let mut broker = Broker {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            dist_port: free_port(),
            name: format!("taskotron-chaos-{}", uuid::Uuid::new_v4().simple()),
            child: None,
        };
        std::fs::write(broker.dir.path().join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(
            broker.dir.path().join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{}\nloopback_users = none\n",
                broker.port
            ),
        )
        .unwrap();
        broker.boot();
        broker
    }

    #[expect(clippy::disallowed_methods, reason = "the test runs its own broker")]
    fn boot(&mut self) {
        let dir = self.dir.path();
        let child = <std::process::Command>::new(RABBITMQ)
            .current_dir(dir)
            .env("HOME", dir)
            .env("RABBITMQ_NODENAME", format!("{}@localhost", self.name))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        wait_until("the broker to start", Duration::from_secs(90), || {
            answers(port)
        });
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Kill the node with SIGKILL (no clean shutdown) and start it again
    /// on the same data.
    fn crash_and_restart(&mut self) {
        self.kill();
        self.boot();
    }

    fn kill(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid"))
            && let Ok(pid) = pid.trim().parse::<u32>()
        {
            signal(pid, nix::sys::signal::Signal::SIGKILL);
        }
        if let Some(mut child) = self.child.take() {
            signal(child.id(), nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
        }
        let port = self.port;
        wait_until("the broker to stop", Duration::from_secs(30), || {
            !answers(port)
        });
        let _ = std::fs::remove_file(self.dir.path().join("pid"));
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        signal(self.0.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

fn start_serve(dir: &Path, port: u16) -> Process {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("serve.log"))
        .unwrap();
    let child = taskotron(dir)
        .args(["--config", "taskotron.toml", "serve"])
        .env_remove("TASKOTRON_DATABASE_URL")
        .env_remove("TASKOTRON_AMQP_URL")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_until("serve to answer", Duration::from_secs(60), || answers(port));
    Process(child)
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// POST each body to `url`, eight at a time.
fn post_all(url: &str, bodies: Vec<Value>) {
    block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = tokio::task::JoinSet::new();
        for body in bodies {
            while tasks.len() >= 8 {
                tasks.join_next().await.unwrap().unwrap();
            }
            let client = client.clone();
            let url = url.to_owned();
            tasks.spawn(async move {
                let response = client.post(&url).json(&body).send().await.unwrap();
                let status = response.status();
                assert!(
                    status.is_success(),
                    "POST {url} {body}: {status}: {}",
                    response.text().await.unwrap()
                );
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
}

fn get_json(url: &str) -> Option<Value> {
    block_on(async {
        let response = reqwest::get(url).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    })
}

fn rfc3339(value: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    value
        .as_str()
        .and_then(|it| chrono::DateTime::parse_from_rfc3339(it).ok())
        .map(|it| it.to_utc())
}

#[test]
fn no_event_is_missed_and_none_is_planned_twice() {
    if !Path::new(RABBITMQ).exists() {
        assert_ne!(
            std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
            Ok("1"),
            "{RABBITMQ} is missing but TASKOTRON_REQUIRE_SERVICES=1"
        );
        eprintln!("skipped: {RABBITMQ} is missing");
        return;
    }
    let mut broker = Broker::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();

    // The fake Koji and Bodhi, publishing to the private broker.
    let infra = dir.join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::write(
        infra.join("infra.yaml"),
        "koji:\n  tags: [f44]\nbodhi:\n  releases:\n    - name: F44\n",
    )
    .unwrap();
    let fake_port = free_port();
    let _fake = Process(
        taskotron(dir)
            .args(["fake-infra", "--dir", "infra", "--listen"])
            .arg(format!("127.0.0.1:{fake_port}"))
            .args(["--amqp", &broker.url()])
            .args([
                "--topic-prefix",
                "org.fedoraproject.prod",
                "--drop-rate",
                "0.1",
                "--seed",
                "7",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("fake-infra to answer", Duration::from_secs(30), || {
        answers(fake_port)
    });
    let fake = format!("http://127.0.0.1:{fake_port}");

    // The server: rules, the broker, the fake's Koji and Bodhi, quick polls.
    let port = free_port();
    std::fs::write(dir.join("rules.yml"), RULES).unwrap();
    let (database, pg) = match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            (
                format!("[database]\nurl = \"{url}\"\nschema = \"{schema}\"\n"),
                Some((url, schema)),
            )
        }
        _ => (String::new(), None),
    };
    let queue = format!("chaos-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(
        dir.join("taskotron.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\n{database}\n\
             [amqp]\nurl = \"{}\"\n\n\
             [koji]\nhub-url = \"{fake}/kojihub\"\npkgs-url = \"{fake}/kojipkgs\"\n\n\
             [bodhi]\nurl = \"{fake}/bodhi/\"\n\n\
             [scheduler]\nrules = \"rules.yml\"\narches = [\"x86_64\", \"aarch64\"]\n\
             queue = \"{queue}\"\nconsume-prefix = \"org.fedoraproject.prod\"\n\
             koji-poll = \"3s\"\nbodhi-poll = \"3s\"\noverlap = \"10m\"\nlookback = \"1h\"\n\n\
             [worker]\nlocal-slots = 0\n",
            broker.url()
        ),
    )
    .unwrap();
    let mut serve = start_serve(dir, port);

    // Builds, with the server killed twice and the broker once on the way.
    let nvrs: Vec<String> = (0..BUILDS)
        .map(|n| format!("chaos{n:04}-1.0-1.fc44"))
        .collect();
    let mut kills = 0;
    for (chunk, names) in nvrs.chunks(250).enumerate() {
        let bodies = names.iter().map(|nvr| json!({"nvr": nvr})).collect();
        post_all(&format!("{fake}/admin/koji/builds"), bodies);
        if chunk == 1 || chunk == 5 {
            drop(serve);
            kills += 1;
            serve = start_serve(dir, port);
        }
        if chunk == 3 {
            broker.crash_and_restart();
        }
    }
    // Updates of the first builds, with the third kill half way.
    let updates: Vec<Value> = nvrs[..UPDATES]
        .iter()
        .map(|nvr| json!({"builds": [nvr], "release": "F44"}))
        .collect();
    let mut aliases = Vec::new();
    for (half, bodies) in updates.chunks(UPDATES / 2).enumerate() {
        for body in bodies {
            let answer = block_on(async {
                reqwest::Client::new()
                    .post(format!("{fake}/admin/bodhi/updates"))
                    .json(body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            });
            aliases.push(answer["alias"].as_str().unwrap().to_owned());
        }
        if half == 0 {
            drop(serve);
            kills += 1;
            serve = start_serve(dir, port);
        }
    }
    assert_eq!(kills, 3);
    let done = chrono::Utc::now();

    // Wait for every poller's next pass after the last change, and for the
    // planner to have planned everything.
    let base = format!("http://127.0.0.1:{port}");
    let mut status = Value::Null;
    wait_until("the pollers' next pass", Duration::from_secs(240), || {
        let Some(now) = get_json(&format!("{base}/api/v1/scheduler")) else {
            return false;
        };
        status = now;
        let pollers = status["pollers"].as_array().cloned().unwrap_or_default();
        pollers.len() == 4
            && pollers
                .iter()
                .all(|it| rfc3339(&it["last_ok_at"]).is_some_and(|at| at > done))
            && status["events"]["new"] == 0
    });
    let messages = get_json(&format!("{fake}/admin/messages")).unwrap();
    let records = messages
        .as_array()
        .or_else(|| messages["messages"].as_array())
        .cloned()
        .unwrap_or_default();
    let dropped = records.iter().filter(|it| it["dropped"] == true).count();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/events?limit=1000");
        if let Some(uuid) = &before {
            url.push_str(&format!("&before={uuid}"));
        }
        let page = get_json(&url).unwrap();
        for event in page["data"].as_array().unwrap() {
            let key = format!(
                "{} {}",
                event["source"].as_str().unwrap(),
                event["state"].as_str().unwrap()
            );
            *by_source.entry(key).or_default() += 1;
        }
        match page["next_before"].as_str() {
            Some(uuid) => before = Some(uuid.to_owned()),
            None => break,
        }
    }
    drop(serve);

    // Count the jobs in the store itself.
    let jobs = block_on(async {
        let store = match &pg {
            Some((url, schema)) => taskotron_store::Store::open_postgres(url, Some(schema))
                .await
                .unwrap(),
            None => taskotron_store::Store::open_sqlite(&dir.join("data"))
                .await
                .unwrap(),
        };
        let jobs = store
            .list_jobs(&taskotron_store::jobs::JobFilter {
                limit: 100_000,
                ..taskotron_store::jobs::JobFilter::default()
            })
            .await
            .unwrap();
        if let Some((_, schema)) = &pg {
            store.drop_schema_for_tests(schema).await.unwrap();
        }
        jobs
    });
    let mut counts: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for job in &jobs {
        *counts
            .entry((
                job.key.check.clone(),
                job.key.item.clone(),
                job.key.arch.clone(),
            ))
            .or_default() += 1;
    }
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    for nvr in &nvrs {
        for arch in ARCHES {
            expected.insert(("rpmlint".into(), nvr.clone(), arch.into()));
        }
        expected.insert(("python-versions".into(), nvr.clone(), "noarch".into()));
    }
    for alias in &aliases {
        expected.insert(("depcheck".into(), alias.clone(), "x86_64".into()));
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|it| !counts.contains_key(*it))
        .collect();
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let unexpected: Vec<_> = counts.keys().filter(|it| !expected.contains(*it)).collect();
    println!(
        "chaos: {BUILDS} builds, {UPDATES} updates; {} messages made, {dropped} dropped on purpose; \
         server killed {kills} times, broker killed once; events {by_source:?}; \
         jobs expected {}, found {}, missing {}, duplicated {}, unexpected {}",
        records.len(),
        expected.len(),
        jobs.len(),
        missing.len(),
        duplicated.len(),
        unexpected.len()
    );
    assert!(
        dropped > 0,
        "the fake dropped no message: the test tests nothing"
    );
    assert!(
        by_source
            .keys()
            .any(|it| it.starts_with("koji planned") || it.starts_with("bodhi planned")),
        "the pollers found nothing the bus had dropped: {by_source:?}"
    );
    assert!(
        missing.is_empty(),
        "missing jobs: {:?}",
        &missing[..missing.len().min(10)]
    );
    assert!(
        duplicated.is_empty(),
        "duplicated jobs: {:?}",
        &duplicated[..duplicated.len().min(10)]
    );
    assert!(
        unexpected.is_empty(),
        "unexpected jobs: {:?}",
        &unexpected[..unexpected.len().min(10)]
    );
    assert_eq!(jobs.len(), expected.len());
}
