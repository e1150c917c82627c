# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._policy_host_plan import (
    PlanError,
    plan_policy_host,
)


def item(domain, **extra):
    base = {'domain': domain, 'mode': 'enforce', 'mx': ['mx.%s' % domain], 'max_age': 86400}
    base.update(extra)
    return base


def test_files_grouped_by_certificate_and_key_in_first_use_order():
    plan = plan_policy_host([
        item('b.example', cert_source='files', cert_file='/c/shared.crt', key_file='/c/shared.key'),
        item('a.example', cert_source='files', cert_file='/c/a.crt', key_file='/c/a.key'),
        item('c.example', cert_source='files', cert_file='/c/shared.crt', key_file='/c/shared.key'),
    ])
    assert plan['groups'] == [
        {'id': 'files-0000', 'source': 'files', 'cert': '/c/shared.crt', 'key': '/c/shared.key',
         'names': ['mta-sts.b.example', 'mta-sts.c.example']},
        {'id': 'files-0001', 'source': 'files', 'cert': '/c/a.crt', 'key': '/c/a.key',
         'names': ['mta-sts.a.example']},
    ]


def test_same_certificate_with_another_key_is_another_group():
    plan = plan_policy_host([item('a.example'), item('b.example', key_file='/c/other.key')],
                            cert_source='files', cert_file='/c/s.crt', key_file='/c/s.key')
    assert [(g['cert'], g['key']) for g in plan['groups']] == [('/c/s.crt', '/c/s.key'), ('/c/s.crt', '/c/other.key')]


def test_generated_sources_are_batched_by_san_limit_with_their_own_source_field():
    domains = [item('d%d.example' % i) for i in range(5)] + [item('s.example', cert_source='selfsigned')]
    plan = plan_policy_host(domains, cert_source='acme', cert_dir='/certs/', san_limit=2)
    assert [(g['id'], g['source'], len(g['names'])) for g in plan['groups']] == [
        ('selfsigned-0000', 'selfsigned', 1),
        ('acme-0000', 'acme', 2), ('acme-0001', 'acme', 2), ('acme-0002', 'acme', 1),
    ]
    assert plan['groups'][1]['cert'] == '/certs/acme-0000.crt'
    assert plan['groups'][1]['key'] == '/certs/acme-0000.key'


def test_names_are_normalised_like_the_policy_module():
    plan = plan_policy_host([item('EXAMPLE.com.'), item('bücher.example')], cert_source='selfsigned')
    assert plan['groups'][0]['names'] == ['mta-sts.example.com', 'mta-sts.xn--bcher-kva.example']


def test_absent_domains_need_no_certificate_but_keep_their_policy_item():
    plan = plan_policy_host([{'domain': 'gone.example', 'state': 'absent'}, item('kept.example')],
                            cert_source='selfsigned')
    assert [g['names'] for g in plan['groups']] == [['mta-sts.kept.example']]
    assert [p['domain'] for p in plan['policies']] == ['gone.example', 'kept.example']


def test_policies_keep_only_policy_keys_and_default_max_age():
    plan = plan_policy_host([{'domain': 'a.example', 'mode': 'testing', 'mx': ['mx.a.example'],
                              'cert_source': 'selfsigned', 'tlsrpt_rua': ['mailto:r@a.example'],
                              'dns': {'provider': 'none'}}])
    assert plan['policies'] == [{'domain': 'a.example', 'mode': 'testing', 'mx': ['mx.a.example'],
                                 'max_age': 604800}]


@pytest.mark.parametrize('domains, kwargs, fragments', [
    ([item('a.example', mode='report'), item('192.0.2.1')], {}, ['a.example', 'mode', '192.0.2.1']),
    ([item('a.example'), item('A.example.')], {}, ['listed twice']),
    ([item('a.example', cert_source='files')], {}, ['a.example', 'cert_file and key_file']),
    ([item('a.example', cert_source='files', cert_file='/c.crt')], {}, ['a.example: cert_source files needs key_file']),
    ([item('a.example', cert_source='letsencrypt')], {}, ['a.example', 'cert_source', 'letsencrypt']),
    ([item('a.example')], {'cert_source': 'nope'}, ["cert_source 'nope'"]),
    ([item('a.example')], {'san_limit': 0}, ['SAN limit']),
    ([{'mode': 'enforce'}], {}, ['policy_host_domains[0]', 'no "domain"']),
    ([item('a.example', cert_flie='/c.crt')], {}, ['a.example', 'cert_flie', 'did you mean "cert_file"']),
])
def test_every_problem_is_named_and_nothing_is_planned(domains, kwargs, fragments):
    with pytest.raises(PlanError) as caught:
        plan_policy_host(domains, **kwargs)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_all_policy_errors_are_listed_at_once():
    with pytest.raises(PlanError) as caught:
        plan_policy_host([item('a.example', mode='x'), item('b.example', max_age=-1), item('c.example')])
    assert len(caught.value.problems) == 2
