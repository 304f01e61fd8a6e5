//! `Consumer` against a real RabbitMQ: declare, bind, prefetch, decode, and
//! acknowledgements that happen only when the caller says so. See `common`
//! for how the broker is found.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{EXCHANGE, amqp_url, dead_port, error_chain, unique_prefix};
use serde_json::json;
use taskotron_bus::{
    BusError, Consumer, ConsumerConfig, DecodeError, Event, OutgoingMessage, Publisher, Received,
    schema,
};

/// A queue no other test uses, kept when its consumer goes (so that a second
/// consumer sees what the first left), deleted by [`common::delete_queue`].
fn config(url: &str, prefix: &str) -> ConsumerConfig {
    let queue = format!("taskotron-bus-test-{}", uuid::Uuid::new_v4());
    ConsumerConfig {
        prefetch: 10,
        ..ConsumerConfig::new(url, &queue, prefix)
    }
}

fn tag_message(prefix: &str, n: i64) -> OutgoingMessage {
    OutgoingMessage::fedora(
        prefix,
        "buildsys.tag",
        schema::TAG,
        json!({
            "build_id": n, "name": "tk-hello", "version": "1.2", "release": format!("{n}.fc44"),
            "tag": "f44-updates-candidate", "tag_id": 7, "user": "kojira", "owner": "alice",
            "instance": "primary",
        }),
        Utc::now(),
    )
}

async fn next(consumer: &mut Consumer) -> Received {
    tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await
        .expect("a delivery within 10 s")
        .expect("the consumer works")
        .expect("the consumer was not cancelled")
}

async fn nothing_within(consumer: &mut Consumer, wait: Duration) {
    if let Ok(got) = tokio::time::timeout(wait, consumer.next()).await {
        let got = got.expect("the consumer works").expect("not cancelled");
        panic!("unexpected delivery: {:?}", got.wire);
    }
}

fn build_id(received: &Received) -> i64 {
    match &received.decoded {
        Ok(msg) => match &msg.event {
            Event::Tag(tag) => tag.build_id,
            other => panic!("not a tag: {other:?}"),
        },
        Err(e) => panic!("does not decode: {e}"),
    }
}

#[tokio::test]
async fn deliveries_decode_and_wait_for_the_callers_ack() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    // One at a time, so that a requeued message comes back before the next.
    let config = ConsumerConfig {
        prefetch: 1,
        ..config(&url, &prefix)
    };
    let mut consumer = Consumer::connect(&config).await.unwrap();
    assert_eq!(consumer.queue(), config.queue);

    let publisher = Publisher::connect(&url, EXCHANGE).await.unwrap();
    let first = tag_message(&prefix, 1);
    publisher.publish(&first).await.unwrap();
    // Not JSON: it arrives, says why it does not decode, and is dropped.
    let mut broken = tag_message(&prefix, 2);
    broken.body = json!({"build_id": "two"});
    publisher.publish(&broken).await.unwrap();
    publisher.publish(&tag_message(&prefix, 3)).await.unwrap();
    publisher.publish(&tag_message(&prefix, 4)).await.unwrap();
    // Another topic under the same prefix is not bound.
    let unbound = OutgoingMessage::fedora(&prefix, "buildsys.repo.done", "", json!({}), Utc::now());
    publisher.publish(&unbound).await.unwrap();
    publisher.close().await;

    let got = next(&mut consumer).await;
    assert!(!got.redelivered);
    let msg = got.decoded.as_ref().unwrap();
    assert_eq!(msg.id, first.id);
    assert_eq!(msg.topic, "buildsys.tag");
    assert_eq!(msg.routing_key, format!("{prefix}.buildsys.tag"));
    assert_eq!(msg.schema.as_deref(), Some(schema::TAG));
    assert_eq!(
        msg.sent_at.map(|t| t.to_rfc3339()),
        Some(first.sent_at.clone())
    );
    assert_eq!(got.wire.headers["fedora_messaging_severity"], json!(20));
    got.ack().await.unwrap();

    let got = next(&mut consumer).await;
    assert_eq!(
        got.decoded.as_ref().unwrap_err(),
        &DecodeError::WrongType {
            schema: schema::TAG.to_owned(),
            field: "build_id".to_owned(),
            expected: "an integer",
            found: "a string".to_owned(),
        }
    );
    got.nack(false).await.unwrap();

    // Refused with requeue: it comes back, redelivered.
    let got = next(&mut consumer).await;
    assert_eq!(build_id(&got), 3);
    got.nack(true).await.unwrap();
    let got = next(&mut consumer).await;
    assert_eq!(build_id(&got), 3);
    assert!(got.redelivered);
    got.ack().await.unwrap();

    // Received but never answered: after the consumer goes, the broker
    // delivers it to the next one.
    let got = next(&mut consumer).await;
    assert_eq!(build_id(&got), 4);
    drop(got);
    nothing_within(&mut consumer, Duration::from_millis(300)).await;
    consumer.close().await;

    let mut again = Consumer::connect(&config).await.unwrap();
    let got = next(&mut again).await;
    assert_eq!(build_id(&got), 4);
    assert!(got.redelivered);
    got.ack().await.unwrap();
    // The acked, the dropped and the unbound are gone for good.
    nothing_within(&mut again, Duration::from_millis(300)).await;
    again.close().await;
    common::delete_queue(&url, &config.queue).await;
}

#[tokio::test]
async fn prefetch_bounds_the_unacknowledged() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let config = ConsumerConfig {
        prefetch: 2,
        auto_delete: true,
        durable: false,
        ..config(&url, &prefix)
    };
    let mut consumer = Consumer::connect(&config).await.unwrap();
    let publisher = Publisher::connect(&url, EXCHANGE).await.unwrap();
    for n in 1..=4 {
        publisher.publish(&tag_message(&prefix, n)).await.unwrap();
    }
    publisher.close().await;

    let a = next(&mut consumer).await;
    let b = next(&mut consumer).await;
    assert_eq!((build_id(&a), build_id(&b)), (1, 2));
    // Two unacknowledged: the broker holds the rest back.
    nothing_within(&mut consumer, Duration::from_millis(500)).await;
    a.ack().await.unwrap();
    let c = next(&mut consumer).await;
    assert_eq!(build_id(&c), 3);
    b.ack().await.unwrap();
    c.ack().await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!(build_id(&d), 4);
    d.ack().await.unwrap();
    consumer.close().await;
}

#[tokio::test]
async fn connect_errors_name_the_broker_without_the_password() {
    // No broker needed: nothing listens on the port.
    let url = format!("amqp://guest:hunter2@127.0.0.1:{}/%2f", dead_port());
    let err = Consumer::connect(&ConsumerConfig::new(&url, "q", "p"))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
    let text = error_chain(&err);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.starts_with("cannot connect to the AMQP broker at amqp://guest:***@127.0.0.1:"),
        "{text}"
    );
    let err = Consumer::connect(&ConsumerConfig::new("amqp:guest:hunter2@x", "q", "p"))
        .await
        .unwrap_err();
    assert!(!error_chain(&err).contains("hunter2"));
}

#[tokio::test]
async fn a_queue_that_exists_with_other_settings_is_an_error() {
    let Some(url) = amqp_url() else { return };
    let config = config(&url, &unique_prefix());
    let consumer = Consumer::connect(&config).await.unwrap();
    // The same name, not durable: the broker refuses the declaration.
    let other = ConsumerConfig {
        durable: false,
        ..config.clone()
    };
    let err = Consumer::connect(&other).await.unwrap_err();
    let text = error_chain(&err);
    assert!(text.contains("PRECONDITION_FAILED"), "{text}");
    consumer.close().await;
    common::delete_queue(&url, &config.queue).await;
}
