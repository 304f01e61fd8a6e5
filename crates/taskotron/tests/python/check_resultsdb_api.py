"""Every call of ``resultsdb_api.ResultsDBapi`` (PyPI resultsdb-api) against
the server, plus the links and error answers the client relies on.

Usage: python check_resultsdb_api.py http://HOST:PORT/api/v2.0
"""

import uuid

import requests
from resultsdb_api import ResultsDBapi, ResultsDBapiException

import rdbcompat
from rdbcompat import Case, get_json, py_str_values, unique


def rdb():
    return ResultsDBapi(rdbcompat.BASE)


def base():
    return rdbcompat.BASE


class CreateResult(Case):
    """create_result and get_result."""

    def test_string_testcase_and_defaults(self):
        name = unique('compat.string')
        item = unique('pkg') + '-1.0-1.fc40'
        created = rdb().create_result('PASSED', name, item=item, type='koji_build')
        self.assert_result(created)
        self.assertEqual(created['outcome'], 'PASSED')
        self.assertEqual(created['testcase']['name'], name)
        # A testcase created on the fly has no URL.
        self.assertIsNone(created['testcase']['ref_url'])
        # The client sends note, ref_url and groups as explicit nulls.
        self.assertIsNone(created['note'])
        self.assertIsNone(created['ref_url'])
        self.assertEqual(created['groups'], [])
        self.assertEqual(created['data'], {'item': [item], 'type': ['koji_build']})
        self.assertEqual(rdb().get_result(created['id']), created)
        self.assertEqual(get_json(created['href']), created)
        testcase = rdb().get_testcase(name)
        self.assertEqual(testcase, created['testcase'])

    def test_object_testcase_groups_note_ref_url(self):
        name = unique('compat.object')
        api = rdb()
        existing = api.create_group(uuid=str(uuid.uuid4()), description=unique('existing'))
        new_uuid = str(uuid.uuid4())
        new_description = unique('new-group')
        created = api.create_result(
            'needs_inspection',
            {'name': name, 'ref_url': 'https://tc.example/' + name},
            groups=[existing['uuid'],
                    {'uuid': new_uuid, 'description': new_description,
                     'ref_url': 'https://group.example/x'}],
            note='0 errors, 2 warnings',
            ref_url='https://log.example/1',
            item='x')
        self.assert_result(created)
        # The outcome is stripped and upper-cased.
        self.assertEqual(created['outcome'], 'NEEDS_INSPECTION')
        self.assertEqual(created['testcase']['ref_url'], 'https://tc.example/' + name)
        self.assertEqual(created['note'], '0 errors, 2 warnings')
        self.assertEqual(created['ref_url'], 'https://log.example/1')
        # Group order is not the submission order.
        self.assertEqual(sorted(created['groups']), sorted([existing['uuid'], new_uuid]))
        group = api.get_group(new_uuid)
        self.assert_group(group, new_uuid)
        self.assertEqual(group['description'], new_description)
        self.assertEqual(group['ref_url'], 'https://group.example/x')
        self.assertEqual(group['results_count'], 1)
        old = api.get_group(existing['uuid'])
        self.assertEqual(old['results_count'], 1)
        self.assertEqual(old['description'], existing['description'])
        # The group's `results` link lists the result.
        listed = get_json(group['results'])
        self.assert_collection(listed, self.assert_result)
        self.assertEqual([r['id'] for r in listed['data']], [created['id']])

    def test_group_object_without_uuid_gets_one(self):
        description = unique('fresh-group')
        created = rdb().create_result('PASSED', unique('compat.fresh'),
                                      groups=[{'description': description}])
        self.assertEqual(len(created['groups']), 1)
        group = rdb().get_group(created['groups'][0])
        self.assertEqual(group['description'], description)
        self.assertIsNone(group['ref_url'])

    def test_testcase_object_ref_url_rules(self):
        name = unique('compat.tcurl')
        api = rdb()
        api.create_result('PASSED', {'name': name, 'ref_url': 'https://one'})
        # A string testcase keeps the stored URL.
        kept = api.create_result('PASSED', name)
        self.assertEqual(kept['testcase']['ref_url'], 'https://one')
        # An object without ref_url keeps it too.
        kept = api.create_result('PASSED', {'name': name})
        self.assertEqual(kept['testcase']['ref_url'], 'https://one')
        # An object whose ref_url is null overwrites it with null.
        cleared = api.create_result('PASSED', {'name': name, 'ref_url': None})
        self.assertIsNone(cleared['testcase']['ref_url'])
        self.assertIsNone(api.get_testcase(name)['ref_url'])

    def test_explicit_none_note_and_ref_url(self):
        created = rdb().create_result('INFO', unique('compat.none'), groups=None,
                                      note=None, ref_url=None)
        self.assertIsNone(created['note'])
        self.assertIsNone(created['ref_url'])
        self.assertEqual(created['data'], {})

    def test_empty_note_and_ref_url_stay_empty_strings(self):
        created = rdb().create_result('INFO', unique('compat.empty'), note='', ref_url='')
        self.assertEqual(created['note'], '')
        self.assertEqual(created['ref_url'], '')

    def test_data_values_follow_python_str(self):
        values = {
            'string': 'plain',
            'unicode': 'žluťoučký kůň',
            'empty_string': '',
            'true': True,
            'false': False,
            'null': None,
            'int': 3,
            'negative': -7,
            'big_int': 2 ** 70,
            'float': 1.5,
            'float_whole': 10.0,
            'float_big': 1e20,
            'float_small': 1e-07,
            'dict': {'b': 1, 'a': [True, None, 'x']},
            'dict_quotes': {'q': "it's"},
            'list_mixed': ['x', 2, True, None, 1.5],
            'list_nested': [[1, 2], {'k': 'v'}],
            'list_duplicates': ['same', 'same'],
        }
        created = rdb().create_result('PASSED', unique('compat.data'), **values)
        self.assert_result(created)
        again = rdb().get_result(created['id'])
        self.assertEqual(again['data'], created['data'])
        self.assertEqual(set(created['data']), set(values))
        for key, value in values.items():
            with self.subTest(key=key, sent=value):
                # Order inside a list is not guaranteed.
                self.assertEqual(sorted(created['data'].get(key, [])),
                                 sorted(py_str_values(value)))

    def test_empty_list_value_vanishes(self):
        created = rdb().create_result('PASSED', unique('compat.emptylist'),
                                      gone=[], kept='yes')
        self.assertEqual(created['data'], {'kept': ['yes']})

    def test_list_value_is_one_row_per_element(self):
        name = unique('compat.listrows')
        created = rdb().create_result('PASSED', name, arch=['x86_64', 'noarch'])
        self.assertEqual(sorted(created['data']['arch']), ['noarch', 'x86_64'])
        # Each element is found by an exact data filter.
        for arch in ('x86_64', 'noarch'):
            found = rdb().get_results(testcases=name, arch=arch)
            self.assertEqual([r['id'] for r in found['data']], [created['id']])


class GetResults(Case):
    """get_results: paging, links, and every filter the client can send."""

    @classmethod
    def setUpClass(cls):
        cls.name = unique('compat.paging')
        cls.item = unique('paging-item')
        api = rdb()
        cls.created = [api.create_result('PASSED', cls.name, item=cls.item)
                       for _ in range(5)]
        # Newest first.
        cls.ids = [r['id'] for r in reversed(cls.created)]

    def test_limit_and_next_links_followed_verbatim(self):
        first = rdb().get_results(testcases=self.name, limit=2)
        self.assert_collection(first, self.assert_result)
        self.assertEqual([r['id'] for r in first['data']], self.ids[:2])
        self.assertIsNone(first['prev'])
        # The client sends limit before testcases; page is appended.
        self.assertEqual(first['next'], '%s/results?limit=2&testcases=%s&page=1'
                         % (base(), self.name))
        second = get_json(first['next'])
        self.assertEqual([r['id'] for r in second['data']], self.ids[2:4])
        self.assertEqual(second['prev'], '%s/results?limit=2&testcases=%s&page=0'
                         % (base(), self.name))
        self.assertEqual(second['next'], '%s/results?limit=2&testcases=%s&page=2'
                         % (base(), self.name))
        third = get_json(second['next'])
        self.assertEqual([r['id'] for r in third['data']], self.ids[4:])
        self.assertIsNone(third['next'])
        self.assertEqual(third['prev'], second['next'].replace('page=2', 'page=1'))

    def test_page_param_is_rewritten_in_place(self):
        body = rdb().get_results(page=1, limit=2, testcases=self.name)
        self.assertEqual([r['id'] for r in body['data']], self.ids[2:4])
        self.assertEqual(body['prev'], '%s/results?page=0&limit=2&testcases=%s'
                         % (base(), self.name))
        self.assertEqual(body['next'], '%s/results?page=2&limit=2&testcases=%s'
                         % (base(), self.name))

    def test_empty_page_and_limit_zero(self):
        # prev is set on any page after the first, even an empty one.
        body = rdb().get_results(page=5, limit=2, testcases=self.name)
        self.assertEqual(body, {'data': [], 'next': None,
                                'prev': '%s/results?page=4&limit=2&testcases=%s'
                                        % (base(), self.name)})
        # limit=0 gives no data but still a next link.
        body = rdb().get_results(limit=0, testcases=self.name)
        self.assertEqual(body, {'data': [], 'prev': None,
                                'next': '%s/results?limit=0&testcases=%s&page=1'
                                        % (base(), self.name)})

    def test_follow_everything(self):
        first = rdb().get_results(testcases=self.name, limit=1)
        items = [r['id'] for r in first['data']]
        items += [r['id'] for r in self.follow_all(first['next'], self.assert_result, page=1)]
        self.assertEqual(items, self.ids)
        # The same through a data filter and the group/testcase sub-resources.
        url = '%s/results?item=%s&limit=3' % (base(), self.item)
        self.assertEqual([r['id'] for r in self.follow_all(url)], self.ids)
        url = '%s/testcases/%s/results?limit=2' % (base(), self.name)
        self.assertEqual([r['id'] for r in self.follow_all(url)], self.ids)

    def test_default_limit_is_20(self):
        name = unique('compat.limit20')
        api = rdb()
        for _ in range(21):
            api.create_result('PASSED', name)
        body = api.get_results(testcases=name)
        self.assertEqual(len(body['data']), 20)
        self.assertEqual(body['next'], '%s/results?testcases=%s&page=1' % (base(), name))
        self.assertEqual(len(get_json(body['next'])['data']), 1)

    def test_sort_raw_param(self):
        body = rdb().get_results(testcases=self.name, raw_params={'_sort': 'asc:submit_time'})
        self.assertEqual([r['id'] for r in body['data']], list(reversed(self.ids)))
        body = rdb().get_results(testcases=self.name, raw_params={'_sort': 'desc:submit_time'})
        self.assertEqual([r['id'] for r in body['data']], self.ids)
        # Anything else falls back to newest first.
        body = rdb().get_results(testcases=self.name, raw_params={'_sort': 'asc:id'})
        self.assertEqual([r['id'] for r in body['data']], self.ids)

    def test_distinct_on_raw_param_is_ignored_by_results(self):
        # `_distinct_on` is a reserved parameter on /results too (the
        # reference server's ResultsParams): ignored, not a data filter.
        body = rdb().get_results(testcases=self.name, raw_params={'_distinct_on': 'item'})
        self.assertEqual([r['id'] for r in body['data']], self.ids)

    def test_since(self):
        times = [r['submit_time'] for r in self.created]
        body = rdb().get_results(testcases=self.name, since=times[1])
        self.assertEqual([r['id'] for r in body['data']], self.ids[:4])
        # Both bounds are inclusive.
        body = rdb().get_results(testcases=self.name, since='%s,%s' % (times[1], times[3]))
        self.assertEqual([r['id'] for r in body['data']], self.ids[1:4])
        body = rdb().get_results(testcases=self.name, since='1900-01-01')
        self.assertEqual([r['id'] for r in body['data']], self.ids)
        body = rdb().get_results(testcases=self.name, since='2999-01-01T00:00:00.000000')
        self.assertEqual(body['data'], [])

    def test_outcome(self):
        name = unique('compat.outcome')
        api = rdb()
        ids = {o: api.create_result(o, name)['id'] for o in ('PASSED', 'FAILED', 'INFO')}
        body = api.get_results(testcases=name, outcome='PASSED')
        self.assertEqual([r['id'] for r in body['data']], [ids['PASSED']])
        # A list is comma-joined; outcomes are case-insensitive.
        body = api.get_results(testcases=name, outcome=['passed', 'Failed'])
        self.assertEqual(sorted(r['id'] for r in body['data']),
                         sorted([ids['PASSED'], ids['FAILED']]))

    def test_groups(self):
        api = rdb()
        g1, g2, g3 = (str(uuid.uuid4()) for _ in range(3))
        r1 = api.create_result('PASSED', unique('compat.g'), groups=[g1])
        r2 = api.create_result('PASSED', unique('compat.g'), groups=[g2, g3])
        body = api.get_results(groups=g1)
        self.assertEqual([r['id'] for r in body['data']], [r1['id']])
        body = api.get_results(groups=[g1, g2])
        self.assertEqual([r['id'] for r in body['data']], [r2['id'], r1['id']])
        body = api.get_results(groups=[g3])
        self.assertEqual([r['id'] for r in body['data']], [r2['id']])
        # And the nested form.
        body = get_json('%s/groups/%s/results' % (base(), g2))
        self.assertEqual([r['id'] for r in body['data']], [r2['id']])

    def test_testcases_and_testcases_like(self):
        prefix = unique('compat.tclike')
        api = rdb()
        ra = api.create_result('PASSED', prefix + '.a')
        rb = api.create_result('PASSED', prefix + '.b')
        rc = api.create_result('PASSED', prefix + '.c')
        body = api.get_results(testcases=[prefix + '.a', prefix + '.c'])
        self.assertEqual([r['id'] for r in body['data']], [rc['id'], ra['id']])
        body = api.get_results(testcases_like=prefix + '.*')
        self.assertEqual([r['id'] for r in body['data']], [rc['id'], rb['id'], ra['id']])
        # testcases and testcases:like are ORed.
        body = api.get_results(testcases=prefix + '.a', testcases_like=prefix + '.b*')
        self.assertEqual([r['id'] for r in body['data']], [rb['id'], ra['id']])

    def test_data_filters_from_kwargs(self):
        api = rdb()
        item = unique('datafilter')
        r1 = api.create_result('PASSED', unique('compat.df'), item=item, type='koji_build',
                               arch='x86_64')
        r2 = api.create_result('PASSED', unique('compat.df'), item=item, type='koji_build',
                               arch='noarch')
        r3 = api.create_result('PASSED', unique('compat.df'), item=item, type='bodhi_update',
                               arch='x86_64')
        # Several keys are ANDed.
        body = api.get_results(item=item, type='koji_build')
        self.assertEqual([r['id'] for r in body['data']], [r2['id'], r1['id']])
        body = api.get_results(item=item, type='koji_build', arch='x86_64')
        self.assertEqual([r['id'] for r in body['data']], [r1['id']])
        # A list is comma-joined: values are ORed.
        body = api.get_results(item=item, arch=['noarch', 'aarch64'])
        self.assertEqual([r['id'] for r in body['data']], [r2['id']])
        body = api.get_results(item=item, type=('koji_build', 'bodhi_update'), arch='x86_64')
        self.assertEqual([r['id'] for r in body['data']], [r3['id'], r1['id']])
        # A kwarg ending in _like is a :like filter; * is the wildcard.
        body = api.get_results(item_like=item[:-4] + '*', type='bodhi_update')
        self.assertEqual([r['id'] for r in body['data']], [r3['id']])
        body = api.get_results(item=item, arch_like=['noa*', 'nothing*'])
        self.assertEqual([r['id'] for r in body['data']], [r2['id']])
        # raw_params passes keys verbatim, e.g. an explicit :like.
        body = api.get_results(raw_params={'item:like': '*' + item[-10:]}, type='koji_build')
        self.assertEqual([r['id'] for r in body['data']], [r2['id'], r1['id']])
        # A repeated data key is ORed.
        body = get_json(base() + '/results', params=[
            ('item', item), ('type', 'bodhi_update'), ('type', 'nothing')])
        self.assertEqual([r['id'] for r in body['data']], [r3['id']])
        # A filter nothing matches.
        body = api.get_results(item=item, arch='s390x')
        self.assertEqual(body, {'data': [], 'prev': None, 'next': None})


class Groups(Case):
    """create_group, update_group, get_group, get_groups."""

    def test_create_update_get(self):
        api = rdb()
        group_uuid = str(uuid.uuid4())
        description = unique('compat.group')
        created = api.create_group(uuid=group_uuid, description=description,
                                   ref_url='https://g.example/1')
        self.assert_group(created, group_uuid)
        self.assertEqual(created['description'], description)
        self.assertEqual(created['ref_url'], 'https://g.example/1')
        self.assertEqual(created['results_count'], 0)
        self.assertEqual(api.get_group(group_uuid), created)
        updated = api.update_group(group_uuid, description=description + '.new')
        self.assertEqual(updated['description'], description + '.new')
        self.assertEqual(updated['ref_url'], 'https://g.example/1')
        updated = api.update_group(group_uuid, ref_url='https://g.example/2')
        self.assertEqual(updated['ref_url'], 'https://g.example/2')
        self.assertEqual(updated['description'], description + '.new')
        # Nothing to change: the client just GETs the group.
        self.assertEqual(api.update_group(group_uuid), updated)
        # An empty value does not overwrite.
        kept = api.update_group(group_uuid, description='', ref_url='')
        self.assertEqual(kept['description'], description + '.new')
        self.assertEqual(kept['ref_url'], 'https://g.example/2')
        # create_group on an existing uuid with nulls keeps everything too.
        kept = api.create_group(uuid=group_uuid)
        self.assertEqual(kept, updated)

    def test_create_without_uuid(self):
        description = unique('compat.nouuid')
        created = rdb().create_group(description=description)
        self.assert_group(created)
        self.assertEqual(str(uuid.UUID(created['uuid'])), created['uuid'])
        self.assertEqual(rdb().get_groups(description=description)['data'], [created])

    def test_get_groups_filters_and_paging(self):
        api = rdb()
        prefix = unique('compat.gl')
        created = [api.create_group(uuid=str(uuid.uuid4()), description='%s.%d' % (prefix, i))
                   for i in range(3)]
        newest_first = list(reversed(created))
        body = api.get_groups(description=created[1]['description'])
        self.assert_collection(body, self.assert_group)
        self.assertEqual(body['data'], [created[1]])
        # description is a comma list, ORed.
        body = api.get_groups(description=[created[0]['description'],
                                           created[2]['description']])
        self.assertEqual(body['data'], [created[2], created[0]])
        body = api.get_groups(description_like=prefix + '.*')
        self.assertEqual(body['data'], newest_first)
        # description wins over description:like.
        body = api.get_groups(description=created[0]['description'],
                              description_like=prefix + '.*')
        self.assertEqual(body['data'], [created[0]])
        body = api.get_groups(uuid=[created[0]['uuid'], created[1]['uuid']])
        self.assertEqual(body['data'], [created[1], created[0]])
        body = api.get_groups(uuid=created[2]['uuid'])
        self.assertEqual(body['data'], [created[2]])
        first = api.get_groups(description_like=prefix + '.*', limit=2)
        self.assertEqual(first['data'], newest_first[:2])
        self.assertIsNone(first['prev'])
        self.assert_link(first['next'], '/groups',
                         [('limit', '2'), ('description:like', prefix + '.*'), ('page', '1')])
        rest = self.follow_all(first['next'], self.assert_group, page=1)
        self.assertEqual(rest, newest_first[2:])
        page = api.get_groups(page=1, limit=1, description_like=prefix + '.*')
        self.assertEqual(page['data'], [newest_first[1]])


class Testcases(Case):
    """create_testcase, update_testcase, get_testcase, get_testcases."""

    def test_name_with_slashes(self):
        api = rdb()
        name = 'fedora-ci.koji-build.%s./plans/basic.functional' % uuid.uuid4().hex[:12]
        created = api.create_testcase(name, ref_url='https://docs.example/plans')
        self.assert_testcase(created, name)
        self.assertEqual(created['href'], '%s/testcases/%s' % (base(), name))
        self.assertEqual(created['ref_url'], 'https://docs.example/plans')
        self.assertEqual(api.get_testcase(name), created)
        self.assertEqual(get_json(created['href']), created)
        result = api.create_result('PASSED', name, item='x')
        self.assertEqual(result['testcase'], created)
        body = get_json('%s/testcases/%s/results' % (base(), name))
        self.assertEqual([r['id'] for r in body['data']], [result['id']])
        self.assertEqual(api.get_results(testcases=name)['data'], [result])

    def test_update(self):
        api = rdb()
        name = unique('compat.tc')
        created = api.create_testcase(name)
        self.assertIsNone(created['ref_url'])
        updated = api.update_testcase(name, url='https://tc.example/1')
        self.assertEqual(updated['ref_url'], 'https://tc.example/1')
        # No URL: the client just GETs the testcase.
        self.assertEqual(api.update_testcase(name), updated)
        # create_testcase with ref_url None keeps the URL.
        self.assertEqual(api.create_testcase(name), updated)
        self.assertEqual(api.create_testcase(name, ref_url='https://tc.example/2')['ref_url'],
                         'https://tc.example/2')

    def test_get_testcases(self):
        api = rdb()
        prefix = unique('compat.tcl')
        names = ['%s.%s' % (prefix, suffix) for suffix in ('c', 'a', 'b')]
        created = {n: api.create_testcase(n, ref_url='https://x/' + n) for n in names}
        by_name = [created[n] for n in sorted(names)]
        body = api.get_testcases(name=names[0])
        self.assert_collection(body, self.assert_testcase)
        self.assertEqual(body['data'], [created[names[0]]])
        body = api.get_testcases(name=names[:2])
        self.assertEqual(body['data'], [created[names[1]], created[names[0]]])
        # Ordered by name.
        body = api.get_testcases(name_like=prefix + '.*')
        self.assertEqual(body['data'], by_name)
        body = api.get_testcases(name=names[2], name_like=prefix + '.*')
        self.assertEqual(body['data'], [created[names[2]]])
        first = api.get_testcases(limit=1, name_like=prefix + '*')
        self.assertEqual(first['data'], by_name[:1])
        self.assert_link(first['next'], '/testcases',
                         [('limit', '1'), ('name:like', prefix + '*'), ('page', '1')])
        self.assertEqual(self.follow_all(first['next'], self.assert_testcase, page=1), by_name[1:])


class Errors(Case):
    """ResultsDBapiException carries the server's message and response."""

    def assert_raises_api(self, status, call, *args, **kwargs):
        with self.assertRaises(ResultsDBapiException) as caught:
            call(*args, **kwargs)
        error = caught.exception
        self.assertIsNotNone(error.response, str(error))
        self.assertEqual(error.response.status_code, status, error.response.text)
        return error

    def test_404s(self):
        api = rdb()
        error = self.assert_raises_api(404, api.get_result, 2 ** 31 - 7)
        self.assertEqual(error.message, 'Result not found (HTTP 404)')
        error = self.assert_raises_api(404, api.get_group, str(uuid.uuid4()))
        self.assertEqual(error.message, 'Group not found (HTTP 404)')
        error = self.assert_raises_api(404, api.get_testcase, unique('compat.missing') + '/x')
        self.assertEqual(error.message, 'Testcase not found (HTTP 404)')
        error = self.assert_raises_api(404, api.update_testcase, unique('compat.missing'))
        self.assertEqual(error.message, 'Testcase not found (HTTP 404)')
        error = self.assert_raises_api(404, api.update_group, str(uuid.uuid4()))
        self.assertEqual(error.message, 'Group not found (HTTP 404)')
        missing = str(uuid.uuid4())
        answer = requests.get('%s/groups/%s/results' % (base(), missing), timeout=30)
        self.assertEqual((answer.status_code, answer.json()),
                         (404, {'message': 'Group not found: ' + missing}))
        answer = requests.get('%s/testcases/%s/results' % (base(), unique('nope')), timeout=30)
        self.assertEqual((answer.status_code, answer.json()),
                         (404, {'message': 'Testcase not found'}))
        answer = requests.get(base() + '/results/', timeout=30)
        self.assertEqual((answer.status_code, answer.json()), (404, {'message': 'Not found'}))

    def test_400_unknown_outcome(self):
        api = rdb()
        name = unique('compat.badoutcome')
        error = self.assert_raises_api(400, api.create_result, 'BOGUS', name, item='x')
        self.assertIn('(HTTP 400)', error.message)
        self.assertIn('outcome', error.response.text)
        # Nothing was stored.
        error = self.assert_raises_api(404, api.get_testcase, name)
        error = self.assert_raises_api(400, api.get_results, outcome='BOGUS')
        self.assertIn('(HTTP 400)', error.message)
        self.assertIn('outcome', error.response.text)

    def test_400_colon_in_data_key(self):
        error = self.assert_raises_api(400, rdb().create_result, 'PASSED',
                                       unique('compat.colon'), **{'a:b': 'x'})
        self.assertEqual(error.message, "Colon not allowed in key name: ['a:b'] (HTTP 400)")

    def test_400_bad_since(self):
        error = self.assert_raises_api(400, rdb().get_results, since='yesterday')
        self.assertIn('(HTTP 400)', error.message)
        self.assertIn('since', error.response.text)


if __name__ == '__main__':
    rdbcompat.main()
