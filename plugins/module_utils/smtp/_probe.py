# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""STARTTLS probe of an MX address, as an MTA-STS sender connects (D2).

The connection goes to an address the run's resolver returned, while the
MX host name is used for SNI and the certificate name check. Each
``(host, address, port)`` is probed once per run (:class:`MxProber`), even
when hundreds of domains share the MX hosts of a provider.

One deadline (the run's ``timeout``) bounds the whole probe, and every way
an MX can misbehave (no greeting, a 421 greeting, a garbled or endless
multi-line reply, STARTTLS refused, a close right after the handshake)
ends in a classified result, never in an exception.

Private module of the mailsec.mta_sts collection (controller only; standard
library).
"""

from __future__ import annotations

import re
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
MAX_REPLY_LINE = 8192   # smtplib's own limit; RFC 5321 asks only for 512
MAX_REPLY_LINES = 100   # an EHLO answer lists a few dozen extensions at most
# RFC 5321 4.2: a three-digit code (2xx-5xx), then SP (last line) or "-".
_REPLY_LINE = re.compile(rb'([2-5][0-9][0-9])(?:([ -])(.*?))?\r?\n\Z', re.S)


class ProbeFailure(smtplib.SMTPException):
    """Ends the probe with ``kind`` (timeout, garbled, closed) and a text."""

    def __init__(self, kind, text):
        super().__init__(text)
        self.kind = kind
        self.text = text


class _DeadlineContext:
    """Hands smtplib's ``starttls`` a context whose handshake gets only the
    time left before the probe's deadline, with the MX name for SNI and the
    certificate check (the client dialled an address, so smtplib itself
    knows no host name to give)."""

    def __init__(self, context, client, server_hostname):
        self._context = context
        self._client = client
        self._server_hostname = server_hostname

    def wrap_socket(self, sock, server_hostname=None):
        sock.settimeout(self._client.remaining())
        return self._context.wrap_socket(sock, server_hostname=self._server_hostname)


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to a given address of an MX; the MX name goes to the TLS handshake
    through :class:`_DeadlineContext`. Every reply is read under the probe's
    deadline, with line and size caps."""

    def __init__(self, address, timeout, deadline):
        self._address = address
        self._deadline = deadline
        self._timeout = timeout
        super().__init__(local_hostname=EHLO_NAME, timeout=timeout)

    def remaining(self):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ProbeFailure('timeout', 'no complete SMTP exchange within %gs' % self._timeout)
        return left

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self._address, port), min(timeout, self.remaining()))

    def getreply(self):
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected('not connected')
        if self.file is None:
            self.file = self.sock.makefile('rb')
        code = None
        lines = []
        while True:
            self.sock.settimeout(self.remaining())
            try:
                line = self.file.readline(MAX_REPLY_LINE + 1)
            except (socket.timeout, TimeoutError):
                raise ProbeFailure('timeout', 'no complete SMTP reply within %gs' % self._timeout) from None
            except ssl.SSLError as exc:
                raise ProbeFailure('closed', 'TLS error while reading a reply: %s' % (exc.reason or exc)) from None
            except OSError as exc:
                raise ProbeFailure('closed', 'the connection broke: %s' % (str(exc) or type(exc).__name__)) from None
            if not line:
                raise ProbeFailure('closed', 'the server closed the connection')
            if len(line) > MAX_REPLY_LINE:
                raise ProbeFailure('garbled', 'a reply line longer than %d bytes' % MAX_REPLY_LINE)
            match = _REPLY_LINE.match(line)
            if not match:
                raise ProbeFailure('garbled', 'not an SMTP reply line: %r' % line[:60])
            if code is not None and match.group(1) != code:
                raise ProbeFailure('garbled', 'a multi-line reply that changes its code (%s, then %s)'
                                   % (code.decode(), match.group(1).decode()))
            code = match.group(1)
            lines.append((match.group(3) or b'').strip())
            if match.group(2) != b'-':
                break
            if len(lines) >= MAX_REPLY_LINES:
                raise ProbeFailure('garbled', 'a multi-line reply longer than %d lines' % MAX_REPLY_LINES)
        return int(code), b'\n'.join(lines)


def _text(message):
    return message.decode('utf-8', 'replace') if isinstance(message, (bytes, bytearray)) else str(message)


def probe_mx(host, address, context, timeout, port=SMTP_PORT, now=None):
    """Connect, EHLO, STARTTLS, EHLO again, QUIT.

    Returns a dict: ``host``, ``address``, ``port``, ``stage`` (``connect``,
    ``ehlo``, ``starttls``, ``done``), ``banner``, ``starttls`` (offered:
    True/False/None when not reached), ``tls_version``, ``certificate``,
    ``cn_only`` (the name matched only the subject CN), ``error_kind``
    (``timeout``, ``connect``, ``smtp`` for a negative reply, ``garbled``,
    ``closed``, ``closed_after_tls``, or a TLS kind of ``_tls``)/``error``,
    ``elapsed``. Never raises for anything the peer does.
    """
    result = {
        'host': host, 'address': address, 'port': port, 'stage': 'connect', 'banner': None,
        'starttls': None, 'tls_version': None, 'certificate': None, 'cn_only': False,
        'error_kind': None, 'error': None, 'elapsed': None,
    }
    start = time.monotonic()
    client = _PinnedSMTP(address, timeout, start + timeout)
    try:
        _converse(client, host, context, result, now)
        return result
    finally:
        if result['stage'] == 'done':
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass
        client.close()
        result['elapsed'] = round(time.monotonic() - start, 3)


def _fail(result, kind, text):
    result['error_kind'] = kind
    result['error'] = text


def _converse(client, host, context, result, now):
    try:
        code, banner = client.connect(host, result['port'])
    except ProbeFailure as exc:
        text = exc.text
        if exc.kind == 'timeout':
            text = 'no greeting within %gs' % client._timeout
        return _fail(result, exc.kind, text)
    except (socket.timeout, TimeoutError):
        return _fail(result, 'timeout', 'no connection within %gs' % client._timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return _fail(result, 'connect', str(exc) or type(exc).__name__)
    result['banner'] = _text(banner)
    if code != 220:
        return _fail(result, 'smtp', 'greeting %s %s' % (code, result['banner']))
    result['stage'] = 'ehlo'
    try:
        code, message = client.ehlo()
        if code != 250:
            return _fail(result, 'smtp', 'EHLO answered %s %s' % (code, _text(message)))
        result['starttls'] = client.has_extn('starttls')
        if not result['starttls']:
            return None
        result['stage'] = 'starttls'
        try:
            client.starttls(context=_DeadlineContext(context, client, host))
        except smtplib.SMTPResponseException as exc:
            return _fail(result, 'smtp', 'STARTTLS answered %s %s' % (exc.smtp_code, _text(exc.smtp_error)))
        except ssl.SSLError as exc:
            kind, text = classify_tls_error(exc)
            return _fail(result, kind, text)
        except (socket.timeout, TimeoutError):
            return _fail(result, 'timeout', 'no TLS handshake within %gs' % client._timeout)
        except ProbeFailure:
            raise
        except OSError as exc:
            return _fail(result, 'handshake', 'the connection ended during the TLS handshake: %s'
                         % (str(exc) or type(exc).__name__))
        result['tls_version'] = client.sock.version()
        peercert = client.sock.getpeercert()
        result['certificate'] = certificate_facts(peercert, now)
        result['cn_only'] = bool(peercert) and not (result['certificate'] or {}).get('sans')
        try:
            code, message = client.ehlo()
        except ProbeFailure as exc:
            if exc.kind == 'closed':
                return _fail(result, 'closed_after_tls', 'the connection closed right after the TLS handshake')
            raise
        if code != 250:
            return _fail(result, 'smtp', 'EHLO after STARTTLS answered %s %s' % (code, _text(message)))
        result['stage'] = 'done'
    except ProbeFailure as exc:
        return _fail(result, exc.kind, exc.text)
    except (OSError, smtplib.SMTPException) as exc:
        kind = 'timeout' if isinstance(exc, (socket.timeout, TimeoutError)) else 'smtp'
        return _fail(result, kind, str(exc) or type(exc).__name__)
    return None


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
