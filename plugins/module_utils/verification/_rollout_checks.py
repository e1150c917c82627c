# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The two network checks of the rollout (deploy and retire playbooks).

- :func:`mx_preflight`: before a policy in ``enforce`` is served, every live
  MX of the domain must be covered by the new policy (D1) and present a
  valid certificate over STARTTLS (D2); otherwise senders would refuse mail.
- :func:`wait_served`: after the policy hosts were changed and before the
  new id is published (E2), every address of every policy host must serve
  the new bytes. Each address is asked directly, with SNI and certificate
  checks for ``mta-sts.<domain>``, not through DNS.

Private module of the mailsec.mta_sts collection (controller only).
"""

from __future__ import annotations

import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    mx_match,
    normalize_domain,
    normalize_mx_patterns,
    policy_id as derive_policy_id,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import RunResolver
from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._probe import MxProber
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._fetch import fetch_address, policy_host
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import describe_tls_failure, trust_context


# ---------------------------------------------------------------------------
# MX preflight


def describe_probe(probe):
    """The problem of one STARTTLS probe, or None when a sender accepts it (D2)."""
    if probe['stage'] in ('connect', 'ehlo') and probe['error_kind']:
        return 'SMTP on port %d failed: %s' % (probe['port'], probe['error'])
    if probe['starttls'] is False:
        return 'does not offer STARTTLS'
    kind = probe['error_kind']
    if kind in ('smtp', 'timeout'):
        return probe['error']
    if kind:
        return '%s (%s)' % (describe_tls_failure(kind, probe['host']), probe['error'])
    return None


def mx_preflight(domains, nameservers=None, authoritative=False, ca_path=None, ca_mode='add', timeout=10.0,
                 smtp_port=25):
    """Check the live MX set of each ``{domain, mx}`` against its new ``mx``
    patterns and probe every MX address. Returns one dict per domain:
    ``domain``, ``live_mx`` (host names), ``problems`` (``{mx, address,
    problem, rule}``)."""
    specs = []
    for index, item in enumerate(domains):
        try:
            domain = normalize_domain(item.get('domain'))
            specs.append((domain, normalize_mx_patterns(item.get('mx'), domain)))
        except MtaStsError as exc:
            raise exc.with_context(field='domains[%d]' % index) from None
    resolver = RunResolver(nameservers, authoritative, timeout)
    prober = MxProber(trust_context(ca_path, ca_mode), float(timeout), smtp_port)
    out = []
    for domain, patterns in specs:
        problems = []
        answer, items = resolver.mx(domain)
        hosts = [host for _pref, host in items if host not in ('', '.')]
        if answer.failed:
            problems.append({'mx': None, 'address': None, 'rule': 'D3',
                             'problem': 'the MX lookup failed: %s' % answer.error})
        elif not items:
            # No MX: senders deliver to the domain's own address (D3).
            hosts = [domain]
        for host in hosts:
            if not mx_match(host, patterns):
                problems.append({'mx': host, 'address': None, 'rule': 'D1',
                                 'problem': 'not covered by the new policy (mx: %s)' % ', '.join(patterns)})
            addresses, failures = resolver.addresses(host)
            if not addresses:
                problems.append({'mx': host, 'address': None, 'rule': 'D3', 'problem': 'does not resolve: %s' % (
                    '; '.join(a.describe() for a in failures) or 'no A or AAAA record')})
            for address in addresses:
                text = describe_probe(prober.probe(host, address))
                if text:
                    problems.append({'mx': host, 'address': address, 'rule': 'D2', 'problem': text})
        out.append({'domain': domain, 'live_mx': hosts, 'problems': problems})
    return out


def preflight_message(results):
    lines = []
    for result in results:
        for problem in result['problems']:
            where = problem['mx'] or result['domain']
            if problem['address']:
                where += ' (%s)' % problem['address']
            lines.append('%s: MX %s: %s (rule %s)' % (result['domain'], where, problem['problem'], problem['rule']))
    return lines


# ---------------------------------------------------------------------------
# Waiting until every address serves the new bytes


def _served_state(fetch, expected):
    """``(ok, what was seen)`` for one fetch against the expected bytes."""
    if fetch['error_kind']:
        return False, '%s error: %s' % (fetch['error_kind'], fetch['error'])
    if fetch['status'] != 200:
        return False, 'HTTP status %s' % fetch['status']
    body = fetch['body'] or b''
    if body == expected:
        return True, 'serves the new policy'
    return False, 'serves other bytes (derived id %s)' % derive_policy_id(body)


def wait_served(addresses, policies, ca_path=None, ca_mode='add', timeout=5.0, wait=120.0, delay=1.0,
                sleep=time.sleep, clock=time.monotonic):
    """Poll every (address, domain) on port 443 until each serves exactly ``text``.

    ``policies`` is a list of ``{domain, text}``. Pairs already right are not
    asked again. Returns ``(done, results)``; ``results`` holds one dict per
    pair: ``address``, ``domain``, ``ok``, ``seen``, ``attempts``.
    """
    context = trust_context(ca_path, ca_mode)
    pairs = []
    for address in addresses:
        for policy in policies:
            domain = normalize_domain(policy['domain'])
            pairs.append({'address': address, 'domain': domain, 'ok': False, 'seen': None, 'attempts': 0,
                          'expected': policy['text'].encode('utf-8')})
    deadline = clock() + float(wait)
    while True:
        for pair in pairs:
            if pair['ok']:
                continue
            fetch = fetch_address(policy_host(pair['domain']), pair['address'], context, float(timeout))
            pair['attempts'] += 1
            pair['ok'], pair['seen'] = _served_state(fetch, pair['expected'])
        pending = [pair for pair in pairs if not pair['ok']]
        if not pending or clock() + delay > deadline:
            break
        sleep(delay)
    results = [{k: v for k, v in pair.items() if k != 'expected'} for pair in pairs]
    return not pending, results


# ---------------------------------------------------------------------------
# One line per verified domain


def summary_line(result):
    """A human line for one result of the verify module."""
    findings = result.get('findings') or []
    errors = [f for f in findings if f.get('severity') == 'error']
    warnings = [f for f in findings if f.get('severity') == 'warning']
    parts = []
    if result.get('sender_gets_policy'):
        parts.append('mode %s' % result.get('mode'))
        parts.append('id %s' % (result.get('policy_id') or (result.get('sts_record') or {}).get('id') or '-'))
    else:
        parts.append('no valid policy for senders')
    fetches = (result.get('policy_host') or {}).get('fetches') or []
    if fetches:
        good = sum(1 for f in fetches if f.get('status') == 200 and not f.get('error_kind'))
        parts.append('policy served by %d/%d address(es)' % (good, len(fetches)))
    mx = result.get('mx') or []
    if mx:
        parts.append('%d MX' % len(mx))
    if (result.get('tlsrpt') or {}).get('rua'):
        parts.append('TLS-RPT on')
    line = '%s: %s - %s' % (result.get('domain'), str(result.get('status', '?')).upper(), ', '.join(parts))
    for item in (errors + warnings)[:3]:
        line += ' | %s %s: %s' % (item.get('severity'), item.get('rule'), item.get('message'))
    if len(errors) + len(warnings) > 3:
        line += ' | (%d more in the report)' % (len(errors) + len(warnings) - 3)
    return line
