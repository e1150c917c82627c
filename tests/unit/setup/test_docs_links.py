# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every relative link of the README and the user docs points at a file of
the repository, and every #anchor into one of them at a heading there."""

from __future__ import annotations

import glob
import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
LINK = re.compile(r'\]\(([^)\s]+)\)')


def slug(heading):
    # GitHub's anchors: lower case, punctuation dropped, spaces to dashes.
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    return {slug(match) for match in re.findall(r'^#+ (.*)$', text, re.M)}


DOCS = ['README.md'] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))


@pytest.mark.parametrize('doc', DOCS)
def test_relative_links_resolve(doc):
    source = os.path.join(ROOT, doc)
    with open(source, encoding='utf-8') as handle:
        text = re.sub(r'```.*?```', '', handle.read(), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r'^[a-z]+:', target):
            continue  # http(s), mailto: not checked here
        path, dummy, anchor = target.partition('#')
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
        if not os.path.exists(resolved):
            broken.append('%s (no such file)' % target)
        elif anchor and resolved.endswith('.md') and anchor not in anchors(resolved):
            broken.append('%s (no such heading)' % target)
    assert not broken, '%s: %s' % (doc, ', '.join(broken))
