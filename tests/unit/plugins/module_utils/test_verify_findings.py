# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The verify module's judging logic, without network: MX coverage (D1),
certificate expiry arithmetic, fetch/record/policy/TLS-RPT findings with
their rule ids, the per-run cache, and the report writers."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import (
    conclude,
    dedupe,
    domain_status,
    failure_message,
    fails,
    finding,
    render_report,
    report_format,
    summarize,
    write_report,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import policy_id, render_policy
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._cache import OnceCache
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import parse_nameserver
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import (
    certificate_facts,
    days_left,
    expiry_level,
    trust_context,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._judge import (
    judge_advice,
    judge_fetch,
    judge_mx_answer,
    judge_mx_coverage,
    judge_mx_probe,
    judge_mx_unresolved,
    judge_policy,
    judge_sts_record,
    judge_tlsrpt,
    judge_unfetched_expectations,
    mx_severity,
    normalize_spec,
)

GOOD = render_policy('enforce', ['mx1.example.com', '*.mx.example.net'], 604800).encode('ascii')
DAY = 86400


def rules(findings, severity=None):
    return {(f['check'], f['rule']) for f in findings if severity is None or f['severity'] == severity}


# ---------------------------------------------------------------------------
# MX coverage (D1, D3)

@pytest.mark.parametrize('mx_hosts, patterns, mode, errors, warnings', [
    # every MX covered: nothing to say
    (['mx1.example.com'], ['mx1.example.com'], 'enforce', [], []),
    (['a.mx.example.net'], ['*.mx.example.net'], 'enforce', [], []),
    # trailing dot and case are ignored (D1)
    (['MX1.Example.COM.'], ['mx1.example.com'], 'enforce', [], []),
    # a wildcard covers exactly one label
    (['a.b.mx.example.net'], ['*.mx.example.net'], 'enforce', ['a.b.mx.example.net'], ['*.mx.example.net']),
    (['mx.example.net'], ['*.mx.example.net'], 'enforce', ['mx.example.net'], ['*.mx.example.net']),
    # uncovered backup MX: error in enforce, warning in testing, nothing in none
    (['mx1.example.com', 'backup.example.org'], ['mx1.example.com'], 'enforce', ['backup.example.org'], []),
    (['mx1.example.com', 'backup.example.org'], ['mx1.example.com'], 'testing', [], ['backup.example.org']),
    (['mx1.example.com', 'backup.example.org'], ['mx1.example.com'], 'none', [], []),
    # a pattern that matches no MX is stale
    (['mx1.example.com'], ['mx1.example.com', 'old.example.com'], 'enforce', [], ['old.example.com']),
])
def test_mx_coverage(mx_hosts, patterns, mode, errors, warnings):
    policy = {'mode': mode, 'mx': patterns, 'max_age': 604800}
    covered, findings = judge_mx_coverage(mx_hosts, policy, mode)
    assert all(f['rule'] == 'D1' and f['check'] == 'mx' for f in findings)
    error_text = ' '.join(f['message'] for f in findings if f['severity'] == 'error')
    warning_text = ' '.join(f['message'] for f in findings if f['severity'] == 'warning')
    assert len([f for f in findings if f['severity'] == 'error']) == len(errors)
    for host in errors:
        assert host in error_text
        assert covered[host] is False
    for item in warnings:
        assert item in warning_text
    assert len([f for f in findings if f['severity'] == 'warning']) == len(warnings)


def test_mx_coverage_without_policy_says_nothing():
    assert judge_mx_coverage(['mx1.example.com'], None, None) == ({}, [])


@pytest.mark.parametrize('mode, severity', [('enforce', 'error'), ('testing', 'warning'), ('none', 'info'),
                                            (None, 'warning')])
def test_mx_severity(mode, severity):
    assert mx_severity(mode) == severity


def probe(**overrides):
    base = {'host': 'mx1.example.com', 'address': '192.0.2.25', 'port': 25, 'stage': 'done',
            'starttls': True, 'tls_version': 'TLSv1.3', 'error_kind': None, 'error': None,
            'certificate': {'days_left': 60, 'sans': ['mx1.example.com']}}
    base.update(overrides)
    return base


@pytest.mark.parametrize('overrides, expected', [
    ({}, None),
    ({'starttls': False, 'stage': 'ehlo', 'certificate': None}, 'does not offer STARTTLS'),
    ({'stage': 'starttls', 'error_kind': 'name_mismatch', 'error': 'Hostname mismatch', 'certificate': None},
     'does not name mx1.example.com'),
    ({'stage': 'starttls', 'error_kind': 'expired', 'error': 'certificate has expired', 'certificate': None},
     'has expired'),
    ({'stage': 'starttls', 'error_kind': 'self_signed', 'error': 'self-signed', 'certificate': None}, 'self-signed'),
    ({'stage': 'connect', 'error_kind': 'connect', 'error': 'refused', 'starttls': None}, 'port 25 failed'),
])
def test_mx_probe_findings(overrides, expected):
    findings = judge_mx_probe(probe(**overrides), 'error')
    if expected is None:
        assert findings == []
    else:
        assert [(f['check'], f['rule'], f['severity']) for f in findings] == [('mx_tls', 'D2', 'error')]
        assert expected in findings[0]['message']
        assert findings[0]['hint']


def test_mx_probe_expiring_soon_is_a_warning_even_in_enforce():
    findings = judge_mx_probe(probe(certificate={'days_left': 3}), 'error')
    assert [(f['rule'], f['severity']) for f in findings] == [('D2', 'warning')]
    assert '3 day' in findings[0]['message']


# ---------------------------------------------------------------------------
# Expiry arithmetic

@pytest.mark.parametrize('seconds, days', [
    (30 * DAY, 30), (30 * DAY - 1, 29), (DAY + 3600, 1), (3600, 0), (0, 0), (-1, -1), (-DAY, -1), (-DAY - 1, -2),
])
def test_days_left(seconds, days):
    now = 1_800_000_000
    assert days_left(now + seconds, now) == days


@pytest.mark.parametrize('days, level', [(None, None), (-1, 'expired'), (0, 'soon'), (13, 'soon'), (14, None),
                                         (400, None)])
def test_expiry_level(days, level):
    assert expiry_level(days) == level


def test_certificate_facts_from_getpeercert():
    cert = {
        'subject': ((('commonName', 'mta-sts.example.com'),),),
        'issuer': ((('organizationName', 'Lab CA'),),),
        'notBefore': 'Jan  1 00:00:00 2026 GMT',
        'notAfter': 'Jan 11 00:00:00 2026 GMT',
        'subjectAltName': (('DNS', 'mta-sts.example.com'), ('IP Address', '192.0.2.1')),
    }
    now = time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0)) - time.timezone
    facts = certificate_facts(cert, now)
    assert facts['sans'] == ['mta-sts.example.com']
    assert facts['days_left'] == 10
    assert facts['subject'] == 'commonName=mta-sts.example.com'
    assert certificate_facts(None) is None


def test_trust_context_never_disables_verification(tmp_path):
    import ssl
    context = trust_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(MtaStsError, match='needs ca_path'):
        trust_context(None, 'replace')
    with pytest.raises(MtaStsError, match='does not exist'):
        trust_context(str(tmp_path / 'missing.pem'))
    bad = tmp_path / 'bad.pem'
    bad.write_text('not a certificate')
    with pytest.raises(MtaStsError, match='cannot load'):
        trust_context(str(bad), 'replace')


# ---------------------------------------------------------------------------
# The TXT record (A1-A7)

@pytest.mark.parametrize('records, rule, valid', [
    ([[b'v=STSv1; id=abc123']], None, True),
    ([[b'v=STSv1; ', b'id=abc123']], 'A2', True),  # info: split strings
    ([], 'A1', False),
    ([[b'v=spf1 -all']], 'A1', False),
    ([[b'v=STSv1; id=1'], [b'v=STSv1; id=2']], 'A1', False),
    ([[b'v=STSv1; id=2024-01+01/a']], 'A4', False),
    ([[b'v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456789']], 'A4', False),
    ([[b'v=STSv1; id=caf\xc3\xa9']], 'A2', False),
])
def test_sts_record(records, rule, valid):
    parsed, findings, texts = judge_sts_record('ok' if records else 'nodata', None, records)
    assert (parsed is not None) == valid
    assert len(texts) == len(records)
    if rule:
        assert ('sts_record', rule) in rules(findings)
    if not valid:
        assert domain_status(findings) == 'error'


def test_sts_record_lookup_failure_is_an_error():
    parsed, findings, _texts = judge_sts_record('error', 'SERVFAIL', [])
    assert parsed is None
    assert rules(findings, 'error') == {('sts_record', 'A1')}
    assert 'SERVFAIL' in findings[0]['message']


def test_sts_record_cname_is_information():
    parsed, findings, _texts = judge_sts_record('ok', None, [[b'v=STSv1; id=x1']], cnames=['_mta-sts.example.com'])
    assert parsed['id'] == 'x1'
    assert rules(findings) == {('sts_record', 'A7')}
    assert domain_status(findings) == 'ok'


# ---------------------------------------------------------------------------
# The fetch (C1-C5)

def fetch(**overrides):
    result = {'address': '192.0.2.1', 'stage': 'done', 'error_kind': None, 'error': None, 'tls_version': 'TLSv1.3',
              'certificate': {'days_left': 80}, 'status': 200, 'reason': 'OK', 'location': None,
              'content_type': 'text/plain; charset=utf-8', 'size': len(GOOD), 'too_large': False,
              'timed_out': False, 'elapsed': 0.01, 'body': GOOD}
    result.update(overrides)
    return {'host': 'mta-sts.example.com', 'addresses': [result['address']], 'dns_failures': [], 'results': [result]}


@pytest.mark.parametrize('overrides, check, rule, text', [
    ({'status': 301, 'location': 'https://www.example.com/', 'body': b''}, 'fetch', 'C2', 'https://www.example.com/'),
    ({'status': 404, 'reason': 'Not Found'}, 'fetch', 'C2', 'HTTP 404'),
    ({'content_type': 'text/html'}, 'fetch', 'C3', 'text/html'),
    ({'content_type': None}, 'fetch', 'C3', 'no Content-Type'),
    ({'too_large': True, 'size': 65536}, 'fetch', 'C4', 'larger than 65536'),
    ({'stage': 'http', 'error_kind': 'timeout', 'timed_out': True, 'body': None}, 'fetch', 'C4', 'within 5s'),
    ({'stage': 'tls', 'error_kind': 'name_mismatch', 'error': 'Hostname mismatch', 'certificate': None},
     'policy_host', 'C1', 'does not name mta-sts.example.com'),
    ({'stage': 'tls', 'error_kind': 'expired', 'error': 'certificate has expired', 'certificate': None},
     'policy_host', 'C1', 'expired'),
    ({'stage': 'tls', 'error_kind': 'sni_refused', 'error': 'alert 112', 'certificate': None},
     'policy_host', 'C5', 'SNI'),
    ({'stage': 'connect', 'error_kind': 'connect', 'error': 'Connection refused', 'certificate': None},
     'policy_host', 'C1', 'Connection refused'),
])
def test_fetch_errors(overrides, check, rule, text):
    body, findings = judge_fetch(fetch(**overrides), 5)
    assert body is None
    errors = [f for f in findings if f['severity'] == 'error']
    assert [(f['check'], f['rule']) for f in errors] == [(check, rule)]
    assert text in errors[0]['message']
    assert errors[0]['hint']


def test_fetch_good_gives_the_body_a_sender_takes():
    body, findings = judge_fetch(fetch(), 5)
    assert body == GOOD
    assert findings == []


def test_fetch_warnings():
    body, findings = judge_fetch(fetch(size=20000, certificate={'days_left': 5}), 5)
    assert body == GOOD  # a sender still takes it
    assert rules(findings, 'warning') == {('fetch', 'C4'), ('policy_host', 'C1')}


def test_fetch_without_address():
    data = fetch()
    data.update(addresses=[], results=[], dns_failures=['mta-sts.example.com does not exist (NXDOMAIN)'])
    body, findings = judge_fetch(data, 5)
    assert body is None
    assert rules(findings, 'error') == {('policy_host', 'C1')}
    assert 'NXDOMAIN' in findings[0]['message']


def test_fetch_two_addresses_serving_different_bytes():
    data = fetch()
    other = dict(data['results'][0], address='192.0.2.2', body=GOOD.replace(b'604800', b'86400'))
    data['results'].append(other)
    data['addresses'].append('192.0.2.2')
    body, findings = judge_fetch(data, 5)
    assert body == GOOD
    assert ('fetch', 'E2') in rules(findings, 'error')


# ---------------------------------------------------------------------------
# The policy (B, E1, expectations)

def test_policy_derived_id_matches():
    policy, findings, derived = judge_policy(GOOD, {'id': policy_id(GOOD)}, {})
    assert policy['mode'] == 'enforce'
    assert derived == policy_id(GOOD)
    assert findings == []


@pytest.mark.parametrize('strict, severity', [(False, 'info'), (True, 'error')])
def test_policy_id_not_bumped(strict, severity):
    _policy, findings, _derived = judge_policy(GOOD, {'id': '20240101'}, {'derived_id': strict})
    e1 = [f for f in findings if f['rule'] == 'E1']
    assert [(f['check'], f['severity']) for f in e1] == [('policy', severity)]
    assert policy_id(GOOD) in e1[0]['hint']


def test_policy_explicit_id_expectation_replaces_the_derived_check():
    _policy, findings, _derived = judge_policy(GOOD, {'id': '20240101'}, {'policy_id': '20240101', 'derived_id': True})
    assert findings == []


def test_policy_bom_is_rejected():
    policy, findings, _derived = judge_policy(b'\xef\xbb\xbf' + GOOD, None, {})
    assert policy is None
    assert ('policy', 'B1') in rules(findings, 'error')


@pytest.mark.parametrize('expect, rule', [
    ({'mode': 'testing'}, 'B3'),
    ({'mx': ['mx1.example.com']}, 'B5'),
    ({'max_age': 86400}, 'B4'),
    ({'policy': GOOD.decode() + 'x: y\r\n'}, 'E1'),
])
def test_policy_expectations(expect, rule):
    _policy, findings, _derived = judge_policy(GOOD, None, expect)
    assert rules(findings, 'error') == {('expect', rule)}


def test_policy_expectations_met():
    expect = {'mode': 'enforce', 'mx': ['*.mx.example.net', 'mx1.example.com'], 'max_age': 604800,
              'policy': GOOD.decode()}
    assert judge_policy(GOOD, None, expect)[1] == []


# ---------------------------------------------------------------------------
# TLS-RPT (F1-F5) and advice

@pytest.mark.parametrize('records, severity, rule', [
    ([[b'v=TLSRPTv1; rua=mailto:tlsrpt@example.com']], None, None),
    ([], 'warning', 'F2'),
    ([[b'v=TLSRPTv1; rua=mailto:a@example.com'], [b'v=TLSRPTv1; rua=mailto:b@example.com']], 'error', 'F2'),
    ([[b'v=TLSRPTv1; rua=postmaster@example.com']], 'error', 'F5'),
    ([[b'v=TLSRPTv1; rua=ftp://example.com/x']], 'error', 'F3'),
])
def test_tlsrpt(records, severity, rule):
    parsed, findings = judge_tlsrpt('ok', None, records, {})
    if rule is None:
        assert findings == [] and parsed['rua'] == ['mailto:tlsrpt@example.com']
    else:
        assert rules(findings, severity) == {('tlsrpt', rule)}


def test_tlsrpt_old_name_and_expected_rua():
    _parsed, findings = judge_tlsrpt('ok', None, [], {'tlsrpt_rua': ['mailto:tlsrpt@example.com']},
                                     [[b'v=TLSRPTv1; rua=mailto:tlsrpt@example.com']])
    assert ('tlsrpt', 'F5') in rules(findings, 'warning')
    assert ('expect', 'F3') in rules(findings, 'error')


@pytest.mark.parametrize('policy, tlsrpt, expected', [
    ({'mode': 'testing', 'max_age': 86400}, None, {('advice', 'F2', 'warning')}),
    ({'mode': 'testing', 'max_age': 86400}, {'rua': ['mailto:x@example.com']}, {('advice', 'B3', 'info')}),
    ({'mode': 'none', 'max_age': 604800}, None, {('advice', 'E4', 'warning')}),
    ({'mode': 'none', 'max_age': 86400}, None, set()),
    ({'mode': 'enforce', 'max_age': 604800}, None, set()),
    (None, None, set()),
])
def test_advice(policy, tlsrpt, expected):
    assert {(f['check'], f['rule'], f['severity']) for f in judge_advice(policy, tlsrpt)} == expected


# ---------------------------------------------------------------------------
# Inputs

def test_normalize_spec():
    assert normalize_spec('Example.COM.') == {'domain': 'example.com', 'expect': {}}
    spec = normalize_spec({'domain': 'example.com', 'mode': 'enforce', 'mx': ['MX1.example.com'], 'max_age': '86400',
                           'tlsrpt_rua': 'mailto:t@example.com', 'policy_id': 'abc'})
    assert spec['expect'] == {'mode': 'enforce', 'mx': ['mx1.example.com'], 'max_age': 86400,
                              'tlsrpt_rua': ['mailto:t@example.com'], 'policy_id': 'abc'}


@pytest.mark.parametrize('item, rule, text', [
    ('192.0.2.1', 'B5', 'IP address'),
    ({'domain': 'example.com', 'mode': 'Enforce'}, 'B3', 'mode'),
    ({'domain': 'example.com', 'policy_id': 'a-b'}, 'A4', 'letters or digits'),
    ({'domain': 'example.com', 'tlsrpt_rua': 'tlsrpt@example.com'}, 'F5', 'scheme'),
    ({'domain': 'example.com', 'moed': 'enforce'}, None, 'unknown key'),
    ({'mode': 'enforce'}, None, 'has no "domain"'),
])
def test_normalize_spec_errors(item, rule, text):
    with pytest.raises(MtaStsError, match=text) as info:
        normalize_spec(item, 3)
    assert info.value.rule == rule


@pytest.mark.parametrize('spec, expected', [
    ('192.0.2.53', [('192.0.2.53', 53)]),
    ('192.0.2.53:5353', [('192.0.2.53', 5353)]),
    ('[2001:db8::53]:5353', [('2001:db8::53', 5353)]),
    ('[2001:db8::53]', [('2001:db8::53', 53)]),
    ('2001:db8::53', [('2001:db8::53', 53)]),
])
def test_parse_nameserver(spec, expected):
    assert parse_nameserver(spec) == expected


@pytest.mark.parametrize('spec', ['192.0.2.53:0', '192.0.2.53:x', '[2001:db8::53', ''])
def test_parse_nameserver_errors(spec):
    with pytest.raises(MtaStsError):
        parse_nameserver(spec)


# ---------------------------------------------------------------------------
# Once per run

def test_once_cache_computes_each_key_once_across_threads():
    cache = OnceCache()
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return 'answer'

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get(('mx', 'A'), compute))) for _index in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join()
    assert out == ['answer'] * 20
    assert len(calls) == 1 and cache.computed == 1


def test_once_cache_caches_failures():
    cache = OnceCache()
    calls = []

    def compute():
        calls.append(1)
        raise OSError('down')

    for _attempt in range(3):
        with pytest.raises(OSError):
            cache.get('k', compute)
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# Status, summary, failure message, reports

def result(domain, findings, gets=True):
    return {'domain': domain, 'status': domain_status(findings), 'sender_gets_policy': gets, 'mode': 'enforce',
            'sts_record': {'id': 'abc'}, 'mx': [{'host': 'mx1.%s' % domain, 'covered': True}], 'findings': findings}


ERR = finding('fetch', 'error', 'C3', 'mta-sts.b.example: served as text/html <b>', 'serve "text/plain" | now')
WARN = finding('mx', 'warning', 'D1', 'pattern old.example matches no MX', 'remove it')
INFO = finding('advice', 'info', 'B3', 'testing')


@pytest.mark.parametrize('findings, status', [([], 'ok'), ([INFO], 'ok'), ([INFO, WARN], 'warning'),
                                              ([WARN, ERR], 'error')])
def test_domain_status(findings, status):
    assert domain_status(findings) == status


@pytest.mark.parametrize('status, fail_on, expected', [
    ('error', 'error', True), ('warning', 'error', False), ('warning', 'warning', True), ('ok', 'warning', False),
    ('error', 'never', False),
])
def test_fails(status, fail_on, expected):
    assert fails(status, fail_on) is expected


def test_dedupe():
    assert dedupe([ERR, dict(ERR), WARN]) == [ERR, WARN]


def test_finding_rejects_unknown_check():
    with pytest.raises(ValueError):
        finding('nope', 'error', 'A1', 'x')


def test_summary_and_failure_message():
    results = [result('a.example', [INFO]), result('b.example', [ERR, WARN], gets=False), result('c.example', [WARN])]
    summary = summarize(results)
    assert (summary['ok'], summary['warning'], summary['error'], summary['sender_gets_policy']) == (1, 1, 1, 2)
    assert summary['rules'] == {'C3': 1, 'D1': 2}
    message = failure_message(results, 'error')
    assert message.splitlines()[0].startswith('MTA-STS verification failed for 1 of 3')
    assert 'b.example [error]:' in message
    assert 'ERROR fetch, rule C3 (RFC 8461 §3.3): ' in message and 'fix: serve' in message
    assert 'D1' not in message  # warnings are not listed under fail_on=error
    message = failure_message(results, 'warning')
    assert 'c.example [warning]:' in message and 'WARNING mx, rule D1 (RFC 8461 §4.1): ' in message


@pytest.mark.parametrize('path, explicit, fmt', [
    ('/tmp/r.json', None, 'json'), ('/tmp/r.MD', None, 'markdown'), ('/tmp/r.html', None, 'html'),
    ('/tmp/r.txt', 'json', 'json'),
])
def test_report_format(path, explicit, fmt):
    assert report_format(path, explicit) == fmt


def test_report_format_unknown():
    with pytest.raises(MtaStsError, match='cannot tell'):
        report_format('/tmp/report.txt')


def test_reports_render_and_escape():
    results = [result('a.example', []), result('b.example', [ERR, WARN], gets=False)]
    summary = summarize(results)
    data = json.loads(render_report(results, summary, 'json'))
    assert data['summary']['error'] == 1
    assert [d['domain'] for d in data['domains']] == ['a.example', 'b.example']
    assert data['domains'][1]['findings'][0]['rule'] == 'C3'
    markdown = render_report(results, summary, 'markdown')
    assert '| b.example | error | no | enforce | 1 | 1 |' in markdown.replace('b\\.example', 'b.example')
    assert '\\<b\\>' in markdown and '\\| now' in markdown  # table cells cannot be broken
    assert '| C3 (RFC 8461 §3.3) |' in markdown  # the rule with its source, from the catalogue
    page = render_report(results, summary, 'html')
    assert '&lt;b&gt;' in page and '<b>' not in page
    assert '<td>C3 (RFC 8461 §3.3)</td>' in page
    assert page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')


def test_write_report_is_idempotent_and_respects_check_mode(ansible_module, tmp_path):
    path = str(tmp_path / 'report.json')
    assert write_report(ansible_module(check_mode=True), path, 'one\n') is True
    assert not (tmp_path / 'report.json').exists()
    module = ansible_module()
    assert write_report(module, path, 'one\n') is True
    assert write_report(module, path, 'one\n') is False
    assert write_report(ansible_module(check_mode=True), path, 'two\n') is True
    assert (tmp_path / 'report.json').read_text() == 'one\n'
    assert oct((tmp_path / 'report.json').stat().st_mode & 0o777) == '0o644'
    with pytest.raises(MtaStsError, match='does not exist'):
        write_report(module, str(tmp_path / 'missing' / 'r.json'), 'x')


def test_write_report_takes_the_file_arguments(ansible_module, tmp_path):
    path = str(tmp_path / 'report.html')
    assert write_report(ansible_module({'mode': '0640'}), path, '<p>x</p>') is True
    assert oct((tmp_path / 'report.html').stat().st_mode & 0o777) == '0o640'


# ---------------------------------------------------------------------------
# The verify module's conclusion: report and verdict


STATS = {'attempts': 1, 'dns_queries': 9, 'mx_probes': 2, 'elapsed': 0.5}


def test_conclude_writes_the_report_once_then_is_unchanged(ansible_module, tmp_path):
    results = [result('a.example', [WARN])]
    path = str(tmp_path / 'report.md')
    module = ansible_module()
    first = conclude(module, results, STATS, 'error', path, 'markdown')
    assert first['changed'] is True and first['report'] == path
    assert first['summary']['warning'] == 1 and first['summary']['dns_queries'] == 9
    written = (tmp_path / 'report.md').read_text()
    assert 'a.example' in written
    # Another run with other timings writes nothing: the report has none.
    again = conclude(module, results, dict(STATS, elapsed=9.9), 'error', path, 'markdown')
    assert again['changed'] is False
    assert (tmp_path / 'report.md').read_text() == written


def test_conclude_check_mode_writes_no_report(ansible_module, tmp_path):
    module = ansible_module(check_mode=True)
    output = conclude(module, [result('a.example', [])], STATS, 'error', str(tmp_path / 'r.json'), 'json')
    assert output['changed'] is True
    assert not (tmp_path / 'r.json').exists()


def test_conclude_without_report_is_never_changed(ansible_module):
    output = conclude(ansible_module(), [result('a.example', [])], STATS, 'error')
    assert output['changed'] is False and 'report' not in output


@pytest.mark.parametrize('fail_on, fails_task', [('error', True), ('warning', True), ('never', False)])
def test_conclude_fails_under_fail_on_with_the_whole_result(ansible_module, tmp_path, fail_on, fails_task):
    module = ansible_module()
    results = [result('a.example', []), result('b.example', [ERR], gets=False)]
    path = str(tmp_path / 'r.json')
    if not fails_task:
        assert conclude(module, results, STATS, fail_on, path, 'json')['summary']['error'] == 1
        return
    with pytest.raises(TaskFailed) as err:
        conclude(module, results, STATS, fail_on, path, 'json')
    assert err.value.msg == failure_message(results, fail_on)
    assert err.value.result['domains'] == results and err.value.result['report'] == path
    assert (tmp_path / 'r.json').exists()  # the report is written before the verdict


def test_conclude_reports_a_report_it_cannot_write(ansible_module, tmp_path):
    with pytest.raises(TaskFailed) as err:
        conclude(ansible_module(), [result('a.example', [])], STATS, 'error', str(tmp_path / 'no' / 'r.json'), 'json')
    assert err.value.msg.startswith('cannot write the report %s' % (tmp_path / 'no' / 'r.json'))
    assert err.value.result['domains'][0]['domain'] == 'a.example'


# ---------------------------------------------------------------------------
# MX answers (D3) and unmet expectations (C2), judged without network


@pytest.mark.parametrize('failed, items, tried, severity', [
    (True, [], [], 'error'),                                   # the lookup failed
    (False, [(0, '.')], [], 'info'),                           # null MX: no mail at all
    (False, [(0, '')], [], 'info'),
    (False, [], [(0, 'example.com')], 'warning'),              # implicit MX: the domain itself
    (False, [(10, 'mx1.example.com'), (20, 'mx2.example.com')],
     [(10, 'mx1.example.com'), (20, 'mx2.example.com')], None),
])
def test_judge_mx_answer(failed, items, tried, severity):
    hosts, findings = judge_mx_answer('example.com', failed, 'SERVFAIL from 192.0.2.1', items)
    assert hosts == tried
    assert [f['severity'] for f in findings] == ([severity] if severity else [])
    assert all(f['rule'] == 'D3' and f['check'] == 'mx' for f in findings)
    if failed:
        assert 'SERVFAIL from 192.0.2.1' in findings[0]['message']


def test_judge_mx_unresolved_names_the_host_and_why():
    found = judge_mx_unresolved('mx1.example.com', ['A: NXDOMAIN', 'AAAA: NXDOMAIN'], 'error')
    assert (found['rule'], found['severity']) == ('D3', 'error')
    assert 'mx1.example.com' in found['message'] and 'A: NXDOMAIN; AAAA: NXDOMAIN' in found['message']
    assert 'no A or AAAA record' in judge_mx_unresolved('mx1.example.com', [], 'warning')['message']


@pytest.mark.parametrize('expect, unmet', [
    ({}, False), ({'derived_id': True}, False), ({'policy_id': 'x1'}, False),
    ({'mode': 'enforce'}, True), ({'mx': ['mx.example.com']}, True), ({'max_age': 86400}, True),
    ({'policy': 'version: STSv1\r\n'}, True),
])
def test_judge_unfetched_expectations(expect, unmet):
    assert [(f['check'], f['rule']) for f in judge_unfetched_expectations(expect)] == ([('expect', 'C2')] if unmet else [])
