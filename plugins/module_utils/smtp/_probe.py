# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""STARTTLS probe of an MX address, as an MTA-STS sender connects (D2).

The connection goes to an address the run's resolver returned, while the
MX host name is used for SNI and the certificate name check. Each
``(host, address, port)`` is probed once per run (:class:`MxProber`), even
when hundreds of domains share the MX hosts of a provider.

Private module of the mailsec.mta_sts collection (controller only; standard
library).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._cache import OnceCache
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import (
    certificate_facts,
    classify_tls_error,
)

SMTP_PORT = 25
EHLO_NAME = 'mta-sts-verify.invalid'


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to a given address; ``_host`` (SNI, name check) stays the MX name."""

    def __init__(self, address, timeout):
        self._address = address
        super().__init__(local_hostname=EHLO_NAME, timeout=timeout)

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self._address, port), timeout)


def probe_mx(host, address, context, timeout, port=SMTP_PORT, now=None):
    """Connect, EHLO, STARTTLS, EHLO again, QUIT.

    Returns a dict: ``host``, ``address``, ``port``, ``stage`` (``connect``,
    ``ehlo``, ``starttls``, ``done``), ``banner``, ``starttls`` (offered:
    True/False/None when not reached), ``tls_version``, ``certificate``,
    ``error_kind``/``error``, ``elapsed``.
    """
    result = {
        'host': host, 'address': address, 'port': port, 'stage': 'connect', 'banner': None,
        'starttls': None, 'tls_version': None, 'certificate': None,
        'error_kind': None, 'error': None, 'elapsed': None,
    }
    start = time.monotonic()
    client = _PinnedSMTP(address, timeout)
    try:
        try:
            code, banner = client.connect(host, port)
        except (OSError, smtplib.SMTPException) as exc:
            result['error_kind'] = 'timeout' if isinstance(exc, TimeoutError) else 'connect'
            result['error'] = str(exc) or type(exc).__name__
            return result
        result['banner'] = banner.decode('utf-8', 'replace') if isinstance(banner, bytes) else banner
        if code != 220:
            result['error_kind'] = 'smtp'
            result['error'] = 'greeting %s %s' % (code, result['banner'])
            return result
        result['stage'] = 'ehlo'
        try:
            code, _msg = client.ehlo()
            if code != 250:
                raise smtplib.SMTPResponseException(code, _msg)
            result['starttls'] = client.has_extn('starttls')
            if not result['starttls']:
                return result
            result['stage'] = 'starttls'
            code, _msg = client.docmd('STARTTLS')
            if code != 220:
                result['error_kind'] = 'smtp'
                result['error'] = 'STARTTLS answered %s %s' % (code, _msg.decode('utf-8', 'replace'))
                return result
            try:
                client.sock = context.wrap_socket(client.sock, server_hostname=host)
            except ssl.SSLError as exc:
                result['error_kind'], result['error'] = classify_tls_error(exc)
                return result
            client.file = None
            result['tls_version'] = client.sock.version()
            result['certificate'] = certificate_facts(client.sock.getpeercert(), now)
            client.ehlo_resp = None
            client.esmtp_features = {}
            client.does_esmtp = False
            client.ehlo()
            result['stage'] = 'done'
        except (OSError, smtplib.SMTPException) as exc:
            if result['stage'] != 'done':
                result['error_kind'] = 'timeout' if isinstance(exc, TimeoutError) else 'smtp'
                result['error'] = str(exc) or type(exc).__name__
        return result
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass
        client.close()
        result['elapsed'] = round(time.monotonic() - start, 3)


class MxProber:
    """Probes MX addresses once per run, shared by every domain's check."""

    def __init__(self, context, timeout, port=SMTP_PORT, now=None):
        self.context = context
        self.timeout = timeout
        self.port = port
        self.now = now
        self._cache = OnceCache()

    @property
    def probes(self):
        return self._cache.computed

    def probe(self, host, address):
        key = (host.lower(), address, self.port)
        return self._cache.get(key, lambda: probe_mx(host, address, self.context, self.timeout,
                                                     self.port, self.now))
