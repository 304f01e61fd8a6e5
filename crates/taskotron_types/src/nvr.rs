//! RPM build names: NVR (`name-version-release`) and EVR (`[epoch:]version[-release]`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an NVR or an EVR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NvrError {
    /// Fewer than three dash-separated parts.
    #[error("`{0}` is not name-version-release: it needs at least two dashes")]
    TooFewParts(String),
    /// A part is empty (`foo--1`, `-1-2`).
    #[error("`{0}` has an empty name, version or release")]
    EmptyPart(String),
    /// The epoch is not a number.
    #[error("`{0}` has an epoch that is not a whole number")]
    BadEpoch(String),
    /// The string holds whitespace.
    #[error("`{0}` contains whitespace")]
    Whitespace(String),
}

/// A build's name, version and release, as Koji names builds (no epoch).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nvr {
    /// The package name; it may itself contain dashes.
    pub name: String,
    /// The upstream version.
    pub version: String,
    /// The release, usually ending in a dist tag such as `.fc40`.
    pub release: String,
}

impl Nvr {
    /// Parse `name-version-release`, splitting at the last two dashes.
    pub fn parse(s: &str) -> Result<Nvr, NvrError> {
        if s.chars().any(char::is_whitespace) {
            return Err(NvrError::Whitespace(s.to_owned()));
        }
        let mut parts = s.rsplitn(3, '-');
        let (Some(release), Some(version), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NvrError::TooFewParts(s.to_owned()));
        };
        if name.is_empty() || version.is_empty() || release.is_empty() {
            return Err(NvrError::EmptyPart(s.to_owned()));
        }
        Ok(Nvr {
            name: name.to_owned(),
            version: version.to_owned(),
            release: release.to_owned(),
        })
    }

    /// The dist tag of the release, the part after its last dot when that part
    /// looks like one (`fc40`, `el9`, `eln136`): `2.fc40` gives `fc40`.
    pub fn dist_tag(&self) -> Option<&str> {
        let (_, last) = self.release.rsplit_once('.')?;
        let letters = last.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
        let is_dist = !letters.is_empty()
            && letters.len() < last.len()
            && letters.chars().all(|c| c.is_ascii_lowercase());
        is_dist.then_some(last)
    }
}

impl fmt::Display for Nvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.name, self.version, self.release)
    }
}

/// An epoch, version and optional release, as dependencies and `rpm -q` show them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Evr {
    /// The epoch; `None` when the string gave none.
    pub epoch: Option<u64>,
    /// The version.
    pub version: String,
    /// The release, when given.
    pub release: Option<String>,
}

impl Evr {
    /// Parse `[epoch:]version[-release]`.
    pub fn parse(s: &str) -> Result<Evr, NvrError> {
        if s.chars().any(char::is_whitespace) {
            return Err(NvrError::Whitespace(s.to_owned()));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                let epoch = e
                    .parse::<u64>()
                    .map_err(|_| NvrError::BadEpoch(s.to_owned()))?;
                (Some(epoch), rest)
            }
            None => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        if version.is_empty() || release.is_some_and(str::is_empty) {
            return Err(NvrError::EmptyPart(s.to_owned()));
        }
        Ok(Evr {
            epoch,
            version: version.to_owned(),
            release: release.map(str::to_owned),
        })
    }
}

impl fmt::Display for Evr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = self.epoch {
            write!(f, "{epoch}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvr_splits_at_the_last_two_dashes() {
        let nvr = Nvr::parse("python-requests-toolbelt-1.0.0-4.fc40").unwrap();
        assert_eq!(nvr.name, "python-requests-toolbelt");
        assert_eq!(nvr.version, "1.0.0");
        assert_eq!(nvr.release, "4.fc40");
        assert_eq!(nvr.to_string(), "python-requests-toolbelt-1.0.0-4.fc40");
        assert_eq!(nvr.dist_tag(), Some("fc40"));
    }

    #[test]
    fn bad_nvrs() {
        fn check(input: &str, expect: &str) {
            let err = Nvr::parse(input).unwrap_err().to_string();
            assert!(err.contains(expect), "{input:?}: {err}");
        }
        check("foo-1", "at least two dashes");
        check("foo", "at least two dashes");
        check("foo--1", "empty");
        check("-1-2", "empty");
        check("foo-1-", "empty");
        check("foo 1-2-3", "whitespace");
    }

    #[test]
    fn dist_tags() {
        fn check(release: &str, expect: Option<&str>) {
            let nvr = Nvr {
                name: "x".into(),
                version: "1".into(),
                release: release.into(),
            };
            assert_eq!(nvr.dist_tag(), expect, "{release}");
        }
        check("1.fc40", Some("fc40"));
        check("3.el9_2", Some("el9_2"));
        check("0.rc1.eln136", Some("eln136"));
        check("1", None);
        check("1.2", None);
        check("1.git", None);
    }

    #[test]
    fn evrs() {
        let evr = Evr::parse("2:1.0-3.fc40").unwrap();
        assert_eq!(evr.epoch, Some(2));
        assert_eq!(evr.version, "1.0");
        assert_eq!(evr.release.as_deref(), Some("3.fc40"));
        assert_eq!(evr.to_string(), "2:1.0-3.fc40");
        assert_eq!(Evr::parse("1.0").unwrap().to_string(), "1.0");
        assert!(Evr::parse("x:1.0").is_err());
        assert!(Evr::parse("1.0-").is_err());
    }
}
