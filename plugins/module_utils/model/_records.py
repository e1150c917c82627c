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


def select_records(records, prefix):
    """The records among ``records`` (each a str or a list of strings) that
    begin with ``prefix + ';'`` (A1, F2) once joined. Records that are not
    ASCII are kept only if they carry the prefix, so that A2 is reported."""
    selected = []
    for record in records:
        try:
            text = join_txt(record)
        except MtaStsError:
            text = join_txt(record, lenient=True)
            if text.startswith(prefix + ';') or text == prefix:
                selected.append(record)
            continue
        if text.startswith(prefix + ';') or text == prefix:
            selected.append(text)
    return selected


def _fields(text, prefix, rule):
    """Split ``prefix; a=b; c=d;`` into [(name, value)]; grammar A3/F1."""
    if not text.startswith(prefix):
        raise MtaStsError('the record does not start with %s' % prefix, rule=rule,
                          hint='start the record with "%s;" (case-sensitive)' % prefix)
    rest = text[len(prefix):]
    if not rest.lstrip(' \t').startswith(';'):
        raise MtaStsError('%s is not followed by ";" and fields' % prefix, rule=rule,
                          hint='write "%s; ..." ' % prefix)
    parts = _DELIM_RE.split(rest)
    # parts[0] is what stood between the prefix and the first ";" (blank).
    parts = parts[1:]
    if parts and parts[-1] == '':
        parts.pop()  # one optional trailing ";"
    fields = []
    for part in parts:
        name, sep, value = part.partition('=')
        if not part or not sep:
            raise MtaStsError('field %r is not name=value' % part, rule=rule,
                              hint='separate fields with ";" and write each as name=value')
        fields.append((name, value))
    if not fields:
        raise MtaStsError('the record has no fields after %s' % prefix, rule=rule)
    return fields


def _extension(name, value, rule):
    if not EXTENSION_NAME_RE.match(name):
        raise MtaStsError('invalid field name %r' % name, rule=rule)
    if not _EXT_VALUE_RE.match(value):
        raise MtaStsError('field %s has an invalid value %r' % (name, value), rule=rule,
                          hint='values are printable ASCII without "=", ";" or spaces')


def _read_fields(text, prefix, grammar_rule, ext_rule, key, convert):
    """The value of the field ``key`` (checked by ``convert``), the
    extensions and warnings (Problems) of a record. For a duplicated field the first
    wins (A5, F4); an invalid field raises even when it is a duplicate."""
    found = None
    extensions = {}
    warnings = []
    for name, value in _fields(text, prefix, grammar_rule):
        if name == key:
            value = convert(value)
            if found is None:
                found = value
            else:
                warnings.append(Problem(ext_rule, WARNING, '%s appears more than once; the first wins' % key))
            continue
        _extension(name, value, ext_rule)
        if name in extensions:
            warnings.append(Problem(ext_rule, WARNING, 'field %s appears more than once; the first wins' % name))
        else:
            extensions[name] = value
    return found, extensions, warnings


def _checked_id(value):
    if not POLICY_ID_RE.match(value):
        raise MtaStsError('id %r must be 1 to 32 ASCII letters or digits' % value, rule='A4',
                          hint='use letters and digits only, at most 32, e.g. 20261129T1200')
    return value


def _checked_rua_list(value):
    uris = [uri.strip(' \t') for uri in value.split(',')]
    for uri in uris:
        validate_rua(uri, field='rua')
    return uris


# ---------------------------------------------------------------------------
# _mta-sts (A1-A6)


def parse_sts_record(text):
    """Parse one ``_mta-sts`` record (strings already joined).

    Returns ``{id, extensions, warnings}``; raises MtaStsError with the rule
    id for a record a sender must reject (A2-A5).
    """
    return _parse_sts(text)[0]


def _parse_sts(text):
    """``parse_sts_record`` and its warnings as Problems."""
    text = join_txt(text)
    record_id, extensions, warnings = _read_fields(text, STS_PREFIX, 'A3', 'A5', 'id', _checked_id)
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
        return parser(selected[0])
    except MtaStsError as exc:
        return None, [Problem(exc.rule or count_rule, ERROR, exc.message, hint=exc.hint)]


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


def parse_tlsrpt_record(text):
    """Parse one ``_smtp._tls`` record. Returns ``{rua, extensions,
    warnings}`` or raises MtaStsError (F1, F3, F4, F5)."""
    return _parse_tlsrpt(text)[0]


def _parse_tlsrpt(text):
    """``parse_tlsrpt_record`` and its warnings as Problems."""
    text = join_txt(text)
    rua, extensions, warnings = _read_fields(text, TLSRPT_PREFIX, 'F1', 'F4', 'rua', _checked_rua_list)
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
