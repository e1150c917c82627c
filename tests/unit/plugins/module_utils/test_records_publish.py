# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Input semantics of the records module: which records each item manages
(policy_id A4/A6, tlsrpt_rua F3, state), checked before any network."""

from __future__ import annotations

import pytest

pytest.importorskip('dns')

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._records_publish import (  # noqa: E402  pylint: disable=wrong-import-position
    validate_items,
)


def params(**kwargs):
    base = {'domain': None, 'domains': None, 'policy_id': None, 'tlsrpt_rua': None, 'state': 'present', 'zone': None}
    base.update(kwargs)
    return base


def test_single_present_without_tlsrpt_leaves_tlsrpt_alone():
    (item,) = validate_items(params(domain='Example.COM.', policy_id='abc'))
    assert item.domain == 'example.com'
    assert item.sts_value == 'v=STSv1; id=abc'  # A6
    assert item.manage_tlsrpt is False


def test_rua_list_makes_the_record_and_empty_list_removes_it():
    (item,) = validate_items(params(domain='example.com', policy_id='abc', tlsrpt_rua=['mailto:a@example.com', 'https://r.example.com/x']))
    assert item.manage_tlsrpt and item.tlsrpt_value == 'v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x'
    (item,) = validate_items(params(domain='example.com', policy_id='abc', tlsrpt_rua=[]))
    assert item.manage_tlsrpt and item.tlsrpt_value is None


def test_absent_removes_both():
    (item,) = validate_items(params(domain='example.com', state='absent'))
    assert item.sts_value is None and item.manage_tlsrpt and item.tlsrpt_value is None


@pytest.mark.parametrize('kwargs, rule, words', [
    ({'domain': 'example.com'}, 'A4', 'policy_id is required'),
    ({'domain': 'example.com', 'policy_id': 'has-dash'}, 'A4', 'letters or digits'),
    ({'domain': 'example.com', 'policy_id': 'a' * 33}, 'A4', 'letters or digits'),
    ({'domain': 'example.com', 'policy_id': 'x', 'tlsrpt_rua': ['postmaster@example.com']}, 'F5', 'mailto:'),
    ({'domain': '192.0.2.1', 'policy_id': 'x'}, 'B5', 'IP address'),
    ({'domain': 'example.com', 'state': 'absent', 'tlsrpt_rua': ['mailto:a@example.com']}, None, 'removes the TLS-RPT record too'),
])
def test_bad_single_input(kwargs, rule, words):
    with pytest.raises(MtaStsError) as err:
        validate_items(params(**kwargs))
    assert err.value.rule == rule
    assert words in str(err.value)
    assert 'example.com' in str(err.value) or '192.0.2.1' in str(err.value)


def test_batch_items_inherit_top_level_values_and_override_them():
    items = validate_items(params(
        policy_id='shared', tlsrpt_rua=['mailto:r@example.net'], zone='example.net',
        domains=[
            {'domain': 'a.example.net'},
            {'domain': 'b.example.net', 'policy_id': 'own', 'tlsrpt_rua': None, 'state': None, 'zone': None},
            {'domain': 'c.example.org', 'state': 'absent', 'tlsrpt_rua': [], 'zone': 'example.org'},
        ]))
    assert [i.sts_value for i in items] == ['v=STSv1; id=shared', 'v=STSv1; id=own', None]
    assert [i.tlsrpt_value for i in items] == ['v=TLSRPTv1; rua=mailto:r@example.net'] * 2 + [None]
    assert [i.zone_option for i in items] == ['example.net', 'example.net', 'example.org']


def test_batch_lists_every_bad_item_and_duplicates():
    with pytest.raises(MtaStsError) as err:
        validate_items(params(domains=[
            {'domain': 'ok.example', 'policy_id': 'x'},
            {'domain': 'bad.example', 'policy_id': 'x+y'},
            {'domain': 'OK.example.', 'policy_id': 'x'},
            {'domain': 'nopolicy.example'},
        ]))
    text = str(err.value)
    assert text.startswith('3 invalid domains, nothing changed')
    assert 'bad.example' in text and "'x+y'" in text
    assert 'ok.example: listed twice (domains[0] and domains[2])' in text
    assert 'nopolicy.example' in text
