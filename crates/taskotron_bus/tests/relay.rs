//! The outbox relay against a real RabbitMQ: order, exactly one report per
//! message, shutdown. See `common` for how the broker is found.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    EXCHANGE, Listener, MemOutbox, amqp_url, assert_delivered_in_order, dead_port, numbered,
    unique_prefix,
};
use taskotron_bus::{Publisher, relay};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn relay_publishes_the_outbox_in_order_once() {
    let Some(url) = amqp_url() else { return };
    let prefix = unique_prefix();
    let listener = Listener::bind(&url, &format!("{prefix}.#")).await;

    let outbox = Arc::new(MemOutbox::default());
    for n in 0..20 {
        outbox.push(numbered(&prefix, n));
    }
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let (outbox, wake, shutdown, url) =
            (outbox.clone(), wake.clone(), shutdown.clone(), url.clone());
        async move {
            let connect = || Publisher::connect(&url, EXCHANGE);
            // A long poll: the second half arrives only if `wake` works.
            relay(&*outbox, connect, &wake, shutdown, Duration::from_secs(60)).await;
        }
    });

    outbox.wait_reported(20, Duration::from_secs(10)).await;
    for n in 20..50 {
        outbox.push(numbered(&prefix, n));
        wake.notify_one();
    }
    // Well before the next poll.
    outbox.wait_reported(50, Duration::from_secs(10)).await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the relay stops on shutdown")
        .unwrap();

    let deliveries = listener.take(50, Duration::from_secs(5)).await;
    assert_delivered_in_order(&outbox, &deliveries);
    listener.assert_empty(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn relay_stops_promptly_while_backing_off() {
    // No broker needed: the relay only ever sees a dead port.
    let outbox = MemOutbox::default();
    outbox.push(numbered(&unique_prefix(), 0));
    let dead = format!("amqp://127.0.0.1:{}/%2f", dead_port());
    let wake = Notify::new();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        stop.cancel();
    });
    let started = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(3),
        relay(
            &outbox,
            || Publisher::connect(&dead, EXCHANGE),
            &wake,
            shutdown,
            Duration::from_secs(60),
        ),
    )
    .await
    .expect("the relay stops on shutdown");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(outbox.reports(), Vec::<i64>::new());
    assert_eq!(outbox.pending_count(), 1);
}
