"""Publish one message of every type Taskotron consumes with fedora-messaging.

Usage: publish_every_message.py FIXTURE_DIR

FEDORA_MESSAGING_CONF names fedora-messaging's configuration (the test broker
and the test's own topic prefix). Each fixture in FIXTURE_DIR (Taskotron's own,
in fedora-messaging's dump format) gives a schema name and a body. The message
is made with the class the schema packages register under that name
(koji-fedoramessaging-messages, bodhi-messages; fedora-messaging's base class
for Pungi, which has none), and fedora_messaging.api.publish validates it
against the class's schema and publishes it with confirms.

One more message has a schema Taskotron does not know (a Bodhi comment) on a
topic it consumes, for the consumer to refuse.

Prints a JSON list: for each message, its fixture file (null for the extra
one), id, routing key, schema and headers.
"""

import json
import pathlib
import re
import sys

from fedora_messaging import api, message


def bare_topic(topic):
    """The topic without Fedora's prefix, as schema classes spell it."""
    return re.sub(r"^org\.fedoraproject\.(prod|stg)\.", "", topic)


def publish(msg, file):
    api.publish(msg)
    headers = msg._headers
    return {
        "file": file,
        "id": msg.id,
        "topic": msg._encoded_routing_key,
        "schema": headers["fedora_messaging_schema"],
        "headers": headers,
    }


def main():
    fixtures = pathlib.Path(sys.argv[1])
    published = []
    for path in sorted(fixtures.glob("*.json")):
        fixture = json.loads(path.read_text())
        schema = fixture["headers"]["fedora_messaging_schema"]
        cls = message.get_class(schema)
        if cls is message.Message and schema != "base.message":
            sys.exit(f"{path.name}: no schema class is registered as {schema!r}")
        msg = cls(body=fixture["body"], topic=bare_topic(fixture["topic"]))
        published.append(publish(msg, path.name))

    comment = message.get_class("bodhi.update.comment.v1")
    if comment is message.Message:
        sys.exit("bodhi-messages does not register bodhi.update.comment.v1")
    update = {
        "alias": "FEDORA-2026-1a2b3c4d5e",
        "status": "testing",
        "request": None,
        "release": {"name": "F44"},
        "user": {"name": "alice"},
        "builds": [{"nvr": "tk-hello-1.2-3.fc44"}],
    }
    body = {
        "comment": {
            "karma": 1,
            "text": "Works for me.",
            "timestamp": "2026-11-21 10:00:00",
            "update": update,
            "user": {"name": "erin"},
        }
    }
    published.append(publish(comment(body=body, topic="bodhi.update.edit"), None))
    json.dump(published, sys.stdout)


if __name__ == "__main__":
    main()
