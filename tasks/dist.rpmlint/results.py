"""Turn `taskotron check rpmlint --json` into ResultYAML: one result for the
build and arch, with the per-package counts in the note, and the totals and
the ids of the errors as keyvals."""

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
    # Which errors, so that a different error with the same counts is a
    # change (and is reported again).
    error_ids = sorted({
        f['id'] for p in verdict['packages'] for f in p['findings'] if f['level'] == 'E'
    })
    if error_ids:
        detail.keyvals['error_ids'] = error_ids
    return check.export_YAML(detail)
