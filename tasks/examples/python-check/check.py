"""Example Taskotron check written in Python.

The runner calls run() with the values given in runtask.yml. It returns
ResultYAML text built with the libtaskotron.check compatibility module.
"""

import os

from libtaskotron import check

# Package names longer than this make the name-length sub-check fail.
MAX_NAME_LENGTH = 10


def run(koji_build, arch, artifactsdir, **kwargs):
    # An NVR is name-version-release; the name itself may contain dashes.
    name = koji_build.rsplit('-', 2)[0]

    overall = check.CheckDetail(
        item=koji_build,
        report_type='koji_build',
        outcome='PASSED',
        note='checked %s on %s' % (name, arch),
        keyvals={'arch': arch},
        checkname='scratch.python-check',
    )

    length = check.CheckDetail(
        item=koji_build,
        report_type='koji_build',
        checkname='scratch.python-check.name-length',
    )
    if len(name) > MAX_NAME_LENGTH:
        length.outcome = 'FAILED'
    else:
        length.outcome = 'PASSED'
    length.note = 'name %r is %d characters long (limit %d)' % (
        name, len(name), MAX_NAME_LENGTH)

    # Anything written to artifactsdir is kept with the results; point the
    # first result at the log file.
    os.makedirs(artifactsdir, exist_ok=True)
    with open(os.path.join(artifactsdir, 'python-check.log'), 'w', encoding='utf-8') as log:
        log.write('koji_build: %s\narch: %s\n' % (koji_build, arch))
        log.write('name-length: %s (%s)\n' % (length.outcome, length.note))
    overall.artifact = 'python-check.log'

    details = [overall, length]
    print(check.create_multi_item_summary(details))
    return check.export_YAML(details)
