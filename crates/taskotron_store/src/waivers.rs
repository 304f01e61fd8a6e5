//! WaiverDB's waivers: written once, never edited; the newest waiver for a
//! key wins and `waived = false` revokes. Which waivers are "obsolete" is
//! decided by the caller (the two WaiverDB read endpoints use different
//! keys); the store returns every match, newest first.

use sqlx::Row;

use crate::sql::{Sql, query};
use crate::{Store, StoreError, with_pool};

/// A waiver to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWaiver {
    /// `koji_build`, `bodhi_update`, …
    pub subject_type: String,
    /// The subject's identifier.
    pub subject_identifier: String,
    /// The test case waived.
    pub testcase: String,
    /// Only this scenario, when set.
    pub scenario: Option<String>,
    /// The product version, e.g. `fedora-44`.
    pub product_version: String,
    /// Who waives.
    pub username: String,
    /// Who submitted it for `username`, when someone did.
    pub proxied_by: Option<String>,
    /// `false` revokes an earlier waiver.
    pub waived: bool,
    /// Why.
    pub comment: String,
}

/// A recorded waiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWaiver {
    /// Its id.
    pub id: i64,
    /// What was recorded.
    pub waiver: NewWaiver,
    /// When, in microseconds since the Unix epoch (UTC).
    pub created_at: i64,
}

/// Waivers to find: every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaiverFilter {
    /// Subject types (ORed).
    pub subject_types: Vec<String>,
    /// The subject identifier.
    pub subject_identifier: Option<String>,
    /// The test case.
    pub testcase: Option<String>,
    /// The scenario.
    pub scenario: Option<String>,
    /// The product version.
    pub product_version: Option<String>,
    /// The waiving user.
    pub username: Option<String>,
    /// The proxying user.
    pub proxied_by: Option<String>,
    /// Created at or after (microseconds).
    pub since: Option<i64>,
    /// Created at or before (microseconds).
    pub until: Option<i64>,
}

const COLUMNS: &str = "id, subject_type, subject_identifier, testcase, scenario, \
    product_version, username, proxied_by, waived, comment, created_at";

impl Store {
    /// Record waivers in one transaction, all or none; returns them with
    /// their ids, in order.
    pub async fn create_waivers(
        &self,
        waivers: &[NewWaiver],
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |it| i64::try_from(it.as_micros()).unwrap_or(i64::MAX));
        let mut out = Vec::with_capacity(waivers.len());
        with_pool!(self, write, |pool, dialect| {
            let mut tx = pool.begin().await?;
            for waiver in waivers {
                let mut sql = Sql::new(
                    dialect,
                    "INSERT INTO waivers (subject_type, subject_identifier, testcase, scenario, \
                     product_version, username, proxied_by, waived, comment, created_at) VALUES (",
                );
                sql.text(&waiver.subject_type)
                    .push(", ")
                    .text(&waiver.subject_identifier)
                    .push(", ")
                    .text(&waiver.testcase)
                    .push(", ")
                    .opt_text(waiver.scenario.as_deref())
                    .push(", ")
                    .text(&waiver.product_version)
                    .push(", ")
                    .text(&waiver.username)
                    .push(", ")
                    .opt_text(waiver.proxied_by.as_deref())
                    .push(", ")
                    .int(i64::from(waiver.waived))
                    .push(", ")
                    .text(&waiver.comment)
                    .push(", ")
                    .int(now)
                    .push(") RETURNING id");
                let row = query!(sql).fetch_one(&mut *tx).await?;
                out.push(StoredWaiver {
                    id: row.try_get(0)?,
                    waiver: waiver.clone(),
                    created_at: now,
                });
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// One waiver by id.
    pub async fn get_waiver(&self, id: i64) -> Result<Option<StoredWaiver>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            &format!("SELECT {COLUMNS} FROM waivers WHERE id = "),
        );
        sql.int(id);
        Ok(self.waivers(&sql).await?.into_iter().next())
    }

    /// Every waiver matching any of `filters` (all waivers when there are
    /// none), newest first.
    pub async fn find_waivers(
        &self,
        filters: &[WaiverFilter],
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            &format!("SELECT {COLUMNS} FROM waivers WHERE "),
        );
        if filters.is_empty() {
            sql.push("1 = 1");
        }
        for (idx, filter) in filters.iter().enumerate() {
            sql.push(if idx == 0 { "(1 = 1" } else { " OR (1 = 1" });
            if !filter.subject_types.is_empty() {
                sql.push(" AND subject_type IN ")
                    .text_list(&filter.subject_types);
            }
            for (column, value) in [
                ("subject_identifier", &filter.subject_identifier),
                ("testcase", &filter.testcase),
                ("scenario", &filter.scenario),
                ("product_version", &filter.product_version),
                ("username", &filter.username),
                ("proxied_by", &filter.proxied_by),
            ] {
                if let Some(value) = value {
                    sql.push(&format!(" AND {column} = ")).text(value);
                }
            }
            if let Some(since) = filter.since {
                sql.push(" AND created_at >= ").int(since);
            }
            if let Some(until) = filter.until {
                sql.push(" AND created_at <= ").int(until);
            }
            sql.push(")");
        }
        sql.push(" ORDER BY id DESC");
        self.waivers(&sql).await
    }

    async fn waivers(&self, sql: &Sql) -> Result<Vec<StoredWaiver>, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                let waived: i64 = row.try_get(8)?;
                out.push(StoredWaiver {
                    id: row.try_get(0)?,
                    waiver: NewWaiver {
                        subject_type: row.try_get(1)?,
                        subject_identifier: row.try_get(2)?,
                        testcase: row.try_get(3)?,
                        scenario: row.try_get(4)?,
                        product_version: row.try_get(5)?,
                        username: row.try_get(6)?,
                        proxied_by: row.try_get(7)?,
                        waived: waived != 0,
                        comment: row.try_get(9)?,
                    },
                    created_at: row.try_get(10)?,
                });
            }
            Ok(out)
        })
    }
}
