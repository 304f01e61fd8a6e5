"""Check results for Taskotron tasks: ``CheckDetail`` and ResultYAML.

A task describes each verdict with a :class:`CheckDetail` and returns
``export_YAML(details)``; the runner's ``resultsdb`` and ``exitcode``
directives read that ResultYAML text. ResultYAML looks like this::

    results:
      - item: "foo-1.0-1.fc40"
        type: "koji_build"
        checkname: "scratch.demo"
        outcome: "PASSED"
        note: "2 warnings"
        arch: "x86_64"

This module needs nothing beyond the standard library. YAML is written by a
small emitter of our own (strings are always double-quoted, so any YAML 1.1 or
1.2 parser reads them back unchanged) and read by :func:`import_YAML`, which
uses PyYAML when it is installed and otherwise a small parser for exactly the
block-style subset that :func:`export_YAML` writes.
"""

import json
import math
import re

try:  # PyYAML is optional; the fallback parser below covers our own output.
    import yaml as _pyyaml
except ImportError:  # pragma: no cover - depends on the machine
    _pyyaml = None

#: Read YAML with PyYAML when it is importable. Set to False to force the
#: built-in parser (the test suite does, to cover both paths).
USE_PYYAML = True

#: Every outcome, best first. A detail's overall verdict is the worst one.
OUTCOMES = ('PASSED', 'INFO', 'FAILED', 'NEEDS_INSPECTION', 'ABORTED', 'CRASHED')

#: Keys a keyval may not use: they are ResultYAML's own fields.
RESERVED_KEYS = ('item', 'type', 'outcome', 'note', 'results', 'checkname',
                 'artifact', '_internal')

_RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}


def _check_outcome(outcome):
    """Return ``outcome`` if it is None or on the ladder, else raise ValueError."""
    if outcome is not None and outcome not in _RANK:
        raise ValueError('invalid outcome %r, expected one of %s (or None)'
                         % (outcome, ', '.join(OUTCOMES)))
    return outcome


def _rank(outcome):
    """Position of ``outcome`` on the ladder; None ranks below PASSED."""
    return -1 if outcome is None else _RANK[outcome]


class CheckDetail(object):
    """The result of checking one item.

    :param item: what was checked, e.g. an NVR such as ``foo-1.0-1.fc40``
    :param report_type: the item type, e.g. ``koji_build``
    :param outcome: one of :data:`OUTCOMES`, or None while undecided
        (an undecided detail is exported as ``NEEDS_INSPECTION``)
    :param note: a short, human-readable remark
    :param output: a list of output lines (see :meth:`store`)
    :param keyvals: extra ``key: value`` pairs to report
    :param checkname: the check's name, e.g. ``scratch.demo``; when None the
        ``checkname`` given to :func:`export_YAML` is used
    :param artifact: a file in the artifacts directory worth linking to
    """

    def __init__(self, item, report_type=None, outcome=None, note='', output=None,
                 keyvals=None, checkname=None, artifact=None):
        self.item = item
        self.report_type = report_type
        self.outcome = outcome
        self.note = note
        self.output = list(output) if output is not None else []
        self.keyvals = dict(keyvals) if keyvals is not None else {}
        self.checkname = checkname
        self.artifact = artifact

    @property
    def outcome(self):
        """The verdict: one of :data:`OUTCOMES`, or None when not decided yet."""
        return self._outcome

    @outcome.setter
    def outcome(self, value):
        self._outcome = _check_outcome(value)

    def update_outcome(self, outcome):
        """Set ``outcome`` unless the current outcome is already worse.

        The ladder is ``PASSED < INFO < FAILED < NEEDS_INSPECTION < ABORTED <
        CRASHED``; None (unset) is below everything, and updating with None
        changes nothing.
        """
        _check_outcome(outcome)
        if _rank(outcome) > _rank(self._outcome):
            self._outcome = outcome

    def broken(self):
        """Whether the check itself broke: the outcome is ABORTED or CRASHED."""
        return self._outcome in ('ABORTED', 'CRASHED')

    def store(self, message, printout=True):
        """Append ``message`` to :attr:`output`, and print it when ``printout``."""
        self.output.append(message)
        if printout:
            print(message)

    def __repr__(self):
        return ('%s(item=%r, report_type=%r, outcome=%r, note=%r, checkname=%r, '
                'artifact=%r, keyvals=%r)'
                % (type(self).__name__, self.item, self.report_type, self._outcome,
                   self.note, self.checkname, self.artifact, self.keyvals))


def create_multi_item_summary(details):
    """Summarise outcomes as text, e.g. ``"3 PASSED, 1 INFO, 2 FAILED"``.

    :param details: a list of :class:`CheckDetail` or of outcome strings (a
        single ``CheckDetail`` is accepted too). Unset outcomes count as
        NEEDS_INSPECTION, as :func:`export_YAML` reports them.
    :return: the counts in ladder order, only outcomes that occur; ``''`` for
        an empty list
    :raises ValueError: for a string that is not an outcome
    """
    if isinstance(details, CheckDetail):
        details = [details]
    counts = dict.fromkeys(OUTCOMES, 0)
    for detail in details:
        outcome = detail.outcome if isinstance(detail, CheckDetail) else detail
        if outcome is None:
            outcome = 'NEEDS_INSPECTION'
        counts[_check_outcome(outcome)] += 1
    return ', '.join('%d %s' % (counts[o], o) for o in OUTCOMES if counts[o])


# --------------------------------------------------------------------------
# YAML output
# --------------------------------------------------------------------------

_LONE_SURROGATE = re.compile('[\ud800-\udfff]')
# Characters json.dumps leaves raw but YAML wants escaped: DEL and C1 controls
# (U+0085 is a line break to YAML 1.1), the Unicode line/paragraph separators,
# the byte order mark and the non-characters U+FFFE/U+FFFF.
_YAML_UNSAFE = re.compile('[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
_PLAIN_KEY = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]*\Z')
_AMBIGUOUS_KEYS = frozenset(('null', 'true', 'false', 'yes', 'no', 'on', 'off',
                             'y', 'n'))


def _quote(text):
    """``text`` as a YAML double-quoted scalar (JSON escaping).

    Lone surrogates, which no UTF-8 document can hold, become U+FFFD.
    """
    text = _LONE_SURROGATE.sub('\ufffd', text)
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: '\\u%04x' % ord(m.group()), quoted)


def _format_float(value):
    """A float spelled so that both YAML 1.1 and 1.2 parsers see a float."""
    if math.isnan(value):
        return '.nan'
    if math.isinf(value):
        return '.inf' if value > 0 else '-.inf'
    text = repr(value)
    if 'e' in text:
        # YAML 1.1 wants a dot in the mantissa and a signed exponent.
        mantissa, exponent = text.split('e')
        if '.' not in mantissa:
            mantissa += '.0'
        if exponent[0] not in '+-':
            exponent = '+' + exponent
        text = mantissa + 'e' + exponent
    return text


def _format_scalar(value, what):
    """A scalar value as YAML text; ``what`` names it in errors."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _format_float(float(value))
    if isinstance(value, str):
        return _quote(str(value))
    raise ValueError('%s has unsupported type %s (use str, int, float, bool, '
                     'None or a list of those)' % (what, type(value).__name__))


def _format_key(key):
    """A mapping key: plain when unambiguous, double-quoted otherwise."""
    if _PLAIN_KEY.match(key) and key.lower() not in _AMBIGUOUS_KEYS:
        return key
    return _quote(key)


def _emit_entry(lines, indent, key, value, what):
    """Append the line(s) of ``key: value`` at ``indent`` spaces; a list
    value becomes a block sequence below the key."""
    prefix = ' ' * indent
    if isinstance(value, (list, tuple)):
        if not value:
            lines.append('%s%s: []' % (prefix, _format_key(key)))
            return
        lines.append('%s%s:' % (prefix, _format_key(key)))
        for index, element in enumerate(value):
            lines.append('%s  - %s' % (prefix, _format_scalar(
                element, '%s[%d]' % (what, index))))
    else:
        lines.append('%s%s: %s' % (prefix, _format_key(key), _format_scalar(value, what)))


def export_YAML(check_details, checkname=None):
    """Serialise check details as ResultYAML.

    :param check_details: a list of :class:`CheckDetail` (or a single one)
    :param checkname: the check name for details whose own ``checkname`` is
        None; when both are None the ``checkname`` key is left out
    :return: the YAML text, ending in a newline (``results: []`` for none)
    :raises ValueError: for a detail without item or type, for a keyval using
        one of :data:`RESERVED_KEYS` or a non-string key, and for a value that
        is not a string, number, bool, None or a list of those
    """
    if isinstance(check_details, CheckDetail):
        check_details = [check_details]
    check_details = list(check_details)
    if not check_details:
        return 'results: []\n'

    lines = ['results:']
    for index, detail in enumerate(check_details):
        if not isinstance(detail, CheckDetail):
            raise ValueError('result %d is a %s, not a CheckDetail'
                             % (index, type(detail).__name__))
        if detail.item is None or detail.item == '':
            raise ValueError('result %d has no item' % index)
        if detail.report_type is None or detail.report_type == '':
            raise ValueError('result %d (item %r) has no report_type (item type)'
                             % (index, detail.item))
        for key in detail.keyvals:
            if not isinstance(key, str):
                raise ValueError('result %d: keyval key %r is not a string' % (index, key))
            if key in RESERVED_KEYS:
                raise ValueError('result %d: keyval key %r is reserved (reserved keys: %s)'
                                 % (index, key, ', '.join(RESERVED_KEYS)))

        entries = [('item', str(detail.item)), ('type', str(detail.report_type))]
        name = detail.checkname if detail.checkname is not None else checkname
        if name is not None:
            entries.append(('checkname', str(name)))
        entries.append(('outcome', detail.outcome or 'NEEDS_INSPECTION'))
        if detail.note:
            entries.append(('note', str(detail.note)))
        if detail.artifact is not None:
            entries.append(('artifact', str(detail.artifact)))
        entries.extend(sorted(detail.keyvals.items()))

        entry_lines = []
        for key, value in entries:
            _emit_entry(entry_lines, 4, key, value,
                        'result %d: value of %r' % (index, key))
        entry_lines[0] = '  - ' + entry_lines[0][4:]
        lines.extend(entry_lines)
    return '\n'.join(lines) + '\n'


# --------------------------------------------------------------------------
# YAML input
# --------------------------------------------------------------------------

class _Line(object):
    """One meaningful line: 1-based number, indentation, text after it."""

    __slots__ = ('number', 'indent', 'text')

    def __init__(self, number, indent, text):
        self.number = number
        self.indent = indent
        self.text = text


def _error(number, message):
    return ValueError('YAML line %d: %s' % (number, message))


_SIMPLE_ESCAPES = {
    '0': '\0', 'a': '\a', 'b': '\b', 't': '\t', '\t': '\t', 'n': '\n', 'v': '\v',
    'f': '\f', 'r': '\r', 'e': '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\',
    'N': '\x85', '_': '\xa0', 'L': '\u2028', 'P': '\u2029',
}
_HEX_ESCAPES = {'x': 2, 'u': 4, 'U': 8}
_HEX_DIGITS = frozenset('0123456789abcdefABCDEF')


def _scan_double_quoted(text, number):
    """Parse a double-quoted scalar at the start of ``text``.

    :return: ``(value, rest)`` with ``rest`` the text after the closing quote
    """
    out = []
    pos = 1
    end = len(text)
    while pos < end:
        char = text[pos]
        if char == '"':
            return ''.join(out), text[pos + 1:]
        if char != '\\':
            out.append(char)
            pos += 1
            continue
        if pos + 1 >= end:
            break
        code = text[pos + 1]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            pos += 2
        elif code in _HEX_ESCAPES:
            width = _HEX_ESCAPES[code]
            digits = text[pos + 2:pos + 2 + width]
            if len(digits) != width or not set(digits) <= _HEX_DIGITS:
                raise _error(number, 'bad escape \\%s%s' % (code, digits))
            value = int(digits, 16)
            pos += 2 + width
            # Join a UTF-16 surrogate pair, as JSON writers produce them.
            if 0xD800 <= value <= 0xDBFF and text[pos:pos + 2] == '\\u':
                low = text[pos + 2:pos + 6]
                if len(low) == 4 and set(low) <= _HEX_DIGITS \
                        and 0xDC00 <= int(low, 16) <= 0xDFFF:
                    value = 0x10000 + ((value - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                    pos += 6
            if value > 0x10FFFF:
                raise _error(number, 'escape \\%s%s is beyond Unicode' % (code, digits))
            out.append(chr(value))
        else:
            raise _error(number, 'unknown escape \\%s in double-quoted string' % code)
    raise _error(number, 'unterminated double-quoted string '
                         '(multi-line strings are not supported)')


def _scan_single_quoted(text, number):
    """Parse a single-quoted scalar (``''`` is a quote) at the start of ``text``."""
    out = []
    pos = 1
    end = len(text)
    while pos < end:
        char = text[pos]
        if char == "'":
            if text[pos + 1:pos + 2] == "'":
                out.append("'")
                pos += 2
                continue
            return ''.join(out), text[pos + 1:]
        out.append(char)
        pos += 1
    raise _error(number, 'unterminated single-quoted string '
                         '(multi-line strings are not supported)')


def _check_trailing(rest, number):
    """After a quoted scalar or ``[]`` only whitespace and a comment may follow."""
    stripped = rest.strip(' \t')
    if stripped and not (stripped.startswith('#') and rest[0] in ' \t'):
        raise _error(number, 'unexpected text after value: %r' % stripped)


def _strip_comment(text):
    """Cut a `` #`` comment off a plain scalar."""
    match = re.search(r'[ \t]#', text)
    if match:
        text = text[:match.start()]
    return text.rstrip(' \t')


_INT_DEC = re.compile(r'[-+]?[0-9]+\Z')
_INT_OCT = re.compile(r'0o[0-7]+\Z')
_INT_HEX = re.compile(r'0x[0-9a-fA-F]+\Z')
_FLOAT = re.compile(r'[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z')
_INF = re.compile(r'[-+]?\.(inf|Inf|INF)\Z')
_NAN = re.compile(r'\.(nan|NaN|NAN)\Z')


def _resolve_plain(text):
    """Type a plain scalar the YAML 1.2 core-schema way."""
    if text in ('', '~', 'null', 'Null', 'NULL'):
        return None
    if text in ('true', 'True', 'TRUE'):
        return True
    if text in ('false', 'False', 'FALSE'):
        return False
    if _INT_DEC.match(text):
        return int(text)
    if _INT_OCT.match(text):
        return int(text[2:], 8)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float('-inf') if text[0] == '-' else float('inf')
    if _NAN.match(text):
        return float('nan')
    return text


_UNSUPPORTED_STARTS = {
    '&': 'anchors', '*': 'aliases', '!': 'tags', '|': 'block scalars',
    '>': 'block scalars', '%': 'directives', '@': 'reserved indicators',
    '`': 'reserved indicators', ',': 'flow collections', ']': 'flow collections',
    '}': 'flow collections',
}


def _parse_scalar(text, number):
    """Parse an inline value: quoted, ``[]``/``{}`` or plain."""
    if text.startswith('"'):
        value, rest = _scan_double_quoted(text, number)
        _check_trailing(rest, number)
        return value
    if text.startswith("'"):
        value, rest = _scan_single_quoted(text, number)
        _check_trailing(rest, number)
        return value
    if text[:1] in ('[', '{'):
        match = re.match(r'(\[[ \t]*\]|\{[ \t]*\})', text)
        if not match:
            raise _error(number, 'flow collections other than [] and {} are not supported')
        _check_trailing(text[match.end():], number)
        return [] if text[0] == '[' else {}
    if text[:1] in _UNSUPPORTED_STARTS:
        raise _error(number, '%s are not supported' % _UNSUPPORTED_STARTS[text[0]])
    if text[:2] in ('- ', '? ') or text in ('-', '?'):
        raise _error(number, 'unexpected %r here' % text[0])
    plain = _strip_comment(text)
    if ': ' in plain or plain.endswith(':'):
        raise _error(number, 'a mapping is not allowed here: %r' % plain)
    return _resolve_plain(plain)


def _split_key(text, number):
    """Split ``key: value`` text.

    :return: ``(key, rest)`` for a mapping entry, None when ``text`` is not one
    """
    if text[:1] in ('"', "'"):
        scan = _scan_double_quoted if text[0] == '"' else _scan_single_quoted
        try:
            key, rest = scan(text, number)
        except ValueError:
            return None
        rest = rest.lstrip(' ')
        if rest == ':' or rest.startswith((': ', ':\t')):
            return key, rest[1:]
        return None
    if text.startswith('#'):
        return None
    match = re.search(r':([ \t]|\Z)', text)
    if not match:
        return None
    comment = re.search(r'[ \t]#', text)
    if comment and comment.start() < match.start():
        return None
    key_text = text[:match.start()].rstrip(' \t')
    if not key_text:
        raise _error(number, 'empty mapping key')
    if key_text[0] in '[{?-' or key_text[0] in _UNSUPPORTED_STARTS:
        raise _error(number, 'unsupported mapping key %r' % key_text)
    return _resolve_plain(key_text), text[match.start() + 1:]


def _is_sequence_entry(text):
    return text == '-' or text.startswith(('- ', '-\t'))


class _Parser(object):
    """Recursive-descent parser over the indentation of block YAML."""

    def __init__(self, lines):
        self.lines = lines

    def node(self, i):
        """Parse the node starting on line ``i``; return ``(value, next_i)``."""
        line = self.lines[i]
        if _is_sequence_entry(line.text):
            return self.sequence(i, line.indent)
        if _split_key(line.text, line.number) is not None:
            return self.mapping(i, line.indent)
        return _parse_scalar(line.text, line.number), i + 1

    def nested(self, i, parent_indent, allow_same_indent_sequence):
        """The value of an entry whose line ends after ``key:`` or ``-``."""
        if i < len(self.lines):
            line = self.lines[i]
            if line.indent > parent_indent or (
                    allow_same_indent_sequence and line.indent == parent_indent
                    and _is_sequence_entry(line.text)):
                return self.node(i)
        return None, i

    def check_end(self, i, indent):
        """A block at ``indent`` ended at line ``i``: it must dedent."""
        if i < len(self.lines) and self.lines[i].indent > indent:
            raise _error(self.lines[i].number, 'unexpected indentation')

    def mapping(self, i, indent):
        result = {}
        while i < len(self.lines):
            line = self.lines[i]
            if line.indent != indent:
                break
            if _is_sequence_entry(line.text):
                raise _error(line.number, 'sequence entry inside a mapping')
            split = _split_key(line.text, line.number)
            if split is None:
                raise _error(line.number, 'expected "key: value"')
            key, rest = split
            try:
                duplicate = key in result
            except TypeError:
                raise _error(line.number, 'unhashable mapping key')
            if duplicate:
                raise _error(line.number, 'duplicate key %r' % (key,))
            rest = rest.strip(' \t')
            if rest and not rest.startswith('#'):
                result[key] = _parse_scalar(rest, line.number)
                i += 1
            else:
                result[key], i = self.nested(i + 1, indent, True)
            self.check_end(i, indent)
        return result, i

    def sequence(self, i, indent):
        result = []
        while i < len(self.lines):
            line = self.lines[i]
            if line.indent != indent:
                break
            if not _is_sequence_entry(line.text):
                break  # e.g. the next key of a mapping holding this sequence
            body = line.text[1:]
            stripped = body.lstrip(' \t')
            if '\t' in body[:len(body) - len(stripped)]:
                raise _error(line.number, 'tab after "-"')
            if stripped and not stripped.startswith('#'):
                # Treat "- x" as a node "x" that starts in the column of x.
                column = indent + 1 + len(body) - len(stripped)
                self.lines[i] = _Line(line.number, column, stripped)
                value, i = self.node(i)
            else:
                value, i = self.nested(i + 1, indent, False)
            result.append(value)
            self.check_end(i, indent)
        return result, i


def _parse_yaml(text):
    """Parse the block-YAML subset that :func:`export_YAML` writes.

    Handles block mappings and sequences, double-quoted (YAML/JSON escapes)
    and single-quoted one-line strings, ``[]``/``{}``, comments and plain
    scalars (null/~, true/false, ints, floats, anything else is a string).

    :raises ValueError: naming the line for anything else
    """
    if text.startswith('\ufeff'):
        text = text[1:]
    lines = []
    raw_lines = text.split('\n')
    for number, raw in enumerate(raw_lines, 1):
        if raw.endswith('\r'):
            raw = raw[:-1]
        content = raw.lstrip(' ')
        if not content.strip(' \t') or content.startswith('#'):
            continue
        if content.startswith('\t'):
            raise _error(number, 'tabs are not allowed in indentation')
        indent = len(raw) - len(content)
        content = content.rstrip(' \t')
        if indent == 0 and re.match(r'(---|\.\.\.)([ \t]|\Z)', content):
            marker, rest = content[:3], content[3:].strip(' \t')
            if rest and not rest.startswith('#'):
                raise _error(number, 'content on a %r line is not supported' % marker)
            if marker == '---' and not lines:
                continue  # the start of the (only) document
            if marker == '...' and all(not r.strip() or r.lstrip().startswith('#')
                                       for r in raw_lines[number:]):
                break  # the end of the document
            raise _error(number, 'multiple documents are not supported')
        if indent == 0 and content.startswith('%'):
            raise _error(number, 'directives are not supported')
        lines.append(_Line(number, indent, content))
    if not lines:
        return None
    parser = _Parser(lines)
    value, i = parser.node(0)
    if i < len(lines):
        raise _error(lines[i].number, 'unexpected content after the document')
    return value


def _load_yaml(text):
    """Parse YAML with PyYAML when available (and allowed), else our parser."""
    if USE_PYYAML and _pyyaml is not None:
        try:
            return _pyyaml.safe_load(text)
        except _pyyaml.YAMLError as err:
            raise ValueError('invalid YAML: %s' % err)
    return _parse_yaml(text)


def import_YAML(yaml_string):
    """Parse ResultYAML (as written by :func:`export_YAML`) into CheckDetails.

    :param yaml_string: the YAML text
    :return: a list of :class:`CheckDetail`; keys other than item, type,
        outcome, note, checkname and artifact become keyvals
    :raises ValueError: for YAML that cannot be parsed (with the line
        number), a document without a ``results`` list, a result that is not
        a mapping or lacks item, type or outcome, or an invalid outcome
    """
    data = _load_yaml(yaml_string)
    if not isinstance(data, dict) or 'results' not in data:
        raise ValueError('ResultYAML must be a mapping with a "results" key')
    results = data['results']
    if not isinstance(results, list):
        raise ValueError('"results" must be a list, not %s' % type(results).__name__)

    details = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise ValueError('result %d is not a mapping' % index)
        for key in ('item', 'type', 'outcome'):
            if result.get(key) is None:
                raise ValueError('result %d is missing required key %r' % (index, key))
        outcome = result['outcome']
        if outcome not in _RANK:
            raise ValueError('result %d: invalid outcome %r, expected one of %s'
                             % (index, outcome, ', '.join(OUTCOMES)))
        # `_internal` is the runner's own data (e.g. resultsdb_result_id),
        # not a keyval: it is left out so the details can be exported again.
        keyvals = dict((key, value) for key, value in result.items()
                       if key not in ('item', 'type', 'outcome', 'note',
                                      'checkname', 'artifact', '_internal'))
        note = result.get('note')
        checkname = result.get('checkname')
        artifact = result.get('artifact')
        details.append(CheckDetail(
            item=str(result['item']),
            report_type=str(result['type']),
            outcome=outcome,
            note='' if note is None else str(note),
            keyvals=keyvals,
            checkname=None if checkname is None else str(checkname),
            artifact=None if artifact is None else str(artifact),
        ))
    return details
