# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Does a certificate serve the policy host names it is meant for?

Used by the ``cert_coverage`` module on the policy host, before nginx is
pointed at a certificate: the leaf must carry a SAN DNS name matching each
``mta-sts.<domain>`` (C1, C5), be valid now (and for ``min_days`` more when
renewal is wanted), and match its private key.

Private module of the mailsec.mta_sts collection; needs ``cryptography`` on
the managed host.
"""

from __future__ import annotations

import datetime

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._io import read_if_exists
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import mx_match
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import days_left

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_CRYPTOGRAPHY = False
else:
    HAS_CRYPTOGRAPHY = True

SECONDS_PER_DAY = 86400


def name_covered(name, dns_names):
    """C1: is ``name`` one of the SAN ``dns_names``?

    A wildcard counts only as the whole left-most label and for exactly one
    label (``*.example.com`` covers ``mta-sts.example.com``, not
    ``example.com`` nor ``a.mta-sts.example.com``): the same rule as the MX
    pattern match of D1, so the code is shared.
    """
    return mx_match(name, dns_names)


def _utc(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def _not_after(cert):
    value = getattr(cert, 'not_valid_after_utc', None)
    return value if value is not None else _utc(cert.not_valid_after)


def _not_before(cert):
    value = getattr(cert, 'not_valid_before_utc', None)
    return value if value is not None else _utc(cert.not_valid_before)


def _dns_names(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in ext.value.get_values_for_type(x509.DNSName)]


def _spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def inspect_certificate(cert_pem, key_pem, names, now=None, min_days=0):
    """Check one certificate (PEM, leaf first) and its key against ``names``.

    ``cert_pem`` / ``key_pem`` are bytes or None when the file is missing.
    Returns a dict: ``exists``, ``dns_names``, ``covered`` and ``missing``
    (of ``names``), ``not_after`` (ISO 8601), ``days_left``, ``key_matches``,
    ``usable`` (nginx can serve the covered names with it now), ``complete``
    (usable and covers every name), ``renew`` (not complete, or fewer than
    ``min_days`` days left) and ``problems`` (sentences naming the rule).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    names = [name.lower() for name in names]
    result = {
        'exists': cert_pem is not None,
        'dns_names': [],
        'covered': [],
        'missing': list(names),
        'not_after': None,
        'days_left': None,
        'key_matches': False,
        'usable': False,
        'complete': False,
        'renew': True,
        'problems': [],
    }
    problems = result['problems']
    if cert_pem is None:
        problems.append('the certificate file does not exist')
        return result
    try:
        # The first certificate of the file is the leaf; the chain after it
        # is nginx's business. (load_pem_x509_certificates, which reads them
        # all, needs cryptography 39; Debian 12 ships 38.)
        leaf = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        problems.append('the certificate file is not PEM certificates: %s' % exc)
        return result
    dns_names = _dns_names(leaf)
    result['dns_names'] = dns_names
    result['covered'] = [name for name in names if name_covered(name, dns_names)]
    result['missing'] = [name for name in names if name not in result['covered']]
    if result['missing']:
        problems.append('%s: no SAN DNS name matches %s (the certificate has: %s)'
                        % (cite('C1'), ', '.join(result['missing']), ', '.join(dns_names) or 'no DNS names'))

    not_after = _not_after(leaf)
    result['not_after'] = not_after.strftime('%Y-%m-%dT%H:%M:%SZ')
    seconds_left = (not_after - now).total_seconds()
    result['days_left'] = days_left(not_after.timestamp(), now.timestamp())
    valid_now = _not_before(leaf) <= now < not_after
    if not valid_now:
        problems.append('%s: the certificate is not valid now (valid %s to %s)'
                        % (cite('C1'), _not_before(leaf).strftime('%Y-%m-%dT%H:%M:%SZ'), result['not_after']))

    if key_pem is None:
        problems.append('the private key file does not exist')
    else:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            problems.append('the private key is not an unencrypted PEM key: %s' % exc)
        else:
            result['key_matches'] = _spki(key.public_key()) == _spki(leaf.public_key())
            if not result['key_matches']:
                problems.append('the private key does not belong to the certificate')

    result['usable'] = valid_now and result['key_matches'] and bool(result['covered'])
    result['complete'] = result['usable'] and not result['missing']
    result['renew'] = not result['complete'] or seconds_left < min_days * SECONDS_PER_DAY
    return result


# ---------------------------------------------------------------------------
# The module's task


def run_cert_coverage(module):
    """The ``cert_coverage`` module: inspect every certificate and key pair;
    fail when one that must be complete is not. Returns the result; raises
    TaskFailed."""
    if not HAS_CRYPTOGRAPHY:
        raise TaskFailed(missing_required_lib('cryptography'))
    params = module.params
    results = []
    failures = []
    for item in params['certificates']:
        try:
            cert_pem = read_if_exists(item['cert'])
            key_pem = read_if_exists(item['key'])
        except OSError as exc:
            raise TaskFailed('certificate %s: cannot read %s' % (item['id'], exc)) from None
        result = inspect_certificate(cert_pem, key_pem, item['names'], min_days=params['min_days'])
        result.update(id=item['id'], cert=item['cert'], key=item['key'], source=item['source'])
        results.append(result)
        required = params['require_complete'] or item['source'] in params['require_complete_sources']
        if required and not result['complete']:
            failures.append('%s (%s, key %s): %s' % (item['id'], item['cert'], item['key'], '; '.join(result['problems'])))
    output = dict(
        changed=False,
        certificates=results,
        usable=[r['id'] for r in results if r['usable']],
        renew=[r['id'] for r in results if r['renew']],
    )
    if failures:
        raise TaskFailed('%d certificate(s) cannot serve their MTA-STS policy hosts, %s: %s. '
                         'Fix: give a certificate and matching key whose SAN DNS names include every '
                         'mta-sts.<domain> it serves (or a *.<domain> wildcard), valid now'
                         % (len(failures), cite('C1'), ' | '.join(failures)), **output)
    return output
