# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Judging what a misbehaving policy host or MX left in the fetch and probe
results: each case gets its check, rule and severity, and a policy is
judged only when a sender would take the body."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._judge import judge_fetch, judge_mx_probe

HOST = 'mta-sts.example.test'
BODY = b'version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n'


def fetched(**changes):
    result = {
        'address': '192.0.2.1', 'stage': 'done', 'error_kind': None, 'error': None, 'tls_version': 'TLSv1.3',
        'alpn': None, 'certificate': {'sans': [HOST], 'days_left': 60}, 'cn_only': False,
        'http_version': 'HTTP/1.1', 'interim': [], 'status': 200, 'reason': 'OK', 'location': None,
        'content_type': 'text/plain', 'content_types': ['text/plain'], 'content_encoding': None,
        'framing': 'content-length', 'content_length': len(BODY), 'excess': False, 'size': len(BODY),
        'too_large': False, 'timed_out': False, 'elapsed': 0.1, 'body': BODY,
    }
    result.update(changes)
    return {'host': HOST, 'url': 'https://%s/.well-known/mta-sts.txt' % HOST, 'addresses': ['192.0.2.1'],
            'dns_failures': [], 'results': [result]}


def summary(findings):
    return [(f['check'], f['severity'], f['rule']) for f in findings]


@pytest.mark.parametrize(('changes', 'expected', 'taken', 'text'), [
    ({}, [], True, None),
    ({'http_version': 'HTTP/1.0', 'framing': 'close'}, [], True, None),
    ({'interim': [100, 103]}, [], True, None),
    ({'framing': 'chunked'}, [], True, None),
    ({'stage': 'http', 'error_kind': 'truncated', 'error': 'the connection closed 10 bytes short', 'body': None},
     [('fetch', 'error', 'C2')], False, 'cut short'),
    ({'stage': 'http', 'error_kind': 'http2', 'error': 'x', 'body': None}, [('fetch', 'error', 'C2')], False, 'HTTP/2'),
    ({'stage': 'http', 'error_kind': 'closed', 'error': 'x', 'body': None}, [('fetch', 'error', 'C2')], False, 'closed'),
    ({'stage': 'http', 'error_kind': 'reset', 'error': 'x', 'body': None}, [('fetch', 'error', 'C2')], False, 'reset'),
    ({'stage': 'http', 'error_kind': 'bad_status', 'error': "not an HTTP status line: b'<html>'", 'body': None},
     [('fetch', 'error', 'C2')], False, 'not an HTTP status line'),
    ({'stage': 'http', 'error_kind': 'headers_too_large', 'error': 'the header section is longer than 65536 bytes',
      'body': None}, [('fetch', 'error', 'C2')], False, '65536'),
    ({'stage': 'http', 'error_kind': 'bad_chunk', 'error': "not a chunk size: b'zz'", 'body': None},
     [('fetch', 'error', 'C2')], False, 'chunk size'),
    ({'stage': 'http', 'error_kind': 'timeout', 'error': 'x', 'timed_out': True, 'body': None},
     [('fetch', 'error', 'C4')], False, 'within 3s'),
    ({'content_encoding': 'gzip'}, [('fetch', 'error', 'C2')], False, 'Content-Encoding: gzip'),
    ({'excess': True, 'content_length': 20, 'body': BODY[:20]}, [('fetch', 'warning', 'C2')], True, 'more bytes'),
    ({'content_types': ['text/plain', 'text/html']}, [('fetch', 'error', 'C3')], False, 'several Content-Type'),
    ({'content_types': ['text/plain', 'text/plain; charset=utf-8']}, [('fetch', 'warning', 'C3')], True, 'repeated'),
    ({'cn_only': True, 'certificate': {'sans': [], 'days_left': 60}}, [('policy_host', 'error', 'C1')], True,
     'subject CN'),
    ({'stage': 'tls', 'error_kind': 'timeout', 'error': 'x', 'body': None, 'certificate': None},
     [('policy_host', 'error', 'C4')], False, 'no TLS handshake'),
    ({'stage': 'tls', 'error_kind': 'handshake', 'error': 'tlsv1 alert internal error', 'body': None,
      'certificate': None}, [('policy_host', 'error', 'C5')], False, 'alert internal error'),
    ({'stage': 'tls', 'error_kind': 'alpn', 'error': 'no application protocol', 'body': None, 'certificate': None},
     [('policy_host', 'error', 'C5')], False, 'ALPN'),
    ({'stage': 'tls', 'error_kind': 'untrusted', 'error': 'unable to get local issuer certificate', 'body': None,
      'certificate': None}, [('policy_host', 'error', 'C1')], False, 'intermediate'),
    ({'stage': 'tls', 'error_kind': 'not_yet_valid', 'error': 'certificate is not yet valid', 'body': None,
      'certificate': None}, [('policy_host', 'error', 'C1')], False, 'not valid yet'),
    ({'stage': 'tls', 'error_kind': 'old_tls', 'error': 'unsupported protocol', 'body': None, 'certificate': None},
     [('policy_host', 'error', 'C1')], False, 'TLS 1.2'),
])
def test_fetch_cases(changes, expected, taken, text):
    body, findings = judge_fetch(fetched(**changes), 3)
    assert summary(findings) == expected
    assert (body is not None) == taken
    if text:
        assert text in findings[0]['message'], findings[0]['message']
        assert findings[0]['hint']


def probed(**changes):
    result = {'host': 'mx1.example.test', 'address': '192.0.2.25', 'port': 25, 'stage': 'done', 'banner': 'mx ESMTP',
              'starttls': True, 'tls_version': 'TLSv1.3', 'certificate': {'sans': ['mx1.example.test'], 'days_left': 60},
              'cn_only': False, 'error_kind': None, 'error': None, 'elapsed': 0.1}
    result.update(changes)
    return result


@pytest.mark.parametrize(('changes', 'text'), [
    ({'stage': 'connect', 'error_kind': 'timeout', 'error': 'no greeting within 3s', 'starttls': None}, 'no greeting'),
    ({'stage': 'connect', 'error_kind': 'smtp', 'error': 'greeting 421 busy', 'starttls': None}, '421'),
    ({'stage': 'ehlo', 'error_kind': 'garbled', 'error': "not an SMTP reply line: b'STARTTLS'", 'starttls': None},
     'not an SMTP reply line'),
    ({'stage': 'starttls', 'error_kind': 'smtp', 'error': 'STARTTLS answered 454 4.7.0 TLS not available'}, '454'),
    ({'stage': 'starttls', 'error_kind': 'closed_after_tls',
      'error': 'the connection closed right after the TLS handshake'}, 'right after the TLS handshake'),
    ({'stage': 'starttls', 'error_kind': 'garbled', 'error': 'a multi-line reply longer than 100 lines'}, 'garbled'),
    ({'cn_only': True, 'certificate': {'sans': [], 'days_left': 60}}, 'subject CN'),
])
@pytest.mark.parametrize('severity', ['error', 'warning'])
def test_mx_cases(changes, text, severity):
    findings = judge_mx_probe(probed(**changes), severity)
    assert summary(findings) == [('mx_tls', severity, 'D2')]
    assert text in findings[0]['message'] and findings[0]['hint']


def test_good_mx_has_no_finding():
    assert judge_mx_probe(probed(), 'error') == []
