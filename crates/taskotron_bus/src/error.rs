//! The bus's error type.

use std::time::Duration;

/// What can go wrong on the bus.
///
/// Every publishing variant is retryable by the [`relay`](crate::relay)
/// except [`BusError::Invalid`], which the same message will hit again: callers
/// should run [`OutgoingMessage::validate`](crate::OutgoingMessage::validate)
/// before they write a message to the outbox.
///
/// No variant ever shows a URL password.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The connection, the channel, confirm mode or the exchange check failed.
    #[error("cannot connect to the AMQP broker at {url_without_password}")]
    Connect {
        /// The broker URL with its password replaced by `***`.
        url_without_password: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// The broker or the connection failed while a message was published.
    #[error("cannot publish the message on topic {topic}")]
    Publish {
        /// The message's topic.
        topic: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// The broker refused the message (a publisher-confirm nack).
    #[error("the broker did not accept the message on topic {topic} (nack)")]
    Nacked {
        /// The message's topic.
        topic: String,
    },
    /// The broker did not confirm the message in time.
    #[error("the broker did not confirm the message on topic {topic} within {after:?}")]
    Timeout {
        /// The message's topic.
        topic: String,
        /// How long the publisher waited.
        after: Duration,
    },
    /// The channel or the connection is closed; connect again.
    #[error("the AMQP channel is closed")]
    Closed,
    /// The consumer's channel or connection failed while waiting for a
    /// delivery; connect again (unacknowledged messages come back).
    #[error("cannot consume from the queue {queue}")]
    Consume {
        /// The queue.
        queue: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// Acknowledging (or refusing) a delivery failed: the channel is gone,
    /// and the broker delivers the message again.
    #[error("cannot acknowledge the message on {routing_key}")]
    Ack {
        /// The message's routing key.
        routing_key: String,
        /// What lapin said.
        #[source]
        source: lapin::Error,
    },
    /// The message cannot be put on the wire as it is.
    #[error("message {id} cannot be published: {reason}")]
    Invalid {
        /// The message's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
}
