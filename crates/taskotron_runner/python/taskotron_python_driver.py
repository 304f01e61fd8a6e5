"""Run one callable of a Taskotron task's Python file for the Rust runner.

Usage::

    python3 taskotron_python_driver.py REQUEST.json RESPONSE.json

REQUEST.json::

    {"file": "/abs/path/to/task_script.py", "callable": "run", "kwargs": {...}}

The driver puts the script's directory first on ``sys.path``, imports the file
as a module named after its stem, calls ``callable(**kwargs)`` and writes
RESPONSE.json:

* success, exit status 0: ``{"ok": true, "value": VALUE}`` where VALUE is the
  return value if it is JSON data (str, int, float, bool, None, lists and
  dicts with str keys, nested) and ``str(value)`` otherwise;
* failure (import error, missing or non-callable callable, exception raised
  by the callable), exit status 1: ``{"ok": false, "error": "Type: message",
  "traceback": "..."}``; the traceback is also printed to stderr.

Bad arguments (wrong count, unreadable or malformed request, unwritable
response) print a message to stderr and exit with status 2 without writing a
response. The task's own output goes to stdout/stderr unchanged.

Standard library only; runs on Python 3.9 and later.
"""

import importlib.util
import json
import math
import os
import re
import sys
import traceback

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2

_LONE_SURROGATE = re.compile('[\ud800-\udfff]')


class UsageError(Exception):
    """The driver was started wrongly; exit status 2."""


class _NotJson(Exception):
    """A value is not plain JSON data."""


def _to_json(value):
    """A JSON-safe copy of ``value``; raise _NotJson if it is not JSON data.

    Tuples count as lists. Lone surrogates (which strict JSON readers reject)
    become U+FFFD; NaN and infinities are not JSON.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _NotJson()
        return float(value)
    if isinstance(value, str):
        return _LONE_SURROGATE.sub('\ufffd', str(value))
    if isinstance(value, (list, tuple)):
        return [_to_json(element) for element in value]
    if isinstance(value, dict):
        result = {}
        for key, element in value.items():
            if not isinstance(key, str):
                raise _NotJson()
            result[_LONE_SURROGATE.sub('\ufffd', str(key))] = _to_json(element)
        return result
    raise _NotJson()


def response_value(value):
    """The ``value`` field for a callable's return value."""
    try:
        return _to_json(value)
    except (_NotJson, RecursionError):
        return _LONE_SURROGATE.sub('\ufffd', str(value))


def read_request(path):
    """Read and check REQUEST.json; return ``(file, callable_name, kwargs)``."""
    try:
        with open(path, encoding='utf-8') as stream:
            request = json.load(stream)
    except (OSError, ValueError) as err:
        raise UsageError('cannot read request %s: %s' % (path, err))
    if not isinstance(request, dict):
        raise UsageError('request %s: expected a JSON object' % path)
    task_file = request.get('file')
    name = request.get('callable')
    kwargs = request.get('kwargs', {})
    if not isinstance(task_file, str) or not task_file:
        raise UsageError('request %s: "file" must be a non-empty string' % path)
    if not isinstance(name, str) or not name:
        raise UsageError('request %s: "callable" must be a non-empty string' % path)
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise UsageError('request %s: "kwargs" must be a JSON object' % path)
    return task_file, name, kwargs


def _module_name(path):
    """A module name for the task file: its stem, made an identifier, and not
    shadowing a module that is already imported (such as ``json``)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = re.sub(r'\W', '_', stem) or 'task'
    if name[0].isdigit():
        name = '_' + name
    if name in sys.modules:
        name = '_taskotron_task_' + name
    return name


def load_module(path):
    """Import the task file as a module, its directory first on sys.path."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError('task file %s does not exist' % path)
    sys.path.insert(0, os.path.dirname(path))
    sys.argv = [path]
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError('cannot import %s as a Python module' % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def find_callable(module, name, path):
    """Look up ``name`` in the task module; it must exist and be callable."""
    function = getattr(module, name, None)
    if function is None:
        raise AttributeError('callable %r not found in %s' % (name, path))
    if not callable(function):
        raise TypeError('%r in %s is not callable (it is a %s)'
                        % (name, path, type(function).__name__))
    return function


def _describe(exc):
    """``"ExceptionType: message"`` (just the type for an empty message)."""
    kind = type(exc).__name__
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the failure
        message = '<unprintable %s>' % kind
    return '%s: %s' % (kind, message) if message else kind


def _format_traceback(exc):
    """The traceback, without the driver's and importlib's leading frames."""
    tb = exc.__traceback__
    driver = os.path.abspath(__file__)
    while tb is not None and tb.tb_next is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith('<frozen importlib') or \
                os.path.abspath(filename) == driver:
            tb = tb.tb_next
        else:
            break
    return ''.join(traceback.format_exception(type(exc), exc, tb))


def write_response(path, response):
    """Write RESPONSE.json atomically (a temporary file, then a rename)."""
    temporary = path + '.tmp'
    try:
        with open(temporary, 'w', encoding='utf-8') as stream:
            json.dump(response, stream, ensure_ascii=True, allow_nan=False)
            stream.write('\n')
        os.replace(temporary, path)
    except (OSError, ValueError) as err:
        raise UsageError('cannot write response %s: %s' % (path, err))


def run(request_path, response_path):
    """Serve one request; return the exit status."""
    task_file, name, kwargs = read_request(request_path)
    try:
        module = load_module(task_file)
        value = find_callable(module, name, task_file)(**kwargs)
        response = {'ok': True, 'value': response_value(value)}
        status = EXIT_OK
    except BaseException as exc:  # SystemExit from a task is a failure too
        formatted = _format_traceback(exc)
        response = {'ok': False, 'error': _LONE_SURROGATE.sub('\ufffd', _describe(exc)),
                    'traceback': _LONE_SURROGATE.sub('\ufffd', formatted)}
        status = EXIT_TASK_FAILED
        sys.stdout.flush()
        sys.stderr.write(formatted)
        sys.stderr.flush()
    write_response(response_path, response)
    return status


def main(argv=None):
    """Command-line entry point; return the exit status."""
    argv = sys.argv if argv is None else argv
    if len(argv) != 3:
        sys.stderr.write('usage: %s REQUEST.json RESPONSE.json\n'
                         % os.path.basename(argv[0] if argv else 'taskotron_python_driver.py'))
        return EXIT_USAGE
    try:
        # Absolute paths: the task may change the working directory.
        return run(os.path.abspath(argv[1]), os.path.abspath(argv[2]))
    except UsageError as err:
        sys.stderr.write('taskotron_python_driver: %s\n' % err)
        return EXIT_USAGE


if __name__ == '__main__':
    sys.exit(main())
