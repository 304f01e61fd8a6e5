//! ResultsDB's data model: testcases, groups, results and their data.
//!
//! Results are append-only. A result, its data rows, its group links, the
//! testcase and group upserts, its outbox message and its decision check
//! commit together or not at all. Lists load a page of ids with one query
//! and then the rows, data and groups of the whole page with three more:
//! never one query per result.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use sqlx::Row;
use tokio::sync::oneshot;

use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// The most ids bound in one `IN (...)`.
const CHUNK: usize = 500;

/// The most testcase ids [`Store::resolve_testcases`] remembers.
const TESTCASE_CACHE_MAX: usize = 10_000;

/// Testcase ids by name, as [`Store::resolve_testcases`] found them.
pub(crate) type TestcaseIds = std::sync::Mutex<HashMap<String, i64>>;

/// The SQLite probe counts the results of a filter up to at least this many…
const PROBE_MIN_CAP: i64 = 2_000;
/// …and at most this many.
const PROBE_MAX_CAP: i64 = 50_000;
/// A first filter with at most this many results is taken without probing
/// the others.
const PROBE_ENOUGH: i64 = 64;

/// After this many probes in a row found an exact filter on a key small, the
/// key's filters are trusted to be small…
const HINT_TRUST: u32 = 16;
/// …except every this many uses, which probe again.
const HINT_RECHECK: u32 = 64;
/// Only filters with at most this many values are trusted.
const HINT_MAX_VALUES: usize = 4;
/// Hints are kept for at most this many keys.
const HINT_MAX_KEYS: usize = 256;

/// What the probes taught about each data key: `item=X` matches a handful of
/// results whatever X is, `type=koji_build` matches most of them.
pub(crate) type KeyHints = std::sync::Mutex<HashMap<String, KeyHint>>;

/// The probes' record of one data key.
#[derive(Debug, Default)]
pub(crate) struct KeyHint {
    /// How many probes in a row found an exact filter on it small.
    small_streak: u32,
    /// How many queries started from it on trust.
    uses: u32,
}

/// Where a result query starts. Both databases are told, by the shape of
/// the SQL, rather than left to guess: SQLite has no statistics on values,
/// and PostgreSQL runs generic plans (see `Store::open_postgres`), which do
/// not know the values either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// Walk the results (newest first, for a list) and test every filter.
    Scan,
    /// Start from the results of this data filter; test the others.
    Data(usize),
    /// Start from the results of the group filter; test the others.
    Groups,
}

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
    ///
    /// Concurrent calls share transactions (group commit, see
    /// [`Store::write_batch`]); each call still returns only after the
    /// transaction holding its rows and its message has committed.
    pub async fn create_result(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
    ) -> Result<StoredResult, StoreError> {
        self.submit_result(new, message, false, false).await
    }

    /// Like [`Store::create_result`], and, when `decision_check`, a decision
    /// check for the result (see `outbox.rs`) in the same transaction: a
    /// gating decision that the result changes is then announced even if
    /// the process stops right after the commit.
    pub async fn create_result_with_check(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
        decision_check: bool,
    ) -> Result<StoredResult, StoreError> {
        self.submit_result(new, message, decision_check, false)
            .await
    }

    /// Like [`Store::create_result_with_check`] with a message and a
    /// decision check, but fails just before the commit, after every insert:
    /// tests use it to show nothing is half-written.
    #[doc(hidden)]
    pub async fn create_result_failing_for_tests(
        &self,
        new: &NewResult,
    ) -> Result<StoredResult, StoreError> {
        self.submit_result(new, |_| Some("{}".to_owned()), true, true)
            .await
    }

    async fn submit_result(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
        decision_check: bool,
        fail_before_commit: bool,
    ) -> Result<StoredResult, StoreError> {
        self.submit_marked(new, message, decision_check, fail_before_commit, None)
            .await
    }

    /// Store one of a job's reported results (index `index` of the
    /// `job_results` row `row`, see `jobs.rs`), like
    /// [`Store::create_result_with_check`]: the row's `written` count
    /// moves past it in the same transaction, so each is written once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Write`] when the row is gone or already past `index`
    /// (written by another server), or a database error.
    pub async fn create_job_result(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
        decision_check: bool,
        row: i64,
        index: i64,
    ) -> Result<StoredResult, StoreError> {
        self.submit_marked(new, message, decision_check, false, Some((row, index)))
            .await
    }

    async fn submit_marked(
        &self,
        new: &NewResult,
        message: impl FnOnce(&StoredResult) -> Option<String>,
        decision_check: bool,
        fail_before_commit: bool,
        mark: Option<(i64, i64)>,
    ) -> Result<StoredResult, StoreError> {
        let (stored_tx, stored_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        self.writer.submit(
            self,
            Pending {
                new: new.clone(),
                caller: Some(Caller {
                    stored: Some(stored_tx),
                    done: Some(done_tx),
                    fail_before_commit,
                }),
                id: 0,
                stored: None,
                message: None,
                decision_check,
                mark,
            },
        );
        let gone = || StoreError::Write("the writer stopped".to_owned());
        let (stored, reply) = stored_rx
            .await
            .map_err(|_| gone())?
            .map_err(StoreError::Write)?;
        // No await between receiving the result and answering: a caller that
        // is dropped either never saw its result or has sent its message.
        let _ = reply.send(message(&stored));
        done_rx
            .await
            .map_err(|_| gone())?
            .map_err(StoreError::Write)?;
        Ok(stored)
    }

    /// One result by id.
    pub async fn get_result(&self, id: i64) -> Result<Option<StoredResult>, StoreError> {
        Ok(self
            .load(get_sql(self.dialect(), id))
            .await?
            .into_iter()
            .next())
    }

    async fn list_sql(
        &self,
        filter: &ResultFilter,
        order: Order,
        page: Page,
    ) -> Result<Sql, StoreError> {
        let work = page
            .offset()
            .saturating_add(page.limit.max(0))
            .saturating_add(1);
        let testcases = self.resolve_testcases(filter).await?;
        let drive = self.plan(filter, Some(work)).await?;
        Ok(self.list_sql_from(filter, testcases.as_deref(), order, page, drive))
    }

    /// The SQL of [`Store::list_results`], starting from `drive`, with the
    /// testcase filter resolved to `testcases` (see
    /// [`Store::resolve_testcases`]).
    fn list_sql_from(
        &self,
        filter: &ResultFilter,
        testcases: Option<&[i64]>,
        order: Order,
        page: Page,
        drive: Drive,
    ) -> Sql {
        let limit = page.limit.max(0);
        let mut sql = Sql::new(self.dialect(), "WITH page AS MATERIALIZED (");
        push_select_ids(&mut sql, filter, testcases, true, drive, "r.id", true);
        // Sorting a handful of driven rows beats walking the time index.
        let sort = match drive {
            Drive::Data(_) | Drive::Groups => "+r.submit_time",
            Drive::Scan => "r.submit_time",
        };
        sql.push(&match order {
            Order::NewestFirst => format!(" ORDER BY {sort} DESC, r.id DESC"),
            Order::OldestFirst => format!(" ORDER BY {sort} ASC, r.id ASC"),
        });
        sql.push(" LIMIT ")
            .int_literal(limit.saturating_add(1))
            .push(" OFFSET ")
            .int_literal(page.offset())
            .push(") ");
        sql
    }

    /// A page of results, newest (or oldest) first.
    pub async fn list_results(
        &self,
        filter: &ResultFilter,
        order: Order,
        page: Page,
    ) -> Result<Paged<StoredResult>, StoreError> {
        let sql = self.list_sql(filter, order, page).await?;
        self.list_page(sql, order, page).await
    }

    /// Run the SQL of a list and make its page.
    async fn list_page(
        &self,
        sql: Sql,
        order: Order,
        page: Page,
    ) -> Result<Paged<StoredResult>, StoreError> {
        let limit = page.limit.max(0);
        let mut items = self.fetch_page(sql).await?;
        if order == Order::OldestFirst {
            items.reverse();
        }
        let has_next = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(Paged { items, has_next })
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
        let sql = self.latest_sql(filter, distinct_on).await?;
        self.fetch_page(sql).await
    }

    async fn latest_sql(
        &self,
        filter: &ResultFilter,
        distinct_on: &[String],
    ) -> Result<Sql, StoreError> {
        let filter = ResultFilter {
            outcomes: Vec::new(),
            ..filter.clone()
        };
        let testcases = self.resolve_testcases(&filter).await?;
        let drive = self.plan(&filter, None).await?;
        Ok(self.latest_sql_from(&filter, testcases.as_deref(), distinct_on, drive))
    }

    /// The SQL of [`Store::latest_results`] (`filter` without outcomes),
    /// starting from `drive`, with the testcase filter resolved to
    /// `testcases`.
    fn latest_sql_from(
        &self,
        filter: &ResultFilter,
        testcases: Option<&[i64]>,
        distinct_on: &[String],
        drive: Drive,
    ) -> Sql {
        let dialect = self.dialect();
        let mut sql = Sql::new(dialect, "WITH f AS (");
        push_select_ids(
            &mut sql,
            filter,
            testcases,
            false,
            drive,
            "r.id, r.testcase_id, r.submit_time",
            false,
        );
        sql.push("), page AS MATERIALIZED (");
        if distinct_on.is_empty() {
            sql.push(
                "SELECT f.id FROM f JOIN (SELECT testcase_id, MAX(submit_time) AS newest FROM f GROUP BY testcase_id) x \
                 ON x.testcase_id = f.testcase_id AND x.newest = f.submit_time",
            );
        } else {
            sql.push("SELECT id FROM (SELECT f.id, ROW_NUMBER() OVER (PARTITION BY f.testcase_id");
            for idx in 0..distinct_on.len() {
                sql.push(&format!(", d{idx}.value"));
            }
            sql.push(" ORDER BY f.submit_time DESC, f.id DESC) AS rn FROM f");
            // SQLite: find the key among the result's rows, never the
            // result among the key's rows (`+` keeps the key index out).
            let plus = if dialect == Dialect::Sqlite { "+" } else { "" };
            for (idx, key) in distinct_on.iter().enumerate() {
                sql.push(&format!(
                    " LEFT JOIN rdb_result_data d{idx} ON d{idx}.result_id = f.id AND {plus}d{idx}.key = "
                ));
                sql.text(key);
            }
            sql.push(") z WHERE rn = 1");
        }
        sql.push(") ");
        sql
    }

    /// Results by id, in the order given (an id given twice comes twice;
    /// unknown ids are left out).
    pub async fn load_results(&self, ids: &[i64]) -> Result<Vec<StoredResult>, StoreError> {
        let mut unique: Vec<i64> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut found: HashMap<i64, StoredResult> = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(CHUNK) {
            let mut sql = Sql::new(
                self.dialect(),
                "WITH page AS MATERIALIZED (SELECT id FROM rdb_result WHERE id IN ",
            );
            sql.int_list(chunk).push(") ");
            for result in self.fetch_page(sql).await? {
                found.insert(result.id, result);
            }
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// Run `sql`, which defines a CTE `page` of result ids, with the query
    /// that loads those results, their testcase, data and groups: one
    /// statement and one round trip. Returns one result per row of `page`
    /// (an id twice in `page` comes twice), newest first.
    async fn fetch_page(&self, mut sql: Sql) -> Result<Vec<StoredResult>, StoreError> {
        push_load(&mut sql);
        self.load(sql).await
    }

    /// Run a query whose rows are those [`push_load`] describes and make
    /// the results of them, newest first.
    async fn load(&self, sql: Sql) -> Result<Vec<StoredResult>, StoreError> {
        let mut results: Vec<StoredResult> = Vec::new();
        let mut data: HashMap<i64, BTreeMap<String, Vec<String>>> = HashMap::new();
        let mut groups: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        with_pool!(self, read, |pool, _dialect| {
            for row in query!(sql).fetch_all(pool).await? {
                let kind: i32 = row.try_get(0)?;
                let id: i64 = row.try_get(1)?;
                match kind {
                    0 => results.push(StoredResult {
                        id,
                        submit_time: row.try_get(2)?,
                        outcome: row.try_get(3)?,
                        note: row.try_get(4)?,
                        ref_url: row.try_get(5)?,
                        testcase: Testcase {
                            name: row.try_get(6)?,
                            ref_url: row.try_get(7)?,
                        },
                        groups: Vec::new(),
                        data: BTreeMap::new(),
                    }),
                    1 => data
                        .entry(id)
                        .or_default()
                        .entry(row.try_get(3)?)
                        .or_default()
                        .push(row.try_get(4)?),
                    _ => groups
                        .entry(id)
                        .or_default()
                        .push((row.try_get::<i64, _>(2)?, row.try_get(3)?)),
                }
            }
        });
        results.sort_by_key(|it| std::cmp::Reverse((it.submit_time, it.id)));
        for result in &mut results {
            if let Some(data) = data.get(&result.id) {
                result.data = data.clone();
            }
            if let Some(groups) = groups.get_mut(&result.id) {
                // In the order they were posted.
                groups.sort();
                result.groups = groups.iter().map(|(_, uuid)| uuid.clone()).collect();
            }
        }
        Ok(results)
    }

    /// Choose where a result query starts (see [`Drive`]). Nothing in a
    /// plan made without the values tells `item=X` (ten results) from
    /// `type=koji_build` (every result), so one cheap probe counts, up to a
    /// cap, the results of each filter an index can enumerate. A list
    /// (`work` = offset + limit + 1 rows to walk) starts from the smallest
    /// when it is small enough, and otherwise walks the results newest first
    /// testing each filter, which stops early.
    async fn plan(&self, filter: &ResultFilter, work: Option<i64>) -> Result<Drive, StoreError> {
        let mut candidates: Vec<Drive> = Vec::new();
        if !filter.groups.is_empty() {
            candidates.push(Drive::Groups);
        }
        for (idx, data) in filter.data.iter().enumerate() {
            let indexable = match data {
                DataFilter::Exact { .. } => true,
                DataFilter::Like { patterns, .. } => patterns
                    .iter()
                    .all(|it| !it.is_empty() && !it.starts_with(['%', '_'])),
            };
            if indexable {
                candidates.push(Drive::Data(idx));
            }
        }
        if candidates.is_empty() {
            return Ok(Drive::Scan);
        }
        if let Some(drive) = self.trusted_candidate(filter, &candidates) {
            return Ok(drive);
        }
        // Starting from a filter costs about one lookup per result it
        // matches; walking costs about work * total / matches tests.
        let total = self
            .result_count_hint
            .load(std::sync::atomic::Ordering::Relaxed);
        let cap = match work {
            Some(work) => {
                let balance = ((work as f64) * (total.max(1) as f64)).sqrt() as i64;
                balance.clamp(PROBE_MIN_CAP, PROBE_MAX_CAP)
            }
            None if candidates.len() == 1 => return Ok(candidates[0]),
            None => PROBE_MIN_CAP,
        };
        let mut sql = Sql::new(
            self.dialect(),
            // A bare MAX of the primary key reads one page.
            "SELECT (SELECT MAX(id) FROM rdb_result), p0.n",
        );
        for candidate in candidates.iter().skip(1) {
            // A first candidate this small wins outright: skip the others.
            sql.push(" , CASE WHEN p0.n <= ")
                .int(PROBE_ENOUGH)
                .push(" THEN NULL ELSE (");
            push_probe(&mut sql, filter, *candidate, cap);
            sql.push(") END");
        }
        sql.push(" FROM (SELECT (");
        push_probe(&mut sql, filter, candidates[0], cap);
        sql.push(") AS n) p0");
        let counts: Vec<Option<i64>> = with_pool!(self, read, |pool, _dialect| {
            let row = query!(sql).fetch_one(pool).await?;
            (0..=candidates.len())
                .map(|idx| row.try_get::<Option<i64>, _>(idx))
                .collect::<Result<_, _>>()?
        });
        self.result_count_hint
            .store(counts[0].unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        self.learn_from_probe(filter, &candidates, &counts[1..]);
        let mut best: Option<(i64, Drive)> = None;
        for (count, candidate) in counts[1..].iter().zip(&candidates) {
            let Some(count) = *count else {
                continue;
            };
            if best.is_none_or(|(least, _)| count < least) {
                best = Some((count, *candidate));
            }
        }
        Ok(match best {
            Some((count, drive)) if work.is_none() || count < cap => drive,
            _ => Drive::Scan,
        })
    }

    /// The ids of the testcases a filter's `testcases` and `testcases:like`
    /// name (`None` when it names none). The result query then tests ids
    /// bound one by one: every planner, SQLite's, and PostgreSQL's generic
    /// plans alike, sees how many testcases match, where a `LIKE` over a
    /// parameter would leave it guessing (and PostgreSQL guessing "few"
    /// gathers every result of them all to sort).
    async fn resolve_testcases(
        &self,
        filter: &ResultFilter,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        if filter.testcases.is_empty() && filter.testcases_like.is_empty() {
            return Ok(None);
        }
        if filter.testcases_like.is_empty() {
            // A testcase keeps its id for ever: names seen once need no query.
            let known = self
                .testcase_ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let ids: Option<Vec<i64>> = filter
                .testcases
                .iter()
                .map(|name| known.get(name.as_str()).copied())
                .collect();
            if let Some(mut ids) = ids {
                ids.sort_unstable();
                ids.dedup();
                return Ok(Some(ids));
            }
        }
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT id, name FROM rdb_testcase WHERE 1 = 0",
        );
        if !filter.testcases.is_empty() {
            sql.push(" OR name IN ").text_list(&filter.testcases);
        }
        for pattern in &filter.testcases_like {
            // Not a bare parameter: SQLite would re-prepare the statement on
            // every run to try a prefix search, pointless on a few testcases.
            sql.push(" OR name LIKE (").text(pattern).push(" || '')");
        }
        sql.push(" ORDER BY id");
        let rows: Vec<(i64, String)> = with_pool!(self, read, |pool, _dialect| {
            let mut rows = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                rows.push((row.try_get(0)?, row.try_get(1)?));
            }
            rows
        });
        let mut known = self
            .testcase_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (id, name) in &rows {
            if known.len() < TESTCASE_CACHE_MAX {
                known.insert(name.clone(), *id);
            }
        }
        Ok(Some(rows.into_iter().map(|(id, _)| id).collect()))
    }

    /// A data filter that recent probes always found small (see
    /// [`KeyHints`]), to start from without probing; every
    /// [`HINT_RECHECK`]th use probes again.
    fn trusted_candidate(&self, filter: &ResultFilter, candidates: &[Drive]) -> Option<Drive> {
        let mut hints = self
            .key_hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for candidate in candidates {
            let Drive::Data(idx) = *candidate else {
                continue;
            };
            let DataFilter::Exact { key, values } = &filter.data[idx] else {
                continue;
            };
            if values.len() > HINT_MAX_VALUES {
                continue;
            }
            if let Some(hint) = hints.get_mut(key.as_str())
                && hint.small_streak >= HINT_TRUST
            {
                hint.uses = hint.uses.wrapping_add(1);
                if !hint.uses.is_multiple_of(HINT_RECHECK) {
                    return Some(*candidate);
                }
            }
        }
        None
    }

    /// Remember, per data key, whether its exact filters keep matching
    /// only a few results.
    fn learn_from_probe(
        &self,
        filter: &ResultFilter,
        candidates: &[Drive],
        counts: &[Option<i64>],
    ) {
        let mut hints = self
            .key_hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (candidate, count) in candidates.iter().zip(counts) {
            let (Drive::Data(idx), Some(count)) = (*candidate, *count) else {
                continue;
            };
            let DataFilter::Exact { key, values } = &filter.data[idx] else {
                continue;
            };
            if values.len() > HINT_MAX_VALUES {
                continue;
            }
            // Keys come from the query string: keep the map small.
            if !hints.contains_key(key.as_str()) && hints.len() >= HINT_MAX_KEYS {
                continue;
            }
            let hint = hints.entry(key.clone()).or_default();
            if count <= PROBE_ENOUGH {
                hint.small_streak = hint.small_streak.saturating_add(1);
            } else {
                hint.small_streak = 0;
            }
        }
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
            .int_literal(page.limit.max(0).saturating_add(1));
        sql.push(" OFFSET ").int_literal(page.offset());
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
            .int_literal(page.limit.max(0).saturating_add(1));
        sql.push(" OFFSET ").int_literal(page.offset());
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

/// The upsert of a testcase inside a result's transaction, returning its id
/// and ref_url.
fn testcase_upsert_sql(dialect: Dialect, name: &str, ref_url: &Update) -> Sql {
    let mut sql = Sql::new(dialect, "INSERT INTO rdb_testcase (name, ref_url) VALUES (");
    sql.text(name)
        .push(", ")
        .opt_text(ref_url.clone().flatten().as_deref());
    sql.push(") ON CONFLICT (name) DO ");
    match ref_url {
        Some(_) => sql.push("UPDATE SET ref_url = excluded.ref_url"),
        // A no-op update, so that RETURNING gives the existing row's id.
        None => sql.push("UPDATE SET name = excluded.name"),
    };
    sql.push(" RETURNING id, ref_url");
    sql
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

/// Append `SELECT <columns> FROM rdb_result r WHERE <filter>`, starting
/// from `drive`. `ordered`: the caller sorts by submit_time and takes a page.
///
/// The shape pins the plan on both databases: the driving filter is an
/// `IN` subquery, the others correlated `EXISTS` tests, one index probe per
/// row (PostgreSQL keeps a subquery with `OFFSET 0` as it is written, and
/// does not use an index on `+column`).
fn push_select_ids(
    sql: &mut Sql,
    filter: &ResultFilter,
    testcases: Option<&[i64]>,
    with_outcome: bool,
    drive: Drive,
    columns: &str,
    ordered: bool,
) {
    let fence = match sql.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " OFFSET 0",
    };
    sql.push("SELECT ").push(columns).push(" FROM rdb_result r");
    let one_testcase = testcases.is_some_and(|it| it.len() <= 1);
    // Walk the time index newest first and stop after the page, rather than
    // gather every result of several testcases and sort them.
    let walk_time = drive == Drive::Scan && ordered && !one_testcase;
    if walk_time && sql.dialect == Dialect::Sqlite {
        sql.push(" INDEXED BY rdb_result_time_id_testcase");
    }
    sql.push(" WHERE 1 = 1");
    if with_outcome && !filter.outcomes.is_empty() {
        sql.push(" AND r.outcome IN ").text_list(&filter.outcomes);
    }
    match testcases {
        None => {}
        Some([]) => {
            sql.push(" AND 1 = 0");
        }
        Some(ids) => {
            // A driven query tests the testcase of each of its few rows.
            let test_only = drive != Drive::Scan || walk_time;
            sql.push(if test_only {
                " AND +r.testcase_id IN "
            } else {
                " AND r.testcase_id IN "
            });
            sql.int_list(ids);
        }
    }
    if let Some(since) = filter.since {
        sql.push(" AND r.submit_time >= ").int(since);
    }
    if let Some(until) = filter.until {
        sql.push(" AND r.submit_time <= ").int(until);
    }
    if !filter.groups.is_empty() {
        if drive == Drive::Groups {
            sql.push(
                " AND r.id IN (SELECT gr.result_id FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
                 WHERE g.uuid IN ",
            );
        } else {
            sql.push(
                " AND EXISTS (SELECT 1 FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
                 WHERE gr.result_id = r.id AND g.uuid IN ",
            );
        }
        sql.text_list(&filter.groups).push(fence).push(")");
    }
    for (idx, data) in filter.data.iter().enumerate() {
        if drive == Drive::Data(idx) {
            sql.push(" AND r.id IN (SELECT x.result_id FROM rdb_result_data x WHERE x.key = ");
        } else {
            // One probe of the (key, value, result_id) index per result.
            sql.push(" AND EXISTS (SELECT 1 FROM rdb_result_data x WHERE x.result_id = r.id AND x.key = ");
        }
        push_data_match(sql, data);
        sql.push(fence).push(")");
    }
}

/// Append the query that loads the results of the CTE `page`: kind 0 rows
/// are results with their testcase, kind 1 data rows, kind 2 group uuids.
fn push_load(sql: &mut Sql) {
    sql.push(
            "SELECT 0, r.id, r.submit_time, r.outcome, r.note, r.ref_url, t.name, t.ref_url \
             FROM page p JOIN rdb_result r ON r.id = p.id JOIN rdb_testcase t ON t.id = r.testcase_id \
             UNION ALL SELECT 1, d.result_id, NULL, d.key, d.value, NULL, NULL, NULL \
             FROM rdb_result_data d WHERE d.result_id IN (SELECT id FROM page) \
             UNION ALL SELECT 2, gr.result_id, gr.position, g.uuid, NULL, NULL, NULL, NULL \
             FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
             WHERE gr.result_id IN (SELECT id FROM page)",
    );
}

/// One result by id, in the rows of [`push_load`]: each part looks the id
/// up directly, which is cheaper than going through a `page`.
fn get_sql(dialect: Dialect, id: i64) -> Sql {
    let mut sql = Sql::new(
        dialect,
        "SELECT 0, r.id, r.submit_time, r.outcome, r.note, r.ref_url, t.name, t.ref_url \
         FROM rdb_result r JOIN rdb_testcase t ON t.id = r.testcase_id WHERE r.id = ",
    );
    sql.int(id).push(
        " UNION ALL SELECT 1, d.result_id, NULL, d.key, d.value, NULL, NULL, NULL \
         FROM rdb_result_data d WHERE d.result_id = ",
    );
    sql.int(id).push(
        " UNION ALL SELECT 2, gr.result_id, gr.position, g.uuid, NULL, NULL, NULL, NULL \
         FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id WHERE gr.result_id = ",
    );
    sql.int(id);
    sql
}

/// Append `<key> AND <x.value matches>` for a data filter on `x`.
fn push_data_match(sql: &mut Sql, data: &DataFilter) {
    match data {
        DataFilter::Exact { key, values } => {
            sql.text(key).push(" AND x.value IN ").text_list(values);
        }
        DataFilter::Like { key, patterns } => {
            sql.text(key);
            push_like_any(sql, "x.value", patterns);
        }
    }
}

/// Append a query counting the results `drive` starts from, up to `cap`.
fn push_probe(sql: &mut Sql, filter: &ResultFilter, drive: Drive, cap: i64) {
    match drive {
        Drive::Data(idx) => {
            sql.push("SELECT COUNT(*) FROM (SELECT 1 FROM rdb_result_data x WHERE x.key = ");
            push_data_match(sql, &filter.data[idx]);
        }
        _ => {
            sql.push(
                "SELECT COUNT(*) FROM (SELECT 1 FROM rdb_group_result gr JOIN rdb_group g ON g.id = gr.group_id \
                 WHERE g.uuid IN ",
            );
            sql.text_list(&filter.groups);
        }
    }
    sql.push(" LIMIT ").int_literal(cap).push(") probe");
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

/// Insert the rows of a batch of results inside the transaction `$tx`:
/// testcases and groups (upserts in key order, a fixed lock order between
/// writers), results with their reserved ids, data rows and group links,
/// a few multi-row statements for the whole batch. Evaluates to each
/// result as `create_result` returns it; `?` leaves the enclosing block.
///
/// Each testcase and group is upserted once with the batch's combined
/// update (per field, the last value given), which ends in the same row as
/// one upsert per result. A result sees its testcase's ref_url as it is
/// after its own upsert: when the results of one testcase ask for different
/// updates, that testcase is upserted once per result, in order.
macro_rules! insert_rows {
    ($tx:ident, $dialect:ident, $batch:ident) => {{
        let dialect = $dialect;
        let count = $batch.len();
        let mut names: Vec<&str> = $batch.iter().map(|it| it.new.testcase.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut testcase_ids: HashMap<String, i64> = HashMap::new();
        let mut seen_ref_url: Vec<Option<String>> = vec![None; count];
        // Testcases all of whose results ask for the same update, by kind
        // of update (keep the ref_url, or set it).
        let mut uniform: [Vec<(&str, Option<String>)>; 2] = [Vec::new(), Vec::new()];
        for name in &names {
            let members: Vec<usize> = (0..count).filter(|idx| $batch[*idx].new.testcase == *name).collect();
            let first = &$batch[members[0]].new.testcase_ref_url;
            if members.iter().all(|idx| &$batch[*idx].new.testcase_ref_url == first) {
                match first {
                    None => uniform[0].push((name, None)),
                    Some(url) => uniform[1].push((name, url.clone())),
                }
                continue;
            }
            for idx in members {
                let sql = testcase_upsert_sql(dialect, name, &$batch[idx].new.testcase_ref_url);
                let row = query!(sql).fetch_one(&mut *$tx).await?;
                testcase_ids.insert((*name).to_owned(), row.try_get(0)?);
                seen_ref_url[idx] = row.try_get(1)?;
            }
        }
        let mut testcase_ref_urls: HashMap<String, Option<String>> = HashMap::new();
        for (kind, rows) in uniform.iter().enumerate() {
            for chunk in rows.chunks(BULK_PARAMS / 2) {
                let mut sql = Sql::new(dialect, "INSERT INTO rdb_testcase (name, ref_url) VALUES ");
                for (idx, (name, url)) in chunk.iter().enumerate() {
                    sql.push(if idx == 0 { "(" } else { ", (" });
                    sql.text(name).push(", ").opt_text(url.as_deref()).push(")");
                }
                sql.push(if kind == 0 {
                    // A no-op update, so that RETURNING gives the existing rows.
                    " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, name, ref_url"
                } else {
                    " ON CONFLICT (name) DO UPDATE SET ref_url = excluded.ref_url RETURNING id, name, ref_url"
                });
                for row in query!(sql).fetch_all(&mut *$tx).await? {
                    let name: String = row.try_get(1)?;
                    testcase_ids.insert(name.clone(), row.try_get(0)?);
                    testcase_ref_urls.insert(name, row.try_get(2)?);
                }
            }
        }
        for (idx, pending) in $batch.iter().enumerate() {
            if let Some(url) = testcase_ref_urls.get(&pending.new.testcase) {
                seen_ref_url[idx] = url.clone();
            }
        }
        // Groups, each with its combined update, by the fields it sets.
        let mut groups: BTreeMap<&str, (Update, Update)> = BTreeMap::new();
        for pending in $batch.iter() {
            for group in &pending.new.groups {
                let entry = groups.entry(group.uuid.as_str()).or_default();
                if group.description.is_some() {
                    entry.0 = group.description.clone();
                }
                if group.ref_url.is_some() {
                    entry.1 = group.ref_url.clone();
                }
            }
        }
        let mut group_ids: HashMap<String, i64> = HashMap::new();
        for shape in 0..4 {
            let rows: Vec<(&str, &(Update, Update))> = groups
                .iter()
                .filter(|(_, it)| usize::from(it.0.is_some()) + 2 * usize::from(it.1.is_some()) == shape)
                .map(|(uuid, it)| (*uuid, it))
                .collect();
            for chunk in rows.chunks(BULK_PARAMS / 3) {
                let mut sql = Sql::new(dialect, "INSERT INTO rdb_group (uuid, description, ref_url) VALUES ");
                for (idx, (uuid, (description, ref_url))) in chunk.iter().enumerate() {
                    sql.push(if idx == 0 { "(" } else { ", (" });
                    sql.text(uuid).push(", ");
                    sql.opt_text(description.clone().flatten().as_deref()).push(", ");
                    sql.opt_text(ref_url.clone().flatten().as_deref()).push(")");
                }
                sql.push(match shape {
                    0 => " ON CONFLICT (uuid) DO UPDATE SET uuid = excluded.uuid",
                    1 => " ON CONFLICT (uuid) DO UPDATE SET description = excluded.description",
                    2 => " ON CONFLICT (uuid) DO UPDATE SET ref_url = excluded.ref_url",
                    _ => " ON CONFLICT (uuid) DO UPDATE SET description = excluded.description, ref_url = excluded.ref_url",
                });
                sql.push(" RETURNING id, uuid");
                for row in query!(sql).fetch_all(&mut *$tx).await? {
                    group_ids.insert(row.try_get(1)?, row.try_get(0)?);
                }
            }
        }
        for chunk in $batch.chunks(BULK_PARAMS / 6) {
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO rdb_result (id, testcase_id, submit_time, outcome, note, ref_url) VALUES ",
            );
            for (idx, pending) in chunk.iter().enumerate() {
                let new = &pending.new;
                sql.push(if idx == 0 { "(" } else { ", (" });
                sql.int(pending.id)
                    .push(", ")
                    .int(testcase_ids[new.testcase.as_str()])
                    .push(", ")
                    .int(new.submit_time)
                    .push(", ")
                    .text(&new.outcome)
                    .push(", ");
                sql.opt_text(new.note.as_deref())
                    .push(", ")
                    .opt_text(new.ref_url.as_deref())
                    .push(")");
            }
            query!(sql).execute(&mut *$tx).await?;
        }
        let data: Vec<(i64, &str, &str)> = $batch
            .iter()
            .flat_map(|pending| {
                pending
                    .new
                    .data
                    .iter()
                    .map(move |(key, value)| (pending.id, key.as_str(), value.as_str()))
            })
            .collect();
        for chunk in data.chunks(BULK_PARAMS / 3) {
            let mut sql = Sql::new(dialect, "INSERT INTO rdb_result_data (result_id, key, value) VALUES ");
            for (idx, (id, key, value)) in chunk.iter().enumerate() {
                sql.push(if idx == 0 { "(" } else { ", (" });
                sql.int(*id).push(", ").text(key).push(", ").text(value).push(")");
            }
            query!(sql).execute(&mut *$tx).await?;
        }
        let mut links: Vec<(i64, i64, i64)> = Vec::new();
        let mut stored: Vec<StoredResult> = Vec::with_capacity(count);
        for (idx, pending) in $batch.iter().enumerate() {
            let new = &pending.new;
            let mut uuids: Vec<String> = Vec::new();
            for group in &new.groups {
                if !uuids.contains(&group.uuid) {
                    let position = i64::try_from(uuids.len()).unwrap_or(i64::MAX);
                    uuids.push(group.uuid.clone());
                    links.push((group_ids[group.uuid.as_str()], pending.id, position));
                }
            }
            let mut data: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (key, value) in &new.data {
                data.entry(key.clone()).or_default().push(value.clone());
            }
            stored.push(StoredResult {
                id: pending.id,
                testcase: Testcase {
                    name: new.testcase.clone(),
                    ref_url: seen_ref_url[idx].clone(),
                },
                submit_time: new.submit_time,
                outcome: new.outcome.clone(),
                note: new.note.clone(),
                ref_url: new.ref_url.clone(),
                groups: uuids,
                data,
            });
        }
        for chunk in links.chunks(BULK_PARAMS / 3) {
            let mut sql = Sql::new(
                dialect,
                "INSERT INTO rdb_group_result (group_id, result_id, position) VALUES ",
            );
            for (idx, (group_id, id, position)) in chunk.iter().enumerate() {
                sql.push(if idx == 0 { "(" } else { ", (" });
                sql.int(*group_id).push(", ").int(*id).push(", ").int(*position).push(")");
            }
            sql.push(" ON CONFLICT DO NOTHING");
            query!(sql).execute(&mut *$tx).await?;
        }
        stored
    }};
}

/// Results waiting to be written, and whether a task is writing.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    state: std::sync::Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    pending: Vec<Pending>,
    writing: bool,
}

/// The most results one transaction takes from the queue.
const MAX_BATCH: usize = 256;

impl WriteQueue {
    /// Queue a result; start a writer task when none is running.
    fn submit(&self, store: &Store, pending: Pending) {
        let start = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.pending.push(pending);
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            let store = store.clone();
            tokio::spawn(async move { store.drain_writes().await });
        }
    }

    fn take(&self) -> Vec<Pending> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.pending.is_empty() {
            state.writing = false;
            return Vec::new();
        }
        let take = state.pending.len().min(MAX_BATCH);
        let rest = state.pending.split_off(take);
        std::mem::replace(&mut state.pending, rest)
    }
}

/// A result on its way into the database.
#[derive(Debug)]
struct Pending {
    new: NewResult,
    /// The `create_result` call waiting for it; none in a bulk load.
    caller: Option<Caller>,
    /// Its id, once reserved.
    id: i64,
    /// The result as its caller was told it (the caller's message is made
    /// from it).
    stored: Option<StoredResult>,
    /// Its outbox message.
    message: Option<String>,
    /// Whether a decision check for it commits with it.
    decision_check: bool,
    /// A job's reported results it is one of: (the `job_results` row, its
    /// index there); the row's `written` count moves past it in the same
    /// transaction, or the result is not written.
    mark: Option<(i64, i64)>,
}

/// What the writer sends a caller: its stored result and where to answer
/// with the message, or why it failed.
type StoredReply = Result<(StoredResult, oneshot::Sender<Option<String>>), String>;

#[derive(Debug)]
struct Caller {
    stored: Option<oneshot::Sender<StoredReply>>,
    done: Option<oneshot::Sender<Result<(), String>>>,
    fail_before_commit: bool,
}

impl Pending {
    fn fail(&mut self, why: &str) {
        if let Some(caller) = &mut self.caller {
            if let Some(stored) = caller.stored.take() {
                let _ = stored.send(Err(why.to_owned()));
            }
            if let Some(done) = caller.done.take() {
                let _ = done.send(Err(why.to_owned()));
            }
        }
    }
}

/// An error with its causes, for callers that share a transaction.
fn describe(err: &StoreError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Group commit: `create_result` queues its result, and one task at a time
/// writes everything queued in one transaction with a few multi-row
/// statements, instead of a transaction of six statements per result.
impl Store {
    async fn drain_writes(&self) {
        loop {
            let batch = self.writer.take();
            if batch.is_empty() {
                return;
            }
            // Errors have been sent to the callers.
            let _ = self.write_batch(batch).await;
        }
    }

    /// Write `batch` in one transaction: reserve the ids, insert every row,
    /// hand each caller its stored result and take back its message, insert
    /// the messages into the outbox, commit, and tell the callers.
    ///
    /// A statement that fails before any caller was told anything is retried
    /// result by result, so one bad result fails alone. A caller that went
    /// away before answering (or that asked to fail) is left out: the batch
    /// is rolled back to its start and written again without it, with the
    /// same ids; a result that would then differ from what its caller was
    /// told fails too.
    fn write_batch(
        &self,
        mut batch: Vec<Pending>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<i64>, StoreError>> + Send + '_>> {
        Box::pin(async move {
            let attempt = self.try_batch(&mut batch).await;
            match attempt {
                Ok(ids) => Ok(ids),
                Err((err, told)) if !told && batch.len() > 1 => {
                    tracing::warn!(error = %describe(&err), results = batch.len(), "a batch of results failed; writing them one by one");
                    let mut ids = Vec::new();
                    let mut first_err = None;
                    for pending in batch {
                        match self.write_batch(vec![pending]).await {
                            Ok(one) => ids.extend(one),
                            Err(err) => {
                                first_err.get_or_insert(err);
                            }
                        }
                    }
                    match first_err {
                        Some(err) if ids.is_empty() => Err(err),
                        _ => Ok(ids),
                    }
                }
                Err((err, _)) => {
                    let why = describe(&err);
                    for pending in &mut batch {
                        pending.fail(&why);
                    }
                    Err(err)
                }
            }
        })
    }

    /// One attempt at [`Store::write_batch`]; on error, whether callers had
    /// been told their results.
    async fn try_batch(&self, batch: &mut Vec<Pending>) -> Result<Vec<i64>, (StoreError, bool)> {
        let mut told = false;
        let result: Result<Vec<i64>, StoreError> = with_pool!(self, write, |pool, dialect| {
            async {
                let mut tx = match dialect {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                };
                // The ids a one-by-one insert would get: SQLite's next rowid
                // (the transaction holds the write lock), PostgreSQL's sequence.
                let count = i64::try_from(batch.len()).unwrap_or(i64::MAX);
                let ids: Vec<i64> = match dialect {
                    Dialect::Sqlite => {
                        let max: Option<i64> = sqlx::query("SELECT MAX(id) FROM rdb_result")
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get(0)?;
                        let max = max.unwrap_or(0);
                        (max + 1..=max + count).collect()
                    }
                    Dialect::Postgres => {
                        let mut sql = Sql::new(
                            dialect,
                            "SELECT nextval(pg_get_serial_sequence('rdb_result', 'id')) FROM generate_series(1, ",
                        );
                        sql.int(count).push(")");
                        let mut ids = Vec::with_capacity(batch.len());
                        for row in query!(sql).fetch_all(&mut *tx).await? {
                            ids.push(row.try_get::<i64, _>(0)?);
                        }
                        ids.sort_unstable();
                        ids
                    }
                };
                for (pending, id) in batch.iter_mut().zip(&ids) {
                    pending.id = *id;
                }
                sqlx::query("SAVEPOINT rdb_batch").execute(&mut *tx).await?;
                let mut first = true;
                loop {
                    let stored = insert_rows!(tx, dialect, batch);
                    let mut drop = vec![false; batch.len()];
                    // A job's result moves its row's count past it, or is
                    // not written: another server wrote it already.
                    for (idx, pending) in batch.iter_mut().enumerate() {
                        if let Some((row, index)) = pending.mark {
                            let mut sql = Sql::new(dialect, "UPDATE job_results SET written = ");
                            sql.int(index + 1).push(" WHERE id = ").int(row);
                            sql.push(" AND written = ").int(index);
                            if query!(sql).execute(&mut *tx).await?.rows_affected() == 0 {
                                pending.fail("this job result was written already");
                                drop[idx] = true;
                            }
                        }
                    }
                    if first {
                        first = false;
                        let mut replies = Vec::new();
                        for (idx, (pending, stored)) in batch.iter_mut().zip(stored).enumerate() {
                            if let Some(caller) = &mut pending.caller {
                                let (reply_tx, reply_rx) = oneshot::channel();
                                let sent = caller
                                    .stored
                                    .take()
                                    .is_some_and(|it| it.send(Ok((stored.clone(), reply_tx))).is_ok());
                                told = true;
                                if sent {
                                    replies.push((idx, reply_rx));
                                } else {
                                    drop[idx] = true;
                                }
                            }
                            pending.stored = Some(stored);
                        }
                        for (idx, reply) in replies {
                            match reply.await {
                                Ok(message) => batch[idx].message = message,
                                Err(_) => drop[idx] = true,
                            }
                        }
                    } else {
                        for (idx, stored) in stored.into_iter().enumerate() {
                            if batch[idx].stored.as_ref() != Some(&stored) {
                                batch[idx].fail("the result changed while its batch was written again: retry");
                                drop[idx] = true;
                            }
                        }
                    }
                    for (idx, pending) in batch.iter_mut().enumerate() {
                        if pending.caller.as_ref().is_some_and(|it| it.fail_before_commit) {
                            pending.fail("a commit (failing on purpose) not found");
                            drop[idx] = true;
                        }
                    }
                    if !drop.contains(&true) {
                        break;
                    }
                    sqlx::query("ROLLBACK TO SAVEPOINT rdb_batch")
                        .execute(&mut *tx)
                        .await?;
                    let mut keep = drop.iter().map(|it| !it);
                    batch.retain(|_| keep.next().unwrap_or(false));
                    if batch.is_empty() {
                        tx.rollback().await?;
                        return Ok(Vec::new());
                    }
                }
                for pending in batch.iter() {
                    if let Some(message) = &pending.message {
                        query!(crate::outbox::insert_sql(dialect, message))
                            .execute(&mut *tx)
                            .await?;
                    }
                    if pending.decision_check {
                        let at = pending
                            .stored
                            .as_ref()
                            .map_or(pending.new.submit_time, |it| it.submit_time);
                        query!(crate::outbox::insert_check_sql(
                            dialect,
                            crate::outbox::CheckKind::Result,
                            &[pending.id],
                            at,
                        ))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(batch.iter().map(|it| it.id).collect())
            }
            .await
        });
        match result {
            Ok(ids) => {
                for pending in batch.iter_mut() {
                    if let Some(done) = pending.caller.as_mut().and_then(|it| it.done.take()) {
                        let _ = done.send(Ok(()));
                    }
                }
                Ok(ids)
            }
            Err(err) => Err((err, told)),
        }
    }
}

/// The most placeholders in one bulk `INSERT` (SQLite allows 32766).
const BULK_PARAMS: usize = 30_000;

/// How large the seeded part of a store is: see [`Store::bulk_extent`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkExtent {
    /// The largest result id (0 when there is none).
    pub max_result_id: i64,
    /// The largest group id (0 when there is none).
    pub max_group_id: i64,
}

/// A result query to explain: see [`Store::explain_results_query`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum ExplainQuery<'a> {
    /// [`Store::get_result`].
    Get(i64),
    /// [`Store::list_results`].
    List(&'a ResultFilter, Order, Page),
    /// [`Store::latest_results`].
    Latest(&'a ResultFilter, &'a [String]),
}

impl Store {
    /// The SQL a result query runs (with its arguments) and the database's
    /// plan for it: SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's
    /// `EXPLAIN (ANALYZE, BUFFERS)` (which runs it). For the benchmarks.
    #[doc(hidden)]
    pub async fn explain_results_query(
        &self,
        query: ExplainQuery<'_>,
    ) -> Result<(String, Vec<String>), StoreError> {
        let mut sql = match query {
            ExplainQuery::Get(id) => get_sql(self.dialect(), id),
            ExplainQuery::List(filter, order, page) => {
                let mut sql = self.list_sql(filter, order, page).await?;
                push_load(&mut sql);
                sql
            }
            ExplainQuery::Latest(filter, distinct_on) => {
                let mut sql = self.latest_sql(filter, distinct_on).await?;
                push_load(&mut sql);
                sql
            }
        };
        let shown = format!("{}\n  -- arguments: {:?}", sql.text, sql.args);
        let mut lines = Vec::new();
        match self.dialect() {
            Dialect::Sqlite => {
                sql.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
                let mut depth: HashMap<i64, usize> = HashMap::new();
                with_pool!(self, read, |pool, _dialect| {
                    for row in query!(sql).fetch_all(pool).await? {
                        let id: i64 = row.try_get(0)?;
                        let parent: i64 = row.try_get(1)?;
                        let level = depth.get(&parent).map_or(0, |it| it + 1);
                        depth.insert(id, level);
                        lines.push(format!(
                            "{}{}",
                            "  ".repeat(level),
                            row.try_get::<String, _>(3)?
                        ));
                    }
                });
            }
            Dialect::Postgres => {
                sql.text = format!("EXPLAIN (ANALYZE, BUFFERS) {}", sql.text);
                with_pool!(self, read, |pool, _dialect| {
                    for row in query!(sql).fetch_all(pool).await? {
                        lines.push(row.try_get::<String, _>(0)?);
                    }
                });
            }
        }
        Ok((shown, lines))
    }
}

/// Bulk loading, for the benchmarks' seeder: not part of the API.
impl Store {
    /// Store many results in one transaction. The rows written are exactly
    /// those [`Store::create_result`] would write for each result in turn
    /// (without outbox messages): the same ids, testcases, groups, data rows
    /// and links. Returns the new ids, in order.
    #[doc(hidden)]
    pub async fn create_results_bulk(&self, batch: &[NewResult]) -> Result<Vec<i64>, StoreError> {
        let pending = batch
            .iter()
            .map(|new| Pending {
                new: new.clone(),
                caller: None,
                id: 0,
                stored: None,
                message: None,
                decision_check: false,
                mark: None,
            })
            .collect();
        self.write_batch(pending).await
    }

    /// The largest result and group ids: a seeded store holds results
    /// `1..=max_result_id`.
    #[doc(hidden)]
    pub async fn bulk_extent(&self) -> Result<BulkExtent, StoreError> {
        with_pool!(self, write, |pool, _dialect| {
            let row = sqlx::query(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM rdb_result), \
                 (SELECT COALESCE(MAX(id), 0) FROM rdb_group)",
            )
            .fetch_one(pool)
            .await?;
            Ok(BulkExtent {
                max_result_id: row.try_get(0)?,
                max_group_id: row.try_get(1)?,
            })
        })
    }

    /// Delete every result, group and outbox message past `keep`: a benchmark
    /// that posted results puts the seeded store back as it was. Returns how
    /// many results went.
    #[doc(hidden)]
    pub async fn truncate_bulk(&self, keep: BulkExtent) -> Result<u64, StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut tx = match dialect {
                Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                Dialect::Postgres => pool.begin().await?,
            };
            let mut deleted = 0;
            for (table, column, max) in [
                ("rdb_group_result", "result_id", keep.max_result_id),
                ("rdb_group_result", "group_id", keep.max_group_id),
                ("rdb_result_data", "result_id", keep.max_result_id),
                ("rdb_result", "id", keep.max_result_id),
                ("rdb_group", "id", keep.max_group_id),
            ] {
                let mut sql = Sql::new(dialect, &format!("DELETE FROM {table} WHERE {column} > "));
                sql.int(max);
                let done = query!(sql).execute(&mut *tx).await?.rows_affected();
                if table == "rdb_result" {
                    deleted = done;
                }
            }
            sqlx::query("DELETE FROM outbox").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// What a database does after a bulk load on its own, done now:
    /// PostgreSQL's autovacuum (VACUUM ANALYZE, so plans and index-only scans
    /// see the new rows); SQLite checkpoints its WAL. SQLite is not
    /// analyzed: the queries in this module choose their plans themselves,
    /// and with `sqlite_stat4` statistics SQLite re-prepares every statement
    /// whose bound values could change the plan, on every run.
    #[doc(hidden)]
    pub async fn finish_bulk_load(&self) -> Result<(), StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let statements: &[&str] = match dialect {
                Dialect::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
                Dialect::Postgres => &["VACUUM ANALYZE"],
            };
            for statement in statements {
                sqlx::query(sqlx::AssertSqlSafe(*statement))
                    .execute(pool)
                    .await?;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    /// Run `body` on a fresh SQLite store, and on a fresh PostgreSQL schema
    /// when TASKOTRON_TEST_DATABASE_URL is set.
    async fn each_backend<F, Fut>(body: F)
    where
        F: Fn(Store) -> Fut,
        Fut: Future<Output = ()>,
    {
        let tmp = tempfile::tempdir().unwrap();
        body(Store::open_sqlite(tmp.path()).await.unwrap()).await;
        if let Ok(url) = std::env::var("TASKOTRON_TEST_DATABASE_URL") {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let pg = Store::open_postgres(&url, Some(&schema)).await.unwrap();
            body(pg.clone()).await;
            pg.drop_schema_for_tests(&schema).await.unwrap();
        }
    }

    fn new_result(n: usize, testcase_ref_url: Update, groups: &[&str]) -> NewResult {
        NewResult {
            testcase: format!("tc{}", n % 3),
            testcase_ref_url,
            outcome: "PASSED".into(),
            note: Some(format!("note {n}")),
            ref_url: None,
            submit_time: 1_000 + i64::try_from(n).unwrap(),
            groups: groups
                .iter()
                .map(|uuid| GroupUpdate {
                    uuid: (*uuid).to_owned(),
                    description: n.is_multiple_of(2).then(|| Some(format!("d{n}"))),
                    ref_url: None,
                })
                .collect(),
            data: vec![
                ("item".into(), format!("pkg-{}", n % 4)),
                ("arch".into(), "x86_64".into()),
                ("arch".into(), "noarch".into()),
            ],
        }
    }

    fn inputs() -> Vec<NewResult> {
        (0..12)
            .map(|n| {
                let url = match n % 4 {
                    0 => None,
                    1 => Some(Some(format!("u{n}"))),
                    2 => Some(None),
                    _ => Some(Some("same".to_owned())),
                };
                new_result(n, url, &["g1", if n % 2 == 0 { "g2" } else { "g1" }])
            })
            .collect()
    }

    /// Everything the API can read back.
    async fn snapshot(store: &Store) -> (Vec<StoredResult>, Vec<Group>, Vec<Testcase>) {
        let all = Page {
            page: 0,
            limit: 1000,
        };
        let results = store
            .list_results(&ResultFilter::default(), Order::OldestFirst, all)
            .await
            .unwrap()
            .items;
        let groups = store.list_groups(&[], &[], &[], all).await.unwrap().items;
        let testcases = store.list_testcases(&[], &[], all).await.unwrap().items;
        (results, groups, testcases)
    }

    #[tokio::test]
    async fn a_bulk_load_writes_what_one_by_one_writes() {
        let one_by_one = tempfile::tempdir().unwrap();
        let single = Store::open_sqlite(one_by_one.path()).await.unwrap();
        let mut returned = Vec::new();
        for new in inputs() {
            returned.push(single.create_result(&new, |_| None).await.unwrap());
        }
        let expected = snapshot(&single).await;
        assert_eq!(expected.0.len(), 12);
        // What create_result returned is what reads give back, but for the
        // testcase's ref_url, which later results changed.
        for (got, read) in returned.iter().zip(&expected.0) {
            let mut got = got.clone();
            got.groups.sort();
            got.testcase.ref_url.clone_from(&read.testcase.ref_url);
            let mut read = read.clone();
            read.groups.sort();
            assert_eq!(got, read);
        }
        // Each saw the ref_url as its own upsert left it.
        let seen: Vec<Option<&str>> = returned
            .iter()
            .take(4)
            .map(|it| it.testcase.ref_url.as_deref())
            .collect();
        assert_eq!(seen, [None, Some("u1"), None, Some("same")]);
        each_backend(|store| {
            let expected = expected.clone();
            async move {
                let ids = store.create_results_bulk(&inputs()).await.unwrap();
                assert_eq!(ids, (1..=12).collect::<Vec<i64>>());
                let mut got = snapshot(&store).await;
                let mut want = expected.clone();
                for results in [&mut got.0, &mut want.0] {
                    for result in results.iter_mut() {
                        result.groups.sort();
                    }
                }
                assert_eq!(got, want);
            }
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_results_share_commits_and_each_is_stored() {
        each_backend(|store| async move {
            let tasks: Vec<_> = inputs()
                .into_iter()
                .cycle()
                .take(60)
                .map(|new| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let stored = store
                            .create_result(&new, |it| Some(format!("message {}", it.id)))
                            .await
                            .unwrap();
                        (new, stored)
                    })
                })
                .collect();
            let mut ids = Vec::new();
            for task in tasks {
                let (new, stored) = task.await.unwrap();
                assert_eq!(stored.note, new.note);
                let mut read = store.get_result(stored.id).await.unwrap().unwrap();
                read.groups.sort();
                let mut stored = stored;
                stored.groups.sort();
                // Later results may have changed the testcase's ref_url.
                stored.testcase.ref_url.clone_from(&read.testcase.ref_url);
                assert_eq!(read, stored);
                ids.push(stored.id);
            }
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 60);
            let mut messages: Vec<String> = store
                .outbox_pending(100)
                .await
                .unwrap()
                .into_iter()
                .map(|it| it.message)
                .collect();
            messages.sort();
            let mut want: Vec<String> = ids.iter().map(|id| format!("message {id}")).collect();
            want.sort();
            assert_eq!(messages, want);
        })
        .await;
    }

    #[tokio::test]
    async fn a_caller_that_went_away_leaves_nothing_and_the_rest_commit() {
        each_backend(|store| async move {
            let mut batch = Vec::new();
            let mut waiting = Vec::new();
            for (n, new) in inputs().into_iter().take(3).enumerate() {
                let (stored_tx, stored_rx) = oneshot::channel();
                let (done_tx, done_rx) = oneshot::channel();
                batch.push(Pending {
                    new,
                    caller: Some(Caller {
                        stored: Some(stored_tx),
                        done: Some(done_tx),
                        fail_before_commit: false,
                    }),
                    id: 0,
                    stored: None,
                    message: None,
                    decision_check: false,
                    mark: None,
                });
                if n == 1 {
                    // The second caller is gone before its result is ready.
                    drop(stored_rx);
                    drop(done_rx);
                } else {
                    waiting.push((stored_rx, done_rx));
                }
            }
            let answer = async {
                let mut ids = Vec::new();
                let mut dones = Vec::new();
                for (stored_rx, done_rx) in waiting {
                    let (stored, reply) = stored_rx.await.unwrap().unwrap();
                    reply.send(Some(format!("m{}", stored.id))).unwrap();
                    ids.push(stored.id);
                    dones.push(done_rx);
                }
                for done_rx in dones {
                    done_rx.await.unwrap().unwrap();
                }
                ids
            };
            let (written, answered) = tokio::join!(store.write_batch(batch), answer);
            let written = written.unwrap();
            assert_eq!(written, answered);
            assert_eq!(written.len(), 2);
            let (results, _, _) = snapshot(&store).await;
            assert_eq!(results.iter().map(|it| it.id).collect::<Vec<_>>(), written);
            assert_eq!(store.outbox_len().await.unwrap(), 2);
            // The third result follows the first: the second is not there.
            assert_eq!(results[1].note.as_deref(), Some("note 2"));
        })
        .await;
    }

    /// Every place a query can start from gives the same answers: the
    /// planner only ever changes the speed.
    #[tokio::test]
    async fn every_drive_gives_the_same_answers() {
        each_backend(|store| async move {
            let batch: Vec<NewResult> = (0..90)
                .map(|n| {
                    let mut new = new_result(n, None, &[]);
                    new.testcase = format!("dist.tc{}", n % 4);
                    new.outcome = ["PASSED", "FAILED", "INFO"][n % 3].to_owned();
                    // Ties on submit_time, so the id decides the order.
                    new.submit_time = 1_000 + i64::try_from(n / 2).unwrap();
                    new.groups = (n % 5 == 0)
                        .then(|| GroupUpdate {
                            uuid: format!("g{}", n % 3),
                            description: None,
                            ref_url: None,
                        })
                        .into_iter()
                        .collect();
                    new.data = vec![
                        ("item".into(), format!("pkg-{}", n % 7)),
                        ("type".into(), "koji_build".into()),
                        ("scenario".into(), format!("s{}", n % 2)),
                    ];
                    if n % 4 == 0 {
                        // A key given twice.
                        new.data.push(("scenario".into(), "s9".into()));
                    }
                    new
                })
                .collect();
            store.create_results_bulk(&batch).await.unwrap();
            let exact = |key: &str, values: &[&str]| DataFilter::Exact {
                key: key.into(),
                values: values.iter().map(|it| (*it).to_owned()).collect(),
            };
            let like = |key: &str, patterns: &[&str]| DataFilter::Like {
                key: key.into(),
                patterns: patterns.iter().map(|it| (*it).to_owned()).collect(),
            };
            let filters = [
                ResultFilter {
                    data: vec![exact("type", &["koji_build"]), exact("item", &["pkg-3"])],
                    ..Default::default()
                },
                ResultFilter {
                    data: vec![
                        exact("item", &["pkg-1", "pkg-2"]),
                        like("scenario", &["s%"]),
                    ],
                    testcases: vec!["dist.tc1".into(), "dist.tc2".into()],
                    ..Default::default()
                },
                ResultFilter {
                    data: vec![like("item", &["%-4", "pkg-5"])],
                    outcomes: vec!["PASSED".into(), "INFO".into()],
                    testcases_like: vec!["dist.%".into()],
                    since: Some(1_010),
                    until: Some(1_040),
                    ..Default::default()
                },
                ResultFilter {
                    data: vec![exact("scenario", &["s9"])],
                    groups: vec!["g0".into(), "g2".into()],
                    ..Default::default()
                },
                ResultFilter {
                    groups: vec!["g1".into()],
                    testcases: vec!["dist.tc0".into()],
                    ..Default::default()
                },
            ];
            let pages = [
                Page { page: 0, limit: 3 },
                Page { page: 2, limit: 3 },
                Page {
                    page: 0,
                    limit: 100,
                },
            ];
            for filter in &filters {
                let mut drives = vec![Drive::Scan];
                drives.extend((0..filter.data.len()).map(Drive::Data));
                if !filter.groups.is_empty() {
                    drives.push(Drive::Groups);
                }
                let latest_filter = ResultFilter {
                    outcomes: Vec::new(),
                    ..filter.clone()
                };
                let testcases = store.resolve_testcases(filter).await.unwrap();
                let testcases = testcases.as_deref();
                let mut answers = Vec::new();
                for drive in &drives {
                    let mut answer = Vec::new();
                    for order in [Order::NewestFirst, Order::OldestFirst] {
                        for page in pages {
                            let sql = store.list_sql_from(filter, testcases, order, page, *drive);
                            let got = store.list_page(sql, order, page).await.unwrap();
                            answer.push((got.has_next, got.items));
                        }
                    }
                    for distinct_on in [&[][..], &["scenario".to_owned()][..]] {
                        let sql =
                            store.latest_sql_from(&latest_filter, testcases, distinct_on, *drive);
                        answer.push((false, store.fetch_page(sql).await.unwrap()));
                    }
                    answers.push(answer);
                }
                // The filter matches something, and not everything.
                let all = &answers[0][2].1;
                assert!(
                    !all.is_empty() && all.len() < 90,
                    "{filter:?}: {}",
                    all.len()
                );
                for (drive, answer) in drives.iter().zip(&answers) {
                    assert_eq!(answer, &answers[0], "{filter:?} from {drive:?}");
                }
            }
        })
        .await;
    }

    #[tokio::test]
    async fn probes_pick_the_selective_filter_and_walk_for_the_broad_one() {
        each_backend(|store| async move {
            let batch: Vec<NewResult> = (0..3000)
                .map(|n| {
                    let mut new = new_result(n, None, &[]);
                    new.data = vec![
                        ("item".into(), format!("pkg-{n}")),
                        ("type".into(), "koji_build".into()),
                    ];
                    new
                })
                .collect();
            store.create_results_bulk(&batch).await.unwrap();
            let exact = |key: &str, value: &str| DataFilter::Exact {
                key: key.into(),
                values: vec![value.into()],
            };
            let both = ResultFilter {
                data: vec![exact("type", "koji_build"), exact("item", "pkg-7")],
                ..Default::default()
            };
            assert_eq!(store.plan(&both, Some(21)).await.unwrap(), Drive::Data(1));
            assert_eq!(store.plan(&both, None).await.unwrap(), Drive::Data(1));
            let broad = ResultFilter {
                data: vec![exact("type", "koji_build")],
                ..Default::default()
            };
            assert_eq!(store.plan(&broad, Some(21)).await.unwrap(), Drive::Scan);
            let page = store
                .list_results(&broad, Order::NewestFirst, Page { page: 0, limit: 2 })
                .await
                .unwrap();
            assert_eq!(
                page.items.iter().map(|it| it.id).collect::<Vec<_>>(),
                [3000, 2999]
            );
            assert!(page.has_next);
            // After enough probes, `item` is trusted without probing.
            for _ in 0..HINT_TRUST {
                store.plan(&both, None).await.unwrap();
            }
            assert_eq!(
                store.trusted_candidate(&both, &[Drive::Data(0), Drive::Data(1)]),
                Some(Drive::Data(1))
            );
            let found = store.latest_results(&both, &[]).await.unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].data["item"], ["pkg-7"]);
        })
        .await;
    }
}
