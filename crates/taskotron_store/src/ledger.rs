//! The expected-results ledger's placeholders: while a job waits or runs,
//! the result store shows a QUEUED or RUNNING result for it.
//!
//! A placeholder's `submit_time` is when the job entered that state (queued
//! or requeued, or its attempt started), never when the placeholder was
//! written, so a job's final result, submitted later, is always the newer
//! one and replaces it in "latest" queries, even when the writer is late.

use sqlx::Row;

use crate::jobs::{JobKey, begin, key_from_row};
use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// A QUEUED or RUNNING result a job needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The job's row id, for [`Store::mark_placeholders`].
    pub job_id: i64,
    /// The job's uuid (the result's group).
    pub uuid: String,
    /// What the job checks.
    pub key: JobKey,
    /// `QUEUED` or `RUNNING`.
    pub outcome: &'static str,
    /// The attempt running (0 while queued before any attempt).
    pub attempt: i64,
    /// The worker running it.
    pub worker: Option<String>,
    /// When the job entered this state (µs): its result's `submit_time`.
    pub since: i64,
    /// What [`Store::mark_placeholders`] records once it is written.
    pub mark: String,
}

impl Store {
    /// Up to `limit` queued or running jobs whose placeholder result is not
    /// written yet for their current state, oldest first.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn pending_placeholders(&self, limit: u32) -> Result<Vec<Placeholder>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let mut sql = Sql::new(
                dialect,
                "SELECT j.id, j.uuid, j.check_name, j.check_revision, j.item_type, j.item, \
                 j.item_revision, j.arch, j.rerun, j.state, j.attempts, a.worker, \
                 j.updated_at, a.started_at FROM jobs j LEFT JOIN job_attempts a \
                 ON a.job_id = j.id AND a.attempt = j.attempts \
                 WHERE j.state IN ('queued', 'running') AND (j.placeholder IS NULL OR \
                 j.placeholder <> CASE WHEN j.state = 'queued' THEN 'QUEUED' \
                 ELSE 'RUNNING:' || CAST(j.attempts AS TEXT) END) ORDER BY j.id LIMIT ",
            );
            sql.int_literal(i64::from(limit.clamp(1, 10_000)));
            for row in query!(sql).fetch_all(pool).await? {
                let state: String = row.try_get(9)?;
                let attempt: i64 = row.try_get(10)?;
                let running = state == "running";
                let updated_at: i64 = row.try_get(12)?;
                let started_at: Option<i64> = row.try_get(13)?;
                out.push(Placeholder {
                    job_id: row.try_get(0)?,
                    uuid: row.try_get(1)?,
                    key: key_from_row!(row, 2),
                    outcome: if running { "RUNNING" } else { "QUEUED" },
                    attempt,
                    worker: if running { row.try_get(11)? } else { None },
                    since: if running {
                        started_at.unwrap_or(updated_at)
                    } else {
                        updated_at
                    },
                    mark: if running {
                        format!("RUNNING:{attempt}")
                    } else {
                        "QUEUED".to_owned()
                    },
                });
            }
        });
        Ok(out)
    }

    /// Record that each job's placeholder (`job id`, [`Placeholder::mark`])
    /// is written.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn mark_placeholders(&self, marks: &[(i64, String)]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        with_pool!(self, write, |pool, dialect| {
            let mut tx = begin!(pool, dialect);
            for (id, mark) in marks {
                let mut sql = Sql::new(dialect, "UPDATE jobs SET placeholder = ");
                sql.text(mark).push(" WHERE id = ").int(*id);
                query!(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// How often a check's verdict flips when it runs again on the same input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flakiness {
    /// The check.
    pub check: String,
    /// Finished jobs (runs that gave a verdict).
    pub runs: i64,
    /// Those with an earlier finished run on the same input (item,
    /// item revision and arch): re-runs and repeats.
    pub repeated: i64,
    /// Those whose verdict differs from the run before on the same input.
    pub flips: i64,
}

impl Store {
    /// Every check's verdict flips, from finished jobs: a repeat on the
    /// same input whose outcome differs from the one before counts as one.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn flakiness(&self) -> Result<Vec<Flakiness>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let sql = Sql::new(
                dialect,
                "WITH f AS (SELECT check_name, outcome, LAG(outcome) OVER \
                 (PARTITION BY check_name, item_type, item, item_revision, arch ORDER BY id) \
                 AS prev FROM jobs WHERE state = 'finished' AND outcome IS NOT NULL) \
                 SELECT check_name, COUNT(*), \
                 SUM(CASE WHEN prev IS NULL THEN 0 ELSE 1 END), \
                 SUM(CASE WHEN prev IS NOT NULL AND prev <> outcome THEN 1 ELSE 0 END) \
                 FROM f GROUP BY check_name ORDER BY check_name",
            );
            for row in query!(sql).fetch_all(pool).await? {
                out.push(Flakiness {
                    check: row.try_get(0)?,
                    runs: row.try_get(1)?,
                    repeated: row.try_get(2)?,
                    flips: row.try_get(3)?,
                });
            }
        });
        Ok(out)
    }
}
