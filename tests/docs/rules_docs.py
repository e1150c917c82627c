# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/rules.md and the findings table of docs/verify.md from the
rule catalogue (plugins/module_utils/model/_rules.py).

    python tests/docs/rules_docs.py           # rewrite both (make docs)
    python tests/docs/rules_docs.py --check   # exit 1 if either is stale

The unit test tests/unit/plugins/module_utils/test_rules.py calls the same
functions and fails when the committed files differ from what they render.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES_MD = 'docs/rules.md'
VERIFY_MD = 'docs/verify.md'
TABLE_BEGIN = '<!-- findings table: generated from the rule catalogue by `make docs`; edit _rules.py, not this table -->'
TABLE_END = '<!-- end of the generated findings table -->'

LEVELS = (
    ('MUST', 'a requirement of the RFC; breaking it is an error'),
    ('SHOULD', 'a recommendation; breaking it is a warning unless the rule says otherwise'),
    ('MUST (readers)', 'how senders read what they do not expect; the collection reads the same way'),
    ('publish', 'the one form the collection publishes, accepted by every known sender'),
    ('allowed', 'something the RFC permits and the collection supports'),
    ('sender behaviour', 'what senders do, which deployments have to plan for'),
    ('advice', 'a frequent mistake in real deployments, with its correction'),
)


def _catalogue():
    from ansible_collections.mailsec.mta_sts.plugins.module_utils.model import _rules
    return _rules


def _checks():
    from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import CHECKS
    return CHECKS


def _source_link(rules, item):
    url = rules.RFC_URLS[item.rfc]
    links = ['[§%s](%s#section-%s)' % (section, url, section) for section in item.sections]
    links[0] = '[%s §%s](%s#section-%s)' % (item.rfc, item.sections[0], url, item.sections[0])
    return ', '.join(links)


def _cell(text):
    return text.replace('|', '\\|')


def render_rules():
    """The whole of docs/rules.md."""
    rules = _catalogue()
    out = [
        '# Rule catalogue',
        '',
        '<!-- Generated from plugins/module_utils/model/_rules.py by `make docs`; do not edit by hand. -->',
        '',
        'The rules of RFC 8461 (MTA-STS) and RFC 8460 (TLS-RPT) that mailsec.mta_sts',
        'applies, in its own words. Every error message and every `verify` finding',
        'names its rule as `rule B5 (RFC 8461 §3.2)`; `verify` findings also carry the',
        'id in their `rule` field. The ids are stable: a rule is never renumbered.',
        '',
        'Levels:',
        '',
    ]
    for level, meaning in LEVELS:
        out.append('- **%s**: %s.' % (level, meaning))
    out += ['', '| rule | title | level | source |', '|---|---|---|---|']
    for item in rules.RULES.values():
        out.append('| [%s](#%s) | %s | %s | %s |' % (
            item.id, item.id.lower(), _cell(item.title), item.level, _source_link(rules, item)))
    for group in rules.GROUPS:
        out += ['', '## %s. %s' % (group.letter, group.title)]
        for item in rules.RULES.values():
            if not item.id.startswith(group.letter):
                continue
            out += [
                '',
                '### %s' % item.id,
                '',
                '**%s** (%s; %s)' % (item.title, item.level, _source_link(rules, item)),
                '',
                item.rule,
                '',
                'Usual fix: %s' % item.fix,
            ]
            if item.findings:
                out += ['', 'Reported by `mailsec.mta_sts.verify` as:', '']
                for row in item.findings:
                    out.append('- `%s` (%s): %s' % (row.check, row.severity, row.meaning))
    out += ['', '## Grammar notes: where the prose and the ABNF differ', '',
            'The parsers follow the ABNF of RFC 8461 §3.1, §3.2 and RFC 8460 §3 unless a note below gives a',
            'reason to do otherwise. Each note has rows in the ABNF audit test (tests/unit/plugins/module_utils/',
            'test_abnf.py), in strict and in lenient parsing.']
    for note in getattr(rules, 'GRAMMAR_NOTES', ()):
        out += [
            '',
            '### %s' % note.id,
            '',
            '%s; rules %s.' % (note.where, ', '.join('[%s](#%s)' % (r, r.lower()) for r in note.rules)),
            '',
            '- Prose: %s' % note.prose,
            '- ABNF: %s' % note.abnf,
            '- Choice: %s' % note.choice,
        ]
    return '\n'.join(out) + '\n'


def render_findings_table():
    """The findings table of docs/verify.md, between its two markers."""
    rules = _catalogue()
    checks = _checks()
    rows = []
    for item in rules.RULES.values():
        for row in item.findings:
            rows.append((checks.index(row.check), len(rows), row, item))
    rows.sort(key=lambda entry: entry[:2])
    out = [TABLE_BEGIN, '', '| check | rule | severity | what it means |', '|---|---|---|---|']
    for dummy_rank, dummy_order, row, item in rows:
        out.append('| `%s` | [%s](rules.md#%s) | %s | %s |' % (
            row.check, item.id, item.id.lower(), _cell(row.severity), _cell(row.meaning)))
    out += ['', TABLE_END]
    return '\n'.join(out)


def replace_findings_table(text, table):
    """``text`` (docs/verify.md) with the part between the markers replaced."""
    start = text.find(TABLE_BEGIN)
    end = text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError('%s lacks the findings table markers:\n%s\n%s' % (VERIFY_MD, TABLE_BEGIN, TABLE_END))
    return text[:start] + table + text[end + len(TABLE_END):]


def expected_files(root=ROOT):
    """{relative path: text it should have}."""
    verify = (root / VERIFY_MD).read_text(encoding='utf-8')
    return {
        RULES_MD: render_rules(),
        VERIFY_MD: replace_findings_table(verify, render_findings_table()),
    }


def _importable():
    """Make ``ansible_collections.mailsec.mta_sts`` point at this tree (it
    is imported by that name everywhere) unless it is importable already."""
    try:
        _catalogue()
        return None
    except ImportError:
        pass
    holder = tempfile.TemporaryDirectory(prefix='rules-docs-')
    namespace = pathlib.Path(holder.name, 'ansible_collections', 'mailsec')
    namespace.mkdir(parents=True)
    (namespace / 'mta_sts').symlink_to(ROOT)
    sys.path.insert(0, holder.name)
    return holder


def main(argv):
    check = argv[1:] == ['--check']
    if argv[1:] and not check:
        print('usage: %s [--check]' % argv[0], file=sys.stderr)
        return 2
    holder = _importable()
    try:
        stale = []
        for relative, text in expected_files().items():
            path = ROOT / relative
            if path.exists() and path.read_text(encoding='utf-8') == text:
                continue
            stale.append(relative)
            if not check:
                path.write_text(text, encoding='utf-8')
    finally:
        if holder is not None:
            holder.cleanup()
    if check and stale:
        print('out of date with the rule catalogue: %s (run `make docs`)' % ', '.join(stale), file=sys.stderr)
        return 1
    print('%s: %s' % ('stale' if check else 'rewritten', ', '.join(stale)) if stale else 'docs match the rule catalogue')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
