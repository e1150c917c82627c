# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sender's view of the policy fetch (RFC 8461 section 3.3).

``mta-sts.<domain>`` is resolved with the run's resolver, then each address
is fetched over HTTPS with SNI and certificate checks for the policy host
name (C1, C5), without following redirects (C2), with a size cap and a
total time cap (C4). The facts are returned; judging them is the job of
``verification._judge``.

Private module of the mailsec.mta_sts collection (controller only; standard
library plus the run's resolver).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import POLICY_PATH
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import (
    certificate_facts,
    classify_tls_error,
)

MAX_POLICY_BYTES = 65536  # C4: the cap RFC 8461 suggests
USER_AGENT = 'mailsec.mta_sts-verify'


def policy_host(domain):
    return 'mta-sts.%s' % domain


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a resolved address; SNI, Host and the name check use the
    policy host name (the sender's resolver chose the address)."""

    def __init__(self, host, address, context, timeout):
        super().__init__(host, 443, timeout=timeout, context=context)
        self._address = address
        self._tls_context = context
        self.tls_version = None
        self.peercert = None

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.tls_version = self.sock.version()
        self.peercert = self.sock.getpeercert()


def fetch_address(host, address, context, timeout, max_bytes=MAX_POLICY_BYTES, now=None):
    """Fetch the policy from one address of the policy host.

    Returns a dict: ``address``, ``stage`` (where it stopped: ``connect``,
    ``tls``, ``http``, ``done``), ``error_kind``/``error``, ``tls_version``,
    ``certificate``, ``status``, ``location``, ``content_type``, ``size``,
    ``too_large``, ``timed_out``, ``elapsed``, ``body`` (bytes or None).
    ``timeout`` caps the whole fetch, not each read.
    """
    result = {
        'address': address, 'stage': 'connect', 'error_kind': None, 'error': None,
        'tls_version': None, 'certificate': None, 'status': None, 'reason': None,
        'location': None, 'content_type': None, 'size': None, 'too_large': False,
        'timed_out': False, 'elapsed': None, 'body': None,
    }
    start = time.monotonic()
    deadline = start + timeout
    conn = _PinnedHTTPSConnection(host, address, context, timeout)
    try:
        try:
            conn.connect()
        except ssl.SSLError as exc:
            result['stage'] = 'tls'
            result['error_kind'], result['error'] = classify_tls_error(exc)
            return result
        except (OSError, socket.timeout) as exc:
            result['error_kind'] = 'timeout' if isinstance(exc, socket.timeout) else 'connect'
            result['timed_out'] = isinstance(exc, socket.timeout)
            result['error'] = str(exc) or type(exc).__name__
            return result
        result['stage'] = 'http'
        result['tls_version'] = conn.tls_version
        result['certificate'] = certificate_facts(conn.peercert, now)
        try:
            conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
            # C2: a plain request; http.client never follows redirects.
            conn.request('GET', POLICY_PATH, headers={
                'User-Agent': USER_AGENT, 'Accept': 'text/plain', 'Cache-Control': 'no-cache',
            })
            response = conn.getresponse()
            result['status'] = response.status
            result['reason'] = response.reason
            result['location'] = response.getheader('Location')
            result['content_type'] = response.getheader('Content-Type')
            body = bytearray()
            while len(body) <= max_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout('total time cap reached')
                conn.sock.settimeout(remaining)
                chunk = response.read1(min(16384, max_bytes + 1 - len(body)))
                if not chunk:
                    break
                body.extend(chunk)
            if len(body) > max_bytes:
                result['too_large'] = True
                body = body[:max_bytes]
            result['size'] = len(body)
            result['body'] = bytes(body)
            result['stage'] = 'done'
        except (socket.timeout, TimeoutError):
            result['timed_out'] = True
            result['error_kind'] = 'timeout'
            result['error'] = 'no complete response within %gs' % timeout
        except (OSError, http.client.HTTPException) as exc:
            result['error_kind'] = 'http'
            result['error'] = str(exc) or type(exc).__name__
        return result
    finally:
        result['elapsed'] = round(time.monotonic() - start, 3)
        conn.close()


def fetch_policy(domain, resolver, context, timeout, max_bytes=MAX_POLICY_BYTES, now=None):
    """Resolve ``mta-sts.<domain>`` and fetch the policy from every address.

    Returns ``{host, url, addresses, dns_failures, results}`` where
    ``results`` holds one :func:`fetch_address` dict per address.
    """
    host = policy_host(domain)
    addresses, failures = resolver.addresses(host)
    results = [fetch_address(host, address, context, timeout, max_bytes, now) for address in addresses]
    return {
        'host': host,
        'url': 'https://%s%s' % (host, POLICY_PATH),
        'addresses': addresses,
        'dns_failures': [answer.describe() for answer in failures],
        'results': results,
    }
