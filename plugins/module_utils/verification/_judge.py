# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Judge what a sending MTA sees of an MTA-STS deployment (A-F), without network.

Every ``judge_*`` function takes what was seen (DNS answers, fetch results,
STARTTLS probes, the served bytes) and returns findings; nothing here opens
a socket or reads the clock, so each rule can be tested on hand-made input.
:mod:`._verify` runs the lookups, fetches and probes and feeds them here.

Private module of the mailsec.mta_sts collection (controller only).
"""

from __future__ import annotations

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import ERROR, INFO, WARNING, MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import VERIFY, check_item
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._fetch import MAX_POLICY_BYTES
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import finding, from_problem
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    ONE_DAY,
    analyse_policy,
    mx_match,
    normalize_domain,
    normalize_mx_patterns,
    policy_id,
    validate_max_age,
    validate_mode,
    validate_policy_id,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    discover_sts,
    discover_tlsrpt,
    join_txt,
    select_records,
    validate_rua,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import (
    EXPIRY_WARNING_DAYS,
    describe_tls_failure,
    expiry_level,
)

SMALL_POLICY_BYTES = 10240  # C4: one known sender caps the body at 10 KB


# ---------------------------------------------------------------------------
# Inputs


def normalize_spec(item, index=0):
    """A ``domains`` entry (a name or a dict) -> ``{domain, expect: {...}}``."""
    field = 'domains[%d]' % index
    if isinstance(item, str):
        return {'domain': _domain(item, field), 'expect': {}}
    if not isinstance(item, dict):
        raise MtaStsError('must be a domain name or a dict with a "domain" key', field=field)
    # A domain item of the one inventory shape: the keys of other consumers
    # (certificates, DNS publishing, state) pass; a typo is refused.
    item = check_item(item, VERIFY, field)
    domain = _domain(item['domain'], field)
    expect = {}
    if item.get('mode') is not None:
        expect['mode'] = validate_mode(item['mode'], domain)
    if item.get('mx') is not None:
        expect['mx'] = normalize_mx_patterns(item['mx'], domain)
    if item.get('max_age') is not None:
        expect['max_age'] = validate_max_age(item['max_age'], domain)
    if item.get('policy_id') is not None:
        expect['policy_id'] = validate_policy_id(str(item['policy_id']), domain)
    if item.get('policy') is not None:
        expect['policy'] = str(item['policy'])
    if item.get('tlsrpt_rua') is not None:
        rua = item['tlsrpt_rua']
        rua = [rua] if isinstance(rua, str) else list(rua)
        expect['tlsrpt_rua'] = [validate_rua(uri, domain) for uri in rua]
    if item.get('derived_id') is not None:
        expect['derived_id'] = bool(item['derived_id'])
    return {'domain': domain, 'expect': expect}


def _domain(name, field):
    try:
        return normalize_domain(name)
    except MtaStsError as exc:
        hint = exc.hint
        if 'IP address' in exc.message:
            hint = 'give the mail domain (the part after @ in addresses), not an address'
        raise MtaStsError(exc.message, rule=exc.rule, field=field, hint=hint) from None


# ---------------------------------------------------------------------------
# Judging what was seen (no network)


def judge_sts_record(answer_status, answer_error, records, cnames=()):
    """A1-A6 from the TXT records at ``_mta-sts.<domain>``.

    ``records`` are lists of strings (bytes or str). Returns ``(parsed or
    None, findings, texts)``.
    """
    findings = []
    texts = [join_txt(record, lenient=True) for record in records]
    if answer_status == 'error' and (answer_error or '').startswith('CNAME '):
        # The resolver's alias errors ("CNAME loop: ...", "CNAME chain longer
        # than 8 aliases ...") start with "CNAME ": the record is unreachable.
        findings.append(finding('sts_record', ERROR, 'A7', 'the TXT lookup failed: %s' % answer_error,
                                'point _mta-sts.<domain> straight at the name that holds the TXT record'))
        return None, findings, texts
    if answer_status == 'error':
        findings.append(finding('sts_record', ERROR, 'A1', 'the TXT lookup failed: %s' % answer_error,
                                'make the zone answer for _mta-sts.<domain>; senders see no policy meanwhile'))
        return None, findings, texts
    for alias in cnames:
        findings.append(finding('sts_record', INFO, 'A7', '%s is an alias (CNAME) followed to its target' % alias))
    parsed, problems = discover_sts(records)
    findings.extend(from_problem('sts_record', problem) for problem in problems)
    for record, text in zip(records, texts):
        strings = record if isinstance(record, (list, tuple)) else [record]
        if len(strings) > 1 and text.startswith(STS_PREFIX):
            findings.append(finding('sts_record', INFO, 'A2', 'the record is split into %d strings; senders join '
                                    'them without spaces' % len(strings)))
    return parsed, findings, texts


def judge_name_servers(answer, check, seen_notes=None):
    """Authoritative mode: what the zone's other name servers said about
    the same question (``answer`` is a resolver Answer).

    A server that serves something else (a lagging secondary) is an error
    for the TXT records, the MX and the policy host (so ``retries`` waits
    until every server agrees) and a warning for TLS-RPT. A server that
    failed while another one answered (a lame delegation, a dead server) is
    a warning: resolvers try the next server, more slowly. ``seen_notes``
    (a set) keeps one finding per failing server and zone per domain.
    """
    findings = []
    name = answer.name.rstrip('.')
    if answer.disagreements:
        current = _describe_values(answer.rdtype, answer.status, _answer_values(answer))
    for other in answer.disagreements:
        what = _describe_values(answer.rdtype, other['status'], other['values'])
        message = '%s (%s) still serves %s at %s; %s serves %s' % (
            other['server'], other['address'], what, name, answer.server, current)
        hint = ('wait until %s has the zone\'s newest serial (zone transfer), or fix its copy of the zone'
                % other['server'])
        if check == 'sts_record':
            findings.append(finding('sts_record', ERROR, 'E1', message + '; senders whose resolver asks it see '
                                    'the old id and keep the old policy', hint))
        elif check == 'mx':
            findings.append(finding('mx', ERROR, 'D3', message, hint))
        elif check == 'policy_host':
            findings.append(finding('policy_host', ERROR, 'C1', message, hint))
        else:
            findings.append(finding('tlsrpt', WARNING, 'F2', message, hint))
    for note in answer.notes:
        if seen_notes is not None:
            if note in seen_notes:
                continue
            seen_notes.add(note)
        message = 'name server %s; resolvers that ask it must try another one' % note
        hint = 'make every NS host of the zone serve it, or remove the failing one from the NS records'
        if check == 'sts_record':
            findings.append(finding('sts_record', WARNING, 'A1', message, hint))
        elif check == 'mx':
            findings.append(finding('mx', WARNING, 'D3', message, hint))
        elif check == 'policy_host':
            findings.append(finding('policy_host', WARNING, 'C1', message, hint))
        else:
            findings.append(finding('tlsrpt', WARNING, 'F2', message, hint))
    return findings


def _answer_values(answer):
    out = []
    for rdata in answer.rdatas:
        strings = getattr(rdata, 'strings', None)
        out.append(join_txt(list(strings), lenient=True) if strings is not None else rdata.to_text())
    return sorted(out)


def _describe_values(rdtype, status, values):
    """'id=abc' for an STS record, the records otherwise, or the negative answer."""
    if status == 'nxdomain':
        return 'no such name (NXDOMAIN)'
    if status == 'error':
        return 'no answer'
    if not values:
        return 'no %s record' % rdtype
    shown = []
    for value in values:
        if rdtype == 'TXT' and value.startswith(STS_PREFIX):
            ids = [part.strip(' \t')[3:] for part in value.split(';') if part.strip(' \t').startswith('id=')]
            shown.append('id=%s' % ids[0] if ids else value)
        else:
            shown.append(value)
    return ', '.join(shown)


def judge_fetch(fetch, timeout):
    """C1-C5 for each address of the policy host. Returns ``(body or None,
    findings)``; the body is what a sender takes (the first address that
    answers 200 text/plain within the caps)."""
    findings = []
    host = fetch['host']
    if not fetch['addresses']:
        detail = '; '.join(fetch['dns_failures']) or '%s has no A or AAAA record' % host
        findings.append(finding('policy_host', ERROR, 'C1', '%s does not resolve: %s' % (host, detail),
                                'publish A/AAAA records for %s pointing at the policy host' % host))
        return None, findings
    several = len(fetch['results']) > 1
    body = None
    for result in fetch['results']:
        where = '%s (%s)' % (host, result['address']) if several else host
        findings.extend(_judge_one_fetch(result, where, host, timeout))
        if body is None and _sender_accepts(result):
            body = result['body']
    bodies = {r['body'] for r in fetch['results'] if _sender_accepts(r)}
    if len(bodies) > 1:
        findings.append(finding('fetch', ERROR, 'E2', 'the addresses of %s serve different policies' % host,
                                'deploy the same policy file to every policy host before publishing the id'))
    return body, findings


def _sender_accepts(result):
    return (result['stage'] == 'done' and result['status'] == 200 and not result['too_large']
            and _media_type(result['content_type']) == 'text/plain'
            and not result.get('content_encoding') and not _conflicting_types(result))


def _conflicting_types(result):
    """Several Content-Type headers naming different media types."""
    return len({_media_type(value) for value in result.get('content_types') or ()}) > 1


def _media_type(content_type):
    if not content_type:
        return None
    return content_type.split(';', 1)[0].strip().lower()


# What a broken HTTP exchange means, and its fix, by error kind of _fetch.
_HTTP_FAILURES = {
    'closed': ('the connection closed before a complete response', 'make the policy host answer the request'),
    'reset': ('the connection was reset in the middle of the response',
              'find what aborts the connection (proxy, load balancer, crash in the logs)'),
    'truncated': ('the response was cut short (%s); senders discard a partial policy, so none was judged',
                  'make the server send the whole body it announces (check proxies and Content-Length)'),
    'http2': ('the server speaks only HTTP/2; senders that fetch with HTTP/1.1 get no policy',
              'enable HTTP/1.1 on the policy host (ALPN http/1.1, or no ALPN)'),
    'headers_too_large': ('%s', 'send a short header section'),
    'bad_status': ('%s', 'serve the policy with a plain HTTP/1.1 200 response'),
    'upgrade': ('%s', 'answer the GET with the policy, without switching protocols'),
    'tls': ('%s', 'check the TLS setup of the policy host'),
}


def _judge_one_fetch(result, where, host, timeout):
    out = []
    kind = result['error_kind']
    if result['stage'] == 'connect':
        if kind == 'timeout':
            out.append(finding('policy_host', ERROR, 'C4', '%s: no connection to port 443 within %gs' % (where, timeout),
                               'make the policy host reachable on port 443'))
        else:
            out.append(finding('policy_host', ERROR, 'C1', '%s: cannot connect to port 443: %s' % (where, result['error']),
                               'make the policy host listen on port 443 with HTTPS'))
        return out
    if result['stage'] == 'tls':
        if kind == 'timeout':
            out.append(finding('policy_host', ERROR, 'C4', '%s: no TLS handshake within %gs' % (where, timeout),
                               'make the policy host answer TLS on port 443 quickly'))
            return out
        rule = 'C5' if kind in ('sni_refused', 'handshake', 'alpn') else 'C1'
        hint = {
            'expired': 'renew the certificate of %s' % host,
            'not_yet_valid': 'check the clock of the CA and the host; reissue the certificate',
            'name_mismatch': 'use a certificate whose SAN lists %s (or *.<domain>)' % host,
            'self_signed': 'use a certificate from a CA that senders trust',
            'untrusted': 'serve the full chain (leaf + intermediates) from a CA that senders trust',
            'old_tls': 'enable TLS 1.2 and 1.3 on the policy host',
            'sni_refused': 'configure a server block (virtual host) for %s with its certificate' % host,
            'alpn': 'accept HTTP/1.1 in ALPN on the policy host',
            'handshake': 'find why the server aborts the handshake for %s (its TLS log)' % host,
        }.get(kind, 'serve %s over HTTPS with a certificate for that name' % host)
        out.append(finding('policy_host', ERROR, rule, '%s: %s (%s)' % (
            where, describe_tls_failure(kind, host), result['error']), hint))
        return out
    cert = result['certificate'] or {}
    if result.get('cn_only'):
        out.append(finding('policy_host', ERROR, 'C1', '%s: %s' % (where, describe_tls_failure('cn_only', host)),
                           'reissue the certificate with %s in its subjectAltName (every ACME CA does)' % host))
    if expiry_level(cert.get('days_left')) == 'soon':
        out.append(finding('policy_host', WARNING, 'C1', '%s: the certificate expires in %d day(s)'
                           % (where, cert['days_left']),
                           'renew it now (warning under %d days)' % EXPIRY_WARNING_DAYS))
    if kind == 'timeout':
        out.append(finding('fetch', ERROR, 'C4', '%s: the policy did not arrive within %gs' % (where, timeout),
                           'make the policy host answer fast; senders give up (RFC 8461 suggests 1 minute)'))
        return out
    if kind:
        text, hint = _HTTP_FAILURES.get(kind, ('the HTTP exchange failed: %s',
                                               'serve the policy with a plain HTTP/1.1 200 response'))
        out.append(finding('fetch', ERROR, 'C2', '%s: %s' % (where, text % result['error'] if '%s' in text else text),
                           hint))
        return out
    status = result['status']
    if 300 <= status < 400:
        target = result['location'] or '(no Location header)'
        out.append(finding('fetch', ERROR, 'C2', '%s: HTTP %d redirect to %s; senders do not follow redirects'
                           % (where, status, target),
                           'serve the policy directly at https://%s/.well-known/mta-sts.txt with status 200' % host))
        return out
    if status != 200:
        out.append(finding('fetch', ERROR, 'C2', '%s: HTTP %d %s; only 200 is a policy' % (where, status, result['reason']),
                           'serve the policy file at /.well-known/mta-sts.txt'))
        return out
    if result.get('content_encoding'):
        out.append(finding('fetch', ERROR, 'C2', '%s: the body is sent with Content-Encoding: %s although the '
                           'request did not ask for it; senders that do not decode it see no policy'
                           % (where, result['content_encoding']),
                           'serve the policy uncompressed unless the request sends Accept-Encoding'))
    if result.get('excess'):
        out.append(finding('fetch', WARNING, 'C2', '%s: the server sent more bytes than its Content-Length of %d; '
                           'senders take only the first %d' % (where, result['content_length'], result['content_length']),
                           'make Content-Length match the policy file (check proxies that rewrite the body)'))
    types = result.get('content_types') or []
    media = _media_type(result['content_type'])
    if _conflicting_types(result):
        out.append(finding('fetch', ERROR, 'C3', '%s: several Content-Type headers (%s); senders pick different ones'
                           % (where, ', '.join(types)), 'send exactly one "Content-Type: text/plain" header'))
    elif len(types) > 1:
        out.append(finding('fetch', WARNING, 'C3', '%s: the Content-Type header is repeated %d times; some clients '
                           'join the values into an invalid type' % (where, len(types)),
                           'send exactly one "Content-Type: text/plain" header'))
    if media != 'text/plain':
        shown = result['content_type'] or 'no Content-Type'
        out.append(finding('fetch', ERROR, 'C3', '%s: served as %s, not text/plain; several senders refuse it'
                           % (where, shown), 'serve the policy with "Content-Type: text/plain"'))
    if result['too_large']:
        out.append(finding('fetch', ERROR, 'C4', '%s: the policy is larger than %d bytes; senders stop reading'
                           % (where, MAX_POLICY_BYTES), 'keep the policy to its few lines'))
    elif result['size'] > SMALL_POLICY_BYTES:
        out.append(finding('fetch', WARNING, 'C4', '%s: the policy is %d bytes; one sender caps it at 10 KB'
                           % (where, result['size']), 'keep the policy to its few lines'))
    return out


def judge_policy(body, record, expect):
    """B1-B7, E1 and the expectations for the served bytes.

    ``record`` is the parsed TXT record (or None). Returns ``(policy or
    None, findings, derived_id)``; ``policy`` is what a sender acts on.
    """
    findings = []
    analysis = analyse_policy(body)
    findings.extend(from_problem('policy', problem) for problem in analysis.problems)
    policy = analysis.policy
    if policy is None:
        findings.append(finding('policy', ERROR, 'B1', 'senders reject this policy file: no MTA-STS policy applies',
                                'fix the errors listed above'))
    derived = policy_id(body)
    txt_id = record['id'] if record else None
    if txt_id and 'policy_id' not in expect and txt_id != derived:
        strict = expect.get('derived_id', False)
        findings.append(finding(
            'policy', ERROR if strict else INFO, 'E1',
            'the TXT id %s is not the id derived from the served bytes (%s): if this domain is deployed with '
            'mailsec.mta_sts, the policy changed but the id was not bumped' % (txt_id, derived),
            'publish "v=STSv1; id=%s" once the policy is served everywhere' % derived))
    if 'policy' in expect:
        wanted = expect['policy'].encode('utf-8')
        if body != wanted:
            findings.append(finding('expect', ERROR, 'E1', 'the served policy is not the expected text (%d bytes served, '
                                    '%d expected)' % (len(body), len(wanted)),
                                    'deploy the policy file to the policy host (mailsec.mta_sts.policy)'))
    if policy is not None:
        findings.extend(_judge_expectations(policy, expect))
    return policy, findings, derived


def _judge_expectations(policy, expect):
    out = []
    if 'mode' in expect and policy['mode'] != expect['mode']:
        out.append(finding('expect', ERROR, 'B3', 'mode is %s, expected %s' % (policy['mode'], expect['mode']),
                           'deploy the policy with mode %s and bump the id' % expect['mode']))
    if 'mx' in expect:
        served = sorted(p.lower() for p in policy['mx'])
        if served != sorted(expect['mx']):
            out.append(finding('expect', ERROR, 'B5', 'mx patterns are %s, expected %s'
                               % (', '.join(served) or '(none)', ', '.join(sorted(expect['mx']))),
                               'deploy the expected mx list and bump the id'))
    if 'max_age' in expect and policy['max_age'] != expect['max_age']:
        out.append(finding('expect', ERROR, 'B4', 'max_age is %d, expected %d' % (policy['max_age'], expect['max_age']),
                           'deploy the expected max_age and bump the id'))
    return out


def judge_record_expectations(record, expect):
    if 'policy_id' not in expect:
        return []
    seen = record['id'] if record else None
    if seen != expect['policy_id']:
        return [finding('expect', ERROR, 'E1', 'the TXT id is %s, expected %s' % (seen or '(none)', expect['policy_id']),
                        'publish "v=STSv1; id=%s" (mailsec.mta_sts.records) after the policy is served' % expect['policy_id'])]
    return []


def judge_advice(policy, tlsrpt):
    """Sanity advice (warnings/info) on a valid policy."""
    out = []
    if policy is None:
        return out
    if policy['mode'] == 'testing':
        if tlsrpt is None:
            out.append(finding('advice', WARNING, 'F2', 'mode testing without a TLS-RPT record: nobody receives the '
                               'failure reports that testing is for', 'publish a _smtp._tls record with rua='))
        else:
            out.append(finding('advice', INFO, 'B3', 'mode testing: senders report failures but still deliver; '
                               'move to enforce once the TLS-RPT reports are clean'))
    if policy['mode'] == 'none' and policy['max_age'] > ONE_DAY:
        out.append(finding('advice', WARNING, 'E4', 'mode none with max_age %d: a retiring policy should have a '
                           'short max_age' % policy['max_age'], 'publish mode none with max_age 86400 or less'))
    return out


def mx_severity(mode):
    """How bad an MX problem is: senders refuse delivery only in enforce (D4)."""
    if mode == 'enforce':
        return ERROR
    if mode == 'none':
        return INFO
    return WARNING


def judge_mx_coverage(mx_hosts, policy, mode):
    """D1 for every MX (D3) against the policy patterns: uncovered MX (error
    in enforce, warning in testing) and stale patterns (warning).
    ``mx_hosts`` is a list of host names. Returns ``(covered map, findings)``."""
    covered = {}
    findings = []
    if policy is None:
        return covered, findings
    patterns = policy['mx']
    for host in mx_hosts:
        covered[host] = mx_match(host, patterns)
        if not covered[host] and mode != 'none':
            findings.append(finding(
                'mx', ERROR if mode == 'enforce' else WARNING, 'D1',
                'MX %s is not covered by the policy (mx: %s)%s' % (
                    host, ', '.join(patterns) or 'none',
                    '; senders refuse to deliver to it' if mode == 'enforce' else ''),
                'add "mx: %s" (or a *.<parent> pattern covering exactly one label) and bump the id' % host))
    for pattern in patterns:
        if mx_hosts and not any(mx_match(host, [pattern]) for host in mx_hosts):
            findings.append(finding('mx', WARNING, 'D1', 'pattern %s matches no MX of the domain (stale?)' % pattern,
                                    'remove it once no MX uses it and max_age has passed; see %s' % cite('E5')))
    return covered, findings


_SMTP_FAILURES = {
    'garbled': 'a garbled SMTP reply: %s',
    'closed': 'the server ended the session: %s',
    'closed_after_tls': '%s; senders cannot deliver over TLS',
    'timeout': '%s',
    'smtp': '%s',
}


def judge_unfetched_expectations(expect):
    """C2 when expectations about the policy were given but no policy could be fetched."""
    if 'policy' in expect or any(key in expect for key in ('mode', 'mx', 'max_age')):
        return [finding('expect', ERROR, 'C2', 'no policy could be fetched, so the expectations '
                        'cannot be met', 'fix the policy host findings above')]
    return []


def judge_mx_answer(domain, failed, error, items):
    """D3 from the MX answer of ``domain``: ``items`` are (preference,
    host). Returns ``(the MX hosts a sender tries, findings)``: none after a
    failed lookup or for a null MX (RFC 7505), the domain itself when there
    is no MX record (implicit MX)."""
    if failed:
        return [], [finding('mx', ERROR, 'D3', 'the MX lookup failed: %s' % error, 'make the zone answer MX queries')]
    if len(items) == 1 and items[0][1] in ('', '.'):
        return [], [finding('mx', INFO, 'D3', 'null MX (RFC 7505): the domain accepts no mail')]
    if not items:
        return [(0, domain)], [finding('mx', WARNING, 'D3', 'no MX record: senders deliver to the address of %s '
                                       'itself' % domain, 'publish MX records and list them in the policy')]
    return list(items), []


def judge_mx_unresolved(host, failures, severity):
    """D3 for an MX host without addresses; ``failures`` describe the failed lookups."""
    detail = '; '.join(failures) or 'no A or AAAA record'
    return finding('mx', severity, 'D3', 'MX %s does not resolve: %s' % (host, detail),
                   'publish A/AAAA records for %s or remove the MX' % host)


def judge_mx_probe(probe, severity):
    """D2 from one STARTTLS probe."""
    where = '%s (%s)' % (probe['host'], probe['address'])
    kind = probe['error_kind']
    if probe['stage'] in ('connect', 'ehlo') and kind:
        return [finding('mx_tls', severity, 'D2', '%s: SMTP on port %d failed: %s' % (where, probe['port'], probe['error']),
                        'make the MX reachable on port 25 from senders, with a 220 greeting and well-formed replies')]
    if probe['starttls'] is False:
        return [finding('mx_tls', severity, 'D2', '%s does not offer STARTTLS' % where,
                        'enable STARTTLS with a certificate for %s' % probe['host'])]
    if kind:
        if kind in _SMTP_FAILURES:
            text = _SMTP_FAILURES[kind] % probe['error']
        else:
            text = '%s (%s)' % (describe_tls_failure(kind, probe['host']), probe['error'])
        hint = {
            'expired': 'renew the certificate of %s' % probe['host'],
            'name_mismatch': 'use a certificate whose SAN lists %s' % probe['host'],
            'self_signed': 'use a certificate from a CA that senders trust (e.g. ACME)',
            'untrusted': 'serve the full chain from a CA that senders trust',
            'old_tls': 'enable TLS 1.2 and 1.3 on the MX',
            'smtp': 'make the MX accept STARTTLS when it advertises it (check its TLS keys and settings)',
            'closed_after_tls': 'check the MX log for TLS errors after the handshake',
        }.get(kind, 'fix STARTTLS on %s' % probe['host'])
        return [finding('mx_tls', severity, 'D2', '%s: %s' % (where, text), hint)]
    out = []
    if probe.get('cn_only'):
        out.append(finding('mx_tls', severity, 'D2', '%s: %s' % (where, describe_tls_failure('cn_only', probe['host'])),
                           'reissue the certificate with %s in its subjectAltName' % probe['host']))
    cert = probe['certificate'] or {}
    if expiry_level(cert.get('days_left')) == 'soon':
        out.append(finding('mx_tls', WARNING, 'D2', '%s: the certificate expires in %d day(s)' % (where, cert['days_left']),
                           'renew it now (warning under %d days)' % EXPIRY_WARNING_DAYS))
    return out


def judge_tlsrpt(answer_status, answer_error, records, expect, legacy_records=()):
    """F1-F5 and the expected rua. Returns ``(parsed or None, findings)``."""
    findings = []
    if answer_status == 'error':
        findings.append(finding('tlsrpt', WARNING, 'F2', 'the TLS-RPT lookup failed: %s' % answer_error))
        return None, findings
    parsed, problems = discover_tlsrpt(records)
    findings.extend(from_problem('tlsrpt', problem) for problem in problems)
    if parsed is None and select_records(legacy_records, TLSRPT_PREFIX):
        findings.append(finding('tlsrpt', WARNING, 'F5', 'a TLS-RPT record is published at the old draft name '
                                '_smtp-tlsrpt, which senders ignore', 'publish it at _smtp._tls.<domain>'))
    if 'tlsrpt_rua' in expect:
        seen = parsed['rua'] if parsed else []
        if sorted(seen) != sorted(expect['tlsrpt_rua']):
            findings.append(finding('expect', ERROR, 'F3', 'TLS-RPT rua is %s, expected %s' % (
                ', '.join(seen) or '(none)', ', '.join(expect['tlsrpt_rua'])),
                'publish "v=TLSRPTv1; rua=%s"' % ','.join(expect['tlsrpt_rua'])))
    return parsed, findings
