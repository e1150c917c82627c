# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Change computation of the records module: current TXT records + wanted
value -> what to delete and add (rules A1, A2, A6, F2)."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._txt_change import (
    is_own_record,
    plan_txt,
    txt_from_value,
    txt_presentation,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import join_txt

STS = 'v=STSv1'
TLSRPT = 'v=TLSRPTv1'
NAME = '_mta-sts.example.com'


def rec(*strings):
    return tuple(s.encode('ascii') if isinstance(s, str) else s for s in strings)


def sts(policy_id):
    return rec('v=STSv1; id=%s' % policy_id)


@pytest.mark.parametrize('record, prefix, expected', [
    (rec('v=STSv1; id=a'), STS, True),
    (rec('v=STSv1;id=a'), STS, True),
    (rec('v=STSv1'), STS, True),  # broken attempts are ours too
    (rec('v=STSv1 id=a'), STS, True),
    (rec('v=STS', 'v1; id=a'), STS, True),  # A2: strings joined before the test
    (rec('v=STSv10; id=a'), STS, False),
    (rec('V=STSV1; id=a'), STS, False),  # A3: case-sensitive, someone else's
    (rec('google-site-verification=x'), STS, False),
    (rec('v=TLSRPTv1; rua=mailto:a@example.com'), STS, False),
    (rec('v=TLSRPTv1; rua=mailto:a@example.com'), TLSRPT, True),
    (rec('v=TLSRPTv1;rua=mailto:a@example.com'), TLSRPT, True),
    (rec('v=spf1 -all'), TLSRPT, False),
])
def test_is_own_record(record, prefix, expected):
    assert is_own_record(record, prefix) is expected


def test_create_when_nothing_is_there():
    plan = plan_txt(NAME, 'sts', STS, [], None, 'v=STSv1; id=new', 300)
    assert plan.changed
    assert plan.add == [sts('new')]
    assert plan.remove == []
    assert plan.after == [sts('new')]
    assert plan.ttl_after == 300
    assert not plan.retime


def test_unchanged_when_exactly_the_wanted_record_is_there():
    plan = plan_txt(NAME, 'sts', STS, [sts('same')], 300, 'v=STSv1; id=same', 300)
    assert not plan.changed
    assert plan.before == plan.after == [sts('same')]


def test_new_id_replaces_the_old_one():
    plan = plan_txt(NAME, 'sts', STS, [sts('old')], 300, 'v=STSv1; id=new', 300)
    assert plan.remove == [sts('old')]
    assert plan.add == [sts('new')]
    assert plan.after == [sts('new')]


def test_every_stale_sts_record_goes_and_exactly_one_remains():
    # A1: two v=STSv1 records mean no policy at all for senders.
    current = [sts('a'), sts('b'), rec('v=STSv1'), rec('hello')]
    plan = plan_txt(NAME, 'sts', STS, current, 300, 'v=STSv1; id=b', 300)
    assert plan.remove == [sts('a'), rec('v=STSv1')]
    assert plan.add == []
    assert plan.after == [rec('hello'), sts('b')]
    assert sum(is_own_record(r, STS) for r in plan.after) == 1


def test_a_duplicate_of_the_wanted_value_split_differently_is_removed():
    # Same joined value, different strings: two RRs for the DNS, two
    # policies for a sender (A1, A2). Keep the first, drop the other.
    current = [rec('v=STSv1; id=x'), rec('v=STSv1; ', 'id=x')]
    plan = plan_txt(NAME, 'sts', STS, current, 300, 'v=STSv1; id=x', 300)
    assert plan.remove == [rec('v=STSv1; ', 'id=x')]
    assert plan.add == []
    assert len(plan.after) == 1


def test_unrelated_records_survive_and_are_never_in_the_update():
    current = [rec('google-site-verification=abc'), rec('v=spf1 -all'), sts('old')]
    plan = plan_txt(NAME, 'sts', STS, current, 300, 'v=STSv1; id=new', 300)
    assert rec('google-site-verification=abc') not in plan.remove
    assert rec('v=spf1 -all') not in plan.remove
    assert plan.after[:2] == [rec('google-site-verification=abc'), rec('v=spf1 -all')]


@pytest.mark.parametrize('current, expected_remove, expected_after', [
    ([sts('a')], [sts('a')], []),
    ([sts('a'), sts('b'), rec('other')], [sts('a'), sts('b')], [rec('other')]),
    ([rec('other')], [], [rec('other')]),
    ([], [], []),
])
def test_absent_removes_only_our_records(current, expected_remove, expected_after):
    plan = plan_txt(NAME, 'sts', STS, current, 3600 if current else None, None, 300)
    assert plan.remove == expected_remove
    assert plan.add == []
    assert plan.after == expected_after
    assert not plan.retime  # a removal never re-times what stays
    assert plan.changed is bool(expected_remove)
    assert plan.ttl_after == (3600 if expected_after else None)


def test_other_ttl_retimes_the_rrset():
    plan = plan_txt(NAME, 'sts', STS, [rec('other'), sts('x')], 3600, 'v=STSv1; id=x', 300)
    assert plan.retime and plan.changed
    assert plan.add == [] and plan.remove == []
    assert plan.after == [rec('other'), sts('x')]
    assert plan.ttl_after == 300


def test_tlsrpt_plan_leaves_sts_and_others_alone():
    current = [rec('v=TLSRPTv1; rua=mailto:old@example.com'), rec('v=STSv1; id=x')]
    want = 'v=TLSRPTv1; rua=mailto:new@example.com'
    plan = plan_txt('_smtp._tls.example.com', 'tlsrpt', TLSRPT, current, 300, want, 300)
    assert plan.remove == [rec('v=TLSRPTv1; rua=mailto:old@example.com')]
    assert plan.add == [rec(want)]
    assert rec('v=STSv1; id=x') in plan.after


# ---------------------------------------------------------------------------
# Long values: 255-octet character-strings (A2)


@pytest.mark.parametrize('length', [1, 254, 255, 256, 510, 511, 1000])
def test_long_values_are_split_into_255_octet_strings_and_rejoin(length):
    value = 'v=TLSRPTv1; rua=' + ','.join('mailto:r%d@example.com' % i for i in range(200))
    value = value[:length]
    record = txt_from_value(value)
    assert all(1 <= len(s) <= 255 for s in record)
    assert [len(s) for s in record[:-1]] == [255] * (len(record) - 1)
    assert join_txt(record) == value
    assert len(record) == -(-length // 255)


def test_long_wanted_value_matches_the_same_value_stored_split_elsewhere():
    # The comparison is on the joined value (A2), so a record stored as
    # 100 + rest octets by another tool is already right.
    value = 'v=TLSRPTv1; rua=' + ','.join('mailto:r%d@example.com' % i for i in range(30))
    assert len(value) > 255
    stored = rec(value[:100], value[100:])
    plan = plan_txt('_smtp._tls.example.com', 'tlsrpt', TLSRPT, [stored], 300, value, 300)
    assert not plan.changed
    new = plan_txt('_smtp._tls.example.com', 'tlsrpt', TLSRPT, [], None, value, 300)
    assert new.add == [txt_from_value(value)]
    assert len(new.add[0]) == -(-len(value) // 255) >= 2
    assert len(new.add[0][0]) == 255


def test_presentation_and_diff_lines():
    plan = plan_txt(NAME, 'sts', STS, [rec('say "hi"\\', b'\xff')], 60, 'v=STSv1; id=n', 300)
    assert txt_presentation(rec('a', 'b')) == '"a" "b"'
    assert plan.zone_lines('before') == ['_mta-sts.example.com. 60 IN TXT "say \\"hi\\"\\\\" "\\255"']
    assert plan.zone_lines('after') == [
        '_mta-sts.example.com. 300 IN TXT "say \\"hi\\"\\\\" "\\255"',
        '_mta-sts.example.com. 300 IN TXT "v=STSv1; id=n"',
    ]
    assert plan.as_dict()['before'] == ['say "hi"\\\\xff']
