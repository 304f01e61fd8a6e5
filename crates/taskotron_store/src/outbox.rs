//! The outbox: messages committed with the rows they announce, read by the
//! relay that publishes them, and deleted once the broker confirmed them.

use std::time::Duration;

use sqlx::Row;

use crate::sql::{Dialect, Sql, query};
use crate::{Store, StoreError, with_pool};

/// A message waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMessage {
    /// Its outbox id (publishing order).
    pub id: i64,
    /// The message as the bus crate serialised it (JSON).
    pub message: String,
}

/// The insert of one outbox message, for use inside a transaction.
pub(crate) fn insert_sql(dialect: Dialect, message: &str) -> Sql {
    let mut sql = Sql::new(dialect, "INSERT INTO outbox (message, created_at) VALUES (");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |it| i64::try_from(it.as_micros()).unwrap_or(i64::MAX));
    sql.text(message).push(", ").int(now).push(")");
    sql
}

impl Store {
    /// The oldest messages not yet published, oldest first.
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<PendingMessage>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT id, message FROM outbox ORDER BY id LIMIT ",
        );
        sql.int(limit);
        with_pool!(self, write, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                out.push(PendingMessage {
                    id: row.try_get(0)?,
                    message: row.try_get(1)?,
                });
            }
            Ok(out)
        })
    }

    /// Add messages (serialised by the bus crate) to the outbox in one
    /// transaction, for messages that announce no row of their own (a
    /// changed gating decision).
    pub async fn outbox_add(&self, messages: &[String]) -> Result<(), StoreError> {
        with_pool!(self, write, |pool, dialect| {
            let mut tx = pool.begin().await?;
            for message in messages {
                let sql = insert_sql(dialect, message);
                query!(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Forget messages the broker has confirmed.
    pub async fn outbox_published(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(self.dialect(), "DELETE FROM outbox WHERE id IN ");
        sql.int_list(ids);
        with_pool!(self, write, |pool, _dialect| {
            query!(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// Take or renew the relay's claim on the outbox for `holder`, for
    /// `ttl` from now by the database's clock: `true` when `holder` holds
    /// it. The claim is free when nobody holds it, when its holder's time
    /// ran out, or when `holder` already holds it.
    pub async fn outbox_claim(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        let now = match dialect {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
        };
        let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2);
        let mut sql = Sql::new(
            dialect,
            "INSERT INTO outbox_lease (name, holder, expires_at) VALUES ('relay', ",
        );
        sql.text(holder).push(&format!(", {now} + ")).int(ttl);
        sql.push(&format!(
            ") ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE outbox_lease.holder = excluded.holder OR outbox_lease.expires_at < {now} \
             RETURNING holder"
        ));
        with_pool!(self, write, |pool, _dialect| {
            Ok(query!(sql).fetch_optional(pool).await?.is_some())
        })
    }

    /// Give up `holder`'s claim on the outbox (nothing when it holds none).
    pub async fn outbox_release(&self, holder: &str) -> Result<(), StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "DELETE FROM outbox_lease WHERE name = 'relay' AND holder = ",
        );
        sql.text(holder);
        with_pool!(self, write, |pool, _dialect| {
            query!(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// How many messages wait to be published.
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            Ok(sqlx::query("SELECT COUNT(*) FROM outbox")
                .fetch_one(pool)
                .await?
                .try_get(0)?)
        })
    }
}
