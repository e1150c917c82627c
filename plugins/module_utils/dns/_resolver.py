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

Every answer is fetched once per run: :class:`RunResolver` keeps a per-run
cache that concurrent threads share (``common._cache.OnceCache``: the second
thread asking for the same answer waits for the first one instead of asking again).

Private module of the mailsec.mta_sts collection (controller only).
"""

from __future__ import annotations

import ipaddress
import socket

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
    """

    __slots__ = ('name', 'rdtype', 'status', 'rdatas', 'error', 'cnames', 'server')

    def __init__(self, name, rdtype, status, rdatas=None, error=None, cnames=None, server=None):
        self.name = name
        self.rdtype = rdtype
        self.status = status
        self.rdatas = list(rdatas or [])
        self.error = error
        self.cnames = list(cnames or [])
        self.server = server

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
    """

    def __init__(self, nameservers=None, authoritative=False, timeout=DEFAULT_TIMEOUT):
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
        self._base = _base_resolver(servers, self.timeout)
        self._cache = OnceCache()
        self._zones = OnceCache()
        self.mode = 'authoritative' if authoritative else ('nameservers' if servers else 'system')

    @property
    def queries(self):
        """How many distinct questions were asked in this run."""
        return self._cache.computed

    def describe(self):
        if self.authoritative:
            base = ', '.join('%s:%d' % s for s in self.servers) or 'the system resolver'
            return "each zone's authoritative servers (found through %s)" % base
        if self.servers:
            return ', '.join('%s:%d' % s for s in self.servers)
        return 'the system resolver'

    # -- questions ---------------------------------------------------------

    def query(self, name, rdtype):
        name = name.rstrip('.').lower() + '.'
        return self._cache.get((name, rdtype), lambda: self._ask(name, rdtype))

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

    # -- implementation ----------------------------------------------------

    def _ask(self, name, rdtype):
        if self.authoritative:
            return self._ask_authoritative(name, rdtype, [])
        try:
            result = self._base.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, 'nxdomain')
        except dns.resolver.NoNameservers as exc:
            return Answer(name, rdtype, 'error', error=_short_error(exc))
        except dns.exception.Timeout:
            return Answer(name, rdtype, 'error', error='timeout after %gs (%s)' % (self.timeout, self.describe()))
        except dns.exception.DNSException as exc:
            return Answer(name, rdtype, 'error', error=_short_error(exc))
        cnames = []
        target = None
        for rrset in result.response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                cnames.append(rrset.name.to_text(omit_final_dot=True))
                target = rrset[0].target.to_text()
        rdatas = list(result.rrset) if result.rrset is not None else []
        if not rdatas and target and target.lower() != name and len(cnames) < _MAX_CNAME_CHAIN:
            # An authoritative server answers an alias into another zone with
            # the CNAME alone; a sender's recursive resolver follows it (A7).
            followed = self.query(target, rdtype)
            return Answer(name, rdtype, followed.status, rdatas=followed.rdatas, error=followed.error,
                          cnames=cnames + followed.cnames)
        return Answer(name, rdtype, 'ok' if rdatas else 'nodata', rdatas=rdatas, cnames=cnames)

    def _zone_servers(self, name):
        """The zone holding ``name`` and the addresses of its NS hosts."""
        zone = self._zones.get(('zone', name), lambda: dns.resolver.zone_for_name(
            name, resolver=self._base, lifetime=self.timeout))
        return self._zones.get(('servers', zone.to_text()), lambda: self._find_servers(zone))

    def _find_servers(self, zone):
        answer = self._base.resolve(zone, 'NS', lifetime=self.timeout)
        servers = []
        for rdata in answer:
            host = rdata.target.to_text()
            for rdtype in ('A', 'AAAA'):
                try:
                    for item in self._base.resolve(host, rdtype, lifetime=self.timeout, search=False):
                        servers.append((item.address, 53))
                except dns.exception.DNSException:
                    continue
        if not servers:
            raise MtaStsError('no address found for the name servers of zone %s' % zone.to_text(),
                              hint='check the NS records of the zone and their A/AAAA records')
        return zone.to_text(), servers

    def _ask_authoritative(self, name, rdtype, cnames):
        try:
            zone, servers = self._zone_servers(name)
        except (dns.exception.DNSException, MtaStsError) as exc:
            return Answer(name, rdtype, 'error', error='no authoritative servers found: %s' % _short_error(exc),
                          cnames=cnames)
        request = dns.message.make_query(name, rdtype)
        request.flags &= ~dns.flags.RD
        errors = []
        for address, port in servers:
            try:
                response = dns.query.udp(request, address, port=port, timeout=self.timeout)
                if response.flags & dns.flags.TC:
                    response = dns.query.tcp(request, address, port=port, timeout=self.timeout)
            except (dns.exception.DNSException, OSError) as exc:
                errors.append('%s: %s' % (address, _short_error(exc)))
                continue
            rcode = response.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                return Answer(name, rdtype, 'nxdomain', cnames=cnames, server=address)
            if rcode != dns.rcode.NOERROR:
                errors.append('%s: %s' % (address, dns.rcode.to_text(rcode)))
                continue
            return self._from_response(name, rdtype, response, cnames, address)
        return Answer(name, rdtype, 'error', cnames=cnames,
                      error='authoritative servers of %s failed: %s' % (zone, '; '.join(errors)))

    def _from_response(self, name, rdtype, response, cnames, address):
        wanted = dns.rdatatype.from_text(rdtype)
        current = dns.name.from_text(name)
        rrsets = {(rrset.name, rrset.rdtype): rrset for rrset in response.answer}
        for _step in range(_MAX_CNAME_CHAIN):
            rrset = rrsets.get((current, wanted))
            if rrset is not None:
                return Answer(name, rdtype, 'ok', rdatas=list(rrset), cnames=cnames, server=address)
            alias = rrsets.get((current, dns.rdatatype.CNAME))
            if alias is None:
                break
            cnames = cnames + [current.to_text(omit_final_dot=True)]
            current = alias[0].target
        else:
            return Answer(name, rdtype, 'error', error='CNAME chain too long', cnames=cnames)
        if current.to_text() != name:
            # The alias leads out of the answer: ask the target's own zone.
            if len(cnames) >= _MAX_CNAME_CHAIN:
                return Answer(name, rdtype, 'error', error='CNAME chain too long', cnames=cnames)
            target = self._ask_authoritative(current.to_text(), rdtype, cnames)
            return Answer(name, rdtype, target.status, rdatas=target.rdatas, error=target.error,
                          cnames=target.cnames, server=target.server)
        return Answer(name, rdtype, 'nodata', cnames=cnames, server=address)


def _short_error(exc):
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + '...'
