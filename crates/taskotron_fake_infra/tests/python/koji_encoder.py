"""What Koji's own encoder (koji.xmlrpcplus) writes, as JSON on stdout.

Run by tests/koji_python.rs, which decodes each text with Taskotron's code.
"""

import json
import xmlrpc.client

import koji
import koji.xmlrpcplus as xmlrpcplus

# A build as a hub returns it, with the values that need Koji's extensions.
VALUE = {
    "id": 2600001,
    "nvr": "foo-1.2-3.fc44",
    "epoch": None,
    "size": 6 * 1024 ** 3,
    "completion_ts": 1795170000.123456,
    "completion_time": "2026-11-20 10:20:00.123456+00:00",
    "extra": {"source": {"original_url": "git+https://src.example/rpms/foo.git#abc"}, "typeinfo": None},
    "flags": [True, False],
    "empty": {},
    "text": "ünïcode & <markup>",
}

print(json.dumps({
    "value": VALUE,
    "response": xmlrpcplus.dumps((VALUE,), methodresponse=1, allow_none=1),
    "fault": xmlrpcplus.dumps(xmlrpc.client.Fault(1014, "server is offline"), methodresponse=1),
    "call": xmlrpcplus.dumps(
        koji.encode_args(state=1, completeAfter=1793520000.0, queryOpts={"order": "completion_time"}),
        methodname="listBuilds",
        allow_none=1,
    ),
}))
