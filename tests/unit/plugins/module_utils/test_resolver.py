# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""dns/_resolver.py against real DNS servers started in-process on loopback.

No root and no lab: each test starts small authoritative-only servers
(dnspython messages over real UDP and TCP sockets) on 127.0.0.x and an
ephemeral port, and points the resolver at them. The servers misbehave on
request: SERVFAIL, REFUSED, truncation with or without TCP, silence, alias
chains and loops served one hop per answer, a stale or lame secondary.
"""

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
import dns.rdatatype  # noqa: E402  pylint: disable=wrong-import-position
import dns.rrset  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._cache import (  # noqa: E402  pylint: disable=wrong-import-position
    OnceCache,
    ReentrantComputation,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import (  # noqa: E402  pylint: disable=wrong-import-position
    Answer,
    RunResolver,
    parse_nameserver,
    resolver_argument_spec,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError  # noqa: E402  pylint: disable=wrong-import-position

# A hang is the bug some of these tests guard against: they run the resolver
# in a thread and fail if it has not finished after this long (a healthy run
# takes milliseconds; this is a guard, not a speed assertion).
HANG_GUARD = 30.0


# ---------------------------------------------------------------------------
# A small authoritative-only server


class Zone:
    """Records of one zone: ``{(owner, type): [rdata text, ...]}``, names
    relative to the apex or absolute with a final dot."""

    def __init__(self, apex, records, serial=1):
        self.apex = dns.name.from_text(apex)
        self.records = {}
        for (owner, rdtype), values in records.items():
            name = dns.name.from_text(owner, origin=self.apex) if owner != '@' else self.apex
            self.records[(name, rdtype)] = list(values)
        self.records.setdefault((self.apex, 'SOA'), ['ns.%s hostmaster.%s %d 60 60 600 60'
                                                     % (apex, apex, serial)])

    def names(self):
        return {name for name, _rdtype in self.records}


class LoopbackDNS:
    """UDP and TCP on ``address``:``port`` (ephemeral when 0), answering
    from ``zones`` like an authoritative-only server: one CNAME hop per
    answer, never recursion. ``behaviour`` maps a lower-case owner name
    (absolute) to ``servfail``, ``refused``, ``truncate`` (TC over UDP, the
    answer over TCP), ``truncate-no-tcp`` (TC over UDP, TCP closed at once),
    ``silent`` (no answer at all) or ``not-authoritative``; the key ``*``
    applies to every name."""

    def __init__(self, zones, address='127.0.0.1', port=0, behaviour=None):
        self.zones = zones
        self.behaviour = dict(behaviour or {})
        self.asked = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((address, port))
        self.address, self.port = self.udp.getsockname()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((address, self.port))
        self.tcp.listen(8)
        self.udp.settimeout(0.02)
        self.tcp.settimeout(0.02)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def spec(self):
        return '%s:%d' % (self.address, self.port)

    def close(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self.udp.close()
        self.tcp.close()

    def _kind(self, request):
        name = request.question[0].name.to_text().lower()
        return self.behaviour.get(name, self.behaviour.get('*'))

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            request = dns.message.from_wire(data)
            self.asked.append(('udp', request.question[0].name.to_text(),
                               dns.rdatatype.to_text(request.question[0].rdtype)))
            kind = self._kind(request)
            if kind == 'silent':
                continue
            if kind in ('truncate', 'truncate-no-tcp'):
                response = dns.message.make_response(request)
                response.flags |= dns.flags.TC | dns.flags.AA
            else:
                response = self.answer(request)
            self.udp.sendto(response.to_wire(), peer)

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    length = struct.unpack('!H', _read(conn, 2))[0]
                    request = dns.message.from_wire(_read(conn, length))
                except (OSError, ValueError, struct.error, dns.exception.DNSException):
                    continue
                self.asked.append(('tcp', request.question[0].name.to_text(),
                                   dns.rdatatype.to_text(request.question[0].rdtype)))
                if self._kind(request) in ('truncate-no-tcp', 'silent'):
                    continue
                wire = self.answer(request).to_wire()
                conn.sendall(struct.pack('!H', len(wire)) + wire)

    def answer(self, request):
        response = dns.message.make_response(request)
        response.flags &= ~dns.flags.RA
        question = request.question[0]
        name = question.name
        rdtype = dns.rdatatype.to_text(question.rdtype)
        kind = self._kind(request)
        if kind == 'servfail':
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        zone = self._zone_of(name)
        if kind == 'refused' or zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if kind != 'not-authoritative':
            response.flags |= dns.flags.AA
        if (name, rdtype) in zone.records:
            response.answer.append(dns.rrset.from_text_list(name, 60, 'IN', rdtype, zone.records[(name, rdtype)]))
        elif (name, 'CNAME') in zone.records:
            response.answer.append(dns.rrset.from_text_list(name, 60, 'IN', 'CNAME', zone.records[(name, 'CNAME')]))
        else:
            soa = dns.rrset.from_text_list(zone.apex, 60, 'IN', 'SOA', zone.records[(zone.apex, 'SOA')])
            response.authority.append(soa)
            if name not in zone.names():
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    def _zone_of(self, name):
        best = None
        for zone in self.zones:
            if name.is_subdomain(zone.apex) and (best is None or len(zone.apex) > len(best.apex)):
                best = zone
        return best


def _read(conn, size):
    data = b''
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError('closed')
        data += chunk
    return data


@pytest.fixture
def servers():
    started = []

    def start(zones, **kwargs):
        server = LoopbackDNS(zones, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def finish(call, *args):
    """Run ``call(*args)`` in a thread; fail (instead of hanging the suite)
    when it has not returned within HANG_GUARD seconds."""
    box = {}

    def target():
        try:
            box['value'] = call(*args)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            box['error'] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), '%s%r did not return: it hangs' % (getattr(call, '__name__', call), args)
    if 'error' in box:
        raise box['error']
    return box['value']


EXAMPLE = Zone('example.test.', {
    ('@', 'MX'): ['20 mx2.example.test.', '10 MX1.example.test.'],
    ('mx1', 'A'): ['127.0.2.1'],
    ('mx1', 'AAAA'): ['::1'],
    ('mx2', 'A'): ['127.0.2.2'],
    ('_mta-sts', 'TXT'): ['"v=STSv1; " "id=abc123"'],
    ('empty', 'TXT'): [],
    ('alias', 'CNAME'): ['_mta-sts.example.test.'],
    ('out', 'CNAME'): ['target.other.test.'],
    ('loop-a', 'CNAME'): ['loop-b.other.test.'],
    ('self', 'CNAME'): ['self.example.test.'],
    ('dangling', 'CNAME'): ['missing.other.test.'],
})
EXAMPLE.records.pop((dns.name.from_text('empty.example.test.'), 'TXT'))
EXAMPLE.records[(dns.name.from_text('empty.example.test.'), 'A')] = ['127.0.0.9']
OTHER = Zone('other.test.', {
    ('target', 'TXT'): ['"v=STSv1; id=other1"'],
    ('loop-b', 'CNAME'): ['loop-a.example.test.'],
})


def chain_zone(hops):
    """``start.chain.test`` -> h1 -> ... -> h<hops> (TXT): ``hops`` aliases."""
    records = {}
    names = ['start'] + ['h%d' % i for i in range(1, hops + 1)]
    for here, there in zip(names, names[1:]):
        records[(here, 'CNAME')] = ['%s.chain.test.' % there]
    records[(names[-1], 'TXT')] = ['"v=STSv1; id=chain%d"' % hops]
    return Zone('chain.test.', records)


# ---------------------------------------------------------------------------
# Given servers (nameservers mode)


def test_answers_records_addresses_and_mx(servers):
    server = servers([EXAMPLE, OTHER])
    resolver = RunResolver([server.spec], timeout=5)
    assert resolver.mode == 'nameservers'
    assert resolver.describe() == server.spec
    answer, records = resolver.txt('_mta-sts.example.test')
    assert answer.ok and answer.status == 'ok'
    assert records == [[b'v=STSv1; ', b'id=abc123']]
    addresses, failures = resolver.addresses('mx1.example.test.')
    assert addresses == ['127.0.2.1', '::1'] and failures == []
    answer, items = resolver.mx('EXAMPLE.test')
    assert items == [(10, 'mx1.example.test'), (20, 'mx2.example.test')]


def test_negative_answers(servers):
    server = servers([EXAMPLE])
    resolver = RunResolver([server.spec], timeout=5)
    missing = resolver.query('nothing.example.test', 'TXT')
    assert missing.status == 'nxdomain' and 'NXDOMAIN' in missing.describe()
    empty = resolver.query('empty.example.test', 'TXT')
    assert empty.status == 'nodata' and 'no TXT record' in empty.describe()
    assert not empty.failed and not empty.ok


def test_each_question_is_asked_once_per_run(servers):
    server = servers([EXAMPLE])
    resolver = RunResolver([server.spec], timeout=5)
    first = resolver.query('_mta-sts.example.test', 'TXT')
    again = resolver.query('_MTA-STS.example.test.', 'TXT')
    assert again is first
    assert resolver.queries == 1
    assert [q for q in server.asked if q[1] == '_mta-sts.example.test.'] == [
        ('udp', '_mta-sts.example.test.', 'TXT')]


@pytest.mark.parametrize('kind, text', [('servfail', 'SERVFAIL'), ('refused', 'REFUSED')])
def test_server_failures_are_error_answers_naming_the_server(servers, kind, text):
    server = servers([EXAMPLE], behaviour={'_mta-sts.example.test.': kind})
    resolver = RunResolver([server.spec], timeout=5)
    answer = finish(resolver.query, '_mta-sts.example.test', 'TXT')
    assert answer.failed
    assert answer.error == '%s:%d answered %s' % (server.address, server.port, text)
    assert 'lookup of _mta-sts.example.test. TXT failed' in answer.describe()
    # the other names of the zone still answer
    assert resolver.query('mx1.example.test', 'A').ok


def test_truncated_udp_answer_is_asked_again_over_tcp(servers):
    server = servers([EXAMPLE], behaviour={'_mta-sts.example.test.': 'truncate'})
    resolver = RunResolver([server.spec], timeout=5)
    answer, records = resolver.txt('_mta-sts.example.test')
    assert answer.ok and records == [[b'v=STSv1; ', b'id=abc123']]
    assert [q[0] for q in server.asked] == ['udp', 'tcp']


def test_truncated_udp_answer_without_tcp_is_an_error(servers):
    server = servers([EXAMPLE], behaviour={'_mta-sts.example.test.': 'truncate-no-tcp'})
    resolver = RunResolver([server.spec], timeout=5)
    answer = finish(resolver.query, '_mta-sts.example.test', 'TXT')
    assert answer.failed
    assert answer.error == '{0}: the UDP answer was truncated; {0}: the TCP connection closed without an answer'.format(
        server.spec)


def test_silent_server_times_out_with_a_clear_error(servers):
    server = servers([EXAMPLE], behaviour={'*': 'silent'})
    resolver = RunResolver([server.spec], timeout=1.5)
    answer = finish(resolver.query, '_mta-sts.example.test', 'TXT')
    assert answer.failed
    assert 'no answer within 1.5s' in answer.error or 'timed out' in answer.error.lower()


# ---------------------------------------------------------------------------
# Aliases (A7): chains, limits, loops


def test_alias_inside_the_zone_and_into_another_zone(servers):
    server = servers([EXAMPLE, OTHER])
    resolver = RunResolver([server.spec], timeout=5)
    inside = resolver.query('alias.example.test', 'TXT')
    assert inside.ok and inside.cnames == ['alias.example.test']
    outside = resolver.query('out.example.test', 'TXT')
    assert outside.ok and outside.cnames == ['out.example.test']
    assert b''.join(outside.rdatas[0].strings) == b'v=STSv1; id=other1'
    dangling = resolver.query('dangling.example.test', 'TXT')
    assert dangling.status == 'nxdomain' and dangling.cnames == ['dangling.example.test']


@pytest.mark.parametrize('hops, status', [(1, 'ok'), (8, 'ok'), (9, 'error'), (20, 'error')])
def test_alias_chains_are_followed_up_to_eight_aliases(servers, hops, status):
    server = servers([chain_zone(hops)])
    resolver = RunResolver([server.spec], timeout=5)
    answer = finish(resolver.query, 'start.chain.test', 'TXT')
    assert answer.status == status
    if status == 'ok':
        assert len(answer.cnames) == hops
    else:
        assert 'CNAME chain longer than 8' in answer.error
        # the resolver stops after the limit instead of walking the whole chain
        assert len(server.asked) <= 10


def test_alias_loop_across_zones_ends_in_an_error_not_a_hang(servers):
    # Without following aliases outside the per-run cache, the thread asking
    # loop-a waits for its own pending entry forever.
    server = servers([EXAMPLE, OTHER])
    resolver = RunResolver([server.spec], timeout=5)
    answer = finish(resolver.query, 'loop-a.example.test', 'TXT')
    assert answer.failed
    assert answer.error == 'CNAME loop: loop-a.example.test -> loop-b.other.test -> loop-a.example.test'
    again = finish(resolver.query, 'loop-b.other.test', 'TXT')
    assert again.failed and 'CNAME loop' in again.error


def test_alias_loop_asked_from_both_ends_at_once_ends(servers):
    # Two threads entering the loop from either end must not wait for each other.
    server = servers([EXAMPLE, OTHER])
    for _attempt in range(5):
        resolver = RunResolver([server.spec], timeout=5)
        barrier = threading.Barrier(2)

        def ask(name, resolver=resolver, barrier=barrier):
            barrier.wait()
            return resolver.query(name, 'TXT')

        results = {}
        threads = [threading.Thread(target=lambda n=n: results.setdefault(n, ask(n)), daemon=True)
                   for n in ('loop-a.example.test', 'loop-b.other.test')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD)
        assert not any(thread.is_alive() for thread in threads), 'a CNAME loop deadlocked two threads'
        assert all(answer.failed and 'CNAME loop' in answer.error for answer in results.values())


def test_alias_to_itself(servers):
    server = servers([EXAMPLE])
    resolver = RunResolver([server.spec], timeout=5)
    answer = finish(resolver.query, 'self.example.test', 'TXT')
    assert answer.failed and 'CNAME' in answer.error


class _ChainInOneAnswer(LoopbackDNS):
    """A server that puts a -> b -> a into one answer."""

    def answer(self, request):
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        response.answer.append(dns.rrset.from_text('a.loop.test.', 60, 'IN', 'CNAME', 'b.loop.test.'))
        response.answer.append(dns.rrset.from_text('b.loop.test.', 60, 'IN', 'CNAME', 'a.loop.test.'))
        return response


def test_alias_loop_inside_one_answer(servers):
    server = _ChainInOneAnswer([])
    try:
        answer = finish(RunResolver([server.spec], timeout=5).query, 'a.loop.test', 'TXT')
        assert answer.failed and 'CNAME' in answer.error
    finally:
        server.close()


# ---------------------------------------------------------------------------
# The per-run cache


def test_once_cache_refuses_to_wait_for_itself():
    cache = OnceCache()

    def compute():
        return cache.get('key', compute)

    with pytest.raises(ReentrantComputation):
        finish(cache.get, 'key', compute)
    # the failure is cached like any other outcome: asked again, it is re-raised
    with pytest.raises(ReentrantComputation):
        cache.get('key', lambda: 'never computed')
    assert len(cache) == 1


def test_once_cache_computes_once_for_concurrent_callers():
    cache = OnceCache()
    started = threading.Event()
    release = threading.Event()
    calls = []

    def slow():
        calls.append(1)
        started.set()
        release.wait(HANG_GUARD)
        return 42

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get('k', slow)))
    first.start()
    started.wait(HANG_GUARD)
    second = threading.Thread(target=lambda: results.append(cache.get('k', slow)))
    second.start()
    release.set()
    first.join(HANG_GUARD)
    second.join(HANG_GUARD)
    assert results == [42, 42] and calls == [1] and cache.computed == 1


# ---------------------------------------------------------------------------
# Authoritative mode: every name server of the zone


def _authoritative_world(servers, stale_behaviour=None, stale_txt='"v=STSv1; id=old1"', stale_serial=1):
    """A base server (what the system resolver would be) that knows the
    zone's NS hosts, and the zone's two name servers on 127.0.0.11 and
    127.0.0.12 with the same port: ns1 is current, ns2 lags (or misbehaves)."""
    fresh = Zone('stale.test.', {
        ('@', 'NS'): ['ns1.stale.test.', 'ns2.stale.test.'],
        ('ns1', 'A'): ['127.0.0.11'],
        ('ns2', 'A'): ['127.0.0.12'],
        ('_mta-sts', 'TXT'): ['"v=STSv1; id=new2"'],
        ('mta-sts', 'A'): ['127.0.1.9'],
        ('out', 'CNAME'): ['target.other.test.'],
    }, serial=2)
    old = Zone('stale.test.', {
        ('@', 'NS'): ['ns1.stale.test.', 'ns2.stale.test.'],
        ('ns1', 'A'): ['127.0.0.11'],
        ('ns2', 'A'): ['127.0.0.12'],
        ('_mta-sts', 'TXT'): [stale_txt],
        ('mta-sts', 'A'): ['127.0.1.9'],
        ('out', 'CNAME'): ['target.other.test.'],
    }, serial=stale_serial)
    other = Zone('other.test.', {('@', 'NS'): ['ns1.stale.test.'], ('target', 'TXT'): ['"v=STSv1; id=other1"']})
    # ns2 first in address order would win without the serial comparison
    ns1 = servers([fresh, other], address='127.0.0.11')
    ns2 = servers([old], address='127.0.0.12', port=ns1.port, behaviour=stale_behaviour)
    base = servers([fresh, other], address='127.0.0.10', port=ns1.port)
    return base, ns1, ns2


def _auth_resolver(base, timeout=5):
    return RunResolver([base.spec], authoritative=True, timeout=timeout, ns_port=base.port)


def test_authoritative_agreement(servers):
    base, ns1, ns2 = _authoritative_world(servers, stale_txt='"v=STSv1; id=new2"', stale_serial=2)
    resolver = _auth_resolver(base)
    assert resolver.mode == 'authoritative' and 'authoritative servers' in resolver.describe()
    answer = resolver.query('_mta-sts.stale.test', 'TXT')
    assert answer.ok and answer.disagreements == [] and answer.notes == []
    assert answer.server == 'ns1.stale.test (127.0.0.11)'
    # both servers were asked, without recursion
    assert ('udp', '_mta-sts.stale.test.', 'TXT') in ns1.asked
    assert ('udp', '_mta-sts.stale.test.', 'TXT') in ns2.asked


def test_authoritative_disagreement_names_the_stale_server(servers):
    base, _ns1, _ns2 = _authoritative_world(servers)
    resolver = _auth_resolver(base)
    answer = resolver.query('_mta-sts.stale.test', 'TXT')
    assert answer.ok
    assert [b''.join(r.strings) for r in answer.rdatas] == [b'v=STSv1; id=new2']
    assert answer.server == 'ns1.stale.test (127.0.0.11)'
    assert answer.disagreements == [{'server': 'ns2.stale.test', 'address': '127.0.0.12', 'status': 'ok',
                                     'values': ['v=STSv1; id=old1']}]
    # names both servers agree on carry no disagreement
    assert resolver.query('mta-sts.stale.test', 'A').disagreements == []


def test_authoritative_newer_serial_wins_whatever_the_order(servers):
    # Here the first server in NS order is the stale one.
    base, _ns1, _ns2 = _authoritative_world(servers, stale_txt='"v=STSv1; id=newer3"', stale_serial=3)
    answer = _auth_resolver(base).query('_mta-sts.stale.test', 'TXT')
    assert answer.server == 'ns2.stale.test (127.0.0.12)'
    assert answer.disagreements[0]['server'] == 'ns1.stale.test'
    assert answer.disagreements[0]['values'] == ['v=STSv1; id=new2']


def test_authoritative_missing_record_on_one_server(servers):
    base, _ns1, ns2 = _authoritative_world(servers)
    ns2.zones[0].records.pop((dns.name.from_text('_mta-sts.stale.test.'), 'TXT'))
    answer = _auth_resolver(base).query('_mta-sts.stale.test', 'TXT')
    assert answer.ok
    assert answer.disagreements == [{'server': 'ns2.stale.test', 'address': '127.0.0.12',
                                     'status': 'nxdomain', 'values': []}]


@pytest.mark.parametrize('kind, text', [
    ('refused', 'lame delegation'),
    ('not-authoritative', 'lame delegation'),
    ('servfail', 'SERVFAIL'),
])
def test_authoritative_lame_or_failing_server_is_noted(servers, kind, text):
    base, _ns1, _ns2 = _authoritative_world(servers, stale_behaviour={'*': kind})
    answer = finish(_auth_resolver(base).query, '_mta-sts.stale.test', 'TXT')
    assert answer.ok and answer.disagreements == []
    assert len(answer.notes) == 1
    assert answer.notes[0].startswith('ns2.stale.test (127.0.0.12): ') and text in answer.notes[0]


def test_authoritative_silent_server_is_asked_once_per_run(servers):
    base, _ns1, ns2 = _authoritative_world(servers, stale_behaviour={'*': 'silent'})
    resolver = _auth_resolver(base, timeout=1.5)
    first = finish(resolver.query, '_mta-sts.stale.test', 'TXT')
    second = finish(resolver.query, 'mta-sts.stale.test', 'A')
    assert first.ok and second.ok
    assert 'no answer within 1.5s' in first.notes[0]
    assert 'timed out earlier in this run' in second.notes[0]
    assert len(ns2.asked) == 1


def test_authoritative_every_server_failing_is_an_error(servers):
    base, ns1, _ns2 = _authoritative_world(servers, stale_behaviour={'*': 'refused'})
    ns1.behaviour['*'] = 'servfail'
    answer = finish(_auth_resolver(base).query, '_mta-sts.stale.test', 'TXT')
    assert answer.failed
    assert answer.error.startswith('no authoritative server of stale.test answered: ')
    assert 'ns1.stale.test (127.0.0.11): SERVFAIL' in answer.error
    assert 'ns2.stale.test (127.0.0.12): REFUSED' in answer.error


def test_authoritative_follows_an_alias_into_the_target_zone(servers):
    base, _ns1, _ns2 = _authoritative_world(servers)
    answer = _auth_resolver(base).query('out.stale.test', 'TXT')
    assert answer.ok and answer.cnames == ['out.stale.test']
    assert b''.join(answer.rdatas[0].strings) == b'v=STSv1; id=other1'


def test_authoritative_without_a_zone(servers):
    base = servers([EXAMPLE], behaviour={'*': 'refused'})
    answer = finish(_auth_resolver(base).query, '_mta-sts.example.test', 'TXT')
    assert answer.failed and answer.error.startswith('no authoritative servers found')


def test_authoritative_name_servers_without_addresses(servers):
    zone = Zone('bare.test.', {('@', 'NS'): ['ns.elsewhere.test.'], ('x', 'TXT'): ['"y"']})
    base = servers([zone])
    answer = finish(_auth_resolver(base).query, 'x.bare.test', 'TXT')
    assert answer.failed and 'no address found for the name servers of zone bare.test.' in answer.error


# ---------------------------------------------------------------------------
# Options


@pytest.mark.parametrize('spec, expected', [
    ('192.0.2.53', [('192.0.2.53', 53)]),
    (' 192.0.2.53:5353 ', [('192.0.2.53', 5353)]),
    ('[2001:db8::53]:5300', [('2001:db8::53', 5300)]),
    ('[2001:db8::53]', [('2001:db8::53', 53)]),
    ('2001:db8::53', [('2001:db8::53', 53)]),
])
def test_parse_nameserver(spec, expected):
    assert parse_nameserver(spec) == expected


def test_parse_nameserver_host_name():
    assert ('127.0.0.1', 53) in parse_nameserver('localhost')


@pytest.mark.parametrize('spec, text', [
    ('', 'is not a name server address'),
    (None, 'is not a name server address'),
    ('192.0.2.1:0', 'port'),
    ('192.0.2.1:http', 'port'),
    ('[2001:db8::1', 'bracketed'),
    ('[2001:db8::1]x', 'bracketed'),
    ('no-such-host.invalid', 'does not resolve'),
])
def test_parse_nameserver_errors(spec, text):
    with pytest.raises(MtaStsError) as caught:
        parse_nameserver(spec)
    assert text in str(caught.value) and caught.value.field == 'nameservers'


def test_duplicate_servers_and_system_mode():
    resolver = RunResolver(['127.0.0.1', '127.0.0.1:53'], timeout=1)
    assert resolver.servers == [('127.0.0.1', 53)]
    assert RunResolver(timeout=1).describe() == 'the system resolver'
    assert set(resolver_argument_spec()) == {'nameservers', 'authoritative'}


def test_answer_describe():
    assert Answer('a.test.', 'TXT', 'ok', rdatas=[1, 2]).describe() == 'a.test. TXT: 2 record(s)'
    assert Answer('a.test.', 'TXT', 'error', error='SERVFAIL').describe() == 'lookup of a.test. TXT failed: SERVFAIL'


# ---------------------------------------------------------------------------
# What verify makes of it: findings, and retries that wait for agreement


def _verify_stale(base, sleep, retries):
    from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._verify import verify_domains
    return verify_domains([{'domain': 'stale.test', 'expect': {}}], retries=retries, delay=0, sleep=sleep,
                          nameservers=[base.spec], authoritative=True, timeout=5, ns_port=base.port,
                          check_mx_tls=False)


def _e1(result):
    return [f for f in result['findings'] if f['rule'] == 'E1' and f['check'] == 'sts_record']


def test_verify_reports_the_lagging_server_and_retries_until_it_agrees(servers):
    base, _ns1, ns2 = _authoritative_world(servers)
    results, stats = finish(_verify_stale, base, lambda _delay: None, 0)
    [finding] = _e1(results[0])
    assert finding['severity'] == 'error'
    assert finding['message'].startswith('ns2.stale.test (127.0.0.12) still serves id=old1 at _mta-sts.stale.test; '
                                         'ns1.stale.test (127.0.0.11) serves id=new2; senders whose resolver asks it')

    def catch_up(_delay):
        # the secondary receives the zone transfer while verify waits
        ns2.zones[0].records[(dns.name.from_text('_mta-sts.stale.test.'), 'TXT')] = ['"v=STSv1; id=new2"']

    results, stats = finish(_verify_stale, base, catch_up, 1)
    assert results[0]['attempts'] == 2 and stats['attempts'] == 2
    assert _e1(results[0]) == []
    assert results[0]['sts_record']['id'] == 'new2'


def test_verify_reports_a_lame_server_once_per_domain(servers):
    base, _ns1, _ns2 = _authoritative_world(servers, stale_behaviour={'*': 'refused'})
    results, _stats = finish(_verify_stale, base, lambda _delay: None, 0)
    lame = [f for f in results[0]['findings'] if 'lame delegation' in f['message']]
    assert len(lame) == 1
    assert (lame[0]['check'], lame[0]['rule'], lame[0]['severity']) == ('sts_record', 'A1', 'warning')
    assert lame[0]['message'].startswith('name server ns2.stale.test (127.0.0.12): REFUSED')


def test_verify_alias_loop_is_an_a7_error(servers):
    from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._verify import verify_domains
    loop = Zone('loop.test.', {('_mta-sts', 'CNAME'): ['b.other.test.']})
    other = Zone('other.test.', {('b', 'CNAME'): ['_mta-sts.loop.test.']})
    server = servers([loop, other])
    results, _stats = finish(lambda: verify_domains([{'domain': 'loop.test', 'expect': {}}], nameservers=[server.spec],
                                                    timeout=5, check_mx_tls=False))
    [finding] = [f for f in results[0]['findings'] if f['check'] == 'sts_record' and f['severity'] == 'error']
    assert finding['rule'] == 'A7'
    assert 'CNAME loop: _mta-sts.loop.test -> b.other.test -> _mta-sts.loop.test' in finding['message']


def test_authoritative_truncated_answer_is_asked_again_over_tcp(servers):
    base, _ns1, ns2 = _authoritative_world(servers, stale_txt='"v=STSv1; id=new2"', stale_serial=2,
                                           stale_behaviour={'_mta-sts.stale.test.': 'truncate'})
    answer = finish(_auth_resolver(base).query, '_mta-sts.stale.test', 'TXT')
    assert answer.ok and answer.notes == [] and answer.disagreements == []
    assert [q[0] for q in ns2.asked if q[1] == '_mta-sts.stale.test.'] == ['udp', 'tcp']


def test_a_silent_server_in_the_middle_of_a_chain_ends_the_question(servers):
    # The whole question, aliases included, shares one timeout.
    server = servers([chain_zone(3)], behaviour={'h2.chain.test.': 'silent'})
    answer = finish(RunResolver([server.spec], timeout=1.5).query, 'start.chain.test', 'TXT')
    assert answer.failed and 'no answer within' in answer.error
    assert answer.cnames == ['start.chain.test', 'h1.chain.test']


def test_verify_reports_disagreement_on_the_policy_host_and_the_mx(servers):
    base, _ns1, ns2 = _authoritative_world(servers, stale_txt='"v=STSv1; id=new2"', stale_serial=1)
    old = ns2.zones[0].records
    old[(dns.name.from_text('mta-sts.stale.test.'), 'A')] = ['127.0.1.10']
    old[(dns.name.from_text('stale.test.'), 'MX')] = ['10 old-mx.stale.test.']
    results, _stats = finish(_verify_stale, base, lambda _delay: None, 0)
    found = {(f['check'], f['rule'], f['severity']): f['message'] for f in results[0]['findings']
             if 'still serves' in f['message']}
    assert set(found) == {('policy_host', 'C1', 'error'), ('mx', 'D3', 'error')}
    assert found[('policy_host', 'C1', 'error')].startswith(
        'ns2.stale.test (127.0.0.12) still serves 127.0.1.10 at mta-sts.stale.test; ns1.stale.test (127.0.0.11) '
        'serves 127.0.1.9')
    assert found[('mx', 'D3', 'error')].startswith(
        'ns2.stale.test (127.0.0.12) still serves 10 old-mx.stale.test. at stale.test; ns1.stale.test (127.0.0.11) '
        'serves no MX record')
