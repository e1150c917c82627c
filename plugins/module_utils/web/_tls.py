# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TLS trust and certificate facts shared by the policy fetch and the MX probe.

Verification is never switched off: a context always requires a certificate
chained to a trusted root and matching the host name (C1, D2). ``ca_path``
adds a CA bundle to the system trust (``ca_mode: add``) or replaces it
(``ca_mode: replace``).

Private module of the mailsec.mta_sts collection (controller only; standard
library).
"""

from __future__ import annotations

import math
import os
import ssl
import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError

EXPIRY_WARNING_DAYS = 14
CA_MODES = ('add', 'replace')

# OpenSSL X509_V_ERR_* codes that a mail admin can act on.
_VERIFY_KINDS = {
    2: 'untrusted',     # unable to get issuer certificate
    9: 'not_yet_valid',
    10: 'expired',
    18: 'self_signed',  # the server's own certificate is self-signed
    19: 'untrusted',    # self-signed certificate in the chain
    20: 'untrusted',    # unable to get local issuer certificate
    21: 'untrusted',    # unable to verify the first certificate
    62: 'name_mismatch',
}


def tls_argument_spec():
    """The options of the ``mailsec.mta_sts.tls_trust`` doc fragment."""
    return dict(
        ca_path=dict(type='path'),
        ca_mode=dict(type='str', default='add', choices=list(CA_MODES)),
    )


def trust_context(ca_path=None, ca_mode='add'):
    """An SSL client context that verifies chain and host name, TLS 1.2+.

    ``ca_path`` is a PEM bundle file or a hashed certificate directory.
    """
    if ca_mode not in CA_MODES:
        raise MtaStsError('ca_mode %r is not add or replace' % (ca_mode,), field='ca_mode')
    if ca_mode == 'replace' and not ca_path:
        raise MtaStsError('ca_mode=replace needs ca_path', field='ca_path',
                          hint='give the CA bundle that should be the only trust, or use ca_mode=add')
    if ca_path and not os.path.exists(ca_path):
        raise MtaStsError('CA bundle %s does not exist' % ca_path, field='ca_path')
    cafile = capath = None
    if ca_path:
        if os.path.isdir(ca_path):
            capath = ca_path
        else:
            cafile = ca_path
    try:
        if ca_mode == 'replace':
            # With a cafile/capath, create_default_context loads nothing else.
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile, capath=capath)
        else:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            if ca_path:
                context.load_verify_locations(cafile=cafile, capath=capath)
    except (ssl.SSLError, OSError) as exc:
        raise MtaStsError('cannot load the CA bundle %s: %s' % (ca_path, exc), field='ca_path',
                          hint='give a PEM file of CA certificates') from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # C1, D2: TLS 1.2 or later
    return context


def days_left(not_after, now=None):
    """Whole days from ``now`` until ``not_after`` (both epoch seconds);
    negative once expired. A certificate expiring in 30 hours has 1 day."""
    if now is None:
        now = time.time()
    return int(math.floor((not_after - now) / 86400.0))


def expiry_level(days):
    """``expired``, ``soon`` (under EXPIRY_WARNING_DAYS) or None."""
    if days is None:
        return None
    if days < 0:
        return 'expired'
    if days < EXPIRY_WARNING_DAYS:
        return 'soon'
    return None


def certificate_facts(peercert, now=None):
    """What a report shows of a verified certificate (``getpeercert()``)."""
    if not peercert:
        return None
    sans = [value for kind, value in peercert.get('subjectAltName', ()) if kind == 'DNS']
    facts = {
        'subject': _name(peercert.get('subject')),
        'issuer': _name(peercert.get('issuer')),
        'sans': sans,
        'not_before': peercert.get('notBefore'),
        'not_after': peercert.get('notAfter'),
        'days_left': None,
    }
    if peercert.get('notAfter'):
        try:
            facts['days_left'] = days_left(ssl.cert_time_to_seconds(peercert['notAfter']), now)
        except ValueError:
            pass
    return facts


def _name(rdns):
    parts = []
    for rdn in rdns or ():
        for key, value in rdn:
            parts.append('%s=%s' % (key, value))
    return ', '.join(parts)


def classify_tls_error(exc):
    """``(kind, text)`` for an exception raised by a TLS handshake.

    kinds: expired, not_yet_valid, name_mismatch, self_signed, untrusted,
    invalid (other verification failures), old_tls, sni_refused, alpn (the
    server refused every application protocol offered), handshake (an alert
    or a close in the middle of the handshake).
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, 'verify_code', None)
        message = getattr(exc, 'verify_message', None) or str(exc)
        return _VERIFY_KINDS.get(code, 'invalid'), message
    reason = (getattr(exc, 'reason', None) or '').upper()
    text = str(exc)
    if 'PROTOCOL_VERSION' in reason or 'UNSUPPORTED_PROTOCOL' in reason or 'NO_PROTOCOLS' in reason:
        return 'old_tls', text
    if 'UNRECOGNIZED_NAME' in reason:
        return 'sni_refused', text
    if 'NO_APPLICATION_PROTOCOL' in reason:
        return 'alpn', text
    return 'handshake', text


TLS_KIND_TEXT = {
    'expired': 'the certificate has expired',
    'not_yet_valid': 'the certificate is not valid yet',
    'name_mismatch': 'the certificate does not name %s (no matching SAN DNS name)',
    'self_signed': 'the certificate is self-signed',
    'untrusted': 'the certificate does not chain to a trusted root (an intermediate certificate is missing '
                 'from the chain the server sends, or the root is unknown)',
    'invalid': 'the certificate failed verification',
    'old_tls': 'the server does not offer TLS 1.2 or later',
    'sni_refused': 'the server refused the SNI name %s (TLS alert unrecognized_name)',
    'alpn': 'the server refused the handshake for lack of a common application protocol (ALPN)',
    'handshake': 'the TLS handshake failed',
    'timeout': 'the TLS handshake did not finish in time',
    'cn_only': 'the certificate names %s only in its subject CN and has no subjectAltName DNS name; '
               'RFC 9525 matching ignores the CN and several senders refuse it',
}


def describe_tls_failure(kind, host):
    text = TLS_KIND_TEXT.get(kind, TLS_KIND_TEXT['handshake'])
    return text % host if '%s' in text else text
