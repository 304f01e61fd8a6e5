//! Taskotron's persistence, on SQLite or PostgreSQL.
//!
//! [`Store`] opens either backend: the embedded SQLite file in the data
//! directory (`taskotron.db`, WAL mode; one writer connection, many readers)
//! or a PostgreSQL database for production and several machines. Both get the
//! same schema from their own migrations (`migrations/sqlite`,
//! `migrations/postgres`), applied when the store opens and by
//! `taskotron migrate`.
//!
//! What it stores so far: ResultsDB's data model ([`resultsdb`]), the
//! outbox of messages to publish ([`outbox`]), written in the same transaction
//! as the rows they announce, and the durable job queue with its leases and
//! attempts ([`jobs`]).
//!
//! Architecture invariant: SQL appears in this crate and nowhere else. Every
//! query is written once with dialect-aware placeholders ([`sql`]), and runs
//! on either backend through the `with_pool!` macro.

mod artifacts;
pub mod events;
pub mod job_results;
pub mod jobs;
pub mod ledger;
mod outbox;
pub mod resultsdb;
mod sql;
pub mod waivers;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use outbox::{CheckKind, DecisionCheck, PendingMessage};
use sql::Dialect;

/// The SQLite file's name inside the data directory.
pub const SQLITE_FILE: &str = "taskotron.db";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be opened.
    #[error("cannot open the database {what}")]
    Open {
        /// The database file, or the PostgreSQL URL without its password.
        what: String,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("cannot migrate the database {what}")]
    Migrate {
        /// The database file or URL.
        what: String,
        /// What went wrong.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A row the caller asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A query failed.
    #[error("database query failed")]
    Backend(#[from] sqlx::Error),
    /// A heartbeat or result came from an attempt that no longer holds the
    /// job: its token is not the job's current one, or the job is no longer
    /// running (its lease expired, it was cancelled or already finished).
    #[error("attempt with token {token} no longer holds job {job}")]
    StaleAttempt {
        /// The job's uuid.
        job: String,
        /// The token the attempt presented.
        token: i64,
    },
    /// A job to enqueue is malformed; nothing of its batch was written.
    #[error("cannot enqueue job {key}: {reason}")]
    InvalidJob {
        /// The job's key, as text.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An event to record is malformed; nothing of its batch was written.
    #[error("cannot record the event: {0}")]
    InvalidEvent(&'static str),
    /// A result written in a transaction shared with others failed (the
    /// text says why).
    #[error("cannot store the result: {0}")]
    Write(String),
}

/// How SQLite commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// `synchronous=NORMAL`: a commit survives a crash of the process; the last
    /// commits may be lost if the machine loses power. Much faster.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before it is acknowledged.
    Full,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite {
        /// Reads: several connections.
        read: SqlitePool,
        /// Writes: one connection, so writers queue in the process instead of
        /// failing on SQLite's database lock.
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    what: String,
    /// About how many results there are (the largest id seen by the last
    /// SQLite query plan): query planning in [`resultsdb`] weighs with it.
    result_count_hint: Arc<AtomicI64>,
    /// Results waiting for the group commit (see `resultsdb`).
    writer: Arc<resultsdb::WriteQueue>,
    /// Which data keys make selective filters (see `resultsdb`).
    key_hints: Arc<resultsdb::KeyHints>,
    /// Testcase ids by name (see `resultsdb`).
    testcase_ids: Arc<resultsdb::TestcaseIds>,
}

/// Run `$body` with `$pool` bound to the backend's read (or write) pool and
/// `$dialect` to its dialect; the body is compiled once per backend.
macro_rules! with_pool {
    ($store:expr, $kind:ident, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite { $kind, .. } => {
                let $pool = $kind;
                let $dialect = $crate::sql::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres(pool) => {
                let $pool = pool;
                let $dialect = $crate::sql::Dialect::Postgres;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Open the store named by `database_url`, or the SQLite store in
    /// `data_dir` when there is none, and apply migrations.
    pub async fn open(
        database_url: Option<&str>,
        schema: Option<&str>,
        data_dir: &Path,
    ) -> Result<Store, StoreError> {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Store::open_postgres(url, schema).await
            }
            Some(url) => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                Store::open_sqlite_file(Path::new(path), SqliteDurability::default()).await
            }
            None => Store::open_sqlite(data_dir).await,
        }
    }

    /// Open (creating if needed) the SQLite store in `data_dir` and apply migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        Store::open_sqlite_file(&data_dir.join(SQLITE_FILE), SqliteDurability::default()).await
    }

    /// Open (creating if needed) an SQLite database file and apply migrations.
    pub async fn open_sqlite_file(
        path: &Path,
        durability: SqliteDurability,
    ) -> Result<Store, StoreError> {
        let what = path.display().to_string();
        let open_err = |source| StoreError::Open {
            what: what.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|it| !it.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                path: parent.to_owned(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                SqliteDurability::Normal => SqliteSynchronous::Normal,
                SqliteDurability::Full => SqliteSynchronous::Full,
            })
            .foreign_keys(true)
            // ResultsDB's LIKE is PostgreSQL's: case-sensitive, and prefix
            // patterns then use the indexes.
            .pragma("case_sensitive_like", "ON")
            .pragma("cache_size", "-65536")
            // Map the file: readers share the OS page cache instead of each
            // copying pages into its own cache through read() calls.
            .pragma("mmap_size", "17179869184")
            .busy_timeout(Duration::from_secs(30));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&write)
            .await
            .map_err(|source| StoreError::Migrate {
                what: what.clone(),
                source,
            })?;
        let read = SqlitePoolOptions::new()
            .max_connections(16)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_err)?;
        let store = Store {
            backend: Backend::Sqlite { read, write },
            what,
            result_count_hint: Arc::default(),
            writer: Arc::default(),
            key_hints: Arc::default(),
            testcase_ids: Arc::default(),
        };
        store.record_creator().await?;
        tracing::info!(db.path = %store.what, "opened the SQLite store");
        Ok(store)
    }

    /// Connect to PostgreSQL and apply migrations. With `schema`, every
    /// connection works in that schema (created when missing): tests use this
    /// to give each test its own.
    pub async fn open_postgres(url: &str, schema: Option<&str>) -> Result<Store, StoreError> {
        let what = redact_url(url);
        let open_err = |source| StoreError::Open {
            what: what.clone(),
            source,
        };
        let mut options = PgConnectOptions::from_str(url).map_err(open_err)?;
        if let Some(schema) = schema {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(open_err)?;
            // The schema name is quoted and cannot close its quotes.
            let create = format!(
                "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                schema.replace('"', "")
            );
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&admin)
                .await
                .map_err(open_err)?;
            admin.close().await;
            options = options.options([("search_path", schema)]);
        }
        // Plan each prepared statement once per connection, not on every
        // run: planning the result queries costs more than running them.
        // Their SQL pins the plan (see `resultsdb`), so a plan made without
        // the values is as good as one made with them.
        // No parallel workers and no JIT either: they take milliseconds to
        // start, more than any of these queries takes to run.
        options = options.options([
            ("plan_cache_mode", "force_generic_plan"),
            ("max_parallel_workers_per_gather", "0"),
            ("jit", "off"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                what: what.clone(),
                source,
            })?;
        let store = Store {
            backend: Backend::Postgres(pool),
            what,
            result_count_hint: Arc::default(),
            writer: Arc::default(),
            key_hints: Arc::default(),
            testcase_ids: Arc::default(),
        };
        store.record_creator().await?;
        tracing::info!(db.url = %store.what, "opened the PostgreSQL store");
        Ok(store)
    }

    async fn record_creator(&self) -> Result<(), StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut sql = sql::Sql::new(
                dialect,
                "INSERT INTO taskotron_meta (key, value) VALUES ('created_by', ",
            );
            sql.text(concat!("taskotron ", env!("CARGO_PKG_VERSION")));
            sql.push(") ON CONFLICT (key) DO NOTHING");
            sql::query!(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// Which database this is: the SQLite file, or the PostgreSQL URL without its password.
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Drop a PostgreSQL schema made by `open_postgres(url, Some(schema))`,
    /// and close the store: tests clean up with it.
    #[doc(hidden)]
    pub async fn drop_schema_for_tests(&self, schema: &str) -> Result<(), StoreError> {
        if let Backend::Postgres(pool) = &self.backend {
            let drop = format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                schema.replace('"', "")
            );
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await?;
        }
        self.close().await;
        Ok(())
    }

    /// Check that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            sqlx::query("SELECT 1 FROM rdb_result LIMIT 0")
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Close the pools, waiting for connections to finish.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(idx) => rest.split_at(idx),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[tokio::test]
    async fn creates_the_data_dir_and_the_database_once() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("nested/data");
        let store = Store::open_sqlite(&data_dir).await.unwrap();
        store.ping().await.unwrap();
        assert!(data_dir.join(SQLITE_FILE).is_file());
        store.close().await;
        let again = Store::open_sqlite(&data_dir).await.unwrap();
        again.ping().await.unwrap();
    }

    #[tokio::test]
    async fn an_unwritable_data_dir_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = Store::open_sqlite(&file.join("sub")).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot create the data directory"),
            "{err}"
        );
    }
}
