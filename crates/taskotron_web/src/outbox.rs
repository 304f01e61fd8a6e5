//! The store's outbox as the bus relay's source of messages.

use taskotron_bus::{OutboxSource, OutgoingMessage};
use taskotron_store::Store;

/// Reads pending messages from the store's outbox and deletes them once published.
#[derive(Debug, Clone)]
pub struct StoreOutbox(pub Store);

impl OutboxSource for StoreOutbox {
    async fn pending(&self, limit: usize) -> Result<Vec<(i64, OutgoingMessage)>, anyhow::Error> {
        let rows = self
            .0
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
        Ok(self.0.outbox_published(ids).await?)
    }
}
