//! Consuming: a named queue bound to the topics Taskotron reads, with
//! manual acknowledgements.

use std::collections::BTreeMap;
use std::pin::Pin;

use futures_core::Stream;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::{Acker, Channel, Connection, ConnectionProperties};
use serde_json::Value;

use crate::incoming::{DecodeError, IncomingMessage, WireMessage, WireProperties, decode};
use crate::{BusError, redact_password};

/// What [`Consumer::connect`] declares and binds.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    /// The broker, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// The queue's name. On Fedora's public broker it must be a UUID that
    /// nobody else uses: consumers of one queue share its messages.
    pub queue: String,
    /// The exchange the queue is bound to, `amq.topic` on Fedora.
    pub exchange: String,
    /// The routing keys (topics with their prefix, `#` and `*` allowed) the
    /// queue is bound with. [`ConsumerConfig::routing_keys_for`] makes them
    /// for every topic Taskotron consumes.
    pub routing_keys: Vec<String>,
    /// How many unacknowledged messages the broker hands over at a time.
    pub prefetch: u16,
    /// Whether the queue outlives the broker's restarts (fedora-messaging
    /// declares its queues durable).
    pub durable: bool,
    /// Whether the broker deletes the queue when its last consumer goes
    /// (tests use it; a deployment wants its queue to keep messages while
    /// it is down).
    pub auto_delete: bool,
}

impl ConsumerConfig {
    /// A durable queue named `queue` on `amq.topic`, bound to every topic
    /// of [`crate::topic::ALL`] behind `topic_prefix`, with a prefetch of 50.
    #[must_use]
    pub fn new(url: &str, queue: &str, topic_prefix: &str) -> ConsumerConfig {
        ConsumerConfig {
            url: url.to_owned(),
            queue: queue.to_owned(),
            exchange: "amq.topic".to_owned(),
            routing_keys: ConsumerConfig::routing_keys_for(topic_prefix),
            prefetch: 50,
            durable: true,
            auto_delete: false,
        }
    }

    /// `topic_prefix.topic` for every topic Taskotron consumes (just the
    /// topics when the prefix is empty).
    #[must_use]
    pub fn routing_keys_for(topic_prefix: &str) -> Vec<String> {
        let prefix = topic_prefix.trim_end_matches('.');
        crate::topic::ALL
            .iter()
            .map(|topic| {
                if prefix.is_empty() {
                    (*topic).to_owned()
                } else {
                    format!("{prefix}.{topic}")
                }
            })
            .collect()
    }
}

/// One connection and channel consuming one queue.
///
/// Deliveries are acknowledged only when the caller says so
/// ([`Received::ack`]); one dropped without an answer stays unacknowledged
/// until the channel closes, and the broker then delivers it again.
pub struct Consumer {
    connection: Connection,
    channel: Channel,
    consumer: lapin::Consumer,
    queue: String,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Connects, sets the prefetch, declares the queue, binds it with every
    /// routing key and starts consuming with manual acknowledgements.
    ///
    /// Errors are [`BusError::Connect`], showing the URL without its
    /// password.
    pub async fn connect(config: &ConsumerConfig) -> Result<Consumer, BusError> {
        let url_without_password = redact_password(&config.url);
        let fail = |source: lapin::Error| BusError::Connect {
            url_without_password: url_without_password.clone(),
            source,
        };
        let invalid = |message: String| {
            fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, message).into())
        };
        let uri: AMQPUri = config.url.parse().map_err(|reason: String| {
            invalid(format!(
                "invalid AMQP URL: {}",
                reason.replace(&config.url, &url_without_password)
            ))
        })?;
        let queue = ShortString::try_new(config.queue.as_str())
            .map_err(|e| invalid(format!("invalid queue name: {e}")))?;
        let exchange = ShortString::try_new(config.exchange.as_str())
            .map_err(|e| invalid(format!("invalid exchange name: {e}")))?;

        let properties =
            ConnectionProperties::default().with_connection_name("taskotron-consumer".into());
        let connection = Connection::connect_uri(uri, properties)
            .await
            .map_err(fail)?;
        let channel = connection.create_channel().await.map_err(fail)?;
        channel
            .basic_qos(config.prefetch, BasicQosOptions::default())
            .await
            .map_err(fail)?;
        let declare = QueueDeclareOptions {
            durable: config.durable,
            auto_delete: config.auto_delete,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.clone(), declare, FieldTable::default())
            .await
            .map_err(fail)?;
        for key in &config.routing_keys {
            let key = ShortString::try_new(key.as_str())
                .map_err(|e| invalid(format!("invalid routing key: {e}")))?;
            channel
                .queue_bind(
                    queue.clone(),
                    exchange.clone(),
                    key,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(fail)?;
        }
        let consumer = channel
            .basic_consume(
                queue,
                ShortString::from(format!("taskotron-{}", uuid::Uuid::new_v4().simple())),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(fail)?;
        tracing::info!(
            url = %url_without_password,
            queue = %config.queue,
            bindings = config.routing_keys.len(),
            prefetch = config.prefetch,
            "consuming from the AMQP broker"
        );
        Ok(Consumer {
            connection,
            channel,
            consumer,
            queue: config.queue.clone(),
        })
    }

    /// The queue's name.
    #[must_use]
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The next delivery, decoded; `Ok(None)` when the broker cancelled the
    /// consumer (the queue was deleted). An error means the channel or the
    /// connection failed: drop the consumer and connect again (unacknowledged
    /// messages are delivered again).
    pub async fn next(&mut self) -> Result<Option<Received>, BusError> {
        let next = std::future::poll_fn(|cx| Pin::new(&mut self.consumer).poll_next(cx)).await;
        match next {
            None => Ok(None),
            Some(Err(source)) => Err(BusError::Consume {
                queue: self.queue.clone(),
                source,
            }),
            Some(Ok(delivery)) => {
                let p = &delivery.properties;
                let text = |s: &Option<ShortString>| s.as_ref().map(|it| it.as_str().to_owned());
                let wire = WireMessage {
                    routing_key: delivery.routing_key.as_str().to_owned(),
                    message_id: text(p.message_id()),
                    headers: p
                        .headers()
                        .as_ref()
                        .map(headers_to_json)
                        .unwrap_or_default(),
                    properties: WireProperties {
                        content_type: text(p.content_type()),
                        content_encoding: text(p.content_encoding()),
                        delivery_mode: *p.delivery_mode(),
                        priority: *p.priority(),
                    },
                    body: delivery.data,
                };
                let decoded = decode(&wire);
                match &decoded {
                    Ok(msg) => {
                        tracing::debug!(msg.id = %msg.id, msg.topic = %msg.topic, "received")
                    }
                    Err(e) => {
                        tracing::debug!(msg.routing_key = %wire.routing_key, error = %e, "received a message that does not decode")
                    }
                }
                Ok(Some(Received {
                    wire,
                    decoded,
                    redelivered: delivery.redelivered,
                    acker: delivery.acker,
                }))
            }
        }
    }

    /// Delete the queue (with whatever it still holds) and close: for
    /// queues made for one run, such as a benchmark's.
    ///
    /// # Errors
    ///
    /// [`BusError::Consume`] when the broker refuses.
    pub async fn delete_queue(self) -> Result<(), BusError> {
        let queue = self.queue.clone();
        let deleted = self
            .channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
        self.close().await;
        deleted
            .map(drop)
            .map_err(|source| BusError::Consume { queue, source })
    }

    /// Closes the channel and the connection; unacknowledged deliveries go
    /// back to the queue. Errors are only logged.
    pub async fn close(self) {
        if let Err(e) = self.channel.close(200, "OK".into()).await {
            tracing::debug!(error = %e, "closing the AMQP channel failed");
        }
        if let Err(e) = self.connection.close(200, "OK".into()).await {
            tracing::debug!(error = %e, "closing the AMQP connection failed");
        }
    }
}

/// One delivery: the message as it arrived, what it decodes to, and the
/// handle to acknowledge it.
#[derive(Debug)]
pub struct Received {
    /// The message as it arrived.
    pub wire: WireMessage,
    /// The decoded message, or why it does not decode.
    pub decoded: Result<IncomingMessage, DecodeError>,
    /// Whether the broker delivered it before (to this or another consumer).
    pub redelivered: bool,
    acker: Acker,
}

impl Received {
    /// Acknowledges the message: the broker forgets it. Call this only once
    /// whatever the message caused is stored.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acker
            .ack(BasicAckOptions::default())
            .await
            .map(drop)
            .map_err(|source| BusError::Ack {
                routing_key: self.wire.routing_key,
                source,
            })
    }

    /// Acknowledge this delivery and every earlier one of this consumer not
    /// yet acknowledged (AMQP's `multiple`): one frame for a whole batch
    /// taken in order.
    ///
    /// # Errors
    ///
    /// [`BusError::Ack`] when the channel is gone (the broker will deliver
    /// them again).
    pub async fn ack_through(self) -> Result<(), BusError> {
        self.acker
            .ack(BasicAckOptions { multiple: true })
            .await
            .map(drop)
            .map_err(|source| BusError::Ack {
                routing_key: self.wire.routing_key,
                source,
            })
    }

    /// Hand this delivery and every earlier unacknowledged one back to the
    /// broker (`multiple`, with requeue).
    ///
    /// # Errors
    ///
    /// [`BusError::Ack`] when the channel is gone.
    pub async fn requeue_through(self) -> Result<(), BusError> {
        self.acker
            .nack(BasicNackOptions {
                requeue: true,
                multiple: true,
            })
            .await
            .map(drop)
            .map_err(|source| BusError::Ack {
                routing_key: self.wire.routing_key,
                source,
            })
    }

    /// Refuses the message: with `requeue` the broker delivers it again
    /// (to this or another consumer), without it the broker drops it (or
    /// dead-letters it, when the queue says so). A message that does not
    /// decode is refused without `requeue`: it would fail again.
    pub async fn nack(self, requeue: bool) -> Result<(), BusError> {
        self.acker
            .nack(BasicNackOptions {
                requeue,
                ..BasicNackOptions::default()
            })
            .await
            .map(drop)
            .map_err(|source| BusError::Ack {
                routing_key: self.wire.routing_key,
                source,
            })
    }
}

/// AMQP headers as JSON values.
fn headers_to_json(table: &FieldTable) -> BTreeMap<String, Value> {
    table
        .inner()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), amqp_to_json(value)))
        .collect()
}

/// One AMQP field value as JSON: strings (lossily decoded as UTF-8),
/// booleans, numbers, arrays and tables keep their kind; byte arrays become
/// arrays of numbers, a decimal its value as a number, and void `null`.
fn amqp_to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(n) => Value::from(*n),
        AMQPValue::ShortShortUInt(n) => Value::from(*n),
        AMQPValue::ShortInt(n) => Value::from(*n),
        AMQPValue::ShortUInt(n) => Value::from(*n),
        AMQPValue::LongInt(n) => Value::from(*n),
        AMQPValue::LongUInt(n) => Value::from(*n),
        AMQPValue::LongLongInt(n) => Value::from(*n),
        AMQPValue::Timestamp(n) => Value::from(*n),
        AMQPValue::Float(f) => Value::from(f64::from(*f)),
        AMQPValue::Double(f) => Value::from(*f),
        AMQPValue::DecimalValue(d) => {
            Value::from(f64::from(d.value) / 10f64.powi(i32::from(d.scale)))
        }
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => {
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(amqp_to_json).collect())
        }
        AMQPValue::FieldTable(table) => Value::Object(
            table
                .inner()
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), amqp_to_json(value)))
                .collect(),
        ),
        AMQPValue::ByteArray(bytes) => {
            Value::Array(bytes.as_slice().iter().map(|b| Value::from(*b)).collect())
        }
        AMQPValue::Void => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{ByteArray, DecimalValue, FieldArray, LongString};
    use serde_json::json;

    fn check(value: AMQPValue, expect: Value) {
        assert_eq!(amqp_to_json(&value), expect, "{value:?}");
    }

    #[test]
    fn header_values_become_json() {
        check(AMQPValue::Boolean(true), json!(true));
        check(AMQPValue::ShortShortInt(-3), json!(-3));
        check(AMQPValue::ShortShortUInt(200), json!(200));
        check(AMQPValue::ShortInt(-300), json!(-300));
        check(AMQPValue::ShortUInt(60_000), json!(60_000));
        check(AMQPValue::LongInt(20), json!(20));
        check(AMQPValue::LongUInt(4_000_000_000), json!(4_000_000_000_u32));
        check(AMQPValue::LongLongInt(i64::MIN), json!(i64::MIN));
        check(
            AMQPValue::Timestamp(1_795_170_000),
            json!(1_795_170_000_u64),
        );
        check(AMQPValue::Float(1.5), json!(1.5));
        check(AMQPValue::Double(-0.25), json!(-0.25));
        check(
            AMQPValue::DecimalValue(DecimalValue {
                scale: 2,
                value: 12_345,
            }),
            json!(123.45),
        );
        check(AMQPValue::ShortString("s".into()), json!("s"));
        check(
            AMQPValue::LongString(LongString::from("2026-11-20T10:20:05+00:00")),
            json!("2026-11-20T10:20:05+00:00"),
        );
        check(
            AMQPValue::LongString(LongString::from(vec![b'a', 0xff])),
            json!("a\u{fffd}"),
        );
        check(
            AMQPValue::FieldArray(FieldArray::from(vec![
                AMQPValue::LongInt(1),
                AMQPValue::Void,
            ])),
            json!([1, null]),
        );
        let mut table = FieldTable::default();
        table.insert("k".into(), AMQPValue::Boolean(false));
        check(AMQPValue::FieldTable(table), json!({"k": false}));
        check(
            AMQPValue::ByteArray(ByteArray::from(vec![1_u8, 2])),
            json!([1, 2]),
        );
        check(AMQPValue::Void, json!(null));
        // A NaN has no JSON form: null.
        check(AMQPValue::Double(f64::NAN), json!(null));
    }

    #[test]
    fn routing_keys_cover_every_topic() {
        let keys = ConsumerConfig::routing_keys_for("org.fedoraproject.prod.");
        assert_eq!(keys.len(), crate::topic::ALL.len());
        assert!(keys.contains(&"org.fedoraproject.prod.buildsys.tag".to_owned()));
        assert!(keys.contains(
            &"org.fedoraproject.prod.bodhi.update.status.testing.koji-build-group.build.complete"
                .to_owned()
        ));
        assert_eq!(
            ConsumerConfig::routing_keys_for("")[0],
            "buildsys.build.state.change"
        );
        let config = ConsumerConfig::new("amqp://127.0.0.1/%2f", "q", "org.fedoraproject.stg");
        assert!(config.durable && !config.auto_delete);
        assert_eq!(config.exchange, "amq.topic");
        assert_eq!(config.prefetch, 50);
    }
}
