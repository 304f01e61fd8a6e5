//! The outbox relay: from a durable outbox to the broker, at least once.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{BusError, OutgoingMessage, Publisher};

/// How many pending messages the relay fetches at a time.
pub const BATCH_SIZE: usize = 100;
/// The relay's first wait after a failure.
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The relay's longest wait after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long the relay, when it stops, waits to report the last confirmed
/// messages and to close the connection.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where the relay finds the messages to publish: the store's outbox table,
/// written in the same transaction as the change the message announces.
///
/// Ids are the outbox's own keys, increasing in the order the messages were
/// written.
pub trait OutboxSource {
    /// Up to `limit` messages not yet reported published, in ascending id
    /// order.
    fn pending(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(i64, OutgoingMessage)>, anyhow::Error>> + Send;

    /// Marks these messages as published: the broker has confirmed each one.
    /// Must be idempotent (ids may be reported again after an error).
    fn published(&self, ids: &[i64]) -> impl Future<Output = Result<(), anyhow::Error>> + Send;

    /// Takes or renews this relay's claim on the outbox: `true` when this
    /// relay may publish now. Several processes sharing one outbox each run
    /// a relay; the claim makes one of them publish and the others stand by,
    /// so that messages go out once and in order. The default, for an
    /// outbox only one relay reads, always says yes.
    fn claim(&self) -> impl Future<Output = Result<bool, anyhow::Error>> + Send {
        async { Ok(true) }
    }

    /// Gives the claim up, when the relay stops, so that a relay standing
    /// by takes over at once.
    fn release(&self) -> impl Future<Output = Result<(), anyhow::Error>> + Send {
        async { Ok(()) }
    }
}

/// Publishes everything `source` has pending, until `shutdown` is cancelled.
///
/// - It fetches up to [`BATCH_SIZE`] pending messages, publishes them one
///   after the other in id order, each waiting for the broker's confirm, and
///   then reports the confirmed ids with [`OutboxSource::published`].
/// - When nothing is pending it sleeps for `poll`, or until `wake` is
///   notified: whoever writes to the outbox calls `wake.notify_one()` after
///   the commit.
/// - It connects with `connect` when it first has something to publish, and
///   keeps the connection. After any failure (connect, publish, nack,
///   timeout, or the source itself) it logs, drops the connection, waits
///   ([`MIN_BACKOFF`] doubling up to [`MAX_BACKOFF`], plus a little jitter),
///   connects again and goes on with the oldest unreported message.
///
/// - Before each fetch it takes or renews its claim on the outbox
///   ([`OutboxSource::claim`]); while another relay holds it, it stands by,
///   polling as when nothing is pending. It releases the claim when it stops.
///
/// Guarantees: a message is reported published only after its confirm, so
/// none is lost while the broker is down, and none is skipped: a message that
/// fails blocks the ones after it. Delivery is at least once: a crash between
/// the confirm and the report publishes the message again, with the same
/// `message_id`, so consumers dedupe on `message_id`.
///
/// `connect` is usually `|| Publisher::connect(&url, &exchange)` (with owned
/// copies moved into the closure); tests pass a closure that points to a dead
/// port first.
pub async fn relay<S, C, F>(
    source: &S,
    mut connect: C,
    wake: &Notify,
    shutdown: CancellationToken,
    poll: Duration,
) where
    S: OutboxSource,
    C: FnMut() -> F,
    F: Future<Output = Result<Publisher, BusError>>,
{
    let mut publisher: Option<Publisher> = None;
    // Confirmed by the broker, not yet reported to the source.
    let mut unreported: Vec<i64> = Vec::new();
    let mut failures: u32 = 0;
    let mut standing_by = false;
    tracing::info!(poll = ?poll, "outbox relay started");

    'relay: loop {
        // The confirmed ids first, so that they are never fetched again.
        if !unreported.is_empty() {
            let Some(reported) = cancellable(&shutdown, source.published(&unreported)).await else {
                break 'relay;
            };
            match reported {
                Ok(()) => unreported.clear(),
                Err(e) => {
                    failures += 1;
                    let delay = backoff(failures);
                    tracing::warn!(error = format!("{e:#}"), retry_in = ?delay, "cannot mark outbox messages as published");
                    if !pause(&shutdown, delay).await {
                        break 'relay;
                    }
                    continue 'relay;
                }
            }
        }

        let Some(claimed) = cancellable(&shutdown, source.claim()).await else {
            break 'relay;
        };
        match claimed {
            Ok(true) => {
                if standing_by {
                    standing_by = false;
                    tracing::info!("outbox relay took over publishing");
                }
            }
            Ok(false) => {
                if !standing_by {
                    standing_by = true;
                    // Whatever this relay had connected is the other's now.
                    publisher = None;
                    tracing::info!("another relay publishes the outbox; standing by");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break 'relay,
                    () = tokio::time::sleep(poll) => {}
                }
                continue 'relay;
            }
            Err(e) => {
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(error = format!("{e:#}"), retry_in = ?delay, "cannot claim the outbox");
                if !pause(&shutdown, delay).await {
                    break 'relay;
                }
                continue 'relay;
            }
        }

        let Some(fetched) = cancellable(&shutdown, source.pending(BATCH_SIZE)).await else {
            break 'relay;
        };
        let mut batch = match fetched {
            Ok(batch) => batch,
            Err(e) => {
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(error = format!("{e:#}"), retry_in = ?delay, "cannot read the outbox");
                if !pause(&shutdown, delay).await {
                    break 'relay;
                }
                continue 'relay;
            }
        };
        if batch.is_empty() {
            failures = 0;
            tokio::select! {
                () = shutdown.cancelled() => break 'relay,
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
            continue 'relay;
        }
        batch.sort_by_key(|(id, _)| *id);

        if publisher.is_none() {
            let Some(connected) = cancellable(&shutdown, connect()).await else {
                break 'relay;
            };
            match connected {
                Ok(p) => {
                    tracing::info!("outbox relay connected to the broker");
                    publisher = Some(p);
                }
                Err(e) => {
                    failures += 1;
                    let delay = backoff(failures);
                    tracing::warn!(error = chain(&e), retry_in = ?delay, pending = batch.len(), "cannot connect to the broker; the outbox keeps the messages");
                    if !pause(&shutdown, delay).await {
                        break 'relay;
                    }
                    continue 'relay;
                }
            }
        }
        let Some(p) = publisher.as_ref() else {
            continue 'relay;
        };

        let mut failed = None;
        let mut stopping = false;
        for (id, msg) in &batch {
            let Some(published) = cancellable(&shutdown, p.publish(msg)).await else {
                stopping = true;
                break;
            };
            match published {
                Ok(()) => {
                    unreported.push(*id);
                    failures = 0;
                }
                Err(e) => {
                    failed = Some((msg, e));
                    break;
                }
            }
        }
        if stopping {
            break 'relay;
        }

        // Report this batch's confirms now, before any backoff.
        if !unreported.is_empty() {
            match cancellable(&shutdown, source.published(&unreported)).await {
                None => break 'relay,
                Some(Ok(())) => unreported.clear(),
                Some(Err(e)) => {
                    // Kept in `unreported`, retried at the top of the loop.
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "cannot mark outbox messages as published"
                    );
                }
            }
        }

        if let Some((msg, e)) = failed {
            failures += 1;
            let delay = backoff(failures);
            if let BusError::Invalid { .. } = e {
                // The same message will fail again: somebody has to fix the
                // outbox row. Keep the connection, it is not at fault.
                tracing::error!(msg.id = %msg.id, msg.topic = %msg.topic, error = chain(&e), retry_in = ?delay, "an outbox message cannot be published; the messages after it wait");
            } else {
                tracing::warn!(msg.id = %msg.id, msg.topic = %msg.topic, error = chain(&e), retry_in = ?delay, "publishing failed; reconnecting");
                publisher = None;
            }
            if !pause(&shutdown, delay).await {
                break 'relay;
            }
        }
    }

    if !unreported.is_empty() {
        match tokio::time::timeout(STOP_GRACE, source.published(&unreported)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    count = unreported.len(),
                    "cannot mark outbox messages as published; they will be published again"
                );
            }
            Err(_) => {
                tracing::warn!(
                    count = unreported.len(),
                    "marking outbox messages as published timed out; they will be published again"
                );
            }
        }
    }
    if let Some(p) = publisher
        && tokio::time::timeout(STOP_GRACE, p.close()).await.is_err()
    {
        tracing::debug!("closing the AMQP connection timed out");
    }
    if !standing_by {
        match tokio::time::timeout(STOP_GRACE, source.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "cannot release the outbox claim; another relay takes over when it expires"
                );
            }
            Err(_) => tracing::warn!("releasing the outbox claim timed out"),
        }
    }
    tracing::info!("outbox relay stopped");
}

/// Runs `future` unless `shutdown` is cancelled first (`None`).
async fn cancellable<T>(
    shutdown: &CancellationToken,
    future: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        () = shutdown.cancelled() => None,
        value = future => Some(value),
    }
}

/// Sleeps for `delay`; false when `shutdown` was cancelled meanwhile.
async fn pause(shutdown: &CancellationToken, delay: Duration) -> bool {
    cancellable(shutdown, tokio::time::sleep(delay))
        .await
        .is_some()
}

/// The wait after the `failures`-th failure in a row (1-based).
fn backoff(failures: u32) -> Duration {
    backoff_with(failures, clock_jitter())
}

/// [`MIN_BACKOFF`] doubled per failure after the first, plus up to a fifth
/// of that times `jitter` (in `0.0..1.0`), never more than [`MAX_BACKOFF`].
fn backoff_with(failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let base = MIN_BACKOFF.saturating_mul(1 << doublings).min(MAX_BACKOFF);
    let jitter = base.mul_f64(jitter.clamp(0.0, 1.0) / 5.0);
    (base + jitter).min(MAX_BACKOFF)
}

/// A number in `0.0..1.0` from the clock's nanoseconds: enough to keep
/// relays that failed together from retrying in lockstep.
fn clock_jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos) / 1e9
}

/// An error and its sources, joined with `: `; a source whose text the
/// message already ends with (lapin repeats its inner error) is left out.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(failures: u32, jitter: f64, expect_ms: u64) {
        assert_eq!(
            backoff_with(failures, jitter),
            Duration::from_millis(expect_ms),
            "failure {failures}, jitter {jitter}"
        );
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_thirty() {
        check(0, 0.0, 500);
        check(1, 0.0, 500);
        check(2, 0.0, 1_000);
        check(3, 0.0, 2_000);
        check(4, 0.0, 4_000);
        check(7, 0.0, 30_000);
        check(u32::MAX, 0.0, 30_000);
    }

    #[test]
    fn backoff_jitter_adds_at_most_a_fifth() {
        check(1, 0.5, 550);
        check(3, 0.25, 2_100);
        check(2, 7.0, 1_200);
        check(6, 0.5, 17_600);
        check(7, 0.999, 30_000);
        for _ in 0..100 {
            let delay = backoff(1);
            assert!(
                delay >= MIN_BACKOFF && delay < MIN_BACKOFF.mul_f64(1.2),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn chain_joins_sources() {
        let e = BusError::Publish {
            topic: "a.b".to_owned(),
            source: std::io::Error::other("boom").into(),
        };
        assert_eq!(
            chain(&e),
            "cannot publish the message on topic a.b: IO error: boom"
        );
    }
}
