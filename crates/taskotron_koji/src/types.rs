//! What Koji's calls return, as far as Taskotron reads it. Every struct
//! accepts fields it does not know (Koji adds some), and optional fields
//! may be missing or null.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Koji's build states (`koji.BUILD_STATES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    /// 0
    Building,
    /// 1: the one checks run on.
    Complete,
    /// 2
    Deleted,
    /// 3
    Failed,
    /// 4
    Canceled,
}

impl BuildState {
    /// The number Koji uses.
    pub fn code(self) -> i64 {
        match self {
            BuildState::Building => 0,
            BuildState::Complete => 1,
            BuildState::Deleted => 2,
            BuildState::Failed => 3,
            BuildState::Canceled => 4,
        }
    }

    /// The state of a number Koji sent.
    pub fn from_code(code: i64) -> Option<BuildState> {
        Some(match code {
            0 => BuildState::Building,
            1 => BuildState::Complete,
            2 => BuildState::Deleted,
            3 => BuildState::Failed,
            4 => BuildState::Canceled,
            _ => return None,
        })
    }
}

/// An epoch: Koji sends null, an integer or (in messages) a string.
pub type Epoch = Option<Value>;

/// A build (`getBuild`, `listBuilds`, `listTagged`, `getLatestBuilds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    /// Its id (Koji sends it as `build_id` too).
    pub id: i64,
    /// The package name (Koji sends it as `package_name` too).
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Epoch.
    #[serde(default)]
    pub epoch: Epoch,
    /// `name-version-release`.
    pub nvr: String,
    /// Its state (see [`BuildState`]).
    pub state: i64,
    /// The build task; none for imports and content generators.
    #[serde(default)]
    pub task_id: Option<i64>,
    /// Who built it.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// The volume its files are on (`DEFAULT` means the main one).
    #[serde(default)]
    pub volume_name: Option<String>,
    /// When it was created, seconds since the epoch.
    #[serde(default)]
    pub creation_ts: Option<f64>,
    /// When it completed, seconds since the epoch.
    #[serde(default)]
    pub completion_ts: Option<f64>,
    /// When it completed, as Koji's text (`2026-11-20 10:20:00.123456+00:00`).
    #[serde(default)]
    pub completion_time: Option<String>,
    /// The source it was built from.
    #[serde(default)]
    pub source: Option<String>,
    /// The tag, for `listTagged` and `getLatestBuilds`.
    #[serde(default)]
    pub tag_name: Option<String>,
    /// Anything else (Koji's `extra` is arbitrary data).
    #[serde(default)]
    pub extra: Option<Value>,
}

impl Build {
    /// Its state, when Koji sent a known one.
    pub fn build_state(&self) -> Option<BuildState> {
        BuildState::from_code(self.state)
    }
}

/// One RPM of a build (`listRPMs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rpm {
    /// Its id.
    pub id: i64,
    /// The (sub)package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Epoch.
    #[serde(default)]
    pub epoch: Epoch,
    /// Architecture (`src` for the source RPM).
    pub arch: String,
    /// `name-version-release`.
    #[serde(default)]
    pub nvr: Option<String>,
    /// The build it belongs to.
    #[serde(default)]
    pub build_id: Option<i64>,
    /// The size of the file, in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// The RPM's SIGMD5 (MD5 of header and payload), in hex.
    #[serde(default)]
    pub payloadhash: Option<String>,
    /// When it was built, seconds since the epoch.
    #[serde(default)]
    pub buildtime: Option<i64>,
}

impl Rpm {
    /// The file name: `name-version-release.arch.rpm`.
    pub fn filename(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }
}

/// A task (`getTaskInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Its id.
    pub id: i64,
    /// Its state (`koji.TASK_STATES`: 0 FREE … 5 FAILED).
    pub state: i64,
    /// What it does (`build`, `buildArch`, …).
    pub method: String,
    /// Its architecture.
    #[serde(default)]
    pub arch: Option<String>,
    /// The parent task.
    #[serde(default)]
    pub parent: Option<i64>,
    /// Its owner's id.
    #[serde(default)]
    pub owner: Option<i64>,
    /// The request, when asked for.
    #[serde(default)]
    pub request: Option<Value>,
    /// Creation time, seconds since the epoch.
    #[serde(default)]
    pub create_ts: Option<f64>,
    /// Completion time, seconds since the epoch.
    #[serde(default)]
    pub completion_ts: Option<f64>,
}

/// A point in Koji's history (`getLastEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event id.
    pub id: i64,
    /// Its time, seconds since the epoch.
    pub ts: f64,
}

/// One row of `queryHistory(tables=['tag_listing'])`: a build entering a
/// tag, and leaving it again when `revoke_event` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagListing {
    /// The build.
    pub build_id: i64,
    /// The tag's id.
    pub tag_id: i64,
    /// The tag's name.
    #[serde(rename = "tag.name")]
    pub tag_name: String,
    /// The package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// The event that tagged it.
    pub create_event: i64,
    /// The event that untagged it, if any.
    #[serde(default)]
    pub revoke_event: Option<i64>,
    /// When it was tagged, seconds since the epoch.
    #[serde(default)]
    pub create_ts: Option<f64>,
    /// When it was untagged.
    #[serde(default)]
    pub revoke_ts: Option<f64>,
    /// Who tagged it.
    #[serde(default)]
    pub creator_name: Option<String>,
    /// Whether it is still tagged.
    #[serde(default)]
    pub active: Option<bool>,
}

impl TagListing {
    /// `name-version-release`.
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}
