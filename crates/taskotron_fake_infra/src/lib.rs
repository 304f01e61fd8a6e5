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
//! - `POST /admin/...`: changes while running (add a build, tag, untag,
//!   rescan the directory; add or edit an update), so a test can play a
//!   stream of events.

pub mod bodhi;
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

use crate::bodhi::{Bodhi, BodhiFault, Params, UpdateEdit, UpdateSpec};
use crate::model::{BuildSpec, Koji, ModelError};

/// The state the routes share.
#[derive(Clone)]
pub struct FakeInfra {
    koji: Arc<RwLock<Koji>>,
    bodhi: Arc<RwLock<Bodhi>>,
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
        let spec = model::read_infra(dir)?;
        Ok(FakeInfra {
            koji: Arc::new(RwLock::new(Koji::from_spec(dir, &spec.koji)?)),
            bodhi: Arc::new(RwLock::new(Bodhi::load(&spec.bodhi)?)),
            dir: dir.to_owned(),
        })
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
            .route("/admin/koji/builds", post(add_build))
            .route("/admin/koji/tag", post(tag_build))
            .route("/admin/koji/untag", post(untag_build))
            .route("/admin/koji/rescan", post(rescan))
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
    match infra.bodhi_mut().add_update(&spec) {
        Ok(alias) => {
            tracing::info!(update.alias = %alias, "fake Bodhi: update added");
            (StatusCode::CREATED, axum::Json(json!({"alias": alias}))).into_response()
        }
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
    match infra.bodhi_mut().edit(&alias, &edit) {
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
