//! The HTTP client of the worker protocol (docs/worker-protocol.md), with its
//! own wire structs: the worker shares no code with the server.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a worker announces at registration and with each lease request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Architectures it runs jobs for.
    pub arches: Vec<String>,
    /// Sandbox kinds it offers (`bwrap`).
    pub sandboxes: Vec<String>,
    /// Free labels a job may require.
    pub labels: Vec<String>,
    /// How many jobs it runs at once.
    pub slots: u16,
}

#[derive(Debug, Serialize)]
struct RegisterRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(flatten)]
    capabilities: &'a Capabilities,
}

/// The server's answer to a registration.
#[derive(Debug, Clone, Deserialize)]
pub struct Registered {
    /// The worker's name (the token's).
    pub name: String,
    /// The times the server keeps.
    pub config: ServerTimes,
}

/// Lease and heartbeat times, in seconds.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ServerTimes {
    /// How long a lease (and each heartbeat) holds a job.
    pub lease_seconds: f64,
    /// How often to heartbeat.
    pub heartbeat_seconds: f64,
    /// The longest a lease request waits.
    pub max_wait_seconds: f64,
}

/// A formula in a git repository, at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FormulaSource {
    /// The repository (any URL or path git clones).
    pub repo: String,
    /// The commit.
    pub commit: String,
    /// The formula's path in the repository.
    pub path: String,
}

#[derive(Debug, Serialize)]
struct LeaseRequest<'a> {
    wait_seconds: f64,
    capabilities: &'a Capabilities,
}

/// A job's unique key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobKey {
    /// The check's name, `namespace.name`.
    pub check: String,
    /// The check's revision.
    pub check_revision: String,
    /// The item's type (`koji_build`…).
    pub item_type: String,
    /// The item.
    pub item: String,
    /// The item's revision.
    pub item_revision: String,
    /// The architecture.
    pub arch: String,
    /// The re-run number.
    pub rerun: i64,
}

/// A leased job.
#[derive(Debug, Clone, Deserialize)]
pub struct Lease {
    /// The job's uuid.
    pub uuid: String,
    /// Its key.
    pub key: JobKey,
    /// Which attempt this is (1 for the first).
    pub attempt: i64,
    /// The fencing token to heartbeat and report with.
    pub token: i64,
    /// When the lease runs out unless heartbeated.
    pub lease_expires_at: String,
    /// The lease length.
    pub lease_seconds: f64,
    /// How often to heartbeat.
    pub heartbeat_seconds: f64,
    /// The longest a lease request waits.
    pub max_wait_seconds: f64,
    /// Where the formula comes from when it is not in the tasks directory
    /// (a task the scheduler discovered in a git repository).
    #[serde(default)]
    pub source: Option<FormulaSource>,
}

#[derive(Debug, Serialize)]
struct TokenBody {
    token: i64,
}

/// How an attempt ended, as posted to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobResult {
    /// The attempt's fencing token.
    pub token: i64,
    /// `finished`, `crashed` or `timed-out`.
    pub state: &'static str,
    /// The task's exit status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// The outcome summary (at most 1000 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The ResultsDB group of the results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_group: Option<String>,
    /// What ended the attempt: `verdict` (the task's own), `task` (the
    /// task crashed or ran out of time) or `infra` (something around the
    /// task failed: the server retries those).
    pub class: &'static str,
    /// The task's results as ResultsDB POST bodies, for the server to
    /// store in the job's group (empty when the runner posted them to a
    /// ResultsDB of its own).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct LogSize {
    size: u64,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: String,
}

/// A failed protocol call. Each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached or the connection broke.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The URL called.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The attempt no longer holds the job (409).
    #[error("{url}: the attempt no longer holds the job: {message}")]
    LeaseLost {
        /// The URL called.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Any other refusal.
    #[error("{url} answered {status}: {message}")]
    Status {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message, or the start of its body.
        message: String,
    },
    /// A 200 whose body is not what the protocol says.
    #[error("{url} answered something that is not the protocol's: {source}")]
    Decode {
        /// The URL called.
        url: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl ApiError {
    /// Whether trying again later may work (the server is down, restarting or
    /// overloaded), as opposed to a refusal that will not change.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429,
            ApiError::LeaseLost { .. } | ApiError::Decode { .. } => false,
        }
    }
}

/// A client of one server, authenticated with one worker token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: &str) -> Result<Client, ApiError> {
        let base = base.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| ApiError::Transport {
                url: base.clone(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            token: token.to_owned(),
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /api/v1/worker/register`.
    pub async fn register(
        &self,
        name: Option<&str>,
        capabilities: &Capabilities,
    ) -> Result<Registered, ApiError> {
        let body = RegisterRequest { name, capabilities };
        let (url, status, bytes) = self
            .post("/api/v1/worker/register", &body, Duration::from_secs(30))
            .await?;
        decode(&url, status, &bytes)
    }

    /// `POST /api/v1/worker/lease`: `None` when no job came within the wait.
    pub async fn lease(
        &self,
        wait: Duration,
        capabilities: &Capabilities,
    ) -> Result<Option<Lease>, ApiError> {
        let body = LeaseRequest {
            wait_seconds: wait.as_secs_f64(),
            capabilities,
        };
        // The server answers within the wait; allow for a slow network.
        let timeout = wait + Duration::from_secs(30);
        let (url, status, bytes) = self.post("/api/v1/worker/lease", &body, timeout).await?;
        if status == 204 {
            return Ok(None);
        }
        decode(&url, status, &bytes).map(Some)
    }

    /// `POST /api/v1/worker/jobs/{uuid}/heartbeat`.
    pub async fn heartbeat(&self, uuid: &str, token: i64) -> Result<(), ApiError> {
        let path = format!("/api/v1/worker/jobs/{uuid}/heartbeat");
        let (url, status, bytes) = self
            .post(&path, &TokenBody { token }, Duration::from_secs(30))
            .await?;
        decode::<serde_json::Value>(&url, status, &bytes).map(|_| ())
    }

    /// `POST /api/v1/worker/jobs/{uuid}/result`.
    pub async fn result(&self, uuid: &str, result: &JobResult) -> Result<(), ApiError> {
        let path = format!("/api/v1/worker/jobs/{uuid}/result");
        let (url, status, bytes) = self.post(&path, result, Duration::from_secs(30)).await?;
        decode::<serde_json::Value>(&url, status, &bytes).map(|_| ())
    }

    /// `POST /api/v1/worker/jobs/{uuid}/log`: append `bytes`, which start
    /// at byte `offset` of the attempt's log. The answer is the size of the
    /// server's copy: the offset of the next chunk, also when the server
    /// refuses a chunk that leaves a gap (it then says where to resume).
    pub async fn log_chunk(
        &self,
        uuid: &str,
        token: i64,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<u64, ApiError> {
        let path = format!("/api/v1/worker/jobs/{uuid}/log?token={token}&offset={offset}");
        let (url, status, answer) = self
            .send(reqwest::Method::POST, &path, bytes, Duration::from_secs(60))
            .await?;
        if status == 400
            && let Ok(gap) = serde_json::from_slice::<LogSize>(&answer)
        {
            return Ok(gap.size);
        }
        decode::<LogSize>(&url, status, &answer).map(|it| it.size)
    }

    /// `PUT /api/v1/worker/jobs/{uuid}/artifacts/{name}`: one artifact,
    /// `name` relative to the artifacts directory with `/` separators.
    pub async fn put_artifact(
        &self,
        uuid: &str,
        token: i64,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ApiError> {
        const PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let encoded: Vec<String> = name
            .split('/')
            .map(|it| percent_encoding::utf8_percent_encode(it, PART).to_string())
            .collect();
        let path = format!(
            "/api/v1/worker/jobs/{uuid}/artifacts/{}?token={token}",
            encoded.join("/")
        );
        // Five minutes, and a second more per MiB for a slow link.
        let timeout = Duration::from_secs(300 + (bytes.len() as u64 >> 20));
        let (url, status, answer) = self
            .send(reqwest::Method::PUT, &path, bytes, timeout)
            .await?;
        let status = if status == 201 { 200 } else { status };
        decode::<serde_json::Value>(&url, status, &answer).map(|_| ())
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(String, u16, Vec<u8>), ApiError> {
        let url = format!("{}{path}", self.base);
        let transport = |source| ApiError::Transport {
            url: url.clone(),
            source,
        };
        let response = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .timeout(timeout)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        Ok((url, status, bytes.to_vec()))
    }

    async fn post<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
        timeout: Duration,
    ) -> Result<(String, u16, Vec<u8>), ApiError> {
        let url = format!("{}{path}", self.base);
        let transport = |source| ApiError::Transport {
            url: url.clone(),
            source,
        };
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        Ok((url, status, bytes.to_vec()))
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    url: &str,
    status: u16,
    bytes: &[u8],
) -> Result<T, ApiError> {
    if status == 200 {
        return serde_json::from_slice(bytes).map_err(|source| ApiError::Decode {
            url: url.to_owned(),
            source,
        });
    }
    let message = match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => body.message,
        Err(_) => snippet(bytes),
    };
    if status == 409 {
        return Err(ApiError::LeaseLost {
            url: url.to_owned(),
            message,
        });
    }
    Err(ApiError::Status {
        url: url.to_owned(),
        status,
        message,
    })
}

/// The start of a body, for an error message.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_matches_the_documented_request() {
        let caps = Capabilities {
            arches: vec!["x86_64".into(), "noarch".into()],
            sandboxes: vec!["bwrap".into()],
            labels: vec!["fedora".into()],
            slots: 4,
        };
        let body = serde_json::to_value(RegisterRequest {
            name: Some("builder-1"),
            capabilities: &caps,
        })
        .ok();
        assert_eq!(
            body,
            Some(
                serde_json::json!({"name": "builder-1", "arches": ["x86_64", "noarch"],
                "sandboxes": ["bwrap"], "labels": ["fedora"], "slots": 4})
            )
        );
    }

    #[test]
    fn the_documented_lease_decodes() {
        let text = r#"{
  "uuid": "0b6b1f0c-8a0e-4d0e-9f57-5c2a4c9f5d0a",
  "key": {"check": "dist.rpmlint", "check_revision": "abc123", "item_type": "koji_build",
          "item": "foo-1.0-1.fc42", "item_revision": "foo-1.0-1.fc42", "arch": "x86_64", "rerun": 0},
  "attempt": 1, "token": 1, "lease_expires_at": "2026-11-27T04:21:00.000000Z",
  "lease_seconds": 60.0, "heartbeat_seconds": 20.0, "max_wait_seconds": 25.0}"#;
        let lease: Result<Lease, _> = decode("u", 200, text.as_bytes());
        let lease = lease.ok();
        assert_eq!(
            lease.as_ref().map(|it| (it.key.check.as_str(), it.token)),
            Some(("dist.rpmlint", 1))
        );
    }

    #[test]
    fn a_409_is_a_lost_lease_and_other_errors_keep_the_message() {
        let lost = decode::<serde_json::Value>("u", 409, br#"{"message": "gone"}"#);
        assert!(matches!(lost, Err(ApiError::LeaseLost { ref message, .. }) if message == "gone"));
        let other = decode::<serde_json::Value>("u", 503, b"<html>down</html>");
        assert!(matches!(
            other,
            Err(ApiError::Status { status: 503, ref message, .. }) if message == "<html>down</html>"
        ));
        assert!(other.is_err_and(|err| err.is_retryable()));
    }
}
