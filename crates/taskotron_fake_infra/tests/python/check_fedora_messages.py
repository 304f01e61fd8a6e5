"""Check messages the fake published against the real fedora-messaging.

Usage: check_fedora_messages.py DELIVERIES.json

DELIVERIES.json is a list of messages as Taskotron's consumer received them
from RabbitMQ: routing key, message id, headers, AMQP properties and the body
text. Each goes through fedora_messaging.message.get_message, what
fedora-messaging's own consumer runs on a delivery: the class registered for
the schema header (from koji-fedoramessaging-messages or bodhi-messages, never
the base class) is made and validates the headers and the body against its
schemas. Then the headers the fake set must be the ones that class sets: the
severity, the schema package, the user and package filter headers, and
Koji's tag priority; and the class's own summary and text of the message must
work.
"""

import json
import sys

import pika
from fedora_messaging import message


def filter_headers(headers):
    prefixes = ("fedora_messaging_user_", "fedora_messaging_rpm_", "fedora_messaging_group_")
    return {k: v for k, v in headers.items() if k.startswith(prefixes)}


def check(delivery):
    props = delivery["properties"]
    headers = delivery["headers"]
    properties = pika.BasicProperties(
        content_type=props["content_type"],
        content_encoding=props["content_encoding"],
        delivery_mode=props["delivery_mode"],
        priority=props["priority"],
        headers=dict(headers),
        message_id=delivery["message_id"],
    )
    sent_priority = props["priority"]
    msg = message.get_message(
        delivery["routing_key"], properties, delivery["body"].encode("utf-8")
    )
    schema = headers["fedora_messaging_schema"]
    cls = type(msg)
    problems = []
    if cls is message.Message:
        problems.append(f"no schema class is registered as {schema!r}")
    if message.get_name(cls) != schema:
        problems.append(f"class {cls.__name__} is registered as {message.get_name(cls)!r}")
    package = message._schema_name_to_package.get(schema)
    if headers.get("fedora_messaging_schema_package") != package:
        problems.append(
            f"fedora_messaging_schema_package is {headers.get('fedora_messaging_schema_package')!r},"
            f" the library says {package!r}"
        )
    if headers["fedora_messaging_severity"] != cls.severity:
        problems.append(
            f"severity {headers['fedora_messaging_severity']}, the class says {cls.severity}"
        )
    expected = msg._filter_headers()
    if filter_headers(headers) != expected:
        problems.append(f"filter headers {filter_headers(headers)}, the class makes {expected}")
    # Koji's tag classes choose their priority when they are made.
    if msg.priority != (sent_priority or 0):
        problems.append(f"priority {sent_priority}, the class says {msg.priority}")
    if headers.get("priority") != (sent_priority or 0):
        problems.append(f"priority header {headers.get('priority')}, property {sent_priority}")
    if not msg.summary or not str(msg):
        problems.append("no summary or text")
    if msg.topic != delivery["routing_key"]:
        problems.append(f"topic {msg.topic!r}")
    return schema, problems


def main():
    with open(sys.argv[1]) as f:
        deliveries = json.load(f)
    failed = False
    seen = set()
    for delivery in deliveries:
        try:
            schema, problems = check(delivery)
        except Exception as e:  # noqa: BLE001 - report every failure, then fail
            schema, problems = delivery["headers"].get("fedora_messaging_schema"), [repr(e)]
        seen.add(schema)
        for problem in problems:
            failed = True
            print(f"{delivery['routing_key']} ({schema}): {problem}")
    print(f"checked {len(deliveries)} messages of {len(seen)} schemas: {sorted(seen)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
