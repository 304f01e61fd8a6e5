//! WaiverDB's waivers: written once, never edited; the newest waiver for a
//! key wins and `waived = false` revokes. [`Store::find_waivers`] returns
//! every match, newest first, and the caller decides which are obsolete
//! (the two WaiverDB read endpoints use different keys);
//! [`Store::page_waivers`] pages `GET /waivers/` in SQL, obsolete ones
//! left out there. Beyond WaiverDB, a waiver may cover every build of a
//! package and may expire. [`Store::active_checks`] reads which checks of
//! the job queue are queued or running, for decisions that explain a
//! missing result.

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
    /// It covers every build of the package named by `subject_identifier`.
    pub covers_package: bool,
    /// When it stops counting (microseconds since the Unix epoch, UTC).
    pub expires_at: Option<i64>,
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
    /// Any of these subject identifiers (none: any).
    pub subject_identifiers: Vec<String>,
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
    /// Only package waivers (`Some(true)`) or only build waivers.
    pub covers_package: Option<bool>,
}

/// Which waivers [`Store::page_waivers`] leaves out as obsolete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obsolete {
    /// None: every waiver.
    Include,
    /// A waiver that a newer one with the same subject, test case,
    /// scenario, scope, user and product version replaces (`GET /waivers/`).
    ByUserAndProduct,
}

/// One page of waivers and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverPage {
    /// The page, newest first.
    pub waivers: Vec<StoredWaiver>,
    /// How many match.
    pub total: i64,
}

/// A check of the job queue that is queued or running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCheck {
    /// The check's name.
    pub check_name: String,
    /// The item it checks.
    pub item: String,
    /// `queued` or `running`.
    pub state: String,
}

const COLUMNS: &str = "id, subject_type, subject_identifier, testcase, scenario, \
    product_version, username, proxied_by, waived, comment, created_at, covers_package, expires_at";

/// Append ` AND ...` for every field of `filter`, on the table `alias`.
fn push_filter(sql: &mut Sql, alias: &str, filter: &WaiverFilter) {
    if !filter.subject_types.is_empty() {
        sql.push(&format!(" AND {alias}.subject_type IN "))
            .text_list(&filter.subject_types);
    }
    if !filter.subject_identifiers.is_empty() {
        sql.push(&format!(" AND {alias}.subject_identifier IN "))
            .text_list(&filter.subject_identifiers);
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
            sql.push(&format!(" AND {alias}.{column} = ")).text(value);
        }
    }
    if let Some(since) = filter.since {
        sql.push(&format!(" AND {alias}.created_at >= ")).int(since);
    }
    if let Some(until) = filter.until {
        sql.push(&format!(" AND {alias}.created_at <= ")).int(until);
    }
    if let Some(package) = filter.covers_package {
        sql.push(&format!(" AND {alias}.covers_package = "))
            .int(i64::from(package));
    }
}

impl Store {
    /// Record waivers in one transaction, all or none; returns them with
    /// their ids, in order.
    pub async fn create_waivers(
        &self,
        waivers: &[NewWaiver],
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        self.insert_waivers(waivers, false, false, &|_| None).await
    }

    /// Like [`Store::create_waivers`], and, when `decision_check`, one
    /// decision check for them all (see `outbox.rs`) in the same
    /// transaction.
    pub async fn create_waivers_with_check(
        &self,
        waivers: &[NewWaiver],
        decision_check: bool,
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        self.insert_waivers(waivers, decision_check, false, &|_| None)
            .await
    }

    /// Like [`Store::create_waivers_with_check`], and for each waiver the
    /// outbox message `message` makes of it (WaiverDB's `waiver.new`), in
    /// the same transaction.
    pub async fn create_waivers_announced(
        &self,
        waivers: &[NewWaiver],
        decision_check: bool,
        message: &(dyn Fn(&StoredWaiver) -> Option<String> + Sync),
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        self.insert_waivers(waivers, decision_check, false, message)
            .await
    }

    /// Like [`Store::create_waivers_with_check`] with a decision check, but
    /// fails just before the commit, after every insert: tests use it to
    /// show nothing is half-written.
    #[doc(hidden)]
    pub async fn create_waivers_failing_for_tests(
        &self,
        waivers: &[NewWaiver],
    ) -> Result<Vec<StoredWaiver>, StoreError> {
        self.insert_waivers(waivers, true, true, &|_| None).await
    }

    async fn insert_waivers(
        &self,
        waivers: &[NewWaiver],
        decision_check: bool,
        fail_before_commit: bool,
        message: &(dyn Fn(&StoredWaiver) -> Option<String> + Sync),
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
                     product_version, username, proxied_by, waived, comment, created_at, \
                     covers_package, expires_at) VALUES (",
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
                    .push(", ")
                    .int(i64::from(waiver.covers_package))
                    .push(", ");
                match waiver.expires_at {
                    Some(at) => sql.int(at),
                    None => sql.push("NULL"),
                };
                sql.push(") RETURNING id");
                let row = query!(sql).fetch_one(&mut *tx).await?;
                out.push(StoredWaiver {
                    id: row.try_get(0)?,
                    waiver: waiver.clone(),
                    created_at: now,
                });
            }
            for stored in &out {
                if let Some(text) = message(stored) {
                    let sql = crate::outbox::insert_sql(dialect, &text);
                    query!(sql).execute(&mut *tx).await?;
                }
            }
            if decision_check && !out.is_empty() {
                let ids: Vec<i64> = out.iter().map(|it| it.id).collect();
                let sql = crate::outbox::insert_check_sql(
                    dialect,
                    crate::outbox::CheckKind::Waivers,
                    &ids,
                    now,
                );
                query!(sql).execute(&mut *tx).await?;
            }
            if fail_before_commit {
                tx.rollback().await?;
                return Err(StoreError::Write(
                    "a commit (failing on purpose) not made".to_owned(),
                ));
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
            &format!("SELECT {COLUMNS} FROM waivers w WHERE "),
        );
        if filters.is_empty() {
            sql.push("1 = 1");
        }
        for (idx, filter) in filters.iter().enumerate() {
            sql.push(if idx == 0 { "(1 = 1" } else { " OR (1 = 1" });
            push_filter(&mut sql, "w", filter);
            sql.push(")");
        }
        sql.push(" ORDER BY id DESC");
        self.waivers(&sql).await
    }

    /// One page of the waivers matching `filter`, newest first, leaving out
    /// `obsolete` ones (judged against every waiver, as WaiverDB does), and
    /// how many match in all. `offset` and `limit` count waivers.
    pub async fn page_waivers(
        &self,
        filter: &WaiverFilter,
        obsolete: Obsolete,
        offset: i64,
        limit: i64,
    ) -> Result<WaiverPage, StoreError> {
        let dialect = self.dialect();
        let same = |column: &str| format!(" AND n.{column} = w.{column}");
        let condition = |sql: &mut Sql| {
            sql.push("1 = 1");
            push_filter(sql, "w", filter);
            if obsolete == Obsolete::ByUserAndProduct {
                sql.push(" AND NOT EXISTS (SELECT 1 FROM waivers n WHERE n.id > w.id");
                for column in [
                    "subject_type",
                    "subject_identifier",
                    "testcase",
                    "username",
                    "product_version",
                    "covers_package",
                ] {
                    sql.push(&same(column));
                }
                sql.push(
                    " AND (n.scenario = w.scenario OR (n.scenario IS NULL AND w.scenario IS NULL)))",
                );
            }
        };
        let mut count = Sql::new(dialect, "SELECT COUNT(*) FROM waivers w WHERE ");
        condition(&mut count);
        let mut page = Sql::new(dialect, &format!("SELECT {COLUMNS} FROM waivers w WHERE "));
        condition(&mut page);
        page.push(" ORDER BY w.id DESC LIMIT ")
            .int_literal(limit.max(0))
            .push(" OFFSET ")
            .int_literal(offset.max(0));
        let total: i64 = with_pool!(self, read, |pool, _dialect| {
            query!(count).fetch_one(pool).await?.try_get(0)?
        });
        Ok(WaiverPage {
            waivers: self.waivers(&page).await?,
            total,
        })
    }

    /// The checks of the job queue that are queued or running for `items`.
    pub async fn active_checks(&self, items: &[String]) -> Result<Vec<ActiveCheck>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT check_name, item, state FROM jobs WHERE state IN ('queued', 'running') AND item IN ",
        );
        sql.text_list(items);
        with_pool!(self, read, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                out.push(ActiveCheck {
                    check_name: row.try_get(0)?,
                    item: row.try_get(1)?,
                    state: row.try_get(2)?,
                });
            }
            Ok(out)
        })
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
                        covers_package: row.try_get::<i64, _>(11)? != 0,
                        expires_at: row.try_get(12)?,
                    },
                    created_at: row.try_get(10)?,
                });
            }
            Ok(out)
        })
    }
}
