//! `Publisher` against a real RabbitMQ: the wire format, connect errors,
//! the exchange check. See `common` for how the broker is found.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{EXCHANGE, Listener, amqp_url, dead_port, error_chain, message_id, unique_prefix};
use lapin::message::Delivery;
use lapin::types::{AMQPValue, LongString, ShortString};
use serde_json::{Value, json};
use taskotron_bus::{BusError, OutgoingMessage, Publisher};

fn long(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

#[tokio::test]
async fn publish_puts_fedora_messaging_on_the_wire() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let topic = format!("{prefix}.resultsdb.result.new");
    let listener = Listener::bind(&url, &topic).await;

    // Keys in sorted order, so the expected text holds with or without
    // serde_json's preserve_order.
    let body = json!({
        "data": {"item": ["bash-5.2.26-3.fc41"], "type": ["koji_build"]},
        "id": 1,
        "note": "naïve ✓",
        "outcome": "PASSED",
        "testcase": {"name": "dist.rpmlint"},
    });
    let now = Utc.with_ymd_and_hms(2026, 11, 3, 12, 34, 56).unwrap();
    let mut msg =
        OutgoingMessage::fedora(&prefix, "resultsdb.result.new", "", body, now).with_priority(3);
    msg.headers
        .insert("fedora_messaging_rpm_bash".to_owned(), json!(true));
    msg.headers.insert("x-big".to_owned(), json!(u64::MAX));
    msg.headers.insert("x-float".to_owned(), json!(1.5));
    msg.headers.insert("x-null".to_owned(), Value::Null);
    msg.headers.insert("x-list".to_owned(), json!([1, "a"]));

    let publisher = Publisher::connect(&url, EXCHANGE).await.unwrap();
    publisher.publish(&msg).await.unwrap();
    publisher.close().await;

    let [delivery] = <[Delivery; 1]>::try_from(listener.take(1, Duration::from_secs(5)).await)
        .expect("one message");
    assert_eq!(delivery.exchange.as_str(), EXCHANGE);
    assert_eq!(delivery.routing_key.as_str(), topic);
    assert!(!delivery.redelivered);

    let p = &delivery.properties;
    assert_eq!(
        p.content_type().as_ref().map(ShortString::as_str),
        Some("application/json")
    );
    assert_eq!(
        p.content_encoding().as_ref().map(ShortString::as_str),
        Some("utf-8")
    );
    assert_eq!(*p.delivery_mode(), Some(2));
    assert_eq!(message_id(&delivery), msg.id);
    assert_eq!(*p.priority(), Some(3));
    assert_eq!(*p.correlation_id(), None);
    assert_eq!(*p.reply_to(), None);
    assert_eq!(*p.expiration(), None);
    assert_eq!(*p.timestamp(), None);
    assert_eq!(*p.kind(), None);
    assert_eq!(*p.user_id(), None);
    assert_eq!(*p.app_id(), None);

    let headers = p.headers().as_ref().expect("headers").inner();
    let expected: BTreeMap<ShortString, AMQPValue> = BTreeMap::from([
        ("fedora_messaging_schema".into(), long("base.message")),
        (
            "fedora_messaging_severity".into(),
            AMQPValue::LongLongInt(20),
        ),
        ("sent-at".into(), long("2026-11-03T12:34:56+00:00")),
        ("priority".into(), AMQPValue::LongLongInt(3)),
        ("fedora_messaging_rpm_bash".into(), AMQPValue::Boolean(true)),
        ("x-big".into(), long("18446744073709551615")),
        ("x-float".into(), long("1.5")),
        ("x-null".into(), long("null")),
        ("x-list".into(), long(r#"[1,"a"]"#)),
    ]);
    assert_eq!(*headers, expected);

    let expected_body = r#"{"data":{"item":["bash-5.2.26-3.fc41"],"type":["koji_build"]},"id":1,"note":"naïve ✓","outcome":"PASSED","testcase":{"name":"dist.rpmlint"}}"#;
    assert_eq!(
        String::from_utf8(delivery.data.clone()).unwrap(),
        expected_body
    );

    listener.assert_empty(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn connect_errors_never_show_the_password() {
    let Some(url) = amqp_url() else { return };
    let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());

    // The right broker, a wrong password.
    let host = url.rsplit_once('@').map_or_else(
        || url.split_once("://").expect("an amqp:// URL").1,
        |(_, host)| host,
    );
    let wrong = format!("amqp://guest:{secret}@{host}");
    let err = Publisher::connect(&wrong, EXCHANGE).await.unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
    let text = error_chain(&err);
    assert!(!text.contains(&secret), "{text}");
    assert!(text.contains("guest:***@"), "{text}");

    // Nobody listening.
    let dead = format!("amqp://guest:{secret}@127.0.0.1:{}/%2f", dead_port());
    let text = error_chain(&Publisher::connect(&dead, EXCHANGE).await.unwrap_err());
    assert!(!text.contains(&secret), "{text}");
    assert!(
        text.starts_with("cannot connect to the AMQP broker at amqp://guest:***@127.0.0.1:"),
        "{text}"
    );

    // A URL lapin cannot parse.
    let broken = format!("amqp:guest:{secret}@127.0.0.1");
    let text = error_chain(&Publisher::connect(&broken, EXCHANGE).await.unwrap_err());
    assert!(!text.contains(&secret), "{text}");
}

#[tokio::test]
async fn connect_checks_that_the_exchange_exists() {
    let Some(url) = amqp_url() else { return };
    let missing = format!("taskotron-test-missing-{}", uuid::Uuid::new_v4());
    let err = Publisher::connect(&url, &missing).await.unwrap_err();
    let text = error_chain(&err);
    assert!(matches!(err, BusError::Connect { .. }), "{text}");
    assert!(text.contains("NOT_FOUND"), "{text}");
}

#[tokio::test]
async fn publish_refuses_invalid_messages() {
    let Some(url) = amqp_url() else { return };
    let publisher = Publisher::connect(&url, EXCHANGE).await.unwrap();
    let msg = OutgoingMessage::fedora(&unique_prefix(), "x", "", json!([1, 2]), Utc::now());
    let err = publisher.publish(&msg).await.unwrap_err();
    assert!(matches!(err, BusError::Invalid { .. }), "{err:?}");
    // The publisher is still usable.
    let ok = OutgoingMessage::fedora(&unique_prefix(), "x", "", json!({}), Utc::now());
    publisher.publish(&ok).await.unwrap();
    publisher.close().await;
}
