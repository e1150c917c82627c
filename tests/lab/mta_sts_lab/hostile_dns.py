"""The lab's misbehaving name servers (DNS rows of the hostile-server fixtures).

Run as `python hostile_dns.py CONFIG.json` by the lab.  Each listener
(UDP and TCP port 53 on its own loopback address) plays one role:

* ``resolver``: an authoritative-only server that verify is pointed at
  with ``nameservers``.  For the ``_mta-sts`` name of each DNS fixture it
  misbehaves as the scenario says; every other question is relayed to the
  lab's Knot, so the rest of the fixture domain (policy host, MX) works:

  - ``servfail`` / ``refused``: that rcode;
  - ``truncate``: TC set over UDP, the full answer over TCP;
  - ``truncate-no-tcp``: TC set over UDP, TCP connections closed at once;
  - ``cname-chain``: ``_mta-sts`` -> ``c1.chain`` -> ... -> ``c<hops>.chain``
    (the TXT record Knot serves for ``_mta-sts``), one alias per answer;
  - ``cname-loop``: ``_mta-sts`` -> ``b.loop`` -> ``_mta-sts``, one alias per answer.

* ``stale``: a secondary that lags behind: for the zones of ``stale``
  fixtures it relays Knot's answers, except that ``_mta-sts`` still holds
  the previous record and every SOA serial is one lower.  Other zones: REFUSED.

* ``lame``: listed in the NS records of ``lame`` fixtures but serves no
  zone: REFUSED for every question.

It prints "ready" once every listener is bound.  Loopback only.
"""

from __future__ import annotations

import json
import signal
import socket
import socketserver
import struct
import sys
import threading
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

UPSTREAM_TIMEOUT = 2.0


class Fixtures:
    def __init__(self, config: dict) -> None:
        self.upstream = config["upstream"]
        self.domains = {dns.name.from_text(name): spec for name, spec in config["fixtures"].items()}

    def owner(self, qname: dns.name.Name, behaviours: tuple[str, ...]):
        """The fixture domain (and its spec) that QNAME belongs to."""
        for domain, spec in self.domains.items():
            if spec["behaviour"] in behaviours and qname.is_subdomain(domain):
                return domain, spec
        return None, None

    def relay(self, request: dns.message.Message, tcp: bool = False) -> dns.message.Message:
        query = dns.message.make_query(request.question[0].name, request.question[0].rdtype)
        query.flags = request.flags
        if tcp:
            response = dns.query.tcp(query, self.upstream, timeout=UPSTREAM_TIMEOUT)
        else:
            response = dns.query.udp(query, self.upstream, timeout=UPSTREAM_TIMEOUT)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(query, self.upstream, timeout=UPSTREAM_TIMEOUT)
        response.id = request.id
        return response


RESOLVER_BEHAVIOURS = ("servfail", "refused", "truncate", "truncate-no-tcp", "cname-chain", "cname-loop")


def _alias(request: dns.message.Message, target: dns.name.Name) -> dns.message.Message:
    response = dns.message.make_response(request)
    response.flags |= dns.flags.AA
    response.answer.append(dns.rrset.from_text(request.question[0].name, 60, "IN", "CNAME", target.to_text()))
    return response


def answer_resolver(fx: Fixtures, request: dns.message.Message, tcp: bool) -> dns.message.Message | None:
    """None means: send nothing (close the connection)."""
    qname = request.question[0].name
    domain, spec = fx.owner(qname, RESOLVER_BEHAVIOURS)
    if domain is None:
        return fx.relay(request, tcp)
    sts = dns.name.from_text("_mta-sts", origin=domain)
    behaviour = spec["behaviour"]
    if behaviour == "cname-chain":
        hops = int(spec.get("hops", 9))
        chain = [sts] + [dns.name.from_text(f"c{n}.chain", origin=domain) for n in range(1, hops + 1)]
        if qname in chain[:-1]:
            return _alias(request, chain[chain.index(qname) + 1])
        if qname == chain[-1] and request.question[0].rdtype == dns.rdatatype.TXT:
            real = fx.relay(dns.message.make_query(sts, "TXT"), tcp)
            response = dns.message.make_response(request)
            response.flags |= dns.flags.AA
            for rrset in real.answer:
                response.answer.append(dns.rrset.from_rdata_list(qname, rrset.ttl, list(rrset)))
            return response
        return fx.relay(request, tcp)
    if behaviour == "cname-loop":
        other = dns.name.from_text("b.loop", origin=domain)
        if qname == sts:
            return _alias(request, other)
        if qname == other:
            return _alias(request, sts)
        return fx.relay(request, tcp)
    if qname != sts:
        return fx.relay(request, tcp)
    if behaviour in ("servfail", "refused"):
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.SERVFAIL if behaviour == "servfail" else dns.rcode.REFUSED)
        return response
    if not tcp:  # truncate, truncate-no-tcp
        response = dns.message.make_response(request)
        response.flags |= dns.flags.TC | dns.flags.AA
        return response
    if behaviour == "truncate-no-tcp":
        return None
    return fx.relay(request, tcp)


def answer_stale(fx: Fixtures, request: dns.message.Message, tcp: bool) -> dns.message.Message:
    qname = request.question[0].name
    domain, spec = fx.owner(qname, ("stale",))
    if domain is None:
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.REFUSED)
        return response
    response = fx.relay(request, tcp)
    sts = dns.name.from_text("_mta-sts", origin=domain)
    if qname == sts and request.question[0].rdtype == dns.rdatatype.TXT:
        text = spec["old_sts"]
        chunks = " ".join('"%s"' % text[i:i + 255] for i in range(0, len(text), 255))
        response.answer = [dns.rrset.from_text(sts, 60, "IN", "TXT", chunks)]
    for section in (response.answer, response.authority):
        for index, rrset in enumerate(section):
            if rrset.rdtype == dns.rdatatype.SOA:
                older = [rdata.replace(serial=(rdata.serial - 1) % (1 << 32)) for rdata in rrset]
                section[index] = dns.rrset.from_rdata_list(rrset.name, rrset.ttl, older)
    return response


def answer_lame(fx: Fixtures, request: dns.message.Message, tcp: bool) -> dns.message.Message:
    response = dns.message.make_response(request)
    response.set_rcode(dns.rcode.REFUSED)
    return response


ROLES = {"resolver": answer_resolver, "stale": answer_stale, "lame": answer_lame}


def _respond(fx: Fixtures, role: str, wire: bytes, tcp: bool) -> bytes | None:
    try:
        request = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    try:
        response = ROLES[role](fx, request, tcp)
    except (dns.exception.DNSException, OSError) as exc:
        print(f"{role}: {request.question[0].name} failed upstream: {exc}", flush=True)
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.SERVFAIL)
    return None if response is None else response.to_wire()


def make_servers(fx: Fixtures, address: str, role: str) -> list[socketserver.BaseServer]:
    class Udp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            wire = _respond(fx, role, data, tcp=False)
            if wire is not None:
                sock.sendto(wire, self.client_address)

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(5)
            try:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                size = struct.unpack("!H", head)[0]
                data = b""
                while len(data) < size:
                    chunk = self.request.recv(size - len(data))
                    if not chunk:
                        return
                    data += chunk
                wire = _respond(fx, role, data, tcp=True)
                if wire is not None:
                    self.request.sendall(struct.pack("!H", len(wire)) + wire)
            except OSError:
                pass

    socketserver.ThreadingUDPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    udp = socketserver.ThreadingUDPServer((address, 53), Udp)
    tcp = socketserver.ThreadingTCPServer((address, 53), Tcp)
    udp.daemon_threads = tcp.daemon_threads = True
    return [udp, tcp]


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    fx = Fixtures(config)
    servers = []
    for listener in config["listen"]:
        servers += make_servers(fx, listener["address"], listener["role"])
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_args: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in servers]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()


def answers(address: str, timeout: float = 0.5) -> bool:
    """Readiness: the listener answers a question over UDP (any rcode)."""
    query = dns.message.make_query("lab.test", "SOA")
    dns.query.udp(query, address, timeout=timeout)
    return True


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    main(sys.argv[1])
