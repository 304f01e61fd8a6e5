//! The outbox relay while the broker is down: nothing is reported, nothing is
//! lost, everything arrives once the broker is back, and no password reaches
//! the log.
//!
//! This file holds one test: it installs a log subscriber, and tracing's
//! per-callsite caching makes that unreliable while other tests of the same
//! process log from other threads.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    EXCHANGE, Listener, MemOutbox, amqp_url, assert_delivered_in_order, dead_port, numbered,
    unique_prefix,
};
use taskotron_bus::{Publisher, relay};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Log lines, captured so the test can look for passwords.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

// A current-thread runtime: the relay runs on this thread, under the
// thread-local log subscriber.
#[tokio::test(flavor = "current_thread")]
async fn relay_keeps_everything_while_the_broker_is_down() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let listener = Listener::bind(&url, &format!("{prefix}.#")).await;

    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let outbox = Arc::new(MemOutbox::default());
    for n in 0..10 {
        outbox.push(numbered(&prefix, n));
    }
    let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
    let dead = format!("amqp://guest:{secret}@127.0.0.1:{}/%2f", dead_port());
    // The broker is "down" for the first three attempts.
    const DOWN_FOR: usize = 3;
    let attempts = Arc::new(AtomicUsize::new(0));
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn({
        let (outbox, wake, shutdown, attempts) = (
            outbox.clone(),
            wake.clone(),
            shutdown.clone(),
            attempts.clone(),
        );
        async move {
            let connect = || {
                let target = if attempts.fetch_add(1, Ordering::SeqCst) < DOWN_FOR {
                    dead.clone()
                } else {
                    url.clone()
                };
                async move { Publisher::connect(&target, EXCHANGE).await }
            };
            relay(
                &*outbox,
                connect,
                &wake,
                shutdown,
                Duration::from_millis(100),
            )
            .await;
        }
    });

    // Attempts at about 0 s and 0.5 s have failed, the third is due at 1.5 s
    // and will fail too.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let so_far = attempts.load(Ordering::SeqCst);
    assert!((2..=DOWN_FOR).contains(&so_far), "{so_far} attempts");
    assert_eq!(
        outbox.reports(),
        Vec::<i64>::new(),
        "nothing is published while the broker is down"
    );
    assert_eq!(outbox.pending_count(), 10);
    assert!(listener.get().await.is_none());

    outbox.wait_reported(10, Duration::from_secs(8)).await;
    let elapsed = started.elapsed();
    assert_eq!(attempts.load(Ordering::SeqCst), DOWN_FOR + 1);
    // Waits of 0.5, 1 and 2 s, each plus at most a fifth.
    assert!(elapsed >= Duration::from_millis(3_500), "{elapsed:?}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the relay stops on shutdown")
        .unwrap();

    let deliveries = listener.take(10, Duration::from_secs(5)).await;
    assert_delivered_in_order(&outbox, &deliveries);
    listener.assert_empty(Duration::from_millis(200)).await;

    let logs = logs.text();
    assert!(logs.contains("cannot connect to the broker"), "{logs}");
    assert!(logs.contains("guest:***@127.0.0.1"), "{logs}");
    assert!(
        !logs.contains(&secret),
        "a password reached the log:\n{logs}"
    );
}
