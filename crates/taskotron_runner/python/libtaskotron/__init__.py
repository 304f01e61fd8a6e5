"""Compatibility package for formula-era Taskotron tasks.

The Taskotron runner writes this package to disk and puts it on PYTHONPATH
before it starts a task's ``python`` directive, so tasks written for Fedora's
libtaskotron keep working unmodified::

    from libtaskotron import check

    def run(koji_build, **kwargs):
        detail = check.CheckDetail(koji_build, 'koji_build', 'PASSED')
        return check.export_YAML(detail, checkname='scratch.demo')

Only :mod:`libtaskotron.check` (``CheckDetail``, ``export_YAML``,
``import_YAML``, ``create_multi_item_summary``) is provided. The package uses
the Python standard library only.
"""

from . import check

__all__ = ['check']
