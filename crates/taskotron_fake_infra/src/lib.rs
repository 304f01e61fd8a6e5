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
//! - `POST /admin/koji/...`: changes while running (add a build, tag,
//!   untag, rescan the directory), so a test can play a stream of events.

pub mod hub;
pub mod model;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::model::{BuildSpec, Koji, ModelError};

/// The state the routes share.
#[derive(Clone)]
pub struct FakeInfra {
    koji: Arc<RwLock<Koji>>,
    dir: PathBuf,
}

impl std::fmt::Debug for FakeInfra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeInfra")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FakeInfra {
    /// Load `dir` (its `infra.yaml` and RPM files).
    pub fn load(dir: &Path) -> Result<FakeInfra, ModelError> {
        Ok(FakeInfra {
            koji: Arc::new(RwLock::new(Koji::load(dir)?)),
            dir: dir.to_owned(),
        })
    }

    /// How many builds, RPMs and tags it serves.
    pub fn counts(&self) -> (usize, usize, usize) {
        let koji = self.read();
        (koji.builds.len(), koji.rpms.len(), koji.tags.len())
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
            .route("/admin/koji/builds", post(add_build))
            .route("/admin/koji/tag", post(tag_build))
            .route("/admin/koji/untag", post(untag_build))
            .route("/admin/koji/rescan", post(rescan))
            .with_state(self.clone())
    }
}

/// The URLs a client needs, for `--help`-like output and the index page.
pub fn urls(base: &str) -> serde_json::Value {
    json!({
        "koji_hub": format!("{base}/kojihub"),
        "kojipkgs": format!("{base}/kojipkgs"),
    })
}

async fn index(State(_): State<FakeInfra>, headers: axum::http::HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|it| it.to_str().ok())
        .unwrap_or("127.0.0.1");
    axum::Json(urls(&format!("http://{host}"))).into_response()
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
    let mut koji = infra.write();
    let result = koji
        .add_build(&spec)
        .and_then(|id| koji.scan_rpms().map(|_| id));
    match result {
        Ok(id) => {
            tracing::info!(build.nvr = %spec.nvr, build.id = id, "fake Koji: build added");
            (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response()
        }
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
    change_tag(&infra, &body, true)
}

async fn untag_build(State(infra): State<FakeInfra>, body: axum::body::Bytes) -> Response {
    change_tag(&infra, &body, false)
}

fn change_tag(infra: &FakeInfra, body: &[u8], tag: bool) -> Response {
    let change: TagChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(err) => return bad_request(format!("bad tag change: {err}")),
    };
    let mut koji = infra.write();
    let Some(build_id) = koji.build_by_nvr(&change.build).map(|it| it.id) else {
        return bad_request(format!("no build {}", change.build));
    };
    let user = change.user.as_deref().unwrap_or("bodhi");
    let event = if tag {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |it| it.as_secs_f64());
        match koji.tag(build_id, &change.tag, user, now) {
            Ok(event) => event,
            Err(err) => return bad_request(err),
        }
    } else {
        koji.untag(build_id, &change.tag, user)
    };
    tracing::info!(build = %change.build, tag = %change.tag, tagged = tag, ?event, "fake Koji: tag changed");
    axum::Json(json!({"event": event})).into_response()
}

async fn rescan(State(infra): State<FakeInfra>) -> Response {
    match infra.write().scan_rpms() {
        Ok(added) => axum::Json(json!({"rpms_added": added.len()})).into_response(),
        Err(err) => bad_request(err),
    }
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
    let infra = FakeInfra::load(dir)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(serve(infra, listener, std::future::pending()));
    Ok(local)
}
