//! The outbox: messages committed with the rows they announce, read by the
//! relay that publishes them, and deleted once the broker confirmed them.
//!
//! Decision checks: a result or waivers that may change a gating decision
//! commit with a `decision_checks` row; a checker reads the row, compares
//! the decisions before and after, and replaces the row by the
//! `greenwave.decision.update` messages in one transaction
//! ([`Store::decision_check_done`]), so a crash at any point loses no
//! message and writes none twice.

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
    sql.text(message).push(", ").int(micros_now()).push(")");
    sql
}

/// What a decision check compares decisions after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A new result (one id).
    Result,
    /// Waivers stored together (their ids).
    Waivers,
}

impl CheckKind {
    fn as_str(self) -> &'static str {
        match self {
            CheckKind::Result => "result",
            CheckKind::Waivers => "waivers",
        }
    }
}

/// A decision check waiting to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCheck {
    /// Its id (the order they were written in).
    pub id: i64,
    /// After what.
    pub kind: CheckKind,
    /// The result's id, or the waivers' ids.
    pub ids: Vec<i64>,
    /// When the result or waivers were stored (microseconds since the Unix
    /// epoch, UTC): decisions are compared just before and at it.
    pub at: i64,
    /// How many times it could not be made.
    pub attempts: i64,
}

fn micros_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |it| i64::try_from(it.as_micros()).unwrap_or(i64::MAX))
}

/// The insert of one decision check, for use inside the transaction that
/// stores what it is about.
pub(crate) fn insert_check_sql(dialect: Dialect, kind: CheckKind, ids: &[i64], at: i64) -> Sql {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut sql = Sql::new(
        dialect,
        "INSERT INTO decision_checks (kind, ids, at, created_at) VALUES (",
    );
    sql.text(kind.as_str())
        .push(", ")
        .text(&ids.join(","))
        .push(", ")
        .int(at)
        .push(", ")
        .int(micros_now())
        .push(")");
    sql
}

impl Store {
    /// Decision checks waiting to be made, oldest first, from after
    /// `after_id`.
    pub async fn decision_checks_pending(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DecisionCheck>, StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "SELECT id, kind, ids, at, attempts FROM decision_checks WHERE id > ",
        );
        sql.int(after_id).push(" ORDER BY id LIMIT ").int(limit);
        with_pool!(self, write, |pool, _dialect| {
            let mut out = Vec::new();
            for row in query!(sql).fetch_all(pool).await? {
                let id: i64 = row.try_get(0)?;
                let kind: String = row.try_get(1)?;
                let ids: String = row.try_get(2)?;
                let kind = match kind.as_str() {
                    "result" => CheckKind::Result,
                    "waivers" => CheckKind::Waivers,
                    other => {
                        return Err(StoreError::Write(format!(
                            "decision check {id} has an unknown kind {other:?}"
                        )));
                    }
                };
                let ids = ids
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<i64>, _>>()
                    .map_err(|err| {
                        StoreError::Write(format!(
                            "decision check {id} has unreadable ids {ids:?}: {err}"
                        ))
                    })?;
                out.push(DecisionCheck {
                    id,
                    kind,
                    ids,
                    at: row.try_get(3)?,
                    attempts: row.try_get(4)?,
                });
            }
            Ok(out)
        })
    }

    /// A decision check was made: delete it and add its messages to the
    /// outbox, in one transaction. `false` (and nothing written) when the
    /// check was gone already, made by another process sharing the
    /// database.
    pub async fn decision_check_done(
        &self,
        id: i64,
        messages: &[String],
    ) -> Result<bool, StoreError> {
        let mut delete = Sql::new(self.dialect(), "DELETE FROM decision_checks WHERE id = ");
        delete.int(id);
        with_pool!(self, write, |pool, dialect| {
            let mut tx = pool.begin().await?;
            let deleted = query!(delete).execute(&mut *tx).await?.rows_affected();
            if deleted == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for message in messages {
                let sql = insert_sql(dialect, message);
                query!(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A decision check could not be made this time: count the attempt.
    pub async fn decision_check_failed(&self, id: i64) -> Result<(), StoreError> {
        let mut sql = Sql::new(
            self.dialect(),
            "UPDATE decision_checks SET attempts = attempts + 1 WHERE id = ",
        );
        sql.int(id);
        with_pool!(self, write, |pool, _dialect| {
            query!(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// How many decision checks wait to be made.
    pub async fn decision_checks_len(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, |pool, _dialect| {
            Ok(sqlx::query("SELECT COUNT(*) FROM decision_checks")
                .fetch_one(pool)
                .await?
                .try_get(0)?)
        })
    }

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
