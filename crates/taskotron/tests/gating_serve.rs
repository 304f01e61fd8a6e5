//! The Greenwave and WaiverDB suite (`taskotron_web/tests/gating_suite/`)
//! against a real `taskotron serve`: the binary on a loopback port, with
//! its own data directory, configured by a file as an operator would
//! (policies directory, tokens file, waiver superusers and permissions,
//! Koji and dist-git from a `fake-infra` in the test); on SQLite, then on
//! its own PostgreSQL schema when PostgreSQL is given.
//! And `greenwave.decision.update` from `serve` to a real RabbitMQ, none
//! lost when the server stops right after the results committed.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions fail loudly and explain skips"
)]

mod common;
#[path = "../../taskotron_web/tests/gating_suite/mod.rs"]
mod gating_suite;

use std::path::Path;
use std::time::{Duration, Instant};

use gating_suite::{Http, OUTCOMES, PERMISSION, POLICIES, Reply, SUPERUSERS, TOKENS};
use serde_json::{Value, json};
use taskotron_bus::{Consumer, ConsumerConfig};

/// A spawned server, as the suite sees it.
struct Served {
    base: String,
    client: reqwest::Client,
}

impl Http for Served {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Reply {
            status,
            headers,
            text: response.text().await.unwrap(),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quoted(list: &[&str]) -> String {
    let items: Vec<String> = list.iter().map(|it| format!("{it:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// The configuration that sets a server up as the suite expects, asking
/// Koji and dist-git at `infra` (the address is given with `--listen`).
fn write_config(dir: &Path, infra: &str, database: Option<(&str, &str)>) {
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("policies/suite.yaml"), POLICIES).unwrap();
    let tokens: String = TOKENS
        .iter()
        .map(|(name, token)| format!("{name}:{token}\n"))
        .collect();
    std::fs::write(dir.join("tokens"), tokens).unwrap();
    let mut config = format!(
        "[server]\ndata-dir = \"data\"\n\
         [api]\ntokens-file = \"tokens\"\nadditional-outcomes = {outcomes}\n\
         [gating]\npolicies-dir = \"policies\"\n\
         [koji]\nhub-url = \"{infra}/kojihub\"\n\
         [distgit]\nurl = \"{infra}/distgit\"\n\
         [waivers]\nsuperusers = {superusers}\n\
         [[waivers.permissions]]\ntestcases = {testcases}\ntestcases-ignore = {ignore}\nusers = {users}\n",
        outcomes = quoted(&OUTCOMES),
        superusers = quoted(&SUPERUSERS),
        testcases = quoted(PERMISSION.0),
        ignore = quoted(PERMISSION.1),
        users = quoted(PERMISSION.2),
    );
    if let Some((url, schema)) = database {
        config.push_str(&format!("[database]\nurl = {url:?}\nschema = {schema:?}\n"));
    }
    std::fs::write(dir.join("taskotron.toml"), config).unwrap();
}

/// A running `taskotron serve`, killed if the test fails before stopping it.
struct Running(std::process::Child);

impl Running {
    /// SIGTERM, and the exit code.
    fn stop(mut self) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.0.wait().unwrap().code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Start `taskotron serve` in `dir` (publishing to `amqp_url` when given)
/// and wait until it answers.
async fn start(dir: &Path, amqp_url: Option<&str>) -> (Running, Served) {
    let port = free_port();
    let mut command = common::taskotron(dir);
    command
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TASKOTRON_CONFIG", "taskotron.toml")
        .env_remove("TASKOTRON_DATABASE_URL")
        .env_remove("TASKOTRON_AMQP_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap());
    if let Some(url) = amqp_url {
        command.env("TASKOTRON_AMQP_URL", url);
    }
    let mut child = Running(command.spawn().unwrap());
    let served = Served {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let started = Instant::now();
    loop {
        if let Ok(answer) = served
            .client
            .get(format!("{}/healthz", served.base))
            .send()
            .await
            && answer.status().is_success()
        {
            break;
        }
        let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "taskotron serve stopped:\n{log}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "taskotron serve never answered:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, served)
}

/// Start `taskotron serve` in `dir`, run the whole suite against it, stop
/// it.
async fn suite_against_serve(dir: &Path, infra: &str, database: Option<(&str, &str)>) {
    write_config(dir, infra, database);
    let (child, served) = start(dir, None).await;
    gating_suite::all(&served, infra).await;
    let code = child.stop();
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert_eq!(code, Some(0), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gating_suite_against_taskotron_serve() {
    let tmp = tempfile::tempdir().unwrap();
    gating_suite::write_infra(&tmp.path().join("infra"));
    let addr =
        taskotron_fake_infra::spawn(&tmp.path().join("infra"), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let infra = format!("http://{addr}");
    suite_against_serve(&tmp.path().join("sqlite"), &infra, None).await;
    assert!(tmp.path().join("sqlite/data/taskotron.db").is_file());

    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            suite_against_serve(&tmp.path().join("postgres"), &infra, Some((&url, &schema))).await;
            let store = taskotron_store::Store::open_postgres(&url, Some(&schema))
                .await
                .unwrap();
            store.drop_schema_for_tests(&schema).await.unwrap();
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

/// The broker's URL; `None` (after saying so) when the test should skip.
fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_AMQP_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: TASKOTRON_TEST_AMQP_URL is not set");
            None
        }
    }
}

/// The next `greenwave.decision.update` body.
async fn next_update(consumer: &mut Consumer, log: &Path) -> Value {
    let received = tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no decision.update within 20 s; serve said:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })
        .expect("the queue is open")
        .expect("the broker answers");
    let body: Value = serde_json::from_slice(&received.wire.body).expect("a JSON body");
    received.ack().await.expect("acknowledged");
    body
}

/// Bodies by subject.
fn by_subject(mut bodies: Vec<Value>) -> Vec<Value> {
    bodies.sort_by_key(|it| {
        it["subject_identifier"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    bodies
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_publishes_decision_updates_and_none_is_lost_across_a_restart() {
    let Some(url) = amqp_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let prefix = format!("org.taskotron.test{}", uuid::Uuid::new_v4().simple());
    // Nothing answers there: rules that need Koji cannot be checked.
    write_config(dir, "http://127.0.0.1:9", None);
    let config = std::fs::read_to_string(dir.join("taskotron.toml")).unwrap();
    std::fs::write(
        dir.join("taskotron.toml"),
        format!("{config}[amqp]\ntopic-prefix = {prefix:?}\n"),
    )
    .unwrap();
    let mut consumer = Consumer::connect(&ConsumerConfig {
        routing_keys: vec![format!("{prefix}.greenwave.decision.update")],
        durable: false,
        auto_delete: true,
        ..ConsumerConfig::new(&url, &format!("q-{}", uuid::Uuid::new_v4()), "")
    })
    .await
    .expect("a consumer");

    // A server whose broker is down: it stores two failing results (and
    // their decision checks) and is stopped at once, before or after its
    // checker got to them, with nothing published. (A server killed
    // outright would keep the outbox's claim for a minute; the checks a
    // killed server leaves are made by the next one, as
    // taskotron_web's gating_messages.rs shows.)
    let dead = format!("amqp://guest:guest@127.0.0.1:{}/%2f", free_port());
    let (first, served) = start(dir, Some(&dead)).await;
    let builds = ["foo-1.0-1.fc44", "foo-1.1-1.fc44"];
    for nvr in builds {
        let answer = served
            .send(
                "POST",
                "/api/v2.0/results",
                &[
                    ("content-type", "application/json"),
                    ("authorization", "Bearer alice-token"),
                ],
                &json!({"testcase": {"name": "dist.depcheck"}, "outcome": "FAILED",
                    "data": {"item": nvr, "type": "koji_build"}})
                .to_string(),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    assert_eq!(first.stop(), Some(0));

    // The next server publishes both decisions, whichever step the first
    // one reached.
    let (second, served) = start(dir, Some(&url)).await;
    let log = dir.join("serve.log");
    let updates = by_subject(vec![
        next_update(&mut consumer, &log).await,
        next_update(&mut consumer, &log).await,
    ]);
    for (body, nvr) in updates.iter().zip(builds) {
        assert_eq!(body["subject_identifier"], nvr, "{body}");
        assert_eq!(body["decision_context"], "bodhi_update_push_testing");
        assert_eq!(
            body["summary"],
            "Of 2 required tests, 1 result missing, 1 test failed"
        );
        assert_eq!(
            body["previous"]["summary"],
            "Of 2 required tests, 2 results missing"
        );
    }

    // A package waiver changes both builds' decisions, each announced.
    let answer = served
        .send(
            "POST",
            "/api/v1.0/waivers/",
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer alice-token"),
            ],
            &json!({"subject_type": "koji_build", "subject_identifier": "foo", "scope": "package",
                "testcase": "dist.depcheck", "product_version": "fedora-44",
                "comment": "depcheck is wrong about foo"})
            .to_string(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let updates = by_subject(vec![
        next_update(&mut consumer, &log).await,
        next_update(&mut consumer, &log).await,
    ]);
    for (body, nvr) in updates.iter().zip(builds) {
        assert_eq!(body["subject_identifier"], nvr, "{body}");
        assert_eq!(
            body["summary"], "Of 2 required tests, 1 result missing",
            "{body}"
        );
        assert!(
            kinds(body).contains(&"test-result-failed-waived".to_owned()),
            "{body}"
        );
    }

    assert_eq!(second.stop(), Some(0));
    consumer.close().await;
}

fn kinds(body: &Value) -> Vec<String> {
    body["satisfied_requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|it| it["type"].as_str().map(str::to_owned))
        .collect()
}
