//! What the fake announces on the message bus: the fedora-messaging
//! messages Koji and Bodhi send for each change, with their schemas' bodies
//! and fedora-messaging's headers.
//!
//! Every message the fake makes is recorded in [`Messages`], in order, with
//! whether it was dropped on purpose (`--drop-rate`) and whether the broker
//! confirmed it. [`Messages`] is also the outbox that `taskotron_bus`'s
//! relay publishes from, in the background: a broker that is down delays
//! the messages and never an HTTP answer.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value as Json, json};
use taskotron_bus::{OutboxSource, OutgoingMessage, SEVERITY_DEBUG, schema, topic};
use tokio::sync::Notify;

use crate::model::{BuildRec, Koji};

/// The schema package of Koji's messages, as fedora-messaging names it.
pub const KOJI_SCHEMA_PACKAGE: &str = "koji_fedoramessaging_messages";
/// The schema package of Bodhi's messages, as fedora-messaging names it.
pub const BODHI_SCHEMA_PACKAGE: &str = "bodhi_messages";
/// Fedora's production topic prefix, the default.
pub const DEFAULT_TOPIC_PREFIX: &str = "org.fedoraproject.prod";

/// The fraction of messages dropped on purpose: a number from 0.0 to 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DropRate(f64);

/// A drop rate out of range, or not a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the drop rate must be a number from 0.0 to 1.0, not {0}")]
pub struct DropRateError(String);

impl DropRate {
    /// `rate`, when it is from 0.0 to 1.0.
    pub fn new(rate: f64) -> Result<DropRate, DropRateError> {
        if (0.0..=1.0).contains(&rate) {
            Ok(DropRate(rate))
        } else {
            Err(DropRateError(rate.to_string()))
        }
    }

    /// The fraction.
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for DropRate {
    type Err = DropRateError;

    fn from_str(text: &str) -> Result<DropRate, DropRateError> {
        let rate: f64 = text
            .trim()
            .parse()
            .map_err(|_| DropRateError(format!("{text:?}")))?;
        DropRate::new(rate)
    }
}

impl fmt::Display for DropRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How the fake makes its messages.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOptions {
    /// Put before every topic, e.g. `org.fedoraproject.prod`.
    pub topic_prefix: String,
    /// The fraction of messages dropped on purpose.
    pub drop_rate: DropRate,
    /// Seeds the drops; the same seed and the same events drop the same
    /// messages. Without one, a seed is made from the clock (and shown at
    /// `/admin/messages`).
    pub seed: Option<u64>,
}

impl Default for MessageOptions {
    fn default() -> MessageOptions {
        MessageOptions {
            topic_prefix: DEFAULT_TOPIC_PREFIX.to_owned(),
            drop_rate: DropRate::default(),
            seed: None,
        }
    }
}

/// SplitMix64: small, fast and the same everywhere, which is all the drops
/// need.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in [0, 1).
    fn next_f64(&mut self) -> f64 {
        // The top 53 bits, exactly representable.
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// One message the fake made.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The message.
    pub msg: OutgoingMessage,
    /// Dropped on purpose: never published.
    pub dropped: bool,
    /// Confirmed by the broker.
    pub published: bool,
}

#[derive(Debug)]
struct State {
    records: Vec<Record>,
    rng: SplitMix64,
    seed: u64,
    options: MessageOptions,
    publishing: bool,
    base_url: String,
}

/// Every message the fake made, in order; the outbox the relay publishes.
#[derive(Debug)]
pub struct Messages {
    state: Mutex<State>,
    /// Notified when a message is recorded that should be published.
    pub(crate) wake: Notify,
}

impl Messages {
    /// An empty record.
    #[must_use]
    pub fn new(options: MessageOptions) -> Messages {
        let seed = options.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |it| it.as_nanos() as u64)
        });
        Messages {
            state: Mutex::new(State {
                records: Vec::new(),
                rng: SplitMix64(seed),
                seed,
                options,
                publishing: false,
                base_url: "http://127.0.0.1:8091".to_owned(),
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The topic prefix.
    #[must_use]
    pub fn topic_prefix(&self) -> String {
        self.lock().options.topic_prefix.clone()
    }

    /// The URL the fake serves on, which Koji's messages point to.
    #[must_use]
    pub fn base_url(&self) -> String {
        self.lock().base_url.clone()
    }

    pub(crate) fn set_base_url(&self, base_url: &str) {
        base_url.clone_into(&mut self.lock().base_url);
    }

    pub(crate) fn set_publishing(&self) {
        self.lock().publishing = true;
    }

    /// Records `msg`, dropping it or not, and wakes the relay.
    pub fn announce(&self, msg: OutgoingMessage) {
        let mut state = self.lock();
        let rate = state.options.drop_rate.get();
        // Always draw, so that the drops depend only on the seed and on how
        // many messages came before.
        let draw = state.rng.next_f64();
        let dropped = draw < rate;
        if dropped {
            tracing::info!(msg.id = %msg.id, msg.topic = %msg.topic, "fake bus: message dropped on purpose");
        } else {
            tracing::debug!(msg.id = %msg.id, msg.topic = %msg.topic, "fake bus: message queued");
        }
        state.records.push(Record {
            msg,
            dropped,
            published: false,
        });
        drop(state);
        if !dropped {
            self.wake.notify_one();
        }
    }

    /// Every record, in order.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        self.lock().records.clone()
    }

    /// How many were made, published, dropped and are still waiting.
    #[must_use]
    pub fn counts(&self) -> Counts {
        let state = self.lock();
        let mut counts = Counts {
            total: state.records.len(),
            ..Counts::default()
        };
        for record in &state.records {
            if record.dropped {
                counts.dropped += 1;
            } else if record.published {
                counts.published += 1;
            } else {
                counts.pending += 1;
            }
        }
        counts
    }

    /// What `GET /admin/messages` answers.
    #[must_use]
    pub fn to_json(&self) -> Json {
        let counts = self.counts();
        let state = self.lock();
        let messages: Vec<Json> = state
            .records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                json!({
                    "index": index + 1,
                    "id": record.msg.id,
                    "topic": record.msg.topic,
                    "schema": record.msg.headers.get(taskotron_bus::HEADER_SCHEMA),
                    "headers": record.msg.headers,
                    "body": record.msg.body,
                    "sent_at": record.msg.sent_at,
                    "priority": record.msg.priority,
                    "dropped": record.dropped,
                    "published": record.published,
                })
            })
            .collect();
        json!({
            "publishing": state.publishing,
            "topic_prefix": state.options.topic_prefix,
            "drop_rate": state.options.drop_rate.get(),
            "seed": state.seed,
            "total": counts.total,
            "published": counts.published,
            "dropped": counts.dropped,
            "pending": counts.pending,
            "messages": messages,
        })
    }
}

/// Message counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every message made.
    pub total: usize,
    /// Confirmed by the broker.
    pub published: usize,
    /// Dropped on purpose.
    pub dropped: usize,
    /// Neither yet: waiting for the broker (or there is none).
    pub pending: usize,
}

impl OutboxSource for Messages {
    async fn pending(&self, limit: usize) -> anyhow::Result<Vec<(i64, OutgoingMessage)>> {
        let state = self.lock();
        Ok(state
            .records
            .iter()
            .enumerate()
            .filter(|(_, record)| !record.dropped && !record.published)
            .take(limit)
            .map(|(index, record)| (i64::try_from(index).unwrap_or(i64::MAX), record.msg.clone()))
            .collect())
    }

    async fn published(&self, ids: &[i64]) -> anyhow::Result<()> {
        let mut state = self.lock();
        for id in ids {
            let record = usize::try_from(*id)
                .ok()
                .and_then(|index| state.records.get_mut(index))
                .ok_or_else(|| anyhow::anyhow!("no message number {id}"))?;
            record.published = true;
        }
        Ok(())
    }
}

/// fedora-messaging's time format: ISO 8601 with offset, no fractions.
fn iso(ts: f64) -> Json {
    let micros = (ts * 1e6).round() as i64;
    DateTime::<Utc>::from_timestamp_micros(micros).map_or(Json::Null, |it| {
        Json::from(it.to_rfc3339_opts(SecondsFormat::Secs, false))
    })
}

/// The message with fedora-messaging's usual headers, as the Python library
/// sets them: the schema and its package, the severity, `priority` 0, and a
/// filter header per user and package.
fn fedora_message(
    prefix: &str,
    topic: &str,
    schema: &str,
    package: &str,
    body: Json,
    users: &[&str],
    packages: &[&str],
) -> OutgoingMessage {
    let mut msg = OutgoingMessage::fedora(prefix, topic, schema, body, Utc::now())
        .with_schema_package(package)
        .with_users(users.iter().filter(|it| !it.is_empty()))
        .with_packages(packages.iter().filter(|it| !it.is_empty()));
    msg.headers
        .insert(taskotron_bus::HEADER_PRIORITY.to_owned(), Json::from(0));
    msg
}

/// The source a build came from, as its task's request says.
fn build_source(build: &BuildRec) -> String {
    build.source.clone().unwrap_or_else(|| {
        format!(
            "git+https://src.fedoraproject.org/rpms/{}.git#{}",
            build.name, build.release
        )
    })
}

/// `buildsys.build.state.change`, as koji-fedoramessaging sends it
/// (`BuildStateChangeV1`), for `build` going from `old` to its state now.
#[must_use]
pub fn build_state_change(
    prefix: &str,
    base_url: &str,
    build: &BuildRec,
    old: Option<i64>,
) -> OutgoingMessage {
    let request = match build.task_id {
        Some(_) => json!([build_source(build), "rawhide", {}]),
        None => json!([]),
    };
    let task = build.task_id.map_or(Json::Null, |id| {
        let state = match build.state {
            1 => 2,
            3 => 5,
            4 => 3,
            _ => 1,
        };
        json!({
            "id": id,
            "url": format!("{base_url}/koji/taskinfo?taskID={id}"),
            "method": "build",
            "arch": "noarch",
            "label": null,
            "parent": null,
            "host_id": 1,
            "host_name": "fake-builder",
            "channel_id": 1,
            "priority": 20,
            "state": state,
            "waiting": false,
            "awaited": null,
            "create_time": build.creation_ts,
            "start_time": build.creation_ts,
            "completion_time": build.completion_ts,
            "request": request,
            "result": null,
            "children": [],
        })
    });
    let body = json!({
        "build_id": build.id,
        "name": build.name,
        "version": build.version,
        "release": build.release,
        "epoch": build.epoch,
        "owner": build.owner,
        "attribute": "state",
        "old": old,
        "new": build.state,
        "task_id": build.task_id,
        "task": task,
        "request": request,
        "instance": "primary",
        "creation_time": iso(build.creation_ts),
        "completion_time": build.completion_ts.map_or(Json::Null, iso),
        "url": format!("{base_url}/koji/buildinfo?buildID={}", build.id),
        "base_url": base_url,
        "files_base_url": format!("{base_url}/kojipkgs"),
    });
    fedora_message(
        prefix,
        topic::BUILD_STATE_CHANGE,
        schema::BUILD_STATE_CHANGE,
        KOJI_SCHEMA_PACKAGE,
        body,
        &[&build.owner],
        &[&build.name],
    )
}

/// The messages of a build that has just appeared: a build from a task
/// goes through BUILDING to its state, an import (no task) appears in it.
#[must_use]
pub fn new_build(prefix: &str, base_url: &str, build: &BuildRec) -> Vec<OutgoingMessage> {
    if build.task_id.is_some() && build.state != 0 {
        let building = BuildRec {
            state: 0,
            completion_ts: None,
            ..build.clone()
        };
        vec![
            build_state_change(prefix, base_url, &building, None),
            build_state_change(prefix, base_url, build, Some(0)),
        ]
    } else {
        vec![build_state_change(prefix, base_url, build, None)]
    }
}

/// The priority Koji's tag messages carry: 0 for mass-rebuild tags
/// (`f<N>-rebuild`), 1 for ELN, 2 for the rest.
fn tag_priority(tag: &str) -> u8 {
    let mass_rebuild = tag
        .strip_prefix('f')
        .and_then(|rest| rest.strip_suffix("-rebuild"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if mass_rebuild {
        0
    } else if tag == "eln" || tag.starts_with("eln-") {
        1
    } else {
        2
    }
}

/// `buildsys.tag` (`tagged`) or `buildsys.untag`, as koji-fedoramessaging
/// sends them (`TagV1`, `UntagV1`).
#[must_use]
pub fn tag_change(
    prefix: &str,
    koji: &Koji,
    build: &BuildRec,
    tag: &str,
    user: &str,
    tagged: bool,
) -> OutgoingMessage {
    let body = json!({
        "build_id": build.id,
        "name": build.name,
        "version": build.version,
        "release": build.release,
        "tag": tag,
        "tag_id": koji.tag_by_name(tag),
        "user": user,
        "owner": build.owner,
        "instance": "primary",
    });
    let (topic, schema) = if tagged {
        (topic::TAG, schema::TAG)
    } else {
        (topic::UNTAG, schema::UNTAG)
    };
    fedora_message(
        prefix,
        topic,
        schema,
        KOJI_SCHEMA_PACKAGE,
        body,
        &[user, &build.owner],
        &[&build.name],
    )
    .with_severity(SEVERITY_DEBUG)
    .with_priority(tag_priority(tag))
}

/// The users and packages of a Bodhi update message: the agent and the
/// update's submitter (sorted, once each), and each build's package.
fn update_filters(agent: Option<&str>, update: &Json) -> (Vec<String>, Vec<String>) {
    let mut users: Vec<String> = agent.into_iter().map(str::to_owned).collect();
    if let Some(user) = update["user"]["name"].as_str()
        && !users.iter().any(|it| it == user)
    {
        users.push(user.to_owned());
    }
    users.sort();
    let packages = update["builds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|build| build["nvr"].as_str())
        .filter_map(|nvr| crate::model::split_nvr(nvr).map(|(name, _, _)| name.to_owned()))
        .collect();
    (users, packages)
}

fn bodhi_message(
    prefix: &str,
    topic: &str,
    schema: &str,
    agent: Option<&str>,
    update: &Json,
    body: Json,
) -> OutgoingMessage {
    let (users, packages) = update_filters(agent, update);
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    fedora_message(
        prefix,
        topic,
        schema,
        BODHI_SCHEMA_PACKAGE,
        body,
        &users,
        &packages,
    )
}

/// `bodhi.update.request.<request>` (`UpdateRequest…V1`): `agent` asked for
/// `request`. `None` when Bodhi has no such request.
#[must_use]
pub fn update_request(
    prefix: &str,
    request: &str,
    agent: &str,
    update: &Json,
) -> Option<OutgoingMessage> {
    let (topic, schema) = match request {
        "testing" => (
            topic::UPDATE_REQUEST_TESTING,
            schema::UPDATE_REQUEST_TESTING,
        ),
        "stable" => (topic::UPDATE_REQUEST_STABLE, schema::UPDATE_REQUEST_STABLE),
        "unpush" => (topic::UPDATE_REQUEST_UNPUSH, schema::UPDATE_REQUEST_UNPUSH),
        "obsolete" => (
            topic::UPDATE_REQUEST_OBSOLETE,
            schema::UPDATE_REQUEST_OBSOLETE,
        ),
        "revoke" => (topic::UPDATE_REQUEST_REVOKE, schema::UPDATE_REQUEST_REVOKE),
        _ => return None,
    };
    let body = json!({"agent": agent, "update": update});
    Some(bodhi_message(
        prefix,
        topic,
        schema,
        Some(agent),
        update,
        body,
    ))
}

/// A build of a "ready for testing" message: Koji's id and task of the NVR.
#[must_use]
pub fn artifact_build(koji: &Koji, nvr: &str) -> Json {
    let build = koji.build_by_nvr(nvr);
    json!({
        "type": "koji-build",
        "id": build.map_or(0, |it| it.id),
        "task_id": build.and_then(|it| it.task_id),
        "nvr": nvr,
    })
}

/// `bodhi.update.status.testing.koji-build-group.build.complete` in its
/// current version (`UpdateReadyForTestingV3`).
#[must_use]
pub fn update_ready(
    prefix: &str,
    agent: &str,
    update: &Json,
    builds: Vec<Json>,
    re_trigger: bool,
) -> OutgoingMessage {
    let body = json!({
        "agent": agent,
        "artifact": {"type": "koji-build-group", "builds": builds},
        "re-trigger": re_trigger,
        "update": update,
    });
    bodhi_message(
        prefix,
        topic::UPDATE_READY,
        schema::UPDATE_READY_V3,
        Some(agent),
        update,
        body,
    )
    .with_severity(SEVERITY_DEBUG)
}

/// `bodhi.update.edit` in its current version (`UpdateEditV2`).
#[must_use]
pub fn update_edit(
    prefix: &str,
    agent: &str,
    update: &Json,
    new_builds: &[String],
    removed_builds: &[String],
) -> OutgoingMessage {
    let body = json!({
        "agent": agent,
        "new_bugs": [],
        "new_builds": new_builds,
        "removed_builds": removed_builds,
        "update": update,
    });
    bodhi_message(
        prefix,
        topic::UPDATE_EDIT,
        schema::UPDATE_EDIT_V2,
        Some(agent),
        update,
        body,
    )
}

/// `bodhi.update.complete.testing` or `.stable` (`UpdateComplete…V1`).
/// `None` for another status.
#[must_use]
pub fn update_complete(prefix: &str, status: &str, update: &Json) -> Option<OutgoingMessage> {
    let (topic, schema) = match status {
        "testing" => (
            topic::UPDATE_COMPLETE_TESTING,
            schema::UPDATE_COMPLETE_TESTING,
        ),
        "stable" => (
            topic::UPDATE_COMPLETE_STABLE,
            schema::UPDATE_COMPLETE_STABLE,
        ),
        _ => return None,
    };
    let body = json!({"update": update});
    Some(bodhi_message(prefix, topic, schema, None, update, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskotron_bus::{Event, WireMessage, decode};

    fn options(rate: f64, seed: u64) -> MessageOptions {
        MessageOptions {
            topic_prefix: "org.test".to_owned(),
            drop_rate: DropRate::new(rate).unwrap(),
            seed: Some(seed),
        }
    }

    fn plain(n: u64) -> OutgoingMessage {
        OutgoingMessage::fedora("org.test", "x", "", json!({"n": n}), Utc::now())
    }

    fn dropped_pattern(rate: f64, seed: u64, n: u64) -> Vec<bool> {
        let messages = Messages::new(options(rate, seed));
        for i in 0..n {
            messages.announce(plain(i));
        }
        messages.records().iter().map(|it| it.dropped).collect()
    }

    #[test]
    fn drop_rates_are_checked() {
        for good in ["0", "0.0", "0.25", "1", "1.0", " 0.5 "] {
            assert!(good.parse::<DropRate>().is_ok(), "{good}");
        }
        for (bad, shown) in [
            ("1.5", "1.5"),
            ("-0.1", "-0.1"),
            ("NaN", "NaN"),
            ("half", "\"half\""),
            ("", "\"\""),
        ] {
            assert_eq!(
                bad.parse::<DropRate>().unwrap_err().to_string(),
                format!("the drop rate must be a number from 0.0 to 1.0, not {shown}"),
            );
        }
    }

    #[test]
    fn drops_follow_the_rate_and_the_seed() {
        assert!(dropped_pattern(0.0, 1, 200).iter().all(|it| !it));
        assert!(dropped_pattern(1.0, 1, 200).iter().all(|it| *it));
        let a = dropped_pattern(0.3, 42, 2000);
        assert_eq!(a, dropped_pattern(0.3, 42, 2000), "same seed, same drops");
        assert_ne!(
            a,
            dropped_pattern(0.3, 43, 2000),
            "another seed, other drops"
        );
        let dropped = a.iter().filter(|it| **it).count();
        assert!((500..700).contains(&dropped), "{dropped} of 2000 at 0.3");
    }

    #[tokio::test]
    async fn the_outbox_holds_what_is_neither_dropped_nor_published() {
        let messages = Messages::new(options(0.5, 7));
        for i in 0..20 {
            messages.announce(plain(i));
        }
        let records = messages.records();
        let pending = messages.pending(100).await.unwrap();
        let expect: Vec<i64> = (0..20).filter(|i| !records[*i as usize].dropped).collect();
        assert_eq!(pending.iter().map(|it| it.0).collect::<Vec<_>>(), expect);
        messages.published(&expect[..2]).await.unwrap();
        assert_eq!(messages.pending(100).await.unwrap().len(), expect.len() - 2);
        let counts = messages.counts();
        assert_eq!(counts.total, 20);
        assert_eq!(counts.published, 2);
        assert_eq!(counts.dropped, 20 - expect.len());
        assert_eq!(counts.pending, expect.len() - 2);
        assert!(messages.published(&[99]).await.is_err());
        let json = messages.to_json();
        assert_eq!(json["seed"], 7);
        assert_eq!(json["messages"].as_array().unwrap().len(), 20);
        assert_eq!(json["messages"][0]["index"], 1);
    }

    #[test]
    fn tag_priorities() {
        for (tag, expect) in [
            ("f44-rebuild", 0),
            ("f4-rebuild", 0),
            ("f-rebuild", 2),
            ("f44x-rebuild", 2),
            ("eln", 1),
            ("eln-build", 1),
            ("elnx", 2),
            ("f44-updates-candidate", 2),
        ] {
            assert_eq!(tag_priority(tag), expect, "{tag}");
        }
    }

    fn build() -> BuildRec {
        BuildRec {
            id: 100_001,
            package_id: 1,
            name: "tk-hello".to_owned(),
            version: "1.2".to_owned(),
            release: "3.fc44".to_owned(),
            epoch: None,
            state: 1,
            owner: "alice".to_owned(),
            task_id: Some(140_000_001),
            creation_ts: 1_795_169_400.0,
            completion_ts: Some(1_795_170_000.0),
            creation_event: 1000,
            volume: "DEFAULT".to_owned(),
            source: None,
        }
    }

    /// What Taskotron's own decoder makes of `msg`.
    fn decoded(msg: &OutgoingMessage) -> Event {
        let wire = WireMessage {
            routing_key: msg.topic.clone(),
            message_id: Some(msg.id.clone()),
            headers: msg.headers.clone(),
            body: serde_json::to_vec(&msg.body).unwrap(),
            properties: taskotron_bus::incoming::WireProperties::default(),
        };
        decode(&wire).unwrap().event
    }

    #[test]
    fn new_builds_go_through_building() {
        let msgs = new_build("org.test", "http://127.0.0.1:1", &build());
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].body["old"], Json::Null);
        assert_eq!(msgs[0].body["new"], 0);
        assert_eq!(msgs[0].body["completion_time"], Json::Null);
        assert_eq!(msgs[1].body["old"], 0);
        assert_eq!(msgs[1].body["new"], 1);
        assert_eq!(msgs[1].body["completion_time"], "2026-11-20T10:20:00+00:00");
        assert_eq!(msgs[1].topic, "org.test.buildsys.build.state.change");
        assert_eq!(msgs[1].headers["fedora_messaging_user_alice"], true);
        assert_eq!(msgs[1].headers["fedora_messaging_rpm_tk-hello"], true);
        assert_eq!(msgs[1].headers["fedora_messaging_severity"], 20);
        assert_eq!(
            msgs[1].headers["fedora_messaging_schema_package"],
            "koji_fedoramessaging_messages"
        );
        let Event::BuildStateChange(change) = decoded(&msgs[1]) else {
            panic!("not a build state change")
        };
        assert_eq!(change.nvr(), "tk-hello-1.2-3.fc44");
        assert_eq!(change.task_id, Some(140_000_001));

        let import = BuildRec {
            task_id: None,
            ..build()
        };
        let msgs = new_build("org.test", "http://127.0.0.1:1", &import);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].body["old"], Json::Null);
        assert_eq!(msgs[0].body["new"], 1);
        assert_eq!(msgs[0].body["task"], Json::Null);
        assert_eq!(msgs[0].body["request"], json!([]));
    }

    #[test]
    fn bodhi_messages_name_the_agent_the_submitter_and_the_packages() {
        let update = json!({
            "alias": "FEDORA-2026-0000000001", "status": "testing", "request": null,
            "release": {"name": "F44"}, "user": {"name": "alice"},
            "builds": [{"nvr": "tk-hello-1.2-3.fc44"}, {"nvr": "tk-other-1.1-1.fc44"}],
        });
        let msg = update_ready("", "bodhi", &update, vec![], false);
        let users: Vec<&String> = msg
            .headers
            .keys()
            .filter(|it| {
                it.starts_with("fedora_messaging_user_") || it.starts_with("fedora_messaging_rpm_")
            })
            .collect();
        assert_eq!(
            users,
            [
                "fedora_messaging_rpm_tk-hello",
                "fedora_messaging_rpm_tk-other",
                "fedora_messaging_user_alice",
                "fedora_messaging_user_bodhi",
            ]
        );
        assert_eq!(msg.headers["fedora_messaging_severity"], 10);
        assert!(matches!(decoded(&msg), Event::UpdateReady(_)));
        assert!(update_request("", "later", "alice", &update).is_none());
        assert!(update_complete("", "pending", &update).is_none());
        let msg = update_complete("", "stable", &update).unwrap();
        assert_eq!(msg.topic, "bodhi.update.complete.stable");
        assert!(!msg.headers.contains_key("fedora_messaging_user_bodhi"));
        assert!(matches!(decoded(&msg), Event::UpdateCompleted(_)));
        let msg = update_edit("", "bob", &update, &["x-1-1".to_owned()], &[]);
        assert!(matches!(decoded(&msg), Event::UpdateEdited(_)));
        assert_eq!(msg.headers["fedora_messaging_user_bob"], true);
    }
}
