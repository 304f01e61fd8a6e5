"""The queries Greenwave and Bodhi make, sent with ``requests`` as they do.

Greenwave (greenwave/resources.py) asks, per subject and rule testcase::

    GET /results/latest?item=NVR&type=koji_build,brew-build
        &_distinct_on=scenario,system_architecture,system_variant
        &testcases=NAME[&since=1900-01-01T00:00:00.000000,WHEN]

and relies on newest-first order. Bodhi's update page shows data.item,
data.arch, data.scenario, testcase.name, note, ref_url and submit_time (which
it parses after appending ' Z').

Usage: python check_greenwave_bodhi.py http://HOST:PORT/api/v2.0
"""

import datetime
import uuid

import requests

import rdbcompat
from rdbcompat import Case, get_json, parse_bodhi_time, post_json, unique

DISTINCT = 'scenario,system_architecture,system_variant'
TYPES = 'koji_build,brew-build'


def at(seconds):
    """2024-05-01T10:00:00 UTC plus ``seconds``, as ResultsDB input (the
    fraction is mandatory)."""
    time = datetime.datetime(2024, 5, 1, 10, 0, 0) + datetime.timedelta(seconds=seconds)
    return time.strftime('%Y-%m-%dT%H:%M:%S.%f')


def latest(**params):
    """GET /results/latest the way Greenwave does (requests encodes params)."""
    response = requests.get(rdbcompat.BASE + '/results/latest', params=params, timeout=30)
    if response.status_code != 200:
        raise AssertionError('GET %s: HTTP %s: %s' % (response.url, response.status_code,
                                                     response.text[:2000]))
    return response.json()


class Greenwave(Case):

    @classmethod
    def setUpClass(cls):
        cls.item = unique('foo') + '-1.0-1.fc40'
        cls.tc1 = 'fedora-ci.koji-build.%s./plans/basic.functional' % uuid.uuid4().hex[:12]
        cls.tc2 = unique('dist.rpmdeplint')
        cls.ids = {}

        def post(key, testcase, outcome, seconds, **data):
            body = {
                'testcase': {'name': testcase, 'ref_url': 'https://ci.example/' + testcase},
                'outcome': outcome,
                'note': 'result %s' % key,
                'ref_url': 'https://ci.example/log/%s/%s' % (cls.item, key),
                'submit_time': at(seconds),
                'data': dict({'item': cls.item, 'type': 'koji_build'}, **data),
            }
            cls.ids[key] = post_json('/results', body)['id']

        post('G', cls.tc1, 'PASSED', 0, scenario='s1', system_architecture='x86_64',
             system_variant='Server')
        post('A', cls.tc1, 'PASSED', 1, scenario='s1', system_architecture='x86_64')
        post('B', cls.tc1, 'FAILED', 2.25, scenario='s1', system_architecture='aarch64')
        post('C', cls.tc1, 'FAILED', 3, scenario='s1', system_architecture='x86_64',
             arch='x86_64')
        post('D', cls.tc1, 'PASSED', 4)
        post('E', cls.tc1, 'INFO', 5.123456)
        post('F', cls.tc1, 'NEEDS_INSPECTION', 6, type='brew-build', scenario='s2')
        # Same testcase, but another type or another item: never matched.
        post('H', cls.tc1, 'PASSED', 8, type='bodhi_update')
        post('I', cls.tc1, 'PASSED', 9, item=cls.item + '.other')
        # Two results of tc2 at the very same time.
        post('J', cls.tc2, 'PASSED', 7)
        post('K', cls.tc2, 'FAILED', 7)

    def keys(self, body):
        """The result keys (G, A, ...) of a /results/latest answer, checked."""
        self.assertEqual(set(body), {'data'}, 'latest has no paging keys')
        for result in body['data']:
            self.assert_result(result)
        self.assert_newest_first(body['data'])
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id.get(r['id'], r['id']) for r in body['data']]

    def test_greenwave_query(self):
        body = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1)
        # One per (scenario, arch, variant); results lacking a key form their
        # own bucket (D/E lack all three, F lacks arch and variant).
        self.assertEqual(self.keys(body), ['F', 'E', 'C', 'B', 'G'])

    def test_greenwave_query_with_since(self):
        body = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1,
                      since='1900-01-01T00:00:00.000000,%s' % at(3.5))
        self.assertEqual(self.keys(body), ['C', 'B', 'G'])
        # Both bounds are inclusive.
        body = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1,
                      since='1900-01-01T00:00:00.000000,%s' % at(2.25))
        self.assertEqual(self.keys(body), ['B', 'A', 'G'])
        body = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1,
                      since='1900-01-01T00:00:00.000000,%s' % at(-1))
        self.assertEqual(self.keys(body), [])

    def test_distinct_on_one_key(self):
        body = latest(item=self.item, type=TYPES, _distinct_on='scenario', testcases=self.tc1)
        self.assertEqual(self.keys(body), ['F', 'E', 'C'])

    def test_without_distinct_on(self):
        body = latest(item=self.item, type=TYPES, testcases=self.tc1)
        self.assertEqual(self.keys(body), ['F'])
        body = latest(item=self.item, type=TYPES, testcases=self.tc1,
                      since='1900-01-01T00:00:00.000000,%s' % at(4.5))
        self.assertEqual(self.keys(body), ['D'])

    def test_latest_ignores_outcome_limit_page_and_sort(self):
        plain = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1)
        noisy = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1,
                       outcome='PASSED', limit=1, page=2, _sort='asc:submit_time')
        self.assertEqual(noisy, plain)
        plain = latest(item=self.item, type=TYPES)
        noisy = latest(item=self.item, type=TYPES, outcome='FAILED', limit=1, page=1,
                       _sort='asc:submit_time')

        def by_id(body):
            # The tie between J and K may come out in either order.
            return sorted(body['data'], key=lambda r: r['id'])
        self.assertEqual(by_id(noisy), by_id(plain))
        self.assertEqual(len(plain['data']), 3)

    def test_verbose_mode_without_testcases(self):
        # Greenwave's verbose=true first fetches everything for the subject.
        keys = self.keys(latest(item=self.item, type=TYPES, _distinct_on=DISTINCT))
        # The tc2 tie falls in one bucket: exactly one of J, K survives.
        self.assertIn(keys[0], ('J', 'K'))
        self.assertEqual(keys[1:], ['F', 'E', 'C', 'B', 'G'])
        # Without _distinct_on, exact time ties return every tied result.
        keys = self.keys(latest(item=self.item, type=TYPES))
        self.assertEqual(sorted(keys[:2]), ['J', 'K'])
        self.assertEqual(keys[2:], ['F'])

    def test_distinct_on_needs_another_filter(self):
        response = requests.get(rdbcompat.BASE + '/results/latest',
                                params={'_distinct_on': DISTINCT}, timeout=30)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(),
                         {'message': "Please, provide at least one filter beside '_distinct_on'"})

    def test_bodhi_fields(self):
        body = latest(item=self.item, type=TYPES, _distinct_on=DISTINCT, testcases=self.tc1)
        by_key = dict(zip(self.keys(body), body['data']))
        expected_times = {'F': 6, 'E': 5.123456, 'C': 3, 'B': 2.25, 'G': 0}
        for key, result in by_key.items():
            with self.subTest(result=key):
                self.assertEqual(result['data']['item'], [self.item])
                self.assertEqual(result['testcase']['name'], self.tc1)
                self.assertEqual(result['note'], 'result ' + key)
                self.assertEqual(result['ref_url'],
                                 'https://ci.example/log/%s/%s' % (self.item, key))
                when = parse_bodhi_time(result['submit_time'])
                posted = datetime.datetime.strptime(at(expected_times[key]),
                                                    '%Y-%m-%dT%H:%M:%S.%f')
                self.assertEqual(when, posted.replace(tzinfo=datetime.timezone.utc))
        self.assertEqual(by_key['C']['data']['arch'], ['x86_64'])
        self.assertEqual(by_key['F']['data']['scenario'], ['s2'])
        self.assertNotIn('scenario', by_key['E']['data'])
        # The fraction is left out when the microseconds are zero.
        self.assertEqual(by_key['C']['submit_time'], '2024-05-01T10:00:03')
        self.assertEqual(by_key['B']['submit_time'], '2024-05-01T10:00:02.250000')
        self.assertEqual(by_key['E']['submit_time'], '2024-05-01T10:00:05.123456')
        # The same results through /results and by id.
        listed = get_json('%s/results?item=%s&testcases=%s&limit=50'
                          % (rdbcompat.BASE, self.item, self.tc1))
        self.assertEqual(len(listed['data']), 8)
        for result in body['data']:
            self.assertEqual(get_json(result['href']), result)


class SubmitTime(Case):
    """submit_time inputs the Greenwave and ResultsDB test suites send."""

    def post_at(self, submit_time):
        return post_json('/results', {'testcase': unique('compat.time'), 'outcome': 'PASSED',
                                      'submit_time': submit_time})

    def test_accepted_forms(self):
        millis = 1714557600123  # 2024-05-01T10:00:00.123 UTC
        self.assertEqual(self.post_at(millis)['submit_time'], '2024-05-01T10:00:00.123000')
        self.assertEqual(self.post_at(str(millis))['submit_time'],
                         '2024-05-01T10:00:00.123000')
        self.assertEqual(self.post_at('2024-05-01T10:00:00.000000Z')['submit_time'],
                         '2024-05-01T10:00:00')
        self.assertEqual(self.post_at('2024-05-01T10:00:00.500000+00:00')['submit_time'],
                         '2024-05-01T10:00:00.500000')

    def test_fraction_is_mandatory(self):
        response = requests.post(rdbcompat.BASE + '/results', timeout=30, json={
            'testcase': unique('compat.time'), 'outcome': 'PASSED',
            'submit_time': '2022-08-24T06:54:57'})
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn('submit_time', response.text)


if __name__ == '__main__':
    rdbcompat.main()
