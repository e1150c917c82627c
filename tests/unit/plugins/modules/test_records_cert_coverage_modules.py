# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The records and cert_coverage modules through main(): records' refusals
before any DNS traffic (the lab tests the updates), and cert_coverage on
real certificate files made by trustme in a temporary directory."""

from __future__ import annotations

import pytest

pytest.importorskip('dns')
trustme = pytest.importorskip('trustme')

from ansible_collections.mailsec.mta_sts.plugins.modules import cert_coverage, records  # noqa: E402  pylint: disable=wrong-import-position

SERVER = dict(server='127.0.0.1', key_name='update-key', key_secret='bGFiLXNlY3JldC1sYWItc2VjcmV0LWxhYi1zZWNyZXQ=')


def test_records_refuses_a_ttl_out_of_range_naming_the_field(run_module):
    result = run_module(records.main, dict(SERVER, domain='example.com', policy_id='20261130', ttl=-1))
    assert result['failed'] and 'ttl -1 is not between 0 and 2147483647' in result['msg']


def test_records_never_shows_the_key_secret(run_module):
    result = run_module(records.main, dict(SERVER, domain='example.com', policy_id='bad-id!'))
    assert result['failed'] and result['rule'] == 'A4'
    assert SERVER['key_secret'] not in repr(result)


def write_pair(tmp_path, name, *sans):
    ca = trustme.CA()
    cert = ca.issue_cert(*sans)
    cert_path, key_path = tmp_path / ('%s.crt' % name), tmp_path / ('%s.key' % name)
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return str(cert_path), str(key_path)


def test_cert_coverage_reports_each_certificate(run_module, tmp_path):
    cert, key = write_pair(tmp_path, 'a', 'mta-sts.a.example')
    items = [dict(id='a', cert=cert, key=key, names=['mta-sts.a.example']),
             dict(id='b', cert=cert, key=key, names=['mta-sts.b.example']),
             dict(id='c', cert=str(tmp_path / 'missing.crt'), key=key, names=['mta-sts.c.example'])]
    result = run_module(cert_coverage.main, dict(certificates=items))
    assert not result.get('failed') and result['changed'] is False
    complete = {c['id']: c['complete'] for c in result['certificates']}
    assert complete == {'a': True, 'b': False, 'c': False}
    assert 'a' in result['usable'] and 'c' not in result['usable']


def test_cert_coverage_fails_when_a_required_certificate_is_incomplete(run_module, tmp_path):
    cert, key = write_pair(tmp_path, 'a', 'mta-sts.a.example')
    items = [dict(id='b', cert=cert, key=key, names=['mta-sts.b.example'], source='acme')]
    result = run_module(cert_coverage.main, dict(certificates=items, require_complete_sources=['acme']))
    assert result['failed'] and result['msg'].startswith('1 certificate(s) cannot serve')
    assert result['certificates'][0]['id'] == 'b'
    assert not run_module(cert_coverage.main, dict(certificates=items)).get('failed')


def test_cert_coverage_names_a_file_it_cannot_read(run_module, tmp_path):
    cert, key = write_pair(tmp_path, 'a', 'mta-sts.a.example')
    items = [dict(id='a', cert=str(tmp_path), key=key, names=['mta-sts.a.example'])]
    result = run_module(cert_coverage.main, dict(certificates=items))
    assert result['failed'] and result['msg'].startswith('certificate a: cannot read')
