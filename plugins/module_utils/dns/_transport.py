# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One TCP connection to one DNS server: framing, pipelined batches, TSIG
(RFC 8945) signing and checking, and every transport failure as a message
that names the server, the port and the key.

It knows nothing about zones: :mod:`._rfc2136` builds the questions and
UPDATE messages and reads the answers. Private module of the mailsec.mta_sts
collection; needs dnspython (the controller's requirements).
"""

from __future__ import annotations

import random
import socket
import struct
import traceback

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.tsig
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

# The largest DNS message (the TCP length prefix is 16 bits).
MAX_MESSAGE = 65535
KEY_ALGORITHMS = ('hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512')


class DnsUpdateError(Exception):
    """A failure talking to the primary; ``message`` is meant for the user.
    ``changed_zones`` lists zones already updated in the same run."""

    def __init__(self, message, changed_zones=None):
        self.message = message
        self.changed_zones = list(changed_zones or [])
        super().__init__(message)


def make_key(key_name, key_secret, key_algorithm):
    """A dnspython TSIG key, or None when no key is given."""
    if not key_name:
        return None
    try:
        return dns.tsig.Key(key_name, key_secret, key_algorithm)
    except Exception as exc:  # binascii.Error, dns.name errors: a message is enough
        raise DnsUpdateError('TSIG key %s (%s): key_secret is not valid base64 or key_name is not a DNS name (%s). '
                             'Fix: copy the secret as the server shows it, e.g. from "tsig-keygen" or "keymgr -t"'
                             % (key_name, key_algorithm, exc)) from None


def name_text(name):
    """A dnspython name as text without the final dot."""
    return name.to_text(omit_final_dot=True)


# Why the answers are read by hand rather than with dns.query.tcp(sock=...):
# - a server answers some errors to a signed request WITHOUT a signature
#   (Knot: REFUSED for names outside its zones, NOTAUTH for an UPDATE of a
#   zone it does not serve). dns.query.tcp() and receive_tcp() reject such an
#   answer ("response requires a TSIG") before its rcode can be read, and the
#   rcode is what the zone walk and the error messages need. So every answer
#   is read as raw wire and parsed by ``parse``, which falls back to the
#   unsigned form;
# - a pipelined batch gets its answers in any order (RFC 7766 section 7), and
#   each answer's TSIG is checked against the MAC of its own request, which
#   is known only after reading the message id: dnspython's readers want the
#   request MAC before reading.


class TcpTransport:
    """One TCP connection to ``server``:``port`` (re-opened when the server
    closes an idle one), signing with ``key`` when there is one.
    ``where`` and ``key_text`` name the server and the key in messages."""

    def __init__(self, server, port=53, key=None, timeout=10.0):
        self.server = server
        self.port = port
        self.key = key
        self.timeout = timeout
        self._sock = None
        self._next_id = random.randint(0, 0xFFFF)
        self.queries = 0

    # -- naming things in messages

    @property
    def where(self):
        return 'server %s port %d' % (self.server, self.port)

    @property
    def key_text(self):
        if self.key is None:
            return 'no TSIG key'
        return 'key %s (%s)' % (name_text(self.key.name), name_text(self.key.algorithm))

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    # -- the connection

    def _connect(self, doing):
        try:
            sock = socket.create_connection((self.server, self.port), timeout=self.timeout)
        except socket.timeout:
            raise DnsUpdateError('%s: no TCP connection within %s seconds while %s. Fix: check that the DNS '
                                 'server runs and that the address and port are right and reachable'
                                 % (self.where, self.timeout, doing)) from None
        except OSError as exc:
            raise DnsUpdateError('%s: cannot connect over TCP while %s: %s. Fix: check that the DNS server runs '
                                 'and listens on TCP at this address and port'
                                 % (self.where, doing, exc.strerror or exc)) from None
        sock.settimeout(self.timeout)
        return sock

    def _recv_exactly(self, sock, count):
        data = b''
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _read_message(self, sock):
        (length,) = struct.unpack('!H', self._recv_exactly(sock, 2))
        return self._recv_exactly(sock, length)

    def _timeout_error(self, doing):
        return DnsUpdateError('%s: no answer within %s seconds while %s, with %s. Fix: check that the DNS server '
                              'runs and answers TCP queries, or raise timeout' % (self.where, self.timeout, doing, self.key_text))

    def _broken_error(self, doing, exc):
        return DnsUpdateError('%s: the connection broke while %s (%s). Fix: check the server log'
                              % (self.where, doing, exc or 'closed by the server'))

    def _send_and_read(self, data, count, doing, reuse=True):
        """Write ``data`` (``count`` framed messages) and read ``count`` raw
        answers. On a reused connection that the server closed while idle,
        try once more on a new one; never for a fresh connection or when
        ``reuse`` is false (an UPDATE is sent once)."""
        for attempt in (1, 2):
            fresh = self._sock is None or not reuse
            if fresh:
                self.close()
                self._sock = self._connect(doing)
            try:
                self._sock.sendall(data)
                return [self._read_message(self._sock) for dummy in range(count)]
            except socket.timeout:
                self.close()
                raise self._timeout_error(doing) from None
            except (EOFError, OSError) as exc:
                self.close()
                if fresh or attempt == 2:
                    raise self._broken_error(doing, exc) from None
        raise AssertionError('unreachable')

    # -- messages

    def exchange(self, message, doing, reuse=True):
        """Send one message and return the checked answer."""
        wire = message.to_wire()
        if len(wire) > MAX_MESSAGE:
            raise DnsUpdateError('%s: the message is %d octets, more than a DNS message can hold' % (self.where, len(wire)))
        (answer,) = self._send_and_read(struct.pack('!H', len(wire)) + wire, 1, doing, reuse)
        return self.parse(message, answer, doing)

    def exchange_many(self, messages, doing):
        """Send ``messages`` on one new connection in one write and read
        their answers (RFC 7766 pipelining); never resent (an UPDATE is sent
        once). The server may answer in any order: answers are matched by
        message id, which this assigns. Returns the checked answers in the
        order of ``messages``; raises DnsUpdateError naming how many were
        answered when the connection fails part way."""
        packets = []
        by_id = {}
        for offset, message in enumerate(messages):
            message.id = (self._next_id + offset) & 0xFFFF
            if message.keyring is not None:
                # TSIG carries the original id (RFC 8945 section 4.2): re-arm the
                # signature with the id actually sent.
                message.use_tsig(message.keyring, original_id=message.id)
            wire = message.to_wire()
            if len(wire) > MAX_MESSAGE:
                raise DnsUpdateError('%s: the message is %d octets, more than a DNS message can hold' % (self.where, len(wire)))
            packets.append(struct.pack('!H', len(wire)) + wire)
            by_id[message.id] = offset
        self._next_id = (self._next_id + len(messages)) & 0xFFFF
        self.close()
        sock = self._sock = self._connect(doing)
        answers = [None] * len(messages)
        try:
            sock.sendall(b''.join(packets))
            for dummy in messages:
                wire = self._read_message(sock)
                (msg_id,) = struct.unpack('!H', wire[:2])
                if msg_id not in by_id or answers[by_id[msg_id]] is not None:
                    raise DnsUpdateError('%s answered with an unknown message id while %s' % (self.where, doing))
                offset = by_id[msg_id]
                answers[offset] = self.parse(messages[offset], wire, doing)
        except socket.timeout:
            raise DnsUpdateError('%s: no answer within %s seconds while %s (%d of %d answered), with %s. Fix: check '
                                 'that the DNS server runs, or raise timeout' % (
                                     self.where, self.timeout, doing, sum(a is not None for a in answers),
                                     len(answers), self.key_text)) from None
        except (EOFError, OSError) as exc:
            raise DnsUpdateError('%s: the connection broke while %s (%d of %d answered: %s). Fix: check the server log'
                                 % (self.where, doing, sum(a is not None for a in answers), len(answers),
                                    exc or 'closed by the server')) from None
        finally:
            self.close()
        return answers

    def parse(self, request, wire, doing):
        """Parse and check an answer: TSIG errors become messages."""
        try:
            answer = dns.message.from_wire(wire, keyring=self.key, request_mac=request.mac if self.key else b'')
        except dns.tsig.PeerError as exc:
            raise DnsUpdateError(self._tsig_message(exc, doing)) from None
        except dns.message.UnknownTSIGKey:
            raise DnsUpdateError('%s answered %s with a TSIG record although no key was given' % (self.where, doing)) from None
        except (dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.BadAlgorithm) as exc:
            raise DnsUpdateError('%s: the TSIG signature of the answer does not verify with %s while %s (%s). '
                                 'Fix: check key_secret and key_algorithm' % (self.where, self.key_text, doing, exc)) from None
        except dns.exception.FormError as exc:
            # An unsigned error answer to a signed request (see the comment
            # above the class).
            try:
                answer = dns.message.from_wire(wire)
            except Exception:
                raise DnsUpdateError('%s sent a malformed answer while %s: %s' % (self.where, doing, exc)) from None
        if answer.id != request.id:
            raise DnsUpdateError('%s answered with the wrong message id while %s' % (self.where, doing))
        return answer

    def _tsig_message(self, exc, doing):
        # 'doing' names the zone or the record already.
        if isinstance(exc, dns.tsig.PeerBadKey):
            return ('%s refused %s while %s (TSIG error BADKEY): the server does not know this key name and '
                    'algorithm, or no ACL lets this key update the zone. Fix: use the key_name and key_algorithm '
                    'configured on the server and allow the key to update the zone'
                    % (self.where, self.key_text, doing))
        if isinstance(exc, dns.tsig.PeerBadSignature):
            return ('%s refused %s while %s (TSIG error BADSIG): the server knows the key but the signature '
                    'does not verify, so key_secret (or key_algorithm) is wrong. Fix: copy the secret from the '
                    "server's key definition" % (self.where, self.key_text, doing))
        if isinstance(exc, dns.tsig.PeerBadTime):
            return ('%s refused %s while %s (TSIG error BADTIME): the clocks of this controller and the server '
                    'differ by more than the allowed 300 seconds. Fix: synchronise both clocks (NTP)'
                    % (self.where, self.key_text, doing))
        return ('%s refused %s while %s (TSIG error %s). Fix: check the key on the server'
                % (self.where, self.key_text, doing, type(exc).__name__))

    def _make_query(self, name, rdtype):
        # Straight to the server, never through its recursion, signed with
        # the key if there is one so that a wrong key shows up before any
        # change is attempted.
        request = dns.message.make_query(name, rdtype, use_edns=True, payload=4096)
        request.flags &= ~dns.flags.RD
        return request

    def query(self, name, rdtype, doing=None):
        """Ask the server one question; returns the checked answer."""
        doing = doing or 'reading %s %s' % (rdtype, name)
        request = self._make_query(name, rdtype)
        if self.key is not None:
            request.use_tsig(self.key)
        answer = self.exchange(request, doing)
        self.queries += 1
        return answer

    def query_many(self, questions, doing, window=128):
        """Answers to many (name, rdtype) questions, pipelined on the TCP
        connection (RFC 7766 section 6.2.1.1) ``window`` at a time: one
        write and one stream of answers instead of a round trip each. The
        answers come back in the order of ``questions``."""
        answers = []
        for start in range(0, len(questions), window):
            requests = {}
            packets = []
            for offset, (name, rdtype) in enumerate(questions[start:start + window]):
                request = self._make_query(name, rdtype)
                request.id = (self._next_id + offset) & 0xFFFF
                if self.key is not None:
                    request.use_tsig(self.key)
                wire = request.to_wire()
                packets.append(struct.pack('!H', len(wire)) + wire)
                requests[request.id] = (offset, request)
            self._next_id = (self._next_id + window) & 0xFFFF
            batch = questions[start:start + window]
            more = len(batch) - 1
            raw = self._send_and_read(b''.join(packets), len(packets), '%s of %s%s' % (
                doing, batch[0][0], ' and %d more name%s' % (more, '' if more == 1 else 's') if more else ''))
            chunk = [None] * len(packets)
            for wire in raw:
                (msg_id,) = struct.unpack('!H', wire[:2])
                if msg_id not in requests:
                    raise DnsUpdateError('%s answered with an unknown message id while %s' % (self.where, doing))
                offset, request = requests[msg_id]
                chunk[offset] = self.parse(request, wire, '%s of %s' % (doing, batch[offset][0]))
            self.queries += len(packets)
            answers.extend(chunk)
        return answers
