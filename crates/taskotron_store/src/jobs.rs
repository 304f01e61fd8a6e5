//! The durable job queue: jobs keyed by what they check, claimed by workers
//! under leases with fencing tokens, and one record per job holding every
//! attempt.
//!
//! A job's key (check, check revision, item type, item, item revision, arch
//! and re-run number) is unique: enqueuing a key twice makes one job. A claim
//! takes the highest-priority, oldest queued job whose `not_before` has
//! passed and whose required capabilities the worker has, marks it running
//! and opens an attempt with the next fencing token (`lease_token`, one more
//! than the job's last). Only the attempt holding the job's current token
//! may heartbeat or finish; any other gets [`StoreError::StaleAttempt`]. The
//! sweeper ([`Store::expire_leases`]) requeues running jobs whose lease ran
//! out, or marks them crashed once they used all their attempts.
//!
//! On PostgreSQL a claim picks its row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers never wait for each other or take the same job; on
//! SQLite it runs in the single writer's `BEGIN IMMEDIATE` transaction.
//! Every time is microseconds since the Unix epoch by the database's clock,
//! so servers on several machines agree on when a lease ends.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use sqlx::Row;

use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// What makes a job unique: planning the same key twice makes one job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobKey {
    /// The check's name (`dist.rpmlint`).
    pub check: String,
    /// The revision of the check's definition.
    pub check_revision: String,
    /// The item type (`koji_build`, `bodhi_update`, …).
    pub item_type: String,
    /// The item (an NVR, an update alias, …).
    pub item: String,
    /// The item's revision (the NVR again, or an update's version hash).
    pub item_revision: String,
    /// The architecture the check runs for.
    pub arch: String,
    /// 0 for the planned run; an explicit re-run takes the next number.
    pub rerun: u32,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} {}:{}@{} {}",
            self.check,
            self.check_revision,
            self.item_type,
            self.item,
            self.item_revision,
            self.arch
        )?;
        if self.rerun > 0 {
            write!(f, " rerun:{}", self.rerun)?;
        }
        Ok(())
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Leased to a worker.
    Running,
    /// Its worker reported a result.
    Finished,
    /// Its task crashed, or its lease ran out on every attempt.
    Crashed,
    /// Cancelled before it ended.
    Cancelled,
    /// Its task ran out of time.
    TimedOut,
}

impl JobState {
    /// The state's name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Crashed => "crashed",
            JobState::Cancelled => "cancelled",
            JobState::TimedOut => "timed-out",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<JobState> {
        Some(match name {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "finished" => JobState::Finished,
            "crashed" => JobState::Crashed,
            "cancelled" => JobState::Cancelled,
            "timed-out" => JobState::TimedOut,
            _ => return None,
        })
    }

    /// Whether the job has ended (no claim, heartbeat or result changes it).
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn decode_state(name: &str) -> Result<JobState, sqlx::Error> {
    JobState::parse(name)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown job state {name:?}").into()))
}

/// What a worker must offer to run a job. `None` and no labels accept any
/// worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The architecture the worker must run.
    pub arch: Option<String>,
    /// The sandbox kind the worker must have (`bwrap`, `vm`, …).
    pub sandbox: Option<String>,
    /// Labels the worker must all have.
    pub labels: Vec<String>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its unique key.
    pub key: JobKey,
    /// Higher runs first.
    pub priority: i64,
    /// How long from now before a worker may take it.
    pub delay: Duration,
    /// What the worker must offer.
    pub requires: Requirements,
    /// How many attempts the job gets before a lost lease crashes it (at
    /// least 1).
    pub max_attempts: u32,
}

/// What enqueuing did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job, with its uuid.
    Inserted(String),
    /// The key already had a job (whatever its state), with its uuid.
    Existing(String),
}

impl Enqueued {
    /// The job's uuid.
    pub fn uuid(&self) -> &str {
        match self {
            Enqueued::Inserted(it) | Enqueued::Existing(it) => it,
        }
    }
}

/// What a worker offers when it asks for work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerCaps {
    /// The worker's name, recorded on each attempt.
    pub name: String,
    /// The architectures it runs.
    pub arches: Vec<String>,
    /// The sandbox kinds it has.
    pub sandboxes: Vec<String>,
    /// Its labels.
    pub labels: Vec<String>,
}

/// A claimed job: the worker holds it until `expires_at` unless it
/// heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job's uuid.
    pub uuid: String,
    /// The job's key.
    pub key: JobKey,
    /// The attempt's number (1 for the first).
    pub attempt: i64,
    /// The fencing token: heartbeats and the result must carry it.
    pub token: i64,
    /// When the lease runs out, in microseconds since the epoch.
    pub expires_at: i64,
    /// Where the formula comes from, for a discovered task (see
    /// [`Job::source`]).
    pub source: Option<String>,
}

/// How a worker ended its attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalState {
    /// The task ran and reported (its verdict is in the outcome).
    Finished,
    /// The task crashed.
    Crashed,
    /// The task ran out of time.
    TimedOut,
}

impl From<FinalState> for JobState {
    fn from(state: FinalState) -> JobState {
        match state {
            FinalState::Finished => JobState::Finished,
            FinalState::Crashed => JobState::Crashed,
            FinalState::TimedOut => JobState::TimedOut,
        }
    }
}

/// What ended an attempt: the task's own verdict, the task's own crash,
/// or a fault of the infrastructure around it. Only infrastructure faults
/// are retried automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The task ran and gave its verdict (passed, failed, …).
    Verdict,
    /// The task crashed or ran out of time: its own fault.
    Task,
    /// The worker was lost, or the sandbox, a download or a service the
    /// task needs failed.
    Infra,
}

impl FailureClass {
    /// The class's name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Verdict => "verdict",
            FailureClass::Task => "task",
            FailureClass::Infra => "infra",
        }
    }

    /// The class named `name`, if any.
    pub fn parse(name: &str) -> Option<FailureClass> {
        Some(match name {
            "verdict" => FailureClass::Verdict,
            "task" => FailureClass::Task,
            "infra" => FailureClass::Infra,
            _ => return None,
        })
    }
}

/// How [`Store::finish_job`] left a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The job ended in the reported state.
    Ended,
    /// An infrastructure fault with attempts left: the job is queued again,
    /// to start no earlier than this time (µs).
    Retrying {
        /// When it may start again.
        not_before: i64,
    },
}

/// The result of an attempt, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    /// The job's state from now on.
    pub state: FinalState,
    /// The task's exit status, when it ran.
    pub exit_status: Option<i64>,
    /// A one-line summary (`PASSED`, `FAILED: 3 errors`, …).
    pub outcome: Option<String>,
    /// Where the attempt's log is.
    pub log_url: Option<String>,
    /// Where the attempt's artifacts are.
    pub artifacts_url: Option<String>,
    /// The ResultsDB group holding the job's results.
    pub result_group: Option<String>,
    /// What ended the attempt (`None`: not said, as before classes).
    pub class: Option<FailureClass>,
    /// For an infrastructure fault: queue the job again after this long,
    /// when it has attempts left, instead of ending it.
    pub retry_after: Option<Duration>,
    /// The results the task reported, a JSON array of ResultsDB POST
    /// bodies (checked by the caller): kept in `job_results`, in the same
    /// transaction, when the attempt ends the job (see `job_results.rs`).
    pub results: Option<String>,
}

/// One attempt at a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its number, from 1.
    pub attempt: i64,
    /// The worker that claimed it.
    pub worker: String,
    /// Its fencing token.
    pub token: i64,
    /// When its lease runs (or ran) out.
    pub lease_expires_at: i64,
    /// When it was claimed.
    pub started_at: i64,
    /// When it ended, if it has.
    pub ended_at: Option<i64>,
    /// Why it ended: `finished`, `infra-fault` (retried), `lease-expired`
    /// or `cancelled`.
    pub end_reason: Option<String>,
    /// The task's exit status, when reported.
    pub exit_status: Option<i64>,
    /// The worker's summary.
    pub outcome: Option<String>,
    /// Where its log is.
    pub log_url: Option<String>,
    /// Where its artifacts are.
    pub artifacts_url: Option<String>,
    /// What ended it, once it ended.
    pub class: Option<FailureClass>,
}

/// A job's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its uuid.
    pub uuid: String,
    /// Its key.
    pub key: JobKey,
    /// Where it stands.
    pub state: JobState,
    /// Higher runs first.
    pub priority: i64,
    /// No worker takes it before this time.
    pub not_before: i64,
    /// What a worker must offer (labels sorted).
    pub requires: Requirements,
    /// How many times it was claimed.
    pub attempt_count: i64,
    /// How many attempts it gets.
    pub max_attempts: i64,
    /// The current (last issued) fencing token; 0 before the first claim.
    pub token: i64,
    /// When the running attempt's lease runs out.
    pub lease_expires_at: Option<i64>,
    /// The worker of the last attempt.
    pub worker: Option<String>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
    /// The summary of how it ended.
    pub outcome: Option<String>,
    /// The ResultsDB group of its results.
    pub result_group: Option<String>,
    /// Where its formula comes from when the scheduler discovered it in a
    /// git repository: JSON `{"repo", "commit", "path"}`.
    pub source: Option<String>,
    /// Every attempt, first first.
    pub attempts: Vec<Attempt>,
}

/// Which jobs [`Store::list_jobs`] returns (all the given fields must match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    /// In this state.
    pub state: Option<JobState>,
    /// On this item.
    pub item: Option<String>,
    /// Of this check.
    pub check: Option<String>,
    /// With an attempt by this worker.
    pub worker: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl Default for JobFilter {
    fn default() -> JobFilter {
        JobFilter {
            state: None,
            item: None,
            check: None,
            worker: None,
            limit: 100,
        }
    }
}

/// A job the sweeper took back from a worker whose lease ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The job's uuid.
    pub uuid: String,
    /// The token of the attempt that lost its lease.
    pub token: i64,
    /// `Queued` when it gets another attempt, `Crashed` when it used them all.
    pub state: JobState,
}

/// The database's clock, in microseconds since the epoch.
pub(crate) fn now_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
    }
}

pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 4)
}

pub(crate) const KEY_COLUMNS: &str =
    "check_name, check_revision, item_type, item, item_revision, arch, rerun";

const JOB_COLUMNS: &str = "j.id, j.uuid, j.check_name, j.check_revision, j.item_type, j.item, \
     j.item_revision, j.arch, j.rerun, j.state, j.priority, j.not_before, j.req_arch, \
     j.req_sandbox, j.req_labels, j.attempts, j.max_attempts, j.lease_token, \
     j.lease_expires_at, j.worker, j.created_at, j.updated_at, j.outcome, j.result_group, \
     j.source";

const ATTEMPT_COLUMNS: &str = "job_id, attempt, worker, lease_token, lease_expires_at, \
     started_at, ended_at, end_reason, exit_status, outcome, log_url, artifacts_url, class";

/// Begin a write transaction: `BEGIN IMMEDIATE` on SQLite takes the write
/// lock up front.
macro_rules! begin {
    ($pool:expr, $dialect:expr) => {
        match $dialect {
            Dialect::Sqlite => $pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => $pool.begin().await?,
        }
    };
}
pub(crate) use begin;

/// Decode a [`JobKey`] from the key columns starting at `$at`.
macro_rules! key_from_row {
    ($row:expr, $at:expr) => {{
        let row = &$row;
        let rerun: i64 = row.try_get($at + 6)?;
        JobKey {
            check: row.try_get($at)?,
            check_revision: row.try_get($at + 1)?,
            item_type: row.try_get($at + 2)?,
            item: row.try_get($at + 3)?,
            item_revision: row.try_get($at + 4)?,
            arch: row.try_get($at + 5)?,
            rerun: u32::try_from(rerun).map_err(|err| sqlx::Error::Decode(Box::new(err)))?,
        }
    }};
}
pub(crate) use key_from_row;

/// Decode `(id, Job)` from a row of [`JOB_COLUMNS`] (attempts left empty).
macro_rules! job_from_row {
    ($row:expr) => {{
        let row = &$row;
        let id: i64 = row.try_get(0)?;
        let state: String = row.try_get(9)?;
        let labels: String = row.try_get(14)?;
        let job = Job {
            uuid: row.try_get(1)?,
            key: key_from_row!(row, 2),
            state: decode_state(&state)?,
            priority: row.try_get(10)?,
            not_before: row.try_get(11)?,
            requires: Requirements {
                arch: row.try_get(12)?,
                sandbox: row.try_get(13)?,
                labels: labels.split_whitespace().map(str::to_owned).collect(),
            },
            attempt_count: row.try_get(15)?,
            max_attempts: row.try_get(16)?,
            token: row.try_get(17)?,
            lease_expires_at: row.try_get(18)?,
            worker: row.try_get(19)?,
            created_at: row.try_get(20)?,
            updated_at: row.try_get(21)?,
            outcome: row.try_get(22)?,
            result_group: row.try_get(23)?,
            source: row.try_get(24)?,
            attempts: Vec::new(),
        };
        (id, job)
    }};
}

/// Decode `(job id, Attempt)` from a row of [`ATTEMPT_COLUMNS`].
macro_rules! attempt_from_row {
    ($row:expr) => {{
        let row = &$row;
        let job_id: i64 = row.try_get(0)?;
        let attempt = Attempt {
            attempt: row.try_get(1)?,
            worker: row.try_get(2)?,
            token: row.try_get(3)?,
            lease_expires_at: row.try_get(4)?,
            started_at: row.try_get(5)?,
            ended_at: row.try_get(6)?,
            end_reason: row.try_get(7)?,
            exit_status: row.try_get(8)?,
            outcome: row.try_get(9)?,
            log_url: row.try_get(10)?,
            artifacts_url: row.try_get(11)?,
            class: row
                .try_get::<Option<String>, _>(12)?
                .as_deref()
                .and_then(FailureClass::parse),
        };
        (job_id, attempt)
    }};
}

/// The statement that tells every `taskotron serve` listening on this
/// database that jobs became claimable (PostgreSQL only). The channel is
/// [`JOBS_CHANNEL`] followed by the schema, so that stores in different
/// schemas of one database do not wake each other.
pub(crate) const NOTIFY_JOBS: &str = "SELECT pg_notify('taskotron_jobs:' || current_schema(), '')";

/// The prefix of the PostgreSQL channel that announces claimable jobs; the
/// store's schema follows it (`taskotron_jobs:public`).
pub const JOBS_CHANNEL: &str = "taskotron_jobs:";

/// On PostgreSQL, announce in transaction `$tx` that jobs became claimable:
/// the notification goes out when (and only if) the transaction commits.
/// On SQLite nothing: one process holds the database, and it wakes its own
/// waiters.
macro_rules! notify_claimable {
    ($tx:expr, $dialect:expr) => {
        if $dialect == $crate::sql::Dialect::Postgres {
            sqlx::query($crate::jobs::NOTIFY_JOBS)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use notify_claimable;

/// Insert `$job` with re-run number `$rerun` in transaction `$tx`, unless its
/// key has a job already; evaluates to `(job id, Enqueued)`. Used by
/// [`Store::enqueue_jobs`] and by the scheduler's planner, which inserts
/// jobs in the transaction that marks their event planned.
macro_rules! insert_job {
    ($tx:expr, $dialect:expr, $job:expr, $rerun:expr) => {
        insert_job!($tx, $dialect, $job, $rerun, None::<&str>)
    };
    ($tx:expr, $dialect:expr, $job:expr, $rerun:expr, $source:expr) => {{
        let job: &NewJob = $job;
        let dialect = $dialect;
        let now = now_sql(dialect);
        let key = &job.key;
        let rerun: i64 = $rerun;
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut labels = job.requires.labels.clone();
        labels.sort();
        labels.dedup();
        let mut sql = Sql::new(dialect, "INSERT INTO jobs (uuid, ");
        sql.push(KEY_COLUMNS);
        sql.push(
            ", state, priority, not_before, req_arch, req_sandbox, req_labels, \
             max_attempts, source, created_at, updated_at) VALUES (",
        );
        sql.text(&uuid).push(", ").text(&key.check);
        sql.push(", ").text(&key.check_revision);
        sql.push(", ").text(&key.item_type);
        sql.push(", ").text(&key.item);
        sql.push(", ").text(&key.item_revision);
        sql.push(", ").text(&key.arch);
        sql.push(", ").int(rerun);
        sql.push(", 'queued', ").int(job.priority);
        sql.push(&format!(", {now} + ")).int(micros(job.delay));
        sql.push(", ").opt_text(job.requires.arch.as_deref());
        sql.push(", ").opt_text(job.requires.sandbox.as_deref());
        sql.push(", ").text(&labels.join(" "));
        sql.push(", ").int(i64::from(job.max_attempts));
        let source: Option<&str> = $source;
        sql.push(", ").opt_text(source);
        sql.push(&format!(", {now}, {now}) ON CONFLICT ("));
        sql.push(KEY_COLUMNS);
        sql.push(") DO NOTHING RETURNING id");
        match query!(sql).fetch_optional(&mut *$tx).await? {
            Some(row) => {
                let id: i64 = row.try_get(0)?;
                for label in &labels {
                    let mut sql =
                        Sql::new(dialect, "INSERT INTO job_labels (job_id, label) VALUES (");
                    sql.int(id).push(", ").text(label).push(")");
                    query!(sql).execute(&mut *$tx).await?;
                }
                (id, Enqueued::Inserted(uuid))
            }
            None => {
                let mut key = key.clone();
                key.rerun = u32::try_from(rerun).unwrap_or(u32::MAX);
                let mut sql = Sql::new(dialect, "SELECT j.id, j.uuid FROM jobs j WHERE");
                push_key_match(&mut sql, &key);
                let row = query!(sql).fetch_one(&mut *$tx).await?;
                (
                    row.try_get::<i64, _>(0)?,
                    Enqueued::Existing(row.try_get(1)?),
                )
            }
        }
    }};
}
pub(crate) use insert_job;

/// Append `WHERE`-clause tests matching a job's key columns (prefixed `j.`).
pub(crate) fn push_key_match(sql: &mut Sql, key: &JobKey) {
    sql.push(" j.check_name = ").text(&key.check);
    sql.push(" AND j.check_revision = ")
        .text(&key.check_revision);
    sql.push(" AND j.item_type = ").text(&key.item_type);
    sql.push(" AND j.item = ").text(&key.item);
    sql.push(" AND j.item_revision = ").text(&key.item_revision);
    sql.push(" AND j.arch = ").text(&key.arch);
    sql.push(" AND j.rerun = ").int(i64::from(key.rerun));
}

/// Append the tests that a queued job `j` accepts `worker`.
fn push_caps_match(sql: &mut Sql, worker: &WorkerCaps) {
    if worker.arches.is_empty() {
        sql.push(" AND j.req_arch IS NULL");
    } else {
        sql.push(" AND (j.req_arch IS NULL OR j.req_arch IN ")
            .text_list(&worker.arches)
            .push(")");
    }
    if worker.sandboxes.is_empty() {
        sql.push(" AND j.req_sandbox IS NULL");
    } else {
        sql.push(" AND (j.req_sandbox IS NULL OR j.req_sandbox IN ")
            .text_list(&worker.sandboxes)
            .push(")");
    }
    sql.push(" AND NOT EXISTS (SELECT 1 FROM job_labels l WHERE l.job_id = j.id");
    if !worker.labels.is_empty() {
        sql.push(" AND l.label NOT IN ").text_list(&worker.labels);
    }
    sql.push(")");
}

/// Refuse a job the queue could not store faithfully.
pub(crate) fn check_new_job(job: &NewJob) -> Result<(), StoreError> {
    let reason = if job.max_attempts == 0 {
        Some("max_attempts must be at least 1")
    } else if job
        .requires
        .labels
        .iter()
        .any(|it| it.is_empty() || it.contains(char::is_whitespace))
    {
        Some("a required label is empty or contains white space")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidJob {
            key: job.key.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Store {
    /// Enqueue `jobs` in one transaction, answering for each whether it made
    /// a new job or its key already had one (then nothing changes). A
    /// malformed job ([`StoreError::InvalidJob`]: no attempts allowed, an
    /// empty label or one with white space) refuses the whole batch.
    pub async fn enqueue_jobs(
        &self,
        jobs: &[NewJob],
    ) -> Result<Vec<(JobKey, Enqueued)>, StoreError> {
        for job in jobs {
            check_new_job(job)?;
        }
        let mut out = Vec::with_capacity(jobs.len());
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            for job in jobs {
                let (_, enqueued) = insert_job!(tx, dialect, job, i64::from(job.key.rerun));
                out.push((job.key.clone(), enqueued));
            }
            if out
                .iter()
                .any(|(_, it)| matches!(it, Enqueued::Inserted(_)))
            {
                notify_claimable!(tx, dialect);
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Lease the best job `worker` can run for `lease` from now: the
    /// highest priority, then the oldest, of the queued jobs whose
    /// `not_before` has passed and whose requirements the worker meets.
    /// `None` when there is none.
    pub async fn claim_job(
        &self,
        worker: &WorkerCaps,
        lease: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let dialect = self.dialect();
        let now = now_sql(dialect);
        let mut sql = Sql::new(
            dialect,
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
             lease_token = lease_token + 1, worker = ",
        );
        sql.text(&worker.name);
        sql.push(&format!(", lease_expires_at = {now} + "))
            .int(micros(lease));
        sql.push(&format!(
            ", updated_at = {now} WHERE state = 'queued' AND id = (SELECT j.id FROM jobs j \
             WHERE j.state = 'queued' AND j.not_before <= {now}"
        ));
        push_caps_match(&mut sql, worker);
        sql.push(" ORDER BY j.priority DESC, j.id LIMIT 1");
        if dialect == Dialect::Postgres {
            // Rows other claimers hold are skipped, not waited for; a row
            // claimed and committed meanwhile is re-checked and fails
            // `state = 'queued'`.
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") RETURNING id, ");
        sql.push(KEY_COLUMNS);
        sql.push(", uuid, attempts, lease_token, lease_expires_at, updated_at, source");
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            if dialect == Dialect::Postgres {
                // The claim must walk `jobs_claim` in order and stop at the
                // first job it can lock. Its plan is made once per
                // connection, from whatever statistics the table had then
                // (none, on a new database), and a plan that sorts every
                // queued job and tests each for labels costs a claim time
                // in proportion to the queue. With sorts and bitmap scans
                // off in the claim's own transaction (this statement's text
                // runs nowhere else), its plan is always the index walk.
                sqlx::query(
                    "SELECT set_config('enable_sort', 'off', true), \
                     set_config('enable_bitmapscan', 'off', true)",
                )
                .execute(&mut *tx)
                .await?;
            }
            let Some(row) = query!(sql).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            let id: i64 = row.try_get(0)?;
            let lease = Lease {
                key: key_from_row!(row, 1),
                uuid: row.try_get(8)?,
                attempt: row.try_get(9)?,
                token: row.try_get(10)?,
                expires_at: row.try_get(11)?,
                source: row.try_get(13)?,
            };
            let started_at: i64 = row.try_get(12)?;
            let mut insert = Sql::new(
                dialect,
                "INSERT INTO job_attempts (job_id, attempt, worker, lease_token, \
                 lease_expires_at, started_at) VALUES (",
            );
            insert.int(id).push(", ").int(lease.attempt);
            insert.push(", ").text(&worker.name);
            insert.push(", ").int(lease.token);
            insert.push(", ").int(lease.expires_at);
            insert.push(", ").int(started_at).push(")");
            query!(insert).execute(&mut *tx).await?;
            tx.commit().await?;
            tracing::debug!(job.uuid = %lease.uuid, job.key = %lease.key, worker = %worker.name,
                token = lease.token, "leased a job");
            Ok(Some(lease))
        })
    }

    /// Extend the lease of job `uuid` to `lease` from now, for the attempt
    /// holding `token`; answers the new expiry. A token that is not the
    /// job's current one, or a job no longer running (expired and swept,
    /// cancelled, finished), is [`StoreError::StaleAttempt`]: its worker must
    /// stop the task.
    pub async fn heartbeat(
        &self,
        uuid: &str,
        token: i64,
        lease: Duration,
    ) -> Result<i64, StoreError> {
        let dialect = self.dialect();
        let now = now_sql(dialect);
        let mut sql = Sql::new(
            dialect,
            &format!("UPDATE jobs SET lease_expires_at = {now} + "),
        );
        sql.int(micros(lease));
        sql.push(&format!(", updated_at = {now} WHERE uuid = "))
            .text(uuid);
        sql.push(" AND lease_token = ").int(token);
        sql.push(" AND state = 'running' RETURNING id, lease_expires_at");
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let Some(row) = query!(sql).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Err(self.stale_or_missing(uuid, token).await);
            };
            let id: i64 = row.try_get(0)?;
            let expires_at: i64 = row.try_get(1)?;
            let mut attempt = Sql::new(dialect, "UPDATE job_attempts SET lease_expires_at = ");
            attempt.int(expires_at).push(" WHERE job_id = ").int(id);
            attempt.push(" AND lease_token = ").int(token);
            query!(attempt).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(expires_at)
        })
    }

    /// Record the result of the attempt holding `token` on job `uuid` and
    /// end the job in `outcome.state`, or, for an infrastructure fault with
    /// `retry_after` and attempts left, queue it again after that long
    /// (the attempt ends as `infra-fault`). Accepted only while the job runs
    /// under that token; anything else is [`StoreError::StaleAttempt`] and
    /// changes nothing, so a zombie attempt's late result never counts.
    pub async fn finish_job(
        &self,
        uuid: &str,
        token: i64,
        outcome: &JobOutcome,
    ) -> Result<Finished, StoreError> {
        let dialect = self.dialect();
        let now = now_sql(dialect);
        // An infrastructure fault with attempts left queues the job again
        // (its lease and worker cleared, not before the backoff); anything
        // else ends it in the reported state.
        let retry = match (outcome.class, outcome.retry_after) {
            (Some(FailureClass::Infra), Some(after)) => Some(micros(after)),
            _ => None,
        };
        let ended = JobState::from(outcome.state).as_str();
        let mut sql = Sql::new(dialect, "UPDATE jobs SET state = ");
        match retry {
            Some(_) => {
                sql.push("CASE WHEN attempts < max_attempts THEN 'queued' ELSE ")
                    .text(ended)
                    .push(" END");
            }
            None => {
                sql.text(ended);
            }
        }
        sql.push(", outcome = ");
        match retry {
            Some(_) => {
                sql.push("CASE WHEN attempts < max_attempts THEN NULL ELSE ")
                    .opt_text(outcome.outcome.as_deref())
                    .push(" END");
            }
            None => {
                sql.opt_text(outcome.outcome.as_deref());
            }
        }
        sql.push(", result_group = ")
            .opt_text(outcome.result_group.as_deref());
        if let Some(after) = retry {
            sql.push(&format!(
                ", not_before = CASE WHEN attempts < max_attempts THEN {now} + "
            ))
            .int(after)
            .push(" ELSE not_before END, worker = CASE WHEN attempts < max_attempts THEN NULL ELSE worker END");
        }
        sql.push(&format!(
            ", lease_expires_at = NULL, updated_at = {now} WHERE uuid = "
        ))
        .text(uuid);
        sql.push(" AND lease_token = ").int(token);
        sql.push(" AND state = 'running' RETURNING id, state, not_before, attempts");
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let Some(row) = query!(sql).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return Err(self.stale_or_missing(uuid, token).await);
            };
            let id: i64 = row.try_get(0)?;
            let state: String = row.try_get(1)?;
            let not_before: i64 = row.try_get(2)?;
            let requeued = state == "queued";
            let mut attempt = Sql::new(
                dialect,
                &format!("UPDATE job_attempts SET ended_at = {now}, end_reason = "),
            );
            attempt.text(if requeued { "infra-fault" } else { "finished" });
            attempt.push(", exit_status = ");
            match outcome.exit_status {
                Some(status) => attempt.int(status),
                None => attempt.push("NULL"),
            };
            attempt
                .push(", outcome = ")
                .opt_text(outcome.outcome.as_deref());
            attempt
                .push(", log_url = ")
                .opt_text(outcome.log_url.as_deref());
            attempt
                .push(", artifacts_url = ")
                .opt_text(outcome.artifacts_url.as_deref());
            attempt
                .push(", class = ")
                .opt_text(outcome.class.map(FailureClass::as_str));
            attempt.push(" WHERE job_id = ").int(id);
            attempt.push(" AND lease_token = ").int(token);
            query!(attempt).execute(&mut *tx).await?;
            if let Some(results) = outcome.results.as_deref().filter(|_| !requeued) {
                let number: i64 = row.try_get(3)?;
                let mut keep = Sql::new(
                    dialect,
                    "INSERT INTO job_results (job_uuid, attempt, payloads, created_at) VALUES (",
                );
                keep.text(uuid)
                    .push(", ")
                    .int(number)
                    .push(", ")
                    .text(results);
                keep.push(&format!(", {now})"));
                query!(keep).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(if requeued {
                Finished::Retrying { not_before }
            } else {
                Finished::Ended
            })
        })
    }

    /// The error for a heartbeat or result that matched no running job.
    async fn stale_or_missing(&self, uuid: &str, token: i64) -> StoreError {
        let mut sql = Sql::new(self.dialect(), "SELECT 1 FROM jobs WHERE uuid = ");
        sql.text(uuid);
        let found = with_pool!(self, write, |pool, _dialect| {
            query!(sql)
                .fetch_optional(pool)
                .await
                .map(|it| it.is_some())
        });
        match found {
            Ok(true) => StoreError::StaleAttempt {
                job: uuid.to_owned(),
                token,
            },
            Ok(false) => StoreError::NotFound("job"),
            Err(err) => StoreError::Backend(err),
        }
    }

    /// The sweeper: take back every running job whose lease has run out.
    /// A job with attempts left goes back to the queue; one that used them
    /// all is crashed. Its attempt ends as `lease-expired`, and its token
    /// is dead from now on.
    pub async fn expire_leases(&self) -> Result<Vec<Expired>, StoreError> {
        let dialect = self.dialect();
        let now = now_sql(dialect);
        let sql = Sql::new(
            dialect,
            &format!(
                "UPDATE jobs SET \
                 state = CASE WHEN attempts >= max_attempts THEN 'crashed' ELSE 'queued' END, \
                 outcome = CASE WHEN attempts >= max_attempts \
                   THEN 'lease expired on every attempt' ELSE outcome END, \
                 lease_expires_at = NULL, updated_at = {now} \
                 WHERE state = 'running' AND lease_expires_at < {now} \
                 RETURNING id, uuid, lease_token, state"
            ),
        );
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let rows = query!(sql).fetch_all(&mut *tx).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let id: i64 = row.try_get(0)?;
                let state: String = row.try_get(3)?;
                let expired = Expired {
                    uuid: row.try_get(1)?,
                    token: row.try_get(2)?,
                    state: decode_state(&state)?,
                };
                let mut attempt = Sql::new(
                    dialect,
                    &format!(
                        "UPDATE job_attempts SET ended_at = {now}, end_reason = 'lease-expired', class = 'infra' \
                         WHERE ended_at IS NULL AND job_id = "
                    ),
                );
                attempt
                    .int(id)
                    .push(" AND lease_token = ")
                    .int(expired.token);
                query!(attempt).execute(&mut *tx).await?;
                out.push(expired);
            }
            if out.iter().any(|it| it.state == JobState::Queued) {
                notify_claimable!(tx, dialect);
            }
            tx.commit().await?;
            for it in &out {
                tracing::info!(job.uuid = %it.uuid, token = it.token, state = %it.state,
                    "a job's lease expired");
            }
            Ok(out)
        })
    }

    /// Cancel job `uuid` if it is queued or running (a running attempt
    /// ends as `cancelled`, and its worker's next heartbeat fails):
    /// `false` when it had already ended.
    pub async fn cancel_job(&self, uuid: &str) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        let now = now_sql(dialect);
        let mut sql = Sql::new(
            dialect,
            &format!(
                "UPDATE jobs SET state = 'cancelled', lease_expires_at = NULL, \
                 updated_at = {now} WHERE state IN ('queued', 'running') AND uuid = "
            ),
        );
        sql.text(uuid).push(" RETURNING id");
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let Some(row) = query!(sql).fetch_optional(&mut *tx).await? else {
                tx.rollback().await?;
                return match self.get_job(uuid).await? {
                    Some(_) => Ok(false),
                    None => Err(StoreError::NotFound("job")),
                };
            };
            let id: i64 = row.try_get(0)?;
            let mut attempt = Sql::new(
                dialect,
                &format!(
                    "UPDATE job_attempts SET ended_at = {now}, end_reason = 'cancelled' \
                     WHERE ended_at IS NULL AND job_id = "
                ),
            );
            attempt.int(id);
            query!(attempt).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// One job by uuid, with its attempts.
    pub async fn get_job(&self, uuid: &str) -> Result<Option<Job>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            &format!("SELECT {JOB_COLUMNS} FROM jobs j WHERE j.uuid = "),
        );
        sql.text(uuid);
        Ok(self.jobs(&sql).await?.into_iter().next())
    }

    /// The newest jobs matching `filter`, with their attempts.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            &format!("SELECT {JOB_COLUMNS} FROM jobs j WHERE 1 = 1"),
        );
        if let Some(state) = filter.state {
            sql.push(" AND j.state = ").text(state.as_str());
        }
        if let Some(item) = &filter.item {
            sql.push(" AND j.item = ").text(item);
        }
        if let Some(check) = &filter.check {
            sql.push(" AND j.check_name = ").text(check);
        }
        if let Some(worker) = &filter.worker {
            sql.push(
                " AND EXISTS (SELECT 1 FROM job_attempts a WHERE a.job_id = j.id AND a.worker = ",
            )
            .text(worker)
            .push(")");
        }
        sql.push(" ORDER BY j.id DESC LIMIT ")
            .int_literal(filter.limit.max(0));
        self.jobs(&sql).await
    }

    /// Run a query of [`JOB_COLUMNS`] and load the attempts of its jobs in
    /// one more query.
    async fn jobs(&self, sql: &Sql) -> Result<Vec<Job>, StoreError> {
        with_pool!(self, read, |pool, dialect| {
            let mut ids = Vec::new();
            let mut at = HashMap::new();
            let mut jobs = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                let (id, job) = job_from_row!(row);
                at.insert(id, jobs.len());
                ids.push(id);
                jobs.push(job);
            }
            if ids.is_empty() {
                return Ok(jobs);
            }
            let mut attempts = Sql::new(
                dialect,
                &format!("SELECT {ATTEMPT_COLUMNS} FROM job_attempts WHERE job_id IN "),
            );
            attempts.int_list(&ids).push(" ORDER BY job_id, attempt");
            for row in query!(attempts).fetch_all(pool).await? {
                let (job_id, attempt) = attempt_from_row!(row);
                if let Some(job) = at.get(&job_id).and_then(|it| jobs.get_mut(*it)) {
                    job.attempts.push(attempt);
                }
            }
            Ok(jobs)
        })
    }
}

/// What [`JobWakeups::next`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// Another transaction made jobs claimable (one or several
    /// notifications, taken together).
    Jobs,
    /// The connection was lost and made again: notifications sent
    /// meanwhile are lost, so look at the queue.
    Reconnected,
}

/// The notifications that jobs became claimable, from every process
/// sharing this PostgreSQL database (and schema). It holds one connection
/// of its own, made again when it is lost.
pub struct JobWakeups {
    listener: sqlx::postgres::PgListener,
    channel: String,
}

impl fmt::Debug for JobWakeups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobWakeups")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl JobWakeups {
    /// The channel listened to.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Wait for the next notification. Notifications that arrived together
    /// are answered as one [`Wakeup::Jobs`].
    ///
    /// # Errors
    ///
    /// The connection was lost and cannot be made again now; the next call
    /// tries again.
    pub async fn next(&mut self) -> Result<Wakeup, StoreError> {
        match self.listener.try_recv().await? {
            Some(_) => {
                while self.listener.next_buffered().is_some() {}
                Ok(Wakeup::Jobs)
            }
            None => Ok(Wakeup::Reconnected),
        }
    }
}

impl Store {
    /// Listen for the notifications that jobs became claimable, sent by
    /// every process that enqueues, plans, re-runs or requeues jobs in this
    /// database. `None` on SQLite, where one process holds the database.
    ///
    /// # Errors
    ///
    /// PostgreSQL cannot be reached.
    pub async fn job_wakeups(&self) -> Result<Option<JobWakeups>, StoreError> {
        let crate::Backend::Postgres(pool) = &self.backend else {
            return Ok(None);
        };
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await?;
        // A connection of its own, with the store's options (schema
        // included), so that listening never takes one from the store.
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with((*pool.connect_options()).clone());
        let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
        listener.ignore_pool_close_event(true);
        let channel = format!("{JOBS_CHANNEL}{schema}");
        listener.listen(&channel).await?;
        tracing::debug!(channel = %channel, "listening for claimable jobs");
        Ok(Some(JobWakeups { listener, channel }))
    }
}
