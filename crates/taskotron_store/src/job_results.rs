//! The results workers reported with the attempts that ended their jobs,
//! on their way to the result store: [`Store::finish_job`] keeps them in
//! `job_results` in the transaction that accepts the attempt, and a relay
//! stores them one by one with [`Store::create_job_result`], each insert
//! moving the row's `written` count past it in its own transaction, so
//! every result is stored exactly once, whatever stops in between.

use sqlx::Row;

use crate::sql::{Sql, query};
use crate::{Store, StoreError, with_pool};

/// A job's reported results, waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResults {
    /// The row's id, for [`Store::create_job_result`].
    pub id: i64,
    /// The job's uuid.
    pub job_uuid: String,
    /// The attempt that reported them.
    pub attempt: i64,
    /// A JSON array of ResultsDB POST bodies.
    pub payloads: String,
    /// How many of them are stored.
    pub written: i64,
}

impl Store {
    /// Up to `limit` jobs' results still to store, oldest first.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn pending_job_results(&self, limit: u32) -> Result<Vec<JobResults>, StoreError> {
        let mut out = Vec::new();
        with_pool!(self, read, |pool, dialect| {
            let mut sql = Sql::new(
                dialect,
                "SELECT id, job_uuid, attempt, payloads, written FROM job_results ORDER BY id LIMIT ",
            );
            sql.int_literal(i64::from(limit.clamp(1, 1000)));
            for row in query!(sql).fetch_all(pool).await? {
                out.push(JobResults {
                    id: row.try_get(0)?,
                    job_uuid: row.try_get(1)?,
                    attempt: row.try_get(2)?,
                    payloads: row.try_get(3)?,
                    written: row.try_get(4)?,
                });
            }
        });
        Ok(out)
    }

    /// Forget a job's results once every one of them is stored.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn job_results_stored(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut sql = Sql::new(dialect, "DELETE FROM job_results WHERE id = ");
            sql.int(id);
            query!(sql).execute(pool).await?;
        });
        Ok(())
    }
}
