//! Links from a job's attempts to the log and artifacts its worker uploaded.
//!
//! The files themselves live on the server that received them (under its
//! data directory); the store only records where to find them, in the
//! attempt's `log_url` and `artifacts_url`.

use crate::sql::{Sql, query};
use crate::{Store, StoreError, with_pool};

impl Store {
    /// Set the links of the attempt of job `uuid` that holds `token`, where
    /// they are not set yet (a link once set stays: the first upload names
    /// the server that keeps the files). `true` when such an attempt exists.
    pub async fn set_attempt_links(
        &self,
        uuid: &str,
        token: i64,
        log_url: Option<&str>,
        artifacts_url: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "UPDATE job_attempts SET log_url = COALESCE(log_url, ",
        );
        sql.opt_text(log_url);
        sql.push("), artifacts_url = COALESCE(artifacts_url, ");
        sql.opt_text(artifacts_url);
        sql.push(") WHERE lease_token = ").int(token);
        sql.push(" AND job_id = (SELECT id FROM jobs WHERE uuid = ")
            .text(uuid)
            .push(")");
        let done = with_pool!(self, write, |pool, _dialect| {
            query!(sql).execute(pool).await?.rows_affected()
        });
        Ok(done > 0)
    }
}
