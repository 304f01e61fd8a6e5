//! Taskotron's message bus: fedora-messaging over AMQP 0-9-1.
//!
//! This is the only crate that speaks AMQP (house style §9, enforced by the
//! tidy tests). It publishes (Taskotron's results) and consumes (Koji's,
//! Bodhi's and Pungi's messages).
//!
//! - [`OutgoingMessage`] is one message as fedora-messaging puts it on the
//!   wire: `message_id`, topic (the routing key), headers and a JSON object
//!   body. It is serde, so the store keeps it as JSON in its outbox table.
//! - [`Publisher`] publishes to one exchange with publisher confirms and
//!   returns only once the broker has confirmed the message.
//! - [`relay`] drains an [`OutboxSource`] into a [`Publisher`]: in id order,
//!   reconnecting with backoff while the broker is down, and reporting a row
//!   as published only after its confirm. Delivery is at-least-once, so
//!   consumers dedupe on `message_id`.
//! - [`decode`] turns a [`WireMessage`] (routing key, `message_id`, headers,
//!   body) into an [`IncomingMessage`]: its id, its topic without the
//!   deployment's prefix, its schema and an [`Event`] with what the
//!   scheduler needs, or a [`DecodeError`] that names what is wrong. The
//!   schema header, not the topic, picks the version of a message.
//! - [`Consumer`] declares a named queue, binds it to the topics Taskotron
//!   consumes ([`ConsumerConfig`]) and yields each delivery decoded, as a
//!   [`Received`] that the caller acknowledges only once it has stored what
//!   the message caused.
//!
//! Architecture invariant: no URL password reaches an error message or a log
//! line; [`redact_password`] is applied wherever a broker URL is shown.
//!
//! Tracing fields: `msg.id`, `msg.topic`.
//!
//! # Wiring the relay
//!
//! The store implements [`OutboxSource`] over its outbox table; the server
//! spawns the relay once and hands `wake` to the handlers that write to the
//! outbox:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use taskotron_bus::{OutboxSource, OutgoingMessage, Publisher, relay};
//! use tokio::sync::Notify;
//! use tokio_util::sync::CancellationToken;
//!
//! /// The store's outbox table.
//! struct Outbox;
//!
//! impl OutboxSource for Outbox {
//!     async fn pending(&self, limit: usize) -> anyhow::Result<Vec<(i64, OutgoingMessage)>> {
//!         // Up to `limit` rows not yet marked published, by ascending id.
//!         Ok(Vec::new())
//!     }
//!
//!     async fn published(&self, ids: &[i64]) -> anyhow::Result<()> {
//!         // Mark these rows published (or delete them); idempotent.
//!         Ok(())
//!     }
//! }
//!
//! # async fn serve() {
//! let url = "amqp://127.0.0.1:5672/%2f".to_owned();
//! let exchange = "amq.topic".to_owned();
//! let outbox = Arc::new(Outbox);
//! // A handler that committed an outbox row calls `wake.notify_one()`.
//! let wake = Arc::new(Notify::new());
//! let shutdown = CancellationToken::new();
//! let relay_task = tokio::spawn({
//!     let (outbox, wake, shutdown) = (outbox.clone(), wake.clone(), shutdown.clone());
//!     async move {
//!         let connect = || Publisher::connect(&url, &exchange);
//!         relay(&*outbox, connect, &wake, shutdown, Duration::from_secs(5)).await;
//!     }
//! });
//! // ... serve until asked to stop, then:
//! shutdown.cancel();
//! let _ = relay_task.await;
//! # }
//! ```

mod consume;
mod error;
pub mod incoming;
mod message;
mod publish;
mod redact;
mod relay;

pub use consume::{Consumer, ConsumerConfig, Received};
pub use error::BusError;
pub use incoming::{
    ArtifactBuild, BuildState, BuildStateChange, ComposeStatus, DecodeError, Event,
    IncomingMessage, Repository, Request, TagChange, UpdateCompleted, UpdateEdited, UpdateInfo,
    UpdateReady, UpdateRequested, UpdateStatus, WireMessage, WireProperties, decode, schema,
    split_topic, topic,
};
pub use message::{
    DEFAULT_SCHEMA, HEADER_PRIORITY, HEADER_RPM_PREFIX, HEADER_SCHEMA, HEADER_SCHEMA_PACKAGE,
    HEADER_SENT_AT, HEADER_SEVERITY, HEADER_USER_PREFIX, OutgoingMessage, SEVERITY_DEBUG,
    SEVERITY_INFO,
};
pub use publish::{CONFIRM_TIMEOUT, Publisher};
pub use redact::redact_password;
pub use relay::{BATCH_SIZE, MAX_BACKOFF, MIN_BACKOFF, OutboxSource, relay};
