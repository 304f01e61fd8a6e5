"""Tests for libtaskotron.check and taskotron_python_driver.

Run from crates/taskotron_runner/python::

    python3 -m unittest discover -s tests -v

Standard library only. The YAML reading tests run twice: with the built-in
parser (always) and with PyYAML (only when it is importable).
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(PYTHON_DIR, 'taskotron_python_driver.py')
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

from libtaskotron import check  # noqa: E402
from libtaskotron.check import CheckDetail  # noqa: E402

TRICKY_STRINGS = [
    'say "hi"', "it's", 'a: b', 'key:', ':', '# not a comment', 'x #y', 'x#y',
    'line1\nline2', 'line\r\nbreak', 'tab\there', '\ttab first', 'ünïcødé ✓ 😀 日本',
    '  leading spaces', 'trailing spaces  ', ' ', '', 'true', 'false', 'True',
    'yes', 'no', 'on', 'off', 'y', 'n', '123', '-7', '0x1f', '0o17', '012',
    '1.5', '1e3', '.inf', '.nan', 'null', 'Null', '~', '-', '- item', '?', '? x',
    '[]', '{}', '[a, b]', '{a: b}', '&anchor', '*alias', '!tag', '!!str x', '|',
    '>', '%YAML', '@at', '`tick`', '---', '...', 'back\\slash', '\\n literally',
    '\x00\x07\x1b\x08\x0c', '\x7f\x80\x85\x9f', '\u2028\u2029', '\ufeff BOM',
    '\ufffe', '"', "'", "''", '\\"', 'http://example.com/a#b?c=d',
]


class UsePyYAMLSwitch(object):
    """Mixin: set check.USE_PYYAML to ``use_pyyaml`` for each test."""

    use_pyyaml = False

    def setUp(self):
        super().setUp()
        saved = check.USE_PYYAML
        check.USE_PYYAML = self.use_pyyaml
        self.addCleanup(setattr, check, 'USE_PYYAML', saved)


class LadderTests(unittest.TestCase):

    def test_outcomes_constant_is_the_ladder(self):
        self.assertEqual(check.OUTCOMES, ('PASSED', 'INFO', 'FAILED', 'NEEDS_INSPECTION',
                                          'ABORTED', 'CRASHED'))

    def test_defaults(self):
        detail = CheckDetail('foo-1.0-1.fc40')
        self.assertEqual(detail.item, 'foo-1.0-1.fc40')
        self.assertIsNone(detail.report_type)
        self.assertIsNone(detail.outcome)
        self.assertEqual(detail.note, '')
        self.assertEqual(detail.output, [])
        self.assertEqual(detail.keyvals, {})
        self.assertIsNone(detail.checkname)
        self.assertIsNone(detail.artifact)

    def test_update_outcome_keeps_the_worst(self):
        detail = CheckDetail('foo')
        detail.update_outcome('INFO')
        self.assertEqual(detail.outcome, 'INFO')
        detail.update_outcome('PASSED')
        self.assertEqual(detail.outcome, 'INFO')
        detail.update_outcome('FAILED')
        self.assertEqual(detail.outcome, 'FAILED')
        detail.update_outcome(None)
        self.assertEqual(detail.outcome, 'FAILED')
        detail.update_outcome('CRASHED')
        detail.update_outcome('ABORTED')
        self.assertEqual(detail.outcome, 'CRASHED')

    def test_every_step_of_the_ladder(self):
        for lower_index, lower in enumerate(check.OUTCOMES):
            for higher in check.OUTCOMES[lower_index:]:
                for first, second in ((lower, higher), (higher, lower)):
                    detail = CheckDetail('foo', outcome=first)
                    detail.update_outcome(second)
                    self.assertEqual(detail.outcome, higher, (first, second))

    def test_unset_is_below_passed(self):
        detail = CheckDetail('foo')
        detail.update_outcome('PASSED')
        self.assertEqual(detail.outcome, 'PASSED')

    def test_bad_outcome_raises(self):
        with self.assertRaises(ValueError) as ctx:
            CheckDetail('foo', outcome='GREAT')
        self.assertIn('GREAT', str(ctx.exception))
        self.assertIn('PASSED, INFO, FAILED, NEEDS_INSPECTION, ABORTED, CRASHED',
                      str(ctx.exception))
        detail = CheckDetail('foo', outcome='PASSED')
        with self.assertRaises(ValueError):
            detail.outcome = 'passed'
        with self.assertRaises(ValueError):
            detail.update_outcome('FAIL')
        self.assertEqual(detail.outcome, 'PASSED')
        detail.outcome = None
        self.assertIsNone(detail.outcome)

    def test_broken(self):
        for outcome in check.OUTCOMES + (None,):
            self.assertEqual(CheckDetail('foo', outcome=outcome).broken(),
                             outcome in ('ABORTED', 'CRASHED'), outcome)

    def test_store(self):
        detail = CheckDetail('foo', output=['first'])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            detail.store('second')
            detail.store('third', printout=False)
        self.assertEqual(detail.output, ['first', 'second', 'third'])
        self.assertEqual(out.getvalue(), 'second\n')


class SummaryTests(unittest.TestCase):

    def test_counts_in_ladder_order(self):
        details = [CheckDetail('a', outcome=o) for o in
                   ('FAILED', 'PASSED', 'INFO', 'PASSED', 'FAILED', 'PASSED')]
        self.assertEqual(check.create_multi_item_summary(details),
                         '3 PASSED, 1 INFO, 2 FAILED')

    def test_outcome_strings_and_unset(self):
        self.assertEqual(check.create_multi_item_summary(
            ['CRASHED', 'PASSED', CheckDetail('x')]), '1 PASSED, 1 NEEDS_INSPECTION, 1 CRASHED')
        self.assertEqual(check.create_multi_item_summary([]), '')
        self.assertEqual(check.create_multi_item_summary(CheckDetail('x', outcome='INFO')),
                         '1 INFO')

    def test_bad_string(self):
        with self.assertRaises(ValueError):
            check.create_multi_item_summary(['PASSED', 'OK'])


class ExportTests(unittest.TestCase):

    def test_exact_output(self):
        details = [
            CheckDetail('foo-1.0-1.fc40', 'koji_build', 'PASSED', note='2 warnings',
                        keyvals={'arch': 'x86_64'}, checkname='scratch.demo'),
            CheckDetail('foo-1.0-1.fc40', 'koji_build', artifact='logs/demo.log',
                        keyvals={'zeta': [1, 2.5, True, None, 'x'], 'count': 3,
                                 'empty': [], 'ratio': 1e-05, 'on': False,
                                 'with space': 'v'}),
        ]
        expected = textwrap.dedent('''\
            results:
              - item: "foo-1.0-1.fc40"
                type: "koji_build"
                checkname: "scratch.demo"
                outcome: "PASSED"
                note: "2 warnings"
                arch: "x86_64"
              - item: "foo-1.0-1.fc40"
                type: "koji_build"
                checkname: "scratch.fallback"
                outcome: "NEEDS_INSPECTION"
                artifact: "logs/demo.log"
                count: 3
                empty: []
                "on": false
                ratio: 1.0e-05
                "with space": "v"
                zeta:
                  - 1
                  - 2.5
                  - true
                  - null
                  - "x"
            ''')
        self.assertEqual(check.export_YAML(details, checkname='scratch.fallback'), expected)

    def test_empty_and_single(self):
        self.assertEqual(check.export_YAML([]), 'results: []\n')
        self.assertEqual(
            check.export_YAML(CheckDetail('x', 'koji_tag', 'INFO')),
            'results:\n  - item: "x"\n    type: "koji_tag"\n    outcome: "INFO"\n')

    def test_reserved_keyvals(self):
        for key in ('item', 'type', 'outcome', 'note', 'results', 'checkname',
                    'artifact', '_internal'):
            detail = CheckDetail('x', 'koji_build', 'PASSED', keyvals={key: 'v'})
            with self.assertRaises(ValueError) as ctx:
                check.export_YAML([detail])
            self.assertIn(repr(key), str(ctx.exception))

    def test_bad_values(self):
        for keyvals in ({'k': object()}, {'k': {'nested': 1}}, {'k': [[1]]}, {1: 'v'}):
            detail = CheckDetail('x', 'koji_build', 'PASSED', keyvals=keyvals)
            with self.assertRaises(ValueError, msg=keyvals):
                check.export_YAML([detail])
        with self.assertRaises(ValueError):
            check.export_YAML([CheckDetail('x', outcome='PASSED')])  # no type

    def test_special_floats_and_lone_surrogates(self):
        detail = CheckDetail('x', 'koji_build', 'PASSED', keyvals={
            'a': float('inf'), 'b': float('-inf'), 'c': float('nan'), 'd': 1e20,
            'e': 'bad\udcffbyte'})
        text = check.export_YAML(detail)
        self.assertIn('    a: .inf\n    b: -.inf\n    c: .nan\n    d: 1.0e+20\n', text)
        self.assertIn('    e: "bad\ufffdbyte"\n', text)
        text.encode('utf-8')  # must be encodable


class RoundTripMixin(UsePyYAMLSwitch):

    def test_tricky_strings_round_trip(self):
        keyvals = dict(('k%02d' % i, s) for i, s in enumerate(TRICKY_STRINGS))
        keyvals['list'] = TRICKY_STRINGS
        keyvals.update({'yes': 'key that YAML 1.1 reads as a bool', 'a: b': 'colon key',
                        '日本': 'unicode key', '#hash': 'hash key', '1': 'digit key'})
        details = [CheckDetail(s or 'empty', 'koji_build', 'FAILED', note=s,
                               checkname='scratch.%d' % i, artifact=s or None,
                               keyvals=keyvals)
                   for i, s in enumerate(TRICKY_STRINGS)]
        details.append(CheckDetail('unset', 'koji_build'))
        back = check.import_YAML(check.export_YAML(details))
        self.assertEqual(len(back), len(details))
        for original, parsed in zip(details, back):
            self.assertEqual(parsed.item, original.item)
            self.assertEqual(parsed.report_type, original.report_type)
            self.assertEqual(parsed.outcome, original.outcome or 'NEEDS_INSPECTION')
            self.assertEqual(parsed.note, original.note)
            self.assertEqual(parsed.checkname, original.checkname)
            self.assertEqual(parsed.artifact, original.artifact)
            self.assertEqual(parsed.keyvals, original.keyvals)

    def test_scalar_types_round_trip(self):
        keyvals = {'int': -42, 'big': 2 ** 70, 'float': 3.25, 'small': 1e-300,
                   'huge': 1.5e300, 'neg': -0.5, 'whole': 2.0, 'true': True,
                   'false': False, 'none': None, 'mixed': [1, 'one', 1.5, None, False],
                   'empty': [], 'inf': float('inf'), 'ninf': float('-inf')}
        back = check.import_YAML(check.export_YAML(
            CheckDetail('x', 'koji_build', 'PASSED', keyvals=keyvals)))
        self.assertEqual(back[0].keyvals, keyvals)
        for key, value in keyvals.items():
            self.assertIs(type(back[0].keyvals[key]), type(value), key)
        nan = check.import_YAML(check.export_YAML(
            CheckDetail('x', 'koji_build', 'PASSED', keyvals={'nan': float('nan')})))
        self.assertNotEqual(nan[0].keyvals['nan'], nan[0].keyvals['nan'])

    def test_empty_results(self):
        self.assertEqual(check.import_YAML(check.export_YAML([])), [])

    def test_missing_required_keys(self):
        for key in ('item', 'type', 'outcome'):
            fields = {'item': '"x"', 'type': '"koji_build"', 'outcome': '"PASSED"'}
            del fields[key]
            text = ('results:\n  - item: "ok"\n    type: "koji_build"\n    outcome: "INFO"\n'
                    '  - ' + '\n    '.join('%s: %s' % kv for kv in fields.items()) + '\n')
            with self.assertRaises(ValueError) as ctx:
                check.import_YAML(text)
            self.assertIn(repr(key), str(ctx.exception))
            self.assertIn('result 1', str(ctx.exception))

    def test_bad_documents(self):
        for text in ('', 'foo: bar\n', 'results: "nope"\n', 'results:\n  - "scalar"\n',
                     'results:\n  - item: "x"\n    type: "t"\n    outcome: "GOOD"\n'):
            with self.assertRaises(ValueError, msg=text):
                check.import_YAML(text)

    def test_hand_written_yaml(self):
        text = textwrap.dedent('''\
            ---
            # a comment
            results:
            - item: foo-1.0-1.fc40   # plain scalar with a comment
              type: 'koji_build'
              outcome: PASSED
              note: 'it''s fine'
              count: 0x10
              tilde: ~
              tags:
              - a
              - 'b'
            ''')
        [detail] = check.import_YAML(text)
        self.assertEqual(detail.item, 'foo-1.0-1.fc40')
        self.assertEqual(detail.report_type, 'koji_build')
        self.assertEqual(detail.note, "it's fine")
        self.assertEqual(detail.keyvals, {'count': 16, 'tilde': None, 'tags': ['a', 'b']})


class FallbackParserRoundTripTests(RoundTripMixin, unittest.TestCase):
    use_pyyaml = False


@unittest.skipUnless(check._pyyaml is not None, 'PyYAML is not installed')
class PyYAMLRoundTripTests(RoundTripMixin, unittest.TestCase):
    use_pyyaml = True


class FallbackParserTests(UsePyYAMLSwitch, unittest.TestCase):
    use_pyyaml = False

    def assertLineError(self, text, line):
        with self.assertRaises(ValueError) as ctx:
            check._parse_yaml(text)
        self.assertIn('line %d' % line, str(ctx.exception))

    def test_structures(self):
        parse = check._parse_yaml
        self.assertEqual(parse('a: 1\nb:\n  c: [ ]\n  d: {}\n'),
                         {'a': 1, 'b': {'c': [], 'd': {}}})
        self.assertEqual(parse('- - 1\n  - 2\n-\n  x: y\n- \n'), [[1, 2], {'x': 'y'}, None])
        self.assertEqual(parse('k:\n- 1\n- 2\nl: 3\n'), {'k': [1, 2], 'l': 3})
        self.assertEqual(parse('"a\\x41\\u00e9\\U0001F600\\ud83d\\ude00\\N\\_\\/"'),
                         'aAé😀😀\x85\xa0/')
        self.assertEqual(parse('a: 1\r\nb: 2\r\n...\n# end\n'), {'a': 1, 'b': 2})
        self.assertIsNone(parse('# nothing\n\n'))

    def test_errors_name_the_line(self):
        self.assertLineError('a: 1\nb: &x 2\n', 2)
        self.assertLineError('a: 1\nb: *x\n', 2)
        self.assertLineError('a: |\n  text\n', 1)
        self.assertLineError('a: !!str 1\n', 1)
        self.assertLineError('a: [1, 2]\n', 1)
        self.assertLineError('a: {b: 1}\n', 1)
        self.assertLineError('a:\n    b: 1\n  c: 2\n', 3)
        self.assertLineError('a: 1\n  b: 2\n', 2)
        self.assertLineError('a: "unterminated\n', 1)
        self.assertLineError('a: "bad \\q escape"\n', 1)
        self.assertLineError('a: "x" trailing\n', 1)
        self.assertLineError('a: 1\na: 2\n', 2)
        self.assertLineError('a:\n\t- 1\n', 2)
        self.assertLineError('a: b: c\n', 1)
        self.assertLineError('a: 1\n---\nb: 2\n', 2)
        self.assertLineError('- 1\nb: 2\n', 2)
        self.assertLineError('a: 1\n- 2\n', 2)
        self.assertLineError('a: plain\n  continued\n', 2)
        self.assertLineError('? complex\n', 1)

    def test_import_reports_the_line(self):
        with self.assertRaises(ValueError) as ctx:
            check.import_YAML('results:\n  - item: "x"\n    type: >\n')
        self.assertIn('line 3', str(ctx.exception))


class DriverTests(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w', encoding='utf-8') as stream:
            stream.write(textwrap.dedent(text))
        return path

    def run_driver(self, task_file, callable_name='run', kwargs=None, args=None):
        request = os.path.join(self.dir, 'request.json')
        response = os.path.join(self.dir, 'response.json')
        with open(request, 'w', encoding='utf-8') as stream:
            json.dump({'file': task_file, 'callable': callable_name,
                       'kwargs': kwargs or {}}, stream)
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR, PYTHONDONTWRITEBYTECODE='1',
                   PYTHONIOENCODING='utf-8')
        proc = subprocess.run([sys.executable, DRIVER] + (args or [request, response]),
                              cwd=self.dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              encoding='utf-8', timeout=60)
        data = None
        if os.path.exists(response):
            with open(response, encoding='utf-8') as stream:
                data = json.load(stream)
        return proc, data

    def test_success(self):
        self.write('helper.py', 'ARCH_NOTE = "built for"\n')
        task = self.write('my-task.py', '''\
            from libtaskotron import check
            import helper  # found because the script's directory is on sys.path

            def run(koji_build, arch, **kwargs):
                print("checking", koji_build)
                detail = check.CheckDetail(koji_build, 'koji_build', 'PASSED',
                                           note='%s %s ✓' % (helper.ARCH_NOTE, arch),
                                           keyvals={'arch': arch})
                return check.export_YAML([detail], checkname='scratch.demo')
            ''')
        proc, data = self.run_driver(task, kwargs={'koji_build': 'foo-1.0-1.fc40',
                                                   'arch': 'x86_64'})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, 'checking foo-1.0-1.fc40\n')
        self.assertEqual(data, {'ok': True, 'value': textwrap.dedent('''\
            results:
              - item: "foo-1.0-1.fc40"
                type: "koji_build"
                checkname: "scratch.demo"
                outcome: "PASSED"
                note: "built for x86_64 ✓"
                arch: "x86_64"
            ''')})
        [detail] = check.import_YAML(data['value'])
        self.assertEqual(detail.keyvals, {'arch': 'x86_64'})

    def test_return_values(self):
        task = self.write('values.py', '''\
            def data():
                return {'a': [1, 2.5, None, True, ('t', 'u')], 'b': {'c': 'd'}}
            def obj():
                return Thing()
            class Thing:
                def __str__(self):
                    return 'a thing'
            def nothing():
                pass
            ''')
        proc, data = self.run_driver(task, 'data')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(data['value'], {'a': [1, 2.5, None, True, ['t', 'u']],
                                         'b': {'c': 'd'}})
        proc, data = self.run_driver(task, 'obj')
        self.assertEqual(data, {'ok': True, 'value': 'a thing'})
        proc, data = self.run_driver(task, 'nothing')
        self.assertEqual(data, {'ok': True, 'value': None})

    def test_raising_callable(self):
        task = self.write('broken.py', '''\
            def run(**kwargs):
                raise RuntimeError('boom: %d' % kwargs['n'])
            ''')
        proc, data = self.run_driver(task, kwargs={'n': 3})
        self.assertEqual(proc.returncode, 1)
        self.assertIs(data['ok'], False)
        self.assertEqual(data['error'], 'RuntimeError: boom: 3')
        self.assertIn('broken.py', data['traceback'])
        self.assertIn("raise RuntimeError('boom: %d'", data['traceback'])
        self.assertNotIn('taskotron_python_driver', data['traceback'])
        self.assertIn('RuntimeError: boom: 3', proc.stderr)

    def test_missing_and_non_callable(self):
        task = self.write('task.py', 'run = 42\n')
        proc, data = self.run_driver(task, 'nope')
        self.assertEqual(proc.returncode, 1)
        self.assertIs(data['ok'], False)
        self.assertTrue(data['error'].startswith('AttributeError: '), data['error'])
        self.assertIn("'nope'", data['error'])
        self.assertIn(task, data['error'])
        proc, data = self.run_driver(task, 'run')
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(data['error'].startswith('TypeError: '), data['error'])
        self.assertIn("'run'", data['error'])

    def test_import_errors(self):
        task = self.write('syntax.py', 'def run(:\n')
        proc, data = self.run_driver(task)
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(data['error'].startswith('SyntaxError'), data['error'])
        proc, data = self.run_driver(os.path.join(self.dir, 'absent.py'))
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(data['error'].startswith('FileNotFoundError'), data['error'])

    def test_module_named_like_stdlib(self):
        task = self.write('json.py', 'def run():\n    return "own json"\n')
        proc, data = self.run_driver(task)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(data['value'], 'own json')

    def test_bad_arguments(self):
        task = self.write('task.py', 'def run():\n    return 1\n')
        proc, data = self.run_driver(task, args=['only-one.json'])
        self.assertEqual(proc.returncode, 2)
        self.assertIn('usage', proc.stderr)
        proc, data = self.run_driver(task, args=[os.path.join(self.dir, 'missing.json'),
                                                 os.path.join(self.dir, 'out.json')])
        self.assertEqual(proc.returncode, 2)
        self.assertIn('cannot read request', proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'out.json')))


if __name__ == '__main__':
    unittest.main()


class InternalDataTest(unittest.TestCase):
    """The runner's `_internal` data does not become a keyval."""

    def test_import_drops_internal_and_exports_again(self):
        text = ('results:\n'
                '  - item: "foo-1.0-1.fc40"\n'
                '    type: "koji_build"\n'
                '    outcome: "PASSED"\n'
                '    _internal:\n'
                '      resultsdb_result_id: 7\n')
        for use_pyyaml in (False, check.USE_PYYAML):
            with self.subTest(use_pyyaml=use_pyyaml):
                saved = check.USE_PYYAML
                check.USE_PYYAML = use_pyyaml
                try:
                    details = check.import_YAML(text)
                finally:
                    check.USE_PYYAML = saved
                self.assertEqual(details[0].keyvals, {})
                self.assertIn('outcome: "PASSED"', check.export_YAML(details))
