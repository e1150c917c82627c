# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest
import trustme

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._certs import inspect_certificate, name_covered

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.mark.parametrize('name, sans, covered', [
    ('mta-sts.example.com', ['mta-sts.example.com'], True),
    ('mta-sts.example.com', ['MTA-STS.Example.COM'], True),
    ('mta-sts.example.com', ['*.example.com'], True),                # C1: whole left-most label
    ('mta-sts.a.example.com', ['*.example.com'], False),             # one label only
    ('example.com', ['*.example.com'], False),
    ('mta-sts.example.com', ['mta*.example.com'], False),            # partial wildcard: no
    ('mta-sts.example.com', ['www.example.com', 'example.com'], False),
    ('mta-sts.example.com', [], False),
])
def test_name_covered(name, sans, covered):
    assert name_covered(name, sans) is covered


@pytest.fixture(scope='module')
def ca():
    return trustme.CA()


def pem(leaf):
    return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()


def test_complete_certificate(ca):
    cert, key = pem(ca.issue_cert('mta-sts.a.example', 'mta-sts.b.example'))
    result = inspect_certificate(cert, key, ['mta-sts.a.example', 'MTA-STS.b.example'], now=NOW)
    assert result['complete'] and result['usable'] and result['key_matches']
    assert result['missing'] == [] and result['problems'] == []
    assert result['renew'] is False
    assert result['days_left'] > 300


def test_missing_name_is_usable_for_the_others(ca):
    cert, key = pem(ca.issue_cert('mta-sts.a.example'))
    result = inspect_certificate(cert, key, ['mta-sts.a.example', 'mta-sts.c.example'], now=NOW)
    assert result['usable'] and not result['complete'] and result['renew']
    assert result['covered'] == ['mta-sts.a.example']
    assert result['missing'] == ['mta-sts.c.example']
    assert 'C1' in result['problems'][0] and 'mta-sts.c.example' in result['problems'][0]


def test_wrong_key(ca):
    cert, dummy = pem(ca.issue_cert('mta-sts.a.example'))
    dummy, other_key = pem(ca.issue_cert('mta-sts.a.example'))
    result = inspect_certificate(cert, other_key, ['mta-sts.a.example'], now=NOW)
    assert not result['key_matches'] and not result['usable']
    assert 'does not belong' in ' '.join(result['problems'])


def test_expired_and_renewal_window(ca):
    cert, key = pem(ca.issue_cert('mta-sts.a.example'))
    later = datetime.datetime(3001, 1, 1, tzinfo=datetime.timezone.utc)  # trustme: valid to 3000
    result = inspect_certificate(cert, key, ['mta-sts.a.example'], now=later)
    assert not result['usable'] and 'not valid now' in result['problems'][0]
    soon = inspect_certificate(cert, key, ['mta-sts.a.example'], now=NOW, min_days=10 ** 6)
    assert soon['complete'] and soon['renew']


@pytest.mark.parametrize('cert, key, problem', [
    (None, None, 'certificate file does not exist'),
    (b'not a certificate', None, 'not PEM'),
])
def test_missing_or_garbage(cert, key, problem):
    result = inspect_certificate(cert, key, ['mta-sts.a.example'], now=NOW)
    assert not result['usable'] and problem in result['problems'][0]


def test_missing_key(ca):
    cert, dummy = pem(ca.issue_cert('mta-sts.a.example'))
    result = inspect_certificate(cert, None, ['mta-sts.a.example'], now=NOW)
    assert not result['usable'] and 'the private key file does not exist' in result['problems']
