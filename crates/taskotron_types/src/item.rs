//! Items, item types and check names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of thing a check is about: the `-t`/`type` value of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// A Koji build, identified by its NVR without epoch (`cups-2.2.0-9.fc25`).
    KojiBuild,
    /// A Koji tag (`f25-updates-testing-pending`).
    KojiTag,
    /// A Bodhi update (`FEDORA-2017-04459ef8cf`).
    BodhiUpdate,
    /// A compose or image, by URL.
    Compose,
    /// A dist-git commit, `namespace/repo#commit`.
    DistGitCommit,
    /// A container image, by registry URL.
    DockerImage,
    /// A git commit, `server/repo#branch#commit`.
    GitCommit,
    /// A module build, `name-stream-version`.
    ModuleBuild,
    /// A pull request, by URL.
    PullRequest,
}

impl ItemType {
    /// Every item type, in the order `--help` lists them.
    pub const ALL: [ItemType; 9] = [
        ItemType::KojiBuild,
        ItemType::KojiTag,
        ItemType::BodhiUpdate,
        ItemType::Compose,
        ItemType::DistGitCommit,
        ItemType::DockerImage,
        ItemType::GitCommit,
        ItemType::ModuleBuild,
        ItemType::PullRequest,
    ];

    /// The name used on the command line, in formulas and in ResultsDB's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::KojiBuild => "koji_build",
            ItemType::KojiTag => "koji_tag",
            ItemType::BodhiUpdate => "bodhi_update",
            ItemType::Compose => "compose",
            ItemType::DistGitCommit => "dist_git_commit",
            ItemType::DockerImage => "docker_image",
            ItemType::GitCommit => "git_commit",
            ItemType::ModuleBuild => "module_build",
            ItemType::PullRequest => "pull_request",
        }
    }

    /// The names of every item type, comma-separated, for error messages.
    pub fn names() -> String {
        ItemType::ALL.map(ItemType::as_str).join(", ")
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no item type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown item type `{name}`, expected one of {}", ItemType::names())]
pub struct UnknownItemType {
    /// The string that was given.
    pub name: String,
}

impl FromStr for ItemType {
    type Err = UnknownItemType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemType::ALL
            .into_iter()
            .find(|it| it.as_str() == s)
            .ok_or_else(|| UnknownItemType { name: s.to_owned() })
    }
}

/// The thing a check is about: an item type and its identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    /// What kind of item this is.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// The item itself, as the item type spells it (an NVR, a tag, an update id…).
    pub identifier: String,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.item_type, self.identifier)
    }
}

/// A check's name: dot-separated parts, `namespace.name[.subcheck…]`, as in
/// `dist.rpmlint` or `dist.python-versions.two_three`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CheckName(String);

/// Why a string is not a check name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckNameError {
    /// The name is empty.
    #[error("check name is empty")]
    Empty,
    /// A dot-separated part is empty (`dist..x`, `.x`, `x.`).
    #[error("check name `{0}` has an empty part between dots")]
    EmptyPart(String),
    /// The name holds whitespace or a control character.
    #[error("check name `{0}` contains whitespace or a control character")]
    BadCharacter(String),
}

impl CheckName {
    /// Parse and validate a check name.
    pub fn new(name: impl Into<String>) -> Result<CheckName, CheckNameError> {
        let name = name.into();
        if name.is_empty() {
            return Err(CheckNameError::Empty);
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CheckNameError::BadCharacter(name));
        }
        if name.split('.').any(str::is_empty) {
            return Err(CheckNameError::EmptyPart(name));
        }
        Ok(CheckName(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CheckName {
    type Error = CheckNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        CheckName::new(value)
    }
}

impl From<CheckName> for String {
    fn from(value: CheckName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_types_round_trip() {
        for it in ItemType::ALL {
            assert_eq!(it.as_str().parse::<ItemType>(), Ok(it));
        }
        let err = "koji-build".parse::<ItemType>().unwrap_err().to_string();
        assert!(
            err.contains("`koji-build`") && err.contains("koji_build, koji_tag"),
            "{err}"
        );
    }

    #[test]
    fn check_names() {
        fn check(input: &str, ok: bool) {
            assert_eq!(CheckName::new(input).is_ok(), ok, "{input:?}");
        }
        check("dist.rpmlint", true);
        check("dist.python-versions.two_three", true);
        check("rpmlint", true);
        check("", false);
        check("dist..x", false);
        check(".x", false);
        check("x.", false);
        check("a b", false);
    }
}
