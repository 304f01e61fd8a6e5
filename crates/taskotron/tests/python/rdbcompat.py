"""Shared helpers of the ResultsDB wire-compatibility scripts.

Each ``check_*.py`` script in this directory is run as::

    python check_something.py http://127.0.0.1:PORT/api/v2.0 [unittest args]

against a running ``taskotron serve`` (crates/taskotron/tests/resultsdb_clients.rs
starts one per database backend). The scripts drive the real PyPI clients
(``resultsdb_api``, ``resultsdb_conventions``) and ``requests`` the way
Greenwave and Bodhi do, and check the answers against the ResultsDB v2.0
contract (/work/shared/specs/resultsdb-api.md, sections 1, 2.1, 2.2, 4.4).

Several scripts share one server, so every testcase, item and group name is
made unique with :func:`unique`.
"""

import datetime
import json
import re
import sys
import unittest
import uuid
from urllib.parse import parse_qsl, quote, urlsplit

import requests

#: The API base URL, ``http://host:port/api/v2.0`` (set by :func:`main`).
BASE = None

RESULT_KEYS = {'id', 'testcase', 'outcome', 'note', 'ref_url', 'submit_time',
               'groups', 'data', 'href'}
TESTCASE_KEYS = {'name', 'ref_url', 'href'}
GROUP_KEYS = {'uuid', 'description', 'ref_url', 'results', 'results_count', 'href'}
COLLECTION_KEYS = {'data', 'prev', 'next'}

#: ``submit_time``: naive ISO 8601, no offset, the fraction only when non-zero.
SUBMIT_TIME_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$')


def unique(prefix):
    """``prefix`` plus a random suffix: names no other script or run uses."""
    return '%s.%s' % (prefix, uuid.uuid4().hex[:16])


def py_str_values(value):
    """What ResultsDB stores for one ``data`` value sent as JSON: the value
    as the server's ``json.loads`` sees it, then Python ``str()`` of it (of
    each element for a list; an empty list stores nothing)."""
    value = json.loads(json.dumps(value))
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def parse_bodhi_time(text):
    """Parse ``submit_time`` the way Bodhi's update page does: it appends
    ``' Z'`` and reads the result as UTC. Returns an aware datetime."""
    stamped = text + ' Z'
    for fmt in ('%Y-%m-%dT%H:%M:%S.%f Z', '%Y-%m-%dT%H:%M:%S Z'):
        try:
            parsed = datetime.datetime.strptime(stamped, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=datetime.timezone.utc)
    raise AssertionError('submit_time %r does not parse after appending " Z"' % text)


def get_json(url, status=200, **kwargs):
    """GET ``url`` (a full URL, followed verbatim) and return its JSON body."""
    response = requests.get(url, timeout=30, **kwargs)
    if response.status_code != status:
        raise AssertionError('GET %s: expected HTTP %s, got %s: %s' % (
            url, status, response.status_code, response.text[:2000]))
    return response.json()


def post_json(path, body, status=201):
    """POST ``body`` as JSON to ``BASE + path`` and return the JSON answer."""
    response = requests.post(BASE + path, json=body, timeout=30)
    if response.status_code != status:
        raise AssertionError('POST %s %r: expected HTTP %s, got %s: %s' % (
            path, body, status, response.status_code, response.text[:2000]))
    return response.json()


class Case(unittest.TestCase):
    """A TestCase with shape assertions for the ResultsDB resources."""

    maxDiff = None

    def assert_testcase(self, testcase, name=None):
        self.assertEqual(set(testcase), TESTCASE_KEYS, testcase)
        self.assertIsInstance(testcase['name'], str)
        if name is not None:
            self.assertEqual(testcase['name'], name)
        self.assertTrue(testcase['ref_url'] is None or isinstance(testcase['ref_url'], str))
        # Absolute, with `/` in the name kept as is (Werkzeug's path converter).
        self.assertEqual(testcase['href'], '%s/testcases/%s' % (
            BASE, quote(testcase['name'], safe='/')))

    def assert_group(self, group, uuid_=None):
        self.assertEqual(set(group), GROUP_KEYS, group)
        if uuid_ is not None:
            self.assertEqual(group['uuid'], uuid_)
        self.assertEqual(group['href'], '%s/groups/%s' % (BASE, group['uuid']))
        self.assertEqual(group['results'], '%s/results?groups=%s' % (BASE, group['uuid']))
        self.assertIsInstance(group['results_count'], int)
        self.assertNotIsInstance(group['results_count'], bool)
        for key in ('description', 'ref_url'):
            self.assertTrue(group[key] is None or isinstance(group[key], str), group)

    def assert_result(self, result):
        self.assertEqual(set(result), RESULT_KEYS, result)
        self.assertIsInstance(result['id'], int)
        self.assertEqual(result['href'], '%s/results/%d' % (BASE, result['id']))
        self.assert_testcase(result['testcase'])
        self.assertIsInstance(result['outcome'], str)
        for key in ('note', 'ref_url'):
            self.assertTrue(result[key] is None or isinstance(result[key], str), result)
        self.assertRegex(result['submit_time'], SUBMIT_TIME_RE)
        self.assertIsInstance(result['groups'], list)
        for group in result['groups']:
            self.assertIsInstance(group, str)
        data = result['data']
        self.assertIsInstance(data, dict)
        self.assertEqual(list(data), sorted(data), 'data keys come out sorted')
        for key, values in data.items():
            self.assertIsInstance(values, list, key)
            for value in values:
                self.assertIsInstance(value, str, (key, values))

    def assert_collection(self, body, item_check=None):
        self.assertEqual(set(body), COLLECTION_KEYS, body)
        self.assertIsInstance(body['data'], list)
        for link in ('prev', 'next'):
            if body[link] is not None:
                self.assertTrue(body[link].startswith(BASE + '/'), body[link])
        if item_check is not None:
            for item in body['data']:
                item_check(item)

    def assert_link(self, link, path, pairs):
        """``link`` is ``BASE + path`` with these query pairs, in this order
        (compared decoded: the server may keep or normalise %-escapes)."""
        parts = urlsplit(link)
        self.assertEqual('%s://%s%s' % (parts.scheme, parts.netloc, parts.path),
                         BASE + path, link)
        self.assertEqual(parse_qsl(parts.query, keep_blank_values=True), pairs, link)

    def assert_newest_first(self, results):
        times = [r['submit_time'] for r in results]
        parsed = [parse_bodhi_time(t) for t in times]
        self.assertEqual(parsed, sorted(parsed, reverse=True), times)

    def follow_all(self, url, item_check=None, page=0):
        """Follow ``next`` links verbatim from ``url`` (page number ``page``);
        every item, in order."""
        items = []
        seen = set()
        while url is not None:
            self.assertNotIn(url, seen, 'next links loop')
            seen.add(url)
            body = get_json(url)
            self.assert_collection(body, item_check)
            if page == 0:
                self.assertIsNone(body['prev'], url)
            else:
                self.assertIsNotNone(body['prev'], url)
            items.extend(body['data'])
            url = body['next']
            page += 1
        return items


def main():
    """Take the API base URL from argv[1], then run the script's tests."""
    global BASE
    if len(sys.argv) < 2 or not sys.argv[1].startswith('http'):
        sys.exit('usage: %s http://HOST:PORT/api/v2.0 [unittest options]' % sys.argv[0])
    BASE = sys.argv.pop(1).rstrip('/')
    unittest.main(module='__main__', verbosity=2)
