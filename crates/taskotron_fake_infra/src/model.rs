//! What the fake serves: builds, RPMs, tags and their history, read from a
//! directory of RPM files and its `infra.yaml`, and changed while running
//! through the admin API.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The description file in the directory.
pub const INFRA_FILE: &str = "infra.yaml";

/// Why the directory cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// `infra.yaml` is not valid.
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An RPM file cannot be read.
    #[error("{}: not a readable RPM: {why}", .path.display())]
    Rpm {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The description contradicts itself or the RPMs.
    #[error("{0}")]
    Invalid(String),
    /// A file or directory cannot be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// `infra.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfraFile {
    /// The Koji side.
    #[serde(default)]
    pub koji: KojiSpec,
    /// The Bodhi side.
    #[serde(default)]
    pub bodhi: crate::bodhi::BodhiSpec,
}

/// Read `dir`'s `infra.yaml` (an empty description when there is none).
pub fn read_infra(dir: &Path) -> Result<InfraFile, ModelError> {
    let file = dir.join(INFRA_FILE);
    match read_infra_text(dir)? {
        Some(text) => parse_infra(&file, &text),
        None => Ok(InfraFile::default()),
    }
}

/// The text of `dir`'s `infra.yaml`, `None` when there is none.
pub fn read_infra_text(dir: &Path) -> Result<Option<String>, ModelError> {
    let file = dir.join(INFRA_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ModelError::Io { path: file, source }),
    }
}

/// Koji's tags and builds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KojiSpec {
    /// Tags (a tag a build names is created anyway).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Builds, with what their RPMs do not say.
    #[serde(default)]
    pub builds: Vec<BuildSpec>,
}

/// One build.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// `name-version-release`.
    pub nvr: String,
    /// Its epoch.
    #[serde(default)]
    pub epoch: Option<u32>,
    /// Who built it (default `packager`).
    #[serde(default)]
    pub owner: Option<String>,
    /// `building`, `complete` (the default), `deleted`, `failed` or `canceled`.
    #[serde(default)]
    pub state: Option<String>,
    /// When it completed (RFC 3339); default: when the fake loaded it.
    #[serde(default)]
    pub completed: Option<String>,
    /// Its build task's id (default: one made up); `0` for none (an import).
    #[serde(default)]
    pub task_id: Option<i64>,
    /// Tags it is in, tagged in this order.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The volume its files are on (default `DEFAULT`).
    #[serde(default)]
    pub volume: Option<String>,
    /// The source it was built from.
    #[serde(default)]
    pub source: Option<String>,
}

/// A build as the hub knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRec {
    pub id: i64,
    pub package_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub state: i64,
    pub owner: String,
    pub task_id: Option<i64>,
    pub creation_ts: f64,
    pub completion_ts: Option<f64>,
    pub creation_event: i64,
    pub volume: String,
    pub source: Option<String>,
}

impl BuildRec {
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}

/// An RPM file of a build.
#[derive(Debug, Clone, PartialEq)]
pub struct RpmRec {
    pub id: i64,
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: String,
    pub size: u64,
    /// The SIGMD5 stored in the RPM's signature header, in hex.
    pub payloadhash: String,
    pub buildtime: i64,
    pub path: PathBuf,
}

impl RpmRec {
    pub fn filename(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }
}

/// A build's stay in a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub build_id: i64,
    pub tag_id: i64,
    pub create_event: i64,
    pub create_ts: f64,
    pub creator: String,
    pub revoke_event: Option<i64>,
    pub revoke_ts: Option<f64>,
    pub revoker: Option<String>,
}

/// Everything the hub serves.
#[derive(Debug, Default)]
pub struct Koji {
    pub builds: Vec<BuildRec>,
    pub rpms: Vec<RpmRec>,
    /// Tag names by id.
    pub tags: BTreeMap<i64, String>,
    pub listings: Vec<Listing>,
    /// Event ids and their times.
    pub events: Vec<(i64, f64)>,
    packages: HashMap<String, i64>,
    users: HashMap<String, i64>,
    dir: PathBuf,
    /// RPM files already read, so that a rescan adds only new ones.
    seen_files: Vec<PathBuf>,
}

/// Koji's build state names.
const STATES: [&str; 5] = ["building", "complete", "deleted", "failed", "canceled"];

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |it| it.as_secs_f64())
}

/// `name-version-release` split from the right.
pub fn split_nvr(nvr: &str) -> Option<(&str, &str, &str)> {
    let (rest, release) = nvr.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty() && !release.is_empty())
        .then_some((name, version, release))
}

impl Koji {
    /// Read `dir`: its `infra.yaml` (if any) and every RPM under it.
    pub fn load(dir: &Path) -> Result<Koji, ModelError> {
        Koji::from_spec(dir, &read_infra(dir)?.koji)
    }

    /// What `spec` describes, with the RPM files under `dir`.
    pub fn from_spec(dir: &Path, spec: &KojiSpec) -> Result<Koji, ModelError> {
        let mut koji = Koji {
            dir: dir.to_owned(),
            ..Koji::default()
        };
        for tag in &spec.tags {
            koji.tag_id(tag);
        }
        for build in &spec.builds {
            koji.add_build(build)?;
        }
        koji.scan_rpms()?;
        Ok(koji)
    }

    fn next_event(&mut self, ts: f64) -> i64 {
        let id = self.events.last().map_or(1000, |(id, _)| id + 1);
        self.events.push((id, ts));
        id
    }

    /// The id of a tag, made when it is new.
    pub fn tag_id(&mut self, name: &str) -> i64 {
        if let Some((id, _)) = self.tags.iter().find(|(_, it)| *it == name) {
            return *id;
        }
        let id = self.tags.keys().next_back().map_or(1, |it| it + 1);
        self.tags.insert(id, name.to_owned());
        id
    }

    pub fn user_id(&mut self, name: &str) -> i64 {
        let next = i64::try_from(self.users.len()).unwrap_or(0) + 1;
        *self.users.entry(name.to_owned()).or_insert(next)
    }

    pub fn known_user_id(&self, name: &str) -> Option<i64> {
        self.users.get(name).copied()
    }

    fn package_id(&mut self, name: &str) -> i64 {
        let next = i64::try_from(self.packages.len()).unwrap_or(0) + 1;
        *self.packages.entry(name.to_owned()).or_insert(next)
    }

    /// Add a build (or, for an NVR already known, fail).
    pub fn add_build(&mut self, spec: &BuildSpec) -> Result<i64, ModelError> {
        let (name, version, release) = split_nvr(&spec.nvr).ok_or_else(|| {
            ModelError::Invalid(format!("build {:?}: not name-version-release", spec.nvr))
        })?;
        if self.builds.iter().any(|it| it.nvr() == spec.nvr) {
            return Err(ModelError::Invalid(format!(
                "build {}: given twice",
                spec.nvr
            )));
        }
        let state = match &spec.state {
            None => 1,
            Some(state) => parse_state(&spec.nvr, state)?,
        };
        let completed = match &spec.completed {
            None => now(),
            Some(text) => {
                chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|err| {
                        ModelError::Invalid(format!(
                            "build {}: completed {text:?} is not an RFC 3339 time: {err}",
                            spec.nvr
                        ))
                    })?
                    .timestamp_micros() as f64
                    / 1e6
            }
        };
        let id = self.builds.last().map_or(100_001, |it| it.id + 1);
        let owner = spec.owner.clone().unwrap_or_else(|| "packager".to_owned());
        self.user_id(&owner);
        let package_id = self.package_id(name);
        let creation_event = self.next_event(completed - 600.0);
        let task_id = match spec.task_id {
            Some(0) => None,
            Some(task) => Some(task),
            None => Some(id * 100),
        };
        self.builds.push(BuildRec {
            id,
            package_id,
            name: name.to_owned(),
            version: version.to_owned(),
            release: release.to_owned(),
            epoch: spec.epoch,
            state,
            owner: owner.clone(),
            task_id,
            creation_ts: completed - 600.0,
            completion_ts: (state == 1).then_some(completed),
            creation_event,
            volume: spec.volume.clone().unwrap_or_else(|| "DEFAULT".to_owned()),
            source: spec.source.clone(),
        });
        for tag in &spec.tags {
            self.tag(id, tag, &owner, completed)?;
        }
        Ok(id)
    }

    /// Change a build's state (`building`, `complete`, …); its old and new
    /// state numbers, or `None` when it is in that state already. A build
    /// that becomes complete gets its completion time now.
    pub fn set_state(
        &mut self,
        build_id: i64,
        state: &str,
    ) -> Result<Option<(i64, i64)>, ModelError> {
        let build = self
            .builds
            .iter_mut()
            .find(|it| it.id == build_id)
            .ok_or_else(|| ModelError::Invalid(format!("no build {build_id}")))?;
        let new = parse_state(&build.nvr(), state)?;
        let old = build.state;
        if old == new {
            return Ok(None);
        }
        build.state = new;
        if new == 1 {
            build.completion_ts = Some(now());
        }
        Ok(Some((old, new)))
    }

    /// Tag a build (no change when it is in the tag already).
    pub fn tag(
        &mut self,
        build_id: i64,
        tag: &str,
        user: &str,
        ts: f64,
    ) -> Result<Option<i64>, ModelError> {
        let tag_id = self.tag_id(tag);
        if self
            .listings
            .iter()
            .any(|it| it.build_id == build_id && it.tag_id == tag_id && it.revoke_event.is_none())
        {
            return Ok(None);
        }
        self.user_id(user);
        let event = self.next_event(ts);
        self.listings.push(Listing {
            build_id,
            tag_id,
            create_event: event,
            create_ts: ts,
            creator: user.to_owned(),
            revoke_event: None,
            revoke_ts: None,
            revoker: None,
        });
        Ok(Some(event))
    }

    /// Untag a build (no change when it is not in the tag).
    pub fn untag(&mut self, build_id: i64, tag: &str, user: &str) -> Option<i64> {
        let tag_id = self
            .tags
            .iter()
            .find(|(_, it)| *it == tag)
            .map(|(id, _)| *id)?;
        let idx = self.listings.iter().position(|it| {
            it.build_id == build_id && it.tag_id == tag_id && it.revoke_event.is_none()
        })?;
        self.user_id(user);
        let ts = now();
        let event = self.next_event(ts);
        let listing = &mut self.listings[idx];
        listing.revoke_event = Some(event);
        listing.revoke_ts = Some(ts);
        listing.revoker = Some(user.to_owned());
        Some(event)
    }

    /// Read the RPM files under the directory that are not read yet; each
    /// goes to the build of its source RPM, made (complete, untagged) when
    /// `infra.yaml` did not name it.
    pub fn scan_rpms(&mut self) -> Result<Vec<i64>, ModelError> {
        self.scan_rpms_where(|_| true)
    }

    /// The RPM files under the directory not read yet, sorted.
    pub fn unread_rpm_files(&self) -> Result<Vec<PathBuf>, ModelError> {
        let mut files = Vec::new();
        collect_rpms(&self.dir, &mut files)?;
        files.retain(|it| !self.seen_files.contains(it));
        files.sort();
        Ok(files)
    }

    /// [`Koji::scan_rpms`], for the files `ready` accepts only (the
    /// directory watcher leaves out files still being written).
    pub fn scan_rpms_where(
        &mut self,
        ready: impl Fn(&Path) -> bool,
    ) -> Result<Vec<i64>, ModelError> {
        let files = self.unread_rpm_files()?;
        let mut added = Vec::new();
        for path in files {
            if !ready(&path) {
                continue;
            }
            let rpm = read_rpm(&path)?;
            let build_nvr = rpm.build_nvr.clone();
            let build_id = match self.builds.iter().find(|it| it.nvr() == build_nvr) {
                Some(build) => build.id,
                None => self.add_build(&BuildSpec {
                    nvr: build_nvr,
                    epoch: rpm.epoch,
                    owner: None,
                    state: None,
                    completed: None,
                    task_id: None,
                    tags: Vec::new(),
                    volume: None,
                    source: None,
                })?,
            };
            let id = self.rpms.last().map_or(5_000_001, |it| it.id + 1);
            self.rpms.push(RpmRec {
                id,
                build_id,
                name: rpm.name,
                version: rpm.version,
                release: rpm.release,
                epoch: rpm.epoch,
                arch: rpm.arch,
                size: rpm.size,
                payloadhash: rpm.sigmd5,
                buildtime: rpm.buildtime,
                path: path.clone(),
            });
            self.seen_files.push(path);
            added.push(id);
        }
        Ok(added)
    }

    pub fn build(&self, id: i64) -> Option<&BuildRec> {
        self.builds.iter().find(|it| it.id == id)
    }

    pub fn build_by_nvr(&self, nvr: &str) -> Option<&BuildRec> {
        self.builds.iter().find(|it| it.nvr() == nvr)
    }

    pub fn tag_by_name(&self, name: &str) -> Option<i64> {
        self.tags
            .iter()
            .find(|(_, it)| *it == name)
            .map(|(id, _)| *id)
    }

    pub fn user_by_id(&self, id: i64) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, it)| **it == id)
            .map(|(name, _)| name.as_str())
    }
}

/// Koji's number for a state name.
fn parse_state(nvr: &str, state: &str) -> Result<i64, ModelError> {
    STATES
        .iter()
        .position(|it| *it == state)
        .and_then(|it| i64::try_from(it).ok())
        .ok_or_else(|| {
            ModelError::Invalid(format!(
                "build {nvr}: state {state:?} is not one of {}",
                STATES.join(", ")
            ))
        })
}

/// Parse the text of an `infra.yaml` (`file` names it in errors). Never
/// panics, whatever the text (a fuzz target checks).
pub fn parse_infra(file: &Path, text: &str) -> Result<InfraFile, ModelError> {
    marked_yaml::from_yaml(0, text).map_err(|err| {
        let (line, column, message) = match &err {
            marked_yaml::FromYamlError::ParseYaml(load) => (0, 0, load.to_string()),
            marked_yaml::FromYamlError::FromNode(node) => {
                let mark = node.start_mark();
                (
                    mark.map_or(0, |it| it.line()),
                    mark.map_or(0, |it| it.column()),
                    node.to_string(),
                )
            }
        };
        ModelError::Yaml {
            file: file.display().to_string(),
            line,
            column,
            message,
        }
    })
}

fn collect_rpms(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ModelError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ModelError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() {
            collect_rpms(&path, out)?;
        } else if path.extension().is_some_and(|it| it == "rpm") {
            out.push(path);
        }
    }
    Ok(())
}

/// What an RPM's headers say.
struct RpmInfo {
    name: String,
    version: String,
    release: String,
    epoch: Option<u32>,
    arch: String,
    size: u64,
    sigmd5: String,
    buildtime: i64,
    build_nvr: String,
}

fn read_rpm(path: &Path) -> Result<RpmInfo, ModelError> {
    let bad = |why: String| ModelError::Rpm {
        path: path.to_owned(),
        why,
    };
    let meta = rpm::PackageMetadata::open(path).map_err(|err| bad(err.to_string()))?;
    let text = |value: Result<&str, rpm::Error>, what: &str| {
        value
            .map(str::to_owned)
            .map_err(|err| bad(format!("no {what}: {err}")))
    };
    let name = text(meta.get_name(), "name")?;
    let version = text(meta.get_version(), "version")?;
    let release = text(meta.get_release(), "release")?;
    let source = meta.is_source_package();
    let arch = if source {
        "src".to_owned()
    } else {
        text(meta.get_arch(), "arch")?
    };
    let build_nvr = if source {
        format!("{name}-{version}-{release}")
    } else {
        let source_rpm = text(meta.get_source_rpm(), "source RPM")?;
        source_rpm
            .strip_suffix(".src.rpm")
            .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))
            .ok_or_else(|| {
                bad(format!(
                    "its source RPM {source_rpm:?} does not end in .src.rpm"
                ))
            })?
            .to_owned()
    };
    let sigmd5 = meta
        .signature
        .get_entry_data_as_binary(rpm::IndexSignatureTag::RPMSIGTAG_MD5)
        .map_err(|err| bad(format!("no SIGMD5 in the signature header: {err}")))?
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let size = std::fs::metadata(path)
        .map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    Ok(RpmInfo {
        name,
        version,
        release,
        epoch: meta.get_epoch().ok(),
        arch,
        size,
        sigmd5,
        buildtime: meta
            .get_build_time()
            .ok()
            .and_then(|it| i64::try_from(it).ok())
            .unwrap_or(0),
        build_nvr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvrs_split_from_the_right() {
        assert_eq!(
            split_nvr("python-foo-1.2-3.fc44"),
            Some(("python-foo", "1.2", "3.fc44"))
        );
        assert_eq!(split_nvr("foo-1.2"), None);
        assert_eq!(split_nvr("-1-2"), None);
    }

    #[test]
    fn a_bad_infra_file_names_the_place() {
        let err = parse_infra(
            Path::new("infra.yaml"),
            "koji:\n  builds:\n    - nvr: a-1-1\n      colour: red\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("infra.yaml:4:"), "{text}");
        assert!(text.contains("colour"), "{text}");
    }

    #[test]
    fn builds_tags_and_events_from_a_description() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(INFRA_FILE),
            "koji:\n  tags: [f44]\n  builds:\n    - nvr: foo-1.2-3.fc44\n      owner: alice\n      completed: 2026-11-20T10:20:00Z\n      tags: [f44-updates-candidate, f44]\n    - nvr: bar-1-1.fc44\n      state: failed\n",
        )
        .unwrap();
        let mut koji = Koji::load(tmp.path()).unwrap();
        let foo = koji.build_by_nvr("foo-1.2-3.fc44").unwrap().clone();
        assert_eq!(foo.completion_ts, Some(1_795_170_000.0));
        assert_eq!(foo.owner, "alice");
        assert_eq!(koji.build_by_nvr("bar-1-1.fc44").unwrap().state, 3);
        assert_eq!(
            koji.tags.values().collect::<Vec<_>>(),
            ["f44", "f44-updates-candidate"]
        );
        assert_eq!(koji.listings.len(), 2);
        // Tagging twice changes nothing; untagging records the event.
        assert_eq!(koji.tag(foo.id, "f44", "bodhi", 1.0).unwrap(), None);
        let event = koji.untag(foo.id, "f44", "bodhi").unwrap();
        assert_eq!(koji.events.last().unwrap().0, event);
        let bad = Koji::load(tmp.path());
        assert!(bad.is_ok());
        std::fs::write(
            tmp.path().join(INFRA_FILE),
            "koji:\n  builds:\n    - nvr: x-1-1\n      state: done\n",
        )
        .unwrap();
        let err = Koji::load(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("state \"done\""), "{err}");
    }

    #[test]
    fn states_change() {
        let tmp = tempfile::tempdir().unwrap();
        let mut koji = Koji::load(tmp.path()).unwrap();
        let id = koji
            .add_build(&BuildSpec {
                nvr: "foo-1-1".to_owned(),
                epoch: None,
                owner: None,
                state: Some("building".to_owned()),
                completed: None,
                task_id: None,
                tags: Vec::new(),
                volume: None,
                source: None,
            })
            .unwrap();
        assert_eq!(koji.build(id).unwrap().completion_ts, None);
        assert_eq!(koji.set_state(id, "complete").unwrap(), Some((0, 1)));
        assert!(koji.build(id).unwrap().completion_ts.is_some());
        assert_eq!(koji.set_state(id, "complete").unwrap(), None);
        let err = koji.set_state(id, "done").unwrap_err().to_string();
        assert!(err.contains("foo-1-1: state \"done\""), "{err}");
        assert!(koji.set_state(id + 1, "failed").is_err());
    }
}
