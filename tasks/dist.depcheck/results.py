"""Turn `taskotron check depcheck --json` into ResultYAML: one result per
build of the tag (its packages installable or not, with libsolv's reasons)
and one for the tag (the repositories' packages the push would break)."""

import json
import os
import subprocess

from libtaskotron import check


def _name_arch(nevra):
    """`foo-1:2.0-1.fc44.x86_64` -> (`foo`, `x86_64`)."""
    rest, _, arch = nevra.rpartition('.')
    name = rest.rsplit('-', 2)[0]
    return name, arch


def depcheck(report, rpmdir, tag, arch, **kwargs):
    with open(report) as f:
        verdict = json.load(f)
    builds = {}
    owner = {}
    for entry in sorted(os.listdir(rpmdir)) if os.path.isdir(rpmdir) else []:
        if not entry.endswith('.rpm'):
            continue
        out = subprocess.run(
            ['rpm', '-qp', '--nosignature', '--qf', '%{NAME} %{ARCH} %{SOURCERPM}', os.path.join(rpmdir, entry)],
            check=True, capture_output=True, text=True).stdout.split()
        name, rpm_arch, srpm = out[0], out[1], out[2]
        build = srpm[:-len('.src.rpm')]
        builds.setdefault(build, [])
        owner[(name, rpm_arch)] = build
    for broken in verdict.get('broken', []):
        build = owner.get(_name_arch(broken['nevra']))
        if build is None:
            raise ValueError('depcheck reports %s, which is no package of the tag' % broken['nevra'])
        builds[build].append(broken)
    details = []
    for build, problems in sorted(builds.items()):
        detail = check.CheckDetail(build, 'koji_build', artifact='depcheck.json')
        detail.keyvals = {'arch': arch, 'scenario': arch, 'tag': tag}
        if problems:
            detail.update_outcome('FAILED')
            lines = []
            for problem in problems:
                lines.append('%s: %s' % (problem['nevra'], '; '.join(problem['reasons'])))
            detail.note = ' | '.join(lines)
        else:
            detail.update_outcome('PASSED')
            detail.note = 'installable into %s on %s' % (tag, arch)
        details.append(detail)
    regressions = verdict.get('regressions', [])
    overall = check.CheckDetail(tag, 'koji_tag', artifact='depcheck.json')
    overall.keyvals = {'arch': arch, 'scenario': arch}
    if regressions:
        overall.update_outcome('FAILED')
        overall.note = 'the push breaks %d packages: %s' % (
            len(regressions), ' | '.join(
                '%s: %s' % (r['nevra'], '; '.join(r['reasons'])) for r in regressions))
    else:
        overall.update_outcome('PASSED' if not any(d.outcome == 'FAILED' for d in details) else 'FAILED')
        overall.note = check.create_multi_item_summary(details) if details else 'nothing pending'
    details.append(overall)
    return check.export_YAML(details)
