# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""UPDATE contents (RFC 2136 prerequisites and updates) built from plans,
and the messages for every class of server error. The primary is a small
DNS server on 127.0.0.1 in a thread of the test: the transport's framing,
pipelining, TSIG checks and reconnects run over a real TCP connection; the
answers are built by each test."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

dns = pytest.importorskip('dns')

import dns.flags  # noqa: E402  pylint: disable=wrong-import-position
import dns.message  # noqa: E402  pylint: disable=wrong-import-position
import dns.name  # noqa: E402  pylint: disable=wrong-import-position
import dns.rcode  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdataclass  # noqa: E402  pylint: disable=wrong-import-position
import dns.rdatatype  # noqa: E402  pylint: disable=wrong-import-position
import dns.rrset  # noqa: E402  pylint: disable=wrong-import-position
import dns.tsig  # noqa: E402  pylint: disable=wrong-import-position
import dns.update  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._rfc2136 import (  # noqa: E402  pylint: disable=wrong-import-position
    Primary,
    build_updates,
    zone_of_negative_answer,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._transport import (  # noqa: E402  pylint: disable=wrong-import-position
    DnsUpdateError,
    TcpTransport,
    make_key,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._txt_change import plan_txt  # noqa: E402  pylint: disable=wrong-import-position

SECRET = 'bGFiLXNlY3JldC1sYWItc2VjcmV0LWxhYi1zZWNyZXQ='
KEY = make_key('update-key', SECRET, 'hmac-sha256')


def rec(text):
    return (text.encode('ascii'),)


def section(update, which):
    """A section as the server reads it (the message is sent through wire
    form), as sorted (name, ttl, class, type, values) tuples."""
    message = dns.message.from_wire(update.to_wire(), keyring=KEY)
    rows = {}
    for rrset in getattr(message, which):
        rdclass = rrset.deleting if rrset.deleting is not None else rrset.rdclass
        key = (rrset.name.to_text(), rrset.ttl, dns.rdataclass.to_text(rdclass), dns.rdatatype.to_text(rrset.rdtype))
        values = rows.setdefault(key, [])
        if rrset.rdtype == dns.rdatatype.TXT:
            values.extend(b''.join(rd.strings).decode() for rd in rrset)
    return sorted(key + (tuple(sorted(values)),) for key, values in rows.items())


def additions(update):
    return [rrset for rrset in update.update if rrset.deleting is None]


def only(messages):
    assert len(messages) == 1
    return messages[0]


def test_create_has_nxrrset_prerequisites_and_one_add():
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', [], None, 'v=STSv1; id=new', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    assert update.zone[0].name.to_text() == 'example.com.'
    # RFC 2136 2.4.3: class NONE, TTL 0, no rdata = "RRset does not exist".
    assert section(update, 'prerequisite') == [
        ('_mta-sts.example.com.', 0, 'NONE', 'CNAME', ()),
        ('_mta-sts.example.com.', 0, 'NONE', 'TXT', ()),
    ]
    assert section(update, 'update') == [('_mta-sts.example.com.', 300, 'IN', 'TXT', ('v=STSv1; id=new',))]
    assert update.keyname == dns.name.from_text('update-key')


def test_replace_has_value_dependent_prerequisite_delete_and_add():
    current = [rec('v=STSv1; id=old'), rec('v=STSv1; id=older'), rec('keep me')]
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', current, 300, 'v=STSv1; id=new', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    # RFC 2136 2.4.2: class IN, TTL 0, the whole RRset as read.
    assert section(update, 'prerequisite') == [
        ('_mta-sts.example.com.', 0, 'IN', 'TXT', ('keep me', 'v=STSv1; id=old', 'v=STSv1; id=older')),
        ('_mta-sts.example.com.', 0, 'NONE', 'CNAME', ()),
    ]
    # 2.5.4: class NONE deletes those RRs only; "keep me" is not touched.
    assert section(update, 'update') == [
        ('_mta-sts.example.com.', 0, 'NONE', 'TXT', ('v=STSv1; id=old', 'v=STSv1; id=older')),
        ('_mta-sts.example.com.', 300, 'IN', 'TXT', ('v=STSv1; id=new',)),
    ]


def test_retime_replaces_the_rrset():
    current = [rec('keep me'), rec('v=STSv1; id=x')]
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', current, 3600, 'v=STSv1; id=x', 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    assert section(update, 'update') == [
        ('_mta-sts.example.com.', 0, 'ANY', 'TXT', ()),  # 2.5.2: delete the RRset
        ('_mta-sts.example.com.', 300, 'IN', 'TXT', ('keep me', 'v=STSv1; id=x')),
    ]


def test_nothing_to_change_means_no_message():
    plan = plan_txt('_mta-sts.example.com', 'sts', 'v=STSv1', [rec('v=STSv1; id=x')], 300, 'v=STSv1; id=x', 300)
    assert build_updates('example.com', [[plan]], KEY) == []


def test_long_value_goes_out_as_several_strings_and_round_trips():
    value = 'v=TLSRPTv1; rua=' + ','.join('mailto:tlsrpt%d@example.com' % i for i in range(20))
    assert len(value) > 255
    plan = plan_txt('_smtp._tls.example.com', 'tlsrpt', 'v=TLSRPTv1', [], None, value, 300)
    update = only(build_updates('example.com', [[plan]], KEY))
    wire = update.to_wire()
    back = dns.message.from_wire(wire, keyring=KEY)
    strings = additions(back)[0][0].strings
    assert [len(s) for s in strings] == [255] * (len(strings) - 1) + [len(value) - 255 * (len(strings) - 1)]
    assert len(strings) >= 2
    assert b''.join(strings).decode() == value


def test_batch_in_one_zone_is_one_message_with_every_domain():
    groups = []
    for i in range(50):
        domain = 'd%d.example.com' % i
        groups.append([
            plan_txt('_mta-sts.' + domain, 'sts', 'v=STSv1', [], None, 'v=STSv1; id=a%d' % i, 300),
            plan_txt('_smtp._tls.' + domain, 'tlsrpt', 'v=TLSRPTv1', [], None, 'v=TLSRPTv1; rua=mailto:r@example.com', 300),
        ])
    update = only(build_updates('example.com', groups, KEY))
    assert len(additions(update)) == 100


def test_huge_batch_is_split_between_domains_below_64k():
    groups = []
    for i in range(1000):
        domain = 'domain-number-%04d.example.com' % i
        groups.append([
            plan_txt('_mta-sts.' + domain, 'sts', 'v=STSv1', [rec('v=STSv1; id=old')], 300, 'v=STSv1; id=' + 'a' * 32, 300),
            plan_txt('_smtp._tls.' + domain, 'tlsrpt', 'v=TLSRPTv1', [], None, 'v=TLSRPTv1; rua=mailto:r@example.com', 300),
        ])
    messages = build_updates('example.com', groups, KEY)
    assert len(messages) > 1
    names = []
    for update in messages:
        assert len(update.to_wire()) < 65535
        adds = [r.name.to_text() for r in additions(update)]
        names.extend(adds)
        # Both records of a domain are in the same message (atomic per domain).
        domains = {n.split('.', 2)[-1] if n.startswith('_smtp') else n.split('.', 1)[1] for n in adds}
        assert len(adds) == 2 * len(domains)
    assert len(names) == 2000


# ---------------------------------------------------------------------------
# Answers and errors


class LoopbackServer:
    """A DNS server on 127.0.0.1 that answers each request with
    ``respond(request)`` (wire bytes, or None to stay silent). It reads
    ``batch`` requests before answering them, last first, as a server
    working on a pipelined stream may; ``close_after_each`` closes the
    connection after every answer, as a server does with idle ones."""

    def __init__(self, respond, key=KEY, batch=1, close_after_each=False):
        self.respond = respond
        self.key = key
        self.batch = batch
        self.close_after_each = close_after_each
        self.sent = []
        self.connections = 0
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, dummy = self.listener.accept()
            except OSError:
                return  # closed by the test
            self.connections += 1
            with conn:
                self._handle(conn)

    def _read(self, conn, count):
        data = b''
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _handle(self, conn):
        while True:
            answers = []
            try:
                for dummy in range(self.batch):
                    (length,) = struct.unpack('!H', self._read(conn, 2))
                    wire = self._read(conn, length)
                    request = dns.message.from_wire(wire, keyring=self.key) if self.key else dns.message.from_wire(wire)
                    self.sent.append(request)
                    answers.append(self.respond(request))
            except (EOFError, OSError):
                return
            for answer in reversed(answers):
                if answer is not None:
                    conn.sendall(struct.pack('!H', len(answer)) + answer)
            if self.close_after_each:
                return

    def close(self):
        self.listener.close()


@pytest.fixture
def serve():
    """``serve(respond, ...)`` -> (Primary talking to a loopback server, the server)."""
    made = []

    def start(respond, key=KEY, timeout=5.0, **options):
        server = LoopbackServer(respond, key, **options)
        primary = Primary(TcpTransport('127.0.0.1', server.port, key, timeout))
        made.append((primary, server))
        return primary, server
    yield start
    for primary, server in made:
        primary.close()
        server.close()


def read_txt(primary, name, zone):
    return primary.txt_of(primary.query(name, 'TXT'), name, zone)


def answer_for(request, rcode=dns.rcode.NOERROR, aa=True, answer=(), authority=(), tsig_error=None, sign=True):
    response = dns.message.make_response(request)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    response.answer.extend(answer)
    response.authority.extend(authority)
    if tsig_error is not None:
        response.use_tsig(KEY, tsig_error=tsig_error)
    elif not sign:
        response.tsig = None
        response.keyring = None
    return response.to_wire()


def soa(zone):
    return dns.rrset.from_text(zone, 300, 'IN', 'SOA', 'ns.%s hostmaster.%s 7 3600 600 86400 300' % (zone, zone))


@pytest.mark.parametrize('tsig_error, words', [
    (dns.rcode.BADKEY, ['BADKEY', 'does not know this key', 'key update-key (hmac-sha256)']),
    (dns.rcode.BADSIG, ['BADSIG', 'key_secret', 'key update-key (hmac-sha256)']),
    (dns.rcode.BADTIME, ['BADTIME', 'clocks', 'NTP']),
])
def test_tsig_errors_name_server_zone_key_and_fix(serve, tsig_error, words):
    def respond(request):
        return answer_for(request, rcode=dns.rcode.NOTAUTH, tsig_error=tsig_error)
    primary, server = serve(respond)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError) as err:
        primary.send_update(update, 'example.com')
    message = err.value.message
    assert 'server 127.0.0.1 port %d' % server.port in message
    assert 'zone example.com' in message
    for word in words:
        assert word in message


@pytest.mark.parametrize('rcode, words', [
    (dns.rcode.REFUSED, ['REFUSED', 'does not allow this key', 'grant the key']),
    (dns.rcode.NOTAUTH, ['NOTAUTH', 'not authoritative for zone example.com']),
    (dns.rcode.NOTZONE, ['NOTZONE', 'not inside zone example.com']),
    (dns.rcode.NXRRSET, ['NXRRSET', 'changed between', 'nothing in the zone was changed', 'again']),
    (dns.rcode.YXRRSET, ['YXRRSET', 'changed between']),
    (dns.rcode.SERVFAIL, ['SERVFAIL', 'not applied', 'server log']),
    (dns.rcode.NOTIMP, ['NOTIMP', 'does not implement dynamic update']),
])
def test_update_rcodes(serve, rcode, words):
    primary, server = serve(lambda request: answer_for(request, rcode=rcode))
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError) as err:
        primary.send_update(update, 'example.com')
    message = err.value.message
    assert 'server 127.0.0.1 port %d' % server.port in message and 'key update-key (hmac-sha256)' in message
    for word in words:
        assert word in message


def test_unsigned_notauth_to_a_signed_update_is_reported_not_crashed(serve):
    # A server that does not host the zone answers NOTAUTH without TSIG.
    def respond(request):
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.NOTAUTH)
        response.tsig = None
        return response.to_wire()
    primary, dummy = serve(respond)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError, match='NOTAUTH'):
        primary.send_update(update, 'example.com')


def test_noerror_update_passes(serve):
    primary, dummy = serve(answer_for)
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    primary.send_update(update, 'example.com')
    assert primary.updates == 1


def test_find_zone_from_the_authority_soa_of_a_negative_answer(serve):
    def respond(request):
        return answer_for(request, rcode=dns.rcode.NXDOMAIN, authority=[soa('example.com.')])
    primary, server = serve(respond)
    assert primary.find_zone('_mta-sts.mail.example.com') == 'example.com'
    assert len(server.sent) == 1


def test_find_zone_walks_up_past_refusals(serve):
    # Knot refuses names outside its zones WITHOUT a TSIG signature, even
    # to a signed query: the walk must read those answers.
    def respond(request):
        qname = request.question[0].name.to_text()
        if qname == 'example.com.':
            return answer_for(request, answer=[soa('example.com.')])
        return answer_for(request, rcode=dns.rcode.REFUSED, aa=False, sign=False)
    primary, server = serve(respond)
    assert primary.find_zone('_mta-sts.a.example.com') == 'example.com'
    assert server.connections == 1  # one connection for the whole walk
    assert [r.question[0].name.to_text() for r in server.sent] == [
        '_mta-sts.a.example.com.', 'a.example.com.', 'example.com.']


def test_no_soa_anywhere_is_a_clear_error(serve):
    primary, server = serve(lambda request: answer_for(request, rcode=dns.rcode.REFUSED, aa=False))
    with pytest.raises(DnsUpdateError) as err:
        primary.find_zone('_mta-sts.example.org')
    assert 'no SOA found for _mta-sts.example.org on server 127.0.0.1 port %d' % server.port in err.value.message
    assert 'REFUSED' in err.value.message


def test_delegated_name_is_refused_with_the_name_servers(serve):
    def respond(request):
        ns = dns.rrset.from_text('sub.example.com.', 300, 'IN', 'NS', 'ns1.elsewhere.example.')
        return answer_for(request, aa=False, authority=[ns])
    primary, dummy = serve(respond)
    with pytest.raises(DnsUpdateError, match='delegates to ns1.elsewhere.example'):
        primary.find_zone('_mta-sts.sub.example.com')


def test_explicit_zone_must_contain_the_name(serve):
    primary, dummy = serve(answer_for)
    with pytest.raises(DnsUpdateError, match='not inside zone example.org'):
        primary.find_zone('_mta-sts.example.com', 'example.org')


def test_read_txt_reports_a_cname_target(serve):
    def respond(request):
        cname = dns.rrset.from_text('_mta-sts.example.com.', 300, 'IN', 'CNAME', '_mta-sts.provider.example.')
        return answer_for(request, answer=[cname])
    records, ttl, target = read_txt(serve(respond)[0], '_mta-sts.example.com', 'example.com')
    assert (records, ttl, target) == ([], None, '_mta-sts.provider.example')


def test_read_txt_needs_an_authoritative_answer(serve):
    primary, dummy = serve(lambda request: answer_for(request, aa=False))
    with pytest.raises(DnsUpdateError, match='not authoritative for _mta-sts.example.com'):
        read_txt(primary, '_mta-sts.example.com', 'example.com')


def test_read_txt_returns_records_and_ttl(serve):
    def respond(request):
        txt = dns.rrset.from_text('_mta-sts.example.com.', 120, 'IN', 'TXT', '"v=STSv1; id=x"', '"a" "b"')
        return answer_for(request, answer=[txt])
    records, ttl, target = read_txt(serve(respond)[0], '_mta-sts.example.com', 'example.com')
    assert records == [(b'a', b'b'), (b'v=STSv1; id=x',)]
    assert ttl == 120 and target is None


def test_bad_secret_is_reported_before_any_network():
    with pytest.raises(DnsUpdateError, match='key_secret is not valid base64'):
        make_key('k', 'not base64!', 'hmac-sha256')


def test_pipelined_queries_come_back_in_question_order_with_unique_ids(serve):
    def respond(request):
        qname = request.question[0].name
        txt = dns.rrset.from_text(qname, 60, 'IN', 'TXT', '"%s"' % qname.to_text())
        return answer_for(request, answer=[txt])
    # 300 = 128 + 128 + 44 questions; the server answers each 4 in reverse.
    primary, server = serve(respond, batch=4)
    questions = [('_mta-sts.d%d.example.com' % i, 'TXT') for i in range(300)]
    answers = primary.transport.query_many(questions, 'reading', window=128)
    assert [a.question[0].name.to_text() for a in answers] == [q[0] + '.' for q in questions]
    for start in range(0, 300, 128):
        ids = [r.id for r in server.sent[start:start + 128]]
        assert len(set(ids)) == len(ids)
    assert primary.queries == 300
    assert server.connections == 1


@pytest.mark.parametrize('rcode, aa, answer, authority, expected', [
    (dns.rcode.NXDOMAIN, True, [], [soa('example.com.')], 'example.com'),
    (dns.rcode.NOERROR, True, [], [soa('example.com.')], 'example.com'),
    (dns.rcode.NOERROR, True, [soa('_mta-sts.example.com.')], [], '_mta-sts.example.com'),
    (dns.rcode.NOERROR, True, [dns.rrset.from_text('_mta-sts.example.com.', 60, 'IN', 'TXT', '"x"')], [], None),
    (dns.rcode.NXDOMAIN, False, [], [soa('example.com.')], None),
    (dns.rcode.REFUSED, False, [], [], None),
    (dns.rcode.NXDOMAIN, True, [], [soa('other.example.')], None),
])
def test_zone_of_negative_answer(rcode, aa, answer, authority, expected):
    request = dns.message.make_query('_mta-sts.example.com', 'TXT')
    wire = answer_for(request, rcode=rcode, aa=aa, answer=answer, authority=authority)
    assert zone_of_negative_answer(dns.message.from_wire(wire), '_mta-sts.example.com') == expected


# ---------------------------------------------------------------------------
# The transport over a real TCP connection


def txt_answer(request):
    qname = request.question[0].name
    return answer_for(request, answer=[dns.rrset.from_text(qname, 60, 'IN', 'TXT', '"x"')])


def test_a_connection_the_server_closed_while_idle_is_reopened_once(serve):
    primary, server = serve(txt_answer, close_after_each=True)
    primary.query('a.example.com', 'TXT')
    primary.query('b.example.com', 'TXT')
    assert server.connections == 2
    assert primary.queries == 2


def test_an_update_is_never_sent_twice_when_the_connection_breaks(serve):
    primary, server = serve(lambda request: None, close_after_each=True)  # reads, closes, never answers
    update = dns.update.UpdateMessage('example.com', keyring=KEY)
    update.add('_mta-sts.example.com', 300, 'TXT', '"v=STSv1; id=x"')
    with pytest.raises(DnsUpdateError, match='the connection broke while sending the UPDATE for zone example.com'):
        primary.send_update(update, 'example.com')
    assert len(server.sent) == 1
    assert primary.updates == 0


def test_a_silent_server_is_a_timeout_naming_server_and_key(serve):
    primary, server = serve(lambda request: None, timeout=0.3)
    with pytest.raises(DnsUpdateError) as err:
        primary.query('a.example.com', 'TXT')
    message = err.value.message
    assert 'no answer within 0.3 seconds' in message
    assert 'server 127.0.0.1 port %d' % server.port in message and 'key update-key (hmac-sha256)' in message


def test_nothing_listening_is_a_connect_error():
    probe = socket.create_server(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on this port now
    primary = Primary(TcpTransport('127.0.0.1', port, KEY, 2.0))
    with pytest.raises(DnsUpdateError, match='cannot connect over TCP while reading TXT a.example.com'):
        primary.query('a.example.com', 'TXT')


def test_an_answer_with_another_message_id_is_refused(serve):
    def respond(request):
        response = dns.message.make_response(request)
        response.id = (request.id + 1) & 0xFFFF
        return response.to_wire()
    primary, dummy = serve(respond)
    with pytest.raises(DnsUpdateError, match='wrong message id'):
        primary.query('a.example.com', 'TXT')


def test_an_answer_signed_with_another_secret_does_not_verify(serve):
    other = make_key('update-key', 'b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg==', 'hmac-sha256')

    def respond(request):
        response = dns.message.make_response(request)
        response.use_tsig(other)
        return response.to_wire()
    primary, dummy = serve(respond)
    with pytest.raises(DnsUpdateError, match='does not verify with key update-key'):
        primary.query('a.example.com', 'TXT')


def test_a_signed_answer_without_a_key_is_reported(serve):
    def respond(request):
        response = dns.message.make_response(request)
        response.use_tsig(KEY)
        return response.to_wire()
    primary, dummy = serve(respond, key=None)
    with pytest.raises(DnsUpdateError, match='with a TSIG record although no key was given'):
        primary.query('a.example.com', 'TXT')


def test_queries_without_a_key_are_unsigned(serve):
    primary, server = serve(txt_answer, key=None)
    answer = primary.query('a.example.com', 'TXT')
    assert answer.rcode() == dns.rcode.NOERROR
    assert not server.sent[0].had_tsig
    assert not server.sent[0].flags & dns.flags.RD
