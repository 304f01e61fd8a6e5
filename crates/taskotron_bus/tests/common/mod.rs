//! Helpers shared by the tests that talk to a real RabbitMQ.
//!
//! The broker comes from `TASKOTRON_TEST_AMQP_URL` (scripts/test exports it).
//! Without it a test prints why and passes, unless `TASKOTRON_REQUIRE_SERVICES=1`,
//! where it fails. Each test binds its own exclusive, auto-delete queue to
//! `amq.topic` with a routing key that contains a fresh UUID, so tests run in
//! parallel and never see each other's messages.

#![allow(
    dead_code,
    clippy::print_stderr,
    reason = "shared test helpers: each test file uses some of them, and a skip says why"
)]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use lapin::message::Delivery;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::{Value, json};
use taskotron_bus::{OutboxSource, OutgoingMessage};

pub(crate) const EXCHANGE: &str = "amq.topic";

/// The broker's URL; `None` (after saying so) when the test should skip.
/// Fails when `TASKOTRON_REQUIRE_SERVICES=1` and there is no URL.
pub(crate) fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_AMQP_URL is not set, but TASKOTRON_REQUIRE_SERVICES=1: run scripts/test, or set it to a RabbitMQ URL"
            );
            eprintln!(
                "skipped: TASKOTRON_TEST_AMQP_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672/%2f)"
            );
            None
        }
    }
}

/// A topic prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    format!("taskotron.test.{}", uuid::Uuid::new_v4().simple())
}

/// A loopback port nobody listens on (bound, noted, released).
pub(crate) fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// An error and all its sources, as one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    text
}

/// A queue of the test's own, bound to `amq.topic` with a routing key.
pub(crate) struct Listener {
    _connection: Connection,
    channel: Channel,
    queue: ShortString,
}

impl Listener {
    pub(crate) async fn bind(url: &str, routing_key: &str) -> Listener {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .expect("connect the test listener");
        let channel = connection.create_channel().await.expect("open a channel");
        let queue = ShortString::from(format!("taskotron-bus-test-{}", uuid::Uuid::new_v4()));
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.clone(), options, FieldTable::default())
            .await
            .expect("declare the test queue");
        channel
            .queue_bind(
                queue.clone(),
                EXCHANGE.into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the test queue");
        Listener {
            _connection: connection,
            channel,
            queue,
        }
    }

    /// The next message in the queue, or `None`.
    pub(crate) async fn get(&self) -> Option<Delivery> {
        let options = BasicGetOptions { no_ack: true };
        self.channel
            .basic_get(self.queue.clone(), options)
            .await
            .expect("basic.get")
            .map(|m| m.delivery)
    }

    /// Exactly `n` messages, in queue order; fails after `timeout`.
    pub(crate) async fn take(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        while got.len() < n {
            match self.get().await {
                Some(delivery) => got.push(delivery),
                None => {
                    assert!(
                        Instant::now() < deadline,
                        "got {} of {n} messages within {timeout:?}",
                        got.len()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        got
    }

    /// Fails if a message arrives within `wait`.
    pub(crate) async fn assert_empty(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
        if let Some(delivery) = self.get().await {
            panic!(
                "unexpected message: {}",
                String::from_utf8_lossy(&delivery.data)
            );
        }
    }
}

pub(crate) fn message_id(delivery: &Delivery) -> &str {
    delivery
        .properties
        .message_id()
        .as_ref()
        .expect("a message_id")
        .as_str()
}

pub(crate) fn body_of(delivery: &Delivery) -> Value {
    serde_json::from_slice(&delivery.data).expect("the body is JSON")
}

/// An outbox in memory: rows in id order, and every `published` report.
#[derive(Default)]
pub(crate) struct MemOutbox {
    rows: Mutex<Vec<Row>>,
    reports: Mutex<Vec<i64>>,
}

struct Row {
    id: i64,
    msg: OutgoingMessage,
    published: bool,
}

impl MemOutbox {
    pub(crate) fn push(&self, msg: OutgoingMessage) {
        let mut rows = self.rows.lock().expect("lock");
        let id = i64::try_from(rows.len()).expect("few rows") + 1;
        rows.push(Row {
            id,
            msg,
            published: false,
        });
    }

    pub(crate) fn messages(&self) -> Vec<OutgoingMessage> {
        let rows = self.rows.lock().expect("lock");
        rows.iter().map(|row| row.msg.clone()).collect()
    }

    /// Every id reported published, in report order, repeats included.
    pub(crate) fn reports(&self) -> Vec<i64> {
        self.reports.lock().expect("lock").clone()
    }

    pub(crate) fn pending_count(&self) -> usize {
        let rows = self.rows.lock().expect("lock");
        rows.iter().filter(|row| !row.published).count()
    }

    /// Waits until `n` ids have been reported; fails after `timeout`.
    pub(crate) async fn wait_reported(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.reports().len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} reported within {timeout:?}",
                self.reports().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl OutboxSource for MemOutbox {
    async fn pending(&self, limit: usize) -> anyhow::Result<Vec<(i64, OutgoingMessage)>> {
        let rows = self.rows.lock().expect("lock");
        Ok(rows
            .iter()
            .filter(|row| !row.published)
            .take(limit)
            .map(|row| (row.id, row.msg.clone()))
            .collect())
    }

    async fn published(&self, ids: &[i64]) -> anyhow::Result<()> {
        let mut rows = self.rows.lock().expect("lock");
        for id in ids {
            let row = rows
                .iter_mut()
                .find(|row| row.id == *id)
                .ok_or_else(|| anyhow::anyhow!("no outbox row {id}"))?;
            row.published = true;
        }
        self.reports.lock().expect("lock").extend_from_slice(ids);
        Ok(())
    }
}

/// A message whose body says which one it is.
pub(crate) fn numbered(prefix: &str, n: usize) -> OutgoingMessage {
    OutgoingMessage::fedora(
        prefix,
        "resultsdb.result.new",
        "",
        json!({"n": n}),
        Utc::now(),
    )
}

/// Every outbox message arrived once, in outbox order; every id was reported
/// exactly once; nothing is pending.
pub(crate) fn assert_delivered_in_order(outbox: &MemOutbox, deliveries: &[Delivery]) {
    let sent = outbox.messages();
    let got: Vec<(String, Value)> = deliveries
        .iter()
        .map(|d| (message_id(d).to_owned(), body_of(d)))
        .collect();
    let want: Vec<(String, Value)> = sent
        .iter()
        .map(|m| (m.id.clone(), m.body.clone()))
        .collect();
    assert_eq!(got, want);

    let reports = outbox.reports();
    let unique: BTreeSet<i64> = reports.iter().copied().collect();
    assert_eq!(
        unique.len(),
        reports.len(),
        "an id was reported twice: {reports:?}"
    );
    let all: BTreeSet<i64> = (1..=i64::try_from(sent.len()).expect("few rows")).collect();
    assert_eq!(unique, all);
    assert_eq!(outbox.pending_count(), 0);
}

/// Deletes a queue a test declared (durable queues outlive their consumers).
pub(crate) async fn delete_queue(url: &str, queue: &str) {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("connect to delete the test queue");
    let channel = connection.create_channel().await.expect("open a channel");
    channel
        .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
        .await
        .expect("delete the test queue");
    let _ = connection.close(200, "OK".into()).await;
}

/// Run a program of the host (Python): the tests are not Taskotron and do
/// not go through its runner.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run host tools (the venv's Python) directly"
)]
pub(crate) fn host_command(program: &std::path::Path) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// The venv's Python (TASKOTRON_TEST_PYTHON) when it can import every one of
/// `modules`; `None` (after saying why) when the test should skip. Fails
/// instead when `TASKOTRON_REQUIRE_SERVICES=1`.
pub(crate) fn python_with(modules: &[&str]) -> Option<std::path::PathBuf> {
    let required = std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref() == Ok("1");
    let Some(python) = std::env::var_os("TASKOTRON_TEST_PYTHON").map(std::path::PathBuf::from)
    else {
        assert!(
            !required,
            "TASKOTRON_TEST_PYTHON is not set (scripts/test sets it to its venv's python)"
        );
        eprintln!("skipped: TASKOTRON_TEST_PYTHON is not set (scripts/test sets it)");
        return None;
    };
    let imports = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let why = match host_command(&python).args(["-c", &imports]).output() {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
        Err(err) => err.to_string(),
    };
    assert!(!required, "{} cannot {imports}: {why}", python.display());
    eprintln!("skipped: {} cannot {imports}", python.display());
    None
}
