# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slices for checker hosts, their merge, the compact result, the process count."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._verify import (
    compact_result,
    default_processes,
    merge_slices,
    slice_of,
)

DOMAINS = ['d%04d.example.test' % n for n in range(2000)]


def spec(domain):
    return {'domain': domain, 'expect': {}}


def result(domain, status='ok'):
    return {'domain': domain, 'status': status, 'sender_gets_policy': status != 'error', 'mode': 'enforce',
            'policy_id': 'id1', 'mx': [{'host': 'mx.example.test', 'covered': True}], 'findings': [], 'attempts': 1}


def test_slices_cover_every_domain_once_and_are_balanced():
    for count in (2, 3, 7):
        parts = [[d for d in DOMAINS if slice_of(d, count) == index] for index in range(count)]
        assert sorted(sum(parts, [])) == sorted(DOMAINS)
        # a hash, not a round robin: each share within 15% of the even share
        assert all(abs(len(part) - len(DOMAINS) / count) < 0.15 * len(DOMAINS) / count for part in parts)


def test_slice_is_stable_across_runs():
    # sha256-based: the same on every host and Python (hash() is salted per process)
    assert [slice_of(d, 4) for d in DOMAINS[:5]] == [slice_of(d, 4) for d in DOMAINS[:5]]
    assert slice_of('example.com', 1) == 0
    assert slice_of('example.com', 2) == int.from_bytes(
        __import__('hashlib').sha256(b'example.com').digest()[:8], 'big') % 2


def sliced(domains, count):
    return [{'domains': [result(d) for d in domains if slice_of(d, count) == index],
             'summary': {'attempts': 1, 'dns_queries': 10, 'mx_probes': 3, 'processes': 1, 'elapsed': 1.0 + index}}
            for index in range(count)]


def test_merge_restores_the_input_order_and_adds_the_costs():
    domains = DOMAINS[:50]
    results, stats = merge_slices([spec(d) for d in domains], sliced(domains, 3))
    assert [r['domain'] for r in results] == domains
    assert stats['slices'] == 3 and stats['mx_probes'] == 9 and stats['dns_queries'] == 30
    assert stats['elapsed'] == 3.0


def test_merge_names_a_domain_no_slice_checked():
    domains = DOMAINS[:50]
    parts = sliced(domains, 2)
    with pytest.raises(MtaStsError, match='no slice checked'):
        merge_slices([spec(d) for d in domains], parts[:1])


def test_merge_names_a_domain_checked_twice():
    domains = DOMAINS[:10]
    parts = sliced(domains, 1) + sliced(domains, 1)
    with pytest.raises(MtaStsError, match='checked by two slices'):
        merge_slices([spec(d) for d in domains], parts)


def test_merge_refuses_something_else_than_a_verify_result():
    with pytest.raises(MtaStsError, match='registered result'):
        merge_slices([spec('a.example.test')], [{'changed': False}])


def test_compact_result_keeps_the_report_fields():
    full = dict(result('a.example.test'), sts_record={'id': 'id1'}, policy_host={}, policy={}, tlsrpt={},
                elapsed=0.1, mx=[{'host': 'mx.example.test', 'covered': True, 'preference': 10, 'addresses': []}])
    assert sorted(compact_result(full)) == ['domain', 'findings', 'mode', 'mx', 'policy_id', 'sender_gets_policy', 'status']
    assert compact_result(full)['mx'] == [{'host': 'mx.example.test', 'covered': True}]


def test_default_processes():
    assert default_processes(10, cpus=2) == 1
    assert default_processes(199, cpus=2) == 1
    assert default_processes(1000, cpus=2) == 2
    assert default_processes(100000, cpus=8) == 8
