# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's rule catalogue: every rule of RFC 8461 (MTA-STS) and
RFC 8460 (TLS-RPT) that the code enforces, as data.

Each rule has an id (``A1``..``F5``, grouped by what it is about), the RFC
and section it comes from, its level (MUST, SHOULD, ...), a one-line
statement, the usual fix, and the findings that ``verify`` reports for it.
``docs/rules.md`` and the findings table of ``docs/verify.md`` are generated
from this file (``make docs``); a unit test fails when they drift.

Citing a rule: messages never spell out an RFC section by hand, they call
``cite(rule_id)``, which gives ``rule B5 (RFC 8461 §3.2)``::

    from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite
    raise MtaStsError('...', rule='B5', ...)      # MtaStsError cites it itself
    '%s: ...' % cite('B5')                        # anywhere else

A new rule is a new ``Rule(...)`` entry below (in its group, ids never
reused), then ``make docs``. A unit test checks that every rule id the
plugins use exists here, and that every ``finding(check, ..., rule)`` has a
findings row for that check.

Private module of the mailsec.mta_sts collection: its interface may change
without notice. Standard library only (it runs on managed hosts).
"""

from __future__ import annotations

from collections import namedtuple

# Levels, in the sense of RFC 2119 where they apply. The project treats a
# MUST as an error and a SHOULD as a warning unless a rule says otherwise.
MUST = 'MUST'
SHOULD = 'SHOULD'
PARSER = 'MUST (readers)'
PUBLISH = 'publish'
ALLOWED = 'allowed'
SENDER = 'sender behaviour'
ADVICE = 'advice'

RFC_MTA_STS = 'RFC 8461'
RFC_TLSRPT = 'RFC 8460'

RFC_URLS = {
    RFC_MTA_STS: 'https://www.rfc-editor.org/rfc/rfc8461',
    RFC_TLSRPT: 'https://www.rfc-editor.org/rfc/rfc8460',
}

# One row of the findings table of docs/verify.md: the ``check`` that
# reports it, the ``severity`` (free text: some depend on the mode) and what
# it means for the domain.
Finding = namedtuple('Finding', 'check severity meaning')

Rule = namedtuple('Rule', 'id rfc sections level title rule fix findings')
Rule.__doc__ = """One rule: ``sections`` is a tuple of section numbers of ``rfc``."""

Group = namedtuple('Group', 'letter title')

GROUPS = (
    Group('A', 'The `_mta-sts` TXT record'),
    Group('B', 'The policy file'),
    Group('C', 'Fetching the policy over HTTPS'),
    Group('D', 'MX hosts under the policy'),
    Group('E', 'Changing and retiring a policy'),
    Group('F', 'The TLS-RPT record'),
)

_CATALOGUE = (
    # --- A: the _mta-sts.<domain> TXT record -------------------------------
    Rule(
        'A1', RFC_MTA_STS, ('3.1',), MUST, 'Exactly one STS record',
        'Senders keep only the TXT records at `_mta-sts.<domain>` that begin with `v=STSv1;`; '
        'unless exactly one is left, the domain has no policy for them.',
        'Leave exactly one `v=STSv1` record at the name (replace the old one when the id changes) '
        'and make sure the zone answers for it.',
        (Finding('sts_record', 'error',
                 'no `v=STSv1;` TXT record, several of them, or the lookup failed (SERVFAIL, REFUSED, no answer, '
                 'a truncated answer that TCP cannot complete): senders see no policy'),
         Finding('sts_record', 'warning',
                 'authoritative mode: a name server of the zone failed (a lame delegation, no answer) while '
                 'another one answered')),
    ),
    Rule(
        'A2', RFC_MTA_STS, ('3.1',), MUST, 'Character strings and ASCII',
        'A record stored as several character strings is read as those strings joined with nothing '
        'in between, and it must be US-ASCII.',
        'Publish ASCII only; splitting a long record is harmless, but never count on a space between the strings.',
        (Finding('sts_record', 'error', 'the record holds non-ASCII characters'),
         Finding('sts_record', 'info', 'the record is split into several strings (senders join them)')),
    ),
    Rule(
        'A3', RFC_MTA_STS, ('3.1',), MUST, 'Record grammar',
        'The record starts with `v=STSv1` (this exact case), followed by `name=value` fields separated '
        'by `;` with optional spaces or tabs around it; a final `;` is allowed and the fields after `v` '
        'may come in any order.',
        'Publish the record as `v=STSv1; id=<id>`.',
        (Finding('sts_record', 'error', 'the record does not follow the grammar'),),
    ),
    Rule(
        'A4', RFC_MTA_STS, ('3.1',), MUST, 'The policy id',
        'The `id` field is required and holds 1 to 32 ASCII letters or digits; senders only compare it '
        'for equality (ids have no order).',
        'Use letters and digits only, at most 32 of them; mailsec.mta_sts.policy derives one from the policy bytes.',
        (Finding('sts_record', 'error', 'no `id`, or an id that is not 1 to 32 letters or digits'),),
    ),
    Rule(
        'A5', RFC_MTA_STS, ('3.1',), PARSER, 'Extension fields in the record',
        'Other fields have a name of a letter or digit followed by up to 31 letters, digits, `_`, `-` '
        'or `.`, and a value of printable ASCII without `=`, `;` or space; readers skip fields they do not '
        'know and, for a repeated field, use the first.',
        'Remove malformed or repeated fields; the collection publishes none.',
        (Finding('sts_record', 'error', 'a malformed extension field'),
         Finding('sts_record', 'warning', 'a field appears more than once (senders use the first)')),
    ),
    Rule(
        'A6', RFC_MTA_STS, ('3.1',), PUBLISH, 'The published record',
        'The collection publishes exactly `v=STSv1; id=<id>`: no extension fields, one space after the '
        '`;` and none before it.',
        'Let mailsec.mta_sts.records write the record, or publish it in exactly that form.',
        (Finding('sts_record', 'warning', 'the record is valid but not exactly `v=STSv1; id=<id>`'),),
    ),
    Rule(
        'A7', RFC_MTA_STS, ('8.2',), ALLOWED, 'Delegation by CNAME',
        '`_mta-sts.<domain>` may be a CNAME to a name in another zone (a hosting provider\'s, say); '
        'senders follow it.',
        'Change the record where the CNAME points, with whoever runs that zone, or remove the CNAME and '
        'publish the record yourself.',
        (Finding('sts_record', 'info', '`_mta-sts` is an alias (CNAME) and was followed'),
         Finding('sts_record', 'error', 'the aliases loop, or there are more than 8 of them: the record is '
                 'out of reach (resolvers give up after 8 to 16 aliases)')),
    ),
    # --- B: the policy file -------------------------------------------------
    Rule(
        'B1', RFC_MTA_STS, ('3.2',), MUST, 'Policy file syntax',
        'The policy is a list of `key: value` lines ended by CRLF or LF (the last line break may be '
        'missing): nothing before the key, optional spaces or tabs after the colon, no blank lines and no '
        'control characters; keys and values are case-sensitive.',
        'Render the policy with mailsec.mta_sts.policy (or the render_policy filter) rather than by hand.',
        (Finding('policy', 'error',
                 'the file breaks the syntax (a byte order mark, blank lines, lines that are not `key: value`, '
                 'not UTF-8): senders reject it'),),
    ),
    Rule(
        'B2', RFC_MTA_STS, ('3.2',), MUST, 'Version',
        'The policy holds `version: STSv1` exactly once.',
        'Start the file with `version: STSv1`.',
        (Finding('policy', 'error', '`version` is missing, repeated or not `STSv1`'),),
    ),
    Rule(
        'B3', RFC_MTA_STS, ('3.2',), MUST, 'Mode',
        'The policy holds `mode:` exactly once, with one of `enforce`, `testing` or `none`.',
        'Use `testing` while you read the TLS-RPT reports, `enforce` once they are clean, `none` to retire.',
        (Finding('policy', 'error', '`mode` is missing, repeated or not one of the three'),
         Finding('expect', 'error', 'the served mode is not the expected one'),
         Finding('advice', 'info', '`testing`: move to `enforce` once the reports are clean')),
    ),
    Rule(
        'B4', RFC_MTA_STS, ('3.2',), MUST, 'max_age',
        'The policy holds `max_age:` exactly once, as 1 to 10 digits worth at most 31557600 seconds '
        '(about a year); under a day is legal but weak, and so is `enforce` for less than a week '
        '(warnings).',
        'Use 604800 (a week) or more once the policy is stable, and 86400 while you are still changing it.',
        (Finding('policy', 'error', '`max_age` is missing, repeated, not 1 to 10 digits, or over a year'),
         Finding('policy', 'warning', '`max_age` under a day, or `enforce` with under a week'),
         Finding('expect', 'error', 'the served `max_age` is not the expected one')),
    ),
    Rule(
        'B5', RFC_MTA_STS, ('3.2',), MUST, 'MX patterns',
        'Each `mx:` line holds one host name in A-label (punycode) form, without a trailing dot and not an '
        'IP address, optionally starting with `*.`; at least one is needed unless the mode is `none`.',
        'List every MX host by name (or a `*.<parent>` pattern), one per `mx:` line, in its `xn--` form.',
        (Finding('policy', 'error', 'a malformed `mx` pattern, or no `mx` line outside mode `none`'),
         Finding('expect', 'error', 'the served `mx` patterns are not the expected ones')),
    ),
    Rule(
        'B6', RFC_MTA_STS, ('3.2',), PARSER, 'Extension keys in the policy',
        'Other keys use letters, digits, `_`, `-` and `.`, with printable values free of control characters '
        'and of surrounding spaces; readers ignore keys they do not know and, for a repeated key other than '
        '`mx`, use the first.',
        'Remove unknown or misspelt keys (`nmx:` for `mx:`) and repeated lines.',
        (Finding('policy', 'error', 'an invalid key, or an extension without a proper value'),
         Finding('policy', 'warning', 'an unknown key (senders ignore it) or a repeated extension')),
    ),
    Rule(
        'B7', RFC_MTA_STS, ('3.2',), PUBLISH, 'The published policy',
        'The collection writes one canonical form: CRLF line ends, `version`, `mode`, the `mx` lines, '
        'then `max_age`, ASCII only, no byte order mark and a final CRLF; `mx` lines stay in mode `none` '
        'because some senders insist on them.',
        'Render the file with mailsec.mta_sts.policy; other forms that senders accept are only warned about.',
        (Finding('policy', 'warning', 'LF line ends, another field order, non-ASCII text or no final line break'),),
    ),
    # --- C: fetching the policy --------------------------------------------
    Rule(
        'C1', RFC_MTA_STS, ('3.3',), MUST, 'HTTPS and the policy host certificate',
        'Senders fetch the policy only over HTTPS from `mta-sts.<domain>`, and only from a server whose '
        'certificate is valid now, chains to a root they trust and names that host in its SAN (a wildcard '
        'counts only as the whole left-most label; the CN is not used).',
        'Serve a certificate from a public CA (ACME, for instance) whose SAN lists `mta-sts.<domain>`, '
        'send the full chain, and renew it in time.',
        (Finding('policy_host', 'error',
                 '`mta-sts.<domain>` does not resolve or refuses connections, or its certificate is expired, '
                 'not yet valid, self-signed, untrusted (e.g. an intermediate missing from the chain) or for '
                 'another name, or names the host only in its subject CN (no subjectAltName); TLS older than 1.2; '
                 'in authoritative mode, a name server of the zone serves other addresses for it'),
         Finding('policy_host', 'warning', 'the certificate expires in less than 14 days')),
    ),
    Rule(
        'C2', RFC_MTA_STS, ('3.3',), MUST, 'Status 200, no redirects',
        'Only an HTTP 200 answer carries a policy; senders do not follow 3xx redirects and do not use '
        'HTTP caching.',
        'Serve the file itself at `https://mta-sts.<domain>/.well-known/mta-sts.txt`, with status 200.',
        (Finding('fetch', 'error', 'a status other than 200, a redirect (its target is named), a broken exchange '
                 '(garbage or HTTP/2 frames instead of a status line, a header section over 64 KiB, a reset, a body '
                 'cut short of its framing) or a body compressed although the request did not ask for it'),
         Finding('fetch', 'warning', 'more body bytes than the Content-Length announced (senders take only that many)'),
         Finding('expect', 'error', 'no policy could be fetched, so the expectations cannot be checked')),
    ),
    Rule(
        'C3', RFC_MTA_STS, ('3.3',), SHOULD, 'Media type text/plain',
        'The policy is served as `text/plain` (a charset parameter is fine); senders should check it and '
        'several refuse anything else, so the collection treats another or a missing type as an error.',
        'Send the policy file with `Content-Type: text/plain`.',
        (Finding('fetch', 'error', '`Content-Type` is not `text/plain`, is missing, or is repeated with different types'),
         Finding('fetch', 'warning', '`Content-Type: text/plain` is repeated')),
    ),
    Rule(
        'C4', RFC_MTA_STS, ('3.3',), SHOULD, 'Size and time limits',
        'Senders may stop reading after a size cap (64 KiB suggested, 10 KB in one known sender) and give '
        'up after a time limit (about a minute suggested).',
        'Keep the policy to its few lines and the policy host quick to answer.',
        (Finding('policy_host', 'error', 'no connection to port 443 or no TLS handshake within `timeout`'),
         Finding('fetch', 'error', 'a body over 64 KiB, or no complete answer within `timeout`'),
         Finding('fetch', 'warning', 'a body over 10 KB (one sender\'s cap)')),
    ),
    Rule(
        'C5', RFC_MTA_STS, ('7.1',), MUST, 'SNI',
        'Senders send the policy host name as SNI; the server must answer with the certificate chain for '
        'that name or end the handshake.',
        'Give `mta-sts.<domain>` a server block (virtual host) of its own, with its certificate.',
        (Finding('policy_host', 'error', 'the handshake fails for that SNI name: a TLS alert (e.g. '
                 '`unrecognized_name`, `no_application_protocol`) or a close in the middle of the handshake'),),
    ),
    # --- D: MX hosts under the policy --------------------------------------
    Rule(
        'D1', RFC_MTA_STS, ('4.1',), MUST, 'An MX matches a pattern',
        'An MX host is valid if it equals a pattern, or if the pattern is `*.<suffix>` and the MX is exactly '
        'one more label in front of `<suffix>`, compared without regard to case or a trailing dot: '
        '`*.example.com` covers `mail.example.com`, not `example.com` nor `a.b.example.com`.',
        'Add an `mx:` line for the uncovered host (it makes a new policy id); remove patterns no MX uses '
        'once `max_age` has passed.',
        (Finding('mx', 'error / warning',
                 'an MX the policy does not cover: an error in `enforce` (senders refuse it), a warning in `testing`'),
         Finding('mx', 'warning', 'a pattern that matches no MX (stale)')),
    ),
    Rule(
        'D2', RFC_MTA_STS, ('4.2', '7.2'), MUST, 'STARTTLS and the MX certificate',
        'Every MX offers STARTTLS with TLS 1.2 or later, with a certificate that is unexpired, chains to a '
        'trusted root and names the MX host in its SAN (SNI set to that host).',
        'Enable STARTTLS on the MX with a publicly trusted certificate for its host name, and renew it in time.',
        (Finding('mx_tls', 'error in `enforce`, warning in `testing` or without policy, info in `none`',
                 'per MX address: SMTP unreachable, no greeting or a 421 greeting, garbled replies, no STARTTLS '
                 'or STARTTLS refused, a close right after the handshake, certificate expired, not yet valid, '
                 'self-signed, untrusted, for another name or naming the host only in its CN, TLS older than 1.2'),
         Finding('mx_tls', 'warning', 'the MX certificate expires in less than 14 days')),
    ),
    Rule(
        'D3', RFC_MTA_STS, ('5', '8.4'), SHOULD, 'Every MX counts',
        'The policy applies to every MX, backups included, and a backup\'s faults only show when the primary '
        'is down; every MX needs to resolve.',
        'Check all MX hosts, not just the primary, and fix each one that does not resolve or fails D1 or D2.',
        (Finding('mx', 'error / warning / info',
                 'the MX lookup failed; no MX (senders use the domain\'s own address); an MX without an address; '
                 'a null MX (info); in authoritative mode, a name server of the zone serves other MX records '
                 '(error) or fails while another answers (warning)'),),
    ),
    Rule(
        'D4', RFC_MTA_STS, ('5.1',), SENDER, 'Enforce refuses delivery',
        'Under `enforce`, senders do not deliver to an MX that fails D1 or D2, so an uncovered MX or a bad MX '
        'certificate delays or loses mail; under `testing` they deliver anyway and report.',
        'Start in `testing`, read the TLS-RPT reports, and move to `enforce` only when they are clean.',
        (),
    ),
    # --- E: changing and retiring ------------------------------------------
    Rule(
        'E1', RFC_MTA_STS, ('3.1',), MUST, 'A new id for every change',
        'Any change to the policy\'s content needs a new id in the TXT record: senders fetch the policy '
        'again only when the id changes.',
        'Publish the id of the new policy (mailsec.mta_sts.policy returns it) once the new file is served.',
        (Finding('policy', 'info or error',
                 'the TXT id differs from the id derived from the served bytes (see below)'),
         Finding('expect', 'error', 'the served policy text or the TXT id is not the expected one'),
         Finding('sts_record', 'error', 'authoritative mode: a name server of the zone still serves another '
                 'id (a lagging secondary): senders whose resolver asks it keep the old policy')),
    ),
    Rule(
        'E2', RFC_MTA_STS, ('8.1',), SHOULD, 'Serve first, publish second',
        'Serve the new policy from every policy host before publishing its id: a sender that sees the new '
        'id while the old file is still served keeps the old policy under the new id.',
        'Deploy the policy file, verify it, then update the TXT record (the deploy playbook does it in this order).',
        (Finding('fetch', 'error', 'the addresses of the policy host serve different policies'),),
    ),
    Rule(
        'E3', RFC_MTA_STS, ('5.1',), SENDER, 'Cached policies outlive changes',
        'Senders keep using a cached policy that has not expired when no fresh one can be fetched; removing '
        'the TXT record does not clear their cache.',
        'Plan each change around the largest `max_age` you have served; retire as E4 says.',
        (),
    ),
    Rule(
        'E4', RFC_MTA_STS, ('8.3',), SHOULD, 'Retiring a policy',
        'To retire MTA-STS, publish `mode: none` with a short `max_age` under a new id, keep serving it until '
        'the longest `max_age` ever served has run out, and only then remove the TXT record and the policy host.',
        'Publish mode `none` with `max_age` 86400 or less, wait, then remove the records and the host.',
        (Finding('advice', 'warning', '`none` with a `max_age` over a day (retire with a short one)'),),
    ),
    Rule(
        'E5', RFC_MTA_STS, ('8.1',), SHOULD, 'Moving MX hosts',
        'Before mail moves to a new MX, add it to the policy (with a new id), and drop the old MX from the '
        'policy only after the old `max_age` has passed.',
        'Add the new MX first, wait out `max_age`, then remove the old one.',
        (),
    ),
    # --- F: the TLS-RPT record ---------------------------------------------
    Rule(
        'F1', RFC_TLSRPT, ('3',), MUST, 'TLS-RPT record grammar',
        'The TXT record at `_smtp._tls.<domain>` starts with `v=TLSRPTv1` (this exact case), followed by '
        'fields separated by `;` with optional spaces or tabs; a final `;` is allowed.',
        'Publish `v=TLSRPTv1; rua=<uri>`.',
        (Finding('tlsrpt', 'error', 'the record does not follow the grammar'),),
    ),
    Rule(
        'F2', RFC_TLSRPT, ('3',), MUST, 'Exactly one TLS-RPT record',
        'Records not starting with `v=TLSRPTv1;` are skipped and a record in several strings is joined '
        'without spaces; unless exactly one is left there is no reporting, and nobody hears of failures.',
        'Publish exactly one TLS-RPT record, above all while the policy is in mode `testing`.',
        (Finding('tlsrpt', 'error', 'several TLS-RPT records'),
         Finding('tlsrpt', 'warning', 'no TLS-RPT record, or the lookup failed; in authoritative mode, a name '
                 'server of the zone serves another record or fails while another answers'),
         Finding('advice', 'warning', '`testing` without TLS-RPT: nobody gets the reports that testing is for')),
    ),
    Rule(
        'F3', RFC_TLSRPT, ('3',), MUST, 'Report addresses (rua)',
        '`rua=` is required: one or more `mailto:` or `https:` URIs separated by commas (spaces allowed '
        'around them), with any `,`, `!` or `;` inside a URI percent-encoded.',
        'Give full URIs, such as `mailto:tlsrpt@example.com` or `https://reports.example.com/tlsrpt`.',
        (Finding('tlsrpt', 'error', 'no `rua`, or a URI that is not a valid `mailto:` or `https:` URI'),
         Finding('expect', 'error', 'the published `rua` is not the expected one')),
    ),
    Rule(
        'F4', RFC_TLSRPT, ('3',), PARSER, 'Extension fields in the TLS-RPT record',
        'Readers ignore fields they do not know; such fields follow the syntax of A5.',
        'Remove malformed fields.',
        (Finding('tlsrpt', 'error', 'a malformed extension field'),
         Finding('tlsrpt', 'warning', 'a field appears more than once (senders use the first)')),
    ),
    Rule(
        'F5', RFC_TLSRPT, ('3',), ADVICE, 'Common TLS-RPT mistakes',
        'The draft-era name `_smtp-tlsrpt` is not read by senders, and a `rua` without a scheme '
        '(`rua=postmaster@example.com`) is invalid.',
        'Publish at `_smtp._tls.<domain>` and put `mailto:` in front of addresses.',
        (Finding('tlsrpt', 'error', 'a `rua` address without its `mailto:` scheme'),
         Finding('tlsrpt', 'warning', 'a record at the old draft name `_smtp-tlsrpt`')),
    ),
)

RULES = {item.id: item for item in _CATALOGUE}

# Where the prose of an RFC and its ABNF disagree (or the ABNF leaves a gap),
# the choice the parsers make and why. Rendered as the "Grammar notes"
# section of docs/rules.md; tests/unit/.../test_abnf.py has a row for each,
# named after its id. Rule: follow the ABNF unless a reason is given here.
GrammarNote = namedtuple('GrammarNote', 'id rules where prose abnf choice')

GRAMMAR_NOTES = (
    GrammarNote(
        'G1', ('A1', 'A3', 'F1', 'F2'), 'RFC 8461 §3.1, RFC 8460 §3',
        'Records that do not begin with `v=STSv1;` (`v=TLSRPTv1;`) are discarded.',
        'The delimiter is `*WSP ";" *WSP`, so `v=STSv1 ; id=...` is a valid record.',
        'The ABNF: such a record is selected and valid. `verify` adds a warning (A1, F2): readers that '
        'follow the letter of the prose discard it.'),
    GrammarNote(
        'G2', ('B1', 'B7'), 'RFC 8461 §3.2',
        'The policy is a list of "CRLF-separated" key/value pairs.',
        '`sts-policy-term = LF / CRLF`, and the last line break is optional.',
        'The ABNF: LF, a mix of LF and CRLF, and a last line without a break are valid. The collection '
        'publishes CRLF with a final CRLF, so `verify` notes the others as B7 warnings.'),
    GrammarNote(
        'G3', ('F3',), 'RFC 8460 §3',
        'Two reporting schemes are defined, `mailto:` and `https:`; a reporter MAY deliver to each '
        'supported `rua` destination.',
        '`tlsrpt-uri = URI`: any scheme.',
        'The ABNF for validity: a URI with another scheme is kept, with an F3 warning (reporters skip it). '
        'Because no report can be sent otherwise, a record without any `mailto:` or `https:` URI is refused '
        '(F3). The records module only publishes `mailto:` and `https:` URIs.'),
    GrammarNote(
        'G4', ('B4',), 'RFC 8461 §3.2',
        '`max_age` has a maximum value of 31557600.',
        '`1*10(DIGIT)`: up to 9999999999, leading zeros allowed.',
        'Both: leading zeros and up to 10 digits are read; a value above 31557600 is refused (B4), since '
        'the prose sets the maximum as a requirement. 11 digits, signs and exponents are refused.'),
    GrammarNote(
        'G5', ('B5',), 'RFC 8461 §3.2, RFC 5321 §4.1.2',
        'An `mx` pattern names MX hosts.',
        '`["*." ] Domain`, and a `Domain` may be a single label (`mx: localhost`, `mx: *.com`).',
        'The ABNF when reading a policy: a single label is valid, with a B5 warning (no MX host on the '
        'internet has such a name). The policy module still asks for at least two labels in its inputs.'),
    GrammarNote(
        'G6', ('B5',), 'RFC 8461 §3.2, §4.1',
        'Patterns are compared with the host names of MX records.',
        '`Domain` allows all-numeric labels, so `192.0.2.1` matches the grammar.',
        'Refused (B5): an MX record names a host, never an address (RFC 5321 §5.1), a dotted quad is not a '
        'host name (RFC 1123 §2.1) and no top-level domain is all-numeric (RFC 3696 §2). Address literals '
        '(`[192.0.2.1]`) are outside the grammar anyway.'),
    GrammarNote(
        'G7', ('B5',), 'RFC 8461 §3.2, RFC 1035 §2.3.4',
        'Patterns are DNS names.',
        '`Domain` has no length limit.',
        'Refused (B5): labels over 63 octets and names over 253 characters, which DNS cannot hold.'),
    GrammarNote(
        'G8', ('B6',), 'RFC 8461 §3.2, RFC 5234 Appendix B.1',
        'Extension values exclude "CTLs".',
        '`sts-policy-vchar = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4`, and only SP may stand between two of them; '
        'CTL in ABNF is `%x00-1F / %x7F`.',
        'The ABNF: a tab inside a value is refused (B6); C1 controls (U+0080 to U+009F) are UTF8-2 '
        'characters and are accepted (non-ASCII text is a B7 warning).'),
    GrammarNote(
        'G9', ('B1', 'B7'), 'RFC 8461 §3.2',
        'Lines are `key: value`.',
        '`sts-policy-field *WSP`: whitespace may follow every field; none may precede the key or the colon.',
        'The ABNF: trailing whitespace is valid, not part of the value, and noted as a B7 warning (it was '
        'refused as B1 before this audit). Whitespace before the key or the colon is refused (B1); lenient '
        'parsing strips it.'),
    GrammarNote(
        'G10', ('A3', 'F1'), 'RFC 8461 §3.1, RFC 8460 §3',
        'Fields are separated by semicolons, with optional whitespace.',
        'Whitespace only belongs to a delimiter; `rua=` is followed directly by a URI.',
        'The ABNF in strict parsing: whitespace after the last field without a `;` (`id=abc `), and after '
        '`rua=`, are refused (A3, F1). Lenient parsing reads the field and warns.'),
    GrammarNote(
        'G11', ('A5', 'F4'), 'RFC 8461 §3.1, RFC 8460 §3',
        'Unknown fields are ignored.',
        'An extension field must match `ext-name "=" ext-value`, or the record is outside the grammar.',
        'Strict parsing (and `verify`, which reads as the strictest senders do) refuses a malformed field '
        '(A5, F4), an empty field (`;;`) and a field without `=` (A3, F1); lenient parsing ignores them with '
        'a warning. A well-formed unknown field is ignored in both.'),
    GrammarNote(
        'G12', ('A5', 'B2', 'B3', 'B4', 'B6', 'F4'), 'RFC 8461 §3.1, §3.2, RFC 8460 §3',
        'Only the policy fields "required once" are singled out.',
        'Any field may repeat.',
        'Records: the first `id` or `rua` wins, with a warning. Policy: a repeated `version`, `mode` or '
        '`max_age` is refused in strict parsing (B2-B4: "required once"), lenient parsing takes the first; '
        'a repeated extension key keeps the first value, with a warning (B6).'),
    GrammarNote(
        'G13', ('A2', 'F2'), 'RFC 8461 §3.1, RFC 8460 §3',
        'A record of several character-strings is read as their concatenation.',
        'The grammar applies to the joined text.',
        'Strings are joined with nothing added, wherever the split falls (inside `v=STSv1`, inside a field); '
        'a byte outside US-ASCII is refused (A2).'),
)


def get(rule_id):
    """The Rule with this id, or None."""
    return RULES.get(rule_id)


def reference(rule_id):
    """Where a rule comes from: ``RFC 8461 §3.2``; ``''`` for an unknown id."""
    item = RULES.get(rule_id)
    if item is None:
        return ''
    return '%s %s' % (item.rfc, ', '.join('§' + section for section in item.sections))


def cite(rule_id):
    """How messages name a rule: ``rule B5 (RFC 8461 §3.2)``.

    An id missing from the catalogue is still named (``rule X9``) rather than
    breaking an error message; a unit test keeps the plugins from citing one.
    """
    if not rule_id:
        return ''
    where = reference(rule_id)
    return 'rule %s (%s)' % (rule_id, where) if where else 'rule %s' % rule_id


def fix(rule_id):
    """The usual fix for a rule, or None."""
    item = RULES.get(rule_id)
    return item.fix if item else None
