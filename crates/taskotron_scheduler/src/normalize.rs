//! From what each source says to the events the store keeps: one fact per
//! event, with the same natural key whoever found it.

use serde_json::{Value as Json, json};
use taskotron_bodhi::Update;
use taskotron_bus::{Event, IncomingMessage, Request, UpdateInfo, UpdateStatus, WireMessage};
use taskotron_koji::{Build, TagListing};
use taskotron_store::events::{EventState, NewEvent};
use taskotron_triggers::{Fact, distgit_branch, message_type};

/// Where events come from, as stored.
pub mod source {
    /// The message bus.
    pub const BUS: &str = "bus";
    /// The Koji pollers.
    pub const KOJI: &str = "koji";
    /// The Bodhi pollers.
    pub const BODHI: &str = "bodhi";
    /// `POST /api/v1/events` and `taskotron trigger`.
    pub const API: &str = "api";
}

/// Longest body kept with an event, in bytes; longer ones are cut (the fact
/// holds what planning needs).
const MAX_BODY: usize = 64 * 1024;

/// A new event from a fact.
#[must_use]
pub fn event_from_fact(source: &str, fact: &Fact, body: Option<String>) -> NewEvent {
    NewEvent {
        source: source.to_owned(),
        message_id: None,
        natural_key: fact.natural_key(),
        topic: None,
        schema: None,
        fact: Some(fact.to_json()),
        body,
        state: EventState::New,
        reason: None,
    }
}

/// An event that nothing plans from, kept for people to see.
fn ignored(source: &str, fact: Option<&Fact>, reason: String) -> NewEvent {
    NewEvent {
        source: source.to_owned(),
        message_id: None,
        natural_key: None,
        topic: None,
        schema: None,
        fact: fact.map(Fact::to_json),
        body: None,
        state: EventState::Ignored,
        reason: Some(reason),
    }
}

fn cut(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= MAX_BODY {
        return text.into_owned();
    }
    let mut end = MAX_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The event a consumed message makes: new, ignored or rejected.
#[must_use]
pub fn event_from_message(
    wire: &WireMessage,
    decoded: &Result<IncomingMessage, taskotron_bus::DecodeError>,
) -> NewEvent {
    let topic = taskotron_bus::split_topic(&wire.routing_key)
        .map_or_else(|| wire.routing_key.clone(), |(_, topic)| topic.to_owned());
    let schema = wire
        .headers
        .get(taskotron_bus::HEADER_SCHEMA)
        .and_then(Json::as_str)
        .map(str::to_owned);
    let mut event = match decoded {
        Err(err) => NewEvent {
            source: source::BUS.to_owned(),
            message_id: None,
            natural_key: None,
            topic: None,
            schema: None,
            fact: None,
            body: None,
            state: EventState::Rejected,
            reason: Some(err.to_string()),
        },
        Ok(message) => match fact_from_message(message) {
            Ok(fact) => event_from_fact(source::BUS, &fact, None),
            Err((fact, reason)) => ignored(source::BUS, fact.as_ref(), reason),
        },
    };
    event.message_id = wire.message_id.clone().filter(|it| !it.is_empty());
    event.topic = Some(topic);
    event.schema = schema;
    event.body = Some(cut(&wire.body));
    event
}

/// The fact a decoded message stands for, or why nothing plans from it
/// (with the fact, when there is one worth keeping).
///
/// # Errors
///
/// The reason the message is ignored.
pub fn fact_from_message(message: &IncomingMessage) -> Result<Fact, (Option<Fact>, String)> {
    match &message.event {
        Event::BuildStateChange(change) => {
            let nvr = change.nvr();
            let mut fact = build_fact(&nvr, &change.name, &change.version, &change.release)
                .with("owner", change.owner.clone().map_or(Json::Null, Json::from))
                .with("instance", change.instance.as_str());
            if let Some(id) = change.build_id {
                fact = fact.with("build_id", id);
            }
            if change.new != taskotron_bus::BuildState::Complete {
                return Err((
                    None,
                    format!("build {nvr} is now {:?}, not complete", change.new),
                ));
            }
            if change.instance != "primary" {
                return Err((
                    Some(fact),
                    format!(
                        "build {nvr} is on Koji instance {:?}, not primary",
                        change.instance
                    ),
                ));
            }
            Ok(fact)
        }
        Event::Tag(change) | Event::Untag(change) => {
            let action = if matches!(message.event, Event::Tag(_)) {
                "tag"
            } else {
                "untag"
            };
            Ok(tag_fact(
                &change.tag,
                &change.nvr(),
                &change.name,
                &change.version,
                &change.release,
                action,
            )
            .with("build_id", change.build_id)
            .with("user", change.user.clone().map_or(Json::Null, Json::from)))
        }
        Event::UpdateReady(ready) => {
            let nvrs: Vec<&str> = ready.builds.iter().map(|it| it.nvr.as_str()).collect();
            let mut fact = update_fact(&ready.alias, &ready.release, &nvrs)
                .with("agent", ready.agent.as_str())
                .with("retrigger", ready.re_trigger);
            if let Some(update) = &ready.update {
                fact = with_update_info(fact, update);
            }
            Ok(fact)
        }
        // An edit names the update's builds after it: when they did not
        // change, the event's key is one already recorded (nothing new);
        // when they did, it stands in for a lost "ready for testing".
        Event::UpdateEdited(edit) => {
            Ok(update_from_info(&edit.update).with("agent", edit.agent.as_str()))
        }
        Event::UpdateRequested(requested) => {
            let fact = update_from_info(&requested.update).with("agent", requested.agent.as_str());
            match requested.request {
                Request::Testing | Request::Stable => Ok(fact),
                other => Err((
                    Some(fact),
                    format!(
                        "update {} asks for {}",
                        requested.update.alias,
                        other.as_str()
                    ),
                )),
            }
        }
        Event::UpdateCompleted(completed) => Err((
            Some(update_from_info(&completed.update)),
            format!(
                "update {} was pushed to {:?}",
                completed.update.alias, completed.repository
            ),
        )),
        Event::ComposeStatus(compose) => {
            let fact = Fact::new(
                message_type::COMPOSE_COMPLETED,
                "compose",
                &compose.compose_id,
                &compose.compose_id,
            )
            .with("status", compose.status.as_str())
            .with(
                "location",
                compose.location.clone().map_or(Json::Null, Json::from),
            );
            if compose.is_finished() {
                Ok(fact)
            } else {
                Err((
                    None,
                    format!("compose {} is {}", compose.compose_id, compose.status),
                ))
            }
        }
    }
}

fn build_fact(nvr: &str, name: &str, version: &str, release: &str) -> Fact {
    let mut fact = Fact::new(message_type::KOJI_BUILD_COMPLETED, "koji_build", nvr, nvr)
        .with("nvr", nvr)
        .with("name", name)
        .with("version", version)
        .with("release", release);
    if let Some(branch) = distgit_branch(release) {
        fact = fact.with("distgit_branch", branch);
    }
    fact
}

fn tag_fact(tag: &str, nvr: &str, name: &str, version: &str, release: &str, action: &str) -> Fact {
    let mut fact = Fact::new(message_type::KOJI_TAG_CHANGED, "koji_tag", tag, nvr)
        .with("tag", tag)
        .with("nvr", nvr)
        .with("name", name)
        .with("version", version)
        .with("release", release)
        .with("action", action);
    if let Some(branch) = distgit_branch(release) {
        fact = fact.with("distgit_branch", branch);
    }
    fact
}

/// The package name of an NVR (everything before the last two dashes).
fn package_of(nvr: &str) -> &str {
    nvr.rsplitn(3, '-').nth(2).unwrap_or(nvr)
}

fn update_fact(alias: &str, release: &str, nvrs: &[&str]) -> Fact {
    let hash = taskotron_bodhi::version_hash(nvrs);
    let mut packages: Vec<&str> = nvrs.iter().map(|it| package_of(it)).collect();
    packages.sort_unstable();
    packages.dedup();
    Fact::new(
        message_type::BODHI_UPDATE_READY,
        "bodhi_update",
        alias,
        &hash,
    )
    .with("alias", alias)
    .with("release", release)
    .with("builds", json!(nvrs))
    .with("packages", json!(packages))
    .with("version_hash", hash.as_str())
}

fn with_update_info(fact: Fact, update: &UpdateInfo) -> Fact {
    fact.with("status", update.status.as_str())
        .with(
            "request",
            update
                .request
                .map_or(Json::Null, |it| Json::from(it.as_str())),
        )
        .with("user", update.user.as_str())
}

fn update_from_info(update: &UpdateInfo) -> Fact {
    let nvrs: Vec<&str> = update.builds.iter().map(String::as_str).collect();
    with_update_info(update_fact(&update.alias, &update.release, &nvrs), update)
}

/// The event a completed Koji build makes.
#[must_use]
pub fn event_from_build(build: &Build) -> NewEvent {
    let fact = build_fact(&build.nvr, &build.name, &build.version, &build.release)
        .with("build_id", build.id)
        .with(
            "owner",
            build.owner_name.clone().map_or(Json::Null, Json::from),
        )
        .with("instance", "primary");
    let body = format!(
        "{{\"poller\": \"koji.builds\", \"build_id\": {}, \"nvr\": {:?}, \"completion_ts\": {}}}",
        build.id,
        build.nvr,
        build
            .completion_ts
            .map_or("null".to_owned(), |it| it.to_string())
    );
    event_from_fact(source::KOJI, &fact, Some(body))
}

/// The events a row of Koji's tag history makes: a tagging, when it
/// happened after `after_event`, and an untagging, when that did.
#[must_use]
pub fn events_from_tag_listing(row: &TagListing, after_event: i64) -> Vec<NewEvent> {
    let nvr = row.nvr();
    let mut out = Vec::new();
    let mut push = |action: &str, event: i64| {
        let fact = tag_fact(
            &row.tag_name,
            &nvr,
            &row.name,
            &row.version,
            &row.release,
            action,
        )
        .with("build_id", row.build_id)
        .with("koji_event", event)
        .with(
            "user",
            row.creator_name.clone().map_or(Json::Null, Json::from),
        );
        let body = format!(
            "{{\"poller\": \"koji.tags\", \"build_id\": {}, \"tag\": {:?}, \"action\": {action:?}, \"event\": {event}}}",
            row.build_id, row.tag_name
        );
        out.push(event_from_fact(source::KOJI, &fact, Some(body)));
    };
    if row.create_event > after_event {
        push("tag", row.create_event);
    }
    if let Some(revoke) = row.revoke_event.filter(|it| *it > after_event) {
        push("untag", revoke);
    }
    out
}

/// The event a Bodhi update makes, `None` for updates nothing tests any
/// more (stable, obsolete, unpushed, …).
#[must_use]
pub fn event_from_update(update: &Update) -> Option<NewEvent> {
    let fact = fact_from_update(update);
    let status = UpdateStatus::parse(&update.status);
    if !matches!(status, Some(UpdateStatus::Pending | UpdateStatus::Testing)) {
        return None;
    }
    let body = format!(
        "{{\"poller\": \"bodhi\", \"alias\": {:?}, \"status\": {:?}, \"date_submitted\": {:?}, \"date_modified\": {:?}}}",
        update.alias, update.status, update.date_submitted, update.date_modified
    );
    Some(event_from_fact(source::BODHI, &fact, Some(body)))
}

/// The fact of a Bodhi update as the API returns it.
#[must_use]
pub fn fact_from_update(update: &Update) -> Fact {
    let nvrs: Vec<&str> = update.builds.iter().map(|it| it.nvr.as_str()).collect();
    update_fact(&update.alias, &update.release.name, &nvrs)
        .with("status", update.status.as_str())
        .with(
            "request",
            update.request.clone().map_or(Json::Null, Json::from),
        )
        .with("user", update.user.name.as_str())
        .with("agent", "bodhi")
        .with("retrigger", false)
}

/// The fact for a build named by its NVR (for the API and the command
/// line).
#[must_use]
pub fn fact_from_nvr(nvr: &str) -> Option<Fact> {
    let mut parts = nvr.rsplitn(3, '-');
    let release = parts.next()?;
    let version = parts.next()?;
    let name = parts.next()?;
    if [name, version, release].iter().any(|it| it.is_empty()) {
        return None;
    }
    Some(build_fact(nvr, name, version, release).with("instance", "primary"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_every_source_share_a_key() {
        let nvr = fact_from_nvr("python-foo-1.2-3.fc44").expect("an NVR");
        assert_eq!(nvr.text("name"), Some("python-foo"));
        assert_eq!(nvr.text("version"), Some("1.2"));
        assert_eq!(nvr.text("distgit_branch"), Some("f44"));
        assert_eq!(
            nvr.natural_key().as_deref(),
            Some("koji_build:python-foo-1.2-3.fc44:complete")
        );
        assert!(fact_from_nvr("nodashes").is_none());
        assert!(fact_from_nvr("a--1").is_none());
        assert_eq!(package_of("python-foo-1.2-3.fc44"), "python-foo");
    }

    #[test]
    fn update_facts_carry_the_version_hash() {
        let fact = update_fact("FEDORA-2026-1", "F44", &["b-1-1.fc44", "a-2-1.fc44"]);
        assert_eq!(
            fact.item_revision(),
            taskotron_bodhi::version_hash(&["a-2-1.fc44", "b-1-1.fc44"])
        );
        assert_eq!(fact.get("packages"), Some(&json!(["a", "b"])));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character() {
        let body = "é".repeat(MAX_BODY);
        let kept = cut(body.as_bytes());
        assert!(kept.len() <= MAX_BODY + '…'.len_utf8());
        assert!(kept.ends_with('…'));
        assert_eq!(cut(b"{}"), "{}");
    }
}
