//! upgradepath: a build pushed to stable in release N must not be newer than
//! the same package in any higher release, nor older than in any lower one,
//! so that upgrading from one release to the next never goes backwards.
//!
//! Pure: the caller finds each release's latest builds (Koji, in
//! [`crate::koji`]) and hands them in as [`ReleaseState`]s.
//!
//! What counts, for each other release of the same family:
//!
//! - its *stable* repositories: the release itself and its stable updates
//!   (`f44` and `f44-updates`); the newest build of the two;
//! - what is *pending* push to stable (`f44-updates-pending`): it will be in
//!   the stable repositories after the next push;
//! - updates-testing does not count: a build in testing may never go stable.
//!
//! A lower release fails the build when its stable or pending build is newer.
//! A higher release passes when its stable build is the same or newer; when
//! only its pending build is, the result is INFO (the two must be pushed
//! together); when neither is, it fails. A release without the package at all
//! does not break the path.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use taskotron_rpm::evr_cmp;
use taskotron_types::{Evr, Nvr, NvrError, Outcome};

/// A build: its NVR and its full EVR (the epoch comes from Koji).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    /// `name-version-release`.
    pub nvr: String,
    /// The package name.
    pub name: String,
    /// Epoch, version and release.
    #[serde(skip)]
    pub evr: Evr,
}

impl Build {
    /// A build from its NVR and epoch.
    pub fn new(nvr: &str, epoch: Option<u64>) -> Result<Build, NvrError> {
        let parsed = Nvr::parse(nvr)?;
        Ok(Build {
            nvr: nvr.to_owned(),
            name: parsed.name,
            evr: Evr {
                epoch,
                version: parsed.version,
                release: Some(parsed.release),
            },
        })
    }

    fn cmp_evr(&self, other: &Build) -> Ordering {
        evr_cmp(&self.evr, &other.evr)
    }

    /// The NVR with the epoch when it has one (`2:foo-1.0-1.fc44`).
    pub fn shown(&self) -> String {
        match self.evr.epoch {
            Some(epoch) if epoch > 0 => format!("{epoch}:{}", self.nvr),
            _ => self.nvr.clone(),
        }
    }
}

/// A release as upgradepath orders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// Bodhi's name, `F44`.
    pub name: String,
    /// The version, `44` (compared with rpmvercmp, so `10.1` > `10`).
    pub version: String,
    /// The family, Bodhi's `id_prefix` (`FEDORA`, `FEDORA-EPEL`).
    pub family: String,
    /// Bodhi's state: `archived` and `disabled` releases are left out.
    pub state: String,
}

/// Why the releases to compare with cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradepathError {
    /// The build's release is not among the releases.
    #[error("release `{0}` is not among the releases Bodhi lists")]
    UnknownRelease(String),
}

/// The other releases of `target`'s family that count, lowest first: those
/// below it and those above it. Archived and disabled releases are left out.
pub fn neighbours<'a>(
    releases: &'a [ReleaseInfo],
    target: &str,
) -> Result<(Vec<&'a ReleaseInfo>, Vec<&'a ReleaseInfo>), UpgradepathError> {
    let Some(me) = releases.iter().find(|it| it.name == target) else {
        return Err(UpgradepathError::UnknownRelease(target.to_owned()));
    };
    let mut others: Vec<&ReleaseInfo> = releases
        .iter()
        .filter(|it| {
            it.name != me.name
                && it.family == me.family
                && !matches!(it.state.as_str(), "archived" | "disabled")
        })
        .collect();
    others.sort_by(|a, b| taskotron_rpm::rpmvercmp(&a.version, &b.version));
    let lower = others
        .iter()
        .copied()
        .filter(|it| taskotron_rpm::rpmvercmp(&it.version, &me.version) == Ordering::Less)
        .collect();
    let higher = others
        .iter()
        .copied()
        .filter(|it| taskotron_rpm::rpmvercmp(&it.version, &me.version) == Ordering::Greater)
        .collect();
    Ok((lower, higher))
}

/// One other release's builds of the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseState {
    /// The release's name, `F45`.
    pub release: String,
    /// The tags of its stable repositories (`f45`, `f45-updates`).
    pub stable_tags: Vec<String>,
    /// The tag of what is pending push to stable, if the release has one.
    pub pending_tag: Option<String>,
    /// The newest build in the stable tags.
    pub stable: Option<Build>,
    /// The newest build pending push to stable.
    pub pending: Option<Build>,
}

/// How one release compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// A release below the build's.
    Lower,
    /// A release above the build's.
    Higher,
}

/// One comparison's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// The path is kept.
    Ok,
    /// Kept only if a pending build is pushed together with this one.
    Info,
    /// Broken.
    Fail,
}

impl Verdict {
    fn outcome(self) -> Outcome {
        match self {
            Verdict::Ok => Outcome::Passed,
            Verdict::Info => Outcome::Info,
            Verdict::Fail => Outcome::Failed,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "[ OK ]",
            Verdict::Info => "[INFO]",
            Verdict::Fail => "[FAIL]",
        })
    }
}

/// The build against one other release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The other release.
    pub release: String,
    /// Below or above the build's release.
    pub side: Side,
    /// Its stable tags, for people.
    pub stable_tags: Vec<String>,
    /// Its newest stable build.
    pub latest: Option<String>,
    /// Its newest build pending push to stable.
    pub latest_pending: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words, naming the builds involved.
    pub reason: String,
}

/// upgradepath's result for one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildResult {
    /// The build's NVR.
    pub item: String,
    /// Its release.
    pub release: String,
    /// PASSED, INFO or FAILED.
    pub outcome: Outcome,
    /// A one-line summary naming the offending builds.
    pub note: String,
    /// Each other release, lowest first.
    pub comparisons: Vec<Comparison>,
}

/// Check one build of `release` against the lower and higher releases
/// (each lowest first).
pub fn check(
    build: &Build,
    release: &str,
    lower: &[ReleaseState],
    higher: &[ReleaseState],
) -> BuildResult {
    let mut comparisons = Vec::new();
    for state in lower {
        comparisons.push(compare_lower(build, state));
    }
    for state in higher {
        comparisons.push(compare_higher(build, state));
    }
    let outcome = Outcome::worst(comparisons.iter().map(|it| it.verdict.outcome()))
        .unwrap_or(Outcome::Passed);
    let flagged: Vec<String> = comparisons
        .iter()
        .filter(|it| it.verdict != Verdict::Ok)
        .map(|it| format!("{}: {}", it.release, it.reason))
        .collect();
    let note = if flagged.is_empty() {
        if comparisons.is_empty() {
            format!(
                "{} into {release}: no other release to compare with",
                build.nvr
            )
        } else {
            let names: Vec<&str> = comparisons.iter().map(|it| it.release.as_str()).collect();
            format!(
                "{} into {release}: upgrade path kept with {}",
                build.nvr,
                names.join(", ")
            )
        }
    } else {
        format!("{} into {release}: {}", build.nvr, flagged.join("; "))
    };
    BuildResult {
        item: build.nvr.clone(),
        release: release.to_owned(),
        outcome,
        note,
        comparisons,
    }
}

fn comparison(state: &ReleaseState, side: Side, verdict: Verdict, reason: String) -> Comparison {
    Comparison {
        release: state.release.clone(),
        side,
        stable_tags: state.stable_tags.clone(),
        latest: state.stable.as_ref().map(Build::shown),
        latest_pending: state.pending.as_ref().map(Build::shown),
        verdict,
        reason,
    }
}

fn compare_lower(build: &Build, state: &ReleaseState) -> Comparison {
    let newer = |other: &Option<Build>| {
        other
            .as_ref()
            .filter(|it| it.cmp_evr(build) == Ordering::Greater)
            .map(Build::shown)
    };
    if let Some(nvr) = newer(&state.stable) {
        return comparison(
            state,
            Side::Lower,
            Verdict::Fail,
            format!("{nvr} is newer than {}", build.shown()),
        );
    }
    if let Some(nvr) = newer(&state.pending) {
        let tag = state.pending_tag.as_deref().unwrap_or("pending");
        return comparison(
            state,
            Side::Lower,
            Verdict::Fail,
            format!(
                "{nvr} ({tag}) is newer than {} and goes stable with the next push",
                build.shown()
            ),
        );
    }
    let reason = match &state.stable {
        Some(it) => format!("{} is not newer", it.shown()),
        None => "the package is not there".to_owned(),
    };
    comparison(state, Side::Lower, Verdict::Ok, reason)
}

fn compare_higher(build: &Build, state: &ReleaseState) -> Comparison {
    fn not_older<'a>(other: Option<&'a Build>, build: &Build) -> Option<&'a Build> {
        other.filter(|it| it.cmp_evr(build) != Ordering::Less)
    }
    if let Some(it) = not_older(state.stable.as_ref(), build) {
        let reason = format!("{} is not older", it.shown());
        return comparison(state, Side::Higher, Verdict::Ok, reason);
    }
    if let Some(it) = not_older(state.pending.as_ref(), build) {
        let tag = state.pending_tag.as_deref().unwrap_or("pending");
        let reason = format!(
            "only {} ({tag}) is not older; it must be pushed together with {}, or the upgrade path breaks",
            it.shown(),
            build.shown()
        );
        return comparison(state, Side::Higher, Verdict::Info, reason);
    }
    match (&state.stable, &state.pending) {
        (None, None) => comparison(
            state,
            Side::Higher,
            Verdict::Ok,
            "the package is not there".to_owned(),
        ),
        (stable, pending) => {
            let mut older: Vec<String> = Vec::new();
            if let Some(it) = stable {
                older.push(it.shown());
            }
            if let Some(it) = pending {
                older.push(format!(
                    "{} ({})",
                    it.shown(),
                    state.pending_tag.as_deref().unwrap_or("pending")
                ));
            }
            let reason = format!("{} is older than {}", older.join(" and "), build.shown());
            comparison(state, Side::Higher, Verdict::Fail, reason)
        }
    }
}

/// The report for people, in the layout of the original upgradepath.
pub fn render(result: &BuildResult) -> String {
    let mut out = String::new();
    let rule = "=".repeat(60);
    out.push_str(&format!(
        "{rule}\n{} into {}\n{rule}\n",
        result.item, result.release
    ));
    for it in &result.comparisons {
        out.push_str(&format!(
            "{} {} ({})\n",
            it.verdict,
            it.release,
            it.stable_tags.join(" + ")
        ));
        out.push_str(&format!(
            "\tLatest package: {}\n",
            it.latest.as_deref().unwrap_or("None")
        ));
        out.push_str(&format!(
            "\tLatest pending package: {}\n",
            it.latest_pending.as_deref().unwrap_or("None")
        ));
        if it.verdict != Verdict::Ok {
            out.push_str(&format!("\t{}\n", it.reason));
        }
    }
    out.push_str(&format!("RESULT: {}\n", result.outcome.as_str()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(nvr: &str) -> Build {
        Build::new(nvr, None).unwrap_or_else(|err| panic!("{nvr}: {err}"))
    }

    fn state(release: &str, stable: Option<&str>, pending: Option<&str>) -> ReleaseState {
        let tag = release.to_ascii_lowercase();
        ReleaseState {
            release: release.to_owned(),
            stable_tags: vec![tag.clone(), format!("{tag}-updates")],
            pending_tag: Some(format!("{tag}-updates-pending")),
            stable: stable.map(b),
            pending: pending.map(b),
        }
    }

    #[test]
    fn the_path_is_kept_when_lower_is_older_and_higher_newer() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[state("F43", Some("foo-1.0-1.fc43"), None)],
            &[state("F45", Some("foo-1.2-1.fc45"), None)],
        );
        assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
        assert_eq!(
            result.note,
            "foo-1.1-1.fc44 into F44: upgrade path kept with F43, F45"
        );
    }

    #[test]
    fn a_newer_build_than_the_higher_release_fails_naming_it() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[],
            &[state("F45", Some("foo-1.0-1.fc45"), None)],
        );
        assert_eq!(result.outcome, Outcome::Failed);
        assert_eq!(
            result.note,
            "foo-1.1-1.fc44 into F44: F45: foo-1.0-1.fc45 is older than foo-1.1-1.fc44"
        );
    }

    #[test]
    fn a_pending_higher_build_makes_it_info() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[],
            &[state("F45", Some("foo-1.0-1.fc45"), Some("foo-1.1-1.fc45"))],
        );
        assert_eq!(result.outcome, Outcome::Info);
        assert!(
            result
                .note
                .contains("only foo-1.1-1.fc45 (f45-updates-pending) is not older"),
            "{}",
            result.note
        );
    }

    #[test]
    fn older_than_a_lower_release_fails_and_pending_counts() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[
                state("F42", Some("foo-2.0-1.fc42"), None),
                state("F43", Some("foo-1.0-1.fc43"), Some("foo-1.5-1.fc43")),
            ],
            &[],
        );
        assert_eq!(result.outcome, Outcome::Failed);
        assert!(
            result.note.contains("F42: foo-2.0-1.fc42 is newer"),
            "{}",
            result.note
        );
        assert!(
            result
                .note
                .contains("F43: foo-1.5-1.fc43 (f43-updates-pending) is newer"),
            "{}",
            result.note
        );
    }

    #[test]
    fn equal_versions_and_absent_packages_keep_the_path() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[state("F43", None, None)],
            &[
                state("F45", Some("foo-1.1-1.fc44"), None),
                state("F46", None, None),
            ],
        );
        assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
    }

    #[test]
    fn epochs_win_over_versions() {
        let mut higher = state("F45", None, None);
        higher.stable =
            Some(Build::new("foo-0.1-1.fc45", Some(1)).unwrap_or_else(|e| panic!("{e}")));
        let result = check(&b("foo-9.0-1.fc44"), "F44", &[], &[higher]);
        assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
        // Tilde sorts before anything: a pre-release is older.
        let result = check(
            &b("foo-1.0-1.fc44"),
            "F44",
            &[],
            &[state("F45", Some("foo-1.0~rc1-1.fc45"), None)],
        );
        assert_eq!(result.outcome, Outcome::Failed);
    }

    #[test]
    fn neighbours_keep_the_family_and_skip_archived() {
        let r = |name: &str, version: &str, family: &str, state: &str| ReleaseInfo {
            name: name.to_owned(),
            version: version.to_owned(),
            family: family.to_owned(),
            state: state.to_owned(),
        };
        let releases = vec![
            r("F45", "45", "FEDORA", "pending"),
            r("F42", "42", "FEDORA", "archived"),
            r("F43", "43", "FEDORA", "current"),
            r("F44", "44", "FEDORA", "current"),
            r("EPEL-10", "10", "FEDORA-EPEL", "current"),
            r("F100", "100", "FEDORA", "pending"),
        ];
        let (lower, higher) = neighbours(&releases, "F44").unwrap_or_else(|e| panic!("{e}"));
        let names = |list: Vec<&ReleaseInfo>| -> Vec<String> {
            list.iter().map(|it| it.name.clone()).collect()
        };
        assert_eq!(names(lower), ["F43"]);
        assert_eq!(names(higher), ["F45", "F100"]);
        assert_eq!(
            neighbours(&releases, "F7"),
            Err(UpgradepathError::UnknownRelease("F7".to_owned()))
        );
    }

    #[test]
    fn render_follows_the_original_layout() {
        let result = check(
            &b("foo-1.1-1.fc44"),
            "F44",
            &[state("F43", Some("foo-1.0-1.fc43"), None)],
            &[state("F45", Some("foo-1.0-1.fc45"), None)],
        );
        let text = render(&result);
        assert!(
            text.contains("[ OK ] F43 (f43 + f43-updates)\n\tLatest package: foo-1.0-1.fc43\n"),
            "{text}"
        );
        assert!(text.contains("[FAIL] F45"), "{text}");
        assert!(text.ends_with("RESULT: FAILED\n"), "{text}");
    }
}
