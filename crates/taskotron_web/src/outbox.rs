//! The store's outbox as the bus relay's source of messages.

use std::time::Duration;

use taskotron_bus::{OutboxSource, OutgoingMessage};
use taskotron_store::Store;

/// How long a relay's claim on the outbox lasts without renewal. The relay
/// renews it on every round (at least every poll interval, and after each
/// backoff, which is at most 30 s plus jitter); a relay that died is
/// replaced after this long.
pub const CLAIM_TTL: Duration = Duration::from_secs(60);

/// Reads pending messages from the store's outbox and deletes them once
/// published; claims the outbox under a name unique to this process.
#[derive(Debug, Clone)]
pub struct StoreOutbox {
    store: Store,
    holder: String,
}

impl StoreOutbox {
    /// The outbox of `store`, claimed as `holder` (unique per relay: host
    /// name, process id and a random part, say).
    pub fn new(store: Store, holder: impl Into<String>) -> StoreOutbox {
        StoreOutbox {
            store,
            holder: holder.into(),
        }
    }

    /// The name this relay claims the outbox under.
    pub fn holder(&self) -> &str {
        &self.holder
    }
}

impl OutboxSource for StoreOutbox {
    async fn pending(&self, limit: usize) -> Result<Vec<(i64, OutgoingMessage)>, anyhow::Error> {
        let rows = self
            .store
            .outbox_pending(i64::try_from(limit).unwrap_or(i64::MAX))
            .await?;
        rows.into_iter()
            .map(|row| {
                let message: OutgoingMessage =
                    serde_json::from_str(&row.message).map_err(|err| {
                        anyhow::anyhow!("outbox row {} is not a message: {err}", row.id)
                    })?;
                Ok((row.id, message))
            })
            .collect()
    }

    async fn published(&self, ids: &[i64]) -> Result<(), anyhow::Error> {
        Ok(self.store.outbox_published(ids).await?)
    }

    async fn claim(&self) -> Result<bool, anyhow::Error> {
        Ok(self.store.outbox_claim(&self.holder, CLAIM_TTL).await?)
    }

    async fn release(&self) -> Result<(), anyhow::Error> {
        Ok(self.store.outbox_release(&self.holder).await?)
    }
}
