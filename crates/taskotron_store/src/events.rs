//! The scheduler's events, their planning into jobs, and the pollers'
//! watermarks.
//!
//! Intake writes events with [`Store::record_events`]: a bus message is
//! kept once per message id and an event with a natural key once per key
//! (both unique), so redelivery and a poller finding what a message already
//! said write nothing. The planner reads new events
//! ([`Store::new_events`]) and, in one transaction per batch, inserts their
//! jobs (a key that has a job already makes none) and marks them planned
//! ([`Store::plan_events`]); an event another planner marked first is left
//! alone. Pollers record what they found and advance their watermark in the
//! same transaction ([`Store::record_poll`]).

use std::time::Duration;

use serde_json::Value as Json;
use sqlx::Row;

use crate::jobs::{
    Enqueued, JobKey, KEY_COLUMNS, NewJob, begin, check_new_job, insert_job, key_from_row, micros,
    notify_claimable, now_sql, push_key_match,
};
use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventState {
    /// Waiting for the planner.
    New,
    /// Its jobs are in the queue.
    Planned,
    /// It could not be read (the reason says why).
    Rejected,
    /// Read, but nothing plans from it (a failed build, a compose that
    /// started).
    Ignored,
}

impl EventState {
    /// The state's name in the database and the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::New => "new",
            EventState::Planned => "planned",
            EventState::Rejected => "rejected",
            EventState::Ignored => "ignored",
        }
    }

    /// The state named `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<EventState> {
        Some(match name {
            "new" => EventState::New,
            "planned" => EventState::Planned,
            "rejected" => EventState::Rejected,
            "ignored" => EventState::Ignored,
            _ => return None,
        })
    }

    /// Every state.
    pub const ALL: [EventState; 4] = [
        EventState::New,
        EventState::Planned,
        EventState::Rejected,
        EventState::Ignored,
    ];
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Where it came from: `bus`, `koji`, `bodhi`, `api`.
    pub source: String,
    /// The AMQP message id (bus messages).
    pub message_id: Option<String>,
    /// The key a poller would find it by, when it has one.
    pub natural_key: Option<String>,
    /// The message's topic.
    pub topic: Option<String>,
    /// The message's schema header.
    pub schema: Option<String>,
    /// What the rules see (with `message_type`, `item_type`, `item`,
    /// `item_revision`); `None` for rejected events.
    pub fact: Option<Json>,
    /// The message body or poller record as received, for people to read.
    pub body: Option<String>,
    /// `New`, `Rejected` or `Ignored`.
    pub state: EventState,
    /// Why it was rejected or ignored.
    pub reason: Option<String>,
}

/// What recording one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A new event, with its uuid.
    Inserted(String),
    /// Its message id or natural key was recorded before: nothing written.
    Duplicate,
}

/// An event waiting for the planner.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    /// Its row id, for [`Store::plan_events`].
    pub id: i64,
    /// Its uuid.
    pub uuid: String,
    /// What the rules see.
    pub fact: Json,
    /// When it was received (µs since the epoch).
    pub received_at: i64,
}

/// One job the planner asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanJob {
    /// The job (its key's `rerun` is ignored: see `rerun`).
    pub job: NewJob,
    /// Fold into a queued, not yet due job of the same check, item type,
    /// item and arch (whatever its item revision) by pushing its start to
    /// this long from now; without one, insert with this delay.
    pub debounce: Option<Duration>,
    /// Ask for the key again: when it has a job already, insert the next
    /// re-run of it (a re-trigger request).
    pub rerun: bool,
    /// Where the formula comes from, for a discovered task (see
    /// [`crate::jobs::Job::source`]).
    pub source: Option<String>,
}

/// What planning one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    /// Jobs inserted, with their uuids.
    pub inserted: Vec<(JobKey, String)>,
    /// Jobs whose key had a job already.
    pub existing: Vec<(JobKey, String)>,
    /// Jobs folded into a waiting job by a debounce.
    pub debounced: Vec<(JobKey, String)>,
}

/// An event as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its uuid.
    pub uuid: String,
    /// `bus`, `koji`, `bodhi`, `api`.
    pub source: String,
    /// The AMQP message id.
    pub message_id: Option<String>,
    /// The poller's key.
    pub natural_key: Option<String>,
    /// The topic.
    pub topic: Option<String>,
    /// The schema header.
    pub schema: Option<String>,
    /// The fact's `message_type`.
    pub message_type: Option<String>,
    /// The fact's `item_type`.
    pub item_type: Option<String>,
    /// The fact's `item`.
    pub item: Option<String>,
    /// The fact's `item_revision`.
    pub item_revision: Option<String>,
    /// Where it stands.
    pub state: EventState,
    /// Why it was rejected or ignored, or planning notes.
    pub reason: Option<String>,
    /// How many jobs it asked for.
    pub job_count: i64,
    /// When it was received (µs).
    pub received_at: i64,
    /// When it was planned (µs).
    pub planned_at: Option<i64>,
    /// What the rules saw (only from [`Store::get_event`]).
    pub fact: Option<Json>,
    /// The body as received (only from [`Store::get_event`]).
    pub body: Option<String>,
    /// The jobs it asked for: uuid and how (only from [`Store::get_event`]).
    pub jobs: Vec<(String, String)>,
}

/// Which events to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only in this state.
    pub state: Option<EventState>,
    /// Only from this source.
    pub source: Option<String>,
    /// Only with this topic.
    pub topic: Option<String>,
    /// Only about this item.
    pub item: Option<String>,
    /// Only with this message type.
    pub message_type: Option<String>,
    /// Only older than the event with this uuid (paging).
    pub before: Option<String>,
    /// At most this many (1 to 1000; default 100).
    pub limit: Option<u32>,
}

/// A poller's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The poller's name (`koji.builds`, `bodhi.submitted`, …).
    pub name: String,
    /// How far it has read, as text (a time or a Koji event id).
    pub value: Option<String>,
    /// When the value last changed (µs).
    pub updated_at: i64,
    /// When it last ran (µs).
    pub last_run_at: Option<i64>,
    /// When it last ran without error (µs).
    pub last_ok_at: Option<i64>,
    /// The last error, cleared by a good run.
    pub last_error: Option<String>,
    /// How many times it ran.
    pub runs: i64,
    /// How many of those failed.
    pub failures: i64,
    /// How many new events it found in all.
    pub found: i64,
}

const EVENT_COLUMNS: &str = "e.id, e.uuid, e.source, e.message_id, e.natural_key, e.topic, \
     e.schema_name, e.message_type, e.item_type, e.item, e.item_revision, e.state, e.reason, \
     e.job_count, e.received_at, e.planned_at";

fn decode_event_state(name: &str) -> Result<EventState, sqlx::Error> {
    EventState::parse(name)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown event state {name:?}").into()))
}

macro_rules! event_from_row {
    ($row:expr) => {{
        let row = &$row;
        let state: String = row.try_get(11)?;
        Event {
            uuid: row.try_get(1)?,
            source: row.try_get(2)?,
            message_id: row.try_get(3)?,
            natural_key: row.try_get(4)?,
            topic: row.try_get(5)?,
            schema: row.try_get(6)?,
            message_type: row.try_get(7)?,
            item_type: row.try_get(8)?,
            item: row.try_get(9)?,
            item_revision: row.try_get(10)?,
            state: decode_event_state(&state)?,
            reason: row.try_get(12)?,
            job_count: row.try_get(13)?,
            received_at: row.try_get(14)?,
            planned_at: row.try_get(15)?,
            fact: None,
            body: None,
            jobs: Vec::new(),
        }
    }};
}

/// Rows per multi-row `INSERT` (each row binds at most 16 values; both
/// databases take far more than 16 × this).
const ROWS_PER_INSERT: usize = 500;

/// What the planner made of an event: its jobs and planning notes.
pub type EventPlan = (Vec<PlanJob>, Option<String>);

/// Insert `$events` in `$tx` with multi-row `INSERT`s. `$plans` is empty,
/// or holds one entry per event: an event with a plan is inserted planned
/// (its job count and notes set; the caller inserts its jobs). Evaluates
/// to one [`Recorded`] per event, in order, and the row ids of the
/// inserted ones by uuid.
macro_rules! insert_events {
    ($tx:expr, $dialect:expr, $events:expr, $plans:expr) => {{
        let events: &[NewEvent] = $events;
        let plans: &[Option<EventPlan>] = $plans;
        let dialect = $dialect;
        let now = now_sql(dialect);
        let mut out: Vec<Recorded> = Vec::with_capacity(events.len());
        let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        // PostgreSQL takes a batch as one JSON parameter (one statement
        // text, prepared once); SQLite takes multi-row VALUES.
        let rows_per_insert = match dialect {
            Dialect::Postgres => ROWS_PER_INSERT * 4,
            Dialect::Sqlite => ROWS_PER_INSERT,
        };
        for (number, chunk) in events.chunks(rows_per_insert).enumerate() {
            let first = number * rows_per_insert;
            let uuids: Vec<String> = chunk
                .iter()
                .map(|_| uuid::Uuid::new_v4().to_string())
                .collect();
            let mut rows: Vec<Json> = Vec::new();
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO events (uuid, source, message_id, natural_key, topic, schema_name, \
                 message_type, item_type, item, item_revision, fact, body, state, reason, \
                 job_count, planned_at, received_at) ",
            );
            if dialect == Dialect::Sqlite {
                sql.push("VALUES ");
            }
            for (idx, (event, uuid)) in chunk.iter().zip(&uuids).enumerate() {
                let field = |name: &str| {
                    event
                        .fact
                        .as_ref()
                        .and_then(|it| it.get(name))
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                };
                let item = field("item");
                let plan = plans.get(first + idx).and_then(Option::as_ref);
                let (state, reason, job_count) = match plan {
                    Some((jobs, notes)) => (
                        EventState::Planned,
                        notes.as_deref(),
                        i64::try_from(jobs.len()).unwrap_or(i64::MAX),
                    ),
                    None => (event.state, event.reason.as_deref(), 0),
                };
                if dialect == Dialect::Postgres {
                    rows.push(serde_json::json!({
                        "u": uuid, "so": event.source, "mi": event.message_id,
                        "nk": event.natural_key, "tp": event.topic, "sc": event.schema,
                        "mt": field("message_type"), "it": field("item_type"),
                        "i": item, "ir": field("item_revision").or(item.clone()),
                        "f": event.fact.as_ref().map(Json::to_string),
                        "b": event.body, "st": state.as_str(), "r": reason,
                        "jc": job_count, "pl": plan.is_some(),
                    }));
                    continue;
                }
                if idx > 0 {
                    sql.push(", ");
                }
                sql.push("(").text(uuid).push(", ").text(&event.source);
                sql.push(", ").opt_text(event.message_id.as_deref());
                sql.push(", ").opt_text(event.natural_key.as_deref());
                sql.push(", ").opt_text(event.topic.as_deref());
                sql.push(", ").opt_text(event.schema.as_deref());
                sql.push(", ").opt_text(field("message_type").as_deref());
                sql.push(", ").opt_text(field("item_type").as_deref());
                sql.push(", ").opt_text(item.as_deref());
                sql.push(", ")
                    .opt_text(field("item_revision").or_else(|| item.clone()).as_deref());
                sql.push(", ")
                    .opt_text(event.fact.as_ref().map(Json::to_string).as_deref());
                sql.push(", ").opt_text(event.body.as_deref());
                sql.push(", ").text(state.as_str());
                sql.push(", ").opt_text(reason);
                sql.push(", ").int(job_count);
                if plan.is_some() {
                    sql.push(&format!(", {now}"));
                } else {
                    sql.push(", NULL");
                }
                sql.push(&format!(", {now})"));
            }
            if dialect == Dialect::Postgres {
                sql.push(&format!(
                    "SELECT r.u, r.so, r.mi, r.nk, r.tp, r.sc, r.mt, r.it, r.i, r.ir, r.f, r.b, \
                     r.st, r.r, r.jc, CASE WHEN r.pl THEN {now} END, {now} FROM jsonb_to_recordset("
                ));
                sql.text(&Json::Array(rows).to_string());
                sql.push(
                    "::jsonb) AS r(u text, so text, mi text, nk text, tp text, sc text, mt text, \
                     it text, i text, ir text, f text, b text, st text, r text, jc bigint, \
                     pl boolean)",
                );
            }
            sql.push(" ON CONFLICT DO NOTHING RETURNING id, uuid");
            for row in query!(sql).fetch_all(&mut *$tx).await? {
                ids.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
            }
            for uuid in uuids {
                out.push(if ids.contains_key(&uuid) {
                    Recorded::Inserted(uuid)
                } else {
                    Recorded::Duplicate
                });
            }
        }
        (out, ids)
    }};
}

/// The highest re-run number the key (whatever its `rerun`) has a job
/// with in `$tx`, `None` when it has none; evaluates to `Option<i64>`.
macro_rules! max_rerun {
    ($tx:expr, $dialect:expr, $key:expr) => {{
        let mut key: JobKey = $key.clone();
        key.rerun = 0;
        let mut sql = Sql::new($dialect, "SELECT MAX(j.rerun) FROM jobs j WHERE");
        push_key_match(&mut sql, &key);
        sql.text = sql.text.replace(" AND j.rerun = ", " AND j.rerun >= ");
        let max: Option<i64> = query!(sql).fetch_one(&mut *$tx).await?.try_get(0)?;
        max
    }};
}

/// Insert the jobs of `$batch` (event id, its jobs, notes) in `$tx` for
/// the events whose entry in `$out` is `Some`, filling those entries in:
/// plain jobs with multi-row inserts, re-runs and debounced jobs one by
/// one, then the event-to-job links, and a wake-up for waiting workers.
macro_rules! plan_jobs {
    ($tx:expr, $dialect:expr, $batch:expr, $out:expr) => {{
        let batch: &[(i64, Vec<PlanJob>, Option<String>)] = $batch;
        let out: &mut Vec<Option<Planned>> = &mut $out;
        let dialect = $dialect;
        let now = now_sql(dialect);
        // (event index, job, how) for event_jobs.
        let mut links: Vec<(i64, i64, &'static str)> = Vec::new();
        // Plain jobs: multi-row inserts; a key that has a job already
        // (or that an earlier row of the batch took) is looked up after.
        let mut plain: Vec<(usize, &PlanJob)> = batch
            .iter()
            .enumerate()
            .filter(|(idx, _)| out[*idx].is_some())
            .flat_map(|(idx, (_, jobs, _))| {
                jobs.iter()
                    .filter(|it| !it.rerun && it.debounce.is_none())
                    .map(move |job| (idx, job))
            })
            .collect();
        // In key order, so that transactions inserting the same keys take
        // their locks in the same order and never deadlock each other.
        plain.sort_by(|a, b| a.1.job.key.cmp(&b.1.job.key));
        // PostgreSQL takes a whole batch as one JSON parameter, so the
        // statement's text never changes and stays prepared; SQLite
        // takes multi-row VALUES.
        let rows_per_insert = match dialect {
            Dialect::Postgres => ROWS_PER_INSERT * 8,
            Dialect::Sqlite => ROWS_PER_INSERT / 2,
        };
        for chunk in plain.chunks(rows_per_insert) {
            let uuids: Vec<String> = chunk
                .iter()
                .map(|_| uuid::Uuid::new_v4().to_string())
                .collect();
            let mut sql = Sql::new(dialect, "INSERT INTO jobs (uuid, ");
            sql.push(KEY_COLUMNS);
            sql.push(
                ", state, priority, not_before, req_arch, req_sandbox, req_labels, \
                 max_attempts, source, created_at, updated_at) VALUES ",
            );
            let mut labels_of: Vec<Vec<String>> = Vec::with_capacity(chunk.len());
            let mut json_rows: Vec<Json> = Vec::new();
            for (row, ((_, plan), uuid)) in chunk.iter().zip(&uuids).enumerate() {
                if dialect == Dialect::Postgres {
                    let job = &plan.job;
                    let key = &job.key;
                    let mut labels = job.requires.labels.clone();
                    labels.sort();
                    labels.dedup();
                    json_rows.push(serde_json::json!({
                        "uuid": uuid, "c": key.check, "cr": key.check_revision,
                        "t": key.item_type, "i": key.item, "ir": key.item_revision,
                        "a": key.arch, "p": job.priority, "d": micros(job.delay),
                        "ra": job.requires.arch, "rs": job.requires.sandbox,
                        "rl": labels.join(" "), "m": i64::from(job.max_attempts),
                        "s": plan.source,
                    }));
                    labels_of.push(labels);
                    continue;
                }
                let job = &plan.job;
                let key = &job.key;
                let mut labels = job.requires.labels.clone();
                labels.sort();
                labels.dedup();
                if row > 0 {
                    sql.push(", ");
                }
                sql.push("(").text(uuid).push(", ").text(&key.check);
                sql.push(", ").text(&key.check_revision);
                sql.push(", ").text(&key.item_type);
                sql.push(", ").text(&key.item);
                sql.push(", ").text(&key.item_revision);
                sql.push(", ").text(&key.arch);
                sql.push(", ").int(0);
                sql.push(", 'queued', ").int(job.priority);
                sql.push(&format!(", {now} + ")).int(micros(job.delay));
                sql.push(", ").opt_text(job.requires.arch.as_deref());
                sql.push(", ").opt_text(job.requires.sandbox.as_deref());
                sql.push(", ").text(&labels.join(" "));
                sql.push(", ").int(i64::from(job.max_attempts));
                sql.push(", ").opt_text(plan.source.as_deref());
                sql.push(&format!(", {now}, {now})"));
                labels_of.push(labels);
            }
            if dialect == Dialect::Postgres {
                sql = Sql::new(dialect, "INSERT INTO jobs (uuid, ");
                sql.push(KEY_COLUMNS);
                sql.push(&format!(
                    ", state, priority, not_before, req_arch, req_sandbox, req_labels, \
                     max_attempts, source, created_at, updated_at) \
                     SELECT r.uuid, r.c, r.cr, r.t, r.i, r.ir, r.a, 0, 'queued', r.p, {now} + r.d, \
                     r.ra, r.rs, r.rl, r.m, r.s, {now}, {now} FROM jsonb_to_recordset("
                ));
                sql.text(&Json::Array(json_rows).to_string());
                sql.push(
                    "::jsonb) AS r(uuid text, c text, cr text, t text, i text, ir text, a text, \
                     p bigint, d bigint, ra text, rs text, rl text, m bigint, s text)",
                );
            }
            sql.push(" ON CONFLICT (");
            sql.push(KEY_COLUMNS);
            sql.push(") DO NOTHING RETURNING id, uuid");
            let mut inserted: std::collections::HashMap<String, i64> =
                std::collections::HashMap::new();
            for row in query!(sql).fetch_all(&mut *$tx).await? {
                inserted.insert(row.try_get(1)?, row.try_get(0)?);
            }
            let mut label_rows: Vec<(i64, &str)> = Vec::new();
            let mut missing: Vec<usize> = Vec::new();
            for (row, uuid) in uuids.iter().enumerate() {
                let (idx, plan) = chunk[row];
                match inserted.get(uuid) {
                    Some(id) => {
                        if let Some(planned) = out[idx].as_mut() {
                            planned.inserted.push((plan.job.key.clone(), uuid.clone()));
                        }
                        links.push((batch[idx].0, *id, "inserted"));
                        label_rows.extend(labels_of[row].iter().map(|it| (*id, it.as_str())));
                    }
                    None => missing.push(row),
                }
            }
            if !missing.is_empty() {
                let mut sql = Sql::new(dialect, "SELECT j.id, j.uuid, ");
                sql.push(
                    &KEY_COLUMNS
                        .split(", ")
                        .map(|it| format!("j.{it}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                sql.push(" FROM jobs j WHERE (");
                sql.push(
                    &KEY_COLUMNS
                        .split(", ")
                        .map(|it| format!("j.{it}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                sql.push(") IN (VALUES ");
                for (n, row) in missing.iter().enumerate() {
                    let key = &chunk[*row].1.job.key;
                    if n > 0 {
                        sql.push(", ");
                    }
                    sql.push("(").text(&key.check);
                    sql.push(", ").text(&key.check_revision);
                    sql.push(", ").text(&key.item_type);
                    sql.push(", ").text(&key.item);
                    sql.push(", ").text(&key.item_revision);
                    sql.push(", ").text(&key.arch);
                    sql.push(", ").int(0).push(")");
                }
                sql.push(")");
                let mut found: std::collections::HashMap<JobKey, (i64, String)> =
                    std::collections::HashMap::new();
                for row in query!(sql).fetch_all(&mut *$tx).await? {
                    let key = key_from_row!(row, 2);
                    found.insert(key, (row.try_get(0)?, row.try_get(1)?));
                }
                for row in missing {
                    let (idx, plan) = chunk[row];
                    let mut key = plan.job.key.clone();
                    key.rerun = 0;
                    let (id, uuid) = found.get(&key).cloned().ok_or_else(|| {
                        StoreError::Write(format!("job {key} vanished while it was planned"))
                    })?;
                    if let Some(planned) = out[idx].as_mut() {
                        planned.existing.push((key, uuid));
                    }
                    links.push((batch[idx].0, id, "existing"));
                }
            }
            for rows in label_rows.chunks(ROWS_PER_INSERT) {
                let mut sql =
                    Sql::new(dialect, "INSERT INTO job_labels (job_id, label) VALUES ");
                for (n, (id, label)) in rows.iter().enumerate() {
                    if n > 0 {
                        sql.push(", ");
                    }
                    sql.push("(").int(*id).push(", ").text(label).push(")");
                }
                query!(sql).execute(&mut *$tx).await?;
            }
        }
        // Re-runs and debounced jobs, one by one.
        for (idx, (_, jobs, _)) in batch.iter().enumerate() {
            let Some(event_id) = out[idx].as_ref().map(|_| batch[idx].0) else {
                continue;
            };
            for plan in jobs.iter().filter(|it| it.rerun || it.debounce.is_some()) {
                let job = &plan.job;
                let mut key = job.key.clone();
                key.rerun = 0;
                let mut how = "inserted";
                let mut folded = None;
                if plan.rerun {
                    if let Some(max) = max_rerun!($tx, dialect, key) {
                        key.rerun = u32::try_from(max + 1).unwrap_or(u32::MAX);
                        how = "rerun";
                    }
                } else if let Some(delay) = plan.debounce {
                    let mut sql = Sql::new(
                        dialect,
                        "SELECT j.id, j.uuid FROM jobs j WHERE j.check_name = ",
                    );
                    sql.text(&key.check);
                    sql.push(" AND j.check_revision = ")
                        .text(&key.check_revision);
                    sql.push(" AND j.item_type = ").text(&key.item_type);
                    sql.push(" AND j.item = ").text(&key.item);
                    sql.push(" AND j.arch = ").text(&key.arch);
                    sql.push(&format!(
                        " AND j.state = 'queued' AND j.not_before > {now} ORDER BY j.id DESC LIMIT 1"
                    ));
                    if let Some(row) = query!(sql).fetch_optional(&mut *$tx).await? {
                        let id: i64 = row.try_get(0)?;
                        let uuid: String = row.try_get(1)?;
                        let mut sql = Sql::new(
                            dialect,
                            &format!(
                                "UPDATE jobs SET updated_at = {now}, not_before = CASE WHEN not_before > {now} + "
                            ),
                        );
                        sql.int(micros(delay));
                        sql.push(&format!(" THEN not_before ELSE {now} + "));
                        sql.int(micros(delay));
                        sql.push(" END WHERE id = ").int(id);
                        query!(sql).execute(&mut *$tx).await?;
                        folded = Some((id, uuid));
                    }
                }
                let Some(planned) = out[idx].as_mut() else {
                    continue;
                };
                let (job_id, how) = if let Some((id, uuid)) = folded {
                    planned.debounced.push((key.clone(), uuid));
                    (id, "debounced")
                } else {
                    let mut job = job.clone();
                    if let Some(delay) = plan.debounce.filter(|_| how != "rerun") {
                        job.delay = job.delay.max(delay);
                    }
                    let (id, enqueued) = insert_job!(
                        $tx,
                        dialect,
                        &job,
                        i64::from(key.rerun),
                        plan.source.as_deref()
                    );
                    match enqueued {
                        Enqueued::Inserted(uuid) => {
                            planned.inserted.push((key.clone(), uuid));
                            (id, how)
                        }
                        Enqueued::Existing(uuid) => {
                            planned.existing.push((key.clone(), uuid));
                            (id, "existing")
                        }
                    }
                };
                links.push((event_id, job_id, how));
            }
        }
        if dialect == Dialect::Postgres && !links.is_empty() {
            let rows: Vec<Json> = links
                .iter()
                .map(|(event, job, how)| serde_json::json!({"e": event, "j": job, "h": how}))
                .collect();
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO event_jobs (event_id, job_id, how) SELECT r.e, r.j, r.h \
                 FROM jsonb_to_recordset(",
            );
            sql.text(&Json::Array(rows).to_string());
            sql.push("::jsonb) AS r(e bigint, j bigint, h text) ON CONFLICT DO NOTHING");
            query!(sql).execute(&mut *$tx).await?;
            links.clear();
        }
        for rows in links.chunks(ROWS_PER_INSERT) {
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO event_jobs (event_id, job_id, how) VALUES ",
            );
            for (n, (event_id, job_id, how)) in rows.iter().enumerate() {
                if n > 0 {
                    sql.push(", ");
                }
                sql.push("(").int(*event_id).push(", ").int(*job_id);
                sql.push(", ").text(how).push(")");
            }
            sql.push(" ON CONFLICT DO NOTHING");
            query!(sql).execute(&mut *$tx).await?;
        }
        if out.iter().flatten().any(|it| !it.inserted.is_empty()) {
            notify_claimable!($tx, dialect);
        }
    }};
}

fn check_event(event: &NewEvent) -> Result<(), StoreError> {
    let problem = match (event.state, &event.fact) {
        (EventState::Planned, _) => Some("a new event cannot be planned already"),
        (EventState::New, None) => Some("a new event needs a fact for the planner"),
        (_, Some(fact)) if !fact.is_object() => Some("an event's fact must be a JSON object"),
        _ => None,
    };
    match problem {
        Some(reason) => Err(StoreError::InvalidEvent(reason)),
        None => Ok(()),
    }
}

impl Store {
    /// Record `events` in one transaction, skipping any whose message id or
    /// natural key was recorded before.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidEvent`] for a malformed event (nothing of the
    /// batch is written), or a database error.
    pub async fn record_events(&self, events: &[NewEvent]) -> Result<Vec<Recorded>, StoreError> {
        self.record_poll(events, None).await
    }

    /// Record what a poller found and, in the same transaction, set its
    /// watermark to `watermark` (name, value) and count a good run.
    ///
    /// # Errors
    ///
    /// As [`Store::record_events`].
    pub async fn record_poll(
        &self,
        events: &[NewEvent],
        watermark: Option<(&str, &str)>,
    ) -> Result<Vec<Recorded>, StoreError> {
        for event in events {
            check_event(event)?;
        }
        let out: Vec<Recorded>;
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            out = insert_events!(tx, dialect, events, &[]).0;
            if let Some((name, value)) = watermark {
                let found = out
                    .iter()
                    .filter(|it| matches!(it, Recorded::Inserted(_)))
                    .count();
                let now = now_sql(dialect);
                let mut sql = Sql::new(
                    dialect,
                    "INSERT INTO watermarks (name, value, updated_at, last_run_at, last_ok_at, \
                     runs, found) VALUES (",
                );
                sql.text(name).push(", ").text(value);
                sql.push(&format!(", {now}, {now}, {now}, 1, "));
                sql.int(i64::try_from(found).unwrap_or(i64::MAX));
                sql.push(&format!(
                    ") ON CONFLICT (name) DO UPDATE SET \
                     updated_at = CASE WHEN watermarks.value IS DISTINCT FROM excluded.value \
                     THEN {now} ELSE watermarks.updated_at END, value = excluded.value, \
                     last_run_at = {now}, last_ok_at = {now}, last_error = NULL, \
                     runs = watermarks.runs + 1, found = watermarks.found + excluded.found"
                ));
                if dialect == Dialect::Sqlite {
                    sql.text = sql.text.replace("IS DISTINCT FROM", "IS NOT");
                }
                query!(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Record `events` and plan the ones with a plan in the same
    /// transaction: `plans` holds one entry per event, and an event with
    /// one is inserted planned, with its jobs, as [`Store::plan_events`]
    /// would plan it later; the others are recorded as
    /// [`Store::record_events`] does. A duplicate (its message id or natural
    /// key was recorded before) writes nothing and plans nothing. Planning
    /// on arrival spares the planner a second write of every event.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidEvent`] or [`StoreError::InvalidJob`] for a
    /// malformed event or job (nothing is written), or a database error.
    pub async fn record_and_plan(
        &self,
        events: &[NewEvent],
        plans: &[Option<EventPlan>],
    ) -> Result<(Vec<Recorded>, Vec<Option<Planned>>), StoreError> {
        if plans.len() != events.len() {
            return Err(StoreError::Write(format!(
                "{} plans for {} events",
                plans.len(),
                events.len()
            )));
        }
        for (event, plan) in events.iter().zip(plans) {
            check_event(event)?;
            if let Some((jobs, _)) = plan {
                if event.state != EventState::New {
                    return Err(StoreError::InvalidEvent(
                        "only a new event can be planned on arrival",
                    ));
                }
                for job in jobs {
                    check_new_job(&job.job)?;
                }
            }
        }
        let recorded: Vec<Recorded>;
        let mut planned: Vec<Option<Planned>> = vec![None; events.len()];
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let (out, ids) = insert_events!(tx, dialect, events, plans);
            // The inserted events with a plan, in the planner's shape.
            let mut batch: Vec<(i64, Vec<PlanJob>, Option<String>)> = Vec::new();
            let mut at: Vec<usize> = Vec::new();
            for (idx, (outcome, plan)) in out.iter().zip(plans).enumerate() {
                if let (Recorded::Inserted(uuid), Some((jobs, notes))) = (outcome, plan)
                    && let Some(id) = ids.get(uuid)
                {
                    batch.push((*id, jobs.clone(), notes.clone()));
                    at.push(idx);
                }
            }
            if !batch.is_empty() {
                let mut done: Vec<Option<Planned>> = vec![Some(Planned::default()); batch.len()];
                plan_jobs!(tx, dialect, &batch, done);
                for (idx, outcome) in at.into_iter().zip(done) {
                    planned[idx] = outcome;
                }
            }
            tx.commit().await?;
            recorded = out;
        });
        Ok((recorded, planned))
    }

    /// Count a failed poller run, keeping its watermark.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn record_poll_failure(&self, name: &str, error: &str) -> Result<(), StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let now = now_sql(dialect);
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO watermarks (name, value, updated_at, last_run_at, last_error, runs, \
                 failures) VALUES (",
            );
            sql.text(name);
            sql.push(&format!(", NULL, {now}, {now}, "));
            sql.text(error);
            sql.push(&format!(
                ", 1, 1) ON CONFLICT (name) DO UPDATE SET last_run_at = {now}, \
                 last_error = excluded.last_error, runs = watermarks.runs + 1, \
                 failures = watermarks.failures + 1"
            ));
            query!(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// One poller's watermark.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn watermark(&self, name: &str) -> Result<Option<Watermark>, StoreError> {
        Ok(self
            .watermarks()
            .await?
            .into_iter()
            .find(|it| it.name == name))
    }

    /// Every poller's watermark, by name.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let sql = Sql::new(
                dialect,
                "SELECT name, value, updated_at, last_run_at, last_ok_at, last_error, runs, \
                 failures, found FROM watermarks ORDER BY name",
            );
            for row in query!(sql).fetch_all(pool).await? {
                out.push(Watermark {
                    name: row.try_get(0)?,
                    value: row.try_get(1)?,
                    updated_at: row.try_get(2)?,
                    last_run_at: row.try_get(3)?,
                    last_ok_at: row.try_get(4)?,
                    last_error: row.try_get(5)?,
                    runs: row.try_get(6)?,
                    failures: row.try_get(7)?,
                    found: row.try_get(8)?,
                });
            }
        });
        Ok(out)
    }

    /// Up to `limit` events waiting for the planner, oldest first.
    ///
    /// # Errors
    ///
    /// A database error, or a stored fact that is not JSON.
    pub async fn new_events(&self, limit: u32) -> Result<Vec<PendingEvent>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let mut sql = Sql::new(
                dialect,
                "SELECT id, uuid, fact, received_at FROM events WHERE state = 'new' \
                 ORDER BY id LIMIT ",
            );
            sql.int_literal(i64::from(limit.clamp(1, 10_000)));
            for row in query!(sql).fetch_all(pool).await? {
                let fact: Option<String> = row.try_get(2)?;
                let fact = serde_json::from_str(fact.as_deref().unwrap_or("null"))
                    .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
                out.push(PendingEvent {
                    id: row.try_get(0)?,
                    uuid: row.try_get(1)?,
                    fact,
                    received_at: row.try_get(3)?,
                });
            }
        });
        Ok(out)
    }

    /// Plan a batch of events in one transaction: for each (event id, its
    /// jobs, notes), insert the jobs and mark the event planned with the
    /// notes as its reason. An event that is no longer new (another planner
    /// took it) is skipped and answers `None`.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidJob`] for a malformed job (nothing written), or
    /// a database error.
    pub async fn plan_events(
        &self,
        batch: &[(i64, Vec<PlanJob>, Option<String>)],
    ) -> Result<Vec<Option<Planned>>, StoreError> {
        for (_, jobs, _) in batch {
            for job in jobs {
                check_new_job(&job.job)?;
            }
        }
        let mut out: Vec<Option<Planned>>;
        with_pool!(self, write, |pool, dialect| {
            let now = now_sql(dialect);
            let mut tx = begin!(pool, dialect);
            // Take the events still new, with their job counts: one
            // statement per distinct count (usually one or two), and one
            // per event with notes.
            let mut owned = std::collections::HashSet::new();
            let mut by_count: std::collections::BTreeMap<i64, Vec<i64>> =
                std::collections::BTreeMap::new();
            for (id, jobs, notes) in batch {
                let count = i64::try_from(jobs.len()).unwrap_or(i64::MAX);
                if let Some(notes) = notes {
                    let mut sql = Sql::new(
                        dialect,
                        &format!(
                            "UPDATE events SET state = 'planned', planned_at = {now}, job_count = "
                        ),
                    );
                    sql.int(count).push(", reason = ").text(notes);
                    sql.push(" WHERE state = 'new' AND id = ").int(*id);
                    if query!(sql).execute(&mut *tx).await?.rows_affected() > 0 {
                        owned.insert(*id);
                    }
                } else {
                    by_count.entry(count).or_default().push(*id);
                }
            }
            for (count, ids) in &by_count {
                for chunk in ids.chunks(ROWS_PER_INSERT * 2) {
                    let mut sql = Sql::new(
                        dialect,
                        &format!(
                            "UPDATE events SET state = 'planned', planned_at = {now}, job_count = "
                        ),
                    );
                    sql.int(*count);
                    if dialect == Dialect::Postgres {
                        sql.push(
                            " WHERE state = 'new' AND id IN \
                             (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(",
                        );
                        sql.text(&Json::from(chunk.to_vec()).to_string());
                        sql.push("::jsonb))");
                    } else {
                        sql.push(" WHERE state = 'new' AND id IN ").int_list(chunk);
                    }
                    sql.push(" RETURNING id");
                    for row in query!(sql).fetch_all(&mut *tx).await? {
                        owned.insert(row.try_get::<i64, _>(0)?);
                    }
                }
            }
            out = batch
                .iter()
                .map(|(id, _, _)| owned.contains(id).then(Planned::default))
                .collect();
            plan_jobs!(tx, dialect, batch, out);
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Events matching `filter`, newest first.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let mut sql = Sql::new(dialect, "SELECT ");
            sql.push(EVENT_COLUMNS).push(" FROM events e WHERE 1 = 1");
            if let Some(state) = filter.state {
                sql.push(" AND e.state = ").text(state.as_str());
            }
            if let Some(source) = &filter.source {
                sql.push(" AND e.source = ").text(source);
            }
            if let Some(topic) = &filter.topic {
                sql.push(" AND e.topic = ").text(topic);
            }
            if let Some(item) = &filter.item {
                sql.push(" AND e.item = ").text(item);
            }
            if let Some(message_type) = &filter.message_type {
                sql.push(" AND e.message_type = ").text(message_type);
            }
            if let Some(before) = &filter.before {
                sql.push(" AND e.id < (SELECT b.id FROM events b WHERE b.uuid = ")
                    .text(before)
                    .push(")");
            }
            sql.push(" ORDER BY e.id DESC LIMIT ");
            sql.int_literal(i64::from(filter.limit.unwrap_or(100).clamp(1, 1000)));
            for row in query!(sql).fetch_all(pool).await? {
                out.push(event_from_row!(row));
            }
        });
        Ok(out)
    }

    /// One event with its fact, body and jobs.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn get_event(&self, uuid: &str) -> Result<Option<Event>, StoreError> {
        with_pool!(self, read, |pool, dialect| {
            let mut sql = Sql::new(dialect, "SELECT ");
            sql.push(EVENT_COLUMNS)
                .push(", e.fact, e.body FROM events e WHERE e.uuid = ")
                .text(uuid);
            let Some(row) = query!(sql).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let id: i64 = row.try_get(0)?;
            let mut event = event_from_row!(row);
            let fact: Option<String> = row.try_get(16)?;
            event.fact = fact.and_then(|it| serde_json::from_str(&it).ok());
            event.body = row.try_get(17)?;
            let mut sql = Sql::new(
                dialect,
                "SELECT j.uuid, ej.how FROM event_jobs ej JOIN jobs j ON j.id = ej.job_id \
                 WHERE ej.event_id = ",
            );
            sql.int(id).push(" ORDER BY j.id");
            for row in query!(sql).fetch_all(pool).await? {
                event.jobs.push((row.try_get(0)?, row.try_get(1)?));
            }
            Ok(Some(event))
        })
    }

    /// How many events are in each state.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn event_counts(&self) -> Result<Vec<(EventState, i64)>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let sql = Sql::new(dialect, "SELECT state, COUNT(*) FROM events GROUP BY state");
            for row in query!(sql).fetch_all(pool).await? {
                let state: String = row.try_get(0)?;
                out.push((decode_event_state(&state)?, row.try_get(1)?));
            }
        });
        Ok(out)
    }

    /// Ask for job `uuid` again: a new job with the same key and the next
    /// re-run number, the same requirements and priority. `None` when there
    /// is no such job.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn rerun_job(&self, uuid: &str) -> Result<Option<(JobKey, String)>, StoreError> {
        let Some(job) = self.get_job(uuid).await? else {
            return Ok(None);
        };
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            let mut key = job.key.clone();
            key.rerun = 0;
            let max = max_rerun!(tx, dialect, key);
            key.rerun = u32::try_from(max.unwrap_or(0) + 1).unwrap_or(u32::MAX);
            let new = NewJob {
                key: key.clone(),
                priority: job.priority,
                delay: Duration::ZERO,
                requires: job.requires.clone(),
                max_attempts: u32::try_from(job.max_attempts).unwrap_or(1).max(1),
            };
            let (_, enqueued) = insert_job!(
                tx,
                dialect,
                &new,
                i64::from(key.rerun),
                job.source.as_deref()
            );
            if matches!(enqueued, Enqueued::Inserted(_)) {
                notify_claimable!(tx, dialect);
            }
            tx.commit().await?;
            Ok(Some((key, enqueued.uuid().to_owned())))
        })
    }
}
