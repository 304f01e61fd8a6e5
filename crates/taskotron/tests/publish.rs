//! `taskotron serve` publishes every new result to a real RabbitMQ: the
//! message as fedora-messaging puts it on the wire, and none lost while the
//! broker cannot be reached.
//!
//! The broker comes from TASKOTRON_TEST_AMQP_URL (scripts/test exports it).
//! Without it a test says why and passes, unless TASKOTRON_REQUIRE_SERVICES=1,
//! where it fails. Each test binds its own exclusive queue to `amq.topic` with
//! a topic prefix of its own, so tests never see each other's messages.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions fail loudly and explain skips"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, taskotron};
use lapin::message::Delivery;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::{Value, json};

/// The broker's URL; `None` (after saying so) when the test should skip.
fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_AMQP_URL is not set, but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!(
                "skipped: TASKOTRON_TEST_AMQP_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672/%2f)"
            );
            None
        }
    }
}

// Copied from tests/serve.rs (async here: the tests run on tokio).

async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

async fn wait_for(url: &str) -> (u16, String) {
    let started = Instant::now();
    loop {
        if let Some(answer) = get(url).await {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never answered {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(child: &mut Child) -> Option<i32> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap().code()
}

/// A running `taskotron serve`, killed if the test fails before stopping it.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// `taskotron serve` in `dir` (data in `dir/data`, SQLite), publishing
    /// with `prefix` to the broker at `amqp_url`.
    async fn start(dir: &Path, prefix: &str, amqp_url: &str) -> Server {
        let port = free_port();
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\n\
             [amqp]\ntopic-prefix = \"{prefix}\"\n"
        );
        std::fs::write(dir.join("taskotron.toml"), config).unwrap();
        let log = dir.join(format!("serve-{port}.log"));
        let child = taskotron(dir)
            .arg("serve")
            .env("TASKOTRON_CONFIG", "taskotron.toml")
            .env("TASKOTRON_AMQP_URL", amqp_url)
            // The tests read what the relay logs at info.
            .env("RUST_LOG", "info")
            .env_remove("TASKOTRON_DATABASE_URL")
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let (status, body) = wait_for(&format!("{base}/api/v2.0/healthcheck")).await;
        assert_eq!(status, 200, "{body}");
        Server { child, base, log }
    }

    /// POST a result; it must be accepted. Its JSON.
    async fn post(&self, body: &Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v2.0/results", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{}", self.log());
        response.json().await.unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the exit code.
    fn stop(mut self) -> Option<i32> {
        let code = stop(&mut self.child);
        assert_eq!(code, Some(0), "{}", self.log());
        code
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A queue of the test's own, bound to `amq.topic` with a routing key.
struct Queue {
    _connection: Connection,
    channel: Channel,
    name: ShortString,
}

impl Queue {
    async fn bind(url: &str, routing_key: &str) -> Queue {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let name = ShortString::from(format!("taskotron-publish-test-{}", uuid::Uuid::new_v4()));
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(name.clone(), options, FieldTable::default())
            .await
            .unwrap();
        channel
            .queue_bind(
                name.clone(),
                "amq.topic".into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Queue {
            _connection: connection,
            channel,
            name,
        }
    }

    async fn get(&self) -> Option<Delivery> {
        let options = BasicGetOptions { no_ack: true };
        let message = self.channel.basic_get(self.name.clone(), options).await;
        message.unwrap().map(|it| it.delivery)
    }

    /// Exactly `n` messages, in queue order; fails after `timeout`.
    async fn take(&self, n: usize, timeout: Duration, server: &Server) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        while got.len() < n {
            match self.get().await {
                Some(delivery) => got.push(delivery),
                None => {
                    let waited = Instant::now() >= deadline;
                    let log = server.log();
                    assert!(
                        !waited,
                        "got {} of {n} messages within {timeout:?}; serve logged:\n{log}",
                        got.len()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        got
    }

    /// Fails if a message arrives within `wait`.
    async fn assert_empty(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
        if let Some(delivery) = self.get().await {
            panic!(
                "unexpected message: {}",
                String::from_utf8_lossy(&delivery.data)
            );
        }
    }
}

/// A topic prefix no other test uses.
fn unique_prefix() -> String {
    format!("taskotron.test.{}", uuid::Uuid::new_v4().simple())
}

fn header<'a>(delivery: &'a Delivery, name: &str) -> &'a AMQPValue {
    let headers = delivery.properties.headers().as_ref().unwrap().inner();
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no header {name}: {headers:?}"))
}

fn body_of(delivery: &Delivery) -> Value {
    serde_json::from_slice(&delivery.data).unwrap()
}

fn message_id(delivery: &Delivery) -> String {
    delivery
        .properties
        .message_id()
        .as_ref()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_posted_result_is_published_as_fedora_messaging_does() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let topic = format!("{prefix}.resultsdb.result.new");
    let queue = Queue::bind(&url, &topic).await;
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &prefix, &url).await;

    let body = json!({
        "testcase": {"name": "dist.rpmlint", "ref_url": "https://docs.example/rpmlint"},
        "outcome": "FAILED", "note": "2 errors", "groups": [{"description": "a job"}],
        "data": {"item": "foo-1.0-1.fc40", "type": "koji_build", "arch": ["x86_64", "noarch"]},
    });
    let posted = server.post(&body).await;
    let [delivery] =
        <[Delivery; 1]>::try_from(queue.take(1, Duration::from_secs(20), &server).await).unwrap();

    assert_eq!(delivery.exchange.as_str(), "amq.topic");
    assert_eq!(delivery.routing_key.as_str(), topic);
    let props = &delivery.properties;
    assert_eq!(
        props.content_type().as_ref().map(ShortString::as_str),
        Some("application/json")
    );
    assert_eq!(
        props.content_encoding().as_ref().map(ShortString::as_str),
        Some("utf-8")
    );
    assert_eq!(*props.delivery_mode(), Some(2));
    let id = uuid::Uuid::parse_str(&message_id(&delivery)).unwrap();
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(
        header(&delivery, "fedora_messaging_schema"),
        &AMQPValue::LongString("base.message".into())
    );
    assert_eq!(
        header(&delivery, "fedora_messaging_severity"),
        &AMQPValue::LongLongInt(20)
    );
    // e.g. 2026-11-03T12:34:56+00:00: seconds, UTC offset, no fraction.
    let AMQPValue::LongString(sent_at) = header(&delivery, "sent-at") else {
        panic!(
            "sent-at is not a string: {:?}",
            header(&delivery, "sent-at")
        );
    };
    let sent_at = sent_at.to_string();
    let shape: String = sent_at
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd+dd:dd", "{sent_at}");
    assert!(sent_at.ends_with("+00:00"), "{sent_at}");
    assert_eq!(body_of(&delivery), posted);

    queue.assert_empty(Duration::from_millis(500)).await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn results_posted_while_the_broker_is_down_arrive_in_order_later() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let queue = Queue::bind(&url, &format!("{prefix}.resultsdb.result.new")).await;
    let tmp = tempfile::tempdir().unwrap();

    // A broker nobody listens for.
    let dead = format!("amqp://guest:guest@127.0.0.1:{}/%2f", free_port());
    let server = Server::start(tmp.path(), &prefix, &dead).await;
    let mut posted = Vec::new();
    for n in 1..=3 {
        let body = json!({"testcase": "outage", "outcome": "PASSED", "note": format!("{n}")});
        posted.push(server.post(&body).await);
    }
    queue.assert_empty(Duration::from_millis(500)).await;
    server.stop();

    // Same data directory, the real broker.
    let server = Server::start(tmp.path(), &prefix, &url).await;
    let deliveries = queue.take(3, Duration::from_secs(30), &server).await;
    let bodies: Vec<Value> = deliveries.iter().map(body_of).collect();
    assert_eq!(bodies, posted);
    let ids: std::collections::BTreeSet<String> = deliveries.iter().map(message_id).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    queue.assert_empty(Duration::from_millis(500)).await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_sharing_a_database_publish_each_message_once() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let queue = Queue::bind(&url, &format!("{prefix}.resultsdb.result.new")).await;
    let tmp = tempfile::tempdir().unwrap();

    // Messages waiting in the outbox when two relays start on it.
    let dead = format!("amqp://guest:guest@127.0.0.1:{}/%2f", free_port());
    let server = Server::start(tmp.path(), &prefix, &dead).await;
    let mut posted = Vec::new();
    for n in 1..=5 {
        let body = json!({"testcase": "shared", "outcome": "PASSED", "note": format!("{n}")});
        posted.push(server.post(&body).await);
    }
    server.stop();

    let first = Server::start(tmp.path(), &prefix, &url).await;
    let second = Server::start(tmp.path(), &prefix, &url).await;
    let deliveries = queue.take(5, Duration::from_secs(30), &first).await;
    let bodies: Vec<Value> = deliveries.iter().map(body_of).collect();
    assert_eq!(bodies, posted);
    // Results posted to either are published once, by whichever relay
    // holds the outbox.
    for (n, server) in [&first, &second, &first, &second].into_iter().enumerate() {
        let body = json!({"testcase": "shared", "outcome": "PASSED", "note": format!("more {n}")});
        posted.push(server.post(&body).await);
    }
    let deliveries = queue.take(4, Duration::from_secs(30), &first).await;
    let mut bodies: Vec<Value> = deliveries.iter().map(body_of).collect();
    bodies.sort_by_key(|it| it["id"].as_i64());
    assert_eq!(bodies, posted[5..]);
    queue.assert_empty(Duration::from_secs(6)).await;
    let both = format!("{}{}", first.log(), second.log());
    assert_eq!(both.matches("standing by").count(), 1, "{both}");

    // The holder stops and releases the outbox; the other takes over.
    let (holder, standby) = if first.log().contains("standing by") {
        (second, first)
    } else {
        (first, second)
    };
    holder.stop();
    let body = json!({"testcase": "shared", "outcome": "PASSED", "note": "after"});
    let last = standby.post(&body).await;
    let deliveries = queue.take(1, Duration::from_secs(30), &standby).await;
    assert_eq!(body_of(&deliveries[0]), last);
    assert!(standby.log().contains("took over"), "{}", standby.log());
    queue.assert_empty(Duration::from_millis(500)).await;
    standby.stop();
}
