//! Taskotron's configuration file.
//!
//! One TOML file with kebab-case keys configures the `taskotron` binary: the
//! [`ServerConfig`] (`[server]`), the [`RunnerConfig`] (`[runner]`) and the
//! [`ResultsdbConfig`] (`[resultsdb]`). Every key is optional and has a default, so an
//! empty file (or no file at all) is a valid configuration. Unknown keys and tables
//! are errors, never silently ignored.
//!
//! Where the file comes from is decided by [`Config::resolve`]: the `--config` path
//! if one was given, else the path in the `TASKOTRON_CONFIG` env var, else the
//! built-in defaults.
//!
//! Errors name the file and, for parse errors, the line, the column and the key, so
//! `taskotron check-config` can point at the exact spot.
//!
//! Secrets are never part of [`Config`]: it holds only where a secret lives, and
//! [`ResultsdbConfig::token`] reads it on demand (env var first, then the token file),
//! so no secret can leak through `Debug`, logs or `check-config --print`.
//!
//! Architecture invariant: no async, no network, no processes. The only IO is
//! reading the config file and the token file.

use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use std::{env, fs, io};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Env var naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "TASKOTRON_CONFIG";

/// Env var holding the ResultsDB token; it takes precedence over `token-file`.
pub const RESULTSDB_TOKEN_ENV: &str = "TASKOTRON_RESULTSDB_TOKEN";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// The `[server]` table.
    pub server: ServerConfig,
    /// The `[runner]` table.
    pub runner: RunnerConfig,
    /// The `[resultsdb]` table.
    pub resultsdb: ResultsdbConfig,
    /// The `[api]` table.
    pub api: ApiConfig,
    /// The `[database]` table.
    pub database: DatabaseConfig,
    /// The `[amqp]` table.
    pub amqp: AmqpConfig,
    /// The `[koji]` table.
    pub koji: KojiConfig,
    /// The `[bodhi]` table.
    pub bodhi: BodhiConfig,
    /// The `[distgit]` table.
    pub distgit: DistgitConfig,
    /// The `[repos]` table.
    pub repos: ReposConfig,
    /// The `[gating]` table.
    pub gating: GatingConfig,
    /// The `[waivers]` table.
    pub waivers: WaiversConfig,
    /// The `[scheduler]` table.
    pub scheduler: SchedulerConfig,
    /// The `[artifacts]` table.
    pub artifacts: ArtifactsConfig,
    /// The `[worker]` table.
    pub worker: WorkerConfig,
}

/// The most jobs one worker (and so `serve`'s own pool) runs at once.
pub const MAX_LOCAL_SLOTS: u16 = 256;

/// `[worker]`: the worker pool `taskotron serve` runs in its own process,
/// and how the server leases jobs to workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// `local-slots`: how many jobs `serve` runs at once itself, with the
    /// formulas of `scheduler.tasks-dir` and the `[runner]` settings, as a
    /// `taskotron worker` on the same machine would; `0` turns the pool off.
    /// Default: the number of CPUs on the embedded SQLite store, 0 on
    /// PostgreSQL (where workers usually run on other machines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_slots: Option<u16>,
    /// `lease`: how long a lease (and each heartbeat) holds a job; a
    /// worker that stops heartbeating loses its job this long after its
    /// last heartbeat. From 1 s to 1 h. Default `60s`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_lease"
    )]
    pub lease: Duration,
    /// `retry-backoff`: the pause before the first automatic retry of an
    /// attempt that ended in an infrastructure fault; it doubles with each
    /// attempt, up to an hour. Default `30s`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_retry_backoff"
    )]
    pub retry_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            local_slots: None,
            lease: Duration::from_secs(60),
            retry_backoff: Duration::from_secs(30),
        }
    }
}

impl WorkerConfig {
    /// The pool's size: `local-slots` when set, else the number of CPUs
    /// (at most [`MAX_LOCAL_SLOTS`]) unless the store is PostgreSQL.
    pub fn effective_local_slots(&self, postgres: bool) -> u16 {
        match self.local_slots {
            Some(slots) => slots,
            None if postgres => 0,
            None => std::thread::available_parallelism()
                .map_or(1, |it| u16::try_from(it.get()).unwrap_or(MAX_LOCAL_SLOTS))
                .min(MAX_LOCAL_SLOTS),
        }
    }
}

/// `[scheduler]`: turning Koji, Bodhi and bus events into jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// `rules`: the trigger rules file (taskotron-trigger's YAML). Without
    /// it scheduling is off: `serve` neither consumes the bus nor polls
    /// Koji and Bodhi, and events posted to the API wait unplanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<PathBuf>,
    /// `arches`: the architectures a rule without `arches` runs its tasks
    /// for. Default `["x86_64"]`.
    pub arches: Vec<String>,
    /// `tasks-dir`: where task formulas live (`<dir>/<task>/runtask.yml`);
    /// a formula's content makes its check revision in job keys. Default
    /// none (revision `1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_dir: Option<PathBuf>,
    /// `bus`: consume fedora-messaging messages from `[amqp] url`. Default
    /// true (when there is a URL).
    pub bus: bool,
    /// `queue`: the AMQP queue intake consumes from (durable, shared by
    /// every `serve`). Default `taskotron-scheduler`.
    pub queue: String,
    /// `consume-prefix`: the topic prefix of the messages consumed
    /// (`org.fedoraproject.prod`). Default `org.fedoraproject.prod`.
    pub consume_prefix: String,
    /// `koji-poll`: how often the Koji pollers run; `0s` turns them off.
    /// Default `5m`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_koji_poll"
    )]
    pub koji_poll: Duration,
    /// `bodhi-poll`: how often the Bodhi pollers run; `0s` turns them off.
    /// Default `5m`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_bodhi_poll"
    )]
    pub bodhi_poll: Duration,
    /// `overlap`: how far behind its watermark a poller reads again, for
    /// what became visible late. Default `1h`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_overlap"
    )]
    pub overlap: Duration,
    /// `koji-event-overlap`: how many Koji events behind its watermark the
    /// tag poller reads again. Default 1000.
    pub koji_event_overlap: u64,
    /// `lookback`: how far back a poller reads on its first run. Default
    /// `1h`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_lookback"
    )]
    pub lookback: Duration,
    /// `max-attempts`: attempts a planned job gets. Default 3.
    pub max_attempts: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            rules: None,
            arches: vec!["x86_64".to_owned()],
            tasks_dir: None,
            bus: true,
            queue: "taskotron-scheduler".to_owned(),
            consume_prefix: "org.fedoraproject.prod".to_owned(),
            koji_poll: Duration::from_secs(300),
            bodhi_poll: Duration::from_secs(300),
            overlap: Duration::from_secs(3600),
            koji_event_overlap: 1000,
            lookback: Duration::from_secs(3600),
            max_attempts: 3,
        }
    }
}

/// `[artifacts]`: the logs and artifacts workers upload to `serve`, kept
/// under `<data-dir>/jobs/<uuid>/<attempt>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ArtifactsConfig {
    /// `retention-days`: how long a finished job's log and artifacts are
    /// kept after its last upload; `0` keeps them for ever. Default 30.
    pub retention_days: u32,
    /// `max-log-bytes`: the largest log one attempt may stream. Default
    /// 64 MiB.
    pub max_log_bytes: u64,
    /// `max-artifact-bytes`: the most bytes of artifacts one attempt may
    /// upload, all files together. Default 1 GiB.
    pub max_artifact_bytes: u64,
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            retention_days: 30,
            max_log_bytes: 64 * 1024 * 1024,
            max_artifact_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// `[waivers]`: the WaiverDB-compatible API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WaiversConfig {
    /// `superusers`: authenticated users (token names or HTTP Basic users)
    /// who may waive on someone else's behalf, as Bodhi does; the waiver
    /// records them in `proxied_by`. Default: nobody.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superusers: Vec<String>,
    /// `[[waivers.permissions]]`: who may waive which test cases, as
    /// WaiverDB's `PERMISSIONS`. Without entries every authenticated user
    /// may waive every test case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<WaiverPermissionConfig>,
}

/// One `[[waivers.permissions]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WaiverPermissionConfig {
    /// `testcases`: globs (`dist.*`) of the test cases the entry covers.
    pub testcases: Vec<String>,
    /// `testcases-ignore`: globs of test cases it does not cover.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub testcases_ignore: Vec<String>,
    /// `users`: who may waive them (token names or HTTP Basic users).
    pub users: Vec<String>,
}

/// `[gating]`: the policies the Greenwave-compatible decision API uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct GatingConfig {
    /// `policies-dir`: a directory of policy files (`*.yaml`, Greenwave's
    /// format), read when `serve` starts. Without it no policy applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies_dir: Option<PathBuf>,
    /// `greenwave-version`: the Greenwave version whose behaviour the
    /// decision API matches, reported by `GET /api/v1.0/about`. Default
    /// `2.3.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greenwave_version: Option<String>,
    /// `[[gating.subject-types]]`: subject types besides Fedora's built-in
    /// ones (`koji_build`, `bodhi_update`, `compose`, …); one with the id
    /// of a built-in type replaces it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_types: Vec<SubjectTypeConfig>,
}

/// One `[[gating.subject-types]]` entry, as Greenwave's `!SubjectType`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SubjectTypeConfig {
    /// `id`: the type's name.
    pub id: String,
    /// `aliases`: other names for it.
    pub aliases: Vec<String>,
    /// `item-key`: the result data key holding the identifier. Default `item`.
    pub item_key: Option<String>,
    /// `is-koji-build`: the subject is a Koji build (creation time, remote rules).
    pub is_koji_build: bool,
    /// `is-nvr`: the identifier is an NVR (package rules and package waivers).
    pub is_nvr: bool,
    /// `ignore-missing-policy`: no applicable policy is not an error.
    pub ignore_missing_policy: bool,
    /// `result-queries`: how to find its results; default `{type = <id>}`
    /// with the identifier in `item-key`.
    pub result_queries: Vec<ResultQueryConfig>,
}

/// One result query of a subject type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ResultQueryConfig {
    /// `item-key`: the data key whose value is the identifier.
    pub item_key: String,
    /// `keys`: other data keys and their values (comma-separated values
    /// are alternatives, as in ResultsDB's queries).
    pub keys: std::collections::BTreeMap<String, String>,
}

/// `[koji]`: the Koji hub and file tree the `koji` and `bodhi` directives read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct KojiConfig {
    /// `hub-url`: the XML-RPC hub. Default Fedora's,
    /// `https://koji.fedoraproject.org/kojihub`.
    pub hub_url: String,
    /// `pkgs-url`: the top of the kojipkgs file tree (koji's `topurl`).
    /// Default `https://kojipkgs.fedoraproject.org`.
    pub pkgs_url: String,
    /// `cache-dir`: where downloaded files are kept, shared by every job.
    /// Default `<server.data-dir>/cache/koji`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// `downloads`: how many files are downloaded at once. Default 4.
    pub downloads: usize,
}

impl Default for KojiConfig {
    fn default() -> Self {
        KojiConfig {
            hub_url: "https://koji.fedoraproject.org/kojihub".to_owned(),
            pkgs_url: "https://kojipkgs.fedoraproject.org".to_owned(),
            cache_dir: None,
            downloads: 4,
        }
    }
}

impl KojiConfig {
    /// The download cache: `cache-dir`, or `cache/koji` in the data directory.
    pub fn effective_cache_dir(&self, data_dir: &Path) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("cache").join("koji"))
    }
}

/// `[bodhi]`: the Bodhi the `bodhi` directive and the repository mapping read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct BodhiConfig {
    /// `url`: Bodhi's base URL. Default `https://bodhi.fedoraproject.org/`.
    pub url: String,
}

impl Default for BodhiConfig {
    fn default() -> Self {
        BodhiConfig {
            url: "https://bodhi.fedoraproject.org/".to_owned(),
        }
    }
}

/// `[distgit]`: where the `distgit` directive fetches files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct DistgitConfig {
    /// `url`: the dist-git web front end; a file is fetched from
    /// `URL/<namespace>/<package>/raw/<gitref>/f/<path>`. Default
    /// `https://src.fedoraproject.org`.
    pub url: String,
}

impl Default for DistgitConfig {
    fn default() -> Self {
        DistgitConfig {
            url: "https://src.fedoraproject.org".to_owned(),
        }
    }
}

/// `[repos]`: the package repositories a Koji tag stands for (what
/// yumrepoinfo.conf listed), derived from Bodhi's releases with these URL
/// templates; `[repos.tags.<tag>]` entries override the derivation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ReposConfig {
    /// `release`: a released version's tree. Placeholders: `{arch}`,
    /// `{version}`, `{branch}`, `{tag}`, `{release}`, `{devel}`.
    pub release: String,
    /// `development`: the tree of a release still in development (branched or
    /// rawhide; `{devel}` is `rawhide` or the version).
    pub development: String,
    /// `updates`: the stable updates.
    pub updates: String,
    /// `updates-testing`: the updates in testing.
    pub updates_testing: String,
    /// `tags`: explicit repositories for tags, by tag name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, TagRepoConfig>,
}

/// `[repos.tags.<tag>]`: one tag's repository, given by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TagRepoConfig {
    /// `url`: its URL template (`{arch}` and `{tag}` are filled in).
    pub url: String,
    /// `parent`: the tag whose repositories lie under this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl Default for ReposConfig {
    fn default() -> Self {
        let base = "https://dl.fedoraproject.org/pub/fedora/linux";
        ReposConfig {
            release: format!("{base}/releases/{{version}}/Everything/{{arch}}/os/"),
            development: format!("{base}/development/{{devel}}/Everything/{{arch}}/os/"),
            updates: format!("{base}/updates/{{version}}/Everything/{{arch}}/"),
            updates_testing: format!("{base}/updates/testing/{{version}}/Everything/{{arch}}/"),
            tags: std::collections::BTreeMap::new(),
        }
    }
}

/// Placeholders a `[repos]` template may use.
const REPO_PLACEHOLDERS: [&str; 6] = ["arch", "version", "branch", "tag", "release", "devel"];

/// Why a URL template is not acceptable, if it is not.
fn check_repo_template(template: &str, allowed: &[&str]) -> Option<String> {
    if !is_http_url(template) {
        return Some(format!(
            "must be an http:// or https:// URL, got {template:?}"
        ));
    }
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Some(format!("{template:?}: a `{{` is not closed"));
        };
        let name = &after[..end];
        if !allowed.contains(&name) {
            return Some(format!(
                "{template:?}: unknown placeholder `{{{name}}}` (use {})",
                allowed
                    .iter()
                    .map(|it| format!("{{{it}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &after[end + 1..];
    }
    None
}

/// Env var holding the database URL (it may carry a password); it takes
/// precedence over `database.url`.
pub const DATABASE_URL_ENV: &str = "TASKOTRON_DATABASE_URL";
/// Env var holding the AMQP URL (it may carry a password); it takes precedence
/// over `amqp.url`.
pub const AMQP_URL_ENV: &str = "TASKOTRON_AMQP_URL";

/// `[api]`: how `taskotron serve` answers its HTTP APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `public-url`: the server's address as clients see it (e.g.
    /// `https://taskotron.example.org`), used in `href` links. Default: taken
    /// from each request's Host and X-Forwarded-* headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `additional-outcomes`: outcomes ResultsDB accepts besides PASSED, INFO,
    /// FAILED and NEEDS_INSPECTION. Default: Taskotron's ABORTED and CRASHED
    /// and Fedora's QUEUED, RUNNING and ERROR.
    pub additional_outcomes: Vec<String>,
    /// `max-body-bytes`: the largest request body accepted. Default 1 MiB.
    pub max_body_bytes: usize,
    /// `tokens-file`: a file of `NAME:TOKEN` lines; with it, writes need
    /// `Authorization: Bearer TOKEN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_file: Option<PathBuf>,
    /// `users-file`: a file of `USER:PASSWORD` lines; with it, writes may use
    /// HTTP Basic authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_file: Option<PathBuf>,
    /// `worker-tokens-file`: a file of `NAME:TOKEN` lines, one per worker
    /// (the name is the worker's); a worker authenticates with
    /// `Authorization: Bearer TOKEN`. Without it the worker API is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_tokens_file: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            public_url: None,
            additional_outcomes: ["ABORTED", "CRASHED", "QUEUED", "RUNNING", "ERROR"]
                .map(str::to_owned)
                .to_vec(),
            max_body_bytes: 1024 * 1024,
            tokens_file: None,
            users_file: None,
            worker_tokens_file: None,
        }
    }
}

/// `[database]`: where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `url`: a `postgres://` URL for PostgreSQL, or an `sqlite:` path. Default:
    /// the SQLite file `taskotron.db` in the data directory. A URL with a
    /// password belongs in `TASKOTRON_DATABASE_URL` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `schema`: with PostgreSQL, keep Taskotron's tables in this schema
    /// (created when missing) instead of the connection's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

impl DatabaseConfig {
    /// The database URL: `TASKOTRON_DATABASE_URL` when set, else `url`.
    pub fn effective_url(&self) -> Option<String> {
        env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|it| !it.trim().is_empty())
            .or_else(|| self.url.clone())
    }
}

/// `[amqp]`: the message bus the server publishes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AmqpConfig {
    /// `url`: the broker, e.g. `amqp://127.0.0.1:5672/%2f`. Without it nothing
    /// is published, and nothing is written to the outbox. A URL with a password
    /// belongs in `TASKOTRON_AMQP_URL` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `exchange`: where messages go. Default `amq.topic`, as fedora-messaging.
    pub exchange: String,
    /// `topic-prefix`: put before every topic. Default `org.taskotron`; Fedora
    /// deployments use `org.fedoraproject.prod`.
    pub topic_prefix: String,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            url: None,
            exchange: "amq.topic".to_owned(),
            topic_prefix: "org.taskotron".to_owned(),
        }
    }
}

impl AmqpConfig {
    /// The broker URL: `TASKOTRON_AMQP_URL` when set, else `url`.
    pub fn effective_url(&self) -> Option<String> {
        env::var(AMQP_URL_ENV)
            .ok()
            .filter(|it| !it.trim().is_empty())
            .or_else(|| self.url.clone())
    }
}

/// `[server]`: where `taskotron serve` listens and keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `listen`: the socket address to bind. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `data-dir`: where the server keeps its database and artifacts. Default
    /// `taskotron-data`. A relative path is relative to the current directory, not
    /// to the config file.
    pub data_dir: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: PathBuf::from("taskotron-data"),
        }
    }
}

/// How the runner isolates task actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxKind {
    /// `"bwrap"`: every action runs under bubblewrap (the default).
    #[default]
    Bwrap,
    /// `"none"`: actions run directly on the host, like `--local`.
    None,
}

impl SandboxKind {
    /// The spelling used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxKind::Bwrap => "bwrap",
            SandboxKind::None => "none",
        }
    }
}

impl fmt::Display for SandboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[runner]`: how tasks are executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RunnerConfig {
    /// `sandbox`: `"bwrap"` (default) or `"none"`.
    pub sandbox: SandboxKind,
    /// `bwrap`: the bubblewrap program, a name looked up in `PATH` or a path.
    /// Default `bwrap`.
    pub bwrap: PathBuf,
    /// `python`: the Python interpreter, a name looked up in `PATH` or a path.
    /// Default `python3`.
    pub python: PathBuf,
    /// `task-timeout`: the wall-clock limit for a whole task, as a humantime
    /// string (`"90s"`, `"2h"`, `"1h 30m"`). Default 2 hours.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_task_timeout"
    )]
    pub task_timeout: Duration,
    /// `action-timeout`: the limit for one action that sets no timeout of its own.
    /// Default 1 hour.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_action_timeout"
    )]
    pub action_timeout: Duration,
    /// `keep-workdir`: keep the task's working directory after the run. Default
    /// `false`.
    pub keep_workdir: bool,
}

impl Default for RunnerConfig {
    fn default() -> RunnerConfig {
        RunnerConfig {
            sandbox: SandboxKind::Bwrap,
            bwrap: PathBuf::from("bwrap"),
            python: PathBuf::from("python3"),
            task_timeout: Duration::from_secs(2 * 60 * 60),
            action_timeout: Duration::from_secs(60 * 60),
            keep_workdir: false,
        }
    }
}

/// `[resultsdb]`: where results go. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ResultsdbConfig {
    /// `url`: the ResultsDB API base, e.g. `http://127.0.0.1:8080/api/v2.0`. When
    /// absent, results are validated and logged but not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `token-file`: a file holding the ResultsDB token (surrounding whitespace is
    /// trimmed). The file is read by [`ResultsdbConfig::token`], never at load time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// `artifacts-base-url`: the public URL of the artifacts directory, used to build
    /// each result's `ref_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_base_url: Option<String>,
}

impl ResultsdbConfig {
    /// The ResultsDB token, read now.
    ///
    /// Precedence: the `TASKOTRON_RESULTSDB_TOKEN` env var when it is set and not
    /// blank, else the contents of `token-file` (trimmed; an unreadable or empty file
    /// is an error naming the file), else `None`.
    pub fn token(&self) -> Result<Option<String>, ConfigError> {
        let env_value = match env::var(RESULTSDB_TOKEN_ENV) {
            Ok(value) => Some(value),
            Err(env::VarError::NotPresent) => None,
            Err(env::VarError::NotUnicode(_)) => return Err(ConfigError::TokenEnvNotUnicode),
        };
        self.token_from(env_value)
    }

    /// [`ResultsdbConfig::token`] with the env var's value passed in, so tests need
    /// not touch the process environment.
    fn token_from(&self, env_value: Option<String>) -> Result<Option<String>, ConfigError> {
        if let Some(value) = env_value {
            let value = value.trim();
            if !value.is_empty() {
                return Ok(Some(value.to_owned()));
            }
        }
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let contents = fs::read_to_string(path).map_err(|source| ConfigError::TokenRead {
            path: path.clone(),
            source,
        })?;
        let token = contents.trim();
        if token.is_empty() {
            return Err(ConfigError::TokenEmpty { path: path.clone() });
        }
        Ok(Some(token.to_owned()))
    }
}

/// A position in a config file, 1-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The line, starting at 1.
    pub line: usize,
    /// The column, starting at 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a configuration could not be loaded or used.
///
/// Following the house style, `Display` does not repeat the `source()` error:
/// print with `{:#}` (anyhow) to see the whole chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not TOML, or does not match the schema: an unknown key or
    /// table, a value of the wrong type, a bad duration or sandbox name.
    #[error("{origin}: {}{}{message}", OptLocation(.location), OptKey(.key, .message))]
    Parse {
        /// The file (or other origin) that was parsed.
        origin: String,
        /// Where the parser stopped, when it says.
        location: Option<Location>,
        /// The dotted key at that spot (`runner.task-timeout`), when it can be found.
        key: Option<String>,
        /// The parser's message, e.g. "unknown field `foo`, expected one of ...".
        message: String,
    },
    /// The file parsed, but a value is not acceptable (a zero timeout, a URL that
    /// is not http or https, ...).
    #[error("{origin}: {}key `{key}`: {message}", OptLocation(.location))]
    Invalid {
        /// The file (or other origin) the value came from.
        origin: String,
        /// The dotted key, e.g. `resultsdb.url`.
        key: String,
        /// Where the key is in the file, when it can be found.
        location: Option<Location>,
        /// What is wrong.
        message: String,
    },
    /// The ResultsDB token file could not be read.
    #[error("cannot read ResultsDB token file {}", .path.display())]
    TokenRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The ResultsDB token file holds only whitespace.
    #[error("ResultsDB token file {} is empty", .path.display())]
    TokenEmpty {
        /// The file.
        path: PathBuf,
    },
    /// `TASKOTRON_RESULTSDB_TOKEN` is set but is not valid UTF-8.
    #[error("env var {RESULTSDB_TOKEN_ENV} is not valid UTF-8")]
    TokenEnvNotUnicode,
    /// The effective config could not be written as TOML (a path that is not UTF-8).
    #[error("cannot write the config as TOML")]
    Serialize(#[source] toml::ser::Error),
}

/// Prints `line N, column M: ` or nothing.
struct OptLocation<'a>(&'a Option<Location>);

impl fmt::Display for OptLocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, "{location}: "),
            None => Ok(()),
        }
    }
}

/// Prints ``key `a.b`: `` or nothing; nothing as well when the message already
/// names the full key.
struct OptKey<'a>(&'a Option<String>, &'a String);

impl fmt::Display for OptKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) if !self.1.contains(&format!("`{key}`")) => write!(f, "key `{key}`: "),
            _ => Ok(()),
        }
    }
}

impl Config {
    /// Parses and validates a config from TOML text. `origin` names the text in
    /// errors, usually the file's path.
    pub fn from_toml_str(src: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(src).map_err(|err| parse_error(src, origin, &err))?;
        config.check(origin, Some(src))?;
        Ok(config)
    }

    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&src, &path.display().to_string())
    }

    /// Finds and loads the config: `explicit` (from `--config`) wins, else the file
    /// named by `TASKOTRON_CONFIG` when that is set and not empty, else the defaults.
    /// Also returns the path of the file that was loaded, if any.
    pub fn resolve(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        Config::resolve_from(explicit, env::var_os(CONFIG_ENV))
    }

    /// [`Config::resolve`] with the env var's value passed in.
    fn resolve_from(
        explicit: Option<&Path>,
        env_value: Option<OsString>,
    ) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match (explicit, env_value) {
            (Some(path), _) => Some(path.to_owned()),
            (None, Some(value)) if !value.is_empty() => Some(PathBuf::from(value)),
            (None, _) => None,
        };
        match path {
            Some(path) => Ok((Config::load(&path)?, Some(path))),
            None => Ok((Config::default(), None)),
        }
    }

    /// Checks the values that parsing alone cannot: non-zero timeouts, non-empty
    /// program names, http(s) URLs. Call it after changing a config in code (for
    /// example from command-line overrides); `origin` names the source in errors.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        self.check(origin, None)
    }

    /// Writes the effective config as TOML, durations as humantime strings.
    /// Keys without a value (unset optional keys) are left out.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(ConfigError::Serialize)
    }

    fn check(&self, origin: &str, src: Option<&str>) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key: key.to_owned(),
            location: src.and_then(|src| location_of_key(src, key)),
            message,
        };
        let runner = &self.runner;
        for (key, value) in [
            ("runner.task-timeout", runner.task_timeout),
            ("runner.action-timeout", runner.action_timeout),
        ] {
            if value.is_zero() {
                return Err(invalid(key, "must be greater than zero".to_owned()));
            }
        }
        let resultsdb = &self.resultsdb;
        for (key, value) in [
            ("runner.bwrap", Some(&runner.bwrap)),
            ("runner.python", Some(&runner.python)),
            ("server.data-dir", Some(&self.server.data_dir)),
            ("resultsdb.token-file", resultsdb.token_file.as_ref()),
            ("api.tokens-file", self.api.tokens_file.as_ref()),
            ("api.users-file", self.api.users_file.as_ref()),
            (
                "api.worker-tokens-file",
                self.api.worker_tokens_file.as_ref(),
            ),
            ("gating.policies-dir", self.gating.policies_dir.as_ref()),
            ("scheduler.rules", self.scheduler.rules.as_ref()),
            ("scheduler.tasks-dir", self.scheduler.tasks_dir.as_ref()),
        ] {
            if value.is_some_and(|path| path.as_os_str().is_empty()) {
                return Err(invalid(key, "must not be empty".to_owned()));
            }
        }
        if self
            .worker
            .local_slots
            .is_some_and(|it| it > MAX_LOCAL_SLOTS)
        {
            return Err(invalid(
                "worker.local-slots",
                format!("must be from 0 to {MAX_LOCAL_SLOTS}"),
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.worker.lease) {
            return Err(invalid("worker.lease", "must be from 1s to 1h".to_owned()));
        }
        if self.worker.retry_backoff > Duration::from_secs(3600) {
            return Err(invalid(
                "worker.retry-backoff",
                "must be at most 1h".to_owned(),
            ));
        }
        let scheduler = &self.scheduler;
        if scheduler.arches.is_empty()
            || scheduler.arches.iter().any(|it| {
                it.is_empty() || !it.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        {
            return Err(invalid(
                "scheduler.arches",
                "must list at least one architecture name (letters, digits and `_`)".to_owned(),
            ));
        }
        if scheduler.queue.trim().is_empty() {
            return Err(invalid("scheduler.queue", "must not be empty".to_owned()));
        }
        if scheduler.max_attempts == 0 {
            return Err(invalid(
                "scheduler.max-attempts",
                "must be at least 1".to_owned(),
            ));
        }
        for (idx, entry) in self.gating.subject_types.iter().enumerate() {
            let key = format!("gating.subject-types[{idx}]");
            if entry.id.trim().is_empty() {
                return Err(invalid(
                    &format!("{key}.id"),
                    "must not be empty".to_owned(),
                ));
            }
            if entry
                .result_queries
                .iter()
                .any(|it| it.item_key.trim().is_empty())
            {
                return Err(invalid(
                    &format!("{key}.result-queries"),
                    "each query needs an `item-key`".to_owned(),
                ));
            }
        }
        for (idx, entry) in self.waivers.permissions.iter().enumerate() {
            if entry.testcases.is_empty() || entry.users.is_empty() {
                return Err(invalid(
                    &format!("waivers.permissions[{idx}]"),
                    "needs `testcases` (globs) and `users`".to_owned(),
                ));
            }
        }
        for (key, value) in [
            ("resultsdb.url", &resultsdb.url),
            (
                "resultsdb.artifacts-base-url",
                &resultsdb.artifacts_base_url,
            ),
            ("api.public-url", &self.api.public_url),
        ] {
            if let Some(url) = value
                && !is_http_url(url)
            {
                return Err(invalid(
                    key,
                    format!("must be an http:// or https:// URL, got {url:?}"),
                ));
            }
        }
        for (key, value) in [
            ("artifacts.max-log-bytes", self.artifacts.max_log_bytes),
            (
                "artifacts.max-artifact-bytes",
                self.artifacts.max_artifact_bytes,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than zero".to_owned()));
            }
        }
        if self.api.max_body_bytes == 0 {
            return Err(invalid(
                "api.max-body-bytes",
                "must be greater than zero".to_owned(),
            ));
        }
        for outcome in &self.api.additional_outcomes {
            let ok = !outcome.is_empty()
                && outcome.len() <= 32
                && outcome
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(invalid(
                    "api.additional-outcomes",
                    format!(
                        "{outcome:?} is not an outcome: use upper-case letters, digits and _, at most 32"
                    ),
                ));
            }
        }
        if let Some(schema) = &self.database.schema {
            let ok = schema
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && schema.len() <= 63;
            if !ok {
                return Err(invalid(
                    "database.schema",
                    format!(
                        "{schema:?} is not a schema name: use lower-case letters, digits and _"
                    ),
                ));
            }
        }
        if self.amqp.exchange.is_empty() {
            return Err(invalid("amqp.exchange", "must not be empty".to_owned()));
        }
        for (key, value) in [
            ("koji.hub-url", &self.koji.hub_url),
            ("koji.pkgs-url", &self.koji.pkgs_url),
            ("bodhi.url", &self.bodhi.url),
            ("distgit.url", &self.distgit.url),
        ] {
            if !is_http_url(value) {
                return Err(invalid(
                    key,
                    format!("must be an http:// or https:// URL, got {value:?}"),
                ));
            }
        }
        if self.koji.downloads == 0 {
            return Err(invalid("koji.downloads", "must be at least 1".to_owned()));
        }
        if self
            .koji
            .cache_dir
            .as_ref()
            .is_some_and(|it| it.as_os_str().is_empty())
        {
            return Err(invalid("koji.cache-dir", "must not be empty".to_owned()));
        }
        let repos = &self.repos;
        for (key, value) in [
            ("repos.release", &repos.release),
            ("repos.development", &repos.development),
            ("repos.updates", &repos.updates),
            ("repos.updates-testing", &repos.updates_testing),
        ] {
            if let Some(why) = check_repo_template(value, &REPO_PLACEHOLDERS) {
                return Err(invalid(key, why));
            }
        }
        for (tag, entry) in &repos.tags {
            if let Some(why) = check_repo_template(&entry.url, &["arch", "tag"]) {
                return Err(invalid(&format!("repos.tags.{tag}.url"), why));
            }
            if entry.parent.as_deref() == Some(tag.as_str()) {
                return Err(invalid(
                    &format!("repos.tags.{tag}.parent"),
                    "a tag cannot be its own parent".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

fn is_http_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    })
}

fn serialize_duration<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*value))
}

fn deserialize_task_timeout<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "runner.task-timeout",
    })
}

fn deserialize_koji_poll<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "scheduler.koji-poll",
    })
}

fn deserialize_bodhi_poll<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "scheduler.bodhi-poll",
    })
}

fn deserialize_overlap<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "scheduler.overlap",
    })
}

fn deserialize_lookback<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "scheduler.lookback",
    })
}

fn deserialize_lease<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "worker.lease",
    })
}

fn deserialize_retry_backoff<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "worker.retry-backoff",
    })
}

fn deserialize_action_timeout<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_str(DurationVisitor {
        key: "runner.action-timeout",
    })
}

/// Parses a humantime duration; `key` is named in the error.
struct DurationVisitor {
    key: &'static str,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a duration string such as "90s", "2h" or "1h 30m""#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Duration, E> {
        humantime::parse_duration(value).map_err(|err| {
            E::custom(format_args!(
                r#"`{}`: invalid duration {value:?} ({err}); write e.g. "90s", "2h" or "1h 30m""#,
                self.key
            ))
        })
    }
}

/// Turns a toml error into [`ConfigError::Parse`], with the location and key
/// computed from the error's byte span.
fn parse_error(src: &str, origin: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map(|span| span.start);
    ConfigError::Parse {
        origin: origin.to_owned(),
        location: offset.and_then(|offset| location_at(src, offset)),
        key: offset.and_then(|offset| key_at(src, offset)),
        message: err.message().trim_end().to_owned(),
    }
}

/// The 1-based line and character column of byte `offset` in `src`.
fn location_at(src: &str, offset: usize) -> Option<Location> {
    let before = src.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some(Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    })
}

/// The dotted key (or table name) written on the line holding byte `offset`.
fn key_at(src: &str, offset: usize) -> Option<String> {
    let line = location_at(src, offset)?.line;
    scan_keys(src)
        .into_iter()
        .find(|entry| entry.location.line == line)
        .map(|entry| entry.key)
}

/// Where the dotted key `key` (or table) is written in `src`.
fn location_of_key(src: &str, key: &str) -> Option<Location> {
    scan_keys(src)
        .into_iter()
        .find(|entry| entry.key == key)
        .map(|entry| entry.location)
}

/// A `key = value` line or a `[table]` header, as found by [`scan_keys`].
#[derive(Debug)]
struct KeyEntry {
    /// The dotted key including its table (`runner.sandbox`), or the table name.
    key: String,
    location: Location,
}

/// A best-effort, line-based scan of the keys written in a TOML file, used only to
/// annotate error messages. It understands `[table]` headers, comments, bare and
/// dotted keys and skips the insides of multi-line strings; anything it does not
/// understand it leaves out, so it may miss a key but never invents one.
fn scan_keys(src: &str) -> Vec<KeyEntry> {
    let mut entries = Vec::new();
    let mut table = String::new();
    let mut in_multiline = false;
    for (idx, line) in src.lines().enumerate() {
        let was_multiline = in_multiline;
        // An odd number of triple quotes opens or closes a multi-line string.
        let triples = line.matches(r#"""""#).count() + line.matches("'''").count();
        if triples % 2 == 1 {
            in_multiline = !in_multiline;
        }
        if was_multiline {
            continue;
        }
        let text = line.trim_start();
        let column = line[..line.len() - text.len()].chars().count() + 1;
        let location = Location {
            line: idx + 1,
            column,
        };
        if text.starts_with("[[") {
            // Arrays of tables do not occur in Taskotron's schema.
            table.clear();
            continue;
        }
        if let Some(rest) = text.strip_prefix('[') {
            let Some((name, _)) = rest.split_once(']') else {
                continue;
            };
            table = normalize_key(name).unwrap_or_default();
            if !table.is_empty() {
                entries.push(KeyEntry {
                    key: table.clone(),
                    location,
                });
            }
            continue;
        }
        let Some((name, _)) = text.split_once('=') else {
            continue;
        };
        let Some(name) = normalize_key(name) else {
            continue;
        };
        let key = if table.is_empty() {
            name
        } else {
            format!("{table}.{name}")
        };
        entries.push(KeyEntry { key, location });
    }
    entries
}

/// `a . b` → `a.b` for bare keys; `None` for anything else (quoted keys, comments).
fn normalize_key(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split('.').map(str::trim).collect();
    let bare = |part: &&str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    parts.iter().all(bare).then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Duration;

    use super::*;

    /// Parses `src` and expects the defaults as changed by `expect`.
    fn check(src: &str, expect: impl FnOnce(&mut Config)) {
        let mut want = Config::default();
        expect(&mut want);
        let got = Config::from_toml_str(src, "test.toml").unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(got, want, "for input:\n{src}");
        // What check-config --print writes must read back as the same config.
        let printed = got.to_toml_string().unwrap();
        let reparsed = Config::from_toml_str(&printed, "printed.toml")
            .unwrap_or_else(|err| panic!("{err}\nprinted:\n{printed}"));
        assert_eq!(reparsed, got, "printed:\n{printed}");
    }

    /// Expects `src` to be rejected with a message holding every fragment.
    fn check_err(src: &str, fragments: &[&str]) {
        let err = Config::from_toml_str(src, "test.toml").expect_err(src);
        let message = err.to_string();
        for fragment in fragments {
            assert!(
                message.contains(fragment),
                "message {message:?} lacks {fragment:?}, for input:\n{src}"
            );
        }
        assert!(!message.contains('\n'), "multi-line message {message:?}");
    }

    #[test]
    fn lease_and_retry_backoff() {
        assert_eq!(WorkerConfig::default().lease, Duration::from_secs(60));
        assert_eq!(
            WorkerConfig::default().retry_backoff,
            Duration::from_secs(30)
        );
        check("[worker]\nlease = \"5s\"\nretry-backoff = \"0s\"\n", |it| {
            it.worker.lease = Duration::from_secs(5);
            it.worker.retry_backoff = Duration::ZERO;
        });
        check_err(
            "[worker]\nlease = \"0s\"\n",
            &["worker.lease", "from 1s to 1h"],
        );
        check_err(
            "[worker]\nretry-backoff = \"2h\"\n",
            &["worker.retry-backoff", "at most 1h"],
        );
        check_err(
            "[worker]\nlease = \"soon\"\n",
            &["worker.lease", "invalid duration"],
        );
    }

    #[test]
    fn local_worker_slots() {
        check("[worker]\nlocal-slots = 0\n", |it| {
            it.worker.local_slots = Some(0);
        });
        check("[worker]\nlocal-slots = 3\n", |it| {
            it.worker.local_slots = Some(3);
        });
        assert_eq!(WorkerConfig::default().effective_local_slots(true), 0);
        assert!(WorkerConfig::default().effective_local_slots(false) >= 1);
        let three = WorkerConfig {
            local_slots: Some(3),
            ..WorkerConfig::default()
        };
        assert_eq!(three.effective_local_slots(true), 3);
        check_err(
            "[worker]\nlocal-slots = 300\n",
            &["worker.local-slots", "line 2", "from 0 to 256"],
        );
        check_err("[worker]\nlocal-slots = -1\n", &["worker.local-slots"]);
        check_err("[worker]\nslots = 2\n", &["worker.slots", "unknown field"]);
    }

    #[test]
    fn worker_tokens_file() {
        check(
            "[api]\nworker-tokens-file = \"/etc/taskotron/workers\"\n",
            |it| {
                it.api.worker_tokens_file = Some(PathBuf::from("/etc/taskotron/workers"));
            },
        );
        check_err(
            "[api]\nworker-tokens-file = \"\"\n",
            &["api.worker-tokens-file", "must not be empty"],
        );
    }

    #[test]
    fn defaults() {
        check("", |_| {});
        check("# nothing here\n", |_| {});
        check("[server]\n[runner]\n[resultsdb]\n", |_| {});

        let config = Config::default();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.server.data_dir, PathBuf::from("taskotron-data"));
        assert_eq!(config.runner.sandbox, SandboxKind::Bwrap);
        assert_eq!(config.runner.bwrap, PathBuf::from("bwrap"));
        assert_eq!(config.runner.python, PathBuf::from("python3"));
        assert_eq!(config.runner.task_timeout, Duration::from_secs(7200));
        assert_eq!(config.runner.action_timeout, Duration::from_secs(3600));
        assert!(!config.runner.keep_workdir);
        assert_eq!(config.resultsdb, ResultsdbConfig::default());
        config.validate("defaults").unwrap();
    }

    #[test]
    fn each_key() {
        check("[server]\nlisten = \"0.0.0.0:9000\"", |c| {
            c.server.listen = "0.0.0.0:9000".parse().unwrap();
        });
        check("[server]\nlisten = \"[::1]:80\"", |c| {
            c.server.listen = "[::1]:80".parse().unwrap();
        });
        check("[server]\ndata-dir = \"/srv/taskotron\"", |c| {
            c.server.data_dir = "/srv/taskotron".into();
        });
        check("[runner]\nsandbox = \"none\"", |c| {
            c.runner.sandbox = SandboxKind::None;
        });
        check("[runner]\nsandbox = \"bwrap\"", |_| {});
        check("[runner]\nbwrap = \"/usr/local/bin/bwrap\"", |c| {
            c.runner.bwrap = "/usr/local/bin/bwrap".into();
        });
        check("[runner]\npython = \"python3.12\"", |c| {
            c.runner.python = "python3.12".into();
        });
        check("[runner]\ntask-timeout = \"90s\"", |c| {
            c.runner.task_timeout = Duration::from_secs(90);
        });
        check("[runner]\naction-timeout = \"1h 30m\"", |c| {
            c.runner.action_timeout = Duration::from_secs(5400);
        });
        check("[runner]\naction-timeout = \"1500ms\"", |c| {
            c.runner.action_timeout = Duration::from_millis(1500);
        });
        check("[runner]\nkeep-workdir = true", |c| {
            c.runner.keep_workdir = true;
        });
        check(
            "[resultsdb]\nurl = \"https://resultsdb.example/api/v2.0\"",
            |c| {
                c.resultsdb.url = Some("https://resultsdb.example/api/v2.0".into());
            },
        );
        check("[resultsdb]\ntoken-file = \"/etc/t/token\"", |c| {
            c.resultsdb.token_file = Some("/etc/t/token".into());
        });
        check("[resultsdb]\nartifacts-base-url = \"http://h/a\"", |c| {
            c.resultsdb.artifacts_base_url = Some("http://h/a".into());
        });
        check(
            "[koji]\nhub-url = \"http://127.0.0.1:8091/kojihub\"\npkgs-url = \"http://127.0.0.1:8091/kojipkgs\"\ncache-dir = \"/var/cache/tk\"\ndownloads = 8\n[bodhi]\nurl = \"http://127.0.0.1:8091/bodhi/\"\n[distgit]\nurl = \"http://127.0.0.1:8091/distgit\"",
            |c| {
                c.koji.hub_url = "http://127.0.0.1:8091/kojihub".into();
                c.koji.pkgs_url = "http://127.0.0.1:8091/kojipkgs".into();
                c.koji.cache_dir = Some("/var/cache/tk".into());
                c.koji.downloads = 8;
                c.bodhi.url = "http://127.0.0.1:8091/bodhi/".into();
                c.distgit.url = "http://127.0.0.1:8091/distgit".into();
            },
        );
        check(
            "[repos]\nupdates = \"http://m/u/{version}/{arch}/\"\n[repos.tags.side-1]\nurl = \"http://k/repos/{tag}/latest/{arch}/\"\nparent = \"f44-updates\"\n",
            |c| {
                c.repos.updates = "http://m/u/{version}/{arch}/".into();
                c.repos.tags.insert(
                    "side-1".into(),
                    TagRepoConfig {
                        url: "http://k/repos/{tag}/latest/{arch}/".into(),
                        parent: Some("f44-updates".into()),
                    },
                );
            },
        );
        assert_eq!(
            Config::default().koji.effective_cache_dir(Path::new("/d")),
            PathBuf::from("/d/cache/koji")
        );
        // Dotted keys and inline tables are plain TOML and work too.
        check(
            "runner.keep-workdir = true\nserver = { data-dir = \"d\" }",
            |c| {
                c.runner.keep_workdir = true;
                c.server.data_dir = "d".into();
            },
        );
    }

    #[test]
    fn parse_errors_name_file_line_and_key() {
        check_err(
            "[server]\nlisten = \"127.0.0.1:1\"\n\n[runner]\nsandbox = \"none\"\ntask-timout = \"1h\"\n",
            &[
                "test.toml: line 6, column 1",
                "key `runner.task-timout`",
                "unknown field `task-timout`",
                "expected one of",
            ],
        );
        check_err("[runner]\n  bogus = 1", &["line 2, column 3", "`bogus`"]);
        check_err(
            "[nosuch]\nx = 1\n",
            &["test.toml: line 1", "unknown field `nosuch`"],
        );
        check_err(
            "[server]\nlisten = 8080\n",
            &[
                "test.toml: line 2, column 10",
                "key `server.listen`",
                "invalid type",
            ],
        );
        check_err(
            "[server]\nlisten = \"localhost\"\n",
            &["line 2", "key `server.listen`", "socket address"],
        );
        check_err(
            "[runner]\nsandbox = \"docker\"\n",
            &[
                "line 2",
                "key `runner.sandbox`",
                "unknown variant `docker`",
                "`bwrap`",
                "`none`",
            ],
        );
        check_err(
            "[runner]\nkeep-workdir = \"yes\"\n",
            &["line 2", "key `runner.keep-workdir`", "invalid type"],
        );
        check_err("server = 3\n", &["line 1", "key `server`", "invalid type"]);
        check_err("[runner\n", &["test.toml: line 1"]);
        check_err(
            "[runner]\nbwrap = \"a\"\nbwrap = \"b\"\n",
            &["line 3", "duplicate"],
        );
    }

    #[test]
    fn bad_durations_name_the_key() {
        check_err(
            "[runner]\ntask-timeout = \"soon\"\n",
            &[
                "line 2, column 16",
                "`runner.task-timeout`",
                "invalid duration \"soon\"",
                "90s",
            ],
        );
        check_err(
            "[runner]\naction-timeout = \"10 parsecs\"\n",
            &["line 2", "`runner.action-timeout`", "invalid duration"],
        );
        check_err(
            "[runner]\ntask-timeout = 60\n",
            &["line 2", "key `runner.task-timeout`", "a duration string"],
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        check_err(
            "[runner]\ntask-timeout = \"0s\"\n",
            &[
                "test.toml: line 2, column 1: key `runner.task-timeout`",
                "greater than zero",
            ],
        );
        check_err(
            "[runner]\naction-timeout = \"0m\"\n",
            &["key `runner.action-timeout`", "greater than zero"],
        );
        check_err(
            "[resultsdb]\n\nurl = \"ftp://x\"\n",
            &[
                "test.toml: line 3, column 1: key `resultsdb.url`",
                "http://",
                "\"ftp://x\"",
            ],
        );
        check_err("[resultsdb]\nurl = \"http://\"\n", &["key `resultsdb.url`"]);
        check_err(
            "[koji]\nhub-url = \"koji.example\"\n",
            &["line 2, column 1: key `koji.hub-url`", "http://"],
        );
        check_err(
            "[koji]\ndownloads = 0\n",
            &["key `koji.downloads`", "at least 1"],
        );
        check_err(
            "[repos]\nupdates = \"http://m/{version}/{arc}/\"\n",
            &[
                "key `repos.updates`",
                "unknown placeholder `{arc}`",
                "{devel}",
            ],
        );
        check_err(
            "[repos.tags.x]\nurl = \"http://m/{version}/\"\n",
            &["key `repos.tags.x.url`", "unknown placeholder `{version}`"],
        );
        check_err(
            "[repos.tags.x]\nurl = \"http://m/{arch}/\"\nparent = \"x\"\n",
            &["key `repos.tags.x.parent`", "its own parent"],
        );
        check_err(
            "[resultsdb]\nurl = \"127.0.0.1:8080\"\n",
            &["key `resultsdb.url`"],
        );
        check_err(
            "[resultsdb]\nartifacts-base-url = \"file:///srv\"\n",
            &["key `resultsdb.artifacts-base-url`"],
        );
        check_err(
            "[runner]\npython = \"\"\n",
            &["key `runner.python`", "empty"],
        );
        check_err(
            "[resultsdb]\ntoken-file = \"\"\n",
            &["key `resultsdb.token-file`"],
        );
        // Written as a dotted key the scanner still finds it.
        check_err(
            "resultsdb.url = \"x\"\n",
            &["line 1", "key `resultsdb.url`"],
        );
        // In code there is no line to report.
        let mut config = Config::default();
        config.runner.task_timeout = Duration::ZERO;
        let err = config.validate("--task-timeout").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--task-timeout: key `runner.task-timeout`: must be greater than zero"
        );
    }

    #[test]
    fn key_scanner() {
        let src = "# c\n[server]\nlisten = 1 # x = y\n\n[runner]\n  a.b = 2\n\"q\" = 3\ns = \"\"\"\nfake = 4\n\"\"\"\nafter = 5\n";
        let keys: Vec<(String, usize, usize)> = scan_keys(src)
            .into_iter()
            .map(|e| (e.key, e.location.line, e.location.column))
            .collect();
        let want = [
            ("server", 2, 1),
            ("server.listen", 3, 1),
            ("runner", 5, 1),
            ("runner.a.b", 6, 3),
            ("runner.s", 8, 1),
            ("runner.after", 11, 1),
        ];
        let want: Vec<(String, usize, usize)> =
            want.iter().map(|&(k, l, c)| (k.to_owned(), l, c)).collect();
        assert_eq!(keys, want);
        assert_eq!(
            location_at("ab\ncé\nx", 6),
            Some(Location { line: 2, column: 3 })
        );
        assert_eq!(location_at("é", 1), None);
    }

    #[test]
    fn printed_config() {
        let printed = Config::default().to_toml_string().unwrap();
        assert_eq!(
            printed,
            "[server]\nlisten = \"127.0.0.1:8080\"\ndata-dir = \"taskotron-data\"\n\n\
             [runner]\nsandbox = \"bwrap\"\nbwrap = \"bwrap\"\npython = \"python3\"\n\
             task-timeout = \"2h\"\naction-timeout = \"1h\"\nkeep-workdir = false\n\n\
             [resultsdb]\n\n\
             [api]\nadditional-outcomes = [\"ABORTED\", \"CRASHED\", \"QUEUED\", \"RUNNING\", \"ERROR\"]\n\
             max-body-bytes = 1048576\n\n[database]\n\n\
             [amqp]\nexchange = \"amq.topic\"\ntopic-prefix = \"org.taskotron\"\n\n\
             [koji]\nhub-url = \"https://koji.fedoraproject.org/kojihub\"\n\
             pkgs-url = \"https://kojipkgs.fedoraproject.org\"\ndownloads = 4\n\n\
             [bodhi]\nurl = \"https://bodhi.fedoraproject.org/\"\n\n\
             [distgit]\nurl = \"https://src.fedoraproject.org\"\n\n\
             [repos]\n\
             release = \"https://dl.fedoraproject.org/pub/fedora/linux/releases/{version}/Everything/{arch}/os/\"\n\
             development = \"https://dl.fedoraproject.org/pub/fedora/linux/development/{devel}/Everything/{arch}/os/\"\n\
             updates = \"https://dl.fedoraproject.org/pub/fedora/linux/updates/{version}/Everything/{arch}/\"\n\
             updates-testing = \"https://dl.fedoraproject.org/pub/fedora/linux/updates/testing/{version}/Everything/{arch}/\"\n\n\
             [gating]\n\n[waivers]\n\n\
             [scheduler]\narches = [\"x86_64\"]\nbus = true\nqueue = \"taskotron-scheduler\"\n\
             consume-prefix = \"org.fedoraproject.prod\"\nkoji-poll = \"5m\"\nbodhi-poll = \"5m\"\n\
             overlap = \"1h\"\nkoji-event-overlap = 1000\nlookback = \"1h\"\nmax-attempts = 3\n\n\
             [artifacts]\nretention-days = 30\nmax-log-bytes = 67108864\n\
             max-artifact-bytes = 1073741824\n\n[worker]\nlease = \"1m\"\nretry-backoff = \"30s\"\n"
        );
        check(
            "[runner]\ntask-timeout = \"1h 30m 5s\"\n[resultsdb]\nurl = \"http://r/api\"\ntoken-file = \"t\"\n",
            |c| {
                c.runner.task_timeout = Duration::from_secs(5405);
                c.resultsdb.url = Some("http://r/api".into());
                c.resultsdb.token_file = Some("t".into());
            },
        );
    }

    #[test]
    fn token_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        fs::write(&file, "  from-file\n").unwrap();
        let with_file = ResultsdbConfig {
            token_file: Some(file.clone()),
            ..ResultsdbConfig::default()
        };
        let without_file = ResultsdbConfig::default();

        let token =
            |config: &ResultsdbConfig, env: Option<&str>| config.token_from(env.map(str::to_owned));
        // The env var wins over the file, and is trimmed.
        assert_eq!(
            token(&with_file, Some(" from-env\n")).unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(
            token(&without_file, Some("from-env")).unwrap().as_deref(),
            Some("from-env")
        );
        // A blank env var counts as unset.
        assert_eq!(
            token(&with_file, Some("  ")).unwrap().as_deref(),
            Some("from-file")
        );
        // The file, trimmed.
        assert_eq!(
            token(&with_file, None).unwrap().as_deref(),
            Some("from-file")
        );
        // Neither.
        assert_eq!(token(&without_file, None).unwrap(), None);
        assert_eq!(token(&without_file, Some("")).unwrap(), None);

        // A blank file is an error naming the file.
        fs::write(&file, " \n\t\n").unwrap();
        let err = token(&with_file, None).unwrap_err();
        assert!(matches!(err, ConfigError::TokenEmpty { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        // ... but the env var still wins.
        assert_eq!(token(&with_file, Some("e")).unwrap().as_deref(), Some("e"));

        // A missing file is an error naming the file.
        fs::remove_file(&file).unwrap();
        let err = token(&with_file, None).unwrap_err();
        assert!(matches!(err, ConfigError::TokenRead { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_print() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        fs::write(&file, "s3cr3t").unwrap();
        let src = format!(
            "[resultsdb]\ntoken-file = {:?}\n",
            file.display().to_string()
        );
        let config = Config::from_toml_str(&src, "test.toml").unwrap();
        assert_eq!(
            config.resultsdb.token_from(None).unwrap().as_deref(),
            Some("s3cr3t")
        );
        assert!(!format!("{config:?}").contains("s3cr3t"));
        assert!(!config.to_toml_string().unwrap().contains("s3cr3t"));
    }

    #[test]
    fn resolve_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = dir.path().join("explicit.toml");
        let from_env = dir.path().join("env.toml");
        fs::write(&explicit, "[runner]\nsandbox = \"none\"\n").unwrap();
        fs::write(&from_env, "[runner]\nkeep-workdir = true\n").unwrap();
        let resolve = |explicit: Option<&Path>, env: Option<&Path>| {
            Config::resolve_from(explicit, env.map(|p| p.as_os_str().to_owned()))
        };

        let (config, path) = resolve(Some(&explicit), Some(&from_env)).unwrap();
        assert_eq!(path.as_deref(), Some(explicit.as_path()));
        assert_eq!(config.runner.sandbox, SandboxKind::None);
        assert!(!config.runner.keep_workdir);

        let (config, path) = resolve(None, Some(&from_env)).unwrap();
        assert_eq!(path.as_deref(), Some(from_env.as_path()));
        assert!(config.runner.keep_workdir);

        let (config, path) = resolve(None, Some(Path::new(""))).unwrap();
        assert_eq!((config, path), (Config::default(), None));
        let (config, path) = resolve(None, None).unwrap();
        assert_eq!((config, path), (Config::default(), None));

        // A missing file is an error naming it, wherever the path came from.
        let missing = dir.path().join("missing.toml");
        for (explicit, env) in [
            (Some(missing.as_path()), None),
            (None, Some(missing.as_path())),
        ] {
            let err = resolve(explicit, env).unwrap_err();
            assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
            assert!(
                err.to_string().contains(&missing.display().to_string()),
                "{err}"
            );
        }
    }
}
