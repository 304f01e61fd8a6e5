//! The directives that read Fedora's services: `koji`, `bodhi`, `distgit`
//! and `yumrepoinfo`.
//!
//! They run in the runner's own process (not in the sandbox): downloads go
//! through `taskotron_koji::Downloader` into the cache shared by jobs and
//! are copied into the target directory, which must lie inside the job's
//! work or artifacts directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value as Json, json};
use taskotron_bodhi::BodhiClient;
use taskotron_bodhi::repos::{RepoMap, dist_tag_of_nvr};
use taskotron_koji::{
    Build, BuildRef, BuildState, Download, Downloader, KojiClient, PathInfo, Rpm,
};
use tokio::time::Instant;

use super::files::text;
use super::{Cx, DirectiveError, failed};
use crate::layout::ActionSink;

/// `koji`: download a build, the latest builds of a tag, or the latest
/// stable build of a package.
pub(super) async fn koji(
    cx: &mut Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let select = Select::from_params(params)?;
    let target = cx.target_dir(params)?;
    let client = koji_client(cx)?;
    let action = params.get("action").map(text).unwrap_or_default();
    let builds = match action.as_str() {
        "download" => {
            let nvr = needed(params, "koji_build")?;
            vec![complete_build(&client, &nvr).await?]
        }
        "download_tag" => {
            let tag = needed(params, "koji_tag")?;
            let builds = client
                .list_tagged(
                    &tag,
                    &taskotron_koji::ListTagged {
                        latest: true,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|err| failed(format!("cannot list the builds in tag `{tag}`: {err}")))?;
            sink.note(&format!("tag {tag}: {} latest builds", builds.len()));
            builds
        }
        "download_latest_stable" => {
            let nvr = needed(params, "koji_build")?;
            match latest_stable(cx, &client, &nvr, sink).await? {
                Some(build) => vec![build],
                None => Vec::new(),
            }
        }
        other => {
            return Err(failed(format!(
                "unknown action `{other}`: use download, download_tag or download_latest_stable"
            )));
        }
    };
    download_builds(cx, &client, &builds, &select, &target, deadline, sink).await
}

/// `bodhi`: download every build of an update.
pub(super) async fn bodhi(
    cx: &mut Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let select = Select::from_params(params)?;
    let target = cx.target_dir(params)?;
    let alias = needed(params, "update_id")?;
    let bodhi = bodhi_client(cx)?;
    let update = bodhi
        .update(&alias)
        .await
        .map_err(|err| failed(format!("cannot read update {alias}: {err}")))?
        .ok_or_else(|| failed(format!("Bodhi has no update {alias}")))?;
    sink.note(&format!(
        "update {alias} ({}, {}): {} builds",
        update.release.name,
        update.status,
        update.builds.len()
    ));
    let client = koji_client(cx)?;
    let refs: Vec<BuildRef> = update
        .builds
        .iter()
        .map(|it| BuildRef::Nvr(it.nvr.clone()))
        .collect();
    let answers = client
        .get_builds(&refs)
        .await
        .map_err(|err| failed(format!("cannot read the builds of {alias}: {err}")))?;
    let mut builds = Vec::new();
    for (answer, build) in answers.into_iter().zip(&update.builds) {
        let found = answer.map_err(|fault| {
            failed(format!(
                "Koji answered {fault} for build {} of {alias}",
                build.nvr
            ))
        })?;
        let found = found.ok_or_else(|| {
            failed(format!(
                "Koji has no build {} (of update {alias})",
                build.nvr
            ))
        })?;
        builds.push(require_complete(found)?);
    }
    download_builds(cx, &client, &builds, &select, &target, deadline, sink).await
}

/// `distgit`: download files of a package's dist-git repository.
pub(super) async fn distgit(
    cx: &mut Cx<'_>,
    params: &Json,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let target = cx.target_dir(params)?;
    let namespace = params
        .get("namespace")
        .map(text)
        .unwrap_or_else(|| "rpms".to_owned());
    let (package, gitref) = match (params.get("package"), params.get("nvr")) {
        (Some(package), _) => (
            text(package),
            params
                .get("gitref")
                .map(text)
                .unwrap_or_else(|| "rawhide".to_owned()),
        ),
        (None, Some(nvr)) => {
            let nvr = text(nvr);
            let package = nvr_name(&nvr)
                .ok_or_else(|| failed(format!("`nvr` {nvr:?} is not name-version-release")))?;
            let gitref = match params.get("gitref") {
                Some(gitref) => text(gitref),
                None => branch_of_nvr(cx, &nvr, sink).await?,
            };
            (package, gitref)
        }
        (None, None) => return Err(failed("`distgit` needs `package` or `nvr`")),
    };
    let paths = string_list(params.get("path"));
    let locals = match params.get("localpath") {
        Some(value) => {
            let locals = string_list(Some(value));
            if locals.len() != paths.len() {
                return Err(failed(format!(
                    "`localpath` has {} entries and `path` {}; give one local name per path",
                    locals.len(),
                    paths.len()
                )));
            }
            locals
        }
        None => paths
            .iter()
            .map(|it| it.trim_start_matches('/').to_owned())
            .collect(),
    };
    let ignore_missing = flag(params, "ignore_missing")?;
    let base = params
        .get("baseurl")
        .map(text)
        .unwrap_or_else(|| cx.config.sources.distgit.clone());
    let base = base.trim_end_matches('/');
    for part in [&namespace, &package, &gitref] {
        if part.is_empty() || part.contains(['/', '?', '#']) || part == ".." {
            return Err(failed(format!(
                "`{part}` cannot be part of a dist-git URL (namespace, package and gitref are single path segments)"
            )));
        }
    }
    let mut downloaded = Vec::new();
    for (path, local) in paths.iter().zip(&locals) {
        let dest = relative_inside(&target, local, "localpath")?;
        let clean = path.trim_start_matches('/');
        if clean.is_empty() || clean.split('/').any(|it| it == "..") {
            return Err(failed(format!(
                "`path` {path:?} must name a file inside the repository"
            )));
        }
        let url = format!("{base}/{namespace}/{package}/raw/{gitref}/f/{clean}");
        let fetch = async {
            let response = cx
                .http
                .get(&url)
                .send()
                .await
                .map_err(|err| failed(format!("GET {url}: {err}")))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(failed(format!("GET {url}: HTTP {}", status.as_u16())));
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|err| failed(format!("GET {url}: {err}")))?;
            Ok(Some(bytes))
        };
        let body = bounded(cx, deadline, fetch).await??;
        let Some(bytes) = body else {
            if ignore_missing {
                sink.note(&format!("{url}: not found; skipped (ignore_missing)"));
                continue;
            }
            return Err(failed(format!(
                "{url}: not found (HTTP 404); is `{clean}` in {namespace}/{package} at `{gitref}`? Set `ignore_missing: true` to skip missing files"
            )));
        };
        write_inside(&target, &dest, &bytes)?;
        sink.note(&format!(
            "{url} -> {} ({} bytes)",
            dest.display(),
            bytes.len()
        ));
        downloaded.push(Json::from(dest.display().to_string()));
    }
    Ok(json!({ "downloaded_files": downloaded }))
}

/// `yumrepoinfo`: the repositories a Koji tag stands for.
pub(super) async fn yumrepoinfo(
    cx: &mut Cx<'_>,
    params: &Json,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let tag = needed(params, "koji_tag")?;
    let arches = match params.get("arch") {
        Some(value) => string_list(Some(value)),
        None => vec![cx.job.arch.clone()],
    };
    let map = repo_map(cx).await?;
    let layers = map
        .layers(&tag, &arches)
        .map_err(|err| failed(err.to_string()))?;
    let mut out = Map::new();
    for layer in layers {
        sink.note(&format!(
            "{}: {}",
            layer.tag,
            layer
                .urls
                .iter()
                .map(|(arch, url)| format!("{arch} {url}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let urls: Map<String, Json> = layer
            .urls
            .into_iter()
            .map(|(arch, url)| (arch, Json::from(url)))
            .collect();
        out.insert(layer.tag, Json::Object(urls));
    }
    Ok(Json::Object(out))
}

// ---------------------------------------------------------------------------

/// Which RPMs of a build a directive downloads.
#[derive(Debug)]
struct Select {
    /// `None`: every arch.
    arches: Option<BTreeSet<String>>,
    exclude: BTreeSet<String>,
    src: bool,
    debuginfo: bool,
    build_log: bool,
}

impl Select {
    fn from_params(params: &Json) -> Result<Select, DirectiveError> {
        let arch = match params.get("arch") {
            Some(value) => string_list(Some(value)),
            None => vec!["all".to_owned()],
        };
        let src = flag(params, "src")?;
        let arches = if arch.iter().any(|it| it == "all") {
            None
        } else {
            let mut set: BTreeSet<String> = arch.iter().flat_map(|it| expand_arch(it)).collect();
            set.insert("noarch".to_owned());
            Some(set)
        };
        let exclude = string_list(params.get("arch_exclude"))
            .iter()
            .flat_map(|it| expand_arch(it))
            .collect();
        Ok(Select {
            arches,
            exclude,
            src,
            debuginfo: flag(params, "debuginfo")?,
            build_log: flag(params, "build_log")?,
        })
    }

    fn wants(&self, rpm: &Rpm) -> bool {
        if rpm.arch == "src" {
            return self.src && !self.exclude.contains("src");
        }
        if self.exclude.contains(&rpm.arch) {
            return false;
        }
        if !self.debuginfo && is_debug(&rpm.name) {
            return false;
        }
        self.arches
            .as_ref()
            .is_none_or(|arches| arches.contains(&rpm.arch))
    }
}

/// A base arch stands for the arches built for it: `i386` for the 32-bit
/// x86 family, `armhfp` for 32-bit ARM with hardware floating point.
fn expand_arch(arch: &str) -> Vec<String> {
    let family: &[&str] = match arch {
        "i386" => &["i386", "i486", "i586", "i686", "athlon", "geode"],
        "armhfp" => &["armv7hl", "armv7hnl"],
        "arm" => &["armv5tel", "armv7l", "armv7hl", "armv7hnl"],
        other => return vec![other.to_owned()],
    };
    family.iter().map(|it| (*it).to_owned()).collect()
}

fn is_debug(name: &str) -> bool {
    name.ends_with("-debugsource")
        || name.ends_with("-debuginfo")
        || name.contains("-debuginfo-common-")
}

/// Counts what the downloader reports, for the progress line.
#[derive(Debug, Default)]
struct Tally {
    done: AtomicU64,
    cached: AtomicU64,
    bytes: AtomicU64,
}

impl taskotron_koji::Progress for Tally {
    fn advanced(&self, _url: &str, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn finished(&self, _url: &str, cached: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if cached {
            self.cached.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Tally {
    fn line(&self, total: usize, total_bytes: u64) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let cached = self.cached.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        let mut line = format!("downloading {done}/{total} files, {}", mib(bytes));
        if total_bytes > 0 {
            line.push_str(&format!(" of {}", mib(total_bytes)));
        }
        if cached > 0 {
            line.push_str(&format!(" ({cached} from the cache)"));
        }
        line
    }
}

fn mib(bytes: u64) -> String {
    // Display only: precision beyond 0.1 MiB does not matter.
    #[expect(clippy::cast_precision_loss, reason = "a display figure")]
    let value = bytes as f64 / (1024.0 * 1024.0);
    format!("{value:.1} MiB")
}

/// Download the selected RPMs (and logs) of `builds` into `target`.
async fn download_builds(
    cx: &Cx<'_>,
    client: &KojiClient,
    builds: &[Build],
    select: &Select,
    target: &Path,
    deadline: Instant,
    sink: &mut ActionSink<'_>,
) -> Result<Json, DirectiveError> {
    let paths = PathInfo::new(&cx.config.sources.kojipkgs);
    let ids: Vec<i64> = builds.iter().map(|it| it.id).collect();
    let lists = bounded(cx, deadline, client.list_rpms_of(&ids))
        .await?
        .map_err(|err| failed(format!("cannot list the RPMs: {err}")))?;
    let mut downloads = Vec::new();
    let mut log_arches: Vec<(usize, String)> = Vec::new();
    for (index, (build, rpms)) in builds.iter().zip(&lists).enumerate() {
        let mut arches = BTreeSet::new();
        for rpm in rpms.iter().filter(|it| select.wants(it)) {
            downloads.push(Download::rpm(&paths, build, rpm));
            if rpm.arch != "src" {
                arches.insert(rpm.arch.clone());
            }
        }
        if select.build_log {
            log_arches.extend(arches.into_iter().map(|arch| (index, arch)));
        }
    }
    let downloader = Downloader::new(&cx.config.sources.cache_dir)
        .map_err(|err| failed(err.to_string()))?
        .with_concurrency(cx.config.sources.downloads);
    let total_bytes: u64 = downloads.iter().filter_map(|it| it.size).sum();
    sink.note(&format!(
        "{} RPMs of {} builds to {} ({}), cache {}",
        downloads.len(),
        builds.len(),
        target.display(),
        mib(total_bytes),
        cx.config.sources.cache_dir.display()
    ));
    let tally = Arc::new(Tally::default());
    let fetched = {
        let fetch = downloader.fetch_all(&downloads, target, tally.clone());
        tokio::pin!(fetch);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                done = &mut fetch => break done,
                () = cx.cancel.cancelled() => return Err(DirectiveError::Cancelled),
                () = tokio::time::sleep_until(deadline) => return Err(DirectiveError::TimedOut),
                _ = tick.tick() => sink.progress(&tally.line(downloads.len(), total_bytes)),
            }
        }
    }
    .map_err(|err| failed(format!("download failed: {err}")))?;
    sink.note(&tally.line(downloads.len(), total_bytes));
    let rpms: Vec<Json> = fetched
        .iter()
        .map(|it| Json::from(it.display().to_string()))
        .collect();

    let mut logs = Vec::new();
    let mut log_errors = Vec::new();
    for (index, arch) in log_arches {
        let build = &builds[index];
        let download = Download {
            url: paths.build_log(build, &arch, "build.log"),
            size: None,
            check: taskotron_koji::Check::Whole,
        };
        let name = if builds.len() == 1 {
            format!("build.log.{arch}")
        } else {
            format!("{}.build.log.{arch}", build.nvr)
        };
        let dest = target.join(name);
        let fetched = bounded(
            cx,
            deadline,
            downloader.fetch(&download, &taskotron_koji::NoProgress),
        )
        .await?;
        match fetched {
            Ok(cached) => {
                let bytes = std::fs::read(&cached)
                    .map_err(|err| failed(format!("{}: {err}", cached.display())))?;
                write_inside(target, &dest, &bytes)?;
                logs.push(Json::from(dest.display().to_string()));
            }
            Err(err) => {
                sink.note(&format!("no build log for {} on {arch}: {err}", build.nvr));
                log_errors.push(Json::from(arch));
            }
        }
    }
    Ok(json!({
        "downloaded_rpms": rpms,
        "downloaded_logs": logs,
        "log_errors": log_errors,
    }))
}

/// The latest build of the NVR's package in its release's stable updates,
/// or else in the release itself.
async fn latest_stable(
    cx: &mut Cx<'_>,
    client: &KojiClient,
    nvr: &str,
    sink: &mut ActionSink<'_>,
) -> Result<Option<Build>, DirectiveError> {
    let name = nvr_name(nvr)
        .ok_or_else(|| failed(format!("`koji_build` {nvr:?} is not name-version-release")))?;
    let tags = match stable_tags_of(cx, nvr).await? {
        Some(tags) => tags,
        None => {
            return Err(failed(format!(
                "cannot tell the release of {nvr}: its release part has no dist tag such as .fc44"
            )));
        }
    };
    for tag in &tags {
        let found = client
            .get_latest_builds(tag, Some(&name))
            .await
            .map_err(|err| failed(format!("cannot read the latest {name} in {tag}: {err}")))?;
        if let Some(build) = found.into_iter().next() {
            sink.note(&format!("latest stable {name} is {} (in {tag})", build.nvr));
            return Ok(Some(build));
        }
    }
    sink.note(&format!(
        "no stable build of {name} in {}; nothing to download",
        tags.join(" or ")
    ));
    Ok(None)
}

/// The stable tags of an NVR's release, newest layer first: from Bodhi's
/// release when one matches, else Fedora's naming (`fNN-updates`, `fNN`).
async fn stable_tags_of(cx: &mut Cx<'_>, nvr: &str) -> Result<Option<Vec<String>>, DirectiveError> {
    let map = repo_map(cx).await?;
    if let Some(release) = map.release_of_nvr(nvr) {
        let mut tags: Vec<String> = Vec::new();
        for tag in [&release.stable_tag, &release.dist_tag]
            .into_iter()
            .flatten()
        {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        return Ok(Some(tags));
    }
    Ok(dist_tag_of_nvr(nvr).map(|dist| vec![format!("{dist}-updates"), dist]))
}

/// The dist-git branch of an NVR: its Bodhi release's branch (rawhide for
/// rawhide), else the dist tag (`f44`).
async fn branch_of_nvr(
    cx: &mut Cx<'_>,
    nvr: &str,
    sink: &mut ActionSink<'_>,
) -> Result<String, DirectiveError> {
    let map = repo_map(cx).await?;
    if let Some(branch) = map.release_of_nvr(nvr).and_then(|it| it.branch.clone()) {
        return Ok(branch);
    }
    let dist = dist_tag_of_nvr(nvr).ok_or_else(|| {
        failed(format!(
            "cannot tell the branch of {nvr}: no dist tag such as .fc44; give `gitref`"
        ))
    })?;
    sink.note(&format!(
        "no Bodhi release has dist tag {dist}; using branch {dist}"
    ));
    Ok(dist)
}

/// The tag → repositories map, built once per run from Bodhi's releases.
async fn repo_map(cx: &mut Cx<'_>) -> Result<Arc<RepoMap>, DirectiveError> {
    if let Some(map) = &cx.repo_map {
        return Ok(map.clone());
    }
    let sources = &cx.config.sources;
    let releases = if sources.bodhi.is_empty() {
        Vec::new()
    } else {
        bodhi_client(cx)?
            .releases(None)
            .await
            .map_err(|err| failed(format!("cannot read Bodhi's releases: {err}")))?
    };
    let map = Arc::new(RepoMap::new(
        releases,
        sources.repo_templates.clone(),
        sources.repo_overrides.clone(),
    ));
    cx.repo_map = Some(map.clone());
    Ok(map)
}

fn koji_client(cx: &Cx<'_>) -> Result<KojiClient, DirectiveError> {
    KojiClient::with_http(&cx.config.sources.koji_hub, cx.http.clone())
        .map_err(|err| failed(err.to_string()))
}

fn bodhi_client(cx: &Cx<'_>) -> Result<BodhiClient, DirectiveError> {
    BodhiClient::new(&cx.config.sources.bodhi).map_err(|err| failed(err.to_string()))
}

async fn complete_build(client: &KojiClient, nvr: &str) -> Result<Build, DirectiveError> {
    let build = client
        .get_build(&BuildRef::Nvr(nvr.to_owned()))
        .await
        .map_err(|err| failed(format!("cannot read build {nvr}: {err}")))?
        .ok_or_else(|| failed(format!("Koji has no build {nvr}")))?;
    require_complete(build)
}

fn require_complete(build: Build) -> Result<Build, DirectiveError> {
    match build.build_state() {
        Some(BuildState::Complete) => Ok(build),
        state => Err(failed(format!(
            "build {} is {}; only complete builds have RPMs to download",
            build.nvr,
            match state {
                Some(BuildState::Building) => "still building",
                Some(BuildState::Deleted) => "deleted",
                Some(BuildState::Failed) => "failed",
                Some(BuildState::Canceled) => "canceled",
                _ => "in an unknown state",
            }
        ))),
    }
}

/// Run `fut` unless the run is cancelled or out of time first.
async fn bounded<T>(
    cx: &Cx<'_>,
    deadline: Instant,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, DirectiveError> {
    tokio::select! {
        out = fut => Ok(out),
        () = cx.cancel.cancelled() => Err(DirectiveError::Cancelled),
        () = tokio::time::sleep_until(deadline) => Err(DirectiveError::TimedOut),
    }
}

fn needed(params: &Json, name: &str) -> Result<String, DirectiveError> {
    params
        .get(name)
        .map(text)
        .filter(|it| !it.trim().is_empty())
        .ok_or_else(|| {
            failed(format!(
                "parameter `{name}` is needed here and must not be empty"
            ))
        })
}

fn flag(params: &Json, name: &str) -> Result<bool, DirectiveError> {
    match params.get(name) {
        None => Ok(false),
        Some(Json::Bool(value)) => Ok(*value),
        Some(other) => Err(failed(format!(
            "parameter `{name}` must be true or false, found {other}"
        ))),
    }
}

/// A string or a list of strings, as a list (absent: empty).
fn string_list(value: Option<&Json>) -> Vec<String> {
    match value {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
    }
}

/// The name part of an NVR.
fn nvr_name(nvr: &str) -> Option<String> {
    taskotron_types::Nvr::parse(nvr).ok().map(|it| it.name)
}

/// Write `bytes` to `dest` under the checked directory `target`, without
/// following a symlink a task may have planted there: the parent is checked
/// to lie inside `target` once it exists, and the file is written under a
/// temporary name and renamed over whatever `dest` was.
fn write_inside(target: &Path, dest: &Path, bytes: &[u8]) -> Result<(), DirectiveError> {
    let parent = dest.parent().unwrap_or(target);
    std::fs::create_dir_all(parent)
        .map_err(|err| failed(format!("{}: {err}", parent.display())))?;
    let real = std::fs::canonicalize(parent)
        .map_err(|err| failed(format!("{}: {err}", parent.display())))?;
    if !real.starts_with(target) {
        return Err(failed(format!(
            "{} leads outside {} (through a symlink?)",
            dest.display(),
            target.display()
        )));
    }
    let name = dest
        .file_name()
        .ok_or_else(|| failed(format!("{} names no file", dest.display())))?;
    let temp = real.join(format!(".taskotron-{}", name.to_string_lossy()));
    let _ = std::fs::remove_file(&temp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
        .map_err(|err| failed(format!("{}: {err}", temp.display())))?;
    std::fs::rename(&temp, real.join(name))
        .map_err(|err| failed(format!("{}: {err}", dest.display())))
}

/// `local` under `dir`, refusing absolute paths and `..`.
fn relative_inside(dir: &Path, local: &str, param: &str) -> Result<PathBuf, DirectiveError> {
    let path = Path::new(local);
    if local.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|it| matches!(it, std::path::Component::ParentDir))
    {
        return Err(failed(format!(
            "`{param}` {local:?} must be a relative path without `..`"
        )));
    }
    Ok(dir.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(name: &str, arch: &str) -> Rpm {
        serde_json::from_value(json!({
            "id": 1, "name": name, "version": "1", "release": "1", "arch": arch
        }))
        .unwrap()
    }

    #[test]
    fn selection_expands_base_arches_and_keeps_noarch() {
        let select = Select::from_params(&json!({"arch": "i386"})).unwrap();
        assert!(select.wants(&rpm("a", "i686")));
        assert!(select.wants(&rpm("a", "noarch")));
        assert!(!select.wants(&rpm("a", "x86_64")));
        assert!(!select.wants(&rpm("a", "src")));
        assert!(!select.wants(&rpm("a-debuginfo", "i686")));
        assert!(!select.wants(&rpm("kernel-debuginfo-common-i686", "i686")));
        assert!(select.wants(&rpm("elfutils-debuginfod-client", "i686")));

        let all = Select::from_params(&json!({"src": true, "debuginfo": true})).unwrap();
        for (name, arch) in [("a", "src"), ("a", "aarch64"), ("a-debugsource", "x86_64")] {
            assert!(all.wants(&rpm(name, arch)), "{name}.{arch}");
        }

        let none = Select::from_params(&json!({"arch": [], "arch_exclude": ["noarch"]})).unwrap();
        assert!(!none.wants(&rpm("a", "noarch")));
        assert!(!none.wants(&rpm("a", "x86_64")));

        let excluded =
            Select::from_params(&json!({"arch": ["all"], "arch_exclude": "armhfp"})).unwrap();
        assert!(!excluded.wants(&rpm("a", "armv7hl")));
        assert!(excluded.wants(&rpm("a", "ppc64le")));

        assert!(Select::from_params(&json!({"src": "yes"})).is_err());
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(
            nvr_name("python-foo-1.2-3.fc44").as_deref(),
            Some("python-foo")
        );
        assert_eq!(nvr_name("foo-1.2"), None);
        let dir = Path::new("/w");
        assert_eq!(
            relative_inside(dir, "sub/x.spec", "localpath").unwrap(),
            Path::new("/w/sub/x.spec")
        );
        assert!(relative_inside(dir, "../x", "localpath").is_err());
        assert!(relative_inside(dir, "/etc/passwd", "localpath").is_err());
    }
}
