# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Findings of a verification run, the per-domain status, the summary,
the failure message, the report writers (JSON, Markdown, HTML) and the
verify module's conclusion (:func:`conclude`).

A finding is ``{check, severity, rule, message, hint}``: ``check`` names
the part of the deployment (``sts_record``, ``policy_host``, ``fetch``,
``policy``, ``expect``, ``mx``, ``mx_tls``, ``tlsrpt``, ``advice``, and
``internal`` for a bug of the checker itself, which has no rule),
``severity`` is ``error``, ``warning`` or ``info`` and ``rule`` is the
id of the rule in the catalogue (``model/_rules``). Pure functions, no network: unit-tested directly.

Private module of the mailsec.mta_sts collection (controller only; standard
library).
"""

from __future__ import annotations

import html
import json
import os

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._io import file_arguments, update_file
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import ERROR, INFO, WARNING, MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite, reference

CHECKS = ('dns', 'sts_record', 'policy_host', 'fetch', 'policy', 'expect', 'mx', 'mx_tls', 'tlsrpt', 'advice', 'internal')
SEVERITY_RANK = {INFO: 0, WARNING: 1, ERROR: 2}
STATUS_RANK = {'ok': 0, 'warning': 1, 'error': 2}
FAIL_ON = ('error', 'warning', 'never')
REPORT_FORMATS = ('json', 'markdown', 'html')
_EXTENSIONS = {'.json': 'json', '.md': 'markdown', '.markdown': 'markdown', '.html': 'html', '.htm': 'html'}


def finding(check, severity, rule, message, hint=None):
    if check not in CHECKS:
        raise ValueError('unknown check %r' % check)
    if severity not in SEVERITY_RANK:
        raise ValueError('unknown severity %r' % severity)
    return {'check': check, 'severity': severity, 'rule': rule, 'message': message, 'hint': hint}


def from_problem(check, problem, prefix=None):
    """A finding from a model Problem (keeps its rule, severity and hint)."""
    message = problem.message
    if problem.line:
        message = 'line %d: %s' % (problem.line, message)
    if prefix:
        message = '%s: %s' % (prefix, message)
    return finding(check, problem.severity, problem.rule, message, problem.hint)


def dedupe(findings):
    """Drop repeated findings (same check, severity, rule and message)."""
    seen = set()
    out = []
    for item in findings:
        key = (item['check'], item['severity'], item['rule'], item['message'])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def domain_status(findings):
    """``error`` if any finding is an error, ``warning`` if any is a warning, else ``ok``."""
    worst = max((SEVERITY_RANK[item['severity']] for item in findings), default=0)
    return {2: 'error', 1: 'warning', 0: 'ok'}[worst]


def fails(status, fail_on):
    """Does a domain with ``status`` fail the task under ``fail_on``?"""
    if fail_on == 'never':
        return False
    if fail_on == 'warning':
        return STATUS_RANK[status] >= STATUS_RANK['warning']
    return status == 'error'


def summarize(results):
    summary = {
        'domains': len(results),
        'ok': 0, 'warning': 0, 'error': 0,
        'sender_gets_policy': 0,
        'findings': {ERROR: 0, WARNING: 0, INFO: 0},
        'rules': {},
    }
    for result in results:
        summary[result['status']] += 1
        if result.get('sender_gets_policy'):
            summary['sender_gets_policy'] += 1
        for item in result['findings']:
            summary['findings'][item['severity']] += 1
            if item['severity'] != INFO:
                rule = item['rule'] or item['check']  # an internal finding has no rule
                summary['rules'][rule] = summary['rules'].get(rule, 0) + 1
    return summary


def failure_message(results, fail_on, limit=50):
    """A terminal-readable list of what fails, per domain, with rule and fix."""
    failing = [r for r in results if fails(r['status'], fail_on)]
    threshold = [ERROR] if fail_on == 'error' else [ERROR, WARNING]
    lines = ['MTA-STS verification failed for %d of %d domain(s) (fail_on=%s):'
             % (len(failing), len(results), fail_on)]
    for result in failing[:limit]:
        lines.append('%s [%s]:' % (result['domain'], result['status']))
        for item in result['findings']:
            if item['severity'] not in threshold:
                continue
            where = '%s, %s' % (item['check'], cite(item['rule'])) if item['rule'] else item['check']
            line = '  - %s %s: %s' % (item['severity'].upper(), where, item['message'])
            if item.get('hint'):
                line += ' -- fix: %s' % item['hint']
            lines.append(line)
    if len(failing) > limit:
        lines.append('... and %d more domain(s); see the returned results or the report' % (len(failing) - limit))
    return '\n'.join(lines)


# ---------------------------------------------------------------------------
# Reports


def report_format(path, explicit=None):
    """The report format: ``explicit`` if given, else from the file extension."""
    if explicit:
        if explicit not in REPORT_FORMATS:
            raise MtaStsError('report_format %r is not one of %s' % (explicit, ', '.join(REPORT_FORMATS)),
                              field='report_format')
        return explicit
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise MtaStsError('cannot tell the report format from %r' % path, field='report',
                          hint='name the file .json, .md or .html, or set report_format')
    return _EXTENSIONS[ext]


def report_data(results, summary):
    """What a report contains: the summary and per domain its status,
    sender verdict, mode and findings (no timings, so that an unchanged
    deployment gives an identical report)."""
    domains = []
    for result in results:
        domains.append({
            'domain': result['domain'],
            'status': result['status'],
            'sender_gets_policy': result.get('sender_gets_policy', False),
            'mode': result.get('mode'),
            'policy_id': result.get('policy_id', (result.get('sts_record') or {}).get('id')),
            'mx': [{'host': mx['host'], 'covered': mx.get('covered')} for mx in result.get('mx') or []],
            'findings': result['findings'],
        })
    return {'format': 'mailsec.mta_sts.verify/1', 'summary': summary, 'domains': domains}


def render_json(data):
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def _md(text):
    text = '' if text is None else str(text)
    for char in ('\\', '|', '*', '_', '`', '<', '>', '[', ']'):
        text = text.replace(char, '\\' + char)
    return text.replace('\r', ' ').replace('\n', ' ')


def render_markdown(data):
    summary = data['summary']
    lines = [
        '# MTA-STS verification report',
        '',
        '%d domain(s): %d ok, %d warning, %d error; senders get a valid policy for %d.'
        % (summary['domains'], summary['ok'], summary['warning'], summary['error'], summary['sender_gets_policy']),
        '',
        '| domain | status | sender gets policy | mode | errors | warnings |',
        '|---|---|---|---|---|---|',
    ]
    for item in data['domains']:
        counts = _counts(item['findings'])
        lines.append('| %s | %s | %s | %s | %d | %d |' % (
            _md(item['domain']), item['status'], 'yes' if item['sender_gets_policy'] else 'no',
            _md(item['mode'] or '-'), counts[ERROR], counts[WARNING]))
    for item in data['domains']:
        if not item['findings']:
            continue
        lines.extend(['', '## %s (%s)' % (_md(item['domain']), item['status']), '',
                      '| severity | rule | check | finding | fix |', '|---|---|---|---|---|'])
        for entry in _ordered(item['findings']):
            lines.append('| %s | %s | %s | %s | %s |' % (
                entry['severity'], _md(_rule_cell(entry['rule']) or '-'), entry['check'], _md(entry['message']), _md(entry['hint'] or '')))
    return '\n'.join(lines) + '\n'


def render_html(data):
    esc = html.escape
    summary = data['summary']
    out = [
        '<!DOCTYPE html>',
        '<html lang="en"><head><meta charset="utf-8"><title>MTA-STS verification report</title>',
        '<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;'
        'padding:2px 6px;text-align:left}.error{background:#fdd}.warning{background:#ffd}.ok{background:#dfd}</style>',
        '</head><body>',
        '<h1>MTA-STS verification report</h1>',
        '<p>%d domain(s): %d ok, %d warning, %d error; senders get a valid policy for %d.</p>' % (
            summary['domains'], summary['ok'], summary['warning'], summary['error'], summary['sender_gets_policy']),
        '<table><tr><th>domain</th><th>status</th><th>sender gets policy</th><th>mode</th>'
        '<th>errors</th><th>warnings</th></tr>',
    ]
    for item in data['domains']:
        counts = _counts(item['findings'])
        out.append('<tr class="%s"><td><a href="#%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td></tr>' % (
            esc(item['status']), esc(item['domain']), esc(item['domain']), esc(item['status']),
            'yes' if item['sender_gets_policy'] else 'no', esc(item['mode'] or '-'), counts[ERROR], counts[WARNING]))
    out.append('</table>')
    for item in data['domains']:
        if not item['findings']:
            continue
        out.append('<h2 id="%s">%s (%s)</h2>' % (esc(item['domain']), esc(item['domain']), esc(item['status'])))
        out.append('<table><tr><th>severity</th><th>rule</th><th>check</th><th>finding</th><th>fix</th></tr>')
        for entry in _ordered(item['findings']):
            out.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                esc(entry['severity']), esc(entry['severity']), esc(_rule_cell(entry['rule'])), esc(entry['check']),
                esc(entry['message']), esc(entry['hint'] or '')))
        out.append('</table>')
    out.append('</body></html>')
    return '\n'.join(out) + '\n'


def _rule_cell(rule_id):
    """A rule in a report table: ``C3 (RFC 8461 §3.3)``."""
    if not rule_id:
        return ''
    where = reference(rule_id)
    return '%s (%s)' % (rule_id, where) if where else rule_id


def _counts(findings):
    counts = {ERROR: 0, WARNING: 0, INFO: 0}
    for entry in findings:
        counts[entry['severity']] += 1
    return counts


def _ordered(findings):
    return sorted(findings, key=lambda entry: -SEVERITY_RANK[entry['severity']])


RENDERERS = {'json': render_json, 'markdown': render_markdown, 'html': render_html}


def render_report(results, summary, fmt):
    return RENDERERS[fmt](report_data(results, summary))


def write_report(module, path, text):
    """Make the file ``path`` hold ``text`` (UTF-8) with the module's file
    arguments (mode 0644 unless given), writing only when it differs.
    Returns changed; check mode writes nothing."""
    data = text.encode('utf-8')
    if not module.check_mode and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise MtaStsError('the directory of the report %s does not exist' % path, field='report')
    return update_file(module, path, data, file_arguments(module, path))


def conclude(module, results, stats, fail_on, report=None, fmt=None):
    """The verify module's result from the verified domains: the summary,
    the report file (written only when its text changes; the text leaves
    out the run's timings so that an unchanged deployment gives
    changed=false), and the verdict under ``fail_on``.

    Returns the result; raises TaskFailed (with the result) when the report
    cannot be written or a domain fails under ``fail_on``."""
    summary = summarize(results)
    output = dict(changed=False, domains=results, summary=dict(summary, **stats))
    if fmt:
        text = render_report(results, summary, fmt)
        try:
            output['changed'] = write_report(module, report, text)
        except (MtaStsError, OSError) as exc:
            raise TaskFailed('cannot write the report %s: %s' % (report, exc), **output) from None
        output['report'] = report
    if any(fails(result['status'], fail_on) for result in results):
        raise TaskFailed(failure_message(results, fail_on), **output)
    return output
