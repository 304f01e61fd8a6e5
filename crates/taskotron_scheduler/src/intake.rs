//! Bus intake: consume fedora-messaging messages, record each as an event
//! and acknowledge it only once the event is committed.
//!
//! Messages are taken in batches (whatever is ready, up to [`BATCH`]) and
//! recorded in one transaction, then acknowledged. The same transaction
//! plans them (their jobs are queued with them) unless their rules ask for
//! a discovery, which the planner runs later. A message that does not
//! decode is recorded as rejected, with the reason, and acknowledged: it is
//! never requeued forever. When the store cannot be written the batch is
//! handed back to the broker (nack with requeue) and intake pauses; when
//! the broker goes away intake reconnects with a growing pause.

use std::sync::Arc;
use std::time::Duration;

use std::collections::VecDeque;
use taskotron_bus::{Consumer, ConsumerConfig, Received};

use taskotron_store::events::{EventState, NewEvent, Planned, Recorded};
use taskotron_store::{Store, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::SchedulerMetrics;
use crate::normalize;
use crate::planner::Planner;

/// Most messages recorded in one transaction.
pub const BATCH: usize = 500;
/// How long a batch waits for the next message before it is recorded.
pub const LINGER: Duration = Duration::from_millis(1);
/// Batches on their way to the store at once: the next batch's
/// transaction runs while the last one commits, and their
/// acknowledgements still go out in order.
pub const IN_FLIGHT: usize = 3;

/// Consumes the bus into the store.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The broker, queue and bindings.
    pub consumer: ConsumerConfig,
    /// The store.
    pub store: Store,
    /// Where counts go.
    pub metrics: Arc<SchedulerMetrics>,
    /// Fired after each committed batch that left events for the planner.
    pub wake: Arc<Notify>,
    /// Plans events as they arrive, in the transaction that records them;
    /// only events whose rules ask for a discovery are left to the
    /// planner. Without one every event waits for the planner.
    pub planner: Option<Planner>,
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
        let mut pending: VecDeque<Pending> = VecDeque::new();
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                done = async { (&mut pending.front_mut()?.task).await.ok() }, if !pending.is_empty() => {
                    if let Some(front) = pending.pop_front()
                        && !self.settle(front.last, done).await
                    {
                        pause(shutdown).await;
                    }
                    continue;
                }
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
            pending.extend(self.start(batch));
            while pending.len() >= IN_FLIGHT {
                let Some(front) = pending.pop_front() else {
                    break;
                };
                let done = front.task.await.ok();
                if !self.settle(front.last, done).await {
                    pause(shutdown).await;
                }
            }
            if broken {
                break;
            }
        }
        // Whatever is on its way is settled before the channel closes, so
        // its acknowledgements reach the broker.
        while let Some(front) = pending.pop_front() {
            let done = front.task.await.ok();
            self.settle(front.last, done).await;
        }
        consumer.close().await;
    }

    /// Start recording (and planning) a batch in a task of its own.
    fn start(&self, mut batch: Vec<Received>) -> Option<Pending> {
        let events: Vec<NewEvent> = batch
            .iter()
            .map(|it| normalize::event_from_message(&it.wire, &it.decoded))
            .collect();
        // Only the last delivery is kept: its acknowledgement covers the
        // batch.
        let last = batch.pop()?;
        let store = self.store.clone();
        let planner = self.planner.clone();
        let task = tokio::spawn(async move {
            // The revisions are read once per batch, as the planner does.
            let mut revisions = std::collections::BTreeMap::new();
            let plans: Vec<_> = events
                .iter()
                .map(|event| match (&planner, &event.fact) {
                    (Some(planner), Some(fact)) if event.state == EventState::New => {
                        planner.plan_on_arrival(fact, &mut revisions)
                    }
                    _ => None,
                })
                .collect();
            let outcome = store.record_and_plan(&events, &plans).await;
            (events, outcome)
        });
        Some(Pending { task, last })
    }

    /// Count what a batch did and acknowledge it, or hand it back to the
    /// broker when it could not be recorded (`done` is `None` when its
    /// task died). Batches are settled in the order they arrived, so an
    /// acknowledgement never covers a message that is not committed.
    /// Answers whether it was recorded.
    async fn settle(&self, last: Received, done: Option<Outcome>) -> bool {
        let (events, outcome) = match done {
            Some(it) => it,
            None => (
                Vec::new(),
                Err(StoreError::Write("the recording task died".into())),
            ),
        };
        match outcome {
            Ok((recorded, planned)) => {
                if let Some(planner) = &self.planner {
                    planner.count(&planned);
                }
                let mut fresh = false;
                for (idx, (event, outcome)) in events.iter().zip(&recorded).enumerate() {
                    let name = match (outcome, event.state) {
                        (Recorded::Duplicate, _) => "duplicate",
                        (Recorded::Inserted(_), EventState::Rejected) => "rejected",
                        (Recorded::Inserted(_), EventState::Ignored) => "ignored",
                        (Recorded::Inserted(_), _) => {
                            fresh |= planned.get(idx).is_none_or(Option::is_none);
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
                if let Err(err) = last.ack_through().await {
                    // The events are committed: a redelivery is absorbed.
                    tracing::warn!(error = %err, "cannot acknowledge recorded messages");
                }
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot record messages; handing them back to the broker");
                if let Err(err) = last.requeue_through().await {
                    tracing::warn!(error = %err, "cannot hand the messages back");
                }
                false
            }
        }
    }
}

/// What recording a batch gave: its events and what the store did.
type Outcome = (
    Vec<NewEvent>,
    Result<(Vec<Recorded>, Vec<Option<Planned>>), StoreError>,
);

/// A batch on its way to the store.
struct Pending {
    task: JoinHandle<Outcome>,
    last: Received,
}

/// A store failure pauses intake for a second (or until shutdown).
async fn pause(shutdown: &CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}
