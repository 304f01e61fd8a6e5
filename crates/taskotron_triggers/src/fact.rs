//! What the rules see of an event.

use serde_json::{Map, Value as Json};

/// The message types Taskotron's own sources produce (taskotron-trigger's
/// names where it had one).
pub mod message_type {
    /// A Koji RPM build reached the COMPLETE state.
    pub const KOJI_BUILD_COMPLETED: &str = "KojiBuildPackageCompleted";
    /// A build was tagged into or untagged from a Koji tag.
    pub const KOJI_TAG_CHANGED: &str = "KojiTagChanged";
    /// A Bodhi update's builds are ready for testing: it was created, its
    /// builds changed, or someone asked for its tests again.
    pub const BODHI_UPDATE_READY: &str = "BodhiUpdateReady";
    /// A compose finished (`FINISHED` or `FINISHED_INCOMPLETE`).
    pub const COMPOSE_COMPLETED: &str = "ComposeCompleted";
}

/// Why a JSON object is not a fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    /// The value is not a JSON object.
    #[error("an event is a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// A required field is missing or not a non-empty string.
    #[error("field `{0}` must be a non-empty string")]
    Field(&'static str),
}

/// One event as the rules see it: a JSON object with at least
/// `message_type`, `item_type` and `item` (non-empty strings) and an
/// `item_revision` (defaulting to `item`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    fields: Map<String, Json>,
}

const REQUIRED: [&str; 3] = ["message_type", "item_type", "item"];

impl Fact {
    /// A fact with its four identifying fields.
    #[must_use]
    pub fn new(message_type: &str, item_type: &str, item: &str, item_revision: &str) -> Fact {
        let mut fields = Map::new();
        fields.insert("message_type".into(), message_type.into());
        fields.insert("item_type".into(), item_type.into());
        fields.insert("item".into(), item.into());
        fields.insert("item_revision".into(), item_revision.into());
        Fact { fields }
    }

    /// Add (or replace) a field.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Fact {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Read a fact from JSON, checking the identifying fields.
    ///
    /// # Errors
    ///
    /// [`FactError`] names what is missing.
    pub fn from_json(value: Json) -> Result<Fact, FactError> {
        let Json::Object(mut fields) = value else {
            return Err(FactError::NotAnObject(json_kind(&value)));
        };
        for key in REQUIRED {
            match fields.get(key) {
                Some(Json::String(text)) if !text.trim().is_empty() => {}
                _ => return Err(FactError::Field(key)),
            }
        }
        match fields.get("item_revision") {
            None | Some(Json::Null) => {
                let item = fields.get("item").cloned().unwrap_or(Json::Null);
                fields.insert("item_revision".into(), item);
            }
            Some(Json::String(text)) if !text.trim().is_empty() => {}
            Some(_) => return Err(FactError::Field("item_revision")),
        }
        Ok(Fact { fields })
    }

    /// A field by name; a dotted name (`update.release`) walks into objects.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Json> {
        let mut parts = path.split('.');
        let mut value = self.fields.get(parts.next()?)?;
        for part in parts {
            value = match value {
                Json::Object(map) => map.get(part)?,
                Json::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// A field's text, when it is a string.
    #[must_use]
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Json::as_str)
    }

    /// The event's type.
    #[must_use]
    pub fn message_type(&self) -> &str {
        self.text("message_type").unwrap_or_default()
    }

    /// The item's type (`koji_build`, `bodhi_update`, `koji_tag`, …).
    #[must_use]
    pub fn item_type(&self) -> &str {
        self.text("item_type").unwrap_or_default()
    }

    /// The item (an NVR, an update alias, a tag, …).
    #[must_use]
    pub fn item(&self) -> &str {
        self.text("item").unwrap_or_default()
    }

    /// The item's revision (an NVR is its own; an update's is its version
    /// hash).
    #[must_use]
    pub fn item_revision(&self) -> &str {
        self.text("item_revision").unwrap_or_else(|| self.item())
    }

    /// Whether someone asked for this item's checks to run again
    /// (`retrigger: true`): its jobs are new re-runs, and the event has no
    /// natural key.
    #[must_use]
    pub fn is_retrigger(&self) -> bool {
        self.get("retrigger").and_then(Json::as_bool) == Some(true)
    }

    /// The key every source finds this event by, so that a bus message, a
    /// poller and the API naming the same event make one: a Koji build by
    /// its NVR (`koji_build:NVR:complete`), a tag change by build, tag and
    /// direction (`koji_tag:NVR:TAG:tagged`), an update by alias and
    /// version hash (`bodhi_update:ALIAS:HASH`), a compose by id and status;
    /// anything else by its type, item and revision. A re-trigger has none:
    /// each request counts.
    #[must_use]
    pub fn natural_key(&self) -> Option<String> {
        if self.is_retrigger() {
            return None;
        }
        let item = self.item();
        let revision = self.item_revision();
        Some(match self.message_type() {
            message_type::KOJI_BUILD_COMPLETED => format!("koji_build:{item}:complete"),
            message_type::KOJI_TAG_CHANGED => format!(
                "koji_tag:{}:{item}:{}",
                self.text("nvr").unwrap_or(revision),
                if self.text("action") == Some("untag") {
                    "untagged"
                } else {
                    "tagged"
                }
            ),
            message_type::BODHI_UPDATE_READY => format!("bodhi_update:{item}:{revision}"),
            message_type::COMPOSE_COMPLETED => {
                format!("compose:{item}:{}", self.text("status").unwrap_or(revision))
            }
            other => format!("{other}:{}:{item}:{revision}", self.item_type()),
        })
    }

    /// The fields as one JSON object.
    #[must_use]
    pub fn to_json(&self) -> Json {
        Json::Object(self.fields.clone())
    }

    /// The fields.
    #[must_use]
    pub fn fields(&self) -> &Map<String, Json> {
        &self.fields
    }
}

/// The dist-git branch a build's release belongs to, from its dist tag:
/// `1.fc44` → `f44`, `2.el9` → `epel9`; `None` when the release names none.
#[must_use]
pub fn distgit_branch(release: &str) -> Option<String> {
    release.split('.').rev().find_map(|part| {
        let digits = |rest: &str| {
            let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!number.is_empty()).then_some(number)
        };
        if let Some(rest) = part.strip_prefix("fc") {
            digits(rest).map(|n| format!("f{n}"))
        } else if let Some(rest) = part.strip_prefix("el") {
            digits(rest).map(|n| format!("epel{n}"))
        } else {
            None
        }
    })
}

pub(crate) fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn from_json_checks_the_identifying_fields() {
        let fact = Fact::from_json(json!({
            "message_type": "KojiBuildPackageCompleted",
            "item_type": "koji_build",
            "item": "foo-1.0-1.fc44",
            "update": {"release": "F44", "builds": ["a", "b"]},
        }))
        .expect("a fact");
        assert_eq!(fact.item_revision(), "foo-1.0-1.fc44");
        assert_eq!(fact.text("update.release"), Some("F44"));
        assert_eq!(fact.text("update.builds.1"), Some("b"));
        assert_eq!(fact.get("update.nothing"), None);
        assert_eq!(
            Fact::from_json(json!({"message_type": "X", "item_type": "t"})),
            Err(FactError::Field("item"))
        );
        assert_eq!(
            Fact::from_json(json!({"message_type": "X", "item_type": "t", "item": " "})),
            Err(FactError::Field("item"))
        );
        assert_eq!(
            Fact::from_json(json!([1])),
            Err(FactError::NotAnObject("a list"))
        );
        assert_eq!(
            Fact::from_json(
                json!({"message_type": "X", "item_type": "t", "item": "i", "item_revision": 3})
            ),
            Err(FactError::Field("item_revision"))
        );
    }

    #[test]
    fn natural_keys_depend_only_on_what_every_source_knows() {
        let build = Fact::new(
            "KojiBuildPackageCompleted",
            "koji_build",
            "a-1-1.fc44",
            "a-1-1.fc44",
        )
        .with("build_id", 7);
        assert_eq!(
            build.natural_key().as_deref(),
            Some("koji_build:a-1-1.fc44:complete")
        );
        let tag = Fact::new("KojiTagChanged", "koji_tag", "f44-pending", "a-1-1.fc44")
            .with("nvr", "a-1-1.fc44");
        assert_eq!(
            tag.natural_key().as_deref(),
            Some("koji_tag:a-1-1.fc44:f44-pending:tagged")
        );
        let untag = tag.clone().with("action", "untag");
        assert_eq!(
            untag.natural_key().as_deref(),
            Some("koji_tag:a-1-1.fc44:f44-pending:untagged")
        );
        let update = Fact::new("BodhiUpdateReady", "bodhi_update", "FEDORA-2026-1", "abc");
        assert_eq!(
            update.natural_key().as_deref(),
            Some("bodhi_update:FEDORA-2026-1:abc")
        );
        assert_eq!(update.clone().with("retrigger", true).natural_key(), None);
        assert!(!update.is_retrigger());
        let other = Fact::new("Custom", "thing", "x", "y");
        assert_eq!(other.natural_key().as_deref(), Some("Custom:thing:x:y"));
    }

    #[test]
    fn distgit_branches_come_from_dist_tags() {
        assert_eq!(distgit_branch("1.fc44").as_deref(), Some("f44"));
        assert_eq!(distgit_branch("0.3.rc1.fc43.1").as_deref(), Some("f43"));
        assert_eq!(distgit_branch("2.el9").as_deref(), Some("epel9"));
        assert_eq!(distgit_branch("2.el9_4").as_deref(), Some("epel9"));
        assert_eq!(distgit_branch("1"), None);
        assert_eq!(distgit_branch("1.module_f44+1234"), None);
    }
}
