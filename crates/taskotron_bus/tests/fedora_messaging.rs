//! Proof that Taskotron reads what Fedora's publishers write: the real
//! `fedora-messaging` library (from PyPI, with the real schema packages
//! `koji-fedoramessaging-messages` and `bodhi-messages`, in scripts/test's
//! venv) publishes one message of every type Taskotron consumes into the
//! real RabbitMQ, and Taskotron's `Consumer` receives and decodes each one.
//!
//! The bodies are the project's own fixtures in `tests/fixtures/messages/`;
//! the library validates each against its schema class before publishing,
//! so the fixtures are checked too. The Python comes from
//! TASKOTRON_TEST_PYTHON and the broker from TASKOTRON_TEST_AMQP_URL;
//! without them the test says why and passes, unless
//! TASKOTRON_REQUIRE_SERVICES=1, where it fails.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{amqp_url, host_command, python_with, unique_prefix};
use serde_json::Value;
use taskotron_bus::{Consumer, ConsumerConfig, DecodeError, Received, WireMessage, decode};

fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages")
}

/// fedora-messaging's configuration file: the test broker and prefix.
fn write_config(dir: &Path, url: &str, prefix: &str) -> std::path::PathBuf {
    let path = dir.join("fedora-messaging.toml");
    let text = format!(
        "amqp_url = {url:?}\n\
         publish_exchange = \"amq.topic\"\n\
         topic_prefix = {prefix:?}\n\
         passive_declares = false\n\
         \n\
         [client_properties]\n\
         app = \"Taskotron tests\"\n\
         \n\
         [log_config]\n\
         version = 1\n\
         disable_existing_loggers = true\n\
         [log_config.root]\n\
         level = \"WARNING\"\n\
         handlers = []\n"
    );
    std::fs::write(&path, text).expect("write the fedora-messaging configuration");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn fedora_messaging_publishes_what_the_consumer_decodes() {
    let Some(url) = amqp_url() else { return };
    let Some(python) = python_with(&[
        "fedora_messaging.api",
        "koji_fedoramessaging_messages.build",
        "bodhi.messages.schemas.update",
    ]) else {
        return;
    };
    let prefix = unique_prefix();
    let queue = format!("taskotron-bus-test-{}", uuid::Uuid::new_v4());
    let config = ConsumerConfig {
        durable: false,
        auto_delete: true,
        ..ConsumerConfig::new(&url, &queue, &prefix)
    };
    let mut consumer = Consumer::connect(&config).await.unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let conf = write_config(tmp.path(), &url, &prefix);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/publish_every_message.py");
    let home = tmp.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        host_command(&python)
            .arg(script)
            .arg(fixtures_dir())
            .env("FEDORA_MESSAGING_CONF", conf)
            .env("HOME", home)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "publish_every_message.py failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let published: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let fixtures: Vec<&Value> = published
        .iter()
        .filter(|it| !it["file"].is_null())
        .collect();
    assert_eq!(
        fixtures.len(),
        std::fs::read_dir(fixtures_dir()).unwrap().count(),
        "every fixture was published"
    );

    let mut received: BTreeMap<String, Received> = BTreeMap::new();
    while received.len() < published.len() {
        let got = tokio::time::timeout(Duration::from_secs(20), consumer.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {} messages arrived; got {:?}",
                    received.len(),
                    published.len(),
                    received.keys().collect::<Vec<_>>()
                )
            })
            .unwrap()
            .unwrap();
        let id = got.wire.message_id.clone().expect("a message id");
        assert!(
            received.insert(id, got).is_none(),
            "a message arrived twice"
        );
    }

    let mut topics = Vec::new();
    for sent in &published {
        let id = sent["id"].as_str().unwrap();
        let got = received
            .remove(id)
            .unwrap_or_else(|| panic!("{sent} did not arrive"));
        let props = &got.wire.properties;
        assert_eq!(props.content_type.as_deref(), Some("application/json"));
        assert_eq!(props.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(props.delivery_mode, Some(2));
        assert_eq!(got.wire.routing_key, sent["topic"].as_str().unwrap());
        let Some(file) = sent["file"].as_str() else {
            // The message with a schema Taskotron does not know on a topic
            // it consumes: a typed error, and dropped.
            assert_eq!(
                got.decoded.as_ref().unwrap_err(),
                &DecodeError::UnknownSchema {
                    topic: "bodhi.update.edit".to_owned(),
                    schema: "bodhi.update.comment.v1".to_owned(),
                }
            );
            got.nack(false).await.unwrap();
            continue;
        };
        let msg = got
            .decoded
            .as_ref()
            .unwrap_or_else(|e| panic!("{file} as fedora-messaging published it: {e}"));
        // The same event as the fixture itself decodes to.
        let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap();
        let fixture = WireMessage::from_dump(&text).unwrap();
        let expect = decode(&fixture).unwrap();
        assert_eq!(msg.event, expect.event, "{file}");
        assert_eq!(msg.topic, expect.topic, "{file}");
        assert_eq!(
            msg.routing_key,
            format!("{prefix}.{}", expect.topic),
            "{file}"
        );
        assert_eq!(msg.schema, expect.schema, "{file}");
        assert_eq!(msg.id, id);
        assert_eq!(
            msg.sent_at.map(|it| it.to_rfc3339()),
            sent["headers"]["sent-at"]
                .as_str()
                .map(|it| chrono::DateTime::parse_from_rfc3339(it)
                    .unwrap()
                    .to_rfc3339()),
            "{file}"
        );
        // The headers as the library set them.
        for (name, value) in sent["headers"].as_object().unwrap() {
            assert_eq!(
                got.wire.headers.get(name),
                Some(value),
                "{file}: header {name}"
            );
        }
        if msg.topic == "buildsys.tag" {
            assert_eq!(
                props.priority,
                Some(2),
                "Koji's tag messages set a priority"
            );
        }
        topics.push(msg.topic.clone());
        got.ack().await.unwrap();
    }
    topics.sort();
    topics.dedup();
    let mut all: Vec<&str> = taskotron_bus::topic::ALL.to_vec();
    all.sort_unstable();
    assert_eq!(topics, all, "every topic Taskotron consumes");
    consumer.close().await;
}
