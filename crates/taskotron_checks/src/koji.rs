//! upgradepath's inputs from Fedora's services: the releases (Bodhi), the
//! update's builds (Bodhi), each build's epoch and each release's latest
//! builds of the package (Koji's `getLatestBuilds`, in one `multiCall` per
//! build). The adapter around the pure [`crate::upgradepath`].

use serde_json::Value as Json;
use taskotron_bodhi::repos::{RepoMap, RepoTemplates};
use taskotron_bodhi::{BodhiClient, BodhiError, Release};
use taskotron_koji::{BuildRef, Call, KojiClient, KojiError};

use crate::upgradepath::{self, Build, BuildResult, ReleaseInfo, ReleaseState, UpgradepathError};

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every build of a Bodhi update, in the update's release.
    Update(String),
    /// The latest builds of a Koji tag (e.g. `f44-updates-pending`), in the
    /// release the tag belongs to.
    Tag(String),
    /// Builds by NVR, each in the release its dist tag names (or the one given).
    Builds {
        /// The NVRs.
        nvrs: Vec<String>,
        /// The release, instead of the one the dist tag names.
        release: Option<String>,
    },
}

/// Why upgradepath could not decide.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Bodhi could not be read.
    #[error(transparent)]
    Bodhi(#[from] BodhiError),
    /// Koji could not be read.
    #[error(transparent)]
    Koji(#[from] KojiError),
    /// No such update.
    #[error("Bodhi has no update {0}")]
    NoUpdate(String),
    /// No such build.
    #[error("Koji has no build {0}")]
    NoBuild(String),
    /// The NVR is not `name-version-release`, or its epoch is not a number.
    #[error("{nvr}: {why}")]
    BadBuild {
        /// The NVR.
        nvr: String,
        /// What is wrong.
        why: String,
    },
    /// The tag belongs to no release.
    #[error("Koji tag `{0}` belongs to no Bodhi release")]
    NoReleaseForTag(String),
    /// The NVR names no release.
    #[error(
        "{0} belongs to no Bodhi release (its dist tag names none); give the release with --release"
    )]
    NoRelease(String),
    /// A Koji call for one tag failed.
    #[error("getLatestBuilds({tag}, package={package}) on {url}: Koji answered {fault}")]
    Tag {
        /// The hub.
        url: String,
        /// The tag.
        tag: String,
        /// The package.
        package: String,
        /// The fault, as Koji wrote it.
        fault: String,
    },
    /// The release cannot be placed among the others.
    #[error(transparent)]
    Releases(#[from] UpgradepathError),
}

/// A release as upgradepath orders it, from Bodhi's.
pub fn release_info(release: &Release) -> ReleaseInfo {
    ReleaseInfo {
        name: release.name.clone(),
        version: release.version.clone().unwrap_or_else(|| {
            release
                .name
                .chars()
                .filter(|it| it.is_ascii_digit() || *it == '.')
                .collect()
        }),
        family: release.id_prefix.clone().unwrap_or_default(),
        state: release.state.clone().unwrap_or_default(),
    }
}

/// Check the target's builds against the Koji hub and Bodhi at these URLs.
pub async fn check_at(
    koji_hub: &str,
    bodhi_url: &str,
    target: &Target,
) -> Result<Vec<BuildResult>, SourceError> {
    let koji = KojiClient::new(koji_hub)?;
    let bodhi = BodhiClient::new(bodhi_url)?;
    check(&koji, &bodhi, target).await
}

/// Check the target's builds: one result per build, in the order given.
pub async fn check(
    koji: &KojiClient,
    bodhi: &BodhiClient,
    target: &Target,
) -> Result<Vec<BuildResult>, SourceError> {
    let releases = bodhi.releases(None).await?;
    let (nvrs, forced): (Vec<String>, Option<String>) = match target {
        Target::Update(alias) => {
            let update = bodhi
                .update(alias)
                .await?
                .ok_or_else(|| SourceError::NoUpdate(alias.clone()))?;
            (
                update.builds.iter().map(|it| it.nvr.clone()).collect(),
                Some(update.release.name.clone()),
            )
        }
        Target::Tag(tag) => {
            let map = RepoMap::new(
                releases.clone(),
                RepoTemplates::default(),
                Default::default(),
            );
            let release = map
                .release_of_tag(tag)
                .map(|it| it.name.clone())
                .ok_or_else(|| SourceError::NoReleaseForTag(tag.clone()))?;
            let mut nvrs: Vec<String> = koji
                .get_latest_builds(tag, None)
                .await?
                .into_iter()
                .map(|it| it.nvr)
                .collect();
            nvrs.sort();
            (nvrs, Some(release))
        }
        Target::Builds { nvrs, release } => (nvrs.clone(), release.clone()),
    };
    if nvrs.is_empty() {
        return Ok(Vec::new());
    }
    let map = RepoMap::new(
        releases.clone(),
        RepoTemplates::default(),
        Default::default(),
    );
    let infos: Vec<ReleaseInfo> = releases.iter().map(release_info).collect();
    let refs: Vec<BuildRef> = nvrs.iter().map(|it| BuildRef::Nvr(it.clone())).collect();
    let found = koji.get_builds(&refs).await?;
    let mut results = Vec::new();
    for (nvr, answer) in nvrs.iter().zip(found) {
        let koji_build = answer
            .map_err(|fault| SourceError::BadBuild {
                nvr: nvr.clone(),
                why: format!("Koji answered {fault}"),
            })?
            .ok_or_else(|| SourceError::NoBuild(nvr.clone()))?;
        let epoch = epoch_of(nvr, koji_build.epoch.as_ref())?;
        let build = Build::new(nvr, epoch).map_err(|err| SourceError::BadBuild {
            nvr: nvr.clone(),
            why: err.to_string(),
        })?;
        let release = match &forced {
            Some(name) => name.clone(),
            None => map
                .release_of_nvr(nvr)
                .map(|it| it.name.clone())
                .ok_or_else(|| SourceError::NoRelease(nvr.clone()))?,
        };
        let (lower, higher) = upgradepath::neighbours(&infos, &release)?;
        let find = |info: &ReleaseInfo| releases.iter().find(|it| it.name == info.name);
        let lower: Vec<&Release> = lower.into_iter().filter_map(find).collect();
        let higher: Vec<&Release> = higher.into_iter().filter_map(find).collect();
        let lower = states(koji, &build.name, &lower).await?;
        let higher = states(koji, &build.name, &higher).await?;
        results.push(upgradepath::check(&build, &release, &lower, &higher));
    }
    Ok(results)
}

fn epoch_of(nvr: &str, epoch: Option<&Json>) -> Result<Option<u64>, SourceError> {
    match epoch {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n.as_u64().map(Some).ok_or_else(|| SourceError::BadBuild {
            nvr: nvr.to_owned(),
            why: format!("Koji gives the epoch {n}"),
        }),
        Some(Json::String(text)) => text.parse().map(Some).map_err(|_| SourceError::BadBuild {
            nvr: nvr.to_owned(),
            why: format!("Koji gives the epoch {text:?}"),
        }),
        Some(other) => Err(SourceError::BadBuild {
            nvr: nvr.to_owned(),
            why: format!("Koji gives the epoch {other}"),
        }),
    }
}

/// The releases' stable and pending tags, in the order they are asked.
fn tags_of(release: &Release) -> (Vec<String>, Option<String>) {
    let mut stable: Vec<String> = Vec::new();
    for tag in [&release.dist_tag, &release.stable_tag]
        .into_iter()
        .flatten()
    {
        if !stable.contains(tag) {
            stable.push(tag.clone());
        }
    }
    let pending = release
        .pending_stable_tag
        .clone()
        .filter(|it| !stable.contains(it));
    (stable, pending)
}

/// Each release's newest stable and pending build of `package`, in one
/// `multiCall`.
async fn states(
    koji: &KojiClient,
    package: &str,
    releases: &[&Release],
) -> Result<Vec<ReleaseState>, SourceError> {
    let mut calls = Vec::new();
    let mut asked: Vec<(usize, String, bool)> = Vec::new();
    let mut out = Vec::new();
    for (index, release) in releases.iter().enumerate() {
        let (stable, pending) = tags_of(release);
        for tag in &stable {
            calls.push(
                Call::new("getLatestBuilds")
                    .arg(tag.as_str())
                    .kwarg("package", package),
            );
            asked.push((index, tag.clone(), false));
        }
        if let Some(tag) = &pending {
            calls.push(
                Call::new("getLatestBuilds")
                    .arg(tag.as_str())
                    .kwarg("package", package),
            );
            asked.push((index, tag.clone(), true));
        }
        out.push(ReleaseState {
            release: release.name.clone(),
            stable_tags: stable,
            pending_tag: pending,
            stable: None,
            pending: None,
        });
    }
    if calls.is_empty() {
        return Ok(out);
    }
    let answers = koji.multicall(&calls).await?;
    for ((index, tag, pending), answer) in asked.into_iter().zip(answers) {
        let value = answer.map_err(|fault| SourceError::Tag {
            url: koji.url().to_owned(),
            tag: tag.clone(),
            package: package.to_owned(),
            fault: fault.to_string(),
        })?;
        let builds: Vec<taskotron_koji::Build> =
            serde_json::from_value(value).map_err(|err| SourceError::Tag {
                url: koji.url().to_owned(),
                tag: tag.clone(),
                package: package.to_owned(),
                fault: format!("an answer that is not a list of builds ({err})"),
            })?;
        for found in builds.into_iter().filter(|it| it.name == package) {
            let epoch = epoch_of(&found.nvr, found.epoch.as_ref())?;
            let build = Build::new(&found.nvr, epoch).map_err(|err| SourceError::BadBuild {
                nvr: found.nvr.clone(),
                why: err.to_string(),
            })?;
            let Some(state) = out.get_mut(index) else {
                continue;
            };
            let slot = if pending {
                &mut state.pending
            } else {
                &mut state.stable
            };
            let newer = slot.as_ref().is_none_or(|old| {
                taskotron_rpm::evr_cmp(&build.evr, &old.evr) == std::cmp::Ordering::Greater
            });
            if newer {
                *slot = Some(build);
            }
        }
    }
    Ok(out)
}
