"""Fetch repomd.xml, primary and filelists of each repository yumrepoinfo
named into a local directory per tag, for `taskotron check depcheck --repo`."""

import os
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

REPO_NS = '{http://linux.duke.edu/metadata/repo}'


def _get(url, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with urllib.request.urlopen(url, timeout=300) as answer, open(path, 'wb') as out:
        while True:
            chunk = answer.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)


def fetch(repos, arch, target, **kwargs):
    args = []
    for tag, urls in repos.items():
        base = urls.get(arch)
        if not base:
            raise ValueError('yumrepoinfo gave no %s repository for %s' % (arch, tag))
        if not base.endswith('/'):
            base += '/'
        local = os.path.join(target, tag)
        repomd = os.path.join(local, 'repodata', 'repomd.xml')
        _get(urllib.parse.urljoin(base, 'repodata/repomd.xml'), repomd)
        for data in ET.parse(repomd).getroot().iter(REPO_NS + 'data'):
            if data.get('type') not in ('primary', 'filelists'):
                continue
            href = data.find(REPO_NS + 'location').get('href')
            if '..' in href.split('/') or href.startswith('/'):
                raise ValueError('%s names a file outside the repository: %s' % (repomd, href))
            _get(urllib.parse.urljoin(base, href), os.path.join(local, href))
        print('fetched %s (%s)' % (tag, base))
        args += ['--repo', local]
    return ' '.join(args)
