//! The fedora-messaging messages Taskotron consumes, decoded into types.
//!
//! [`decode`] turns a [`WireMessage`] (routing key, `message_id`, headers and
//! body bytes, as an AMQP delivery or a line of fedora-messaging's dump format
//! carries them) into an [`IncomingMessage`]: the message's id, its topic
//! without the deployment's prefix, its schema, when it was sent, and an
//! [`Event`] holding only what the scheduler needs.
//!
//! Which decoder runs is chosen by the topic and then by the
//! `fedora_messaging_schema` header, never by the topic alone: Bodhi sends
//! three schema versions of its "ready for testing" message on one topic.
//! `pungi.compose.status.change` has no schema package, so it is decoded
//! leniently, whatever its schema header says.
//!
//! Anything wrong is a [`DecodeError`] naming what: a missing message id, a
//! topic or schema Taskotron does not consume, a body that is not a JSON
//! object, a missing field or a field of the wrong type (with its dotted path
//! and the schema). Nothing here panics on input; a fuzz target checks.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::message::{HEADER_SCHEMA, HEADER_SENT_AT};

/// The topics Taskotron consumes, without any prefix.
pub mod topic {
    /// Koji: a build changed state (`koji_fedoramessaging` `BuildStateChangeV1`).
    pub const BUILD_STATE_CHANGE: &str = "buildsys.build.state.change";
    /// Koji: a build was tagged.
    pub const TAG: &str = "buildsys.tag";
    /// Koji: a build was untagged.
    pub const UNTAG: &str = "buildsys.untag";
    /// Bodhi: an update is ready for testing (schema v1, v2 or v3).
    pub const UPDATE_READY: &str = "bodhi.update.status.testing.koji-build-group.build.complete";
    /// Bodhi: an update was submitted to testing.
    pub const UPDATE_REQUEST_TESTING: &str = "bodhi.update.request.testing";
    /// Bodhi: an update was submitted to stable.
    pub const UPDATE_REQUEST_STABLE: &str = "bodhi.update.request.stable";
    /// Bodhi: an update was unpushed.
    pub const UPDATE_REQUEST_UNPUSH: &str = "bodhi.update.request.unpush";
    /// Bodhi: an update was obsoleted.
    pub const UPDATE_REQUEST_OBSOLETE: &str = "bodhi.update.request.obsolete";
    /// Bodhi: an update's request was revoked.
    pub const UPDATE_REQUEST_REVOKE: &str = "bodhi.update.request.revoke";
    /// Bodhi: an update was edited (schema v1 or v2).
    pub const UPDATE_EDIT: &str = "bodhi.update.edit";
    /// Bodhi: an update reached the testing repository.
    pub const UPDATE_COMPLETE_TESTING: &str = "bodhi.update.complete.testing";
    /// Bodhi: an update reached the stable repository.
    pub const UPDATE_COMPLETE_STABLE: &str = "bodhi.update.complete.stable";
    /// Pungi: a compose changed status.
    pub const COMPOSE_STATUS: &str = "pungi.compose.status.change";

    /// Every topic above: what a consumer binds its queue to (each behind
    /// the deployment's prefix).
    pub const ALL: &[&str] = &[
        BUILD_STATE_CHANGE,
        TAG,
        UNTAG,
        UPDATE_READY,
        UPDATE_REQUEST_TESTING,
        UPDATE_REQUEST_STABLE,
        UPDATE_REQUEST_UNPUSH,
        UPDATE_REQUEST_OBSOLETE,
        UPDATE_REQUEST_REVOKE,
        UPDATE_EDIT,
        UPDATE_COMPLETE_TESTING,
        UPDATE_COMPLETE_STABLE,
        COMPOSE_STATUS,
    ];
}

/// The `fedora_messaging_schema` names (entry points of the schema packages)
/// of the messages Taskotron consumes.
pub mod schema {
    /// `koji-fedoramessaging-messages`: a build changed state.
    pub const BUILD_STATE_CHANGE: &str = "koji_fedoramessaging.build.BuildStateChangeV1";
    /// `koji-fedoramessaging-messages`: a build was tagged.
    pub const TAG: &str = "koji_fedoramessaging.tag.TagV1";
    /// `koji-fedoramessaging-messages`: a build was untagged.
    pub const UNTAG: &str = "koji_fedoramessaging.tag.UntagV1";
    /// `bodhi-messages`: ready for testing, the original CI-style version.
    pub const UPDATE_READY_V1: &str = "bodhi.update.status.testing.v1";
    /// `bodhi-messages`: ready for testing, v1 plus the update.
    pub const UPDATE_READY_V2: &str = "bodhi.update.status.testing.v2";
    /// `bodhi-messages`: ready for testing, the current simplified version.
    pub const UPDATE_READY_V3: &str = "bodhi.update.status.testing.v3";
    /// `bodhi-messages`: submitted to testing.
    pub const UPDATE_REQUEST_TESTING: &str = "bodhi.update.request.testing.v1";
    /// `bodhi-messages`: submitted to stable.
    pub const UPDATE_REQUEST_STABLE: &str = "bodhi.update.request.stable.v1";
    /// `bodhi-messages`: unpushed.
    pub const UPDATE_REQUEST_UNPUSH: &str = "bodhi.update.request.unpush.v1";
    /// `bodhi-messages`: obsoleted.
    pub const UPDATE_REQUEST_OBSOLETE: &str = "bodhi.update.request.obsolete.v1";
    /// `bodhi-messages`: request revoked.
    pub const UPDATE_REQUEST_REVOKE: &str = "bodhi.update.request.revoke.v1";
    /// `bodhi-messages`: edited, without the build changes.
    pub const UPDATE_EDIT_V1: &str = "bodhi.update.edit.v1";
    /// `bodhi-messages`: edited, with `new_builds` and `removed_builds`.
    pub const UPDATE_EDIT_V2: &str = "bodhi.update.edit.v2";
    /// `bodhi-messages`: pushed to testing.
    pub const UPDATE_COMPLETE_TESTING: &str = "bodhi.update.complete.testing.v1";
    /// `bodhi-messages`: pushed to stable.
    pub const UPDATE_COMPLETE_STABLE: &str = "bodhi.update.complete.stable.v1";
    /// fedora-messaging's base class, which schema-less publishers (Pungi) use.
    pub const BASE: &str = "base.message";
}

/// One message as it arrived: what an AMQP delivery (or a line of
/// fedora-messaging's dump format) carries, before any decoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WireMessage {
    /// The routing key: the topic with the deployment's prefix.
    pub routing_key: String,
    /// The AMQP `message_id` property.
    pub message_id: Option<String>,
    /// The AMQP headers, as JSON values (strings, booleans, numbers).
    pub headers: BTreeMap<String, Value>,
    /// The body, as sent: UTF-8 JSON.
    pub body: Vec<u8>,
    /// The other AMQP properties fedora-messaging sets.
    pub properties: WireProperties,
}

/// The AMQP properties fedora-messaging sets besides `message_id` and the
/// headers. The decoder does not need them; they are kept for logs and for
/// checking publishers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WireProperties {
    /// `application/json`.
    pub content_type: Option<String>,
    /// `utf-8`.
    pub content_encoding: Option<String>,
    /// 2: persistent.
    pub delivery_mode: Option<u8>,
    /// Set by some publishers (Koji's tag messages).
    pub priority: Option<u8>,
}

impl WireMessage {
    /// Reads one line of fedora-messaging's dump format (what
    /// `fedora-messaging record` writes and `fedora-messaging publish`
    /// reads): a JSON object with `topic`, `headers`, `id` and `body`.
    pub fn from_dump(line: &str) -> Result<WireMessage, DecodeError> {
        let bad = |reason: String| DecodeError::BadDump { reason };
        let value: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let Value::Object(mut fields) = value else {
            return Err(bad("not a JSON object".to_owned()));
        };
        let routing_key = match fields.remove("topic") {
            Some(Value::String(topic)) => topic,
            Some(other) => return Err(bad(format!("topic is {}", json_type(&other)))),
            None => return Err(bad("no topic".to_owned())),
        };
        let message_id = match fields.remove("id") {
            Some(Value::String(id)) => Some(id),
            None | Some(Value::Null) => None,
            Some(other) => return Err(bad(format!("id is {}", json_type(&other)))),
        };
        let headers = match fields.remove("headers") {
            Some(Value::Object(headers)) => headers.into_iter().collect(),
            None | Some(Value::Null) => BTreeMap::new(),
            Some(other) => return Err(bad(format!("headers is {}", json_type(&other)))),
        };
        let body = match fields.remove("body") {
            Some(body) => serde_json::to_vec(&body).map_err(|e| bad(e.to_string()))?,
            None => return Err(bad("no body".to_owned())),
        };
        let priority = match fields.remove("priority") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            _ => None,
        };
        Ok(WireMessage {
            routing_key,
            message_id,
            headers,
            body,
            properties: WireProperties {
                content_type: Some("application/json".to_owned()),
                content_encoding: Some("utf-8".to_owned()),
                delivery_mode: Some(2),
                priority,
            },
        })
    }
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingMessage {
    /// The `message_id`: consumers dedupe on it.
    pub id: String,
    /// The topic without the deployment's prefix, one of [`topic::ALL`].
    pub topic: String,
    /// The full routing key.
    pub routing_key: String,
    /// The `fedora_messaging_schema` header (absent only on compose
    /// messages).
    pub schema: Option<String>,
    /// The `sent-at` header, when present.
    pub sent_at: Option<DateTime<FixedOffset>>,
    /// What happened.
    pub event: Event,
}

/// What a message says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// `buildsys.build.state.change`.
    BuildStateChange(BuildStateChange),
    /// `buildsys.tag`.
    Tag(TagChange),
    /// `buildsys.untag`.
    Untag(TagChange),
    /// `bodhi.update.status.testing.koji-build-group.build.complete`, any
    /// schema version.
    UpdateReady(UpdateReady),
    /// `bodhi.update.request.*`.
    UpdateRequested(UpdateRequested),
    /// `bodhi.update.edit`, v1 or v2.
    UpdateEdited(UpdateEdited),
    /// `bodhi.update.complete.testing` or `.stable`.
    UpdateCompleted(UpdateCompleted),
    /// `pungi.compose.status.change`.
    ComposeStatus(ComposeStatus),
}

/// Koji's build states (`koji.BUILD_STATES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildState {
    /// 0.
    Building,
    /// 1: the state that triggers checks.
    Complete,
    /// 2.
    Deleted,
    /// 3.
    Failed,
    /// 4.
    Canceled,
}

impl BuildState {
    /// The state with Koji's number, if there is one.
    #[must_use]
    pub fn from_koji(number: i64) -> Option<BuildState> {
        Some(match number {
            0 => BuildState::Building,
            1 => BuildState::Complete,
            2 => BuildState::Deleted,
            3 => BuildState::Failed,
            4 => BuildState::Canceled,
            _ => return None,
        })
    }

    /// Koji's number for the state.
    #[must_use]
    pub fn koji_number(self) -> i64 {
        match self {
            BuildState::Building => 0,
            BuildState::Complete => 1,
            BuildState::Deleted => 2,
            BuildState::Failed => 3,
            BuildState::Canceled => 4,
        }
    }
}

/// A Koji build changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildStateChange {
    /// The build's id (null in the schema only for odd imports).
    pub build_id: Option<i64>,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Who owns the build.
    pub owner: Option<String>,
    /// The build task, `None` for imports and content-generator builds.
    pub task_id: Option<i64>,
    /// The state before, `None` for a new build.
    pub old: Option<BuildState>,
    /// The state now.
    pub new: BuildState,
    /// `primary` (or a secondary Koji's name).
    pub instance: String,
}

impl BuildStateChange {
    /// `name-version-release`.
    #[must_use]
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}

/// A build was tagged into or untagged from a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagChange {
    /// The build's id.
    pub build_id: i64,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// The tag.
    pub tag: String,
    /// The tag's id.
    pub tag_id: Option<i64>,
    /// Who tagged or untagged it.
    pub user: Option<String>,
    /// Who owns the build.
    pub owner: Option<String>,
}

impl TagChange {
    /// `name-version-release`.
    #[must_use]
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}

/// An update's status (Bodhi's `UpdateStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// `pending`.
    Pending,
    /// `testing`.
    Testing,
    /// `stable`.
    Stable,
    /// `unpushed`.
    Unpushed,
    /// `obsolete`.
    Obsolete,
    /// `side_tag_active`.
    SideTagActive,
    /// `side_tag_expired`.
    SideTagExpired,
}

impl UpdateStatus {
    const ALL: [(&'static str, UpdateStatus); 7] = [
        ("pending", UpdateStatus::Pending),
        ("testing", UpdateStatus::Testing),
        ("stable", UpdateStatus::Stable),
        ("unpushed", UpdateStatus::Unpushed),
        ("obsolete", UpdateStatus::Obsolete),
        ("side_tag_active", UpdateStatus::SideTagActive),
        ("side_tag_expired", UpdateStatus::SideTagExpired),
    ];

    /// The status Bodhi spells `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<UpdateStatus> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, it)| *it)
    }

    /// Bodhi's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, it)| *it == self)
            .map_or("", |(name, _)| name)
    }
}

/// An update's request (Bodhi's `UpdateRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// `testing`.
    Testing,
    /// `stable`.
    Stable,
    /// `unpush`.
    Unpush,
    /// `obsolete`.
    Obsolete,
    /// `revoke`.
    Revoke,
}

impl Request {
    const ALL: [(&'static str, Request); 5] = [
        ("testing", Request::Testing),
        ("stable", Request::Stable),
        ("unpush", Request::Unpush),
        ("obsolete", Request::Obsolete),
        ("revoke", Request::Revoke),
    ];

    /// The request Bodhi spells `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Request> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, it)| *it)
    }

    /// Bodhi's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, it)| *it == self)
            .map_or("", |(name, _)| name)
    }
}

/// The part of an update every Bodhi update message carries (bodhi-messages'
/// `UpdateV1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateInfo {
    /// E.g. `FEDORA-2026-0123456789`.
    pub alias: String,
    /// Its status.
    pub status: UpdateStatus,
    /// Its request, if any.
    pub request: Option<Request>,
    /// The release's name, e.g. `F44`.
    pub release: String,
    /// Who submitted it.
    pub user: String,
    /// Its builds' NVRs.
    pub builds: Vec<String>,
}

/// A build of a "ready for testing" artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactBuild {
    /// Koji's build id.
    pub id: i64,
    /// Koji's build task id.
    pub task_id: Option<i64>,
    /// `name-version-release`.
    pub nvr: String,
}

/// An update is ready for testing: created, its builds changed, or tests
/// asked for again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateReady {
    /// The schema version, 1, 2 or 3.
    pub version: u8,
    /// The update's alias.
    pub alias: String,
    /// The release's name.
    pub release: String,
    /// The builds to test.
    pub builds: Vec<ArtifactBuild>,
    /// The update (v2 and v3).
    pub update: Option<UpdateInfo>,
    /// Who asked: `bodhi` on creation and edit, a person on a re-trigger.
    pub agent: String,
    /// True when someone asked for the tests to run again.
    pub re_trigger: bool,
}

/// An update's request changed (`bodhi.update.request.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateRequested {
    /// The request, from the topic.
    pub request: Request,
    /// Who asked.
    pub agent: String,
    /// The update.
    pub update: UpdateInfo,
}

/// An update was edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateEdited {
    /// Who edited it.
    pub agent: String,
    /// The update after the edit.
    pub update: UpdateInfo,
    /// Builds added (v2; `None` in v1).
    pub new_builds: Option<Vec<String>>,
    /// Builds removed (v2; `None` in v1).
    pub removed_builds: Option<Vec<String>>,
}

/// Which repository an update was pushed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repository {
    /// `updates-testing`.
    Testing,
    /// `updates`.
    Stable,
}

/// An update reached a repository (`bodhi.update.complete.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateCompleted {
    /// Where it was pushed.
    pub repository: Repository,
    /// The update.
    pub update: UpdateInfo,
}

/// A compose changed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComposeStatus {
    /// E.g. `Fedora-Rawhide-20261120.n.0`.
    pub compose_id: String,
    /// `STARTED`, `FINISHED`, `FINISHED_INCOMPLETE`, `DOOMED`, …
    pub status: String,
    /// The compose's URL, when given.
    pub location: Option<String>,
}

impl ComposeStatus {
    /// Whether the compose is done and usable: `FINISHED` or
    /// `FINISHED_INCOMPLETE`.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.status == "FINISHED" || self.status == "FINISHED_INCOMPLETE"
    }
}

/// Why a message cannot be decoded. Consumers drop (nack without requeue)
/// such a message: the same bytes will fail again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message has no `message_id` to dedupe on.
    #[error("the message on {routing_key} has no message_id")]
    MissingMessageId {
        /// The routing key.
        routing_key: String,
    },
    /// The topic is not one Taskotron consumes.
    #[error("topic {routing_key} is not one Taskotron consumes")]
    UnknownTopic {
        /// The routing key.
        routing_key: String,
    },
    /// There is no `fedora_messaging_schema` header.
    #[error("the message on {topic} has no fedora_messaging_schema header")]
    MissingSchema {
        /// The topic, without prefix.
        topic: String,
    },
    /// The schema is not one Taskotron knows for this topic.
    #[error("unknown schema {schema:?} for topic {topic}")]
    UnknownSchema {
        /// The topic, without prefix.
        topic: String,
        /// The `fedora_messaging_schema` header.
        schema: String,
    },
    /// A header has a value that cannot be right.
    #[error("header {header} {reason}")]
    BadHeader {
        /// The header's name.
        header: String,
        /// What is wrong.
        reason: String,
    },
    /// The body is not UTF-8 JSON.
    #[error("the body of the message on {topic} is not JSON: {reason}")]
    NotJson {
        /// The topic, without prefix.
        topic: String,
        /// What the JSON parser said.
        reason: String,
    },
    /// The body is JSON but not an object.
    #[error("the body in schema {schema} is {found}, not a JSON object")]
    NotAnObject {
        /// The schema (or the topic, for schema-less messages).
        schema: String,
        /// What it is.
        found: String,
    },
    /// A field the schema requires is missing.
    #[error("missing field {field} in schema {schema}")]
    MissingField {
        /// The schema (or the topic, for schema-less messages).
        schema: String,
        /// Its dotted path, e.g. `update.release.name`.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("field {field} in schema {schema} is {found}, not {expected}")]
    WrongType {
        /// The schema (or the topic, for schema-less messages).
        schema: String,
        /// Its dotted path, e.g. `artifact.builds.0.id`.
        field: String,
        /// The type the schema says.
        expected: &'static str,
        /// The type it has.
        found: String,
    },
    /// A field has a value the schema does not allow.
    #[error("field {field} in schema {schema} is {value}, not {expected}")]
    BadValue {
        /// The schema (or the topic, for schema-less messages).
        schema: String,
        /// Its dotted path.
        field: String,
        /// The value, as JSON (cut after 100 characters).
        value: String,
        /// What the schema allows.
        expected: String,
    },
    /// A line of the dump format is not what fedora-messaging writes.
    #[error("not a fedora-messaging dump line: {reason}")]
    BadDump {
        /// What is wrong.
        reason: String,
    },
}

/// `routing_key` split into the deployment's prefix and the topic Taskotron
/// knows, e.g. `org.fedoraproject.prod.buildsys.tag` into
/// `("org.fedoraproject.prod", "buildsys.tag")`. Any prefix is accepted;
/// `None` when the topic is not one of [`topic::ALL`].
#[must_use]
pub fn split_topic(routing_key: &str) -> Option<(&str, &'static str)> {
    topic::ALL.iter().find_map(|known| {
        if routing_key == *known {
            return Some(("", *known));
        }
        let prefix = routing_key.strip_suffix(known)?.strip_suffix('.')?;
        Some((prefix, *known))
    })
}

/// Decodes `wire` (see the module documentation).
pub fn decode(wire: &WireMessage) -> Result<IncomingMessage, DecodeError> {
    let id = match wire.message_id.as_deref() {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            return Err(DecodeError::MissingMessageId {
                routing_key: wire.routing_key.clone(),
            });
        }
    };
    let Some((_prefix, topic)) = split_topic(&wire.routing_key) else {
        return Err(DecodeError::UnknownTopic {
            routing_key: wire.routing_key.clone(),
        });
    };
    let schema = match wire.headers.get(HEADER_SCHEMA) {
        None | Some(Value::Null) => None,
        Some(Value::String(schema)) => Some(schema.clone()),
        Some(other) => {
            return Err(DecodeError::BadHeader {
                header: HEADER_SCHEMA.to_owned(),
                reason: format!("is {}, not a string", json_type(other)),
            });
        }
    };
    let sent_at = match wire.headers.get(HEADER_SENT_AT) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(
                DateTime::parse_from_rfc3339(text).map_err(|e| DecodeError::BadHeader {
                    header: HEADER_SENT_AT.to_owned(),
                    reason: format!("is {text:?}, not an ISO 8601 time with offset: {e}"),
                })?,
            )
        }
        Some(other) => {
            return Err(DecodeError::BadHeader {
                header: HEADER_SENT_AT.to_owned(),
                reason: format!("is {}, not a string", json_type(other)),
            });
        }
    };
    let event = decode_body(topic, schema.as_deref(), &wire.body)?;
    Ok(IncomingMessage {
        id,
        topic: topic.to_owned(),
        routing_key: wire.routing_key.clone(),
        schema,
        sent_at,
        event,
    })
}

/// The decoder for `topic` with `schema`, run on `body`.
fn decode_body(
    topic: &'static str,
    schema: Option<&str>,
    body: &[u8],
) -> Result<Event, DecodeError> {
    // Which decoder: the topic picks the family, the schema header the
    // version. Compose messages have no schema package: any header goes.
    let decoder: Decoder = match (topic, schema) {
        (topic::COMPOSE_STATUS, _) => compose_status,
        (_, None) => {
            return Err(DecodeError::MissingSchema {
                topic: topic.to_owned(),
            });
        }
        (topic::BUILD_STATE_CHANGE, Some(schema::BUILD_STATE_CHANGE)) => build_state_change,
        (topic::TAG, Some(schema::TAG)) => |f| tag_change(f).map(Event::Tag),
        (topic::UNTAG, Some(schema::UNTAG)) => |f| tag_change(f).map(Event::Untag),
        (topic::UPDATE_READY, Some(schema::UPDATE_READY_V1)) => update_ready_v1,
        (topic::UPDATE_READY, Some(schema::UPDATE_READY_V2)) => update_ready_v2,
        (topic::UPDATE_READY, Some(schema::UPDATE_READY_V3)) => update_ready_v3,
        (topic::UPDATE_REQUEST_TESTING, Some(schema::UPDATE_REQUEST_TESTING)) => {
            |f| update_requested(f, Request::Testing)
        }
        (topic::UPDATE_REQUEST_STABLE, Some(schema::UPDATE_REQUEST_STABLE)) => {
            |f| update_requested(f, Request::Stable)
        }
        (topic::UPDATE_REQUEST_UNPUSH, Some(schema::UPDATE_REQUEST_UNPUSH)) => {
            |f| update_requested(f, Request::Unpush)
        }
        (topic::UPDATE_REQUEST_OBSOLETE, Some(schema::UPDATE_REQUEST_OBSOLETE)) => {
            |f| update_requested(f, Request::Obsolete)
        }
        (topic::UPDATE_REQUEST_REVOKE, Some(schema::UPDATE_REQUEST_REVOKE)) => {
            |f| update_requested(f, Request::Revoke)
        }
        (topic::UPDATE_EDIT, Some(schema::UPDATE_EDIT_V1)) => |f| update_edited(f, false),
        (topic::UPDATE_EDIT, Some(schema::UPDATE_EDIT_V2)) => |f| update_edited(f, true),
        (topic::UPDATE_COMPLETE_TESTING, Some(schema::UPDATE_COMPLETE_TESTING)) => {
            |f| update_completed(f, Repository::Testing)
        }
        (topic::UPDATE_COMPLETE_STABLE, Some(schema::UPDATE_COMPLETE_STABLE)) => {
            |f| update_completed(f, Repository::Stable)
        }
        (_, Some(other)) => {
            return Err(DecodeError::UnknownSchema {
                topic: topic.to_owned(),
                schema: other.to_owned(),
            });
        }
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| DecodeError::NotJson {
        topic: topic.to_owned(),
        reason: e.to_string(),
    })?;
    let schema_name = schema.unwrap_or(topic);
    let Value::Object(map) = &value else {
        return Err(DecodeError::NotAnObject {
            schema: schema_name.to_owned(),
            found: json_type(&value).to_owned(),
        });
    };
    decoder(&Fields {
        schema: schema_name,
        path: String::new(),
        map,
    })
}

type Decoder = fn(&Fields<'_>) -> Result<Event, DecodeError>;

fn build_state_change(f: &Fields<'_>) -> Result<Event, DecodeError> {
    let old = match f.opt_int("old")? {
        None => None,
        Some(number) => Some(f.build_state("old", number)?),
    };
    let new = f.int("new")?;
    Ok(Event::BuildStateChange(BuildStateChange {
        build_id: f.opt_int("build_id")?,
        name: f.string("name")?,
        version: f.string("version")?,
        release: f.string("release")?,
        owner: f.opt_string("owner")?,
        task_id: f.opt_int("task_id")?,
        old,
        new: f.build_state("new", new)?,
        instance: f
            .opt_string("instance")?
            .unwrap_or_else(|| "primary".to_owned()),
    }))
}

fn tag_change(f: &Fields<'_>) -> Result<TagChange, DecodeError> {
    Ok(TagChange {
        build_id: f.int("build_id")?,
        name: f.string("name")?,
        version: f.string("version")?,
        release: f.string("release")?,
        tag: f.string("tag")?,
        tag_id: f.opt_int("tag_id")?,
        user: f.opt_string("user")?,
        owner: f.opt_string("owner")?,
    })
}

/// The `update` object (bodhi-messages' `UpdateV1`).
fn update_info(f: &Fields<'_>) -> Result<UpdateInfo, DecodeError> {
    let update = f.object("update")?;
    let status_text = update.string("status")?;
    let status = UpdateStatus::parse(&status_text).ok_or_else(|| {
        update.bad_value(
            "status",
            &Value::String(status_text.clone()),
            UpdateStatus::ALL.iter().map(|(name, _)| *name),
        )
    })?;
    let request = match update.opt_string("request")? {
        None => None,
        Some(text) => Some(Request::parse(&text).ok_or_else(|| {
            update.bad_value(
                "request",
                &Value::String(text.clone()),
                Request::ALL.iter().map(|(name, _)| *name),
            )
        })?),
    };
    let builds = update
        .objects("builds")?
        .iter()
        .map(|build| build.string("nvr"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(UpdateInfo {
        alias: update.string("alias")?,
        status,
        request,
        release: update.object("release")?.string("name")?,
        user: update.object("user")?.string("name")?,
        builds,
    })
}

fn artifact_builds(artifact: &Fields<'_>) -> Result<Vec<ArtifactBuild>, DecodeError> {
    artifact
        .objects("builds")?
        .iter()
        .map(|build| {
            Ok(ArtifactBuild {
                id: build.int("id")?,
                task_id: build.opt_int("task_id")?,
                nvr: build.string("nvr")?,
            })
        })
        .collect()
}

fn update_ready_v1(f: &Fields<'_>) -> Result<Event, DecodeError> {
    let artifact = f.object("artifact")?;
    Ok(Event::UpdateReady(UpdateReady {
        version: 1,
        alias: artifact.string("id")?,
        release: artifact.string("release")?,
        builds: artifact_builds(&artifact)?,
        update: None,
        agent: f.string("agent")?,
        re_trigger: f.bool_or("re-trigger", false)?,
    }))
}

fn update_ready_v2(f: &Fields<'_>) -> Result<Event, DecodeError> {
    let artifact = f.object("artifact")?;
    let update = update_info(f)?;
    Ok(Event::UpdateReady(UpdateReady {
        version: 2,
        alias: update.alias.clone(),
        release: update.release.clone(),
        builds: artifact_builds(&artifact)?,
        update: Some(update),
        agent: f.string("agent")?,
        re_trigger: f.bool_or("re-trigger", false)?,
    }))
}

fn update_ready_v3(f: &Fields<'_>) -> Result<Event, DecodeError> {
    let artifact = f.object("artifact")?;
    let update = update_info(f)?;
    Ok(Event::UpdateReady(UpdateReady {
        version: 3,
        alias: update.alias.clone(),
        release: update.release.clone(),
        builds: artifact_builds(&artifact)?,
        update: Some(update),
        agent: f.string("agent")?,
        re_trigger: f.bool_or("re-trigger", false)?,
    }))
}

fn update_requested(f: &Fields<'_>, request: Request) -> Result<Event, DecodeError> {
    Ok(Event::UpdateRequested(UpdateRequested {
        request,
        agent: f.string("agent")?,
        update: update_info(f)?,
    }))
}

fn update_edited(f: &Fields<'_>, v2: bool) -> Result<Event, DecodeError> {
    let (new_builds, removed_builds) = if v2 {
        (
            Some(f.strings("new_builds")?),
            Some(f.strings("removed_builds")?),
        )
    } else {
        (None, None)
    };
    Ok(Event::UpdateEdited(UpdateEdited {
        agent: f.string("agent")?,
        update: update_info(f)?,
        new_builds,
        removed_builds,
    }))
}

fn update_completed(f: &Fields<'_>, repository: Repository) -> Result<Event, DecodeError> {
    Ok(Event::UpdateCompleted(UpdateCompleted {
        repository,
        update: update_info(f)?,
    }))
}

fn compose_status(f: &Fields<'_>) -> Result<Event, DecodeError> {
    Ok(Event::ComposeStatus(ComposeStatus {
        compose_id: f.string("compose_id")?,
        status: f.string("status")?,
        location: f.opt_string("location")?,
    }))
}

/// "a string", "an object", … for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a fraction",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An object of the body, with the path to it for errors.
struct Fields<'a> {
    schema: &'a str,
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn missing(&self, key: &str) -> DecodeError {
        DecodeError::MissingField {
            schema: self.schema.to_owned(),
            field: self.path_of(key),
        }
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> DecodeError {
        DecodeError::WrongType {
            schema: self.schema.to_owned(),
            field: self.path_of(key),
            expected,
            found: json_type(found).to_owned(),
        }
    }

    fn bad_value<'n>(
        &self,
        key: &str,
        value: &Value,
        allowed: impl Iterator<Item = &'n str>,
    ) -> DecodeError {
        let mut text = value.to_string();
        if text.chars().count() > 100 {
            text = text.chars().take(100).collect::<String>() + "…";
        }
        DecodeError::BadValue {
            schema: self.schema.to_owned(),
            field: self.path_of(key),
            value: text,
            expected: format!("one of {}", allowed.collect::<Vec<_>>().join(", ")),
        }
    }

    fn required(&self, key: &str) -> Result<&'a Value, DecodeError> {
        self.map.get(key).ok_or_else(|| self.missing(key))
    }

    fn string(&self, key: &str) -> Result<String, DecodeError> {
        match self.required(key)? {
            Value::String(text) => Ok(text.clone()),
            other => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// Missing and null are both `None`.
    fn opt_string(&self, key: &str) -> Result<Option<String>, DecodeError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    fn int(&self, key: &str) -> Result<i64, DecodeError> {
        let value = self.required(key)?;
        value
            .as_i64()
            .ok_or_else(|| self.wrong_type(key, "an integer", value))
    }

    /// Missing and null are both `None`.
    fn opt_int(&self, key: &str) -> Result<Option<i64>, DecodeError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "an integer", value)),
        }
    }

    /// Missing and null are both `default`.
    fn bool_or(&self, key: &str, default: bool) -> Result<bool, DecodeError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong_type(key, "a boolean", other)),
        }
    }

    fn build_state(&self, key: &str, number: i64) -> Result<BuildState, DecodeError> {
        BuildState::from_koji(number).ok_or_else(|| {
            self.bad_value(
                key,
                &Value::from(number),
                ["0", "1", "2", "3", "4"].into_iter(),
            )
        })
    }

    fn object(&self, key: &str) -> Result<Fields<'a>, DecodeError> {
        match self.required(key)? {
            Value::Object(map) => Ok(Fields {
                schema: self.schema,
                path: self.path_of(key),
                map,
            }),
            other => Err(self.wrong_type(key, "an object", other)),
        }
    }

    fn array(&self, key: &str) -> Result<&'a [Value], DecodeError> {
        match self.required(key)? {
            Value::Array(items) => Ok(items),
            other => Err(self.wrong_type(key, "an array", other)),
        }
    }

    fn objects(&self, key: &str) -> Result<Vec<Fields<'a>>, DecodeError> {
        let path = self.path_of(key);
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => Ok(Fields {
                    schema: self.schema,
                    path: format!("{path}.{index}"),
                    map,
                }),
                other => Err(self.wrong_type(&format!("{key}.{index}"), "an object", other)),
            })
            .collect()
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, DecodeError> {
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(self.wrong_type(&format!("{key}.{index}"), "a string", other)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fixture of `tests/fixtures/messages/`, in fedora-messaging's dump
    /// format.
    fn fixture(name: &str) -> WireMessage {
        let path = format!(
            "{}/tests/fixtures/messages/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        WireMessage::from_dump(&text).unwrap()
    }

    fn check(name: &str, expect: Event) -> IncomingMessage {
        let wire = fixture(name);
        let msg = decode(&wire).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(msg.event, expect, "{name}");
        assert_eq!(Some(msg.id.as_str()), wire.message_id.as_deref());
        assert_eq!(msg.routing_key, wire.routing_key);
        assert!(wire.routing_key.ends_with(&msg.topic), "{name}");
        msg
    }

    fn hello_update(status: UpdateStatus, request: Option<Request>) -> UpdateInfo {
        UpdateInfo {
            alias: "FEDORA-2026-1a2b3c4d5e".to_owned(),
            status,
            request,
            release: "F44".to_owned(),
            user: "alice".to_owned(),
            builds: vec!["tk-hello-1.2-3.fc44".to_owned()],
        }
    }

    fn hello_artifact() -> ArtifactBuild {
        ArtifactBuild {
            id: 3_100_042,
            task_id: Some(150_000_123),
            nvr: "tk-hello-1.2-3.fc44".to_owned(),
        }
    }

    #[test]
    fn koji_build_state_changes() {
        let msg = check(
            "koji_build_complete",
            Event::BuildStateChange(BuildStateChange {
                build_id: Some(3_100_042),
                name: "tk-hello".to_owned(),
                version: "1.2".to_owned(),
                release: "3.fc44".to_owned(),
                owner: Some("alice".to_owned()),
                task_id: Some(150_000_123),
                old: Some(BuildState::Building),
                new: BuildState::Complete,
                instance: "primary".to_owned(),
            }),
        );
        assert_eq!(msg.topic, "buildsys.build.state.change");
        assert_eq!(
            msg.schema.as_deref(),
            Some("koji_fedoramessaging.build.BuildStateChangeV1")
        );
        assert_eq!(msg.id, "5b2e8f64-1c3a-4d7e-9f10-2a4b6c8d0e12");
        assert_eq!(
            msg.sent_at,
            Some(DateTime::parse_from_rfc3339("2026-11-20T10:20:05+00:00").unwrap())
        );
        let Event::BuildStateChange(change) = &msg.event else {
            unreachable!()
        };
        assert_eq!(change.nvr(), "tk-hello-1.2-3.fc44");

        // An import: no task, no old state; a staging prefix.
        let msg = check(
            "koji_build_import",
            Event::BuildStateChange(BuildStateChange {
                build_id: Some(3_100_050),
                name: "tk-other".to_owned(),
                version: "1.1".to_owned(),
                release: "1.fc44".to_owned(),
                owner: Some("bob".to_owned()),
                task_id: None,
                old: None,
                new: BuildState::Failed,
                instance: "primary".to_owned(),
            }),
        );
        assert_eq!(msg.topic, "buildsys.build.state.change");
        assert_eq!(
            msg.sent_at.unwrap().to_rfc3339(),
            "2026-11-21T08:00:00+01:00"
        );
    }

    #[test]
    fn koji_tags_and_untags() {
        let msg = check(
            "koji_tag",
            Event::Tag(TagChange {
                build_id: 3_100_042,
                name: "tk-hello".to_owned(),
                version: "1.2".to_owned(),
                release: "3.fc44".to_owned(),
                tag: "f44-updates-testing-pending".to_owned(),
                tag_id: Some(9021),
                user: Some("bodhi".to_owned()),
                owner: Some("alice".to_owned()),
            }),
        );
        assert_eq!(msg.topic, "buildsys.tag");
        // No prefix at all.
        let msg = check(
            "koji_untag",
            Event::Untag(TagChange {
                build_id: 3_100_077,
                name: "tk-lib".to_owned(),
                version: "0.9".to_owned(),
                release: "2.el10".to_owned(),
                tag: "epel10-signing-pending".to_owned(),
                tag_id: Some(9555),
                user: Some("robosign".to_owned()),
                owner: Some("carol".to_owned()),
            }),
        );
        assert_eq!(msg.routing_key, "buildsys.untag");
        assert_eq!(msg.topic, "buildsys.untag");
    }

    #[test]
    fn bodhi_ready_for_testing_in_all_three_versions() {
        check(
            "bodhi_ready_v1",
            Event::UpdateReady(UpdateReady {
                version: 1,
                alias: "FEDORA-2026-1a2b3c4d5e".to_owned(),
                release: "f44".to_owned(),
                builds: vec![
                    hello_artifact(),
                    ArtifactBuild {
                        id: 3_100_043,
                        task_id: None,
                        nvr: "tk-hello-data-1.0-1.fc44".to_owned(),
                    },
                ],
                update: None,
                agent: "bodhi".to_owned(),
                re_trigger: false,
            }),
        );
        check(
            "bodhi_ready_v2",
            Event::UpdateReady(UpdateReady {
                version: 2,
                alias: "FEDORA-2026-1a2b3c4d5e".to_owned(),
                release: "F44".to_owned(),
                builds: vec![hello_artifact()],
                update: Some(hello_update(UpdateStatus::Pending, Some(Request::Testing))),
                agent: "bodhi".to_owned(),
                re_trigger: false,
            }),
        );
        let msg = check(
            "bodhi_ready_v3",
            Event::UpdateReady(UpdateReady {
                version: 3,
                alias: "FEDORA-2026-1a2b3c4d5e".to_owned(),
                release: "F44".to_owned(),
                builds: vec![hello_artifact()],
                update: Some(hello_update(UpdateStatus::Testing, None)),
                agent: "dave".to_owned(),
                re_trigger: true,
            }),
        );
        assert_eq!(
            msg.topic,
            "bodhi.update.status.testing.koji-build-group.build.complete"
        );
    }

    #[test]
    fn the_schema_header_picks_the_version_not_the_topic() {
        // A v3 body announced as v1 fails as v1 would.
        let mut wire = fixture("bodhi_ready_v3");
        wire.headers
            .insert(HEADER_SCHEMA.to_owned(), json!(schema::UPDATE_READY_V1));
        assert_eq!(
            decode(&wire).unwrap_err(),
            DecodeError::MissingField {
                schema: "bodhi.update.status.testing.v1".to_owned(),
                field: "artifact.id".to_owned(),
            }
        );
        // A v2 body read as v3 still decodes (v3's fields are a subset),
        // and says v3.
        let mut wire = fixture("bodhi_ready_v2");
        wire.headers
            .insert(HEADER_SCHEMA.to_owned(), json!(schema::UPDATE_READY_V3));
        let Event::UpdateReady(ready) = decode(&wire).unwrap().event else {
            panic!("not ready")
        };
        assert_eq!(ready.version, 3);
    }

    #[test]
    fn bodhi_requests() {
        let two_builds = UpdateInfo {
            builds: vec![
                "tk-hello-1.2-3.fc44".to_owned(),
                "tk-hello-data-1.0-1.fc44".to_owned(),
            ],
            ..hello_update(UpdateStatus::Pending, Some(Request::Testing))
        };
        check(
            "bodhi_request_testing",
            Event::UpdateRequested(UpdateRequested {
                request: Request::Testing,
                agent: "alice".to_owned(),
                update: two_builds,
            }),
        );
        check(
            "bodhi_request_obsolete",
            Event::UpdateRequested(UpdateRequested {
                request: Request::Obsolete,
                agent: "bodhi".to_owned(),
                update: UpdateInfo {
                    alias: "FEDORA-EPEL-2026-9f8e7d6c5b".to_owned(),
                    status: UpdateStatus::Testing,
                    request: Some(Request::Obsolete),
                    release: "EPEL-10".to_owned(),
                    user: "carol".to_owned(),
                    builds: vec!["tk-lib-0.9-2.el10".to_owned()],
                },
            }),
        );
    }

    #[test]
    fn every_bodhi_request() {
        for (name, request, status) in [
            (
                "bodhi_request_stable",
                Request::Stable,
                UpdateStatus::Testing,
            ),
            (
                "bodhi_request_unpush",
                Request::Unpush,
                UpdateStatus::Testing,
            ),
            (
                "bodhi_request_revoke",
                Request::Revoke,
                UpdateStatus::Pending,
            ),
        ] {
            let msg = check(
                name,
                Event::UpdateRequested(UpdateRequested {
                    request,
                    agent: "alice".to_owned(),
                    update: hello_update(status, Some(request)),
                }),
            );
            assert_eq!(
                msg.topic,
                format!("bodhi.update.request.{}", request.as_str())
            );
        }
    }

    #[test]
    fn bodhi_edits() {
        check(
            "bodhi_edit_v1",
            Event::UpdateEdited(UpdateEdited {
                agent: "alice".to_owned(),
                update: hello_update(UpdateStatus::Pending, Some(Request::Testing)),
                new_builds: None,
                removed_builds: None,
            }),
        );
        check(
            "bodhi_edit_v2",
            Event::UpdateEdited(UpdateEdited {
                agent: "alice".to_owned(),
                update: UpdateInfo {
                    builds: vec![
                        "tk-hello-1.2-4.fc44".to_owned(),
                        "tk-hello-data-1.0-1.fc44".to_owned(),
                    ],
                    ..hello_update(UpdateStatus::Testing, None)
                },
                new_builds: Some(vec!["tk-hello-1.2-4.fc44".to_owned()]),
                removed_builds: Some(vec!["tk-hello-1.2-3.fc44".to_owned()]),
            }),
        );
    }

    #[test]
    fn bodhi_pushes() {
        check(
            "bodhi_complete_testing",
            Event::UpdateCompleted(UpdateCompleted {
                repository: Repository::Testing,
                update: hello_update(UpdateStatus::Testing, None),
            }),
        );
        check(
            "bodhi_complete_stable",
            Event::UpdateCompleted(UpdateCompleted {
                repository: Repository::Stable,
                update: hello_update(UpdateStatus::Stable, None),
            }),
        );
    }

    #[test]
    fn composes_leniently() {
        let msg = check(
            "pungi_compose_finished",
            Event::ComposeStatus(ComposeStatus {
                compose_id: "Fedora-Rawhide-20261120.n.0".to_owned(),
                status: "FINISHED_INCOMPLETE".to_owned(),
                location: Some(
                    "https://kojipkgs.example.test/compose/rawhide/Fedora-Rawhide-20261120.n.0/compose"
                        .to_owned(),
                ),
            }),
        );
        let Event::ComposeStatus(compose) = &msg.event else {
            unreachable!()
        };
        assert!(compose.is_finished());
        // Without a schema header, or with another one, and without a
        // location, it still decodes.
        let mut wire = fixture("pungi_compose_finished");
        wire.headers.remove(HEADER_SCHEMA);
        wire.body = br#"{"compose_id": "F-1", "status": "STARTED"}"#.to_vec();
        let msg = decode(&wire).unwrap();
        assert_eq!(msg.schema, None);
        assert_eq!(
            msg.event,
            Event::ComposeStatus(ComposeStatus {
                compose_id: "F-1".to_owned(),
                status: "STARTED".to_owned(),
                location: None,
            })
        );
        wire.headers
            .insert(HEADER_SCHEMA.to_owned(), json!("pungi.whatever.v9"));
        assert!(decode(&wire).is_ok());
    }

    #[test]
    fn topics_lose_any_prefix() {
        for (routing_key, expect) in [
            (
                "org.fedoraproject.prod.buildsys.tag",
                Some(("org.fedoraproject.prod", "buildsys.tag")),
            ),
            (
                "org.fedoraproject.stg.buildsys.untag",
                Some(("org.fedoraproject.stg", "buildsys.untag")),
            ),
            ("buildsys.tag", Some(("", "buildsys.tag"))),
            ("x.y.bodhi.update.edit", Some(("x.y", "bodhi.update.edit"))),
            ("org.fedoraproject.prod.xbuildsys.tag", None),
            ("org.fedoraproject.prod.buildsys.tag.extra", None),
            (".buildsys.tag", Some(("", "buildsys.tag"))),
            ("", None),
            ("org.fedoraproject.prod.bodhi.update.comment", None),
        ] {
            assert_eq!(split_topic(routing_key), expect, "{routing_key}");
        }
    }

    /// `name` with `edit` applied to its body, decoded: the error.
    fn broken(name: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut wire = fixture(name);
        let mut body: Value = serde_json::from_slice(&wire.body).unwrap();
        edit(&mut body);
        wire.body = serde_json::to_vec(&body).unwrap();
        decode(&wire).unwrap_err().to_string()
    }

    #[test]
    fn broken_bodies_say_what_is_wrong() {
        assert_eq!(
            broken("koji_build_complete", |b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            "missing field name in schema koji_fedoramessaging.build.BuildStateChangeV1"
        );
        assert_eq!(
            broken("koji_build_complete", |b| b["new"] = json!("1")),
            "field new in schema koji_fedoramessaging.build.BuildStateChangeV1 is a string, not an integer"
        );
        assert_eq!(
            broken("koji_build_complete", |b| b["new"] = json!(7)),
            "field new in schema koji_fedoramessaging.build.BuildStateChangeV1 is 7, not one of 0, 1, 2, 3, 4"
        );
        assert_eq!(
            broken("koji_tag", |b| b["build_id"] = json!(1.5)),
            "field build_id in schema koji_fedoramessaging.tag.TagV1 is a fraction, not an integer"
        );
        assert_eq!(
            broken("bodhi_ready_v3", |b| {
                b["update"]["release"]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            }),
            "missing field update.release.name in schema bodhi.update.status.testing.v3"
        );
        assert_eq!(
            broken("bodhi_ready_v3", |b| b["artifact"]["builds"][0]["id"] =
                json!(null)),
            "field artifact.builds.0.id in schema bodhi.update.status.testing.v3 is null, not an integer"
        );
        assert_eq!(
            broken("bodhi_ready_v3", |b| b["artifact"]["builds"] = json!([1])),
            "field artifact.builds.0 in schema bodhi.update.status.testing.v3 is an integer, not an object"
        );
        assert_eq!(
            broken("bodhi_ready_v3", |b| b["re-trigger"] = json!("yes")),
            "field re-trigger in schema bodhi.update.status.testing.v3 is a string, not a boolean"
        );
        assert_eq!(
            broken("bodhi_edit_v2", |b| b["update"]["status"] = json!("done")),
            "field update.status in schema bodhi.update.edit.v2 is \"done\", not one of pending, testing, stable, unpushed, obsolete, side_tag_active, side_tag_expired"
        );
        assert_eq!(
            broken("bodhi_edit_v2", |b| b["update"]["request"] = json!("later")),
            "field update.request in schema bodhi.update.edit.v2 is \"later\", not one of testing, stable, unpush, obsolete, revoke"
        );
        assert_eq!(
            broken("bodhi_edit_v2", |b| b["new_builds"] = json!(["a", 2])),
            "field new_builds.1 in schema bodhi.update.edit.v2 is an integer, not a string"
        );
        assert_eq!(
            broken("bodhi_request_testing", |b| b["update"] = json!("x")),
            "field update in schema bodhi.update.request.testing.v1 is a string, not an object"
        );
        assert_eq!(
            broken("pungi_compose_finished", |b| {
                b.as_object_mut().unwrap().remove("status");
            }),
            "missing field status in schema base.message"
        );
        assert_eq!(
            broken("koji_tag", |b| *b = json!([1, 2])),
            "the body in schema koji_fedoramessaging.tag.TagV1 is an array, not a JSON object"
        );
    }

    fn error_of(edit: impl FnOnce(&mut WireMessage)) -> DecodeError {
        let mut wire = fixture("koji_tag");
        edit(&mut wire);
        decode(&wire).unwrap_err()
    }

    #[test]
    fn broken_envelopes_say_what_is_wrong() {
        assert_eq!(
            error_of(|w| w.body = b"{\"build_id\": ".to_vec()).to_string(),
            "the body of the message on buildsys.tag is not JSON: EOF while parsing a value at line 1 column 13"
        );
        assert!(matches!(
            error_of(|w| w.body = vec![0xff, 0xfe]),
            DecodeError::NotJson { .. }
        ));
        assert_eq!(
            error_of(|w| w.message_id = None),
            DecodeError::MissingMessageId {
                routing_key: "org.fedoraproject.prod.buildsys.tag".to_owned()
            }
        );
        assert!(matches!(
            error_of(|w| w.message_id = Some(String::new())),
            DecodeError::MissingMessageId { .. }
        ));
        assert_eq!(
            error_of(|w| w.routing_key = "org.fedoraproject.prod.buildsys.repo.done".to_owned())
                .to_string(),
            "topic org.fedoraproject.prod.buildsys.repo.done is not one Taskotron consumes"
        );
        assert_eq!(
            error_of(|w| {
                w.headers.remove(HEADER_SCHEMA);
            })
            .to_string(),
            "the message on buildsys.tag has no fedora_messaging_schema header"
        );
        assert_eq!(
            error_of(|w| {
                w.headers
                    .insert(HEADER_SCHEMA.to_owned(), json!(schema::UNTAG));
            })
            .to_string(),
            "unknown schema \"koji_fedoramessaging.tag.UntagV1\" for topic buildsys.tag"
        );
        assert_eq!(
            error_of(|w| {
                w.headers.insert(HEADER_SCHEMA.to_owned(), json!(3));
            })
            .to_string(),
            "header fedora_messaging_schema is an integer, not a string"
        );
        assert!(
            error_of(|w| {
                w.headers
                    .insert(HEADER_SENT_AT.to_owned(), json!("yesterday"));
            })
            .to_string()
            .starts_with("header sent-at is \"yesterday\", not an ISO 8601 time with offset")
        );
        // Without sent-at the message is still fine.
        let mut wire = fixture("koji_tag");
        wire.headers.remove(HEADER_SENT_AT);
        assert_eq!(decode(&wire).unwrap().sent_at, None);
    }

    #[test]
    fn dump_lines() {
        let wire = WireMessage::from_dump(
            r#"{"topic": "a.buildsys.tag", "headers": {"x": 1}, "id": "i", "body": {"k": "v"}, "queue": null, "priority": 0}"#,
        )
        .unwrap();
        assert_eq!(wire.routing_key, "a.buildsys.tag");
        assert_eq!(wire.message_id.as_deref(), Some("i"));
        assert_eq!(wire.headers["x"], json!(1));
        assert_eq!(wire.body, br#"{"k":"v"}"#);
        assert_eq!(wire.properties.priority, Some(0));
        assert_eq!(wire.properties.delivery_mode, Some(2));
        for (line, expect) in [
            ("[]", "not a JSON object"),
            (r#"{"body": {}}"#, "no topic"),
            (r#"{"topic": 1, "body": {}}"#, "topic is an integer"),
            (r#"{"topic": "t"}"#, "no body"),
            (r#"{"topic": "t", "id": 5, "body": {}}"#, "id is an integer"),
            (
                r#"{"topic": "t", "headers": [], "body": {}}"#,
                "headers is an array",
            ),
        ] {
            assert_eq!(
                WireMessage::from_dump(line).unwrap_err().to_string(),
                format!("not a fedora-messaging dump line: {expect}"),
                "{line}"
            );
        }
        assert!(WireMessage::from_dump("{").is_err());
    }

    #[test]
    fn every_topic_has_a_decoder() {
        // A topic in `topic::ALL` that no decoder handles would be bound by
        // consumers and then always fail.
        for t in topic::ALL {
            let err = decode_body(t, Some("no.such.schema"), b"{}").unwrap_err();
            if *t == topic::COMPOSE_STATUS {
                assert!(
                    matches!(err, DecodeError::MissingField { .. }),
                    "{t}: {err}"
                );
            } else {
                assert!(
                    matches!(err, DecodeError::UnknownSchema { .. }),
                    "{t}: {err}"
                );
            }
        }
        for (t, s) in [
            (topic::BUILD_STATE_CHANGE, schema::BUILD_STATE_CHANGE),
            (topic::TAG, schema::TAG),
            (topic::UNTAG, schema::UNTAG),
            (topic::UPDATE_READY, schema::UPDATE_READY_V1),
            (topic::UPDATE_READY, schema::UPDATE_READY_V2),
            (topic::UPDATE_READY, schema::UPDATE_READY_V3),
            (
                topic::UPDATE_REQUEST_TESTING,
                schema::UPDATE_REQUEST_TESTING,
            ),
            (topic::UPDATE_REQUEST_STABLE, schema::UPDATE_REQUEST_STABLE),
            (topic::UPDATE_REQUEST_UNPUSH, schema::UPDATE_REQUEST_UNPUSH),
            (
                topic::UPDATE_REQUEST_OBSOLETE,
                schema::UPDATE_REQUEST_OBSOLETE,
            ),
            (topic::UPDATE_REQUEST_REVOKE, schema::UPDATE_REQUEST_REVOKE),
            (topic::UPDATE_EDIT, schema::UPDATE_EDIT_V1),
            (topic::UPDATE_EDIT, schema::UPDATE_EDIT_V2),
            (
                topic::UPDATE_COMPLETE_TESTING,
                schema::UPDATE_COMPLETE_TESTING,
            ),
            (
                topic::UPDATE_COMPLETE_STABLE,
                schema::UPDATE_COMPLETE_STABLE,
            ),
        ] {
            let err = decode_body(t, Some(s), b"{}").unwrap_err();
            assert!(
                matches!(err, DecodeError::MissingField { .. }),
                "{t} {s}: {err}"
            );
        }
    }

    #[test]
    fn states_statuses_and_requests_round_trip() {
        for n in 0..5 {
            assert_eq!(BuildState::from_koji(n).unwrap().koji_number(), n);
        }
        assert_eq!(BuildState::from_koji(5), None);
        for (name, status) in UpdateStatus::ALL {
            assert_eq!(UpdateStatus::parse(name), Some(status));
            assert_eq!(status.as_str(), name);
        }
        for (name, request) in Request::ALL {
            assert_eq!(Request::parse(name), Some(request));
            assert_eq!(request.as_str(), name);
        }
        assert_eq!(Request::parse("Testing"), None);
    }
}
