# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One way to resolve names for every network-facing piece of the collection.

A resolver is built from module options (the ``resolver`` doc fragment):

* the system resolver (``/etc/resolv.conf``), the default;
* ``nameservers``: given servers, each ``address``, ``address:port``,
  ``[v6address]:port`` or a host name (resolved once by the system);
* ``authoritative: true``: for every name, ask the servers listed in the NS
  records of the zone that holds it, bypassing caching resolvers (right after
  a change). The zone and its servers are found with the base resolver.

In authoritative mode every name server of the zone is asked, not only the
first one that answers: an answer carries the servers that disagree (a
lagging secondary) and those that failed (a lame delegation).

Every answer is fetched once per run: :class:`RunResolver` keeps a per-run
cache that concurrent threads share (``common._cache.OnceCache``: the second
thread asking for the same answer waits for the first one instead of asking
again). Aliases (CNAME) are followed outside that cache, one hop at a time,
with a limit of 8 aliases and loop detection.

Private module of the mailsec.mta_sts collection (controller only).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.nameserver
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._cache import OnceCache
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import join_txt

DEFAULT_TIMEOUT = 10.0
_MAX_CNAME_CHAIN = 8


def resolver_argument_spec():
    """The options of the ``mailsec.mta_sts.resolver`` doc fragment."""
    return dict(
        nameservers=dict(type='list', elements='str'),
        authoritative=dict(type='bool', default=False),
    )


class Answer:
    """The outcome of one DNS question.

    ``status`` is ``ok`` (records in ``rdatas``), ``nxdomain``, ``nodata``
    or ``error`` (``error`` says what: timeout, SERVFAIL, REFUSED...).
    ``cnames`` lists the aliases followed on the way (A7).

    In authoritative mode ``server`` names the server whose answer this is,
    ``disagreements`` lists the other servers of the zone that answered
    differently (``{server, address, status, values}``: a lagging secondary),
    and ``notes`` says which servers failed while another one answered (a
    lame delegation, a dead server).
    """

    __slots__ = ('name', 'rdtype', 'status', 'rdatas', 'error', 'cnames', 'server', 'notes', 'disagreements')

    def __init__(self, name, rdtype, status, rdatas=None, error=None, cnames=None, server=None, notes=None,
                 disagreements=None):
        self.name = name
        self.rdtype = rdtype
        self.status = status
        self.rdatas = list(rdatas or [])
        self.error = error
        self.cnames = list(cnames or [])
        self.server = server
        self.notes = list(notes or [])
        self.disagreements = list(disagreements or [])

    @property
    def ok(self):
        return self.status == 'ok'

    @property
    def failed(self):
        return self.status == 'error'

    def describe(self):
        if self.status == 'error':
            return 'lookup of %s %s failed: %s' % (self.name, self.rdtype, self.error)
        if self.status == 'nxdomain':
            return '%s does not exist (NXDOMAIN)' % self.name
        if self.status == 'nodata':
            return '%s has no %s record' % (self.name, self.rdtype)
        return '%s %s: %d record(s)' % (self.name, self.rdtype, len(self.rdatas))


def parse_nameserver(spec):
    """``address``, ``address:port``, ``[v6]:port`` or a host name -> list of
    ``(address, port)`` (a host name may give several addresses)."""
    if not isinstance(spec, str) or not spec.strip():
        raise MtaStsError('%r is not a name server address' % (spec,), field='nameservers',
                          hint='write an address such as 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53')
    text = spec.strip()
    port = 53
    host = text
    if text.startswith('['):
        host, sep, rest = text[1:].partition(']')
        if not sep or (rest and not rest.startswith(':')):
            raise MtaStsError('%r: a bracketed IPv6 address must be written [address]:port' % spec,
                              field='nameservers')
        if rest:
            port = _port(rest[1:], spec)
    elif text.count(':') == 1:
        host, _colon, port_text = text.partition(':')
        port = _port(port_text, spec)
    try:
        return [(str(ipaddress.ip_address(host)), port)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)
    except socket.gaierror as exc:
        raise MtaStsError('name server %r does not resolve: %s' % (host, exc), field='nameservers',
                          hint='give the address of the name server') from None
    out = []
    for info in infos:
        item = (info[4][0], port)
        if item not in out:
            out.append(item)
    return out


def _port(text, spec):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise MtaStsError('%r: port %r is not a number from 1 to 65535' % (spec, text), field='nameservers')
    return int(text)


def _base_resolver(servers, timeout):
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port) for address, port in servers]
    else:
        resolver = dns.resolver.Resolver()
    resolver.cache = None  # the run keeps its own cache
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, max(1.0, timeout / 2.0))
    return resolver


class RunResolver:
    """A resolver for one run: system, given servers, or authoritative.

    ``query(name, rdtype)`` returns an :class:`Answer` and never raises for
    DNS failures. Helpers: ``txt`` (list of records, each a list of byte
    strings), ``addresses`` (A then AAAA), ``mx`` (sorted ``(preference,
    host)``).

    Aliases are followed here, one hop after the other, outside the per-run
    cache: a cached computation never waits for another cached question, so
    a CNAME loop across zones ends in an ``error`` answer instead of a thread
    waiting for itself (or two threads waiting for each other).
    """

    def __init__(self, nameservers=None, authoritative=False, timeout=DEFAULT_TIMEOUT, ns_port=53):
        # ns_port: where the zones' name servers listen (53; tests use another port)
        if not HAS_DNSPYTHON:
            raise MtaStsError('the dnspython library is needed', hint='pip install dnspython')
        servers = []
        for spec in nameservers or []:
            for item in parse_nameserver(spec):
                if item not in servers:
                    servers.append(item)
        self.servers = servers
        self.authoritative = authoritative
        self.timeout = float(timeout)
        self.ns_port = ns_port
        self._base = _base_resolver(servers, self.timeout)
        self._cache = OnceCache()   # (name, rdtype) -> Answer, aliases followed
        self._steps = OnceCache()   # (name, rdtype) -> _Step, one name, nothing followed
        self._zones = OnceCache()
        self._silent = set()        # authoritative servers that timed out in this run
        self._silent_lock = threading.Lock()
        self.mode = 'authoritative' if authoritative else ('nameservers' if servers else 'system')

    @property
    def queries(self):
        """How many distinct questions were asked in this run."""
        return self._steps.computed

    def describe(self):
        if self.authoritative:
            base = ', '.join('%s:%d' % s for s in self.servers) or 'the system resolver'
            return "each zone's authoritative servers (found through %s)" % base
        if self.servers:
            return ', '.join('%s:%d' % s for s in self.servers)
        return 'the system resolver'

    # -- questions ---------------------------------------------------------

    def query(self, name, rdtype):
        name = _absolute(name)
        return self._cache.get((name, rdtype), lambda: self._follow(name, rdtype))

    def txt(self, name):
        answer = self.query(name, 'TXT')
        return answer, [list(rdata.strings) for rdata in answer.rdatas]

    def addresses(self, name):
        """A and AAAA of ``name``: ``(addresses, [failed Answer])``."""
        out = []
        failures = []
        for rdtype in ('A', 'AAAA'):
            answer = self.query(name, rdtype)
            if answer.failed:
                failures.append(answer)
            out.extend(rdata.address for rdata in answer.rdatas)
        return out, failures

    def mx(self, name):
        answer = self.query(name, 'MX')
        items = sorted((rdata.preference, rdata.exchange.to_text(omit_final_dot=True).lower())
                       for rdata in answer.rdatas)
        return answer, items

    # -- following aliases (A7) -------------------------------------------

    def _follow(self, name, rdtype):
        """Ask for ``name`` and follow CNAMEs that lead out of an answer,
        one step at a time, with loop and length limits."""
        cnames = []
        seen = [name]
        current = name
        notes = []
        # One question, aliases included, takes at most `timeout`.
        deadline = time.monotonic() + self.timeout
        while True:
            budget = deadline - time.monotonic()
            if budget <= 0:
                return Answer(name, rdtype, 'error', cnames=cnames, notes=notes,
                              error='no answer within %gs while following aliases (%s -> %s)'
                              % (self.timeout, ' -> '.join(cnames), current.rstrip('.')))
            step = self._steps.get((current, rdtype),
                                   lambda current=current, budget=budget: self._step(current, rdtype, budget))
            cnames.extend(step.cnames)
            notes.extend(step.notes)
            if step.loop:
                return Answer(name, rdtype, 'error', cnames=cnames, server=step.server, notes=notes,
                              error='CNAME loop: %s' % ' -> '.join(cnames + [cnames[0] if cnames else name]))
            if len(cnames) > _MAX_CNAME_CHAIN:
                return Answer(name, rdtype, 'error', cnames=cnames, server=step.server, notes=notes,
                              error='CNAME chain longer than %d aliases (%s -> ...)'
                              % (_MAX_CNAME_CHAIN, ' -> '.join(cnames[:3])))
            if step.target is None:
                return Answer(name, rdtype, step.status, rdatas=step.rdatas, error=step.error, cnames=cnames,
                              server=step.server, notes=notes, disagreements=step.disagreements)
            if step.target in seen:
                return Answer(name, rdtype, 'error', cnames=cnames, server=step.server, notes=notes,
                              error='CNAME loop: %s -> %s' % (' -> '.join(cnames), step.target.rstrip('.')))
            # An authoritative server answers an alias into another zone with
            # the CNAME alone; a sender's recursive resolver follows it (A7).
            seen.append(step.target)
            current = step.target

    def _step(self, name, rdtype, budget):
        if self.authoritative:
            return self._step_authoritative(name, rdtype, budget)
        return self._step_resolver(name, rdtype, budget)

    # -- system resolver or given servers ---------------------------------

    def _step_resolver(self, name, rdtype, budget):
        try:
            result = self._base.resolve(name, rdtype, raise_on_no_answer=False, search=False, lifetime=budget)
        except dns.resolver.NXDOMAIN:
            return _Step('nxdomain')
        except dns.resolver.NoNameservers as exc:
            return _Step('error', error=_describe_no_nameservers(exc))
        except dns.exception.Timeout:
            return _Step('error', error='no answer within %gs from %s' % (self.timeout, self.describe()))
        except dns.message.ChainTooLong:
            return _Step('error', error='the answer holds a CNAME chain that is too long or loops')
        except dns.exception.DNSException as exc:
            return _Step('error', error=_short_error(exc))
        return _walk(result.response, name, rdtype)

    # -- authoritative servers: ask every one of them -------------------------

    def _zone_servers(self, name):
        """The zone holding ``name`` and its NS hosts as ``(host, address)``."""
        zone = self._zones.get(('zone', name), lambda: dns.resolver.zone_for_name(
            name, resolver=self._base, lifetime=self.timeout))
        return self._zones.get(('servers', zone.to_text()), lambda: self._find_servers(zone))

    def _find_servers(self, zone):
        answer = self._base.resolve(zone, 'NS', lifetime=self.timeout)
        servers = []
        for rdata in sorted(answer, key=lambda r: r.target.to_text()):
            host = rdata.target.to_text()
            for rdtype in ('A', 'AAAA'):
                try:
                    for item in self._base.resolve(host, rdtype, lifetime=self.timeout, search=False):
                        servers.append((host.rstrip('.'), item.address))
                except dns.exception.DNSException:
                    continue
        if not servers:
            raise MtaStsError('no address found for the name servers of zone %s' % zone.to_text(),
                              hint='check the NS records of the zone and their A/AAAA records')
        return zone.to_text(), servers

    def _step_authoritative(self, name, rdtype, budget):
        try:
            zone, servers = self._zone_servers(name)
        except (dns.exception.DNSException, MtaStsError) as exc:
            return _Step('error', error='no authoritative servers found: %s' % _short_error(exc))
        timeout = min(self.timeout, budget)

        def ask(server):
            return server[0], server[1], self._ask_server(zone, server[1], name, rdtype, timeout)

        if len(servers) == 1:
            outcomes = [ask(servers[0])]
        else:
            # All at once: a dead server costs one timeout, not one per server.
            with ThreadPoolExecutor(max_workers=min(len(servers), 8)) as pool:
                outcomes = list(pool.map(ask, servers))
        usable = [item for item in outcomes if item[2].status != 'error']
        if not usable:
            return _Step('error', error='no authoritative server of %s answered: %s' % (
                zone.rstrip('.'), '; '.join('%s (%s): %s' % (h, a, s.error) for h, a, s in outcomes)))
        chosen = self._newest(zone, usable)
        host, address, step = chosen
        step.server = '%s (%s)' % (host, address)
        for other_host, other_address, other in outcomes:
            if other is step:
                continue
            where = '%s (%s)' % (other_host, other_address)
            if other.status == 'error':
                step.notes.append('%s: %s' % (where, other.error))
            elif other.signature() != step.signature():
                step.disagreements.append({'server': other_host, 'address': other_address,
                                           'status': other.status, 'values': _values(other)})
        return step

    def _ask_server(self, zone, address, name, rdtype, timeout):
        with self._silent_lock:
            silent = address in self._silent
        if silent:
            return _Step('error', error='no answer (it timed out earlier in this run)')
        request = dns.message.make_query(name, rdtype)
        request.flags &= ~dns.flags.RD
        deadline = time.monotonic() + timeout
        try:
            response = dns.query.udp(request, address, port=self.ns_port, timeout=timeout)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(request, address, port=self.ns_port,
                                         timeout=max(deadline - time.monotonic(), 0.001))
        except dns.exception.Timeout:
            with self._silent_lock:
                self._silent.add(address)
            return _Step('error', error='no answer within %gs' % round(timeout, 2))
        except (dns.exception.DNSException, OSError) as exc:
            return _Step('error', error=_short_error(exc))
        rcode = response.rcode()
        if rcode == dns.rcode.REFUSED:
            return _Step('error', error='REFUSED: it does not serve zone %s (lame delegation)' % zone.rstrip('.'))
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return _Step('error', error=dns.rcode.to_text(rcode))
        if not response.flags & dns.flags.AA:
            return _Step('error', error='answer is not authoritative: it does not serve zone %s '
                         '(lame delegation)' % zone.rstrip('.'))
        if rcode == dns.rcode.NXDOMAIN:
            return _Step('nxdomain')
        return _walk(response, name, rdtype)

    def _newest(self, zone, usable):
        """Among servers that answered, the one a sender should believe: the
        first one, unless they disagree, then the one with the highest SOA
        serial (a lagging secondary has the lower one)."""
        first = usable[0]
        if all(item[2].signature() == first[2].signature() for item in usable[1:]):
            return first
        best = first
        best_serial = None
        request = dns.message.make_query(zone, 'SOA')
        request.flags &= ~dns.flags.RD
        for item in usable:
            serial = self._zones.get(('serial', zone, item[1]), lambda item=item: _soa_serial(
                request, item[1], self.ns_port, self.timeout))
            if serial is not None and (best_serial is None or _serial_newer(serial, best_serial)):
                best, best_serial = item, serial
        return best


class _Step:
    """What one name's question gave, before following aliases out of it."""

    __slots__ = ('status', 'rdatas', 'error', 'cnames', 'target', 'loop', 'server', 'notes', 'disagreements')

    def __init__(self, status, rdatas=None, error=None, cnames=None, target=None, loop=False):
        self.status = status
        self.rdatas = list(rdatas or [])
        self.error = error
        self.cnames = list(cnames or [])
        self.target = target
        self.loop = loop
        self.server = None
        self.notes = []
        self.disagreements = []

    def signature(self):
        return (self.status, self.target, sorted(rdata.to_text() for rdata in self.rdatas))


def _walk(response, name, rdtype):
    """Follow the CNAMEs inside one response from ``name``: the records of
    type ``rdtype`` at the end, or the alias target the answer leads to."""
    wanted = dns.rdatatype.from_text(rdtype)
    current = dns.name.from_text(name)
    rrsets = {(rrset.name, rrset.rdtype): rrset for rrset in response.answer}
    cnames = []
    seen = set()
    while True:
        rrset = rrsets.get((current, wanted))
        if rrset is not None:
            return _Step('ok', rdatas=list(rrset), cnames=cnames)
        alias = rrsets.get((current, dns.rdatatype.CNAME))
        if alias is None:
            break
        seen.add(current)
        cnames.append(current.to_text(omit_final_dot=True))
        current = alias[0].target
        if current in seen:
            return _Step('error', cnames=cnames, loop=True)
    if not cnames:
        return _Step('nodata')
    return _Step('nodata', cnames=cnames, target=current.to_text().lower())


def _values(step):
    """The records of a step as text, for messages (TXT strings joined, A2)."""
    if step.target is not None:
        return ['CNAME %s' % step.target.rstrip('.')]
    out = []
    for rdata in step.rdatas:
        if rdata.rdtype == dns.rdatatype.TXT:
            out.append(join_txt(list(rdata.strings), lenient=True))
        else:
            out.append(rdata.to_text())
    return sorted(out)


def _soa_serial(request, address, port, timeout):
    try:
        response = dns.query.udp(request, address, port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return None
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def _serial_newer(a, b):
    """RFC 1982 serial number arithmetic: is ``a`` after ``b``?"""
    return a != b and ((a - b) % (1 << 32)) < (1 << 31)


def _absolute(name):
    return name.rstrip('.').lower() + '.'


def _describe_no_nameservers(exc):
    """'127.0.0.1:53 answered SERVFAIL' rather than dnspython's long sentence."""
    parts = []
    for error in exc.kwargs.get('errors') or []:
        server, tcp, port, problem = error[0], error[1], error[2], error[3]
        where = _server_text(server, port)
        if isinstance(problem, str):  # an rcode
            text = '%s answered %s' % (where, problem)
        elif isinstance(problem, dns.message.Truncated):
            text = '%s: the UDP answer was truncated' % where
        elif isinstance(problem, EOFError):
            text = '%s: the %s connection closed without an answer' % (where, 'TCP' if tcp else 'UDP')
        else:
            text = '%s: %s' % (where, _short_error(problem))
        if text not in parts:
            parts.append(text)
    return _short_error('; '.join(parts)) if parts else _short_error(exc)


def _server_text(server, port):
    """dnspython names a server ``Do53:192.0.2.1@53``: say ``192.0.2.1:53``."""
    address = str(server)
    if address.startswith('Do53:'):
        address = address[len('Do53:'):].rpartition('@')[0] or address
    return '[%s]:%s' % (address, port) if ':' in address else '%s:%s' % (address, port)


def _short_error(exc):
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + '...'
