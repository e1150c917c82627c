# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Per-domain isolation: an unexpected exception while one domain is
checked becomes an ``internal`` finding for that domain; the others are
checked and the run returns its normal result."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import Answer
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification import _verify
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import (
    failure_message,
    render_report,
    summarize,
)


class FakeResolver:
    """Answers every question without network: a TXT record at _mta-sts,
    no address for any host, no MX (so each domain has ordinary findings)."""

    def __init__(self, *args, **kwargs):
        self.queries = 0

    def txt(self, name):
        self.queries += 1
        if name.startswith('_mta-sts.'):
            return Answer(name, 'TXT', 'ok', ['x']), [[b'v=STSv1; id=1']]
        return Answer(name, 'TXT', 'nxdomain'), []

    def addresses(self, name):
        self.queries += 1
        return [], []

    def query(self, name, rdtype):
        return Answer(name, rdtype, 'nodata')

    def mx(self, name):
        self.queries += 1
        return Answer(name, 'MX', 'nodata'), []


class Injected(Exception):
    pass


@pytest.fixture
def broken_fetch(monkeypatch):
    """fetch_policy raises for bad.example only, deep inside the domain's check."""
    real = _verify.fetch_policy

    def fetch_policy(domain, *args, **kwargs):
        if domain == 'bad.example':
            raise Injected('injected for the test')
        return real(domain, *args, **kwargs)

    monkeypatch.setattr(_verify, 'RunResolver', FakeResolver)
    monkeypatch.setattr(_verify, 'fetch_policy', fetch_policy)


def specs(*names):
    return [{'domain': name, 'expect': {}} for name in names]


def test_an_exception_in_one_domain_becomes_an_internal_finding(broken_fetch):
    results, stats = _verify.verify_domains(specs('a.example', 'bad.example', 'b.example'), parallel=2,
                                            check_mx_tls=False, timeout=1)
    assert [r['domain'] for r in results] == ['a.example', 'bad.example', 'b.example']
    bad = results[1]
    assert bad['status'] == 'error' and bad['attempts'] == 1
    assert [(f['check'], f['severity'], f['rule']) for f in bad['findings']] == [('internal', 'error', None)]
    message = bad['findings'][0]['message']
    assert 'Injected' in message and 'injected for the test' in message and 'bad.example' in message
    assert 'in fetch_policy' in message  # where it happened, for the bug report
    assert 'report' in bad['findings'][0]['hint']
    # The other domains were checked normally, with their own findings.
    for good in (results[0], results[2]):
        checks = {f['check'] for f in good['findings']}
        assert 'internal' not in checks and 'policy_host' in checks
        assert good['sts_record']['id'] == '1'
    assert stats['attempts'] == 1
    # The result has the usual shape: summary, failure message and reports work.
    summary = summarize(results)
    assert summary['domains'] == 3 and summary['rules']['internal'] == 1
    assert 'ERROR internal: checking bad.example stopped' in failure_message(results, 'error')
    for fmt in ('json', 'markdown', 'html'):
        assert 'bad.example' in render_report(results, summary, fmt)


def test_the_failing_domain_is_retried_like_any_other(broken_fetch):
    slept = []
    results, stats = _verify.verify_domains(specs('bad.example'), retries=2, delay=0, sleep=slept.append,
                                            check_mx_tls=False, timeout=1)
    assert results[0]['attempts'] == 3 and stats['attempts'] == 3 and len(slept) == 2


def test_live_policy_view_is_isolated_too(broken_fetch):
    run = _verify.Run(check_mx_tls=False, timeout=1)
    view = _verify.live_policy_view(run, 'bad.example')
    assert view['valid'] is False and view['findings'][0]['check'] == 'internal'
    other = _verify.live_policy_view(run, 'a.example')
    assert other['id'] == '1' and all(f['check'] != 'internal' for f in other['findings'])
