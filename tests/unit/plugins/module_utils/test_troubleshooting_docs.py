# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""docs/troubleshooting.md has one entry for every finding verify can
produce: every (check, rule) of the rule catalogue, and every finding the
code emits (read from the source, so a new finding() call without an entry
fails here), and no entry for a finding that no longer exists."""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model import _rules
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import CHECKS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
HEADING = re.compile(r'^### `([a-z_]+)` ([A-F][0-9]|-):', re.M)
# finding('check', SEVERITY, 'A1' ...) or finding('check', SEVERITY, None ...), any spacing.
EMITTED = re.compile(r"""finding\(\s*'([a-z_]+)',\s*[^,]+,\s*(?:'([A-F][0-9])'|(None))""")


def entries():
    with open(os.path.join(ROOT, 'docs', 'troubleshooting.md'), encoding='utf-8') as handle:
        return HEADING.findall(handle.read())


def emitted():
    found = set()
    for path in glob.glob(os.path.join(ROOT, 'plugins', 'module_utils', 'verification', '*.py')):
        with open(path, encoding='utf-8') as handle:
            for check, rule, none in EMITTED.findall(handle.read()):
                found.add((check, rule or '-'))
    return found


def catalogued():
    return {(finding.check, rule.id) for rule in _rules.RULES.values() for finding in rule.findings}


def test_every_finding_has_one_entry():
    listed = entries()
    assert len(listed) == len(set(listed)), 'an entry appears twice'
    expected = catalogued() | emitted()
    assert not expected - set(listed), 'findings without an entry: %s' % sorted(expected - set(listed))
    assert not set(listed) - expected, 'entries for findings that no longer exist: %s' % sorted(set(listed) - expected)


def test_the_source_scan_sees_the_findings():
    # Guards the regular expression itself: it must see the findings the code
    # is known to emit, or the test above would pass on an empty scan.
    found = emitted()
    assert ('fetch', 'C3') in found and ('internal', '-') in found and ('mx_tls', 'D2') in found
    assert {check for check, dummy in found} <= set(CHECKS)
