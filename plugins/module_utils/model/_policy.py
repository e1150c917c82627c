# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The MTA-STS policy file (RFC 8461 section 3.2) and the names in it.

Rules are cited by their ids in the rule catalogue (``_rules``). This is a private
module of the mailsec.mta_sts collection: standard library only, because the
``policy`` module runs it on managed hosts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import (
    ERROR,
    WARNING,
    MtaStsError,
    Problem,
)

MODES = ('enforce', 'testing', 'none')
MAX_AGE_MAX = 31557600  # B4: about one year
ONE_DAY = 86400
ONE_WEEK = 604800
DEFAULT_MAX_AGE = ONE_WEEK
POLICY_PATH = '/.well-known/mta-sts.txt'

_LABEL_RE = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
# Shared with the TXT records (model/_records.py), which use the same
# grammar: the policy id (A4) and extension names (B6 in the policy file,
# A5 and F4 in the records).
POLICY_ID_RE = re.compile(r'^[A-Za-z0-9]{1,32}$')
EXTENSION_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$')
_MAX_AGE_RE = re.compile(r'^[0-9]{1,10}$')
_WSP = ' \t'


# ---------------------------------------------------------------------------
# Names: domains and mx patterns


def _to_a_label(label, name, domain, field):
    if not label:
        raise MtaStsError(
            '%r has an empty label' % name, rule='B5', domain=domain, field=field,
            hint='remove the doubled or leading dot',
        )
    if label.isascii():
        return label.lower()
    try:
        # IDNA 2003 from the standard library: enough for the A-label form
        # that B5 requires, and available on every managed host.
        return label.encode('idna').decode('ascii').lower()
    except UnicodeError:
        raise MtaStsError(
            '%r: label %r cannot be converted to an A-label (punycode)' % (name, label),
            rule='B5', domain=domain, field=field,
            hint='write the name in its xn-- form',
        ) from None


def normalize_name(name, field='domain', domain=None, wildcard=False, min_labels=2):
    """Return ``name`` as a lower-case A-label host name without a trailing dot.

    Raises MtaStsError naming the field and the rule when the name is not a
    valid host name: an IP address, an empty label, a label that is not
    letters/digits/hyphens, fewer than two labels, or a wildcard anywhere
    but as the whole left-most label (B5). ``wildcard`` allows ``*.``.
    ``min_labels=1`` accepts a single label, as the policy grammar does
    (grammar note G5 in docs/rules.md); inputs keep the default of two.
    """
    if not isinstance(name, str):
        raise MtaStsError(
            'must be a host name (a string), got %r' % (name,),
            rule='B5', domain=domain, field=field,
        )
    text = name
    if text.endswith('.') and not text.endswith('..'):
        text = text[:-1]  # an absolute name; the policy never carries the dot (B5)
    if not text or text != text.strip():
        raise MtaStsError(
            '%r is not a host name' % name, rule='B5', domain=domain, field=field,
            hint='remove the spaces',
        )
    if text.startswith('[') or _is_ip_address(text):
        raise MtaStsError(
            '%r is an IP address; MTA-STS only names hosts' % name,
            rule='B5', domain=domain, field=field,
            hint='use the host name of the MX (as in its MX record), not its address',
        )
    labels = text.split('.')
    prefix = ''
    if labels[0] == '*' and wildcard:
        prefix = '*.'
        labels = labels[1:]
    elif '*' in text:
        if wildcard:
            msg = '%r: a wildcard is only allowed as the whole left-most label (*.example.com)' % name
        else:
            msg = '%r: a wildcard is not allowed here' % name
        raise MtaStsError(msg, rule='B5', domain=domain, field=field,
                          hint='write *.<suffix> or list the host names one by one')
    out = []
    for label in labels:
        a_label = _to_a_label(label, name, domain, field)
        if not _LABEL_RE.match(a_label):
            raise MtaStsError(
                '%r: label %r is not a host name label (letters, digits and inner hyphens, '
                'at most 63 characters)' % (name, label),
                rule='B5', domain=domain, field=field,
            )
        out.append(a_label)
    if len(out) < min_labels:
        raise MtaStsError(
            '%r needs at least two labels after any wildcard' % name, rule='B5',
            domain=domain, field=field, hint='use a fully qualified name such as mail.example.com',
        )
    result = prefix + '.'.join(out)
    if len(result) > 253:
        raise MtaStsError('%r is longer than 253 characters' % name, rule='B5', domain=domain, field=field)
    return result


def _is_ip_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def normalize_domain(domain):
    """The policy domain: a host name, no wildcard."""
    return normalize_name(domain, field='domain')


def normalize_mx_patterns(patterns, domain=None, field='mx'):
    """Validate and normalise mx patterns, dropping duplicates (B5)."""
    if patterns is None:
        return []
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise MtaStsError('must be a list of host names or *.suffix patterns', rule='B5',
                          domain=domain, field=field)
    out = []
    for index, pattern in enumerate(patterns):
        value = normalize_name(pattern, field='%s[%d]' % (field, index), domain=domain, wildcard=True)
        if value not in out:
            out.append(value)
    return out


def mx_match(host, patterns):
    """D1: does the MX host name ``host`` match one of ``patterns``?

    Equality, or ``*.<suffix>`` with exactly one label in front of the
    suffix. Case-insensitive; a trailing dot on the MX name is ignored.
    """
    if not isinstance(host, str) or not host:
        return False
    name = host[:-1] if host.endswith('.') else host
    try:
        name = '.'.join(_to_a_label(label, host, None, None) for label in name.split('.'))
    except MtaStsError:
        return False
    for pattern in patterns or ():
        pat = str(pattern).lower()
        if pat.startswith('*.'):
            suffix = pat[1:]
            head = name[:-len(suffix)]
            if name.endswith(suffix) and head and '.' not in head:
                return True
        elif name == pat:
            return True
    return False


def policy_url(domain):
    return 'https://mta-sts.%s%s' % (domain, POLICY_PATH)


# ---------------------------------------------------------------------------
# Inputs and rendering (B7)


def validate_mode(mode, domain=None):
    if mode not in MODES:
        raise MtaStsError(
            'mode %r is not one of %s' % (mode, ', '.join(MODES)), rule='B3', domain=domain,
            field='mode', hint='use enforce, testing or none (lower case)',
        )
    return mode


def validate_max_age(max_age, domain=None):
    """B4: an integer 0..31557600. Returns the int and a list of warnings."""
    if isinstance(max_age, bool):
        max_age = None
    if isinstance(max_age, str) and _MAX_AGE_RE.match(max_age):
        max_age = int(max_age)
    if not isinstance(max_age, int) or max_age < 0 or max_age > MAX_AGE_MAX:
        raise MtaStsError(
            'max_age %r is not a whole number of seconds from 0 to %d' % (max_age, MAX_AGE_MAX),
            rule='B4', domain=domain, field='max_age',
            hint='use for example 604800 (one week) or 31557600 (the maximum, about a year)',
        )
    return max_age


def validate_policy_id(policy_id, domain=None):
    """A4: 1 to 32 ASCII letters or digits."""
    if not isinstance(policy_id, str) or not POLICY_ID_RE.match(policy_id):
        raise MtaStsError(
            'policy id %r must be 1 to 32 ASCII letters or digits' % (policy_id,),
            rule='A4', domain=domain, field='policy_id',
            hint='drop "-", "+", "/" and other signs, or leave policy_id unset to derive it from the policy',
        )
    return policy_id


def policy_warnings(mode, max_age):
    """Advice for legal but weak settings (B4), as Problems."""
    out = []
    if max_age < ONE_DAY:
        out.append(Problem('B4', WARNING,
                           'max_age %d is under one day: senders will refetch the policy very often '
                           'and an attacker who blocks the fetch can soon strip it' % max_age,
                           hint='use at least 86400; 604800 or more once the policy is stable'))
    elif mode == 'enforce' and max_age < ONE_WEEK:
        out.append(Problem('B4', WARNING,
                           'enforce with max_age %d (under a week) gives little protection' % max_age,
                           hint='use 604800 or more (up to 31557600) in enforce'))
    return out


def build_policy(domain, mode, mx=None, max_age=DEFAULT_MAX_AGE):
    """Validate the inputs of a policy and return ``(domain, mode, mx, max_age)`` normalised."""
    domain = normalize_domain(domain)
    mode = validate_mode(mode, domain)
    patterns = normalize_mx_patterns(mx, domain)
    if mode != 'none' and not patterns:
        raise MtaStsError(
            'mode %s needs at least one mx pattern' % mode, rule='B5', domain=domain, field='mx',
            hint='list every MX host of the domain (or *.suffix patterns that cover them)',
        )
    max_age = validate_max_age(max_age, domain)
    return domain, mode, patterns, max_age


def render_policy(mode, mx, max_age, domain=None):
    """The policy text exactly as B7 wants it published.

    CRLF line ends, ``version`` first, then ``mode``, the ``mx`` lines (kept
    in ``none`` too), ``max_age``, a final CRLF, ASCII only.
    """
    mode = validate_mode(mode, domain)
    patterns = normalize_mx_patterns(mx, domain)
    if mode != 'none' and not patterns:
        raise MtaStsError('mode %s needs at least one mx pattern' % mode, rule='B5',
                          domain=domain, field='mx')
    max_age = validate_max_age(max_age, domain)
    lines = ['version: STSv1', 'mode: %s' % mode]
    lines.extend('mx: %s' % pattern for pattern in patterns)
    lines.append('max_age: %d' % max_age)
    return ''.join(line + '\r\n' for line in lines)


def policy_id(policy):
    """The id derived from the exact bytes served (E1).

    The first 32 hex digits of the SHA-256 of the bytes: alphanumeric, 32
    characters (A4), the same on every controller, different whenever a
    byte differs, with no state to keep.
    """
    if isinstance(policy, str):
        policy = policy.encode('utf-8')
    return hashlib.sha256(policy).hexdigest()[:32]


# ---------------------------------------------------------------------------
# Parsing (B1-B6)


class PolicyAnalysis:
    """The result of reading a policy file.

    ``policy`` is what a real sender acts on (a dict, or None when a sender
    would reject the file); ``problems`` lists every deviation, errors
    (MUST rules broken) and warnings (tolerated by senders, or SHOULD).
    """

    __slots__ = ('policy', 'problems')

    def __init__(self, policy, problems):
        self.policy = policy
        self.problems = problems

    @property
    def errors(self):
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self):
        return [p for p in self.problems if p.severity == WARNING]


def _decode(data, problems):
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray)):
        raise MtaStsError('a policy is text or bytes, got %s' % type(data).__name__, rule='B1')
    try:
        return bytes(data).decode('utf-8')
    except UnicodeDecodeError as exc:
        problems.append(Problem('B1', ERROR, 'the policy is not valid UTF-8 (byte %d)' % exc.start,
                                hint='serve the policy as plain ASCII text'))
        return bytes(data).decode('utf-8', errors='replace')


def analyse_policy(data):
    """Read a policy file as bytes or text; never raises for bad content.

    Every deviation becomes a Problem with its rule id. The lenient result
    follows what real senders do: keys and values stripped of surrounding
    whitespace, blank and malformed lines skipped, unknown keys ignored, the
    first of a duplicated key wins (B6). A sender rejects the file when
    version, mode or max_age is missing or invalid, or when mx is missing
    outside ``none``; then ``policy`` is None.
    """
    problems = []
    text = _decode(data, problems)
    if text.startswith('\ufeff'):
        # A sender reads the first key as "\ufeffversion": no version (B2).
        problems.append(Problem('B1', ERROR, 'the policy starts with a byte order mark (BOM)', line=1,
                                hint='save the file without a BOM (B7: ASCII only)'))
    if not text:
        problems.append(Problem('B1', ERROR, 'the policy is empty'))
    if text and not text.endswith('\n'):
        problems.append(Problem('B7', WARNING, 'the last line has no line break',
                                hint='end every line with CRLF'))
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    if any(not line.endswith('\r') for line in lines) and text:
        problems.append(Problem('B7', WARNING, 'lines end with LF, not CRLF',
                                hint='publish with CRLF line ends'))
    if not text.isascii():
        problems.append(Problem('B7', WARNING, 'the policy contains non-ASCII characters',
                                hint='publish ASCII only; mx patterns use the xn-- form'))

    fields = {}
    mx = []
    extensions = {}
    order = []
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith('\r') else raw
        if line.strip(_WSP) == '':
            problems.append(Problem('B1', ERROR, 'blank line inside the policy', line=number,
                                    hint='remove blank lines'))
            continue
        if any(ord(ch) < 32 and ch != '\t' or ord(ch) == 127 for ch in line):
            problems.append(Problem('B1', ERROR, 'control character in line %r' % line, line=number))
        key, sep, value = line.partition(':')
        if not sep:
            problems.append(Problem('B1', ERROR, 'line %r is not "key: value"' % line, line=number,
                                    hint='write each line as key: value'))
            continue
        clean_key = key.strip(_WSP)
        if key != clean_key:
            problems.append(Problem('B1', ERROR, 'whitespace around the key %r' % key, line=number,
                                    hint='nothing may stand before the colon but the key'))
        clean_value = value.strip(_WSP)
        if value.rstrip(_WSP) != value:
            # The grammar allows *WSP after every field (sts-policy-field
            # *WSP): valid, but not the published form.
            problems.append(Problem('B7', WARNING, 'trailing whitespace after the value of %s' % clean_key,
                                    line=number, hint='remove the trailing spaces'))
        if clean_key.startswith('\ufeff'):
            # Already reported; a sender sees an unknown key "\ufeffversion".
            continue
        order.append(clean_key)
        if clean_key == 'mx':
            mx.append((number, clean_value))
        elif clean_key in ('version', 'mode', 'max_age'):
            if clean_key in fields:
                rule = {'version': 'B2', 'mode': 'B3', 'max_age': 'B4'}[clean_key]
                problems.append(Problem(rule, ERROR, '%s appears more than once; senders use the first'
                                        % clean_key, line=number, hint='keep a single %s line' % clean_key))
                continue
            fields[clean_key] = (number, clean_value)
        else:
            _check_extension(clean_key, clean_value, number, problems, extensions)

    policy = _evaluate_fields(fields, mx, problems)
    if policy is not None:
        policy['extensions'] = extensions
        expected = ['version', 'mode'] + ['mx'] * len(mx) + ['max_age']
        core = [key for key in order if key in ('version', 'mode', 'mx', 'max_age')]
        if core != expected[:len(core)] or len(core) != len(expected):
            problems.append(Problem('B7', WARNING, 'fields are not in the published order '
                                    'version, mode, mx..., max_age'))
        problems.extend(policy_warnings(policy['mode'], policy['max_age']))
    return PolicyAnalysis(policy, problems)


def _check_extension(key, value, number, problems, extensions):
    if not EXTENSION_NAME_RE.match(key):
        hint = None
        if key.lower() in ('version', 'mode', 'max_age', 'mx'):
            hint = 'keys are case-sensitive: write %s' % key.lower()
        elif key in ('nmx', 'mx:', 'max-age', 'maxage'):
            hint = 'did you mean mx or max_age?'
        problems.append(Problem('B6', ERROR, 'invalid key %r' % key, line=number, hint=hint))
        return
    if not value:
        problems.append(Problem('B6', ERROR, 'extension %s has an empty value' % key, line=number,
                                hint='give it a value or remove the line'))
    elif '\t' in value:
        # sts-policy-ext-value: only SP may stand between its characters.
        problems.append(Problem('B6', ERROR, 'extension %s has a tab inside its value' % key, line=number,
                                hint='use spaces inside extension values'))
    if key in extensions:
        problems.append(Problem('B6', WARNING, 'extension %s appears more than once; the first wins' % key,
                                line=number))
        return
    hint = None
    if key in ('nmx', 'max-age', 'maxage', 'mx_', 'modes', 'verison'):
        hint = 'a typo of a standard key? senders ignore %r' % key
    problems.append(Problem('B6', WARNING, 'unknown key %r is ignored by senders' % key, line=number,
                            hint=hint))
    extensions[key] = value


def _evaluate_fields(fields, mx, problems):
    rejected = False
    version = fields.get('version')
    if version is None:
        problems.append(Problem('B2', ERROR, 'no version line', hint='start with "version: STSv1"'))
        rejected = True
    elif version[1] != 'STSv1':
        problems.append(Problem('B2', ERROR, 'version is %r, not STSv1' % version[1], line=version[0],
                                hint='write "version: STSv1" (case-sensitive)'))
        rejected = True

    mode = fields.get('mode')
    if mode is None:
        problems.append(Problem('B3', ERROR, 'no mode line', hint='add "mode: testing" or "mode: enforce"'))
        rejected = True
    elif mode[1] not in MODES:
        problems.append(Problem('B3', ERROR, 'mode %r is not enforce, testing or none' % mode[1],
                                line=mode[0], hint='mode values are lower case'))
        rejected = True

    max_age = fields.get('max_age')
    if max_age is None:
        problems.append(Problem('B4', ERROR, 'no max_age line', hint='add "max_age: 604800"'))
        rejected = True
    elif not _MAX_AGE_RE.match(max_age[1]) or int(max_age[1]) > MAX_AGE_MAX:
        problems.append(Problem('B4', ERROR, 'max_age %r is not 1 to 10 digits from 0 to %d'
                                % (max_age[1], MAX_AGE_MAX), line=max_age[0],
                                hint='plain digits only, no sign or exponent'))
        rejected = True

    patterns = []
    for number, value in mx:
        try:
            if value.endswith('.'):
                raise MtaStsError('%r ends with a dot' % value, rule='B5',
                                  hint='write mx patterns without the trailing dot')
            if not value.isascii():
                raise MtaStsError('%r is not in A-label (xn--) form' % value, rule='B5',
                                  hint='write the name in its punycode form')
            normalized = normalize_name(value, field='mx', wildcard=True, min_labels=1)
            if '.' not in normalized.replace('*.', '', 1):
                problems.append(Problem('B5', WARNING, 'mx %r is a single label: valid, but no MX host on the '
                                        'internet has such a name' % value, line=number,
                                        hint='write the full host name of the MX'))
        except MtaStsError as exc:
            problems.append(Problem('B5', ERROR, 'mx %s' % exc.message, line=number, hint=exc.hint))
        # Senders keep even a bad pattern; it simply matches no MX.
        patterns.append(value)

    mode_value = mode[1] if mode else None
    if not patterns and mode_value in ('enforce', 'testing'):
        problems.append(Problem('B5', ERROR, 'mode %s without any mx line' % mode_value,
                                hint='add one "mx:" line per MX host or *.suffix pattern'))
        rejected = True
    if rejected:
        return None
    return {
        'version': 'STSv1',
        'mode': mode_value,
        'mx': patterns,
        'max_age': int(max_age[1]),
    }


def parse_policy(data, strict=True):
    """Parse a policy file.

    ``strict=True`` raises MtaStsError listing every MUST violation
    (``problems`` holds them all); ``strict=False`` raises only when a
    sender would reject the file. Returns ``{version, mode, mx, max_age,
    extensions, warnings}`` with warnings as ``"<rule>: <message>"`` strings.
    """
    analysis = analyse_policy(data)
    errors = analysis.errors
    if analysis.policy is None or (strict and errors):
        first = errors[0] if errors else Problem('B1', ERROR, 'invalid policy')
        message = 'invalid MTA-STS policy: ' + '; '.join(str(p) for p in errors)
        raise MtaStsError(message, rule=first.rule, problems=analysis.problems)
    result = dict(analysis.policy)
    tolerated = [p for p in analysis.problems if p.severity != ERROR or not strict]
    result['warnings'] = [str(p) for p in tolerated]
    return result
