# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Talk to a zone's primary over TCP: read TXT records, find the zone, send
RFC 2136 UPDATE messages signed with TSIG (RFC 8945), and turn every failure
into a message that names the server, the zone and the key.

Queries go straight to the primary (never through a cache) over one TCP
connection, so that what we read is what the UPDATE prerequisites are
checked against. Private module of the mailsec.mta_sts collection; needs
dnspython (the controller's requirements).
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
    import dns.opcode
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.tsig
    import dns.update
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

# The largest DNS message (the TCP length prefix is 16 bits). We stay below
# it with room for the TSIG record.
MAX_MESSAGE = 65535
UPDATE_BUDGET = 60000
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


def _name(text):
    return dns.name.from_text(text)


def _text(name):
    return name.to_text(omit_final_dot=True)


def rdataset_of(records, ttl):
    """A TXT rdataset from records given as tuples of bytes strings."""
    rds = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    rds.update_ttl(ttl)
    for record in records:
        rds.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, list(record)))
    return rds


def records_of(rdataset):
    """The records of a TXT rdataset as tuples of bytes, in a stable order."""
    return sorted(tuple(rdata.strings) for rdata in rdataset)


def _estimate(plan):
    """An upper bound of the octets a plan adds to an UPDATE: names counted
    uncompressed, 10 octets of type/class/TTL/length per RR, every string
    with its length octet."""
    name = len(plan.name) + 2
    size = 0
    for record in plan.before or [()]:
        size += name + 10 + sum(len(s) + 1 for s in record)  # prerequisite
    size += 2 * (name + 10)  # CNAME prerequisite, RRset delete
    for record in plan.remove + (plan.after if plan.retime else plan.add):
        size += name + 10 + sum(len(s) + 1 for s in record)
    return size


def _add_plan(update, plan):
    name = _name(plan.name)
    # Prerequisites (RFC 2136 section 2.4): the TXT RRset is still exactly
    # what we read, or still absent; and no CNAME appeared at the name.
    if plan.before:
        update.present(name, rdataset_of(plan.before, 0))
    else:
        update.absent(name, dns.rdatatype.TXT)
    update.absent(name, dns.rdatatype.CNAME)
    if plan.retime:
        update.delete(name, dns.rdatatype.TXT)
        update.add(name, rdataset_of(plan.after, plan.ttl_after))
        return
    if plan.remove:
        update.delete(name, rdataset_of(plan.remove, 0))
    if plan.add:
        update.add(name, rdataset_of(plan.add, plan.ttl_after))


def build_updates(zone, groups, key=None, budget=UPDATE_BUDGET):
    """UPDATE messages for ``zone`` from ``groups``: a list of lists of
    TxtPlan, one list per domain, kept together in one message so that each
    domain changes atomically. Usually one message per zone; a message that
    would exceed the DNS maximum of 64 KiB is split between domains.
    Unchanged plans are left out; returns [] when nothing changes."""
    messages = []
    current = []
    size = 0
    for group in groups:
        changed = [plan for plan in group if plan.changed]
        if not changed:
            continue
        cost = sum(_estimate(plan) for plan in changed)
        if current and size + cost > budget:
            messages.append(current)
            current, size = [], 0
        current.extend(changed)
        size += cost
    if current:
        messages.append(current)
    out = []
    for plans in messages:
        update = dns.update.UpdateMessage(_name(zone), keyring=key)
        for plan in plans:
            _add_plan(update, plan)
        out.append(update)
    return out


def zone_of_negative_answer(answer, name):
    """The zone named by the SOA in a negative authoritative answer about
    ``name`` (RFC 2308 section 3), or the name itself when the answer holds
    its SOA; None for any other answer."""
    if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or not answer.flags & dns.flags.AA:
        return None
    qname = _name(name)
    if answer.get_rrset(answer.answer, qname, dns.rdataclass.IN, dns.rdatatype.SOA):
        return _text(qname)
    if answer.answer:
        return None  # a positive answer (or a CNAME) says nothing about the zone
    for rrset in answer.authority:
        if rrset.rdtype == dns.rdatatype.SOA and qname.is_subdomain(rrset.name):
            return _text(rrset.name)
    return None


# ---------------------------------------------------------------------------
# Talking to the primary


class Primary:
    """One TCP connection to the primary (re-opened when the server closes
    an idle one). ``describe`` names server, port and key for messages."""

    def __init__(self, server, port=53, key=None, timeout=10.0):
        self.server = server
        self.port = port
        self.key = key
        self.timeout = timeout
        self._sock = None
        self._next_id = random.randint(0, 0xFFFF)
        self._zones_seen = set()
        self.queries = 0
        self.updates = 0

    # -- naming things in messages

    @property
    def where(self):
        return 'server %s port %d' % (self.server, self.port)

    @property
    def key_text(self):
        if self.key is None:
            return 'no TSIG key'
        return 'key %s (%s)' % (_text(self.key.name), _text(self.key.algorithm))

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    # -- transport

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

    def _timeout_error(self, doing):
        return DnsUpdateError('%s: no answer within %s seconds while %s, with %s. Fix: check that the DNS server '
                              'runs and answers TCP queries, or raise timeout' % (self.where, self.timeout, doing, self.key_text))

    def _broken_error(self, doing, exc):
        return DnsUpdateError('%s: the connection broke while %s (%s). Fix: check the server log'
                              % (self.where, doing, exc or 'closed by the server'))

    def _exchange(self, message, doing, reuse=True):
        """Send one message and return the raw answer."""
        wire = message.to_wire()
        if len(wire) > MAX_MESSAGE:
            raise DnsUpdateError('%s: the message is %d octets, more than a DNS message can hold' % (self.where, len(wire)))
        packet = struct.pack('!H', len(wire)) + wire
        for attempt in (1, 2):
            if self._sock is None or not reuse:
                self.close()
                self._sock = self._connect(doing)
                fresh = True
            else:
                fresh = False
            try:
                self._sock.sendall(packet)
                (length,) = struct.unpack('!H', self._recv_exactly(self._sock, 2))
                return self._recv_exactly(self._sock, length)
            except socket.timeout:
                self.close()
                raise self._timeout_error(doing) from None
            except (EOFError, OSError) as exc:
                self.close()
                # A connection the server closed while idle: try once more
                # on a new one. Never for a fresh connection or an UPDATE.
                if fresh or not reuse or attempt == 2:
                    raise self._broken_error(doing, exc) from None
        raise AssertionError('unreachable')

    def _parse(self, request, wire, doing, zone=None):
        """Parse and check an answer: TSIG errors become messages."""
        try:
            answer = dns.message.from_wire(wire, keyring=self.key, request_mac=request.mac if self.key else b'')
        except dns.tsig.PeerError as exc:
            raise DnsUpdateError(self._tsig_message(exc, doing, zone)) from None
        except dns.message.UnknownTSIGKey:
            raise DnsUpdateError('%s answered %s with a TSIG record although no key was given' % (self.where, doing)) from None
        except (dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.BadAlgorithm) as exc:
            raise DnsUpdateError('%s: the TSIG signature of the answer does not verify with %s while %s (%s). '
                                 'Fix: check key_secret and key_algorithm' % (self.where, self.key_text, doing, exc)) from None
        except dns.exception.FormError as exc:
            # An unsigned error answer to a signed request (a server that
            # does not host the zone answers NOTAUTH without TSIG).
            try:
                answer = dns.message.from_wire(wire)
            except Exception:
                raise DnsUpdateError('%s sent a malformed answer while %s: %s' % (self.where, doing, exc)) from None
        if answer.id != request.id:
            raise DnsUpdateError('%s answered with the wrong message id while %s' % (self.where, doing))
        return answer

    def _tsig_message(self, exc, doing, zone):
        zone_text = ''  # 'doing' names the zone or the record already
        if isinstance(exc, dns.tsig.PeerBadKey):
            return ('%s refused %s while %s (%sTSIG error BADKEY): the server does not know this key name and '
                    'algorithm, or no ACL lets this key update the zone. Fix: use the key_name and key_algorithm '
                    'configured on the server and allow the key to update the zone'
                    % (self.where, self.key_text, doing, zone_text))
        if isinstance(exc, dns.tsig.PeerBadSignature):
            return ('%s refused %s while %s (%sTSIG error BADSIG): the server knows the key but the signature '
                    'does not verify, so key_secret (or key_algorithm) is wrong. Fix: copy the secret from the '
                    "server's key definition" % (self.where, self.key_text, doing, zone_text))
        if isinstance(exc, dns.tsig.PeerBadTime):
            return ('%s refused %s while %s (%sTSIG error BADTIME): the clocks of this controller and the server '
                    'differ by more than the allowed 300 seconds. Fix: synchronise both clocks (NTP)'
                    % (self.where, self.key_text, doing, zone_text))
        return ('%s refused %s while %s (%sTSIG error %s). Fix: check the key on the server'
                % (self.where, self.key_text, doing, zone_text, type(exc).__name__))

    def query(self, name, rdtype, doing=None):
        """Ask the primary directly, signed with the key if there is one, so
        that a wrong key shows up before any change is attempted."""
        doing = doing or 'reading %s %s' % (rdtype, name)
        request = dns.message.make_query(name, rdtype, use_edns=True, payload=4096)
        request.flags &= ~dns.flags.RD
        if self.key is not None:
            request.use_tsig(self.key)
        wire = self._exchange(request, doing)
        self.queries += 1
        return self._parse(request, wire, doing)

    # -- what the module needs

    def find_zone(self, name, zone=None):
        """The zone holding ``name``: ``zone`` checked, or the closest
        enclosing SOA found by walking up from ``name``. Returns the zone as
        text without the final dot."""
        target = _name(name)
        if zone:
            apex = _name(zone)
            if not target.is_subdomain(apex):
                raise DnsUpdateError('%s is not inside zone %s. Fix: set zone to the zone that holds %s, or leave '
                                     'zone unset to find it' % (name, zone, name))
            if apex in self._zones_seen:
                return _text(apex)
            answer = self.query(apex, 'SOA', 'reading the SOA of zone %s' % zone)
            if answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA and \
                    answer.get_rrset(answer.answer, apex, dns.rdataclass.IN, dns.rdatatype.SOA):
                self._zones_seen.add(apex)
                return _text(apex)
            raise DnsUpdateError('%s has no SOA for zone %s (answer %s%s): it is not a primary of this zone. '
                                 'Fix: set server to the primary of %s, or correct zone'
                                 % (self.where, zone, dns.rcode.to_text(answer.rcode()),
                                    '' if answer.flags & dns.flags.AA else ', not authoritative', zone))
        candidate = target
        seen = []
        while True:
            answer = self.query(candidate, 'SOA', 'looking for the zone of %s' % name)
            rcode = answer.rcode()
            seen.append('%s %s' % (_text(candidate), dns.rcode.to_text(rcode)))
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and answer.flags & dns.flags.AA:
                for rrset in answer.answer:
                    if rrset.rdtype == dns.rdatatype.SOA and rrset.name == candidate:
                        return _text(candidate)
                for rrset in answer.authority:
                    if rrset.rdtype == dns.rdatatype.SOA and target.is_subdomain(rrset.name):
                        return _text(rrset.name)
            elif rcode == dns.rcode.NOERROR and any(r.rdtype == dns.rdatatype.NS for r in answer.authority):
                cut = [r for r in answer.authority if r.rdtype == dns.rdatatype.NS][0]
                raise DnsUpdateError('%s: %s is in zone %s, which %s delegates to %s. Fix: set server to the primary '
                                     'of %s' % (self.where, name, _text(cut.name), self.server,
                                                ', '.join(sorted(_text(r.target) for r in cut)), _text(cut.name)))
            if candidate == dns.name.root or len(candidate) <= 1:
                break
            candidate = candidate.parent()
            if candidate == dns.name.root:
                break
        raise DnsUpdateError('no SOA found for %s on %s (%s): the server is not authoritative for any zone above '
                             'the name. Fix: set server to the primary of the zone of %s, or set zone explicitly'
                             % (name, self.where, '; '.join(seen[:6]) + ('; ...' if len(seen) > 6 else ''), name))

    def read_txt(self, name, zone):
        """The TXT records at ``name`` as (records, ttl, cname_target)."""
        doing = 'reading TXT %s in zone %s' % (name, zone)
        return self.txt_of(self.query(_name(name), 'TXT', doing), name, zone)

    def txt_of(self, answer, name, zone):
        """(records, ttl, cname_target) from a TXT answer of the primary."""
        doing = 'reading TXT %s in zone %s' % (name, zone)
        qname = _name(name)
        rcode = answer.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise DnsUpdateError('%s answered %s while %s (%s). Fix: set server to the primary of zone %s'
                                 % (self.where, dns.rcode.to_text(rcode), doing, self.key_text, zone))
        if not answer.flags & dns.flags.AA:
            raise DnsUpdateError('%s is not authoritative for %s (answer without the AA flag) while %s. Fix: set '
                                 'server to the primary of zone %s' % (self.where, name, doing, zone))
        cname = answer.get_rrset(answer.answer, qname, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname:
            return [], None, _text(cname[0].target)
        txt = answer.get_rrset(answer.answer, qname, dns.rdataclass.IN, dns.rdatatype.TXT)
        if not txt:
            return [], None, None
        return records_of(txt), txt.ttl, None

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
                request = dns.message.make_query(name, rdtype, use_edns=True, payload=4096)
                request.id = (self._next_id + offset) & 0xFFFF
                request.flags &= ~dns.flags.RD
                if self.key is not None:
                    request.use_tsig(self.key)
                wire = request.to_wire()
                packets.append(struct.pack('!H', len(wire)) + wire)
                requests[request.id] = (offset, request)
            self._next_id = (self._next_id + window) & 0xFFFF
            batch = questions[start:start + window]
            more = len(batch) - 1
            raw = self._exchange_many(b''.join(packets), len(packets), '%s of %s%s' % (
                doing, batch[0][0], ' and %d more name%s' % (more, '' if more == 1 else 's') if more else ''))
            chunk = [None] * len(packets)
            for wire in raw:
                (msg_id,) = struct.unpack('!H', wire[:2])
                if msg_id not in requests:
                    raise DnsUpdateError('%s answered with an unknown message id while %s' % (self.where, doing))
                offset, request = requests[msg_id]
                chunk[offset] = self._parse(request, wire, '%s of %s' % (doing, batch[offset][0]))
            self.queries += len(packets)
            answers.extend(chunk)
        return answers

    def _exchange_many(self, data, count, doing):
        for attempt in (1, 2):
            fresh = self._sock is None
            if fresh:
                self._sock = self._connect(doing)
            try:
                self._sock.sendall(data)
                out = []
                for dummy in range(count):
                    (length,) = struct.unpack('!H', self._recv_exactly(self._sock, 2))
                    out.append(self._recv_exactly(self._sock, length))
                return out
            except socket.timeout:
                self.close()
                raise self._timeout_error(doing) from None
            except (EOFError, OSError) as exc:
                self.close()
                if fresh or attempt == 2:
                    raise self._broken_error(doing, exc) from None
        raise AssertionError('unreachable')

    def serial(self, zone):
        answer = self.query(_name(zone), 'SOA', 'reading the SOA serial of zone %s' % zone)
        soa = answer.get_rrset(answer.answer, _name(zone), dns.rdataclass.IN, dns.rdatatype.SOA)
        return soa[0].serial if soa else None

    def send_update(self, update, zone):
        """Send one UPDATE on a new connection; raise DnsUpdateError unless
        the server answered NOERROR."""
        names = sorted({_text(rrset.name) for rrset in update.update})
        shown = ', '.join(names[:4]) + (' and %d more' % (len(names) - 4) if len(names) > 4 else '')
        doing = 'sending the UPDATE for zone %s' % zone
        wire = self._exchange(update, doing, reuse=False)
        self.close()
        answer = self._parse(update, wire, doing, zone)
        self.updates += 1
        rcode = answer.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        head = '%s answered %s to the UPDATE of zone %s with %s' % (self.where, dns.rcode.to_text(rcode), zone, self.key_text)
        if rcode in (dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN):
            raise DnsUpdateError('%s: the TXT records at %s changed between this run reading them and updating '
                                 '(a prerequisite failed), so nothing in the zone was changed. Fix: run the task '
                                 'again to recompute the change' % (head, shown))
        if rcode == dns.rcode.REFUSED:
            raise DnsUpdateError('%s: the server does not allow this key to update these names. Fix: grant the key '
                                 'update rights for zone %s (Knot: acl with action update; BIND: update-policy or '
                                 'allow-update)' % (head, zone))
        if rcode == dns.rcode.NOTAUTH:
            raise DnsUpdateError('%s: the server is not authoritative for zone %s or did not accept the key. Fix: set '
                                 'server to the primary of %s and check the key' % (head, zone, zone))
        if rcode == dns.rcode.NOTZONE:
            raise DnsUpdateError('%s: a name (%s) is not inside zone %s. Fix: set zone to the zone that holds the '
                                 'records, or leave zone unset to find it' % (head, shown, zone))
        if rcode == dns.rcode.NOTIMP:
            raise DnsUpdateError('%s: the server does not implement dynamic update (RFC 2136). Fix: enable dynamic '
                                 'updates on the primary, or publish with your provider\'s module (see docs/records.md)' % head)
        raise DnsUpdateError('%s: the update was not applied. Fix: check the server log for zone %s' % (head, zone))
