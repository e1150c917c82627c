# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ABNF audit: every production of RFC 8461 section 3.1 (the _mta-sts TXT
record), section 3.2 (the policy file) and RFC 8460 section 3 (the TLS-RPT
record), in strict and in lenient parsing.

Each row says whether strict parsing (the grammar, plus the MUSTs of the
prose) and lenient parsing (what a tolerant sender still acts on) accept
the input. Where the prose and the ABNF differ, the choice and its reason
are in docs/rules.md ("Grammar notes"); the rows that depend on such a
choice carry its number (G1, G2...) in their id.
"""

from __future__ import annotations

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import parse_policy
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    discover_sts,
    discover_tlsrpt,
    parse_sts_record,
    parse_tlsrpt_record,
    select_records,
)

BOTH = (True, True)       # strict and lenient accept
NEITHER = (False, False)  # both refuse
LENIENT = (False, True)   # only lenient accepts


def outcome(parse, value, strict):
    try:
        return True, parse(value, strict=strict)
    except MtaStsError as exc:
        assert exc.rule, 'every refusal names its rule: %s' % exc
        return False, exc


def check(parse, value, expected):
    strict_ok, strict_result = outcome(parse, value, True)
    lenient_ok, lenient_result = outcome(parse, value, False)
    assert (strict_ok, lenient_ok) == expected, 'strict: %s / lenient: %s' % (strict_result, lenient_result)
    if strict_ok and lenient_ok:
        # what strict accepts, lenient reads the same way
        assert {k: v for k, v in strict_result.items() if k != 'warnings'} == \
            {k: v for k, v in lenient_result.items() if k != 'warnings'}
    if expected == LENIENT:
        # lenient says what it tolerated
        assert lenient_result['warnings']
    return lenient_result if lenient_ok else None


# ---------------------------------------------------------------------------
# RFC 8461 section 3.1: the _mta-sts TXT record
#
#   sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
#   sts-field       = sts-id / sts-extension
#   sts-field-delim = *WSP ";" *WSP
#   sts-version     = %s"v=STSv1"
#   sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
#   sts-extension   = sts-ext-name "=" sts-ext-value
#   sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
#   sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)

EXT_VALUE_CHARS = ''.join(chr(c) for c in range(0x21, 0x7f) if chr(c) not in '=;')

STS_CASES = [
    # sts-version and sts-field-delim
    ('canonical', 'v=STSv1; id=abc123', BOTH, 'abc123'),
    ('delim-no-wsp', 'v=STSv1;id=abc123', BOTH, 'abc123'),
    ('delim-wsp-before-G1', 'v=STSv1 ;id=abc123', BOTH, 'abc123'),
    ('delim-htab', 'v=STSv1;\tid=abc123', BOTH, 'abc123'),
    ('delim-many-wsp', 'v=STSv1 \t ;  \t id=abc123', BOTH, 'abc123'),
    ('trailing-delim', 'v=STSv1; id=abc123;', BOTH, 'abc123'),
    ('trailing-delim-wsp', 'v=STSv1; id=abc123; \t', BOTH, 'abc123'),
    ('trailing-wsp-delim', 'v=STSv1; id=abc123 ;', BOTH, 'abc123'),
    ('version-only', 'v=STSv1', NEITHER, None),
    ('version-delim-only', 'v=STSv1;', NEITHER, None),
    ('version-delim-wsp-only', 'v=STSv1; ', NEITHER, None),
    ('version-case', 'v=stsv1; id=abc123', NEITHER, None),
    ('version-key-case', 'V=STSv1; id=abc123', NEITHER, None),
    ('version-suffix', 'v=STSv1x; id=abc123', NEITHER, None),
    ('version-not-first', 'id=abc123; v=STSv1', NEITHER, None),
    ('leading-wsp', ' v=STSv1; id=abc123', NEITHER, None),
    ('no-delim', 'v=STSv1 id=abc123', NEITHER, None),
    ('double-delim', 'v=STSv1; id=abc123;;', LENIENT, 'abc123'),
    ('empty-field-inside', 'v=STSv1;; id=abc123', LENIENT, 'abc123'),
    ('trailing-wsp-no-delim', 'v=STSv1; id=abc123 ', LENIENT, 'abc123'),
    ('trailing-htab-no-delim', 'v=STSv1; id=abc123\t', LENIENT, 'abc123'),
    # sts-id
    ('id-32', 'v=STSv1; id=' + 'a1' * 16, BOTH, 'a1' * 16),
    ('id-1', 'v=STSv1; id=Z', BOTH, 'Z'),
    ('id-33', 'v=STSv1; id=' + 'a' * 33, NEITHER, None),
    ('id-empty', 'v=STSv1; id=', NEITHER, None),
    ('id-hyphen', 'v=STSv1; id=2024-01', NEITHER, None),
    ('id-plus-slash', 'v=STSv1; id=a+b/c', NEITHER, None),
    ('id-missing', 'v=STSv1; foo=bar', NEITHER, None),
    ('id-key-case', 'v=STSv1; ID=abc123', NEITHER, None),
    ('id-wsp-around-equals', 'v=STSv1; id = abc123', NEITHER, None),
    ('id-wsp-inside', 'v=STSv1; id=abc 123', NEITHER, None),
    ('id-twice-first-wins', 'v=STSv1; id=first1; id=second2', BOTH, 'first1'),
    ('id-after-extension', 'v=STSv1; ext=1; id=abc123', BOTH, 'abc123'),
    # sts-extension
    ('ext-name-32', 'v=STSv1; id=abc; a' + 'b' * 31 + '=1', BOTH, 'abc'),
    ('ext-name-punct', 'v=STSv1; id=abc; x_y-z.w=1', BOTH, 'abc'),
    ('ext-name-digit-first', 'v=STSv1; id=abc; 1x=1', BOTH, 'abc'),
    ('ext-name-v', 'v=STSv1; id=abc; v=STSv1', BOTH, 'abc'),
    ('ext-value-all-chars', 'v=STSv1; id=abc; e=' + EXT_VALUE_CHARS, BOTH, 'abc'),
    ('ext-name-33', 'v=STSv1; id=abc; a' + 'b' * 32 + '=1', LENIENT, 'abc'),
    ('ext-name-underscore-first', 'v=STSv1; id=abc; _e=1', LENIENT, 'abc'),
    ('ext-name-empty', 'v=STSv1; id=abc; =1', LENIENT, 'abc'),
    ('ext-value-empty', 'v=STSv1; id=abc; e=', LENIENT, 'abc'),
    ('ext-value-equals', 'v=STSv1; id=abc; e=a=b', LENIENT, 'abc'),
    ('ext-value-space', 'v=STSv1; id=abc; e=a b', LENIENT, 'abc'),
    ('ext-value-control', 'v=STSv1; id=abc; e=a\x7fb', LENIENT, 'abc'),
    ('ext-no-equals', 'v=STSv1; id=abc; junk', LENIENT, 'abc'),
    # US-ASCII only (section 3.1 prose; the ABNF has no byte above 0x7e)
    ('non-ascii', 'v=STSv1; id=abc; e=\u00e9', NEITHER, None),
]


@pytest.mark.parametrize('name, text, expected, record_id', STS_CASES, ids=[c[0] for c in STS_CASES])
def test_sts_record_grammar(name, text, expected, record_id):
    result = check(parse_sts_record, text, expected)
    if result is not None:
        assert result['id'] == record_id


# Character-strings (section 3.1: a record of several strings is read as
# their concatenation, nothing added).
STRING_CASES = [
    ('two-strings', [b'v=STSv1; ', b'id=abc123'], BOTH, 'abc123'),
    ('split-inside-version', [b'v=ST', b'Sv1; id=abc123'], BOTH, 'abc123'),
    ('split-inside-id', [b'v=STSv1; id=abc', b'123'], BOTH, 'abc123'),
    ('split-before-space', [b'v=STSv1;', b' id=abc123'], BOTH, 'abc123'),
    ('empty-strings', [b'', b'v=STSv1; id=abc123', b''], BOTH, 'abc123'),
    ('full-255-string', [b'v=STSv1; id=abc123; e=' + b'x' * 233, b'y' * 40], BOTH, 'abc123'),
    ('joined-id-too-long', [b'v=STSv1; id=' + b'a' * 20, b'b' * 13], NEITHER, None),
    ('no-space-added', [b'v=STSv1;', b'id=abc', b'123'], BOTH, 'abc123'),
    ('non-ascii-byte', [b'v=STSv1; id=abc123', b'\xff'], NEITHER, None),
]


@pytest.mark.parametrize('name, strings, expected, record_id', STRING_CASES, ids=[c[0] for c in STRING_CASES])
def test_sts_record_character_strings(name, strings, expected, record_id):
    result = check(parse_sts_record, strings, expected)
    if result is not None:
        assert result['id'] == record_id
    parsed, problems = discover_sts([strings])
    assert (parsed is not None) == expected[0]
    if parsed is not None:
        assert parsed['id'] == record_id


@pytest.mark.parametrize('records, selected', [
    (['v=STSv1; id=a', 'v=spf1 -all', 'google-site-verification=x'], ['v=STSv1; id=a']),
    (['v=STSv1 ; id=a'], ['v=STSv1 ; id=a']),          # G1: *WSP before ";" is the grammar's
    (['v=STSv1\t;id=a'], ['v=STSv1\t;id=a']),
    (['v=STSv10; id=a', 'v=STSv1x;id=a'], []),          # another version is not this one
    (['v=STSv1'], ['v=STSv1']),                          # kept, so that A3 is reported
    ([' v=STSv1; id=a'], []),
])
def test_sts_record_selection(records, selected):
    assert select_records(records, 'v=STSv1') == selected


def test_record_that_some_senders_discard_is_valid_with_a_warning():
    parsed, problems = discover_sts(['v=STSv1 ; id=abc123'])
    assert parsed['id'] == 'abc123'
    assert any(p.rule == 'A1' and p.severity == 'warning' and 'begin with' in p.message for p in problems)


# ---------------------------------------------------------------------------
# RFC 8460 section 3: the TLS-RPT record
#
#   tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
#   field-delim      = *WSP ";" *WSP
#   tlsrpt-field     = tlsrpt-rua / tlsrpt-extension
#   tlsrpt-version   = %s"v=TLSRPTv1"
#   tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
#   tlsrpt-uri       = URI   ; "," "!" ";" percent-encoded
#   tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value  (as in RFC 8461)

MAILTO = 'mailto:tlsrpt@example.com'
HTTPS = 'https://reports.example.com/v1'

TLSRPT_CASES = [
    ('canonical', 'v=TLSRPTv1; rua=' + MAILTO, BOTH, [MAILTO]),
    ('no-wsp', 'v=TLSRPTv1;rua=' + MAILTO, BOTH, [MAILTO]),
    ('wsp-before-delim-G1', 'v=TLSRPTv1 ; rua=' + HTTPS, BOTH, [HTTPS]),
    ('trailing-delim', 'v=TLSRPTv1; rua=%s; ' % MAILTO, BOTH, [MAILTO]),
    ('two-uris', 'v=TLSRPTv1; rua=%s,%s' % (MAILTO, HTTPS), BOTH, [MAILTO, HTTPS]),
    ('wsp-around-comma', 'v=TLSRPTv1; rua=%s \t, %s' % (MAILTO, HTTPS), BOTH, [MAILTO, HTTPS]),
    ('encoded-comma', 'v=TLSRPTv1; rua=mailto:a%2Cb@example.com', BOTH, ['mailto:a%2Cb@example.com']),
    ('mailto-query', 'v=TLSRPTv1; rua=mailto:r@example.com?subject=tls', BOTH, ['mailto:r@example.com?subject=tls']),
    ('https-port-query', 'v=TLSRPTv1; rua=https://r.example.com:8443/p?a=1', BOTH,
     ['https://r.example.com:8443/p?a=1']),
    ('scheme-case', 'v=TLSRPTv1; rua=MAILTO:r@example.com', BOTH, ['MAILTO:r@example.com']),
    ('extension-first', 'v=TLSRPTv1; ext=1; rua=' + MAILTO, BOTH, [MAILTO]),
    ('rua-twice-first-wins', 'v=TLSRPTv1; rua=%s; rua=%s' % (MAILTO, HTTPS), BOTH, [MAILTO]),
    ('other-scheme-beside-G3', 'v=TLSRPTv1; rua=%s,ftp://r.example.com/x' % MAILTO, BOTH,
     [MAILTO, 'ftp://r.example.com/x']),
    ('version-only', 'v=TLSRPTv1', NEITHER, None),
    ('version-delim-only', 'v=TLSRPTv1;', NEITHER, None),
    ('version-case', 'v=tlsrptv1; rua=' + MAILTO, NEITHER, None),
    ('no-rua', 'v=TLSRPTv1; ext=1', NEITHER, None),
    ('rua-empty', 'v=TLSRPTv1; rua=', NEITHER, None),
    ('rua-no-scheme', 'v=TLSRPTv1; rua=postmaster@example.com', NEITHER, None),
    ('rua-empty-item', 'v=TLSRPTv1; rua=%s,,%s' % (MAILTO, HTTPS), NEITHER, None),
    ('rua-trailing-comma', 'v=TLSRPTv1; rua=%s,' % MAILTO, NEITHER, None),
    ('rua-bang', 'v=TLSRPTv1; rua=mailto:a!b@example.com', NEITHER, None),
    ('rua-space-inside', 'v=TLSRPTv1; rua=mailto:a b@example.com', NEITHER, None),
    ('rua-bad-escape', 'v=TLSRPTv1; rua=mailto:a%zzb@example.com', NEITHER, None),
    ('rua-non-ascii', 'v=TLSRPTv1; rua=mailto:\u00e9@example.com', NEITHER, None),
    ('only-other-scheme-G3', 'v=TLSRPTv1; rua=ftp://r.example.com/x', NEITHER, None),
    ('https-without-host', 'v=TLSRPTv1; rua=https:///x', NEITHER, None),
    ('mailto-without-address', 'v=TLSRPTv1; rua=mailto:', NEITHER, None),
    ('wsp-after-equals', 'v=TLSRPTv1; rua= ' + MAILTO, LENIENT, [MAILTO]),
    ('trailing-wsp-no-delim', 'v=TLSRPTv1; rua=%s ' % MAILTO, LENIENT, [MAILTO]),
    ('bad-extension', 'v=TLSRPTv1; rua=%s; e=a b' % MAILTO, LENIENT, [MAILTO]),
    ('double-delim', 'v=TLSRPTv1; rua=%s;;' % MAILTO, LENIENT, [MAILTO]),
]


@pytest.mark.parametrize('name, text, expected, rua', TLSRPT_CASES, ids=[c[0] for c in TLSRPT_CASES])
def test_tlsrpt_record_grammar(name, text, expected, rua):
    result = check(parse_tlsrpt_record, text, expected)
    if result is not None:
        assert result['rua'] == rua


def test_tlsrpt_other_scheme_is_a_warning():
    parsed, problems = discover_tlsrpt(['v=TLSRPTv1; rua=%s,ftp://r.example.com/x' % MAILTO])
    assert parsed['rua'] == [MAILTO, 'ftp://r.example.com/x']
    assert any(p.rule == 'F3' and p.severity == 'warning' and 'ftp://r.example.com/x' in p.message for p in problems)


def test_tlsrpt_character_strings():
    parsed, _problems = discover_tlsrpt([[b'v=TLSRPTv1; rua=mailto:tls', b'rpt@example.com']])
    assert parsed['rua'] == [MAILTO]


# ---------------------------------------------------------------------------
# RFC 8461 section 3.2: the policy file
#
#   sts-policy-record   = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP) [sts-policy-term]
#   sts-policy-field-delim = ":" *WSP
#   sts-policy-version  = %s"version" ":" *WSP %s"STSv1"
#   sts-policy-mode     = %s"mode" ":" *WSP (%s"testing" / %s"enforce" / %s"none")
#   sts-policy-mx       = %s"mx" ":" *WSP ["*."] Domain          ; Domain from RFC 5321
#   sts-policy-max-age  = %s"max_age" ":" *WSP 1*10(DIGIT)
#   sts-policy-extension = sts-policy-ext-name ":" *WSP sts-policy-ext-value
#   sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
#   sts-policy-term     = LF / CRLF
#   sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
#   sts-policy-vchar    = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4


def policy(*lines, term='\r\n', final=True, version='version: STSv1', mode='mode: enforce',
           mx=('mx: mail.example.com',), max_age='max_age: 604800'):
    fields = [line for line in (version, mode) if line is not None] + list(mx)
    if max_age is not None:
        fields.append(max_age)
    fields.extend(lines)
    text = term.join(fields)
    return text + term if final else text


POLICY_CASES = [
    # sts-policy-term and the record
    ('crlf', policy(), BOTH),
    ('lf-G2', policy(term='\n'), BOTH),
    ('mixed-terms', 'version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 604800\n', BOTH),
    ('no-final-term', policy(final=False), BOTH),
    ('no-final-term-lf', policy(term='\n', final=False), BOTH),
    ('cr-only', policy(term='\r'), NEITHER),
    ('empty', '', NEITHER),
    ('only-term', '\r\n', NEITHER),
    ('blank-line-inside', 'version: STSv1\r\n\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n',
     LENIENT),
    ('blank-line-at-end', policy() + '\r\n', LENIENT),
    ('wsp-only-line', policy() + '  \r\n', LENIENT),
    ('leading-blank-line', '\r\n' + policy(), LENIENT),
    ('bom', '\ufeff' + policy(), NEITHER),
    # sts-policy-field-delim and *WSP after a field
    ('no-wsp-after-colon', policy(mode='mode:enforce'), BOTH),
    ('htab-after-colon', policy(mode='mode:\tenforce'), BOTH),
    ('many-wsp-after-colon', policy(mode='mode: \t  enforce'), BOTH),
    ('trailing-wsp', policy(mode='mode: enforce  '), BOTH),
    ('trailing-htab', policy(max_age='max_age: 604800\t'), BOTH),
    ('trailing-wsp-mx', policy(mx=('mx: mail.example.com ',)), BOTH),
    ('trailing-wsp-version', policy(version='version: STSv1 '), BOTH),
    ('wsp-before-colon', policy(mode='mode : enforce'), LENIENT),
    ('leading-wsp', policy(mode=' mode: enforce'), LENIENT),
    ('no-colon', policy('mode enforce'), LENIENT),
    # field order and repetition
    ('any-order', 'max_age: 604800\r\nmx: mail.example.com\r\nmode: enforce\r\nversion: STSv1\r\n', BOTH),
    ('mode-twice', policy('mode: testing'), LENIENT),
    ('version-twice', policy('version: STSv1'), LENIENT),
    ('max-age-twice', policy('max_age: 86400'), LENIENT),
    # sts-policy-version
    ('version-missing', policy(version=None), NEITHER),
    ('version-value-case', policy(version='version: stsv1'), NEITHER),
    ('version-key-case', policy(version='Version: STSv1'), NEITHER),
    ('version-other', policy(version='version: STSv2'), NEITHER),
    # sts-policy-mode
    ('mode-testing', policy(mode='mode: testing'), BOTH),
    ('mode-none-without-mx', policy(mode='mode: none', mx=()), BOTH),
    ('mode-none-with-mx', policy(mode='mode: none'), BOTH),
    ('mode-missing', policy(mode=None), NEITHER),
    ('mode-case', policy(mode='mode: Enforce'), NEITHER),
    ('mode-other', policy(mode='mode: strict'), NEITHER),
    ('mode-empty', policy(mode='mode:'), NEITHER),
    # sts-policy-max-age
    ('max-age-zero', policy(max_age='max_age: 0'), BOTH),
    ('max-age-leading-zeros', policy(max_age='max_age: 0086400'), BOTH),
    ('max-age-10-digits', policy(max_age='max_age: 0031557600'), BOTH),
    ('max-age-limit', policy(max_age='max_age: 31557600'), BOTH),
    ('max-age-over-limit-G4', policy(max_age='max_age: 31557601'), NEITHER),
    ('max-age-11-digits', policy(max_age='max_age: 00000086400'), NEITHER),
    ('max-age-sign', policy(max_age='max_age: +86400'), NEITHER),
    ('max-age-negative', policy(max_age='max_age: -1'), NEITHER),
    ('max-age-exponent', policy(max_age='max_age: 1e3'), NEITHER),
    ('max-age-empty', policy(max_age='max_age:'), NEITHER),
    ('max-age-missing', policy(max_age=None), NEITHER),
    # sts-policy-mx: ["*."] Domain
    ('mx-wildcard', policy(mx=('mx: *.example.com',)), BOTH),
    ('mx-several', policy(mx=('mx: a.example.com', 'mx: *.b.example.com')), BOTH),
    ('mx-upper-case', policy(mx=('mx: MAIL.Example.COM',)), BOTH),
    ('mx-digit-label', policy(mx=('mx: 1mail.example.com',)), BOTH),
    ('mx-a-label', policy(mx=('mx: xn--mil-via.example.com',)), BOTH),
    ('mx-hyphen-inside', policy(mx=('mx: mail-1.example.com',)), BOTH),
    ('mx-single-label-G5', policy(mx=('mx: localhost',)), BOTH),
    ('mx-wildcard-single-label-G5', policy(mx=('mx: *.com',)), BOTH),
    ('mx-missing-enforce', policy(mx=()), NEITHER),
    ('mx-missing-testing', policy(mode='mode: testing', mx=()), NEITHER),
    ('mx-trailing-dot', policy(mx=('mx: mail.example.com.',)), LENIENT),
    ('mx-ip-address-G6', policy(mx=('mx: 192.0.2.1',)), LENIENT),
    ('mx-address-literal', policy(mx=('mx: [192.0.2.1]',)), LENIENT),
    ('mx-underscore', policy(mx=('mx: mail_1.example.com',)), LENIENT),
    ('mx-hyphen-first', policy(mx=('mx: -mail.example.com',)), LENIENT),
    ('mx-hyphen-last', policy(mx=('mx: mail-.example.com',)), LENIENT),
    ('mx-empty-label', policy(mx=('mx: mail..example.com',)), LENIENT),
    ('mx-wildcard-inside', policy(mx=('mx: mail.*.example.com',)), LENIENT),
    ('mx-double-wildcard', policy(mx=('mx: *.*.example.com',)), LENIENT),
    ('mx-partial-wildcard', policy(mx=('mx: m*.example.com',)), LENIENT),
    ('mx-bare-wildcard', policy(mx=('mx: *',)), LENIENT),
    ('mx-u-label', policy(mx=('mx: m\u00e4il.example.com',)), LENIENT),
    ('mx-label-64-G7', policy(mx=('mx: %s.example.com' % ('a' * 64),)), LENIENT),
    ('mx-empty', policy(mx=('mx:',)), LENIENT),
    ('mx-two-names', policy(mx=('mx: a.example.com b.example.com',)), LENIENT),
    # sts-policy-extension
    ('ext', policy('foo: bar'), BOTH),
    ('ext-inner-space', policy('foo: bar baz'), BOTH),
    ('ext-utf8', policy('foo: caf\u00e9 \u2713'), BOTH),
    ('ext-colon-in-value', policy('foo: a:b'), BOTH),
    ('ext-name-32', policy('a' + 'b' * 31 + ': x'), BOTH),
    ('ext-name-punct', policy('a.b_c-d: x'), BOTH),
    ('ext-name-digit-first', policy('1x: y'), BOTH),
    ('ext-twice-first-wins', policy('foo: one', 'foo: two'), BOTH),
    ('ext-trailing-wsp', policy('foo: bar  '), BOTH),
    ('ext-name-33', policy('a' + 'b' * 32 + ': x'), LENIENT),
    ('ext-name-underscore-first', policy('_foo: x'), LENIENT),
    ('ext-name-space', policy('foo bar: x'), LENIENT),
    ('ext-name-empty', policy(': x'), LENIENT),
    ('ext-value-empty', policy('foo:'), LENIENT),
    ('ext-value-wsp-only', policy('foo:   '), LENIENT),
    ('ext-value-inner-htab', policy('foo: a\tb'), LENIENT),
    ('ext-value-control', policy('foo: a\x01b'), LENIENT),
    ('ext-value-del', policy('foo: a\x7fb'), LENIENT),
    # CTL in ABNF is %x00-1F / %x7F: C1 controls are UTF8-2 characters (grammar note G8)
    ('ext-value-c1-control-G8', policy('foo: a\u0085b'), BOTH),
    ('ext-value-bad-utf8', policy().encode('ascii') + b'foo: \xff\r\n', LENIENT),
    ('key-case-is-extension', policy('MX: other.example.com'), BOTH),
]


@pytest.mark.parametrize('name, text, expected', POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_policy_grammar(name, text, expected):
    check(parse_policy, text, expected)


def test_policy_reading_of_tolerated_input():
    """Lenient parsing reads what the grammar means: trailing WSP is not part
    of a value, the first of a repeated field wins, unknown keys are kept as
    extensions, a key that differs only in case is such an extension."""
    parsed = parse_policy(policy('foo: bar  ', 'MX: other.example.com', mode='mode:\tenforce  '), strict=True)
    assert parsed['mode'] == 'enforce'
    assert parsed['mx'] == ['mail.example.com']
    assert parsed['extensions'] == {'foo': 'bar', 'MX': 'other.example.com'}
    assert parse_policy(policy('mode: testing'), strict=False)['mode'] == 'enforce'
    assert parse_policy(policy(max_age='max_age: 0086400'))['max_age'] == 86400
    assert parse_policy(policy('foo: one', 'foo: two'))['extensions'] == {'foo': 'one'}


@pytest.mark.parametrize('text, rule', [
    (policy(mode='mode: enforce  '), 'B7'),             # valid, but not the published form
    (policy(term='\n'), 'B7'),
    (policy(final=False), 'B7'),
    (policy(mx=('mx: localhost',)), 'B5'),              # G5: valid, matches no internet MX
])
def test_valid_but_noted(text, rule):
    parsed = parse_policy(text, strict=True)
    assert any(w.startswith('rule %s ' % rule) for w in parsed['warnings']), parsed['warnings']
