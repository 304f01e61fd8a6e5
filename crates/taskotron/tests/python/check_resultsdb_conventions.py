"""``resultsdb_conventions`` (PyPI resultsdb-conventions) reporters posting
through ``resultsdb_api``, then everything they posted read back.

Only the classes that need no network: the base ``Result``, the productmd
compose and image results (given their metadata), ``FedoraBodhiResult`` and
the Fedora CoreOS build and image results. (``FedoraComposeResult`` and
``FedoraImageResult`` ask fedfind, i.e. the network, for the compose.)

Usage: python check_resultsdb_conventions.py http://HOST:PORT/api/v2.0
"""

import uuid

from resultsdb_api import ResultsDBapi
from resultsdb_conventions.base import Result
from resultsdb_conventions.fedora import FedoraBodhiResult
from resultsdb_conventions.fedoracoreos import FedoraCoreOSBuildResult, FedoraCoreOSImageResult
from resultsdb_conventions.prodmd import ProductmdComposeResult, ProductmdImageResult

import rdbcompat
from rdbcompat import Case, get_json, unique


def rdb():
    return ResultsDBapi(rdbcompat.BASE)


def group_uuid(namespace, name):
    """The conventions' group id: uuid5(uuid5(DNS, namespace), name)."""
    return str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, namespace), name))


def composeinfo(cid, respin=0):
    """The parts of a productmd composeinfo the conventions read."""
    return {
        'header': {'type': 'productmd.composeinfo', 'version': '1.2'},
        'payload': {
            'compose': {'id': cid, 'date': '20240501', 'type': 'nightly', 'respin': respin},
            'release': {'name': 'Fedora', 'short': 'Fedora', 'version': 'Rawhide'},
        },
    }


class Conventions(Case):

    def setUp(self):
        # A source of our own, so the `source.<source>` group is ours alone.
        self.source = 'src' + uuid.uuid4().hex[:12]

    def read_back(self, posted):
        """The posted result, checked and fetched again by id and by group."""
        self.assert_result(posted)
        fetched = rdb().get_result(posted['id'])
        self.assertEqual(fetched, posted)
        return fetched

    def assert_groups(self, result, expected):
        """``expected``: {(namespace, name): ref_url or None}. Each group has
        the conventions' uuid5 id and `namespace.name` description."""
        uuids = {group_uuid(ns, name): (ns, name) for (ns, name) in expected}
        self.assertEqual(sorted(result['groups']), sorted(uuids))
        for group_id, (ns, name) in uuids.items():
            group = rdb().get_group(group_id)
            self.assert_group(group, group_id)
            self.assertEqual(group['description'], '%s.%s' % (ns, name))
            self.assertEqual(group['ref_url'], expected[(ns, name)])
            listed = rdb().get_groups(description='%s.%s' % (ns, name))
            self.assertEqual(listed['data'], [group])
            members = get_json(group['results'])
            self.assertIn(result['id'], [r['id'] for r in members['data']])

    def test_base_result(self):
        name = unique('conv.base')
        rdb().create_testcase(name, ref_url='https://old.example/tc')
        report = Result('passed', name, note='all good', ref_url='https://log.example/1',
                        tc_url='https://wiki.example/' + name, source=self.source)
        posted = self.read_back(report.report(rdb()))
        self.assertEqual(posted['outcome'], 'PASSED')
        self.assertEqual(posted['note'], 'all good')
        self.assertEqual(posted['ref_url'], 'https://log.example/1')
        self.assertEqual(posted['testcase']['ref_url'], 'https://wiki.example/' + name)
        self.assertEqual(posted['data'], {'meta.conventions': ['result'],
                                          'source': [self.source]})
        self.assert_groups(posted, {('source', self.source): None})
        self.assertEqual(rdb().get_testcase(name)['ref_url'], 'https://wiki.example/' + name)

    def test_defaults_are_empty_strings(self):
        name = unique('conv.defaults')
        rdb().create_testcase(name, ref_url='https://old.example/tc')
        posted = self.read_back(Result('FAILED', name).report(rdb()))
        # note, ref_url and tc_url default to '' and are sent as such; the
        # testcase object's '' overwrites the stored URL every time.
        self.assertEqual(posted['note'], '')
        self.assertEqual(posted['ref_url'], '')
        self.assertEqual(posted['testcase']['ref_url'], '')
        self.assertEqual(rdb().get_testcase(name)['ref_url'], '')
        self.assertEqual(posted['groups'], [])
        self.assertEqual(posted['data'], {'meta.conventions': ['result']})

    def test_explicit_groups_and_no_defaults(self):
        existing = str(uuid.uuid4())
        rdb().create_group(uuid=existing, description=unique('conv.existing'))
        report = Result('INFO', unique('conv.explicit'), groups=[existing],
                        source=self.source)
        posted = self.read_back(report.report(rdb(), default_extradata=False,
                                              default_groups=False))
        self.assertEqual(posted['groups'], [existing])
        self.assertEqual(posted['data'], {})

    def test_bodhi_update(self):
        name = unique('update.base_selinux')
        update = 'FEDORA-2024-%s' % uuid.uuid4().hex[:10]
        report = FedoraBodhiResult(update, 'PASSED', name, note='openQA',
                                   ref_url='https://openqa.example/tests/1',
                                   tc_url='https://openqa.example/wiki', source=self.source)
        # openQA's reporter adds these on top of the convention.
        report.extradata.update({'arch': 'x86_64', 'firmware': 'bios',
                                 'scenario': 'fedora.updates-kde.x86_64.64bit'})
        posted = self.read_back(report.report(rdb()))
        self.assertEqual(posted['data'], {
            'arch': ['x86_64'],
            'firmware': ['bios'],
            'item': [update],
            'meta.conventions': ['result fedora.bodhi'],
            'scenario': ['fedora.updates-kde.x86_64.64bit'],
            'source': [self.source],
            'type': ['bodhi_update'],
        })
        self.assert_groups(posted, {
            ('source', self.source): None,
            ('bodhi', update): 'https://bodhi.fedoraproject.org/updates/' + update,
            (self.source, update): None,
        })
        found = rdb().get_results(item=update, type='bodhi_update')
        self.assertEqual(found['data'], [posted])
        # Reported again: the same groups, now with two results each.
        again = self.read_back(report.report(rdb()))
        self.assertEqual(sorted(again['groups']), sorted(posted['groups']))
        for group_id in posted['groups']:
            self.assertEqual(rdb().get_group(group_id)['results_count'], 2)
        found = rdb().get_results(item=update, type='bodhi_update')
        self.assertEqual([r['id'] for r in found['data']], [again['id'], posted['id']])

    def test_productmd_compose(self):
        cid = 'Fedora-Rawhide-20240501.n.%s' % uuid.uuid4().hex[:8]
        name = unique('compose.base_selinux')
        report = ProductmdComposeResult(composeinfo(cid, respin=0), 'FAILED', name,
                                        source=self.source)
        posted = self.read_back(report.report(rdb()))
        self.assertEqual(posted['data'], {
            'item': [cid],
            'meta.conventions': ['result productmd.compose'],
            'productmd.compose.date': ['20240501'],
            'productmd.compose.id': [cid],
            'productmd.compose.name': ['Fedora'],
            # an int in the metadata: stored as Python str()
            'productmd.compose.respin': ['0'],
            'productmd.compose.short': ['Fedora'],
            'productmd.compose.type': ['nightly'],
            'productmd.compose.version': ['Rawhide'],
            'source': [self.source],
            'type': ['compose'],
        })
        self.assert_groups(posted, {
            ('source', self.source): None,
            ('compose', cid): None,
            (self.source, cid): None,
        })
        found = rdb().get_results(**{'productmd.compose.id': cid})
        self.assertEqual(found['data'], [posted])

    def test_productmd_image(self):
        cid = 'Fedora-Rawhide-20240501.n.%s' % uuid.uuid4().hex[:8]
        filename = 'Fedora-Workstation-Live-x86_64-Rawhide-%s.iso' % uuid.uuid4().hex[:8]
        imgdict = {'path': 'Workstation/x86_64/iso/' + filename, 'arch': 'x86_64',
                   'disc_number': 1, 'format': 'iso', 'subvariant': 'Workstation',
                   'type': 'live'}
        name = unique('compose.install_default')
        report = ProductmdImageResult(imgdict, composeinfo(cid, respin=2), 'PASSED', name,
                                      source=self.source)
        posted = self.read_back(report.report(rdb()))
        data = posted['data']
        self.assertEqual(data['item'], [filename])
        self.assertEqual(data['type'], ['compose'])
        self.assertEqual(data['meta.conventions'],
                         ['result productmd.compose productmd.image'])
        self.assertEqual(data['productmd.compose.respin'], ['2'])
        self.assertEqual(data['productmd.image.arch'], ['x86_64'])
        self.assertEqual(data['productmd.image.disc_number'], ['1'])
        self.assertEqual(data['productmd.image.format'], ['iso'])
        self.assertEqual(data['productmd.image.subvariant'], ['Workstation'])
        self.assertEqual(data['productmd.image.type'], ['live'])
        imgid = 'workstation.live.iso.x86_64.1'
        self.assert_groups(posted, {
            ('source', self.source): None,
            ('compose', cid): None,
            (self.source, cid): None,
            ('image', imgid): None,
            (self.source, imgid): None,
        })

    def test_fedora_coreos(self):
        build = '40.%s.dev.0' % uuid.uuid4().hex[:8]
        name = unique('fcosbuild.base')
        posted = self.read_back(FedoraCoreOSBuildResult(
            build, 'testing-devel', 'PASSED', name, source=self.source).report(rdb()))
        self.assertEqual(posted['data'], {
            'fedoracoreos.build.stream': ['testing-devel'],
            'fedoracoreos.build.version': [build],
            'item': [build],
            'meta.conventions': ['result fedoracoreos.build'],
            'source': [self.source],
            'type': ['fcosbuild'],
        })
        self.assert_groups(posted, {
            ('source', self.source): None,
            ('fcosbuild', build): None,
            (self.source, build): None,
        })
        filename = 'fedora-coreos-%s-metal.x86_64.raw.xz' % build
        image = self.read_back(FedoraCoreOSImageResult(
            'metal', filename, 'raw.xz', 'x86_64', build, 'testing-devel', 'FAILED', name,
            source=self.source).report(rdb()))
        self.assertEqual(image['data']['item'], [filename])
        self.assertEqual(image['data']['fedoracoreos.image.platform'], ['metal'])
        self.assertEqual(image['data']['fedoracoreos.image.format'], ['raw.xz'])
        self.assertEqual(image['data']['fedoracoreos.image.arch'], ['x86_64'])
        self.assertEqual(image['data']['meta.conventions'],
                         ['result fedoracoreos.build fedoracoreos.image'])
        # The build group is shared; the image group is the same uuid5 for
        # every build (that is the convention), so check membership only.
        self.assertIn(group_uuid('fcosbuild', build), image['groups'])
        imgid = 'fedoracoreos.metal.raw.xz.x86_64'
        self.assertIn(group_uuid('image', imgid), image['groups'])
        found = rdb().get_results(testcases=name, item=[build, filename])
        self.assertEqual([r['id'] for r in found['data']], [image['id'], posted['id']])
        found = rdb().get_results(groups=group_uuid('fcosbuild', build))
        self.assertEqual([r['id'] for r in found['data']], [image['id'], posted['id']])


if __name__ == '__main__':
    rdbcompat.main()
