//! Job logs and artifacts: workers stream a running task's log and upload
//! its artifacts with the attempt's fencing token; anyone reads them back
//! under `/api/v1/jobs/{uuid}`.
//!
//! Files live in the data directory of the server that received them:
//! `<data-dir>/jobs/<uuid>/<attempt>/log` and
//! `<data-dir>/jobs/<uuid>/<attempt>/artifacts/<name>`. The attempt's
//! `log_url` and `artifacts_url` (set with the first upload) name that
//! server, so with several servers on one PostgreSQL the links say where
//! the files are. A log chunk carries the offset it starts at, so a retried
//! chunk is appended once; an artifact is written to a temporary file and
//! renamed into place only when it is whole and within the attempt's limit.
//! The retention sweep ([`run_file_sweeper`]) deletes the files of
//! finished jobs whose last upload is older than the retention, and leaves
//! an `expired` marker so the API can say so; the job's record stays.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use taskotron_store::jobs::{Attempt, Job, JobState};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

use crate::AppState;
use crate::error::ApiError;
use crate::jobs::{RouteEntry, parse_uuid};

/// The largest log chunk one request may carry.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Bodies smaller than this are sent as they are even to gzip clients.
const GZIP_MIN: u64 = 1024;
/// Text artifacts larger than this are sent uncompressed (compressing
/// happens in memory).
const GZIP_MAX: u64 = 32 * 1024 * 1024;
/// The most bytes an artifact name may have.
const NAME_MAX: usize = 1024;
/// The most directory levels an artifact name may have.
const DEPTH_MAX: usize = 32;
/// The marker a swept job's directory keeps.
const EXPIRED: &str = "expired";

/// Where job files go and how much of them a server keeps.
#[derive(Debug)]
pub struct JobFiles {
    /// The data directory (files go under `jobs/`); `None` keeps none and
    /// the routes answer 404.
    pub data_dir: Option<PathBuf>,
    /// `artifacts.max-log-bytes`.
    pub max_log_bytes: u64,
    /// `artifacts.max-artifact-bytes`, for all of one attempt's files.
    pub max_artifact_bytes: u64,
    /// How long a finished job's files stay after the last upload; `None`
    /// keeps them for ever.
    pub retention: Option<Duration>,
    /// Uploads to one attempt run one at a time (striped by attempt).
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl Default for JobFiles {
    fn default() -> JobFiles {
        JobFiles::new(None)
    }
}

impl JobFiles {
    /// Files under `data_dir` with the default limits: 64 MiB of log and
    /// 1 GiB of artifacts per attempt, kept 30 days.
    pub fn new(data_dir: Option<PathBuf>) -> JobFiles {
        JobFiles {
            data_dir,
            max_log_bytes: 64 * 1024 * 1024,
            max_artifact_bytes: 1024 * 1024 * 1024,
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    fn root(&self) -> Result<PathBuf, ApiError> {
        self.data_dir
            .as_ref()
            .map(|it| it.join("jobs"))
            .ok_or_else(|| {
                ApiError::NotFound("this server keeps no job logs or artifacts".to_owned())
            })
    }

    fn lock(&self, uuid: &str, attempt: i64) -> &tokio::sync::Mutex<()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (uuid, attempt).hash(&mut hasher);
        let idx = usize::try_from(hasher.finish() % self.locks.len() as u64).unwrap_or(0);
        &self.locks[idx]
    }
}

pub(crate) fn table() -> Vec<RouteEntry> {
    vec![
        ("POST", "/api/v1/worker/jobs/{uuid}/log", post(upload_log)),
        (
            "PUT",
            "/api/v1/worker/jobs/{uuid}/artifacts/{*name}",
            put(upload_artifact),
        ),
        ("GET", "/api/v1/jobs/{uuid}/log", get(read_log)),
        ("GET", "/api/v1/jobs/{uuid}/artifacts", get(list_artifacts)),
        (
            "GET",
            "/api/v1/jobs/{uuid}/artifacts/{*name}",
            get(read_artifact),
        ),
    ]
}

/// An answer with a JSON body (for the answers `ApiError` has no variant
/// for: a log gap with the server's size, 410 for expired files).
fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn io_error(what: &str, err: &std::io::Error) -> ApiError {
    ApiError::Internal(format!("{what}: {err}"))
}

/// The query's parameters, refusing unknown ones.
fn params(query: Option<&str>, known: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !known.contains(&name.as_ref()) {
            return Err(ApiError::validation(
                &name,
                format!("unknown parameter: expected {}", known.join(", ")),
                "extra_forbidden",
            ));
        }
        out.push((name.into_owned(), value.into_owned()));
    }
    Ok(out)
}

fn number(params: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| {
            value
                .parse::<i64>()
                .ok()
                .filter(|it| *it >= 0)
                .ok_or_else(|| {
                    ApiError::validation(
                        name,
                        format!("{value:?} is not a whole number, 0 or more"),
                        "int_parsing",
                    )
                })
        })
        .transpose()
}

fn required(params: &[(String, String)], name: &str) -> Result<i64, ApiError> {
    number(params, name)?.ok_or_else(|| {
        ApiError::validation(
            name,
            "this query parameter is required".to_owned(),
            "missing",
        )
    })
}

/// An artifact name: relative, `/`-separated, without `.`, `..` or empty
/// parts, control characters or backslashes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an artifact name must not be empty".to_owned());
    }
    if name.len() > NAME_MAX {
        return Err(format!("an artifact name has at most {NAME_MAX} bytes"));
    }
    if name.starts_with('/') {
        return Err(format!("{name:?} is absolute: artifact names are relative"));
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > DEPTH_MAX {
        return Err(format!("{name:?} is deeper than {DEPTH_MAX} directories"));
    }
    for part in parts {
        if part.is_empty() {
            return Err(format!("{name:?} has an empty path part"));
        }
        if part == "." || part == ".." {
            return Err(format!("{name:?} has a {part:?} part"));
        }
        if part.len() > 255 {
            return Err(format!("{name:?} has a part longer than 255 bytes"));
        }
        if part.chars().any(|c| c.is_control() || c == '\\') {
            return Err(format!("{name:?} has a control character or a backslash"));
        }
    }
    Ok(())
}

/// The Content-Type of an artifact, by its extension.
pub fn content_type(name: &str) -> &'static str {
    let base = name.rsplit('/').next().unwrap_or(name);
    let ext = match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    match ext.as_str() {
        "log" | "txt" | "out" | "err" | "text" | "spec" | "repo" | "cfg" | "conf" | "ini"
        | "toml" | "py" | "sh" | "rst" | "c" | "h" | "rs" => "text/plain; charset=utf-8",
        "diff" | "patch" => "text/x-diff; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "yml" | "yaml" => "application/yaml",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "rpm" => "application/x-rpm",
        "gz" | "tgz" => "application/gzip",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "bz2" => "application/x-bzip2",
        "tar" => "application/x-tar",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Whether a Content-Type is text, worth compressing.
fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/json" | "application/yaml" | "application/xml" | "image/svg+xml"
        )
}

/// Whether the client takes gzip (`Accept-Encoding`, `q=0` refuses).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|it| it.to_str().ok())
        .flat_map(|it| it.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|it| {
                it.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// A body, gzip-encoded when the client takes it and it is worth it.
fn maybe_gzip(request: &HeaderMap, bytes: Vec<u8>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if bytes.len() as u64 >= GZIP_MIN
        && accepts_gzip(request)
        && let Some(packed) = gzip(&bytes)
        && packed.len() < bytes.len()
    {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        *response.body_mut() = Body::from(packed);
        return response;
    }
    *response.body_mut() = Body::from(bytes);
    response
}

/// The worker's name, checking its token; 404 when the worker API is off.
fn worker_name(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    match &state.worker.auth {
        Some(auth) => auth.check(headers),
        None => Err(ApiError::NotFound(
            "the worker API is disabled: set api.worker-tokens-file in the server's \
             configuration"
                .to_owned(),
        )),
    }
}

/// The attempt number of the running job `uuid` if `token` is its current
/// attempt's and `worker` holds it; 409 otherwise.
async fn holding(state: &AppState, uuid: &str, worker: &str, token: i64) -> Result<i64, ApiError> {
    let job = state
        .store
        .get_job(uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {uuid} not found")))?;
    if job.state != JobState::Running || job.worker.as_deref() != Some(worker) || job.token != token
    {
        tracing::warn!(job.id = %uuid, worker.name = %worker, token, "a worker uploaded for a job it does not hold");
        return Err(ApiError::Store(taskotron_store::StoreError::StaleAttempt {
            job: uuid.to_owned(),
            token,
        }));
    }
    Ok(job
        .attempts
        .iter()
        .find(|it| it.token == token)
        .map_or(job.attempt_count, |it| it.attempt))
}

fn log_link(origin: &str, uuid: &str, attempt: i64) -> String {
    format!("{origin}/api/v1/jobs/{uuid}/log?attempt={attempt}")
}

fn artifacts_link(origin: &str, uuid: &str, attempt: i64) -> String {
    format!("{origin}/api/v1/jobs/{uuid}/artifacts?attempt={attempt}")
}

/// The links the attempt holding `token` got from its uploads, for its
/// result (the worker's own links win when it sends some).
pub(crate) async fn uploaded_links(
    state: &AppState,
    uuid: &str,
    token: i64,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let job = state.store.get_job(uuid).await?;
    Ok(job
        .and_then(|job| job.attempts.into_iter().find(|it| it.token == token))
        .map_or((None, None), |it| (it.log_url, it.artifacts_url)))
}

async fn upload_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let worker = worker_name(&state, &headers)?;
    let uuid = parse_uuid(&uuid)?;
    let params = params(query.as_deref(), &["token", "offset"])?;
    let token = required(&params, "token")?;
    let offset = u64::try_from(required(&params, "offset")?).unwrap_or(0);
    let files = &state.job_files;
    let root = files.root()?;
    let bytes = axum::body::to_bytes(body, MAX_CHUNK_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge(MAX_CHUNK_BYTES))?;
    let attempt = holding(&state, &uuid, &worker, token).await?;
    let dir = root.join(&uuid).join(attempt.to_string());
    let path = dir.join("log");
    let _guard = files.lock(&uuid, attempt).lock().await;
    let size = match tokio::fs::metadata(&path).await {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
        Err(err) => return Err(io_error("cannot read the log's size", &err)),
    };
    if offset > size {
        return Ok(answer(
            StatusCode::BAD_REQUEST,
            json!({
                "message": format!(
                    "the chunk starts at byte {offset} but the server has {size} bytes of this log: \
                     send from byte {size}"
                ),
                "size": size,
            }),
        ));
    }
    let end = offset + bytes.len() as u64;
    if end <= size {
        // A retry of a chunk already appended.
        return Ok(Json(json!({"size": size})).into_response());
    }
    if end > files.max_log_bytes {
        tracing::warn!(job.id = %uuid, worker.name = %worker, attempt, "a log passed artifacts.max-log-bytes");
        return Ok(answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({
                "message": format!(
                    "the log would pass the server's limit of {} bytes (artifacts.max-log-bytes); \
                     the chunk was not kept",
                    files.max_log_bytes
                ),
                "size": size,
            }),
        ));
    }
    let fresh = usize::try_from(size - offset).unwrap_or(0);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|err| io_error("cannot create the job's directory", &err))?;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await
        .map_err(|err| io_error("cannot open the log", &err))?;
    file.write_all(&bytes[fresh..])
        .await
        .map_err(|err| io_error("cannot append to the log", &err))?;
    file.flush()
        .await
        .map_err(|err| io_error("cannot append to the log", &err))?;
    if size == 0 {
        let origin = crate::resultsdb::origin(&state, &headers);
        state
            .store
            .set_attempt_links(&uuid, token, Some(&log_link(&origin, &uuid, attempt)), None)
            .await?;
    }
    Ok(Json(json!({"size": end})).into_response())
}

/// The bytes of every file under `dir` but `except`, and the size of
/// `except` (the file an upload replaces).
fn artifacts_size(dir: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((at, prefix)) = stack.pop() {
        let entries = match std::fs::read_dir(&at) {
            Ok(it) => it,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push((entry.path(), rel));
            } else if meta.is_file() {
                out.push((rel, meta.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn upload_artifact(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath((uuid, name)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let worker = worker_name(&state, &headers)?;
    let uuid = parse_uuid(&uuid)?;
    let params = params(query.as_deref(), &["token"])?;
    let token = required(&params, "token")?;
    check_name(&name).map_err(|message| ApiError::validation("name", message, "value_error"))?;
    let files = &state.job_files;
    let root = files.root()?;
    let attempt = holding(&state, &uuid, &worker, token).await?;
    let dir = root.join(&uuid).join(attempt.to_string());
    let store_dir = dir.join("artifacts");
    let target = store_dir.join(&name);
    let _guard = files.lock(&uuid, attempt).lock().await;

    // What the attempt holds already, without the file this one replaces.
    let listing = {
        let store_dir = store_dir.clone();
        tokio::task::spawn_blocking(move || artifacts_size(&store_dir))
            .await
            .map_err(|err| io_error("cannot list the artifacts", &std::io::Error::other(err)))?
            .map_err(|err| io_error("cannot list the artifacts", &err))?
    };
    let held: u64 = listing
        .iter()
        .filter(|(it, _)| it != &name)
        .map(|(_, size)| size)
        .sum();
    // A file where a directory must go, or a directory where the file must.
    if let Some((other, _)) = listing.iter().find(|(it, _)| {
        name.strip_prefix(it.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
            || it
                .strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }) {
        return Err(ApiError::validation(
            "name",
            format!("{name:?} conflicts with the artifact {other:?}"),
            "value_error",
        ));
    }
    if target.is_dir() {
        return Err(ApiError::validation(
            "name",
            format!("{name:?} is a directory of artifacts"),
            "value_error",
        ));
    }
    let room = files.max_artifact_bytes.saturating_sub(held);
    let too_large = || {
        tracing::warn!(job.id = %uuid, worker.name = %worker, attempt, artifact = %name,
            "an artifact passed artifacts.max-artifact-bytes");
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": format!(
                "{name:?} would bring the attempt's artifacts past the server's limit of {} \
                 bytes (artifacts.max-artifact-bytes); nothing of it was kept",
                files.max_artifact_bytes
            )}),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.parse::<u64>().ok());
    if announced.is_some_and(|it| it > room) {
        return Ok(too_large());
    }
    let incoming = dir.join("incoming");
    tokio::fs::create_dir_all(&incoming)
        .await
        .map_err(|err| io_error("cannot create the upload directory", &err))?;
    let part = incoming.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let received = receive(body, &part, room).await;
    let size = match received {
        Ok(Some(size)) => size,
        Ok(None) => {
            let _ = tokio::fs::remove_file(&part).await;
            return Ok(too_large());
        }
        Err(err) => {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(err);
        }
    };
    let placed = async {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&part, &target).await
    }
    .await;
    if let Err(err) = placed {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(io_error("cannot store the artifact", &err));
    }
    if listing.is_empty() {
        let origin = crate::resultsdb::origin(&state, &headers);
        state
            .store
            .set_attempt_links(
                &uuid,
                token,
                None,
                Some(&artifacts_link(&origin, &uuid, attempt)),
            )
            .await?;
    }
    tracing::debug!(job.id = %uuid, worker.name = %worker, attempt, artifact = %name, size, "artifact stored");
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "size": size, "content_type": content_type(&name)})),
    )
        .into_response())
}

/// Write the body to `part`: its size, or `None` once it passes `room`.
async fn receive(body: Body, part: &Path, room: u64) -> Result<Option<u64>, ApiError> {
    let mut file = tokio::fs::File::create(part)
        .await
        .map_err(|err| io_error("cannot create the upload file", &err))?;
    let mut body = body;
    let mut size = 0_u64;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|err| ApiError::BadRequest(format!("the upload broke off: {err}")))?;
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            if size > room {
                return Ok(None);
            }
            file.write_all(&data)
                .await
                .map_err(|err| io_error("cannot write the upload file", &err))?;
        }
    }
    file.sync_all()
        .await
        .map_err(|err| io_error("cannot write the upload file", &err))?;
    Ok(Some(size))
}

/// The job, the attempt asked for (`?attempt=N`, else the latest; `None`
/// when the job has not started) and its directory.
async fn which_attempt(
    state: &AppState,
    uuid: &str,
    params: &[(String, String)],
) -> Result<(Job, Option<Attempt>, PathBuf), ApiError> {
    let root = state.job_files.root()?;
    let job = state
        .store
        .get_job(uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {uuid} not found")))?;
    let attempt = match number(params, "attempt")? {
        Some(n) => Some(
            job.attempts
                .iter()
                .find(|it| it.attempt == n)
                .cloned()
                .ok_or_else(|| ApiError::NotFound(format!("job {uuid} has no attempt {n}")))?,
        ),
        None => job.attempts.iter().max_by_key(|it| it.attempt).cloned(),
    };
    Ok((job, attempt, root.join(uuid)))
}

/// The 410 answer when the sweep took the job's files.
async fn expired(job_dir: &Path, uuid: &str) -> Option<(StatusCode, Value)> {
    let text = tokio::fs::read_to_string(job_dir.join(EXPIRED))
        .await
        .ok()?;
    let marker: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Some((
        StatusCode::GONE,
        json!({
            "message": format!(
                "the logs and artifacts of job {uuid} expired (artifacts.retention-days) and were deleted"
            ),
            "expired": true,
            "expired_at": marker["expired_at"],
        }),
    ))
}

/// Where the files of an attempt that left none here may be.
fn elsewhere(link: Option<&str>, origin: &str) -> Option<String> {
    link.filter(|it| !it.starts_with(origin))
        .map(|it| format!("; the attempt's files were received by another server: {it}"))
}

async fn read_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let uuid = parse_uuid(&uuid)?;
    let params = params(query.as_deref(), &["attempt", "offset"])?;
    let offset = u64::try_from(number(&params, "offset")?.unwrap_or(0)).unwrap_or(0);
    let (job, attempt, job_dir) = which_attempt(&state, &uuid, &params).await?;
    if let Some((status, body)) = expired(&job_dir, &uuid).await {
        return Ok(answer(status, body));
    }
    let text_response = |size: u64, start: u64, complete: bool, attempt: Option<i64>| {
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-log-size", HeaderValue::from(size));
        headers.insert("x-log-offset", HeaderValue::from(start));
        headers.insert(
            "x-log-complete",
            HeaderValue::from_static(if complete { "true" } else { "false" }),
        );
        if let Some(attempt) = attempt {
            headers.insert("x-log-attempt", HeaderValue::from(attempt));
        }
        response
    };
    let Some(attempt) = attempt else {
        if job.state.is_final() {
            return Err(ApiError::NotFound(format!(
                "job {uuid} ended ({}) without running: it has no log",
                job.state
            )));
        }
        // Queued: the log is empty so far.
        return Ok(text_response(0, 0, false, None));
    };
    let complete = attempt.ended_at.is_some();
    let path = job_dir.join(attempt.attempt.to_string()).join("log");
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(it) => it,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let origin = crate::resultsdb::origin(&state, &headers);
            if let Some(where_) = elsewhere(attempt.log_url.as_deref(), &origin) {
                return Err(ApiError::NotFound(format!(
                    "this server has no log of attempt {} of job {uuid}{where_}",
                    attempt.attempt
                )));
            }
            if complete {
                return Err(ApiError::NotFound(format!(
                    "attempt {} of job {uuid} sent no log",
                    attempt.attempt
                )));
            }
            return Ok(text_response(0, 0, false, Some(attempt.attempt)));
        }
        Err(err) => return Err(io_error("cannot open the log", &err)),
    };
    let size = file
        .metadata()
        .await
        .map_err(|err| io_error("cannot read the log", &err))?
        .len();
    let start = offset.min(size);
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|err| io_error("cannot read the log", &err))?;
    let mut bytes = Vec::with_capacity(usize::try_from(size - start).unwrap_or(0));
    file.take(size - start)
        .read_to_end(&mut bytes)
        .await
        .map_err(|err| io_error("cannot read the log", &err))?;
    let response = text_response(
        start + bytes.len() as u64,
        start,
        complete,
        Some(attempt.attempt),
    );
    Ok(maybe_gzip(&headers, bytes, response))
}

/// An artifact's name in a URL: each part percent-encoded.
fn encode_name(name: &str) -> String {
    const PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    name.split('/')
        .map(|part| percent_encoding::utf8_percent_encode(part, PART).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

async fn list_artifacts(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(uuid): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let uuid = parse_uuid(&uuid)?;
    let params = params(query.as_deref(), &["attempt"])?;
    let (_job, attempt, job_dir) = which_attempt(&state, &uuid, &params).await?;
    if let Some(gone) = expired(&job_dir, &uuid).await {
        // The listing says so with a 200: the job and its attempts are there.
        let (_, mut body) = gone;
        body["uuid"] = json!(uuid);
        body["attempt"] = json!(attempt.map(|it| it.attempt));
        body["data"] = json!([]);
        return Ok(Json(body).into_response());
    }
    let Some(attempt) = attempt else {
        return Ok(
            Json(json!({"uuid": uuid, "attempt": null, "expired": false, "data": []}))
                .into_response(),
        );
    };
    let dir = job_dir.join(attempt.attempt.to_string()).join("artifacts");
    let listing = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || artifacts_size(&dir))
            .await
            .map_err(|err| io_error("cannot list the artifacts", &std::io::Error::other(err)))?
            .map_err(|err| io_error("cannot list the artifacts", &err))?
    };
    let origin = crate::resultsdb::origin(&state, &headers);
    let mut body = json!({
        "uuid": uuid,
        "attempt": attempt.attempt,
        "expired": false,
        "total_bytes": listing.iter().map(|(_, size)| size).sum::<u64>(),
        "data": listing
            .iter()
            .map(|(name, size)| json!({
                "name": name,
                "size": size,
                "content_type": content_type(name),
                "url": format!(
                    "{origin}/api/v1/jobs/{uuid}/artifacts/{}?attempt={}",
                    encode_name(name),
                    attempt.attempt
                ),
            }))
            .collect::<Vec<_>>(),
    });
    if listing.is_empty()
        && let Some(where_) = elsewhere(attempt.artifacts_url.as_deref(), &origin)
    {
        body["message"] = Value::String(format!("no artifacts here{where_}"));
    }
    Ok(Json(body).into_response())
}

async fn read_artifact(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath((uuid, name)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let uuid = parse_uuid(&uuid)?;
    check_name(&name).map_err(|message| ApiError::validation("name", message, "value_error"))?;
    let params = params(query.as_deref(), &["attempt"])?;
    let (_job, attempt, job_dir) = which_attempt(&state, &uuid, &params).await?;
    if let Some((status, body)) = expired(&job_dir, &uuid).await {
        return Ok(answer(status, body));
    }
    let missing = || ApiError::NotFound(format!("job {uuid} has no artifact {name:?}"));
    let attempt = attempt.ok_or_else(missing)?;
    let path = job_dir
        .join(attempt.attempt.to_string())
        .join("artifacts")
        .join(&name);
    debug_assert!(
        path.components()
            .all(|it| !matches!(it, Component::ParentDir))
    );
    let meta = match tokio::fs::symlink_metadata(&path).await {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Err(missing()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(err) => return Err(io_error("cannot read the artifact", &err)),
    };
    let kind = content_type(&name);
    let mut response = Response::new(Body::empty());
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A task's HTML must not run scripts as the API's origin.
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if is_text(kind) && meta.len() <= GZIP_MAX {
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|err| io_error("cannot read the artifact", &err))?;
        return Ok(maybe_gzip(&headers, bytes, response));
    }
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|err| io_error("cannot read the artifact", &err))?;
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    *response.body_mut() = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(response)
}

/// The job directories under `root` whose newest file is older than
/// `retention` and that were not swept yet.
fn old_job_dirs(root: &Path, retention: Duration) -> std::io::Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(root) {
        Ok(it) => it,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let now = SystemTime::now();
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let dir = entry.path();
        if uuid::Uuid::parse_str(&name).is_err() || !dir.is_dir() || dir.join(EXPIRED).exists() {
            continue;
        }
        let newest = newest_mtime(&dir)?;
        let age = now.duration_since(newest).unwrap_or(Duration::ZERO);
        if age >= retention {
            out.push((name, dir));
        }
    }
    Ok(out)
}

fn newest_mtime(dir: &Path) -> std::io::Result<SystemTime> {
    let mut newest = std::fs::metadata(dir)?.modified()?;
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            newest = newest.max(meta.modified()?);
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    Ok(newest)
}

/// Delete what a job directory holds and leave the `expired` marker.
fn expire_dir(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    std::fs::write(dir.join(EXPIRED), json!({"expired_at": stamp}).to_string())
}

/// One retention pass: delete the files of finished jobs whose last upload
/// is older than the retention; the number of jobs swept.
pub async fn sweep_files(state: &AppState) -> Result<usize, ApiError> {
    let files = &state.job_files;
    let (Some(data_dir), Some(retention)) = (&files.data_dir, files.retention) else {
        return Ok(0);
    };
    let root = data_dir.join("jobs");
    let candidates = tokio::task::spawn_blocking(move || old_job_dirs(&root, retention))
        .await
        .map_err(|err| io_error("cannot walk the job files", &std::io::Error::other(err)))?
        .map_err(|err| io_error("cannot walk the job files", &err))?;
    let mut swept = 0;
    for (uuid, dir) in candidates {
        if let Some(job) = state.store.get_job(&uuid).await?
            && !job.state.is_final()
        {
            continue;
        }
        tokio::task::spawn_blocking(move || expire_dir(&dir))
            .await
            .map_err(|err| io_error("cannot delete job files", &std::io::Error::other(err)))?
            .map_err(|err| io_error("cannot delete job files", &err))?;
        tracing::info!(job.id = %uuid, "the job's logs and artifacts expired and were deleted");
        swept += 1;
    }
    Ok(swept)
}

/// The retention sweep: [`sweep_files`] every `every`, for ever (abort the
/// task to stop it); a failed pass is logged and the next one tries again.
pub async fn run_file_sweeper(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = sweep_files(&state).await {
            tracing::warn!(error = %err, "the retention sweep failed; it tries again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in [
            "a",
            "taskotron/taskotron.log",
            "dir/sub/file.txt",
            ".hidden",
            "a b",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "a\0b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("a/".repeat(40).trim_end_matches('/')).is_err());
    }

    #[test]
    fn content_types_by_extension() {
        for (name, want) in [
            ("taskotron/taskotron.log", "text/plain; charset=utf-8"),
            ("report.HTML", "text/html; charset=utf-8"),
            ("results.yml", "application/yaml"),
            ("x.json", "application/json"),
            ("foo-1.0-1.fc42.x86_64.rpm", "application/x-rpm"),
            ("noext", "application/octet-stream"),
            (".log", "application/octet-stream"),
        ] {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("")),
            );
            accepts_gzip(&headers)
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
