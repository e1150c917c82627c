# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The _mta-sts (rules A1-A7) and _smtp._tls (F1-F5) TXT records."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    discover_sts,
    discover_tlsrpt,
    join_txt,
    parse_sts_record,
    parse_tlsrpt_record,
    render_sts_record,
    render_tlsrpt_record,
    split_txt,
    sts_record,
    tlsrpt_record,
    validate_rua,
)

# ---------------------------------------------------------------------------
# _mta-sts


@pytest.mark.parametrize('text, expected_id', [
    ('v=STSv1; id=20261129T1200', '20261129T1200'),
    ('v=STSv1;id=abc', 'abc'),
    ('v=STSv1; id=abc;', 'abc'),
    ('v=STSv1 ;\tid=abc ; ', 'abc'),
    ('v=STSv1; ext=val; id=abc', 'abc'),  # A3: field order after v is free
    ('v=STSv1; id=' + 'a' * 32, 'a' * 32),
    ('v=STSv1; id=first; id=second', 'first'),  # A5: the first wins
])
def test_sts_record_valid(text, expected_id):
    assert parse_sts_record(text)['id'] == expected_id


@pytest.mark.parametrize('text, rule', [
    ('v=STSv1', 'A3'),
    ('v=STSv1;', 'A3'),
    ('v=stsv1; id=abc', 'A3'),
    ('id=abc; v=STSv1', 'A3'),
    ('v=STSv1; id', 'A3'),
    ('v=STSv1;; id=abc', 'A3'),
    ('v=STSv1; ext=1', 'A4'),
    ('v=STSv1; id=', 'A4'),
    ('v=STSv1; id=' + 'a' * 33, 'A4'),
    ('v=STSv1; id=2026-11-29', 'A4'),
    ('v=STSv1; id=a+b/c', 'A4'),
    ('v=STSv1; id=abc; _ext=1', 'A5'),
    ('v=STSv1; id=abc; ext=a b', 'A5'),
    ('v=STSv1; id=abc; ' + 'e' * 33 + '=1', 'A5'),
    ('v=STSv1; id=abc; note=caf\u00e9', 'A2'),
])
def test_sts_record_invalid(text, rule):
    with pytest.raises(MtaStsError) as err:
        parse_sts_record(text)
    assert err.value.rule == rule, str(err.value)


def test_sts_record_extensions_kept_and_a6_warning():
    parsed = parse_sts_record('v=STSv1; id=abc; foo=bar.baz')
    assert parsed['extensions'] == {'foo': 'bar.baz'}
    assert any(w.startswith('rule A6 (RFC 8461 §3.1): ') for w in parsed['warnings'])
    assert parse_sts_record('v=STSv1; id=abc')['warnings'] == []


def test_render_sts_record_a6():
    assert render_sts_record('abc123') == 'v=STSv1; id=abc123'
    assert sts_record('example.com', 'abc') == {'name': '_mta-sts.example.com', 'type': 'TXT',
                                                'value': 'v=STSv1; id=abc'}
    with pytest.raises(MtaStsError) as err:
        render_sts_record('a-b', 'example.com')
    assert err.value.rule == 'A4' and err.value.domain == 'example.com'


@pytest.mark.parametrize('records, expected_id, rules', [
    (['v=STSv1; id=one'], 'one', []),
    (['v=spf1 -all', 'v=STSv1; id=one', 'hello'], 'one', []),  # A1: others ignored
    ([['v=STSv1; ', 'id=one']], 'one', []),  # A2: strings joined, no space added
    ([[b'v=STSv1; i', b'd=one']], 'one', []),
    (['v=STSv1; id=one', 'v=STSv1; id=two'], None, ['A1']),  # two records: no policy
    (['v=STSv10; id=one'], None, ['A1']),
    (['v=STSv1 ; id=one'], 'one', []),  # *WSP before ";" is the grammar's (G1): a warning only
    ([], None, ['A1']),
    (['v=STSv1; id=a-b'], None, ['A4']),
    ([[b'v=STSv1; id=abc; x=\xc3\xa9']], None, ['A2']),
])
def test_discover_sts(records, expected_id, rules):
    parsed, problems = discover_sts(records)
    assert (parsed or {}).get('id') == expected_id
    assert [p.rule for p in problems if p.severity == 'error'] == rules


def test_join_txt_refuses_non_ascii():
    with pytest.raises(MtaStsError) as err:
        join_txt([b'v=STSv1; id=\xff'])
    assert err.value.rule == 'A2'
    with pytest.raises(MtaStsError):
        join_txt(['v=STSv1; id=\xe9'])


@pytest.mark.parametrize('strings, shown', [
    ([b'v=STSv1; ', b'id=1'], 'v=STSv1; id=1'),          # joined with nothing in between (A2)
    ((b'v=STSv1; id=\xff', b'x'), 'v=STSv1; id=\\xffx'),  # a non-ASCII byte shows as an escape
    (b'v=TLSRPTv1', 'v=TLSRPTv1'),                      # one string, not a list
    (['v=STSv1; id=\xe9'], 'v=STSv1; id=\xe9'),          # text is kept as it is
    ([], ''),
])
def test_join_txt_lenient_shows_every_record_without_raising(strings, shown):
    assert join_txt(strings, lenient=True) == shown


@pytest.mark.parametrize('length', [0, 1, 254, 255, 256, 510, 511, 1000])
def test_split_and_join_txt(length):
    value = ''.join(chr(33 + i % 90) for i in range(length))
    parts = split_txt(value)
    assert all(len(p) <= 255 for p in parts)
    assert join_txt(parts) == value
    assert len(parts) == max(1, -(-length // 255))


# ---------------------------------------------------------------------------
# _smtp._tls


@pytest.mark.parametrize('text, rua', [
    ('v=TLSRPTv1; rua=mailto:tlsrpt@example.com', ['mailto:tlsrpt@example.com']),
    ('v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/v1',
     ['mailto:a@example.com', 'https://r.example.com/v1']),
    ('v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.com;',
     ['mailto:a@example.com', 'mailto:b@example.com']),
    ('v=TLSRPTv1; rua=mailto:a%2Cb@example.com', ['mailto:a%2Cb@example.com']),
    ('v=TLSRPTv1; ext=1; rua=mailto:a@example.com', ['mailto:a@example.com']),
])
def test_tlsrpt_valid(text, rua):
    assert parse_tlsrpt_record(text)['rua'] == rua


@pytest.mark.parametrize('text, rule', [
    ('v=TLSRPTv1', 'F1'),
    ('v=tlsrptv1; rua=mailto:a@example.com', 'F1'),
    ('v=TLSRPTv1; ruf=mailto:a@example.com', 'F3'),
    ('v=TLSRPTv1; rua=postmaster@example.com', 'F5'),  # the classic mistake
    ('v=TLSRPTv1; rua=http://r.example.com/', 'F3'),
    ('v=TLSRPTv1; rua=ftp://r.example.com/', 'F3'),
    ('v=TLSRPTv1; rua=mailto:a!b@example.com', 'F3'),
    ('v=TLSRPTv1; rua=mailto:a%zz@example.com', 'F3'),
    ('v=TLSRPTv1; rua=mailto:', 'F3'),
    ('v=TLSRPTv1; rua=https://', 'F3'),
    ('v=TLSRPTv1; rua=mailto:a@example.com,', 'F3'),
    ('v=TLSRPTv1; rua=mailto:a@example.com; _bad=1', 'F4'),
])
def test_tlsrpt_invalid(text, rule):
    with pytest.raises(MtaStsError) as err:
        parse_tlsrpt_record(text)
    assert err.value.rule == rule, str(err.value)


@pytest.mark.parametrize('records, rua, rules', [
    (['v=TLSRPTv1; rua=mailto:a@example.com'], ['mailto:a@example.com'], []),
    ([['v=TLSRPTv1; rua=mai', 'lto:a@example.com']], ['mailto:a@example.com'], []),  # F2: joined
    (['v=TLSRPTv1; rua=mailto:a@example.com', 'v=TLSRPTv1; rua=mailto:b@example.com'], None, ['F2']),
    (['v=spf1 -all'], None, []),  # none: a warning, not an error
    (['v=TLSRPTv1; rua=tlsrpt@example.com'], None, ['F5']),
])
def test_discover_tlsrpt(records, rua, rules):
    parsed, problems = discover_tlsrpt(records)
    assert (parsed or {}).get('rua') == rua
    assert [p.rule for p in problems if p.severity == 'error'] == rules


def test_render_tlsrpt():
    assert render_tlsrpt_record(['mailto:a@example.com', 'https://r.example.com/x']) == \
        'v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x'
    assert tlsrpt_record('example.com', 'mailto:a@example.com')['name'] == '_smtp._tls.example.com'
    with pytest.raises(MtaStsError) as err:
        render_tlsrpt_record([], 'example.com')
    assert err.value.rule == 'F3'


@pytest.mark.parametrize('uri, hint_part', [
    ('postmaster@example.com', 'mailto:postmaster@example.com'),
    ('mailto:a,b@example.com', '%2C'),
    ('mailto:a;b@example.com', '%3B'),
])
def test_rua_errors_say_how_to_fix(uri, hint_part):
    with pytest.raises(MtaStsError) as err:
        validate_rua(uri, 'example.com')
    assert hint_part in str(err.value)
    assert 'example.com' in str(err.value)
