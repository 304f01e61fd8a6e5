//! Taskotron's persistence.
//!
//! For now: the embedded SQLite store in the data directory (`taskotron.db`,
//! WAL mode), created and migrated when `taskotron serve` starts. The
//! ResultsDB tables and the PostgreSQL backend arrive with the result-store
//! issue, behind the same [`Store`] type.
//!
//! Architecture invariant: SQL appears in this crate and nowhere else.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

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
    /// The database cannot be opened or migrated.
    #[error("cannot open the database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("cannot migrate the database {path}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database query failed")]
    Backend(#[from] sqlx::Error),
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) the SQLite store in `data_dir` and apply migrations.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(SQLITE_FILE);
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.clone(),
                source,
            })?;
        sqlx::query("INSERT OR IGNORE INTO taskotron_meta (key, value) VALUES ('created_by', ?)")
            .bind(concat!("taskotron ", env!("CARGO_PKG_VERSION")))
            .execute(&pool)
            .await?;
        tracing::info!(db.path = %path.display(), "opened the SQLite store");
        Ok(Store { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Check that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Close the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn creates_the_data_dir_and_the_database_once() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("nested/data");
        let store = Store::open_sqlite(&data_dir).await.unwrap();
        store.ping().await.unwrap();
        assert!(data_dir.join(SQLITE_FILE).is_file());
        store.close().await;
        // Opening again re-applies nothing and keeps working.
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
