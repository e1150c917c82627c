# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The policy file model: rules B1-B7, D1, A4 (ids) and the names in it."""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    MAX_AGE_MAX,
    analyse_policy,
    build_policy,
    mx_match,
    normalize_domain,
    normalize_mx_patterns,
    parse_policy,
    policy_id,
    policy_url,
    render_policy,
    validate_max_age,
    validate_policy_id,
)

GOOD = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\nmax_age: 604800\r\n'


def rules_of(text, severity=None):
    return sorted({p.rule for p in analyse_policy(text).problems if severity is None or p.severity == severity})


# ---------------------------------------------------------------------------
# B7: rendering


def test_render_is_exactly_b7():
    assert render_policy('enforce', ['mx1.example.com', '*.mx.example.net'], 604800) == GOOD


def test_render_keeps_mx_lines_in_none_mode():
    text = render_policy('none', ['mx1.example.com'], 86400)
    assert text == 'version: STSv1\r\nmode: none\r\nmx: mx1.example.com\r\nmax_age: 86400\r\n'


def test_render_none_without_mx_is_allowed():
    assert render_policy('none', [], 0) == 'version: STSv1\r\nmode: none\r\nmax_age: 0\r\n'


def test_render_normalises_and_deduplicates_mx():
    text = render_policy('testing', ['MX1.Example.COM.', 'mx1.example.com', 'mail.bücher.example'], 86400)
    assert text.splitlines()[2:5] == ['mx: mx1.example.com', 'mx: mail.xn--bcher-kva.example', 'max_age: 86400']
    assert text.isascii()


def test_render_then_strict_parse_has_no_problem():
    assert analyse_policy(GOOD).problems == []


@pytest.mark.parametrize('mode', ['enforce', 'testing'])
def test_render_refuses_no_mx_outside_none(mode):
    with pytest.raises(MtaStsError) as err:
        render_policy(mode, [], 86400)
    assert err.value.rule == 'B5'


# ---------------------------------------------------------------------------
# B1-B6: parsing, one row per rule and per "mistake seen" that is text


@pytest.mark.parametrize('text, rule, rejected', [
    # B1 line structure
    ('version: STSv1\r\nmode: testing\r\n\r\nmx: a.example\r\nmax_age: 86400\r\n', 'B1', False),
    ('version: STSv1\nmode testing\nmx: a.example\nmax_age: 86400\n', 'B1', True),
    ('version : STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n', 'B1', False),
    # trailing WSP after a field is in the grammar (sts-policy-field *WSP): a B7 note, not B1
    ('version: STSv1 \nmode: testing\nmx: a.example\nmax_age: 86400\n', 'B7', False),
    ('\ufeffversion: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n', 'B1', True),
    (b'\xef\xbb\xbfversion: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n', 'B1', True),
    (b'version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\nx: \xff\r\n', 'B1', False),
    ('', 'B1', True),
    # B2 version
    ('mode: testing\nmx: a.example\nmax_age: 86400\n', 'B2', True),
    ('version: STSv2\nmode: testing\nmx: a.example\nmax_age: 86400\n', 'B2', True),
    ('version: stsv1\nmode: testing\nmx: a.example\nmax_age: 86400\n', 'B2', True),
    ('version: STSv1\nversion: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n', 'B2', False),
    # B3 mode
    ('version: STSv1\nmx: a.example\nmax_age: 86400\n', 'B3', True),
    ('version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 86400\n', 'B3', True),
    ('version: STSv1\nmode: report\nmx: a.example\nmax_age: 86400\n', 'B3', True),
    ('version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 86400\n', 'B3', False),
    # B4 max_age
    ('version: STSv1\nmode: testing\nmx: a.example\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: +5\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 1e3\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: -1\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 00000000001\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 31557601\n', 'B4', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 3600\n', 'B4', False),
    ('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n', 'B4', False),
    # B5 mx
    ('version: STSv1\nmode: enforce\nmax_age: 86400\n', 'B5', True),
    ('version: STSv1\nmode: testing\nmax_age: 86400\n', 'B5', True),
    ('version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 86400\n', 'B5', False),
    ('version: STSv1\nmode: enforce\nmx: 192.0.2.25\nmax_age: 86400\n', 'B5', False),
    ('version: STSv1\nmode: enforce\nmx: 2001:db8::25\nmax_age: 86400\n', 'B5', False),
    ('version: STSv1\nmode: enforce\nmx: *mail.example.com\nmax_age: 86400\n', 'B5', False),
    ('version: STSv1\nmode: enforce\nmx: a.*.example.com\nmax_age: 86400\n', 'B5', False),
    ('version: STSv1\nmode: enforce\nmx: mail.bücher.example\nmax_age: 86400\n', 'B5', False),
    # B6 extensions
    ('version: STSv1\nmode: enforce\nnmx: mail.example.com\nmax_age: 86400\n', 'B5', True),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nnmx: b.example\n', 'B6', False),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nMode: enforce\n', 'B6', False),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nbad key: x\n', 'B6', False),
    ('version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n' + 'k' * 33 + ': x\n', 'B6', False),
])
def test_each_rule_is_reported(text, rule, rejected):
    analysis = analyse_policy(text)
    assert rule in {p.rule for p in analysis.problems}, [str(p) for p in analysis.problems]
    assert (analysis.policy is None) is rejected


@pytest.mark.parametrize('text', [
    GOOD,
    GOOD.replace('\r\n', '\n'),
    GOOD[:-2],  # last line break optional (B1)
    'version: STSv1\r\nmode: none\r\nmax_age: 0\r\n',
    'version:STSv1\r\nmode:\ttesting\r\nmx: a.example\r\nmax_age: 31557600\r\n',
    'max_age: 86400\r\nmx: a.example\r\nmode: testing\r\nversion: STSv1\r\n',  # order is free when reading
    'version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\next-1.x_y: some value\r\n',
])
def test_valid_policies_have_no_error(text):
    analysis = analyse_policy(text)
    assert analysis.errors == [], [str(p) for p in analysis.errors]
    assert analysis.policy is not None
    parse_policy(text)  # strict does not raise


@pytest.mark.parametrize('text, rule', [
    (GOOD.replace('\r\n', '\n'), 'B7'),
    (GOOD[:-2], 'B7'),
    ('max_age: 86400\r\nmx: a.example\r\nmode: testing\r\nversion: STSv1\r\n', 'B7'),
    ('version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\nnote: caf\u00e9\r\n', 'B7'),
])
def test_publish_deviations_are_warnings(text, rule):
    assert rule in rules_of(text, 'warning')
    assert rule not in rules_of(text, 'error')


def test_lenient_first_duplicate_wins_and_unknown_keys_ignored():
    text = 'version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 86400\nmax_age: 5\nfoo: bar\n'
    with pytest.raises(MtaStsError) as err:
        parse_policy(text)
    assert err.value.rule == 'B3'
    result = parse_policy(text, strict=False)
    assert result['mode'] == 'testing'
    assert result['max_age'] == 86400
    assert result['extensions'] == {'foo': 'bar'}
    assert any(w.startswith('rule B3 (RFC 8461 §3.2): ') for w in result['warnings'])
    assert any(w.startswith('rule B6 (RFC 8461 §3.2): ') for w in result['warnings'])


def test_lenient_skips_blank_lines_but_strict_refuses():
    text = 'version: STSv1\n\nmode: testing\nmx: a.example\nmax_age: 86400\n'
    assert parse_policy(text, strict=False)['mode'] == 'testing'
    with pytest.raises(MtaStsError) as err:
        parse_policy(text)
    assert err.value.rule == 'B1'


def test_strict_error_lists_every_problem():
    text = 'version: STSv2\nmode: Enforce\nmax_age: 1e3\n'
    with pytest.raises(MtaStsError) as err:
        parse_policy(text, strict=False)
    assert {'B2', 'B3', 'B4'} <= {p.rule for p in err.value.problems}
    assert 'B2' in str(err.value) and 'B3' in str(err.value) and 'B4' in str(err.value)


def test_parse_contract_keys():
    result = parse_policy(GOOD)
    assert result == {
        'version': 'STSv1', 'mode': 'enforce', 'mx': ['mx1.example.com', '*.mx.example.net'],
        'max_age': 604800, 'extensions': {}, 'warnings': [],
    }


def test_parse_refuses_non_text():
    with pytest.raises(MtaStsError):
        parse_policy(12)


def test_problem_lines_are_numbered():
    text = 'version: STSv1\nmode: testing\nmx: a.example\nmax_age: +5\n'
    problem = [p for p in analyse_policy(text).problems if p.rule == 'B4'][0]
    assert problem.line == 4
    assert 'line 4' in str(problem)


# ---------------------------------------------------------------------------
# B4 boundaries


@pytest.mark.parametrize('value, ok', [
    (0, True), (1, True), (86399, True), (31557600, True), (31557601, False), (-1, False),
    ('604800', True), ('+5', False), (True, False), (1.5, False), (None, False),
])
def test_max_age_boundaries(value, ok):
    if ok:
        assert validate_max_age(value) == int(value)
    else:
        with pytest.raises(MtaStsError) as err:
            validate_max_age(value, 'example.com')
        assert err.value.rule == 'B4'
        assert 'example.com' in str(err.value)


@pytest.mark.parametrize('value, ok', [('0', True), (str(MAX_AGE_MAX), True), (str(MAX_AGE_MAX + 1), False),
                                       ('9999999999', False), ('12345678901', False)])
def test_max_age_boundaries_in_files(value, ok):
    text = 'version: STSv1\nmode: testing\nmx: a.example\nmax_age: %s\n' % value
    assert ('B4' in rules_of(text, 'error')) is not ok


# ---------------------------------------------------------------------------
# Names and mx patterns (B5) and D1


@pytest.mark.parametrize('name, expected', [
    ('Example.COM', 'example.com'),
    ('example.com.', 'example.com'),
    ('bücher.example', 'xn--bcher-kva.example'),
    ('xn--bcher-kva.example', 'xn--bcher-kva.example'),
    ('a-b.example', 'a-b.example'),
])
def test_normalize_domain(name, expected):
    assert normalize_domain(name) == expected


@pytest.mark.parametrize('name', [
    '', 'localhost', '192.0.2.1', '::1', '[2001:db8::1]', 'a..example', '.example.com', 'example.com..',
    '-a.example', 'a-.example', 'under_score.example', 'sp ace.example', ' example.com', '*.example.com',
    'a' * 64 + '.example', 'x.' * 127 + 'example', None, 5,
])
def test_normalize_domain_refuses(name):
    with pytest.raises(MtaStsError) as err:
        normalize_domain(name)
    assert err.value.rule == 'B5'
    assert err.value.field == 'domain'


@pytest.mark.parametrize('pattern, expected', [
    ('*.example.com', '*.example.com'),
    ('*.Mail.Example.com.', '*.mail.example.com'),
    ('mx.example.com', 'mx.example.com'),
])
def test_mx_pattern_ok(pattern, expected):
    assert normalize_mx_patterns([pattern]) == [expected]


@pytest.mark.parametrize('pattern', ['*foo.example.com', 'a.*.example.com', '*.*.example.com', '*', '*.com.',
                                     '10.0.0.25', 'mx.example.com:25'])
def test_mx_pattern_refused(pattern):
    with pytest.raises(MtaStsError) as err:
        normalize_mx_patterns([pattern], 'example.com')
    assert err.value.rule == 'B5'
    assert err.value.field == 'mx[0]'
    assert err.value.domain == 'example.com'


def test_mx_patterns_must_be_a_list():
    with pytest.raises(MtaStsError):
        normalize_mx_patterns('mx.example.com')


@pytest.mark.parametrize('host, patterns, expected', [
    ('mail.example.com', ['mail.example.com'], True),
    ('MAIL.Example.com.', ['mail.example.com'], True),
    ('mail.example.com', ['*.example.com'], True),
    ('example.com', ['*.example.com'], False),
    ('a.b.example.com', ['*.example.com'], False),
    ('a.b.mx.example.net', ['*.mx.example.net'], False),
    ('mail.example.com', ['MAIL.EXAMPLE.COM'], True),
    ('mail.example.org', ['mail.example.com', '*.example.com'], False),
    ('xexample.com', ['*.example.com'], False),
    ('mail.bücher.example', ['*.xn--bcher-kva.example'], True),
    ('', ['*.example.com'], False),
    ('mail.example.com', [], False),
])
def test_mx_match_d1(host, patterns, expected):
    assert mx_match(host, patterns) is expected


def test_build_policy_names_field_and_rule():
    with pytest.raises(MtaStsError) as err:
        build_policy('example.com', 'enforce', ['mx1.example.com', '192.0.2.7'])
    message = str(err.value)
    assert 'example.com' in message and 'mx[1]' in message and 'B5' in message and 'Fix:' in message


@pytest.mark.parametrize('mode', ['Enforce', 'report', '', None])
def test_build_policy_refuses_mode(mode):
    with pytest.raises(MtaStsError) as err:
        build_policy('example.com', mode, ['mx.example.com'])
    assert err.value.rule == 'B3'


# ---------------------------------------------------------------------------
# Ids (A4, E1)


@pytest.mark.parametrize('value, ok', [
    ('a', True), ('A' * 32, True), ('A' * 33, False), ('', False), ('2026-11-29', False), ('a+b', False),
    ('a/b', False), ('id 1', False), ('é', False), (None, False),
])
def test_pinned_id(value, ok):
    if ok:
        assert validate_policy_id(value) == value
    else:
        with pytest.raises(MtaStsError) as err:
            validate_policy_id(value)
        assert err.value.rule == 'A4'


def test_policy_id_is_derived_from_bytes():
    the_id = policy_id(GOOD)
    assert the_id == policy_id(GOOD.encode('ascii'))
    assert validate_policy_id(the_id) == the_id
    assert len(the_id) == 32
    assert policy_id(GOOD.replace('604800', '604801')) != the_id
    assert policy_id(GOOD.replace('\r\n', '\n')) != the_id


def test_policy_url():
    assert policy_url('example.com') == 'https://mta-sts.example.com/.well-known/mta-sts.txt'
