"""Turn `taskotron check rpmlint --json` into ResultYAML: one result for the
build and arch, with the per-package counts in the note and as keyvals."""

import json

from libtaskotron import check


def rpmlint(report, item, arch, **kwargs):
    with open(report) as f:
        verdict = json.load(f)
    detail = check.CheckDetail(item, 'koji_build', artifact='rpmlint.json')
    detail.update_outcome(verdict['outcome'])
    packages = [
        '%s: %d errors, %d warnings' % (p['package'], p['errors'], p['warnings'])
        for p in verdict['packages']
    ]
    detail.note = '%s (%s)' % (verdict['note'], '; '.join(packages))
    detail.keyvals = {
        'arch': arch,
        'scenario': arch,
        'errors': verdict['errors'],
        'warnings': verdict['warnings'],
    }
    return check.export_YAML(detail)
