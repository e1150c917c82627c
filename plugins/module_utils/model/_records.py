# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``_mta-sts`` (RFC 8461 section 3.1) and ``_smtp._tls`` (RFC 8460
section 3) TXT records: parse, select among several, render.

Rules are cited by their ids in the rule catalogue (``_rules``). Private module of the
mailsec.mta_sts collection; standard library only.
"""

from __future__ import annotations

import re

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import (
    ERROR,
    WARNING,
    MtaStsError,
    Problem,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    EXTENSION_NAME_RE,
    POLICY_ID_RE,
    validate_policy_id,
)

STS_PREFIX = 'v=STSv1'
TLSRPT_PREFIX = 'v=TLSRPTv1'
TXT_STRING_MAX = 255

# A5: VCHAR except "=" and ";" (so no space either).
_EXT_VALUE_RE = re.compile(r'^[\x21-\x3a\x3c\x3e-\x7e]+$')
_DELIM_RE = re.compile(r'[ \t]*;[ \t]*')
_PCT_RE = re.compile(r'%(?![0-9A-Fa-f]{2})')
# RFC 3986 URI: a scheme, then unreserved, sub-delims, ":", "@", "/", "?",
# "#", "[", "]" and percent-escapes; RFC 8460 section 3 wants "," "!" ";"
# percent-encoded, so they are not in the set.
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~%$&'()*+=:@/?#\[\]-]*$")
_WSP = ' \t'


def sts_record_name(domain):
    return '_mta-sts.%s' % domain


def tlsrpt_record_name(domain):
    return '_smtp._tls.%s' % domain


# ---------------------------------------------------------------------------
# TXT strings (A2, F2)


def join_txt(strings, lenient=False):
    """One TXT record from its character-strings, concatenated with nothing
    in between (A2): the one way records are joined in this collection.
    ``strings`` is a str or bytes, or a list/tuple of str/bytes.

    Strict (the default) raises MtaStsError when a byte or character is not
    US-ASCII. ``lenient`` never raises and is for showing what is published:
    a byte that is not ASCII appears as an escape (``\\xe9``), never dropped."""
    if isinstance(strings, (str, bytes, bytearray)):
        strings = [strings]
    parts = []
    for item in strings:
        if isinstance(item, (bytes, bytearray)):
            try:
                item = bytes(item).decode('ascii', 'backslashreplace' if lenient else 'strict')
            except UnicodeDecodeError:
                raise MtaStsError('the TXT record contains non-ASCII bytes', rule='A2',
                                  hint='publish US-ASCII only') from None
        elif not lenient and not item.isascii():
            raise MtaStsError('the TXT record contains non-ASCII characters', rule='A2',
                              hint='publish US-ASCII only')
        parts.append(item)
    return ''.join(parts)


def split_txt(value):
    """Split a record value into character-strings of at most 255 octets."""
    data = value.encode('ascii')
    if not data:
        return ['']
    return [data[i:i + TXT_STRING_MAX].decode('ascii') for i in range(0, len(data), TXT_STRING_MAX)]


def _has_version(text, prefix):
    """``prefix`` then ``*WSP ";"`` (the grammar's delimiter), or ``prefix``
    alone (kept so that A3 is reported). The prose of RFC 8461 section 3.1
    and RFC 8460 section 3 says "begin with v=STSv1;", without the *WSP
    that the ABNF allows before ";": the grammar decides (grammar note G1
    in docs/rules.md), and discovery warns that literal readers discard it."""
    if not text.startswith(prefix):
        return False
    rest = text[len(prefix):]
    return rest == '' or rest.lstrip(_WSP).startswith(';')


def select_records(records, prefix):
    """The records among ``records`` (each a str or a list of strings) that
    begin with ``prefix`` and a field delimiter (A1, F2) once joined.
    Records that are not ASCII are kept only if they carry the prefix, so
    that A2 is reported."""
    selected = []
    for record in records:
        try:
            text = join_txt(record)
        except MtaStsError:
            if _has_version(join_txt(record, lenient=True), prefix):
                selected.append(record)
            continue
        if _has_version(text, prefix):
            selected.append(text)
    return selected


def _fields(text, prefix, rule, strict, warnings):
    """Split ``prefix; a=b; c=d;`` into [(name, value)] by the grammar
    (A3/F1): ``version 1*(delim field) [delim]``, ``delim = *WSP ";" *WSP``.

    Strict parsing raises for any deviation. Lenient parsing skips an empty
    field and a field without "=", and drops whitespace after the last
    field, with a warning (Problem) each: what a tolerant reader still
    understands.
    """
    if not _has_version(text, prefix) or text == prefix:
        if not text.startswith(prefix):
            raise MtaStsError('the record does not start with %s' % prefix, rule=rule,
                              hint='start the record with "%s;" (case-sensitive)' % prefix)
        raise MtaStsError('%s is not followed by ";" and fields' % prefix, rule=rule,
                          hint='write "%s; ..." ' % prefix)
    parts = _DELIM_RE.split(text[len(prefix):])
    # parts[0] is what stood between the prefix and the first ";" (blank).
    parts = parts[1:]
    if parts and parts[-1] == '':
        parts.pop()  # one optional trailing delimiter
    if parts and parts[-1] != parts[-1].rstrip(_WSP):
        # *WSP is part of a delimiter only: after the last field, without
        # ";", it is outside the grammar (grammar note G10).
        if strict:
            raise MtaStsError('whitespace after the last field %r' % parts[-1].rstrip(_WSP), rule=rule,
                              hint='remove it, or end the record with ";"')
        warnings.append(Problem(rule, WARNING, 'whitespace after the last field is ignored'))
        parts[-1] = parts[-1].rstrip(_WSP)
    fields = []
    for part in parts:
        name, sep, value = part.partition('=')
        if not part or not sep:
            what = 'an empty field (";;")' if not part else 'field %r is not name=value' % part
            if strict:
                raise MtaStsError(what, rule=rule, hint='separate fields with ";" and write each as name=value')
            warnings.append(Problem(rule, WARNING, '%s is ignored' % what))
            continue
        fields.append((name, value))
    if not fields:
        raise MtaStsError('the record has no fields after %s' % prefix, rule=rule)
    return fields


def _extension(name, value, rule):
    if not EXTENSION_NAME_RE.match(name):
        raise MtaStsError('invalid field name %r' % name, rule=rule,
                          hint='names are a letter or digit, then up to 31 letters, digits, "_", "-" or "."')
    if not _EXT_VALUE_RE.match(value):
        raise MtaStsError('field %s has an invalid value %r' % (name, value), rule=rule,
                          hint='values are printable ASCII without "=", ";" or spaces')


def _read_fields(text, prefix, grammar_rule, ext_rule, key, convert, strict=True):
    """The value of the field ``key`` (checked by ``convert``), the
    extensions and warnings (Problems) of a record. For a duplicated field
    the first wins (A5, F4); an invalid ``key`` field raises even when it is
    a duplicate. An invalid extension raises in strict parsing; lenient
    parsing ignores it with a warning (readers ignore unknown fields, G11)."""
    found = None
    extensions = {}
    warnings = []
    for name, value in _fields(text, prefix, grammar_rule, strict, warnings):
        if name == key:
            value = convert(value, strict, warnings)
            if found is None:
                found = value
            else:
                warnings.append(Problem(ext_rule, WARNING, '%s appears more than once; the first wins' % key))
            continue
        try:
            _extension(name, value, ext_rule)
        except MtaStsError as exc:
            if strict:
                raise
            warnings.append(Problem(ext_rule, WARNING, '%s; the field is ignored' % exc.message))
            continue
        if name in extensions:
            warnings.append(Problem(ext_rule, WARNING, 'field %s appears more than once; the first wins' % name))
        else:
            extensions[name] = value
    return found, extensions, warnings


def _checked_id(value, strict=True, warnings=None):
    if not POLICY_ID_RE.match(value):
        raise MtaStsError('id %r must be 1 to 32 ASCII letters or digits' % value, rule='A4',
                          hint='use letters and digits only, at most 32, e.g. 20261129T1200')
    return value


def _checked_rua_list(value, strict=True, warnings=None):
    """``rua=`` per RFC 8460 section 3: ``uri *(*WSP "," *WSP uri)``.

    Every URI must be a URI (F3); those with a scheme other than mailto:
    and https: are kept with a warning, since reporters skip them (grammar
    note G3), but at least one URI must be mailto: or https:."""
    warnings = [] if warnings is None else warnings
    if value != value.lstrip(_WSP):
        if strict:
            raise MtaStsError('whitespace after "rua="', rule='F1', hint='write rua=<uri> with no space after "="')
        warnings.append(Problem('F1', WARNING, 'whitespace after "rua=" is ignored'))
    uris = [uri.strip(_WSP) for uri in value.split(',')]
    usable = []
    for uri in uris:
        if not uri:
            raise MtaStsError('rua has an empty URI (a doubled or trailing ",")', rule='F3', field='rua',
                              hint='separate the URIs with single commas')
        scheme = uri.partition(':')[0].lower() if ':' in uri else None
        if scheme in (None, 'mailto', 'https') or not _URI_RE.match(uri):
            usable.append(validate_rua(uri, field='rua'))
            continue
        if _PCT_RE.search(uri):
            raise MtaStsError('%r has a malformed percent-escape' % uri, rule='F3', field='rua')
        warnings.append(Problem('F3', WARNING, '%s is not a mailto: or https: URI; reporters skip it' % uri))
    if not usable:
        raise MtaStsError('rua has no mailto: or https: URI, so no report can be sent', rule='F3', field='rua',
                          hint='e.g. rua=mailto:tlsrpt@example.com')
    return uris


# ---------------------------------------------------------------------------
# _mta-sts (A1-A6)


def parse_sts_record(text, strict=True):
    """Parse one ``_mta-sts`` record (a str, or its character-strings).

    Returns ``{id, extensions, warnings}``; raises MtaStsError with the rule
    id for a record outside the grammar (A2-A5). ``strict=False`` reads it
    as a tolerant sender does: only a missing or invalid id, a bad version
    or non-ASCII data rejects it; other deviations become warnings.
    """
    return _parse_sts(text, strict)[0]


def _parse_sts(text, strict=True):
    """``parse_sts_record`` and its warnings as Problems."""
    text = join_txt(text)
    record_id, extensions, warnings = _read_fields(text, STS_PREFIX, 'A3', 'A5', 'id', _checked_id, strict)
    if record_id is None:
        raise MtaStsError('the record has no id= field', rule='A4', hint='publish "v=STSv1; id=<id>"')
    if text != render_sts_record(record_id):
        warnings.append(Problem('A6', WARNING, 'published form differs from "v=STSv1; id=%s"' % record_id))
    return {'id': record_id, 'extensions': extensions, 'warnings': [str(p) for p in warnings]}, warnings


def render_sts_record(policy_id, domain=None):
    """A6: exactly ``v=STSv1; id=<id>``."""
    validate_policy_id(policy_id, domain)
    return '%s; id=%s' % (STS_PREFIX, policy_id)


def sts_record(domain, policy_id):
    """The record to publish as ``{name, type, value}`` for any DNS module."""
    return {'name': sts_record_name(domain), 'type': 'TXT', 'value': render_sts_record(policy_id, domain)}


def _discover(records, prefix, parser, count_rule, none_severity, none_message, none_hint):
    """The one record among ``records`` that starts with ``prefix + ';'``,
    parsed, as ``(parsed or None, [Problem])`` (A1/F2: zero or several
    records mean none counts)."""
    selected = select_records(records, prefix)
    if not selected:
        return None, [Problem(count_rule, none_severity, none_message, hint=none_hint)]
    if len(selected) > 1:
        return None, [Problem(count_rule, ERROR, '%d TXT records start with "%s;": senders see none of them'
                              % (len(selected), prefix), hint='keep exactly one %s record' % prefix)]
    try:
        parsed, problems = parser(selected[0])
    except MtaStsError as exc:
        return None, [Problem(exc.rule or count_rule, ERROR, exc.message, hint=exc.hint)]
    text = selected[0] if isinstance(selected[0], str) else join_txt(selected[0])
    if not text.startswith(prefix + ';'):
        problems.insert(0, Problem(count_rule, WARNING, 'the record does not begin with exactly "%s;": valid, but '
                                   'readers that follow the letter of the RFC discard it' % prefix,
                                   hint='remove the space before the first ";"'))
    return parsed, problems


def discover_sts(records):
    """A1: from every TXT record at ``_mta-sts.<domain>``, the one that
    counts. Returns ``(parsed or None, [Problem])``; None means the domain
    has no policy for a sender."""
    return _discover(records, STS_PREFIX, _parse_sts, 'A1', ERROR,
                     'no TXT record starting with "v=STSv1;"',
                     'publish "v=STSv1; id=<id>" at _mta-sts.<domain>')


# ---------------------------------------------------------------------------
# _smtp._tls (F1-F5)


def validate_rua(uri, domain=None, field='tlsrpt_rua'):
    """F3/F5: a ``mailto:`` or ``https:`` URI with ``,``, ``!`` and ``;``
    percent-encoded. Returns the URI unchanged."""
    if not isinstance(uri, str) or not uri:
        raise MtaStsError('%r is not a URI' % (uri,), rule='F3', domain=domain, field=field)
    scheme, sep, rest = uri.partition(':')
    if not sep or scheme.lower() not in ('mailto', 'https'):
        hint = 'use mailto:%s' % uri if '@' in uri and not sep else 'use a mailto: or https: URI'
        raise MtaStsError('%r has no mailto: or https: scheme' % uri, rule='F5' if not sep else 'F3',
                          domain=domain, field=field, hint=hint)
    bad = [ch for ch in ',!; \t' if ch in uri]
    if bad:
        raise MtaStsError('%r contains %s, which must be percent-encoded' % (uri, ' '.join(repr(c) for c in bad)),
                          rule='F3', domain=domain, field=field,
                          hint='write "," as %2C, "!" as %21 and ";" as %3B')
    if _PCT_RE.search(uri) or not uri.isascii():
        raise MtaStsError('%r has a malformed percent-escape or non-ASCII characters' % uri, rule='F3',
                          domain=domain, field=field)
    if scheme.lower() == 'mailto':
        local, at, host = rest.partition('@')
        if not local or not at or not host or '.' not in host:
            raise MtaStsError('%r is not a mailto: URI with an address' % uri, rule='F3',
                              domain=domain, field=field, hint='e.g. mailto:tlsrpt@example.com')
    else:
        if not rest.startswith('//') or not rest[2:].split('/', 1)[0]:
            raise MtaStsError('%r is not an https:// URI with a host' % uri, rule='F3',
                              domain=domain, field=field, hint='e.g. https://reports.example.com/tlsrpt')
    return uri


def parse_tlsrpt_record(text, strict=True):
    """Parse one ``_smtp._tls`` record. Returns ``{rua, extensions,
    warnings}`` or raises MtaStsError (F1, F3, F4, F5); ``strict`` as for
    :func:`parse_sts_record` (a usable rua is always required)."""
    return _parse_tlsrpt(text, strict)[0]


def _parse_tlsrpt(text, strict=True):
    """``parse_tlsrpt_record`` and its warnings as Problems."""
    text = join_txt(text)
    rua, extensions, warnings = _read_fields(text, TLSRPT_PREFIX, 'F1', 'F4', 'rua', _checked_rua_list, strict)
    if rua is None:
        raise MtaStsError('the record has no rua= field', rule='F3',
                          hint='publish "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>"')
    return {'rua': rua, 'extensions': extensions, 'warnings': [str(p) for p in warnings]}, warnings


def render_tlsrpt_record(rua, domain=None):
    """``v=TLSRPTv1; rua=<uri>,<uri>``, every URI validated (F3)."""
    if isinstance(rua, str):
        rua = [rua]
    if not rua:
        raise MtaStsError('rua needs at least one URI', rule='F3', domain=domain, field='tlsrpt_rua',
                          hint='e.g. mailto:tlsrpt@example.com')
    uris = [validate_rua(uri, domain) for uri in rua]
    return '%s; rua=%s' % (TLSRPT_PREFIX, ','.join(uris))


def tlsrpt_record(domain, rua):
    return {'name': tlsrpt_record_name(domain), 'type': 'TXT', 'value': render_tlsrpt_record(rua, domain)}


def discover_tlsrpt(records):
    """F2: the TLS-RPT record that counts among ``records``; returns
    ``(parsed or None, [Problem])``. None found is a warning: no reports."""
    return _discover(records, TLSRPT_PREFIX, _parse_tlsrpt, 'F2', WARNING,
                     'no TXT record starting with "v=TLSRPTv1;": no TLS failure reports will be sent',
                     'publish "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>" at _smtp._tls.<domain>')
