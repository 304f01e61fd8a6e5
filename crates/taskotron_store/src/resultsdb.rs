//! ResultsDB's data model: testcases, groups, results and their data.
//!
//! Results are append-only. A result, its data rows, its group links, the
//! testcase and group upserts and its outbox message commit together or not at
//! all. Lists load a page of ids with one query and then the rows, data and
//! groups of the whole page with three more: never one query per result.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// The most ids bound in one `IN (...)`.
const CHUNK: usize = 500;

/// A testcase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Testcase {
    /// Its name, e.g. `dist.rpmlint`; may contain slashes.
    pub name: String,
    /// Where it is documented.
    pub ref_url: Option<String>,
}

/// A group of results (a Taskotron job, a compose, an update…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its identifier (usually a UUID, but any string up to the caller).
    pub uuid: String,
    /// A description.
    pub description: Option<String>,
    /// Where to read about it.
    pub ref_url: Option<String>,
    /// How many results it holds.
    pub results_count: i64,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResult {
    /// Its id.
    pub id: i64,
    /// Its testcase.
    pub testcase: Testcase,
    /// Microseconds since the Unix epoch, UTC.
    pub submit_time: i64,
    /// The outcome, upper-case.
    pub outcome: String,
    /// A note.
    pub note: Option<String>,
    /// A link to details.
    pub ref_url: Option<String>,
    /// The uuids of its groups.
    pub groups: Vec<String>,
    /// Its data: sorted keys, each with its values.
    pub data: BTreeMap<String, Vec<String>>,
}

/// A change to a field: leave it, or set it (possibly to null).
pub type Update = Option<Option<String>>;

/// A group to create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUpdate {
    /// The group's uuid.
    pub uuid: String,
    /// New description, if it changes.
    pub description: Update,
    /// New ref_url, if it changes.
    pub ref_url: Update,
}

/// A result to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResult {
    /// The testcase's name; created when missing.
    pub testcase: String,
    /// New testcase ref_url, if the request gives one.
    pub testcase_ref_url: Update,
    /// The outcome, already validated and upper-cased.
    pub outcome: String,
    /// A note.
    pub note: Option<String>,
    /// A link.
    pub ref_url: Option<String>,
    /// Microseconds since the Unix epoch, UTC.
    pub submit_time: i64,
    /// Groups to link, created or updated.
    pub groups: Vec<GroupUpdate>,
    /// Data rows, in order.
    pub data: Vec<(String, String)>,
}

/// A filter on one data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFilter {
    /// `key=v1,v2`: one of these values.
    Exact {
        /// The key.
        key: String,
        /// The values, ORed.
        values: Vec<String>,
    },
    /// `key:like=p1,p2`: matches one of these SQL LIKE patterns.
    Like {
        /// The key.
        key: String,
        /// The patterns, ORed.
        patterns: Vec<String>,
    },
}

/// Which results a list or a latest query is about. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultFilter {
    /// Outcomes, ORed.
    pub outcomes: Vec<String>,
    /// Exact testcase names, ORed with `testcases_like`.
    pub testcases: Vec<String>,
    /// Testcase LIKE patterns.
    pub testcases_like: Vec<String>,
    /// Group uuids: the result is in any of them.
    pub groups: Vec<String>,
    /// `submit_time` at or after this (microseconds).
    pub since: Option<i64>,
    /// `submit_time` at or before this (microseconds).
    pub until: Option<i64>,
    /// Data filters, ANDed.
    pub data: Vec<DataFilter>,
}

impl ResultFilter {
    /// Whether anything besides outcomes filters (what `_distinct_on` requires).
    pub fn has_filter_besides_outcome(&self) -> bool {
        !(self.testcases.is_empty()
            && self.testcases_like.is_empty()
            && self.groups.is_empty()
            && self.since.is_none()
            && self.until.is_none()
            && self.data.is_empty())
    }
}

/// Newest or oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// A page of a list: `offset = page * limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The page number, from 0.
    pub page: i64,
    /// Items per page.
    pub limit: i64,
}

impl Page {
    fn offset(self) -> i64 {
        self.page.max(0).saturating_mul(self.limit.max(0))
    }
}

/// One page of items, and whether there are more after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether a next page has items.
    pub has_next: bool,
}

impl Store {
    /// Store a result with its data, groups and testcase, and (when
    /// `message` returns one) its outbox message, in one transaction.
    pub async fn create_result(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
    ) -> Result<StoredResult, StoreError> {
        self.insert_result(new, message, false).await
    }

    /// Like [`Store::create_result`], but fails just before the commit, after
    /// every insert: tests use it to show nothing is half-written.
    #[doc(hidden)]
    pub async fn create_result_failing_for_tests(
        &self,
        new: &NewResult,
    ) -> Result<StoredResult, StoreError> {
        self.insert_result(new, |_| Some("{}".to_owned()), true)
            .await
    }

    async fn insert_result(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
        fail_before_commit: bool,
    ) -> Result<StoredResult, StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut tx = match dialect {
                Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                Dialect::Postgres => pool.begin().await?,
            };
            let testcase_id = {
                let mut sql =
                    Sql::new(dialect, "INSERT INTO rdb_testcase (name, ref_url) VALUES (");
                sql.text(&new.testcase)
                    .push(", ")
                    .opt_text(new.testcase_ref_url.clone().flatten().as_deref());
                sql.push(") ON CONFLICT (name) DO ");
                match &new.testcase_ref_url {
                    Some(_) => sql.push("UPDATE SET ref_url = excluded.ref_url"),
                    // A no-op update, so that RETURNING gives the existing row's id.
                    None => sql.push("UPDATE SET name = excluded.name"),
                };
                sql.push(" RETURNING id, ref_url");
                let row = query!(sql).fetch_one(&mut *tx).await?;
                (
                    row.try_get::<i64, _>(0)?,
                    row.try_get::<Option<String>, _>(1)?,
                )
            };
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO rdb_result (testcase_id, submit_time, outcome, note, ref_url) VALUES (",
            );
            sql.int(testcase_id.0)
                .push(", ")
                .int(new.submit_time)
                .push(", ")
                .text(&new.outcome)
                .push(", ");
            sql.opt_text(new.note.as_deref())
                .push(", ")
                .opt_text(new.ref_url.as_deref())
                .push(") RETURNING id");
            let id: i64 = query!(sql).fetch_one(&mut *tx).await?.try_get(0)?;

            for chunk in new.data.chunks(CHUNK / 3) {
                let mut sql = Sql::new(
                    dialect,
                    "INSERT INTO rdb_result_data (result_id, key, value) VALUES ",
                );
                for (idx, (key, value)) in chunk.iter().enumerate() {
                    sql.push(if idx == 0 { "(" } else { ", (" });
                    sql.int(id)
                        .push(", ")
                        .text(key)
                        .push(", ")
                        .text(value)
                        .push(")");
                }
                query!(sql).execute(&mut *tx).await?;
            }
            let mut groups = Vec::new();
            for group in &new.groups {
                let group_id: i64 = query!(group_upsert_sql(dialect, group))
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                let mut sql = Sql::new(
                    dialect,
                    "INSERT INTO rdb_group_result (group_id, result_id) VALUES (",
                );
                sql.int(group_id)
                    .push(", ")
                    .int(id)
                    .push(") ON CONFLICT DO NOTHING");
                query!(sql).execute(&mut *tx).await?;
                if !groups.contains(&group.uuid) {
                    groups.push(group.uuid.clone());
                }
            }
            let mut data: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (key, value) in &new.data {
                data.entry(key.clone()).or_default().push(value.clone());
            }
            let stored = StoredResult {
                id,
                testcase: Testcase {
                    name: new.testcase.clone(),
                    ref_url: testcase_id.1,
                },
                submit_time: new.submit_time,
                outcome: new.outcome.clone(),
                note: new.note.clone(),
                ref_url: new.ref_url.clone(),
                groups,
                data,
            };
            if let Some(body) = message(&stored) {
                query!(crate::outbox::insert_sql(dialect, &body))
                    .execute(&mut *tx)
                    .await?;
            }
            if fail_before_commit {
                // Dropping the transaction rolls it back.
                return Err(StoreError::NotFound("a commit (failing on purpose)"));
            }
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// One result by id.
    pub async fn get_result(&self, id: i64) -> Result<Option<StoredResult>, StoreError> {
        Ok(self.load_results(&[id]).await?.into_iter().next())
    }

    /// A page of results, newest (or oldest) first.
    pub async fn list_results(
        &self,
        filter: &ResultFilter,
        order: Order,
        page: Page,
    ) -> Result<Paged<StoredResult>, StoreError> {
        let dialect = self.dialect();
        let mut sql = Sql::new(dialect, "SELECT r.id FROM rdb_result r WHERE 1 = 1");
        push_filter(&mut sql, filter, true);
        sql.push(match order {
            Order::NewestFirst => " ORDER BY r.submit_time DESC, r.id DESC",
            Order::OldestFirst => " ORDER BY r.submit_time ASC, r.id ASC",
        });
        sql.push(" LIMIT ")
            .int(page.limit.max(0).saturating_add(1))
            .push(" OFFSET ")
            .int(page.offset());
        let mut ids = self.ids(&sql).await?;
        let has_next = ids.len() as i64 > page.limit.max(0);
        ids.truncate(usize::try_from(page.limit.max(0)).unwrap_or(usize::MAX));
        Ok(Paged {
            items: self.load_results(&ids).await?,
            has_next,
        })
    }

    /// The latest result of each testcase (and, with `distinct_on`, of each
    /// combination of those data keys' values) among the filtered ones, newest
    /// first. Outcome filters are ignored, as ResultsDB does; exact ties on
    /// `submit_time` without `distinct_on` return every tied result.
    pub async fn latest_results(
        &self,
        filter: &ResultFilter,
        distinct_on: &[String],
    ) -> Result<Vec<StoredResult>, StoreError> {
        let dialect = self.dialect();
        let filter = ResultFilter {
            outcomes: Vec::new(),
            ..filter.clone()
        };
        let mut sql = Sql::new(
            dialect,
            "WITH f AS (SELECT r.id, r.testcase_id, r.submit_time FROM rdb_result r WHERE 1 = 1",
        );
        push_filter(&mut sql, &filter, false);
        sql.push(") ");
        if distinct_on.is_empty() {
            sql.push(
                "SELECT f.id FROM f JOIN (SELECT testcase_id, MAX(submit_time) AS newest FROM f GROUP BY testcase_id) x \
                 ON x.testcase_id = f.testcase_id AND x.newest = f.submit_time \
                 ORDER BY f.submit_time DESC, f.id DESC",
            );
        } else {
            sql.push("SELECT id FROM (SELECT f.id, f.submit_time, ROW_NUMBER() OVER (PARTITION BY f.testcase_id");
            for idx in 0..distinct_on.len() {
                sql.push(&format!(", d{idx}.value"));
            }
            sql.push(" ORDER BY f.submit_time DESC, f.id DESC) AS rn FROM f");
            for (idx, key) in distinct_on.iter().enumerate() {
                sql.push(&format!(
                    " LEFT JOIN rdb_result_data d{idx} ON d{idx}.result_id = f.id AND d{idx}.key = "
                ));
                sql.text(key);
            }
            sql.push(") z WHERE rn = 1 ORDER BY submit_time DESC, id DESC");
        }
        let ids = self.ids(&sql).await?;
        self.load_results(&ids).await
    }

    async fn ids(&self, sql: &Sql) -> Result<Vec<i64>, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            let rows = query!(sql).fetch_all(pool).await?;
            rows.iter()
                .map(|row| row.try_get::<i64, _>(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)
        })
    }

    /// Results by id, in the order given (an id given twice comes twice;
    /// unknown ids are left out).
    pub async fn load_results(&self, ids: &[i64]) -> Result<Vec<StoredResult>, StoreError> {
        let mut unique: Vec<i64> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut found: HashMap<i64, StoredResult> = HashMap::with_capacity(unique.len());
        let dialect = self.dialect();
        for chunk in unique.chunks(CHUNK) {
            let mut sql = Sql::new(
                dialect,
                "SELECT r.id, r.submit_time, r.outcome, r.note, r.ref_url, t.name, t.ref_url \
                 FROM rdb_result r JOIN rdb_testcase t ON t.id = r.testcase_id WHERE r.id IN ",
            );
            sql.int_list(chunk);
            let mut data_sql = Sql::new(
                dialect,
                "SELECT result_id, key, value FROM rdb_result_data WHERE result_id IN ",
            );
            data_sql.int_list(chunk);
            let mut group_sql = Sql::new(
                dialect,
                "SELECT gr.result_id, g.uuid FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
                 WHERE gr.result_id IN ",
            );
            group_sql.int_list(chunk);
            with_pool!(self, read, |pool, _dialect| {
                for row in query!(sql).fetch_all(pool).await? {
                    let id: i64 = row.try_get(0)?;
                    found.insert(
                        id,
                        StoredResult {
                            id,
                            submit_time: row.try_get(1)?,
                            outcome: row.try_get(2)?,
                            note: row.try_get(3)?,
                            ref_url: row.try_get(4)?,
                            testcase: Testcase {
                                name: row.try_get(5)?,
                                ref_url: row.try_get(6)?,
                            },
                            groups: Vec::new(),
                            data: BTreeMap::new(),
                        },
                    );
                }
                for row in query!(data_sql).fetch_all(pool).await? {
                    let id: i64 = row.try_get(0)?;
                    if let Some(result) = found.get_mut(&id) {
                        result
                            .data
                            .entry(row.try_get(1)?)
                            .or_default()
                            .push(row.try_get(2)?);
                    }
                }
                for row in query!(group_sql).fetch_all(pool).await? {
                    let id: i64 = row.try_get(0)?;
                    if let Some(result) = found.get_mut(&id) {
                        result.groups.push(row.try_get(1)?);
                    }
                }
            });
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// Create a group or update the fields the caller gives.
    pub async fn upsert_group(&self, group: &GroupUpdate) -> Result<Group, StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut tx = match dialect {
                Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                Dialect::Postgres => pool.begin().await?,
            };
            query!(group_upsert_sql(dialect, group))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.get_group(&group.uuid)
            .await?
            .ok_or(StoreError::NotFound("group"))
    }

    /// One group by uuid, with its result count.
    pub async fn get_group(&self, uuid: &str) -> Result<Option<Group>, StoreError> {
        let mut sql = Sql::new(self.dialect(), GROUP_SELECT);
        sql.push(" WHERE g.uuid = ").text(uuid);
        Ok(self.groups(&sql).await?.into_iter().next())
    }

    /// A page of groups, newest first: `uuids` and `descriptions` are ORed
    /// exact matches; `description_like` applies when `descriptions` is empty.
    pub async fn list_groups(
        &self,
        uuids: &[String],
        descriptions: &[String],
        description_like: &[String],
        page: Page,
    ) -> Result<Paged<Group>, StoreError> {
        let mut sql = Sql::new(self.dialect(), GROUP_SELECT);
        sql.push(" WHERE 1 = 1");
        if !uuids.is_empty() {
            sql.push(" AND g.uuid IN ").text_list(uuids);
        }
        if !descriptions.is_empty() {
            sql.push(" AND g.description IN ").text_list(descriptions);
        } else if !description_like.is_empty() {
            push_like_any(&mut sql, "g.description", description_like);
        }
        sql.push(" ORDER BY g.id DESC LIMIT ")
            .int(page.limit.max(0).saturating_add(1));
        sql.push(" OFFSET ").int(page.offset());
        let mut items = self.groups(&sql).await?;
        let has_next = items.len() as i64 > page.limit.max(0);
        items.truncate(usize::try_from(page.limit.max(0)).unwrap_or(usize::MAX));
        Ok(Paged { items, has_next })
    }

    async fn groups(&self, sql: &Sql) -> Result<Vec<Group>, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                out.push(Group {
                    uuid: row.try_get(0)?,
                    description: row.try_get(1)?,
                    ref_url: row.try_get(2)?,
                    results_count: row.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    /// Create a testcase, or update its ref_url when `ref_url` is `Some`.
    pub async fn upsert_testcase(
        &self,
        name: &str,
        ref_url: &Update,
    ) -> Result<Testcase, StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut sql = Sql::new(dialect, "INSERT INTO rdb_testcase (name, ref_url) VALUES (");
            sql.text(name)
                .push(", ")
                .opt_text(ref_url.clone().flatten().as_deref());
            sql.push(") ON CONFLICT (name) DO ");
            match ref_url {
                Some(_) => sql.push("UPDATE SET ref_url = excluded.ref_url"),
                None => sql.push("NOTHING"),
            };
            query!(sql).execute(pool).await?;
        });
        self.get_testcase(name)
            .await?
            .ok_or(StoreError::NotFound("testcase"))
    }

    /// One testcase by name.
    pub async fn get_testcase(&self, name: &str) -> Result<Option<Testcase>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT name, ref_url FROM rdb_testcase WHERE name = ",
        );
        sql.text(name);
        Ok(self.testcases(&sql).await?.into_iter().next())
    }

    /// A page of testcases by name: `names` are ORed exact matches;
    /// `name_like` applies when `names` is empty.
    pub async fn list_testcases(
        &self,
        names: &[String],
        name_like: &[String],
        page: Page,
    ) -> Result<Paged<Testcase>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT name, ref_url FROM rdb_testcase WHERE 1 = 1",
        );
        if !names.is_empty() {
            sql.push(" AND name IN ").text_list(names);
        } else if !name_like.is_empty() {
            push_like_any(&mut sql, "name", name_like);
        }
        sql.push(" ORDER BY name ASC LIMIT ")
            .int(page.limit.max(0).saturating_add(1));
        sql.push(" OFFSET ").int(page.offset());
        let mut items = self.testcases(&sql).await?;
        let has_next = items.len() as i64 > page.limit.max(0);
        items.truncate(usize::try_from(page.limit.max(0)).unwrap_or(usize::MAX));
        Ok(Paged { items, has_next })
    }

    async fn testcases(&self, sql: &Sql) -> Result<Vec<Testcase>, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                out.push(Testcase {
                    name: row.try_get(0)?,
                    ref_url: row.try_get(1)?,
                });
            }
            Ok(out)
        })
    }
}

const GROUP_SELECT: &str = "SELECT g.uuid, g.description, g.ref_url, \
     (SELECT COUNT(*) FROM rdb_group_result gr WHERE gr.group_id = g.id) FROM rdb_group g";

/// The upsert of a group, returning its id.
fn group_upsert_sql(dialect: Dialect, group: &GroupUpdate) -> Sql {
    let mut sql = Sql::new(
        dialect,
        "INSERT INTO rdb_group (uuid, description, ref_url) VALUES (",
    );
    sql.text(&group.uuid).push(", ");
    sql.opt_text(group.description.clone().flatten().as_deref())
        .push(", ");
    sql.opt_text(group.ref_url.clone().flatten().as_deref());
    sql.push(") ON CONFLICT (uuid) DO UPDATE SET ");
    let mut sets = Vec::new();
    if group.description.is_some() {
        sets.push("description = excluded.description");
    }
    if group.ref_url.is_some() {
        sets.push("ref_url = excluded.ref_url");
    }
    if sets.is_empty() {
        sets.push("uuid = excluded.uuid");
    }
    sql.push(&sets.join(", ")).push(" RETURNING id");
    sql
}

/// Append the WHERE conditions of a result filter (`r` is the result table).
fn push_filter(sql: &mut Sql, filter: &ResultFilter, with_outcome: bool) {
    if with_outcome && !filter.outcomes.is_empty() {
        sql.push(" AND r.outcome IN ").text_list(&filter.outcomes);
    }
    if !filter.testcases.is_empty() || !filter.testcases_like.is_empty() {
        sql.push(" AND r.testcase_id IN (SELECT id FROM rdb_testcase WHERE 1 = 0");
        if !filter.testcases.is_empty() {
            sql.push(" OR name IN ").text_list(&filter.testcases);
        }
        for pattern in &filter.testcases_like {
            sql.push(" OR name LIKE ").text(pattern);
        }
        sql.push(")");
    }
    if let Some(since) = filter.since {
        sql.push(" AND r.submit_time >= ").int(since);
    }
    if let Some(until) = filter.until {
        sql.push(" AND r.submit_time <= ").int(until);
    }
    if !filter.groups.is_empty() {
        sql.push(
            " AND r.id IN (SELECT gr.result_id FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
             WHERE g.uuid IN ",
        );
        sql.text_list(&filter.groups).push(")");
    }
    for data in &filter.data {
        sql.push(" AND r.id IN (SELECT result_id FROM rdb_result_data WHERE key = ");
        match data {
            DataFilter::Exact { key, values } => {
                sql.text(key).push(" AND value IN ").text_list(values);
            }
            DataFilter::Like { key, patterns } => {
                sql.text(key);
                push_like_any(sql, "value", patterns);
            }
        }
        sql.push(")");
    }
}

fn push_like_any(sql: &mut Sql, column: &str, patterns: &[String]) {
    sql.push(" AND (");
    for (idx, pattern) in patterns.iter().enumerate() {
        if idx > 0 {
            sql.push(" OR ");
        }
        sql.push(column).push(" LIKE ").text(pattern);
    }
    sql.push(")");
}
