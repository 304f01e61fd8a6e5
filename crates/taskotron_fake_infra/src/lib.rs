//! `taskotron fake-infra`: Fedora's infrastructure in one local process, so
//! that tests and task authors need no access to the real one.
//!
//! From a directory of RPM files and its `infra.yaml` ([`model`]), it
//! serves on one address:
//!
//! - `POST /kojihub`: a Koji hub subset over XML-RPC ([`hub`]): `getBuild`,
//!   `listBuilds`, `listTagged`, `getLatestBuilds`, `queryHistory`
//!   (tag listings), `getLastEvent`, `listRPMs`, `getTaskInfo`,
//!   `multiCall`, with Koji's keyword arguments, faults and `<i8>`/`<nil/>`;
//! - `GET /kojipkgs/...`: the kojipkgs tree of those builds (RPMs under
//!   `packages/<name>/<version>/<release>/<arch>/`, build logs under
//!   `data/logs/<arch>/`);
//! - `GET /bodhi/...`: Bodhi's REST API ([`bodhi`]): `updates/` with its
//!   filters and paging, `updates/<alias>`, `releases/`, `releases/<name>`;
//!   and `GET /openidc/.well-known/openid-configuration`, which
//!   bodhi-client reads when it starts;
//! - `POST /admin/...`: changes while running (add a build, change its
//!   state, tag, untag, rescan the directory; add or edit an update), so a
//!   test can play a stream of events; [`FakeInfra::watch`] makes the same
//!   changes from new RPM files and edits of `infra.yaml`.
//!
//! Each change makes the fedora-messaging messages Koji and Bodhi would
//! send ([`messages`]), recorded in order and listed at
//! `GET /admin/messages`; with a broker ([`FakeInfra::start_publishing`])
//! they are published in the background through `taskotron_bus`'s relay,
//! and `--drop-rate` drops a seeded fraction of them on purpose.

pub mod bodhi;
mod distgit;
pub mod hub;
pub mod messages;
pub mod model;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bodhi::{Bodhi, BodhiFault, Params, UpdateEdit, UpdateSpec};
use crate::messages::{MessageOptions, Messages};
use crate::model::{BuildSpec, InfraFile, Koji, ModelError};

/// The state the routes share.
#[derive(Clone)]
pub struct FakeInfra {
    koji: Arc<RwLock<Koji>>,
    bodhi: Arc<RwLock<Bodhi>>,
    messages: Arc<Messages>,
    /// The last `infra.yaml` the watcher applied: its text and what it says.
    last_infra: Arc<Mutex<(Option<String>, InfraFile)>>,
    dir: PathBuf,
}

/// Where to publish: a broker and an exchange.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpTarget {
    /// The broker's URL.
    pub url: String,
    /// The exchange, `amq.topic` on Fedora.
    pub exchange: String,
}

impl std::fmt::Debug for AmqpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpTarget")
            .field("url", &taskotron_bus::redact_password(&self.url))
            .field("exchange", &self.exchange)
            .finish()
    }
}

/// A file's size and modification time.
type FileStamp = (u64, Option<SystemTime>);

/// What the directory watcher remembers between polls.
#[derive(Debug, Default)]
struct DirectoryWatch {
    /// The unread RPM files at the last poll.
    sizes: HashMap<PathBuf, FileStamp>,
    /// RPM files that could not be read, as they were then.
    failed: HashMap<PathBuf, FileStamp>,
}

/// What runs beside the HTTP server: publishing, watching the directory.
#[derive(Debug, Clone, Default)]
pub struct BackgroundOptions {
    /// Publish the messages to this broker (without one they are only
    /// recorded).
    pub amqp: Option<AmqpTarget>,
    /// Poll the directory for new RPM files and `infra.yaml` changes this
    /// often.
    pub watch: Option<Duration>,
}

impl std::fmt::Debug for FakeInfra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeInfra")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FakeInfra {
    /// Load `dir` (its `infra.yaml` and RPM files), with the default message
    /// options. Loading announces nothing: the fake starts with a world.
    pub fn load(dir: &Path) -> Result<FakeInfra, ModelError> {
        FakeInfra::load_with(dir, MessageOptions::default())
    }

    /// Load `dir`, making messages as `options` say.
    pub fn load_with(dir: &Path, options: MessageOptions) -> Result<FakeInfra, ModelError> {
        let text = model::read_infra_text(dir)?;
        let spec = match &text {
            Some(text) => model::parse_infra(&dir.join(model::INFRA_FILE), text)?,
            None => InfraFile::default(),
        };
        Ok(FakeInfra {
            koji: Arc::new(RwLock::new(Koji::from_spec(dir, &spec.koji)?)),
            bodhi: Arc::new(RwLock::new(Bodhi::load(&spec.bodhi)?)),
            messages: Arc::new(Messages::new(options)),
            last_infra: Arc::new(Mutex::new((text, spec))),
            dir: dir.to_owned(),
        })
    }

    /// The fake's own URL (`http://127.0.0.1:8091`), which messages point
    /// to (Koji's `base_url`, Bodhi's update URLs).
    #[must_use]
    pub fn with_base_url(self, base_url: &str) -> FakeInfra {
        self.messages.set_base_url(base_url);
        self
    }

    /// The messages made so far.
    #[must_use]
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// Publishes the messages to `target` in the background, in order, each
    /// confirmed by the broker, until `shutdown`: `taskotron_bus`'s relay,
    /// which retries with backoff while the broker is down (HTTP answers
    /// never wait for it).
    pub fn start_publishing(
        &self,
        target: AmqpTarget,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        self.messages.set_publishing();
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let AmqpTarget { url, exchange } = target;
            let connect = || taskotron_bus::Publisher::connect(&url, &exchange);
            taskotron_bus::relay(
                &*messages,
                connect,
                &messages.wake,
                shutdown,
                Duration::from_secs(1),
            )
            .await;
        })
    }

    /// Starts what `options` asks for; the tasks end after `shutdown`.
    pub fn start_background(
        &self,
        options: &BackgroundOptions,
        shutdown: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(target) = &options.amqp {
            tasks.push(self.start_publishing(target.clone(), shutdown.clone()));
        }
        if let Some(interval) = options.watch {
            let infra = self.clone();
            let shutdown = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                infra.watch(interval, shutdown).await;
            }));
        }
        tasks
    }

    /// Polls the directory every `interval` until `shutdown`: RPM files that
    /// appeared (once their size and time stopped changing between two
    /// polls) are read as `POST /admin/koji/rescan` would; a changed
    /// `infra.yaml` adds and changes builds, tags, releases and updates as
    /// the admin API would. An invalid `infra.yaml` is logged and ignored
    /// until it changes again.
    pub async fn watch(&self, interval: Duration, shutdown: CancellationToken) {
        tracing::info!(dir = %self.dir.display(), ?interval, "fake infrastructure: watching the directory");
        let mut watch = DirectoryWatch::default();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
            let infra = self.clone();
            let mut taken = std::mem::take(&mut watch);
            // File system reads: off the async threads.
            match tokio::task::spawn_blocking(move || {
                infra.poll_directory(&mut taken);
                taken
            })
            .await
            {
                Ok(next) => watch = next,
                Err(err) => {
                    tracing::error!(error = %err, "fake infrastructure: the directory poll failed")
                }
            }
        }
    }

    /// One poll of [`FakeInfra::watch`].
    fn poll_directory(&self, watch: &mut DirectoryWatch) {
        self.poll_infra_file();
        let files = match self.read().unread_rpm_files() {
            Ok(files) => files,
            Err(err) => {
                tracing::warn!(error = %err, "fake infrastructure: cannot list the RPM files");
                return;
            }
        };
        let now: HashMap<PathBuf, FileStamp> = files
            .into_iter()
            .filter_map(|path| {
                let meta = std::fs::metadata(&path).ok()?;
                Some((path, (meta.len(), meta.modified().ok())))
            })
            .collect();
        let mut ready: Vec<&PathBuf> = now
            .iter()
            .filter(|(path, stamp)| {
                watch.sizes.get(*path) == Some(*stamp) && watch.failed.get(*path) != Some(*stamp)
            })
            .map(|(path, _)| path)
            .collect();
        ready.sort();
        // One file at a time: a broken one does not hold up the others, and
        // is tried again only once it changes.
        for path in ready {
            match self.rescan(|it| it == path.as_path()) {
                Ok(_) => {
                    tracing::info!(file = %path.display(), "fake infrastructure: new RPM file read")
                }
                Err(err) => {
                    tracing::warn!(error = %err, "fake infrastructure: cannot read a new RPM file");
                    if let Some(stamp) = now.get(path) {
                        watch.failed.insert(path.clone(), *stamp);
                    }
                }
            }
        }
        watch.failed.retain(|path, _| now.contains_key(path));
        watch.sizes = now;
    }

    fn poll_infra_file(&self) {
        let text = match model::read_infra_text(&self.dir) {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(error = %err, "fake infrastructure: cannot read infra.yaml");
                return;
            }
        };
        let mut last = self
            .last_infra
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if text == last.0 {
            return;
        }
        let file = self.dir.join(model::INFRA_FILE);
        let parsed = match &text {
            Some(text) => model::parse_infra(&file, text),
            None => Ok(InfraFile::default()),
        };
        match parsed {
            Ok(spec) => {
                tracing::info!(file = %file.display(), "fake infrastructure: infra.yaml changed");
                self.apply_infra_change(&last.1, &spec);
                *last = (text, spec);
            }
            Err(err) => {
                tracing::warn!(error = %err, "fake infrastructure: infra.yaml changed but is not valid; nothing changes until it is");
                last.0 = text;
            }
        }
    }

    /// Makes the changes from `old` to `new` (two versions of `infra.yaml`),
    /// each as the admin API would, with its messages. Errors are logged
    /// and the rest goes on.
    fn apply_infra_change(&self, old: &InfraFile, new: &InfraFile) {
        let warn = |what: &str, err: &dyn std::fmt::Display| {
            tracing::warn!(error = %err, "fake infrastructure: infra.yaml: cannot {what}");
        };
        for tag in &new.koji.tags {
            self.write().tag_id(tag);
        }
        for spec in &new.koji.builds {
            let before = old.koji.builds.iter().find(|it| it.nvr == spec.nvr);
            if before == Some(spec) {
                continue;
            }
            if self.read().build_by_nvr(&spec.nvr).is_none() {
                if let Err(err) = self.add_build(spec) {
                    warn(&format!("add the build {}", spec.nvr), &err);
                }
                continue;
            }
            if let Some(state) = &spec.state
                && let Err(err) = self.change_state(&spec.nvr, state)
            {
                warn(&format!("change the state of {}", spec.nvr), &err);
            }
            let user = spec.owner.as_deref().unwrap_or("packager");
            for tag in &spec.tags {
                if let Err(err) = self.change_tag(&spec.nvr, tag, user, true) {
                    warn(&format!("tag {} into {tag}", spec.nvr), &err);
                }
            }
            for tag in before.map(|it| it.tags.as_slice()).unwrap_or_default() {
                if !spec.tags.contains(tag)
                    && let Err(err) = self.change_tag(&spec.nvr, tag, user, false)
                {
                    warn(&format!("untag {} from {tag}", spec.nvr), &err);
                }
            }
        }
        for release in &new.bodhi.releases {
            if let Err(err) = self.bodhi_mut().add_release_if_new(release) {
                warn(&format!("add the release {}", release.name), &err);
            }
        }
        for spec in &new.bodhi.updates {
            let before = old
                .bodhi
                .updates
                .iter()
                .find(|it| match (&it.alias, &spec.alias) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => it.builds == spec.builds && it.release == spec.release,
                    _ => false,
                });
            match (before, &spec.alias) {
                (Some(before), _) if before == spec => {}
                (Some(before), Some(alias)) if self.bodhi().has_update(alias) => {
                    let edit = UpdateEdit {
                        builds: (before.builds != spec.builds).then(|| spec.builds.clone()),
                        status: (before.status != spec.status)
                            .then(|| spec.status.clone().unwrap_or_else(|| "testing".to_owned())),
                        request: (before.request != spec.request).then(|| spec.request.clone()),
                        agent: None,
                    };
                    if let Err(err) = self.edit_update(alias, &edit) {
                        warn(&format!("edit the update {alias}"), &err);
                    }
                }
                (None, Some(alias)) if self.bodhi().has_update(alias) => {}
                _ => {
                    if let Err(err) = self.add_update(spec) {
                        warn(&format!("add the update of {:?}", spec.builds), &err);
                    }
                }
            }
        }
    }

    fn announce(&self, msgs: impl IntoIterator<Item = taskotron_bus::OutgoingMessage>) {
        for msg in msgs {
            self.messages.announce(msg);
        }
    }

    /// The messages of the builds from index `from` on (just added): their
    /// state changes, then their tags.
    fn announce_builds_from(&self, koji: &Koji, from: usize) {
        let prefix = self.messages.topic_prefix();
        let base = self.messages.base_url();
        for build in koji.builds.iter().skip(from) {
            self.announce(messages::new_build(&prefix, &base, build));
            for listing in koji.listings.iter().filter(|it| it.build_id == build.id) {
                let Some(tag) = koji.tags.get(&listing.tag_id) else {
                    continue;
                };
                self.announce([messages::tag_change(
                    &prefix,
                    koji,
                    build,
                    tag,
                    &listing.creator,
                    true,
                )]);
            }
        }
    }

    /// Adds a build (then reads new RPM files), with its messages.
    pub fn add_build(&self, spec: &BuildSpec) -> Result<i64, ModelError> {
        let mut koji = self.write();
        let before = koji.builds.len();
        let result = koji
            .add_build(spec)
            .and_then(|id| koji.scan_rpms().map(|_| id));
        self.announce_builds_from(&koji, before);
        if let Ok(id) = result {
            tracing::info!(build.nvr = %spec.nvr, build.id = id, "fake Koji: build added");
        }
        result
    }

    /// Reads the RPM files `ready` accepts and are not read yet, with the
    /// messages of the builds they make; how many files were read.
    pub fn rescan(&self, ready: impl Fn(&Path) -> bool) -> Result<usize, ModelError> {
        let mut koji = self.write();
        let before = koji.builds.len();
        let result = koji.scan_rpms_where(ready);
        self.announce_builds_from(&koji, before);
        result.map(|added| added.len())
    }

    /// Changes a build's state, with its message; the old and new state
    /// numbers, or `None` when nothing changed.
    pub fn change_state(&self, nvr: &str, state: &str) -> Result<Option<(i64, i64)>, ModelError> {
        let mut koji = self.write();
        let id = koji
            .build_by_nvr(nvr)
            .map(|it| it.id)
            .ok_or_else(|| ModelError::Invalid(format!("no build {nvr}")))?;
        let change = koji.set_state(id, state)?;
        if let (Some((old, _)), Some(build)) = (change, koji.build(id)) {
            tracing::info!(build.nvr = %nvr, state, "fake Koji: build state changed");
            self.announce([messages::build_state_change(
                &self.messages.topic_prefix(),
                &self.messages.base_url(),
                build,
                Some(old),
            )]);
        }
        Ok(change)
    }

    /// Tags (`tagged`) or untags a build, with its message; the event, or
    /// `None` when nothing changed.
    pub fn change_tag(
        &self,
        nvr: &str,
        tag: &str,
        user: &str,
        tagged: bool,
    ) -> Result<Option<i64>, ModelError> {
        let mut koji = self.write();
        let build = koji
            .build_by_nvr(nvr)
            .cloned()
            .ok_or_else(|| ModelError::Invalid(format!("no build {nvr}")))?;
        let event = if tagged {
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |it| it.as_secs_f64());
            koji.tag(build.id, tag, user, now)?
        } else {
            koji.untag(build.id, tag, user)
        };
        tracing::info!(build = %nvr, tag = %tag, tagged, ?event, "fake Koji: tag changed");
        if event.is_some() {
            self.announce([messages::tag_change(
                &self.messages.topic_prefix(),
                &koji,
                &build,
                tag,
                user,
                tagged,
            )]);
        }
        Ok(event)
    }

    fn bodhi_base(&self) -> String {
        format!("{}/bodhi/", self.messages.base_url())
    }

    /// "Ready for testing" builds: Koji's ids of `nvrs`.
    fn artifact_builds(&self, nvrs: &[String]) -> Vec<Json> {
        let koji = self.read();
        nvrs.iter()
            .map(|nvr| messages::artifact_build(&koji, nvr))
            .collect()
    }

    /// Adds an update, with Bodhi's messages: submitted to testing, and
    /// ready for testing; its alias.
    pub fn add_update(&self, spec: &UpdateSpec) -> Result<String, ModelError> {
        let base = self.bodhi_base();
        let (alias, state, update) = {
            let mut bodhi = self.bodhi_mut();
            let alias = bodhi.add_update(spec)?;
            let state = bodhi.update_state(&alias);
            let update = bodhi.update_message_json(&alias, &base);
            (alias, state, update)
        };
        tracing::info!(update.alias = %alias, "fake Bodhi: update added");
        if let (Some(state), Some(update)) = (state, update) {
            let prefix = self.messages.topic_prefix();
            let builds = self.artifact_builds(&state.builds);
            self.announce(messages::update_request(
                &prefix,
                "testing",
                &state.user,
                &update,
            ));
            self.announce([messages::update_ready(
                &prefix, "bodhi", &update, builds, false,
            )]);
        }
        Ok(alias)
    }

    /// Edits an update, with Bodhi's messages: edited (when builds are
    /// given) and ready for testing (when they changed), the new request,
    /// and the push to testing or stable (when the status becomes one).
    pub fn edit_update(&self, alias: &str, edit: &UpdateEdit) -> Result<(), ModelError> {
        let base = self.bodhi_base();
        let (before, after, update) = {
            let mut bodhi = self.bodhi_mut();
            let before = bodhi
                .update_state(alias)
                .ok_or_else(|| ModelError::Invalid(format!("no update {alias}")))?;
            bodhi.edit(alias, edit)?;
            (
                before,
                bodhi.update_state(alias),
                bodhi.update_message_json(alias, &base),
            )
        };
        let (Some(after), Some(update)) = (after, update) else {
            return Ok(());
        };
        let prefix = self.messages.topic_prefix();
        let agent = edit.agent.clone().unwrap_or_else(|| after.user.clone());
        if edit.builds.is_some() {
            let added: Vec<String> = after
                .builds
                .iter()
                .filter(|it| !before.builds.contains(it))
                .cloned()
                .collect();
            let removed: Vec<String> = before
                .builds
                .iter()
                .filter(|it| !after.builds.contains(it))
                .cloned()
                .collect();
            self.announce([messages::update_edit(
                &prefix, &agent, &update, &added, &removed,
            )]);
            if !added.is_empty() || !removed.is_empty() {
                let builds = self.artifact_builds(&after.builds);
                self.announce([messages::update_ready(
                    &prefix, "bodhi", &update, builds, false,
                )]);
            }
        }
        if let Some(Some(request)) = &edit.request
            && before.request.as_ref() != Some(request)
        {
            self.announce(messages::update_request(&prefix, request, &agent, &update));
        }
        if after.status != before.status {
            self.announce(messages::update_complete(&prefix, &after.status, &update));
        }
        tracing::info!(update.alias = %alias, "fake Bodhi: update edited");
        Ok(())
    }

    /// How many builds, RPMs and tags it serves.
    pub fn counts(&self) -> (usize, usize, usize) {
        let koji = self.read();
        (koji.builds.len(), koji.rpms.len(), koji.tags.len())
    }

    fn bodhi(&self) -> std::sync::RwLockReadGuard<'_, Bodhi> {
        self.bodhi
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bodhi_mut(&self) -> std::sync::RwLockWriteGuard<'_, Bodhi> {
        self.bodhi
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Koji> {
        self.koji
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Koji> {
        self.koji
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/kojihub", post(kojihub))
            .route("/kojipkgs/{*path}", get(kojipkgs))
            .route(distgit::ROUTE, get(distgit::raw))
            .route("/admin/koji/builds", post(add_build))
            .route("/admin/koji/tag", post(tag_build))
            .route("/admin/koji/untag", post(untag_build))
            .route("/admin/koji/rescan", post(rescan))
            .route("/admin/koji/state", post(change_build_state))
            .route("/admin/messages", get(list_messages))
            .route("/bodhi/updates/", get(bodhi_updates))
            .route("/bodhi/updates", get(bodhi_updates))
            .route("/bodhi/updates/{alias}", get(bodhi_update))
            .route("/bodhi/releases/", get(bodhi_releases))
            .route("/bodhi/releases", get(bodhi_releases))
            .route("/bodhi/releases/{name}", get(bodhi_release))
            .route(
                "/openidc/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .route("/admin/bodhi/updates", post(add_update))
            .route("/admin/bodhi/updates/{alias}/edit", post(edit_update))
            .with_state(self.clone())
    }
}

/// The URLs a client needs, for `--help`-like output and the index page.
pub fn urls(base: &str) -> serde_json::Value {
    json!({
        "koji_hub": format!("{base}/kojihub"),
        "kojipkgs": format!("{base}/kojipkgs"),
        "bodhi": format!("{base}/bodhi/"),
        "distgit": format!("{base}/distgit"),
        "openid_provider": format!("{base}/openidc"),
    })
}

/// `http://<the Host the client used>`.
fn base_of(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|it| it.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

async fn index(State(_): State<FakeInfra>, headers: axum::http::HeaderMap) -> Response {
    axum::Json(urls(&base_of(&headers))).into_response()
}

fn bodhi_answer(result: Result<serde_json::Value, BodhiFault>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(fault) => (
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(fault.body),
        )
            .into_response(),
    }
}

fn params(query: Option<String>) -> Params {
    Params::new(
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
    )
}

async fn bodhi_updates(
    State(infra): State<FakeInfra>,
    headers: axum::http::HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let base = format!("{}/bodhi/", base_of(&headers));
    bodhi_answer(bodhi::list_updates(&infra.bodhi(), &params(query), &base))
}

async fn bodhi_update(
    State(infra): State<FakeInfra>,
    headers: axum::http::HeaderMap,
    UrlPath(alias): UrlPath<String>,
) -> Response {
    let base = format!("{}/bodhi/", base_of(&headers));
    bodhi_answer(bodhi::get_update(&infra.bodhi(), &alias, &base))
}

async fn bodhi_releases(
    State(infra): State<FakeInfra>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    bodhi_answer(bodhi::list_releases(&infra.bodhi(), &params(query)))
}

async fn bodhi_release(State(infra): State<FakeInfra>, UrlPath(name): UrlPath<String>) -> Response {
    bodhi_answer(bodhi::get_release(&infra.bodhi(), &name))
}

/// The OpenID Connect provider's metadata, which bodhi-client reads when it
/// starts (it only logs in for writes, which the fake does not take).
async fn openid_configuration(headers: axum::http::HeaderMap) -> Response {
    let issuer = format!("{}/openidc", base_of(&headers));
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/Authorization"),
        "token_endpoint": format!("{issuer}/Token"),
        "userinfo_endpoint": format!("{issuer}/UserInfo"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "scopes_supported": ["openid", "email", "profile"],
    }))
    .into_response()
}

async fn add_update(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    let spec: UpdateSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(err) => return bad_request(format!("bad update: {err}")),
    };
    match infra.add_update(&spec) {
        Ok(alias) => (StatusCode::CREATED, axum::Json(json!({"alias": alias}))).into_response(),
        Err(err) => bad_request(err),
    }
}

async fn edit_update(
    State(infra): State<FakeInfra>,
    UrlPath(alias): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let edit: UpdateEdit = match serde_json::from_slice(&body) {
        Ok(edit) => edit,
        Err(err) => return bad_request(format!("bad edit: {err}")),
    };
    match infra.edit_update(&alias, &edit) {
        Ok(()) => axum::Json(json!({"alias": alias})).into_response(),
        Err(err) => bad_request(err),
    }
}

async fn kojihub(State(infra): State<FakeInfra>, body: String) -> Response {
    let answer = hub::answer(&infra.read(), &body);
    ([(header::CONTENT_TYPE, "text/xml")], answer).into_response()
}

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, what).into_response()
}

async fn kojipkgs(State(infra): State<FakeInfra>, UrlPath(path): UrlPath<String>) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    // [vol/<volume>/]packages/<name>/<version>/<release>/...
    let (volume, rest) = match parts.as_slice() {
        ["vol", volume, rest @ ..] => (*volume, rest),
        rest => ("DEFAULT", rest),
    };
    let ["packages", name, version, release, tail @ ..] = rest else {
        return not_found(format!("{path}: not under packages/"));
    };
    let (build_id, nvr) = {
        let koji = infra.read();
        match koji.build_by_nvr(&format!("{name}-{version}-{release}")) {
            Some(build) if build.volume == volume => (build.id, build.nvr()),
            _ => return not_found(format!("{path}: no such build")),
        }
    };
    match tail {
        ["data", "logs", arch, file] => {
            let text = format!(
                "Fake build log ({file}) of {nvr} on {arch}, served by taskotron fake-infra.\n"
            );
            ([(header::CONTENT_TYPE, "text/plain")], text).into_response()
        }
        [arch, file] => {
            let found = {
                let koji = infra.read();
                koji.rpms
                    .iter()
                    .find(|it| {
                        it.build_id == build_id && it.arch == *arch && it.filename() == *file
                    })
                    .map(|it| it.path.clone())
            };
            let Some(file_path) = found else {
                return not_found(format!("{path}: no such RPM"));
            };
            match tokio::fs::read(&file_path).await {
                Ok(bytes) => (
                    [(header::CONTENT_TYPE, "application/x-rpm")],
                    Body::from(bytes),
                )
                    .into_response(),
                Err(err) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("{}: {err}", file_path.display()),
                )
                    .into_response(),
            }
        }
        _ => not_found(format!("{path}: no such file")),
    }
}

fn bad_request(err: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"message": err.to_string()})),
    )
        .into_response()
}

async fn add_build(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    let spec: BuildSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(err) => return bad_request(format!("bad build: {err}")),
    };
    match infra.add_build(&spec) {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response(),
        Err(err) => bad_request(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagChange {
    build: String,
    tag: String,
    #[serde(default)]
    user: Option<String>,
}

async fn tag_build(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    answer_tag_change(&infra, &body, true)
}

async fn untag_build(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    answer_tag_change(&infra, &body, false)
}

fn answer_tag_change(infra: &FakeInfra, body: &[u8], tag: bool) -> Response {
    let change: TagChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(err) => return bad_request(format!("bad tag change: {err}")),
    };
    let user = change.user.as_deref().unwrap_or("bodhi");
    match infra.change_tag(&change.build, &change.tag, user, tag) {
        Ok(event) => axum::Json(json!({"event": event})).into_response(),
        Err(err) => bad_request(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateChange {
    build: String,
    state: String,
}

async fn change_build_state(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    let change: StateChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => return bad_request(format!("bad state change: {err}")),
    };
    match infra.change_state(&change.build, &change.state) {
        Ok(change) => axum::Json(json!({
            "old": change.map(|it| it.0),
            "new": change.map(|it| it.1),
            "changed": change.is_some(),
        }))
        .into_response(),
        Err(err) => bad_request(err),
    }
}

async fn rescan(State(infra): State<FakeInfra>) -> Response {
    match infra.rescan(|_| true) {
        Ok(added) => axum::Json(json!({"rpms_added": added})).into_response(),
        Err(err) => bad_request(err),
    }
}

async fn list_messages(State(infra): State<FakeInfra>) -> Response {
    axum::Json(infra.messages.to_json()).into_response()
}

/// Serve `infra` on `listener` until `shutdown` completes.
pub async fn serve(
    infra: FakeInfra,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, infra.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Start serving `dir` on `addr` in the background; the bound address.
/// For tests: the server stops when the runtime does.
pub async fn spawn(dir: &Path, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    spawn_with(
        dir,
        addr,
        MessageOptions::default(),
        &BackgroundOptions::default(),
    )
    .await
}

/// [`spawn`], making messages as `messages` says and running what
/// `background` asks for (publishing, watching) until the runtime stops.
pub async fn spawn_with(
    dir: &Path,
    addr: SocketAddr,
    messages: MessageOptions,
    background: &BackgroundOptions,
) -> anyhow::Result<SocketAddr> {
    let infra = FakeInfra::load_with(dir, messages)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let infra = infra.with_base_url(&format!("http://{local}"));
    // Never cancelled: the tasks end with the runtime.
    let _tasks = infra.start_background(background, &CancellationToken::new());
    tokio::spawn(serve(infra, listener, std::future::pending()));
    Ok(local)
}
