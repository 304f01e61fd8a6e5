//! Bus intake: consume fedora-messaging messages, record each as an event
//! and acknowledge it only once the event is committed.
//!
//! Messages are taken in batches (whatever is ready, up to [`BATCH`]) and
//! recorded in one transaction, then acknowledged. A message that does not
//! decode is recorded as rejected, with the reason, and acknowledged: it is
//! never requeued forever. When the store cannot be written the batch is
//! handed back to the broker (nack with requeue) and intake pauses; when
//! the broker goes away intake reconnects with a growing pause.

use std::sync::Arc;
use std::time::Duration;

use taskotron_bus::{Consumer, ConsumerConfig, Received};
use taskotron_store::Store;
use taskotron_store::events::{EventState, Recorded};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::SchedulerMetrics;
use crate::normalize;

/// Most messages recorded in one transaction.
pub const BATCH: usize = 500;
/// How long a batch waits for the next message before it is recorded.
pub const LINGER: Duration = Duration::from_millis(1);

/// Consumes the bus into the store.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The broker, queue and bindings.
    pub consumer: ConsumerConfig,
    /// The store.
    pub store: Store,
    /// Where counts go.
    pub metrics: Arc<SchedulerMetrics>,
    /// Fired after each committed batch with new events.
    pub wake: Arc<Notify>,
}

impl Intake {
    /// Consume until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut pause = Duration::from_millis(250);
        while !shutdown.is_cancelled() {
            let connected = tokio::select! {
                () = shutdown.cancelled() => break,
                it = Consumer::connect(&self.consumer) => it,
            };
            match connected {
                Ok(consumer) => {
                    self.metrics.bus_connected.set(1);
                    pause = Duration::from_millis(250);
                    self.consume(consumer, &shutdown).await;
                    self.metrics.bus_connected.set(0);
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?pause, "cannot consume from the broker");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(30));
        }
        tracing::info!("intake stopped");
    }

    /// Consume from one connection until it fails or `shutdown`.
    async fn consume(&self, mut consumer: Consumer, shutdown: &CancellationToken) {
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                it = consumer.next() => it,
            };
            let first = match first {
                Ok(Some(it)) => it,
                Ok(None) => {
                    tracing::warn!("the broker closed the consumer");
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "consuming failed");
                    break;
                }
            };
            let mut batch = vec![first];
            let mut broken = false;
            while batch.len() < BATCH {
                // Whatever arrives while messages keep coming (a
                // millisecond apart at most): one transaction for a burst.
                match tokio::time::timeout(LINGER, consumer.next()).await {
                    Ok(Ok(Some(it))) => batch.push(it),
                    Ok(Ok(None) | Err(_)) => {
                        broken = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if !self.record(batch).await {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            if broken {
                break;
            }
        }
        consumer.close().await;
    }

    /// Record a batch and acknowledge it; on a store error hand it back.
    /// Answers whether it was recorded.
    async fn record(&self, batch: Vec<Received>) -> bool {
        let events: Vec<_> = batch
            .iter()
            .map(|it| normalize::event_from_message(&it.wire, &it.decoded))
            .collect();
        match self.store.record_events(&events).await {
            Ok(recorded) => {
                let mut fresh = false;
                for (event, outcome) in events.iter().zip(&recorded) {
                    let name = match (outcome, event.state) {
                        (Recorded::Duplicate, _) => "duplicate",
                        (Recorded::Inserted(_), EventState::Rejected) => "rejected",
                        (Recorded::Inserted(_), EventState::Ignored) => "ignored",
                        (Recorded::Inserted(_), _) => {
                            fresh = true;
                            "recorded"
                        }
                    };
                    self.metrics.message(name);
                    if event.state == EventState::Rejected {
                        tracing::warn!(
                            topic = event.topic.as_deref().unwrap_or_default(),
                            message_id = event.message_id.as_deref().unwrap_or_default(),
                            reason = event.reason.as_deref().unwrap_or_default(),
                            "rejected a message"
                        );
                    }
                }
                if fresh {
                    self.wake.notify_one();
                }
                // One acknowledgement for the batch: deliveries come in
                // order on one channel, and every earlier one is handled.
                if let Some(last) = batch.into_iter().last()
                    && let Err(err) = last.ack_through().await
                {
                    // The events are committed: a redelivery is absorbed.
                    tracing::warn!(error = %err, "cannot acknowledge recorded messages");
                }
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, messages = batch.len(), "cannot record messages; handing them back to the broker");
                if let Some(last) = batch.into_iter().last()
                    && let Err(err) = last.requeue_through().await
                {
                    tracing::warn!(error = %err, "cannot hand the messages back");
                }
                false
            }
        }
    }
}
