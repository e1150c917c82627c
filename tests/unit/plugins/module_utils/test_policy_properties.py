# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Property tests: render -> parse round trips, and the parsers never fail
with anything but the model's own error."""

from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    MAX_AGE_MAX,
    analyse_policy,
    mx_match,
    parse_policy,
    policy_id,
    render_policy,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    parse_sts_record,
    parse_tlsrpt_record,
    render_sts_record,
)

# CI runs a fixed sequence of examples (derandomize) so that a run is
# repeatable; HYPOTHESIS_PROFILE=explore searches new ones on every run.
settings.register_profile('repeatable', max_examples=300, derandomize=True, deadline=None)
settings.register_profile('explore', max_examples=3000, deadline=None)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'repeatable'))

label = st.from_regex(r'\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z')
# The last label starts with a letter, as top-level labels do: an all-digit
# name such as 0.0.0.0 is an IP address, which B5 refuses.
top = st.from_regex(r'\A[a-z][a-z0-9]{1,10}\Z')
host = st.tuples(st.lists(label, min_size=1, max_size=3), top).map(lambda parts: '.'.join(parts[0] + [parts[1]]))
pattern = st.one_of(host, host.map(lambda h: '*.' + h))
modes = st.sampled_from(['enforce', 'testing', 'none'])


@st.composite
def policies(draw):
    mode = draw(modes)
    mx = draw(st.lists(pattern, min_size=0 if mode == 'none' else 1, max_size=5, unique=True))
    max_age = draw(st.integers(min_value=0, max_value=MAX_AGE_MAX))
    return mode, mx, max_age


@given(policies())
def test_render_then_parse_gives_the_input(policy):
    mode, mx, max_age = policy
    text = render_policy(mode, mx, max_age)
    parsed = parse_policy(text)
    assert (parsed['mode'], parsed['mx'], parsed['max_age']) == (mode, mx, max_age)
    assert parsed['version'] == 'STSv1'
    assert parsed['extensions'] == {}
    assert [w for w in parsed['warnings'] if not w.startswith('rule B4 ')] == []
    assert parse_policy(text.encode('ascii')) == parsed
    assert policy_id(text) == policy_id(text.encode('ascii'))


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_parser_returns_or_raises_its_own_error(data):
    analysis = analyse_policy(data)  # never raises for text or bytes
    assert analysis.policy is None or analysis.policy['mode'] in ('enforce', 'testing', 'none')
    for strict in (True, False):
        try:
            result = parse_policy(data, strict=strict)
        except MtaStsError:
            continue
        assert isinstance(result['mx'], list)
        assert 0 <= result['max_age'] <= MAX_AGE_MAX


_line = st.tuples(st.sampled_from(['version', 'mode', 'mx', 'max_age', 'Mode', 'nmx', 'x-y', ' mx', 'mx ']),
                  st.sampled_from([':', ': ', ':\t', ' ', '']),
                  st.sampled_from(['STSv1', 'enforce', 'testing', 'none', '86400', '+5', 'a.example', '*.b.example',
                                   '192.0.2.1', 'a.example.', '', ' x ']),
                  st.sampled_from(['\r\n', '\n', '\r', '']))


@given(st.lists(_line, max_size=8))
def test_parser_on_policy_shaped_noise(lines):
    text = ''.join(k + sep + v + end for k, sep, v, end in lines)
    try:
        parse_policy(text, strict=False)
    except MtaStsError as exc:
        assert exc.rule


@given(st.one_of(st.text(max_size=120), st.binary(max_size=120),
                 st.text(max_size=60).map(lambda t: 'v=STSv1;' + t),
                 st.text(max_size=60).map(lambda t: 'v=TLSRPTv1;' + t)))
def test_record_parsers_return_or_raise_their_own_error(data):
    for parser in (parse_sts_record, parse_tlsrpt_record):
        try:
            parser(data)
        except MtaStsError:
            pass


@given(st.from_regex(r'\A[A-Za-z0-9]{1,32}\Z'))
def test_sts_record_round_trip(the_id):
    assert parse_sts_record(render_sts_record(the_id))['id'] == the_id


@given(host, host)
def test_wildcard_matches_exactly_one_label(suffix, extra):
    first = extra.split('.')[0]
    assert mx_match(first + '.' + suffix, ['*.' + suffix])
    assert not mx_match(extra + '.' + suffix, ['*.' + suffix])  # extra has 2+ labels
    assert not mx_match(suffix, ['*.' + suffix])
