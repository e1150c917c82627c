# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sender's view of the policy fetch (RFC 8461 section 3.3).

``mta-sts.<domain>`` is resolved with the run's resolver, then each address
is fetched over HTTPS with SNI and certificate checks for the policy host
name (C1, C5), without following redirects (C2), with a size cap and a
total time cap (C4). The facts are returned; judging them is the job of
``verification._judge``.

The HTTP/1.1 exchange is read here rather than through ``http.client``:
a policy host on the internet may answer with anything (HTTP/1.0, interim
1xx answers, a header section that never ends, a body cut short of its
Content-Length, HTTP/2 frames, a reset), and every such answer must end,
within the one deadline of the fetch, in a classified result
(``error_kind``), never in an exception. ``http.client`` leaves several of
those cases to exceptions or to a half-closed connection object.

Private module of the mailsec.mta_sts collection (controller only; standard
library plus the run's resolver).
"""

from __future__ import annotations

import re
import socket
import ssl
import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import POLICY_PATH
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import (
    certificate_facts,
    classify_tls_error,
)

MAX_POLICY_BYTES = 65536  # C4: the cap RFC 8461 suggests
MAX_HEADER_BYTES = 65536  # the whole header section, interim answers included
MAX_INTERIM = 8           # 1xx answers accepted before the final one
USER_AGENT = 'mailsec.mta_sts-verify'
HTTPS_PORT = 443

_STATUS_LINE = re.compile(r'HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: ([^\r\n]*))?\r?\n\Z')
_DIGITS = re.compile(r'[0-9]{1,18}\Z')  # str.isdigit() also takes '²', which int() refuses
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_CHUNK_SIZE = re.compile(rb'[0-9A-Fa-f]{1,15}\Z')
# Every error kind the HTTP stage can end with (see docs/verify.md).
HTTP_ERROR_KINDS = ('timeout', 'closed', 'reset', 'tls', 'bad_status', 'http2', 'headers_too_large',
                    'bad_header', 'bad_length', 'bad_chunk', 'truncated', 'upgrade', 'http')


def policy_host(domain):
    return 'mta-sts.%s' % domain


class FetchFailure(Exception):
    """Ends the HTTP stage with ``kind`` (one of HTTP_ERROR_KINDS) and a text."""

    def __init__(self, kind, text):
        super().__init__(text)
        self.kind = kind
        self.text = text


class _Reader:
    """Buffered reads from the TLS socket, every one under the fetch's deadline."""

    def __init__(self, sock, deadline, timeout):
        self.sock = sock
        self.deadline = deadline
        self.timeout = timeout
        self.buffer = bytearray()
        self.eof = False
        self.taken = 0

    def fill(self):
        """Read what the peer sends next; sets ``eof`` at the end of the stream."""
        if self.eof:
            return
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailure('timeout', 'no complete response within %gs' % self.timeout)
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(16384)
        except (socket.timeout, TimeoutError):
            raise FetchFailure('timeout', 'no complete response within %gs' % self.timeout) from None
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            # A close with or without close_notify: many HTTP servers skip
            # close_notify, so the end of the stream is judged by the framing.
            data = b''
        except ssl.SSLError as exc:
            raise FetchFailure('tls', 'TLS error after the handshake: %s' % (exc.reason or exc)) from None
        except ConnectionResetError:
            raise FetchFailure('reset', 'the connection was reset') from None
        except OSError as exc:
            raise FetchFailure('http', str(exc) or type(exc).__name__) from None
        if data:
            self.buffer.extend(data)
        else:
            self.eof = True

    def take(self, count):
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        self.taken += len(data)
        return data

    def line(self, limit, what):
        """One line up to LF (included), at most ``limit`` bytes."""
        while True:
            end = self.buffer.find(b'\n', 0, limit)
            if end >= 0:
                return self.take(end + 1)
            if len(self.buffer) >= limit:
                raise FetchFailure('headers_too_large' if what == 'header section' else 'bad_chunk',
                                   'the %s is longer than %d bytes' % (what, limit))
            if self.eof:
                raise FetchFailure('truncated' if self.buffer or self.taken else 'closed',
                                   'the connection closed in the middle of the %s' % what)
            self.fill()

    def exactly(self, count, what):
        while len(self.buffer) < count:
            if self.eof:
                raise FetchFailure('truncated', 'the connection closed %d bytes short of the %s'
                                   % (count - len(self.buffer), what))
            self.fill()
        return self.take(count)

    def until_close(self, limit):
        """What remains of the stream, at most ``limit`` bytes."""
        while not self.eof and len(self.buffer) < limit:
            self.fill()
        return self.take(limit)


def _looks_like_http2(data):
    """An HTTP/2 frame header (type SETTINGS or GOAWAY on stream 0) where an
    HTTP/1.x status line belongs: the server speaks only HTTP/2."""
    return (len(data) >= 9 and data[3] in (0x04, 0x07) and data[5:9] == b'\x00\x00\x00\x00'
            and int.from_bytes(data[0:3], 'big') < 16384)


def _check_start(data):
    """Fail early on what cannot become a status line, rather than wait for
    a line end that may never come."""
    if _looks_like_http2(data):
        raise FetchFailure('http2', 'the server answered with HTTP/2 frames: it speaks only HTTP/2')
    if data[:1] == b'\x00' and len(data) < 9:
        return  # perhaps an HTTP/2 frame header, not complete yet
    start = bytes(data[:5])
    if start != b'HTTP/'[:len(start)]:
        raise FetchFailure('bad_status', 'not an HTTP status line: %r' % bytes(data[:60]))


def _read_head(reader, budget):
    """Status line and header fields of one answer. Returns ``(version,
    status, reason, [(name, value)], bytes used)``."""
    while b'\n' not in reader.buffer[:budget]:
        _check_start(reader.buffer)
        if len(reader.buffer) >= budget or reader.eof:
            break
        reader.fill()
    _check_start(reader.buffer)
    if not reader.buffer and reader.eof:
        raise FetchFailure('closed', 'the connection closed before any response')
    raw = reader.line(budget, 'header section')
    used = len(raw)
    match = _STATUS_LINE.match(raw.decode('latin-1'))
    if not match:
        raise FetchFailure('bad_status', 'not an HTTP status line: %r' % raw[:60])
    version = 'HTTP/%s.%s' % (match.group(1), match.group(2))
    if match.group(1) != '1':
        raise FetchFailure('bad_status', 'unsupported protocol version %s' % version)
    headers = []
    while True:
        raw = reader.line(budget - used, 'header section')
        used += len(raw)
        text = raw.decode('latin-1').rstrip('\r\n')
        if not text:
            return version, int(match.group(3)), (match.group(4) or '').strip(), headers, used
        if text[0] in ' \t':
            # obs-fold: a continuation line (RFC 9112 5.2 lets a client join it).
            if not headers:
                raise FetchFailure('bad_header', 'a header section that starts with a continuation line')
            name, value = headers[-1]
            headers[-1] = (name, '%s %s' % (value, text.strip()))
            continue
        name, sep, value = text.partition(':')
        if not sep or not _HEADER_NAME.match(name):
            raise FetchFailure('bad_header', 'not a header field: %r' % text[:60])
        headers.append((name.lower(), value.strip()))


def _values(headers, name):
    return [value for key, value in headers if key == name]


def _read_chunked(reader, max_bytes):
    """A chunked body, stopping once it exceeds ``max_bytes``."""
    body = bytearray()
    while True:
        line = reader.line(1024, 'chunk size line').rstrip(b'\r\n')
        size_text = line.split(b';', 1)[0].strip()
        if not _CHUNK_SIZE.match(size_text):
            raise FetchFailure('bad_chunk', 'not a chunk size: %r' % line[:40])
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_bytes:
            body.extend(reader.exactly(max_bytes + 1 - len(body), 'chunk'))
            return body, True
        body.extend(reader.exactly(size, 'chunk'))
        if reader.line(1024, 'chunk end') not in (b'\r\n', b'\n'):
            raise FetchFailure('bad_chunk', 'a chunk longer than its size line says')
    # Trailer fields, up to the empty line.
    used = 0
    while True:
        raw = reader.line(MAX_HEADER_BYTES - used, 'header section')
        used += len(raw)
        if raw in (b'\r\n', b'\n'):
            return body, False


def _read_response(reader, result, max_bytes):
    budget = MAX_HEADER_BYTES
    interim = []
    while True:
        version, status, reason, headers, used = _read_head(reader, budget)
        budget -= used
        if status == 101:
            raise FetchFailure('upgrade', 'HTTP 101: the server switched protocols unasked')
        if 100 <= status < 200:
            interim.append(status)
            if len(interim) > MAX_INTERIM:
                raise FetchFailure('bad_status', 'more than %d interim (1xx) answers' % MAX_INTERIM)
            continue
        break
    result.update(http_version=version, interim=interim, status=status, reason=reason)
    locations = _values(headers, 'location')
    result['location'] = locations[0] if locations else None
    types = _values(headers, 'content-type')
    result['content_types'] = types
    result['content_type'] = types[0] if types else None
    encodings = [v for v in _values(headers, 'content-encoding') if v.lower() != 'identity']
    result['content_encoding'] = ', '.join(encodings) or None
    if status in (204, 304):
        result['framing'] = 'none'
        return b'', False
    codings = [c.strip().lower() for v in _values(headers, 'transfer-encoding') for c in v.split(',') if c.strip()]
    if codings:
        if codings != ['chunked']:
            raise FetchFailure('bad_length', 'unsupported Transfer-Encoding: %s' % ', '.join(codings))
        # RFC 9112 6.3: chunked framing wins over any Content-Length.
        result['framing'] = 'chunked'
        return _read_chunked(reader, max_bytes)
    lengths = {v.strip() for v in _values(headers, 'content-length') for v in v.split(',')}
    if lengths:
        if len(lengths) > 1 or not _DIGITS.match(next(iter(lengths))):
            raise FetchFailure('bad_length', 'invalid Content-Length: %s' % ', '.join(sorted(lengths)))
        length = int(next(iter(lengths)))
        result['framing'] = 'content-length'
        result['content_length'] = length
        body = reader.exactly(min(length, max_bytes + 1), 'Content-Length of %d bytes' % length)
        if length <= max_bytes:
            # Bytes already here beyond Content-Length: the peer sent more than it announced.
            result['excess'] = bool(reader.buffer) or _pending(reader.sock)
        return body, length > max_bytes
    result['framing'] = 'close'
    body = reader.until_close(max_bytes + 1)
    return body, len(body) > max_bytes


def _pending(sock):
    try:
        return sock.pending() > 0
    except (AttributeError, OSError, ssl.SSLError):
        return False


def _empty_result(address):
    return {
        'address': address, 'stage': 'connect', 'error_kind': None, 'error': None,
        'tls_version': None, 'alpn': None, 'certificate': None, 'cn_only': False,
        'http_version': None, 'interim': [], 'status': None, 'reason': None, 'location': None,
        'content_type': None, 'content_types': [], 'content_encoding': None, 'framing': None,
        'content_length': None, 'excess': False, 'size': None, 'too_large': False,
        'timed_out': False, 'elapsed': None, 'body': None,
    }


def fetch_address(host, address, context, timeout, max_bytes=MAX_POLICY_BYTES, now=None, port=HTTPS_PORT):
    """Fetch the policy from one address of the policy host.

    Returns a dict: ``address``, ``stage`` (where it stopped: ``connect``,
    ``tls``, ``http``, ``done``), ``error_kind``/``error``, ``tls_version``,
    ``alpn``, ``certificate``, ``cn_only`` (the name matched only the
    subject CN), ``http_version``, ``interim`` (1xx statuses), ``status``,
    ``reason``, ``location``, ``content_type`` (the first),
    ``content_types`` (all), ``content_encoding``, ``framing``
    (``content-length``, ``chunked``, ``close``, ``none``),
    ``content_length``, ``excess`` (more bytes than Content-Length),
    ``size``, ``too_large``, ``timed_out``, ``elapsed``, ``body`` (bytes,
    only when the response arrived complete). ``timeout`` caps the whole
    fetch, not each read. Never raises for anything the peer does.
    """
    result = _empty_result(address)
    start = time.monotonic()
    deadline = start + timeout
    sock = None
    try:
        try:
            raw = socket.create_connection((address, port), timeout)
        except (socket.timeout, TimeoutError) as exc:
            result['error_kind'] = 'timeout'
            result['timed_out'] = True
            result['error'] = str(exc) or 'timed out'
            return result
        except OSError as exc:
            result['error_kind'] = 'connect'
            result['error'] = str(exc) or type(exc).__name__
            return result
        result['stage'] = 'tls'
        try:
            raw.settimeout(max(0.01, deadline - time.monotonic()))
            sock = context.wrap_socket(raw, server_hostname=host)
        except ssl.SSLError as exc:
            raw.close()
            result['error_kind'], result['error'] = classify_tls_error(exc)
            return result
        except (socket.timeout, TimeoutError):
            raw.close()
            result['error_kind'] = 'timeout'
            result['timed_out'] = True
            result['error'] = 'no TLS handshake within %gs' % timeout
            return result
        except OSError as exc:
            raw.close()
            # A close or reset in the middle of the handshake.
            result['error_kind'] = 'handshake'
            result['error'] = 'the connection ended during the TLS handshake: %s' % (
                str(exc) or type(exc).__name__)
            return result
        result['stage'] = 'http'
        result['tls_version'] = sock.version()
        result['alpn'] = sock.selected_alpn_protocol()
        peercert = sock.getpeercert()
        result['certificate'] = certificate_facts(peercert, now)
        # The handshake checked the name; with no SAN DNS name that match came
        # from the subject CN, which RFC 9525 and several senders no longer accept.
        result['cn_only'] = bool(peercert) and not (result['certificate'] or {}).get('sans')
        reader = _Reader(sock, deadline, timeout)
        try:
            _send_request(sock, host, deadline, timeout)
            body, too_large = _read_response(reader, result, max_bytes)
        except FetchFailure as exc:
            result['error_kind'] = exc.kind
            result['error'] = exc.text
            result['timed_out'] = exc.kind == 'timeout'
            return result
        result['too_large'] = too_large
        body = body[:max_bytes]
        result['size'] = len(body)
        result['body'] = bytes(body)
        result['stage'] = 'done'
        return result
    finally:
        result['elapsed'] = round(time.monotonic() - start, 3)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _send_request(sock, host, deadline, timeout):
    # C2: a plain GET; nothing here follows redirects. No Accept-Encoding: a
    # compressed answer is then one the server sent unasked.
    request = ('GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: text/plain\r\n'
               'Cache-Control: no-cache\r\nConnection: close\r\n\r\n' % (POLICY_PATH, host, USER_AGENT))
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchFailure('timeout', 'no complete response within %gs' % timeout)
    sock.settimeout(remaining)
    try:
        sock.sendall(request.encode('ascii'))
    except (socket.timeout, TimeoutError):
        raise FetchFailure('timeout', 'no complete response within %gs' % timeout) from None
    except ssl.SSLError as exc:
        raise FetchFailure('tls', 'TLS error after the handshake: %s' % (exc.reason or exc)) from None
    except ConnectionResetError:
        raise FetchFailure('reset', 'the connection was reset before the request was sent') from None
    except OSError as exc:
        # BrokenPipe: the peer closed right after the handshake.
        raise FetchFailure('closed', 'the connection closed before the request was sent (%s)'
                           % (str(exc) or type(exc).__name__)) from None


def fetch_policy(domain, resolver, context, timeout, max_bytes=MAX_POLICY_BYTES, now=None, port=HTTPS_PORT):
    """Resolve ``mta-sts.<domain>`` and fetch the policy from every address.

    Returns ``{host, url, addresses, dns_failures, results}`` where
    ``results`` holds one :func:`fetch_address` dict per address.
    """
    host = policy_host(domain)
    addresses, failures = resolver.addresses(host)
    results = [fetch_address(host, address, context, timeout, max_bytes, now, port) for address in addresses]
    return {
        'host': host,
        'url': 'https://%s%s' % (host, POLICY_PATH),
        'addresses': addresses,
        'dns_failures': [answer.describe() for answer in failures],
        'results': results,
    }
