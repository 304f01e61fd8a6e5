//! Taskotron's decoder of incoming fedora-messaging messages
//! (`taskotron_bus::decode`): any routing key, schema header and body decode
//! to a message or a `DecodeError`, never a panic.
//!
//! Input: when it starts with `#`, the first line (after the `#`) is the
//! routing key, the second the `fedora_messaging_schema` header and the rest
//! the body; otherwise the first byte picks a known topic and schema and the
//! rest is the body, so that most inputs reach the body decoders. A decoded
//! message must carry the id and a topic its routing key ends with, and an
//! error must print.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use taskotron_bus::{WireMessage, decode, schema, topic};

const KNOWN: &[(&str, &str)] = &[
    (topic::BUILD_STATE_CHANGE, schema::BUILD_STATE_CHANGE),
    (topic::TAG, schema::TAG),
    (topic::UNTAG, schema::UNTAG),
    (topic::UPDATE_READY, schema::UPDATE_READY_V1),
    (topic::UPDATE_READY, schema::UPDATE_READY_V2),
    (topic::UPDATE_READY, schema::UPDATE_READY_V3),
    (topic::UPDATE_REQUEST_TESTING, schema::UPDATE_REQUEST_TESTING),
    (topic::UPDATE_REQUEST_STABLE, schema::UPDATE_REQUEST_STABLE),
    (topic::UPDATE_REQUEST_UNPUSH, schema::UPDATE_REQUEST_UNPUSH),
    (topic::UPDATE_REQUEST_OBSOLETE, schema::UPDATE_REQUEST_OBSOLETE),
    (topic::UPDATE_REQUEST_REVOKE, schema::UPDATE_REQUEST_REVOKE),
    (topic::UPDATE_EDIT, schema::UPDATE_EDIT_V1),
    (topic::UPDATE_EDIT, schema::UPDATE_EDIT_V2),
    (topic::UPDATE_COMPLETE_TESTING, schema::UPDATE_COMPLETE_TESTING),
    (topic::UPDATE_COMPLETE_STABLE, schema::UPDATE_COMPLETE_STABLE),
    (topic::COMPOSE_STATUS, schema::BASE),
];

fn wire(routing_key: String, schema: &str, body: &[u8]) -> WireMessage {
    let mut headers = BTreeMap::new();
    if !schema.is_empty() {
        headers.insert(
            "fedora_messaging_schema".to_owned(),
            Value::String(schema.to_owned()),
        );
    }
    headers.insert(
        "sent-at".to_owned(),
        Value::String("2026-11-20T10:20:05+00:00".to_owned()),
    );
    WireMessage {
        routing_key,
        message_id: Some("fuzz".to_owned()),
        headers,
        body: body.to_vec(),
        ..WireMessage::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let wire = match data.split_first() {
        None => return,
        Some((&b'#', rest)) => {
            let mut parts = rest.splitn(3, |b| *b == b'\n');
            let routing_key = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let schema = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            wire(routing_key, &schema, parts.next().unwrap_or_default())
        }
        Some((pick, body)) => {
            let (topic, schema) = KNOWN[usize::from(*pick) % KNOWN.len()];
            wire(format!("org.fedoraproject.prod.{topic}"), schema, body)
        }
    };
    match decode(&wire) {
        Ok(msg) => {
            assert_eq!(msg.id, "fuzz");
            assert!(wire.routing_key.ends_with(&msg.topic), "{msg:?}");
            assert!(topic::ALL.contains(&msg.topic.as_str()), "{msg:?}");
            assert_eq!(decode(&wire), Ok(msg), "decoding is deterministic");
        }
        Err(err) => {
            assert!(!err.to_string().is_empty());
        }
    }
    // The dump format reader too.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(dumped) = WireMessage::from_dump(text) {
            let _ = decode(&dumped);
        }
    }
});
