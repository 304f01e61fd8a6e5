//! One outgoing message in the fedora-messaging wire format.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BusError;

/// The header naming the message's schema (a fedora-messaging entry point).
pub const HEADER_SCHEMA: &str = "fedora_messaging_schema";
/// The header carrying the severity (10, 20, 30 or 40).
pub const HEADER_SEVERITY: &str = "fedora_messaging_severity";
/// The header carrying the send time, ISO 8601 with offset and no microseconds.
pub const HEADER_SENT_AT: &str = "sent-at";
/// The header copying the `priority` property, present only when it is set.
pub const HEADER_PRIORITY: &str = "priority";
/// The header naming the Python distribution that holds the schema, with
/// underscores, e.g. `koji_fedoramessaging_messages`.
pub const HEADER_SCHEMA_PACKAGE: &str = "fedora_messaging_schema_package";
/// The start of the filter headers naming a user (`fedora_messaging_user_<name>`).
pub const HEADER_USER_PREFIX: &str = "fedora_messaging_user_";
/// The start of the filter headers naming a package (`fedora_messaging_rpm_<name>`).
pub const HEADER_RPM_PREFIX: &str = "fedora_messaging_rpm_";

/// The schema of fedora-messaging's base `Message` class.
///
/// ResultsDB publishes `resultsdb.result.new` with that base class, so its
/// messages carry this schema name; it is also the default when none is given.
pub const DEFAULT_SCHEMA: &str = "base.message";

/// fedora-messaging's DEBUG severity (Koji's tag messages, Bodhi's "ready
/// for testing").
pub const SEVERITY_DEBUG: i64 = 10;
/// fedora-messaging's INFO severity, the default of its base class.
pub const SEVERITY_INFO: i64 = 20;

/// AMQP short strings (routing key, message id, header names) hold at most
/// this many bytes.
const MAX_SHORT_STRING: usize = 255;

/// One message to publish, as fedora-messaging puts it on the wire.
///
/// The store keeps it as JSON in its outbox table, so the serde form is part
/// of the store's format: add fields only with `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The AMQP `message_id`: a UUID4 string, the consumers' dedupe key.
    pub id: String,
    /// The full routing key, e.g. `org.fedoraproject.prod.resultsdb.result.new`.
    pub topic: String,
    /// The body; must be a JSON object.
    pub body: Value,
    /// The AMQP headers. [`OutgoingMessage::fedora`] fills the
    /// fedora-messaging ones.
    pub headers: BTreeMap<String, Value>,
    /// When the message was made: ISO 8601 with offset, no microseconds.
    pub sent_at: String,
    /// The AMQP `priority` property, when set.
    pub priority: Option<u8>,
}

impl OutgoingMessage {
    /// A fedora-messaging message with a fresh UUID4 id.
    ///
    /// - The topic is `topic_prefix.topic_suffix`, or just `topic_suffix` when
    ///   the prefix is empty (a trailing `.` on the prefix is ignored).
    /// - The headers are `fedora_messaging_schema` = `schema` ([`DEFAULT_SCHEMA`]
    ///   when `schema` is empty), `fedora_messaging_severity` = 20 and
    ///   `sent-at` = `now` in fedora-messaging's format, e.g.
    ///   `2026-11-03T12:34:56+00:00`.
    /// - There is no priority; [`OutgoingMessage::with_priority`] sets one.
    ///
    /// The body should be a JSON object; [`OutgoingMessage::validate`] checks.
    #[must_use]
    pub fn fedora(
        topic_prefix: &str,
        topic_suffix: &str,
        schema: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> OutgoingMessage {
        let prefix = topic_prefix.trim_end_matches('.');
        let topic = if prefix.is_empty() {
            topic_suffix.to_owned()
        } else {
            format!("{prefix}.{topic_suffix}")
        };
        let schema = if schema.is_empty() {
            DEFAULT_SCHEMA
        } else {
            schema
        };
        let sent_at = now.to_rfc3339_opts(SecondsFormat::Secs, false);
        let headers = BTreeMap::from([
            (HEADER_SCHEMA.to_owned(), Value::from(schema)),
            (HEADER_SEVERITY.to_owned(), Value::from(SEVERITY_INFO)),
            (HEADER_SENT_AT.to_owned(), Value::from(sent_at.clone())),
        ]);
        OutgoingMessage {
            id: uuid::Uuid::new_v4().to_string(),
            topic,
            body,
            headers,
            sent_at,
            priority: None,
        }
    }

    /// Sets the `priority` property and its copy in the `priority` header.
    #[must_use]
    pub fn with_priority(mut self, priority: u8) -> OutgoingMessage {
        self.priority = Some(priority);
        self.headers
            .insert(HEADER_PRIORITY.to_owned(), Value::from(priority));
        self
    }

    /// Sets the `fedora_messaging_severity` header (10, 20, 30 or 40).
    #[must_use]
    pub fn with_severity(mut self, severity: i64) -> OutgoingMessage {
        self.headers
            .insert(HEADER_SEVERITY.to_owned(), Value::from(severity));
        self
    }

    /// Sets the `fedora_messaging_schema_package` header.
    #[must_use]
    pub fn with_schema_package(mut self, package: &str) -> OutgoingMessage {
        self.headers
            .insert(HEADER_SCHEMA_PACKAGE.to_owned(), Value::from(package));
        self
    }

    /// Adds a `fedora_messaging_user_<name>: true` filter header per user,
    /// as fedora-messaging does for a message's `usernames`.
    #[must_use]
    pub fn with_users<S: AsRef<str>>(
        mut self,
        users: impl IntoIterator<Item = S>,
    ) -> OutgoingMessage {
        for user in users {
            self.headers.insert(
                format!("{HEADER_USER_PREFIX}{}", user.as_ref()),
                Value::Bool(true),
            );
        }
        self
    }

    /// Adds a `fedora_messaging_rpm_<name>: true` filter header per package,
    /// as fedora-messaging does for a message's `packages`.
    #[must_use]
    pub fn with_packages<S: AsRef<str>>(
        mut self,
        packages: impl IntoIterator<Item = S>,
    ) -> OutgoingMessage {
        for package in packages {
            self.headers.insert(
                format!("{HEADER_RPM_PREFIX}{}", package.as_ref()),
                Value::Bool(true),
            );
        }
        self
    }

    /// Whether the message can go on the wire: a non-empty id and topic that
    /// fit an AMQP short string, header names that fit one too, and a body
    /// that is a JSON object.
    ///
    /// [`Publisher::publish`](crate::Publisher::publish) checks this too, but
    /// a message that fails it would block the outbox, so check it before the
    /// message is written there.
    pub fn validate(&self) -> Result<(), BusError> {
        let invalid = |reason: String| BusError::Invalid {
            id: self.id.clone(),
            reason,
        };
        if self.id.is_empty() {
            return Err(invalid("the id is empty".to_owned()));
        }
        if self.id.len() > MAX_SHORT_STRING {
            return Err(invalid(format!(
                "the id is longer than {MAX_SHORT_STRING} bytes"
            )));
        }
        if self.topic.is_empty() {
            return Err(invalid("the topic is empty".to_owned()));
        }
        if self.topic.len() > MAX_SHORT_STRING {
            return Err(invalid(format!(
                "the topic is longer than {MAX_SHORT_STRING} bytes"
            )));
        }
        if let Some(name) = self.headers.keys().find(|k| k.len() > MAX_SHORT_STRING) {
            let start: String = name.chars().take(40).collect();
            return Err(invalid(format!(
                "the header name {start:?}… is longer than {MAX_SHORT_STRING} bytes"
            )));
        }
        if !self.body.is_object() {
            return Err(invalid("the body is not a JSON object".to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 12, 34, 56).unwrap()
            + chrono::Duration::microseconds(789_123)
    }

    fn check_topic(prefix: &str, suffix: &str, expect: &str) {
        let msg = OutgoingMessage::fedora(prefix, suffix, "", json!({}), now());
        assert_eq!(msg.topic, expect, "prefix {prefix:?}, suffix {suffix:?}");
    }

    #[test]
    fn fedora_joins_the_topic() {
        check_topic(
            "org.fedoraproject.prod",
            "resultsdb.result.new",
            "org.fedoraproject.prod.resultsdb.result.new",
        );
        check_topic(
            "org.taskotron",
            "resultsdb.result.new",
            "org.taskotron.resultsdb.result.new",
        );
        check_topic(
            "org.taskotron.",
            "resultsdb.result.new",
            "org.taskotron.resultsdb.result.new",
        );
        check_topic("", "resultsdb.result.new", "resultsdb.result.new");
    }

    #[test]
    fn fedora_fills_the_headers() {
        let body = json!({"id": 1, "outcome": "PASSED"});
        let msg = OutgoingMessage::fedora(
            "org.taskotron",
            "resultsdb.result.new",
            "",
            body.clone(),
            now(),
        );
        assert_eq!(msg.sent_at, "2026-11-03T12:34:56+00:00");
        assert_eq!(
            serde_json::to_value(&msg.headers).unwrap(),
            json!({
                "fedora_messaging_schema": "base.message",
                "fedora_messaging_severity": 20,
                "sent-at": "2026-11-03T12:34:56+00:00",
            })
        );
        assert_eq!(msg.body, body);
        assert_eq!(msg.priority, None);
        assert!(msg.validate().is_ok());

        let msg = OutgoingMessage::fedora(
            "",
            "x.y",
            "koji_fedoramessaging.build.BuildStateChangeV1",
            json!({}),
            now(),
        );
        assert_eq!(
            msg.headers[HEADER_SCHEMA],
            json!("koji_fedoramessaging.build.BuildStateChangeV1")
        );
    }

    #[test]
    fn fedora_ids_are_fresh_uuid4s() {
        let a = OutgoingMessage::fedora("", "t", "", json!({}), now());
        let b = OutgoingMessage::fedora("", "t", "", json!({}), now());
        assert_ne!(a.id, b.id);
        let uuid = uuid::Uuid::parse_str(&a.id).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(
            a.id,
            uuid.hyphenated().to_string(),
            "lowercase and hyphenated, as Python's str(uuid4())"
        );
    }

    #[test]
    fn sent_at_keeps_the_offset_and_drops_subseconds() {
        let msg = OutgoingMessage::fedora(
            "",
            "t",
            "",
            json!({}),
            Utc.with_ymd_and_hms(2027, 1, 2, 3, 4, 5).unwrap(),
        );
        assert_eq!(msg.sent_at, "2027-01-02T03:04:05+00:00");
        assert_eq!(
            msg.headers[HEADER_SENT_AT],
            json!("2027-01-02T03:04:05+00:00")
        );
    }

    #[test]
    fn with_priority_sets_property_and_header() {
        let msg = OutgoingMessage::fedora("", "t", "", json!({}), now()).with_priority(2);
        assert_eq!(msg.priority, Some(2));
        assert_eq!(msg.headers[HEADER_PRIORITY], json!(2));
    }

    #[test]
    fn severity_package_and_filter_headers() {
        let msg = OutgoingMessage::fedora(
            "",
            "buildsys.tag",
            "koji_fedoramessaging.tag.TagV1",
            json!({}),
            now(),
        )
        .with_severity(SEVERITY_DEBUG)
        .with_schema_package("koji_fedoramessaging_messages")
        .with_users(["bodhi", "alice"])
        .with_packages(vec!["tk-hello".to_owned()]);
        assert_eq!(
            serde_json::to_value(&msg.headers).unwrap(),
            json!({
                "fedora_messaging_rpm_tk-hello": true,
                "fedora_messaging_schema": "koji_fedoramessaging.tag.TagV1",
                "fedora_messaging_schema_package": "koji_fedoramessaging_messages",
                "fedora_messaging_severity": 10,
                "fedora_messaging_user_alice": true,
                "fedora_messaging_user_bodhi": true,
                "sent-at": "2026-11-03T12:34:56+00:00",
            })
        );
    }

    #[test]
    fn serde_round_trip() {
        let msg = OutgoingMessage::fedora(
            "org.taskotron",
            "resultsdb.result.new",
            "",
            json!({"a": [1, 2]}),
            now(),
        )
        .with_priority(1);
        let text = serde_json::to_string(&msg).unwrap();
        let back: OutgoingMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msg);
        let value = serde_json::to_value(&msg).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["body", "headers", "id", "priority", "sent_at", "topic"]
        );
    }

    fn check_invalid(edit: impl FnOnce(&mut OutgoingMessage), expect: &str) {
        let mut msg = OutgoingMessage::fedora("", "t", "", json!({}), now());
        edit(&mut msg);
        let err = msg.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("message {} cannot be published: {expect}", msg.id)
        );
    }

    #[test]
    fn validate_rejects_what_amqp_cannot_carry() {
        check_invalid(|m| m.body = json!([1]), "the body is not a JSON object");
        check_invalid(|m| m.body = json!(null), "the body is not a JSON object");
        check_invalid(|m| m.topic = String::new(), "the topic is empty");
        check_invalid(
            |m| m.topic = "a.".repeat(128),
            "the topic is longer than 255 bytes",
        );
        check_invalid(
            |m| m.id = "x".repeat(256),
            "the id is longer than 255 bytes",
        );
        check_invalid(|m| m.id = String::new(), "the id is empty");
        check_invalid(
            |m| {
                m.headers.insert("h".repeat(300), json!(true));
            },
            &format!(
                "the header name {:?}… is longer than 255 bytes",
                "h".repeat(40)
            ),
        );
    }
}
