//! Publishing with publisher confirms.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use serde_json::Value;
use tracing::Instrument as _;

use crate::{BusError, OutgoingMessage, redact_password};

/// How long [`Publisher::publish`] waits for the broker's confirm.
///
/// A broker that neither confirms nor drops the connection (a half-open TCP
/// connection) would otherwise hold the relay until the heartbeat gives up.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection name shown in RabbitMQ's management UI.
const CONNECTION_NAME: &str = "taskotron";

/// One connection and one channel in confirm mode, publishing to one exchange.
///
/// It does not reconnect: after an error, drop it and connect again (the
/// [`relay`](crate::relay) does).
#[derive(Debug)]
pub struct Publisher {
    connection: Connection,
    channel: Channel,
    exchange: ShortString,
}

impl Publisher {
    /// Connects to `url`, opens a channel, enables publisher confirms and
    /// checks that `exchange` exists (a passive declare: nothing is created;
    /// `amq.topic` always exists on RabbitMQ, and the default exchange `""`
    /// is not checked).
    ///
    /// `url` is an `amqp://` or `amqps://` URL as lapin reads it, e.g.
    /// `amqp://guest:guest@127.0.0.1:5672/%2f`. Errors show it with its
    /// password replaced by `***`.
    pub async fn connect(url: &str, exchange: &str) -> Result<Publisher, BusError> {
        let url_without_password = redact_password(url);
        let fail = |source: lapin::Error| BusError::Connect {
            url_without_password: url_without_password.clone(),
            source,
        };

        // Parse here rather than in lapin: its parse error can quote the URL.
        let uri: AMQPUri = url.parse().map_err(|reason: String| {
            let reason = reason.replace(url, &url_without_password);
            fail(invalid_input(format!("invalid AMQP URL: {reason}")))
        })?;
        let exchange = ShortString::try_new(exchange)
            .map_err(|e| fail(invalid_input(format!("invalid exchange name: {e}"))))?;

        let properties =
            ConnectionProperties::default().with_connection_name(CONNECTION_NAME.into());
        let connection = Connection::connect_uri(uri, properties)
            .await
            .map_err(fail)?;
        let channel = connection.create_channel().await.map_err(fail)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(fail)?;
        if !exchange.as_str().is_empty() {
            channel
                .exchange_declare(
                    exchange.clone(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(fail)?;
        }
        tracing::debug!(url = %url_without_password, exchange = %exchange, "connected to the AMQP broker");
        Ok(Publisher {
            connection,
            channel,
            exchange,
        })
    }

    /// Publishes `msg` and waits for the broker's confirm.
    ///
    /// The routing key is the topic, and the properties are fedora-messaging's:
    /// `content_type` `application/json`, `content_encoding` `utf-8`,
    /// `delivery_mode` 2 (persistent), `message_id` = the id, the headers, and
    /// `priority` when set. The body is the compact JSON of `msg.body`.
    ///
    /// `Ok` means the broker confirmed (acked) the message. A message that no
    /// queue is bound for is acked too, and dropped by the broker: that is a
    /// topic exchange's normal behaviour, not an error.
    pub async fn publish(&self, msg: &OutgoingMessage) -> Result<(), BusError> {
        let span = tracing::info_span!("bus.publish", msg.id = %msg.id, msg.topic = %msg.topic);
        self.publish_inner(msg).instrument(span).await
    }

    async fn publish_inner(&self, msg: &OutgoingMessage) -> Result<(), BusError> {
        msg.validate()?;
        let invalid = |reason: String| BusError::Invalid {
            id: msg.id.clone(),
            reason,
        };
        let routing_key =
            ShortString::try_new(msg.topic.as_str()).map_err(|e| invalid(e.to_string()))?;
        let properties = properties(msg).map_err(invalid)?;
        let body = serde_json::to_vec(&msg.body).map_err(|e| invalid(e.to_string()))?;
        if !self.channel.status().connected() {
            return Err(BusError::Closed);
        }

        let publish = async {
            self.channel
                .basic_publish(
                    self.exchange.clone(),
                    routing_key,
                    BasicPublishOptions::default(),
                    &body,
                    properties,
                )
                .await?
                .await
        };
        let topic = || msg.topic.clone();
        match tokio::time::timeout(CONFIRM_TIMEOUT, publish).await {
            Ok(Ok(Confirmation::Ack(_))) => {
                tracing::debug!("published");
                Ok(())
            }
            // NotRequested cannot happen (connect enabled confirms), but it
            // is not a confirm either.
            Ok(Ok(Confirmation::Nack(_) | Confirmation::NotRequested)) => {
                Err(BusError::Nacked { topic: topic() })
            }
            Ok(Err(source)) => Err(BusError::Publish {
                topic: topic(),
                source,
            }),
            Err(_elapsed) => Err(BusError::Timeout {
                topic: topic(),
                after: CONFIRM_TIMEOUT,
            }),
        }
    }

    /// Closes the channel and the connection, politely; errors are only
    /// logged, since there is nothing left to do about them.
    pub async fn close(self) {
        if let Err(e) = self.channel.close(200, "OK".into()).await {
            tracing::debug!(error = %e, "closing the AMQP channel failed");
        }
        if let Err(e) = self.connection.close(200, "OK".into()).await {
            tracing::debug!(error = %e, "closing the AMQP connection failed");
        }
    }
}

fn invalid_input(message: String) -> lapin::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message).into()
}

/// The AMQP properties fedora-messaging sets, for `msg`.
fn properties(msg: &OutgoingMessage) -> Result<BasicProperties, String> {
    let mut headers = FieldTable::default();
    for (name, value) in &msg.headers {
        let name = ShortString::try_new(name.as_str()).map_err(|e| e.to_string())?;
        headers.insert(name, header_value(value));
    }
    let id = ShortString::try_new(msg.id.as_str()).map_err(|e| e.to_string())?;
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_delivery_mode(2)
        .with_message_id(id)
        .with_headers(headers);
    Ok(match msg.priority {
        Some(priority) => properties.with_priority(priority),
        None => properties,
    })
}

/// A JSON header value as an AMQP field: strings, booleans and integers that
/// fit an i64 keep their type; anything else travels as its JSON text.
fn header_value(value: &Value) -> AMQPValue {
    match value {
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::LongString(LongString::from(n.to_string())),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => {
            AMQPValue::LongString(LongString::from(value.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, expect: AMQPValue) {
        assert_eq!(header_value(&value), expect, "converting {value}");
    }

    fn long(s: &str) -> AMQPValue {
        AMQPValue::LongString(s.into())
    }

    #[test]
    fn header_values() {
        check(json!("base.message"), long("base.message"));
        check(json!(""), long(""));
        check(json!(true), AMQPValue::Boolean(true));
        check(json!(false), AMQPValue::Boolean(false));
        check(json!(20), AMQPValue::LongLongInt(20));
        check(json!(-3), AMQPValue::LongLongInt(-3));
        check(json!(i64::MAX), AMQPValue::LongLongInt(i64::MAX));
        check(json!(u64::MAX), long("18446744073709551615"));
        check(json!(1.5), long("1.5"));
        check(json!(null), long("null"));
        check(json!([1, "a"]), long(r#"[1,"a"]"#));
        check(json!({"k": "v"}), long(r#"{"k":"v"}"#));
    }

    #[test]
    fn properties_are_fedora_messagings() {
        let msg = OutgoingMessage::fedora(
            "org.taskotron",
            "resultsdb.result.new",
            "",
            json!({}),
            chrono::Utc::now(),
        );
        let props = properties(&msg).unwrap();
        assert_eq!(
            props.content_type().as_ref().map(ShortString::as_str),
            Some("application/json")
        );
        assert_eq!(
            props.content_encoding().as_ref().map(ShortString::as_str),
            Some("utf-8")
        );
        assert_eq!(*props.delivery_mode(), Some(2));
        assert_eq!(
            props.message_id().as_ref().map(ShortString::as_str),
            Some(msg.id.as_str())
        );
        assert_eq!(*props.priority(), None);
        let headers = props.headers().as_ref().unwrap().inner();
        assert_eq!(headers.len(), 3);
        assert_eq!(
            headers["fedora_messaging_severity"],
            AMQPValue::LongLongInt(20)
        );

        let props = properties(&msg.with_priority(7)).unwrap();
        assert_eq!(*props.priority(), Some(7));
        assert_eq!(
            props.headers().as_ref().unwrap().inner()["priority"],
            AMQPValue::LongLongInt(7)
        );
    }
}
