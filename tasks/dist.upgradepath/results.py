"""Turn `taskotron check upgradepath --json` into ResultYAML: one result per
build, and one for the update or the tag when the item is one."""

import json

from libtaskotron import check


def upgradepath(report, item, item_type, **kwargs):
    with open(report) as f:
        verdict = json.load(f)
    details = []
    for build in verdict['results']:
        detail = check.CheckDetail(build['item'], 'koji_build', artifact='upgradepath.json')
        detail.update_outcome(build['outcome'])
        detail.note = build['note']
        detail.keyvals = {'arch': 'noarch', 'scenario': 'noarch', 'release': build['release']}
        details.append(detail)
    if item_type in ('bodhi_update', 'koji_tag'):
        overall = check.CheckDetail(item, item_type, artifact='upgradepath.json')
        overall.update_outcome(verdict['outcome'])
        overall.note = check.create_multi_item_summary(details) if details else 'no builds'
        overall.keyvals = {'arch': 'noarch', 'scenario': 'noarch'}
        details.append(overall)
    return check.export_YAML(details)
