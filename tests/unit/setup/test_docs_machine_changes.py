# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The README and docs/development.md name exactly the Debian packages that
`make setup` installs (the Makefile's APT_PACKAGES)."""

from __future__ import annotations

import os
import re

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return handle.read()


def apt_packages():
    match = re.search(r'^APT_PACKAGES := \\\n((?:\t.*\\\n)*\t.*)\n', read('Makefile'), re.M)
    assert match, 'APT_PACKAGES not found in the Makefile'
    return match.group(1).replace('\\', ' ').split()


@pytest.mark.parametrize('path', ['README.md', 'docs/development.md'])
def test_docs_list_the_packages_make_setup_installs(path):
    text = ' '.join(read(path).split())
    assert ' '.join(apt_packages()) in text, '%s must list exactly: %s' % (path, ' '.join(apt_packages()))
