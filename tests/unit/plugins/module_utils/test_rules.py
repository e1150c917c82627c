# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rule catalogue: its shape, the citation helper, the rule ids the
plugins use, and the docs generated from it (docs/rules.md and the findings
table of docs/verify.md must be what tests/docs/rules_docs.py renders)."""

from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model import _rules
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import CHECKS

ROOT = pathlib.Path(__file__).resolve().parents[4]
ID_RE = re.compile(r'^[A-Z][1-9][0-9]?$')


def _renderer():
    spec = importlib.util.spec_from_file_location('rules_docs', ROOT / 'tests' / 'docs' / 'rules_docs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plugin_sources():
    for path in sorted((ROOT / 'plugins').rglob('*.py')):
        if path.name == '_rules.py':
            continue  # the catalogue's own docstring shows an unknown id
        yield path.relative_to(ROOT), path.read_text(encoding='utf-8')


# ---------------------------------------------------------------------------
# The catalogue itself


def test_ids_are_well_formed_grouped_and_in_order():
    letters = [group.letter for group in _rules.GROUPS]
    previous = None
    for rule_id, item in _rules.RULES.items():
        assert rule_id == item.id and ID_RE.match(rule_id), rule_id
        assert rule_id[0] in letters, '%s belongs to no group' % rule_id
        if previous and previous[0] == rule_id[0]:
            assert int(rule_id[1:]) == int(previous[1:]) + 1, 'ids of a group count up: %s after %s' % (rule_id, previous)
        previous = rule_id
    # Groups appear in the catalogue in the order of GROUPS.
    order = [rule_id[0] for rule_id in _rules.RULES]
    assert sorted(order, key=letters.index) == order


@pytest.mark.parametrize('item', list(_rules.RULES.values()), ids=list(_rules.RULES))
def test_every_rule_is_complete(item):
    assert item.rfc in _rules.RFC_URLS
    assert item.sections and all(re.match(r'^[1-9][0-9]*(\.[1-9][0-9]*)*$', s) for s in item.sections)
    assert item.title and item.rule.endswith('.') and item.fix.endswith('.')
    # One line each: they are rendered into tables and messages.
    assert '\n' not in item.rule and '\n' not in item.fix
    for row in item.findings:
        assert row.check in CHECKS, '%s: unknown check %r' % (item.id, row.check)
        assert row.severity and row.meaning


@pytest.mark.parametrize('rule_id, expected', [
    ('B5', 'rule B5 (RFC 8461 §3.2)'),
    ('A7', 'rule A7 (RFC 8461 §8.2)'),
    ('D2', 'rule D2 (RFC 8461 §4.2, §7.2)'),
    ('F3', 'rule F3 (RFC 8460 §3)'),
    ('X9', 'rule X9'),  # unknown: still named, never a crash inside an error message
    (None, ''),
])
def test_cite(rule_id, expected):
    assert _rules.cite(rule_id) == expected


def test_reference_and_fix():
    assert _rules.reference('C5') == 'RFC 8461 §7.1'
    assert _rules.reference('nope') == ''
    assert _rules.fix('C3') == _rules.get('C3').fix
    assert _rules.fix('nope') is None and _rules.get('nope') is None


# ---------------------------------------------------------------------------
# What the plugins cite exists in the catalogue


RULE_USES = (
    re.compile(r'''rule=['"]([A-Z][0-9]+)['"]'''),
    re.compile(r'''Problem\(\s*['"]([A-Z][0-9]+)['"]'''),
    re.compile(r'''finding\(\s*['"][a-z_]+['"],\s*[^,]+,\s*['"]([A-Z][0-9]+)['"]'''),
    re.compile(r'''(?:cite|reference|fix)\(\s*['"]([A-Z][0-9]+)['"]'''),
    re.compile(r'''['"]([A-Z][0-9]+): '''),  # record warnings: 'A6: message'
    re.compile(r'''\brules? ([A-Z][0-9]+)\b'''),  # prose: "rule B5 (...)"
)


def test_every_rule_id_the_plugins_use_is_in_the_catalogue():
    unknown = []
    seen = set()
    for path, text in _plugin_sources():
        for pattern in RULE_USES:
            for match in pattern.finditer(text):
                seen.add(match.group(1))
                if match.group(1) not in _rules.RULES:
                    unknown.append('%s: %s' % (path, match.group(0)))
    assert not unknown, 'rule ids missing from model/_rules.py: %s' % unknown
    assert len(seen) > 20  # the patterns still find the uses


FINDING_CALL = re.compile(r'''finding\(\s*['"]([a-z_]+)['"],\s*[^,]+,\s*['"]([A-Z][0-9]+)['"]''')


def test_every_finding_the_plugins_report_has_a_row_in_the_catalogue():
    """docs/verify.md lists each (check, rule) that verify reports."""
    missing = []
    calls = 0
    for path, text in _plugin_sources():
        for check, rule_id in FINDING_CALL.findall(text):
            calls += 1
            item = _rules.get(rule_id)
            if item is None or check not in {row.check for row in item.findings}:
                missing.append('%s: finding(%r, ..., %r)' % (path, check, rule_id))
    assert not missing, 'add a Finding row to the rule in model/_rules.py, then run make docs: %s' % missing
    assert calls > 20


SHIPPED = ('plugins', 'roles', 'docs', 'meta', 'README.md', 'galaxy.yml', 'changelogs/fragments')


def test_nothing_shipped_cites_notes_that_do_not_ship():
    """Messages, ansible-doc and docs cite the catalogue, never the team's notes."""
    offenders = []
    for top in SHIPPED:
        base = ROOT / top
        for path in [base] if base.is_file() else sorted(base.rglob('*')):
            if path.is_file() and path.suffix in ('.py', '.yml', '.yaml', '.md', '.j2', '.txt', '.cfg', ''):
                text = path.read_text(encoding='utf-8', errors='replace')
                for word in ('RFC-NOTES', 'DESIGN.md'):
                    if word in text:
                        offenders.append('%s: %s' % (path.relative_to(ROOT), word))
    assert not offenders


# ---------------------------------------------------------------------------
# The generated docs


def test_generated_docs_match_the_catalogue():
    """Fails when docs/rules.md or the findings table of docs/verify.md was
    edited by hand or the catalogue changed without `make docs`."""
    renderer = _renderer()
    for relative, expected in renderer.expected_files(ROOT).items():
        committed = (ROOT / relative).read_text(encoding='utf-8')
        assert committed == expected, '%s is out of date with model/_rules.py: run `make docs`' % relative


def test_rules_page_has_every_rule_and_its_source():
    page = _renderer().render_rules()
    for item in _rules.RULES.values():
        assert '\n### %s\n' % item.id in page
        assert item.rule in page and item.fix in page
        assert 'https://www.rfc-editor.org/rfc/rfc%s#section-%s' % (item.rfc.split()[1], item.sections[0]) in page


def test_findings_table_follows_the_order_of_checks():
    table = _renderer().render_findings_table()
    checks = re.findall(r'^\| `([a-z_]+)` \|', table, re.M)
    assert checks and checks == sorted(checks, key=CHECKS.index)
    assert len(checks) == sum(len(item.findings) for item in _rules.RULES.values())


def test_a_stale_findings_table_is_replaced_between_the_markers():
    renderer = _renderer()
    text = 'before\n%s\n| old | table |\n%s\nafter\n' % (renderer.TABLE_BEGIN, renderer.TABLE_END)
    result = renderer.replace_findings_table(text, renderer.render_findings_table())
    assert result.startswith('before\n') and result.endswith('\nafter\n') and '| old |' not in result
    with pytest.raises(ValueError):
        renderer.replace_findings_table('no markers', 'x')
