"""Load a lab scenario (YAML) into a checked, fully expanded world.

A scenario declares what the loopback internet contains: zones, MX hosts,
mail domains (good ones served by the lab, ones left for the collection to
deploy, empty ones for the records module, broken fixtures) and generated
domains for batch tests and benchmarks.  docs/lab.md describes the format.

Everything here is pure data: no file is written and no server started, so
the outer `run` can reject a bad scenario before it creates any namespace.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = ("good", "deployable", "records", "fixture")
MX_SERVERS = ("postfix", "aiosmtpd", "hostile")
# What the hostile server (hostile.py) can play, per policy host or MX host.
HOSTILE_HTTPS = ("conn-close", "close-500", "http10", "interim", "garbage", "endless-headers", "trickle",
                 "reset", "short-body", "long-body", "chunked", "chunked-huge", "gzip",
                 "two-content-types", "h2-only", "tls-alert", "tls-close", "tls-old")
HOSTILE_SMTP = ("no-banner", "banner-421", "starttls-454", "garbage-reply", "drop-after-tls")
SNI_MODES = ("any", "required", "unconfigured")
# How the hostile name servers (hostile_dns.py) misbehave for a DNS fixture,
# and the role of the listener that plays it.
DNS_BEHAVIOURS = {"servfail": "resolver", "refused": "resolver", "truncate": "resolver",
                  "truncate-no-tcp": "resolver", "cname-chain": "resolver", "cname-loop": "resolver",
                  "stale": "stale", "lame": "lame"}
DNS_ROLES = ("resolver", "stale", "lame")
LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class ScenarioError(Exception):
    """The scenario file is not a valid lab description."""


@dataclass
class CertSpec:
    """A certificate a lab server presents."""

    names: list[str]
    expired: bool = False
    self_signed: bool = False
    not_yet_valid: bool = False
    cn_only: bool = False               # the name in the subject CN only, no subjectAltName
    missing_intermediate: bool = False  # issued by an intermediate CA the server does not send


@dataclass
class MxHost:
    name: str
    address: str
    server: str = "aiosmtpd"
    starttls: bool = True
    cert: CertSpec | None = None
    behaviour: str | None = None  # server hostile: one of HOSTILE_SMTP


@dataclass
class PolicyHost:
    """A virtual host of the lab nginx serving one domain's policy."""

    domain: str
    address: str
    body: bytes
    cert: CertSpec
    content_type: str | None = "text/plain"
    status: int = 200
    redirect: str | None = None
    delay: float = 0.0
    sni: str = "any"
    extra_names: list[str] = field(default_factory=list)
    hostile: str | None = None  # served by hostile.py playing this misbehaviour, not by nginx

    @property
    def name(self) -> str:
        return f"mta-sts.{self.domain}"


@dataclass
class Domain:
    name: str
    kind: str
    zone: str
    mx: list[tuple[int, str]] = field(default_factory=list)
    policy: PolicyHost | None = None
    policy_host_addresses: list[str] = field(default_factory=list)
    sts_records: list[str] = field(default_factory=list)
    tlsrpt_records: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    mistake: str = ""
    expect: str = ""
    note: str = ""
    group: str = ""
    dns: dict[str, Any] = field(default_factory=dict)  # a DNS fixture: behaviour and its parameters

    @property
    def mx_hosts(self) -> list[str]:
        return [host for _pref, host in self.mx]


@dataclass
class Zone:
    name: str
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (owner, type, rdata)


@dataclass
class World:
    source: str
    tsig_name: str
    tsig_algorithm: str
    dns_address: str
    acme_name: str
    acme_address: str
    reserved: dict[str, list[str]]
    zones: dict[str, Zone]
    mx_hosts: dict[str, MxHost]
    domains: dict[str, Domain]
    names: dict[str, list[str]]  # extra infrastructure names -> addresses
    default_cert_name: str
    backend_address: str
    ns_name: str
    hostile_dns: dict[str, str] = field(default_factory=dict)  # role -> address (hostile_dns.py)

    def domains_of(self, kind: str, group: str | None = None) -> list[str]:
        return [d.name for d in self.domains.values()
                if d.kind == kind and (group is None or d.group == group)]

    @property
    def policy_hosts(self) -> list[PolicyHost]:
        return [d.policy for d in self.domains.values() if d.policy is not None]

    @property
    def nginx_policy_hosts(self) -> list[PolicyHost]:
        return [p for p in self.policy_hosts if not p.hostile]

    @property
    def hostile_policy_hosts(self) -> list[PolicyHost]:
        return [p for p in self.policy_hosts if p.hostile]

    def zone_of(self, name: str) -> str | None:
        """The lab zone that holds NAME (longest suffix match)."""
        # Walk up the labels: linear in the name, not in the number of zones
        # (a bench world has one zone per domain, 10000 of them).
        labels = name.split(".")
        for index in range(len(labels)):
            candidate = ".".join(labels[index:])
            if candidate in self.zones:
                return candidate
        return None


def render_policy(mode: str, mx: list[str], max_age: int) -> str:
    """A policy as the collection publishes it (rule B7, docs/rules.md): CRLF lines."""
    lines = ["version: STSv1", f"mode: {mode}"]
    lines += [f"mx: {pattern}" for pattern in mx]
    lines.append(f"max_age: {max_age}")
    return "".join(line + "\r\n" for line in lines)


def policy_id(body: bytes) -> str:
    """An id derived from the served bytes (A4: 1-32 letters/digits)."""
    return hashlib.sha256(body).hexdigest()[:32]


def _fail(where: str, message: str) -> ScenarioError:
    return ScenarioError(f"{where}: {message}")


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"expected a domain name, got {value!r}")
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        raise _fail(where, f"{value!r} is not a valid lab domain name")
    if labels[-1] != "test":
        # Lab names must never be mistaken for real ones (RFC 6761 .test).
        raise _fail(where, f"{value!r} is outside the reserved .test TLD")
    return name


def _address(value: Any, where: str) -> str:
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise _fail(where, f"{value!r} is not an IPv4 address") from None
    if not address.is_loopback:
        # Network rule: the lab only ever uses loopback addresses.
        raise _fail(where, f"{value} is not in 127.0.0.0/8")
    return str(address)


def _keys(data: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(where, f"expected a mapping, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "expected a string or a list of strings")
    return list(value)


class _Allocator:
    """Hands out loopback addresses from a /24 pool, skipping taken ones."""

    def __init__(self, prefix: str, taken: set[str]) -> None:
        self.prefix = prefix
        self.taken = taken
        self.next = 1

    def __call__(self) -> str:
        while self.next < 255:
            candidate = f"{self.prefix}.{self.next}"
            self.next += 1
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        raise ScenarioError(f"address pool {self.prefix}.0/24 is exhausted")


def _cert(data: Any, default_names: list[str], where: str) -> CertSpec:
    data = _keys(data, {"names", "expired", "self_signed", "not_yet_valid", "cn_only",
                        "missing_intermediate"}, where)
    names = [_name(n, f"{where}.names") for n in _str_list(data.get("names"), where)]
    spec = CertSpec(names=names or default_names,
                    expired=bool(data.get("expired", False)),
                    self_signed=bool(data.get("self_signed", False)),
                    not_yet_valid=bool(data.get("not_yet_valid", False)),
                    cn_only=bool(data.get("cn_only", False)),
                    missing_intermediate=bool(data.get("missing_intermediate", False)))
    if spec.cn_only and len(spec.names) != 1:
        raise _fail(where, "a cn_only certificate names exactly one host (its CN)")
    return spec


POLICY_KEYS = {"address", "mode", "mx", "max_age", "text", "bom", "pad_to",
               "content_type", "status", "redirect", "delay", "cert", "sni",
               "extra_names", "hostile"}


def _policy(domain: str, mx: list[tuple[int, str]], data: Any, where: str,
            allocate: _Allocator, taken: set[str]) -> PolicyHost:
    data = _keys(data, POLICY_KEYS, where)
    if "address" in data:
        address = _address(data["address"], f"{where}.address")
        taken.add(address)
    else:
        address = allocate()
    if "text" in data:
        text = str(data["text"])
    else:
        patterns = _str_list(data.get("mx"), f"{where}.mx") or [host for _pref, host in mx]
        text = render_policy(str(data.get("mode", "enforce")), patterns,
                             int(data.get("max_age", 604800)))
    pad_to = int(data.get("pad_to", 0))
    if pad_to:
        # Grow the policy with valid, distinct mx lines so size is the only defect.
        head, _sep, tail = text.rpartition("max_age:")
        lines, n = [], 0
        while len(text) + sum(map(len, lines)) < pad_to:
            n += 1
            lines.append(f"mx: pad{n:05d}.{domain}\r\n")
        text = head + "".join(lines) + "max_age:" + tail
    body = text.encode("utf-8")
    if data.get("bom"):
        body = b"\xef\xbb\xbf" + body
    sni = str(data.get("sni", "any"))
    if sni not in SNI_MODES:
        raise _fail(f"{where}.sni", f"{sni!r} is not one of {SNI_MODES}")
    extra = [_name(n, f"{where}.extra_names") for n in _str_list(data.get("extra_names"), where)]
    content_type = data.get("content_type", "text/plain")
    hostile = data.get("hostile")
    if hostile is not None and hostile not in HOSTILE_HTTPS:
        raise _fail(f"{where}.hostile", f"{hostile!r} is not one of {HOSTILE_HTTPS}")
    if hostile is not None and (sni != "any" or extra):
        raise _fail(where, "a hostile policy host plays its misbehaviour alone (no sni, no extra_names)")
    delay = float(data.get("delay", 0))
    if not 0 <= delay <= 30:
        raise _fail(f"{where}.delay", "must be between 0 and 30 seconds (the lab must not hang tests)")
    return PolicyHost(
        domain=domain,
        address=address,
        body=body,
        cert=_cert(data.get("cert"), [f"mta-sts.{domain}"] + extra, f"{where}.cert"),
        content_type=None if content_type in (None, "", "none") else str(content_type),
        status=int(data.get("status", 200)),
        redirect=data.get("redirect"),
        delay=delay,
        sni=sni,
        extra_names=extra,
        hostile=hostile,
    )


DOMAIN_KEYS = {"kind", "zone", "mx", "policy", "policy_hosts", "sts", "tlsrpt",
               "records", "mistake", "expect", "note", "dns"}


def _domain(name: str, data: Any, where: str, ctx: dict[str, Any], group: str = "") -> Domain:
    data = _keys(data, DOMAIN_KEYS, where)
    kind = str(data.get("kind", "good"))
    if kind not in KINDS:
        raise _fail(f"{where}.kind", f"{kind!r} is not one of {KINDS}")
    mx = [(10 * (i + 1), _name(host, f"{where}.mx"))
          for i, host in enumerate(_str_list(data.get("mx"), f"{where}.mx"))]
    domain = Domain(name=name, kind=kind, zone=data.get("zone") or name, mx=mx,
                    mistake=str(data.get("mistake", "")), expect=str(data.get("expect", "")),
                    note=str(data.get("note", "")), group=group)
    if kind == "fixture" and not domain.mistake:
        raise _fail(where, "a fixture must say which mistake it plays (mistake:)")
    if data.get("policy") is not None:
        if kind not in ("good", "fixture"):
            raise _fail(where, f"kind {kind} is not served by the lab: it cannot have a policy")
        domain.policy = _policy(name, mx, data["policy"], f"{where}.policy",
                                ctx["allocate_web"], ctx["taken"])
    domain.policy_host_addresses = [
        _address(a, f"{where}.policy_hosts") for a in _str_list(data.get("policy_hosts"), where)]
    if domain.policy and domain.policy_host_addresses:
        raise _fail(where, "policy (served by the lab) and policy_hosts (served by the collection) exclude each other")
    if "sts" in data:
        domain.sts_records = _str_list(data["sts"], f"{where}.sts")
    elif domain.policy is not None:
        domain.sts_records = [f"v=STSv1; id={policy_id(domain.policy.body)}"]
    domain.tlsrpt_records = _str_list(data.get("tlsrpt"), f"{where}.tlsrpt")
    domain.records = _str_list(data.get("records"), f"{where}.records")
    if data.get("dns") is not None:
        dns = _keys(data["dns"], {"behaviour", "hops", "old_sts"}, f"{where}.dns")
        if kind != "fixture":
            raise _fail(f"{where}.dns", "only a fixture plays a DNS misbehaviour")
        if dns.get("behaviour") not in DNS_BEHAVIOURS:
            raise _fail(f"{where}.dns.behaviour", f"{dns.get('behaviour')!r} is not one of {sorted(DNS_BEHAVIOURS)}")
        if dns["behaviour"] == "stale" and not isinstance(dns.get("old_sts"), str):
            raise _fail(f"{where}.dns", "a stale fixture needs old_sts, the record the lagging server still serves")
        domain.dns = dict(dns)
    return domain


def _record_line(line: str, origin: str, where: str) -> tuple[str, str, str]:
    """'owner TYPE rdata' with owner relative to ORIGIN ('@' = origin)."""
    parts = line.split(None, 2)
    if len(parts) != 3:
        raise _fail(where, f"record {line!r} is not 'owner TYPE rdata'")
    owner, rtype, rdata = parts
    if owner == "@":
        owner = origin
    elif owner.endswith("."):
        owner = owner.rstrip(".")
    else:
        owner = f"{owner}.{origin}"
    return owner.lower(), rtype.upper(), rdata


def load(path: str | Path) -> World:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
    return build(raw, str(path))


TOP_KEYS = {"tsig_key", "infrastructure", "reserved", "zones", "mx_hosts",
            "domains", "generate", "names"}


def build(raw: Any, source: str = "<scenario>") -> World:
    top = _keys(raw, TOP_KEYS, source)
    tsig = _keys(top.get("tsig_key"), {"name", "algorithm"}, "tsig_key")
    infra = _keys(top.get("infrastructure"),
                  {"dns", "ns_name", "acme_name", "acme", "default_cert_name", "backend", "hostile_dns"},
                  "infrastructure")
    taken: set[str] = set()
    dns_address = _address(infra.get("dns", "127.0.0.1"), "infrastructure.dns")
    acme_address = _address(infra.get("acme", "127.0.0.3"), "infrastructure.acme")
    backend_address = _address(infra.get("backend", "127.0.0.4"), "infrastructure.backend")
    taken |= {dns_address, acme_address, backend_address}
    hostile_raw = _keys(infra.get("hostile_dns"), set(DNS_ROLES), "infrastructure.hostile_dns")
    hostile_dns = {role: _address(address, f"infrastructure.hostile_dns.{role}")
                   for role, address in hostile_raw.items()}
    taken |= set(hostile_dns.values())

    reserved_raw = _keys(top.get("reserved"), {"policy_host", "spare"}, "reserved")
    reserved = {key: [_address(a, f"reserved.{key}") for a in _str_list(value, f"reserved.{key}")]
                for key, value in reserved_raw.items()}
    for addresses in reserved.values():
        taken |= set(addresses)

    ctx = {"taken": taken,
           "allocate_web": _Allocator("127.0.1", taken),
           "allocate_mx": _Allocator("127.0.2", taken)}

    zones: dict[str, Zone] = {}
    for zname in _str_list(top.get("zones"), "zones"):
        zones[_name(zname, "zones")] = Zone(_name(zname, "zones"))

    names: dict[str, list[str]] = {}
    names_raw = top.get("names") or {}
    if not isinstance(names_raw, dict):
        raise _fail("names", "expected a mapping of name: address(es)")
    for owner, value in names_raw.items():
        names[_name(owner, "names")] = [_address(a, f"names.{owner}")
                                        for a in _str_list(value, f"names.{owner}")]
    ns_name = _name(infra.get("ns_name", "ns.lab.test"), "infrastructure.ns_name")
    names.setdefault(ns_name, [dns_address])
    acme_name = _name(infra.get("acme_name", "acme.lab.test"), "infrastructure.acme_name")
    names.setdefault(acme_name, [acme_address])
    default_cert_name = _name(infra.get("default_cert_name", "web.provider.test"),
                              "infrastructure.default_cert_name")

    mx_hosts: dict[str, MxHost] = {}
    for hname, data in (top.get("mx_hosts") or {}).items():
        where = f"mx_hosts.{hname}"
        hname = _name(hname, where)
        data = _keys(data, {"address", "server", "starttls", "cert", "behaviour"}, where)
        if "address" in data:
            address = _address(data["address"], f"{where}.address")
            if address in taken:
                raise _fail(where, f"address {address} is already used")
            taken.add(address)
        else:
            address = ctx["allocate_mx"]()
        server = str(data.get("server", "aiosmtpd"))
        if server not in MX_SERVERS:
            raise _fail(f"{where}.server", f"{server!r} is not one of {MX_SERVERS}")
        starttls = bool(data.get("starttls", True))
        behaviour = data.get("behaviour")
        if (server == "hostile") != (behaviour is not None):
            raise _fail(where, "server hostile and behaviour go together")
        if behaviour is not None and behaviour not in HOSTILE_SMTP:
            raise _fail(f"{where}.behaviour", f"{behaviour!r} is not one of {HOSTILE_SMTP}")
        mx_hosts[hname] = MxHost(hname, address, server, starttls,
                                 _cert(data.get("cert"), [hname], f"{where}.cert") if starttls else None,
                                 behaviour)

    domains: dict[str, Domain] = {}
    for dname, data in (top.get("domains") or {}).items():
        where = f"domains.{dname}"
        dname = _name(dname, where)
        domains[dname] = _domain(dname, data, where, ctx)

    for index, gen in enumerate(top.get("generate") or []):
        where = f"generate[{index}]"
        gen = _keys(gen, DOMAIN_KEYS | {"name", "count", "group"}, where)
        template = gen.get("name")
        count = int(gen.get("count", 0))
        if not isinstance(template, str) or "{n" not in template or count < 1:
            raise _fail(where, "needs name (a template with {n}, e.g. 'd{n:04d}.bench.test') and count >= 1")
        # A zone with {n} is a template too: one zone per domain, as at a
        # provider whose customers each own their zone.
        zone_template = str(gen.get("zone") or template.split(".", 1)[1])
        zone = _name(zone_template.format(n=1) if "{n" in zone_template else zone_template, f"{where}.zone")
        group = str(gen.get("group") or (template.split(".", 1)[1] if "{n" in zone_template else zone))
        body = {k: v for k, v in gen.items() if k in DOMAIN_KEYS}
        body["zone"] = zone
        # All domains of a group share one policy address (an SNI-routed shared host).
        if body.get("policy") is not None and "address" not in body["policy"]:
            body["policy"] = dict(body["policy"], address=ctx["allocate_web"]())
        for n in range(1, count + 1):
            dname = _name(template.format(n=n), where)
            if "{n" in zone_template:
                body["zone"] = _name(zone_template.format(n=n), f"{where}.zone")
            domains[dname] = _domain(dname, body, f"{where}:{dname}", ctx, group=group)

    # Policy host addresses may only be shared by SNI-routed virtual hosts.
    by_address: dict[str, list[PolicyHost]] = {}
    for domain in domains.values():
        if domain.policy:
            by_address.setdefault(domain.policy.address, []).append(domain.policy)
    for address, hosts in by_address.items():
        if len(hosts) > 1 and any(h.sni != "any" for h in hosts):
            raise _fail("domains", f"{address}: an sni fixture needs an address of its own")
        if len({h.hostile for h in hosts}) > 1:
            # One listener per address: nginx, or the hostile server playing one misbehaviour.
            raise _fail("domains", f"{address}: policy hosts sharing an address play the same hostile behaviour")

    for domain in domains.values():
        zones.setdefault(domain.zone, Zone(domain.zone))
    world = World(
        source=source,
        tsig_name=_name(tsig.get("name", "lab-update-key.test"), "tsig_key.name"),
        tsig_algorithm=str(tsig.get("algorithm", "hmac-sha256")),
        dns_address=dns_address, acme_name=acme_name, acme_address=acme_address,
        reserved=reserved, zones=zones, mx_hosts=mx_hosts, domains=domains, names=names,
        default_cert_name=default_cert_name, backend_address=backend_address,
        ns_name=ns_name, hostile_dns=hostile_dns,
    )
    for domain in domains.values():
        role = DNS_BEHAVIOURS.get(domain.dns.get("behaviour", ""))
        if role and role not in hostile_dns:
            raise _fail(f"domains.{domain.name}.dns",
                        f"needs infrastructure.hostile_dns.{role} (the address of that name server)")
    _fill_zones(world)
    return world


def _put(world: World, owner: str, rtype: str, rdata: str, where: str) -> None:
    zone = world.zone_of(owner)
    if zone is None:
        raise _fail(where, f"{owner} is in no lab zone; add its zone to 'zones:'")
    world.zones[zone].records.append((owner, rtype, rdata))


def txt_rdata(text: str) -> str:
    """TXT rdata in zone-file syntax, split into 255-byte strings (A2)."""
    chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


REVERSE_ZONE = "127.in-addr.arpa"


def _reverse_name(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


def _fill_zones(world: World) -> None:
    # PTR records for the MX hosts and the lab servers, as checkers expect them.
    reverse = world.zones.setdefault(REVERSE_ZONE, Zone(REVERSE_ZONE))
    ptr_owners = [(h.address, h.name) for h in world.mx_hosts.values()]
    ptr_owners += [(world.dns_address, world.ns_name), (world.acme_address, world.acme_name)]
    for address, name in ptr_owners:
        reverse.records.append((_reverse_name(address), "PTR", name + "."))
    for zone in world.zones.values():
        zone.records.insert(0, (zone.name, "NS", world.ns_name + "."))
    for owner, addresses in world.names.items():
        for address in addresses:
            _put(world, owner, "A", address, f"names.{owner}")
    for host in world.mx_hosts.values():
        _put(world, host.name, "A", host.address, f"mx_hosts.{host.name}")
    for d in world.domains.values():
        where = f"domains.{d.name}"
        for pref, host in d.mx:
            _put(world, d.name, "MX", f"{pref} {host}.", where)
        if d.policy:
            _put(world, f"mta-sts.{d.name}", "A", d.policy.address, where)
            for extra in d.policy.extra_names:
                _put(world, extra, "A", d.policy.address, where)
        for address in d.policy_host_addresses:
            _put(world, f"mta-sts.{d.name}", "A", address, where)
        for text in d.sts_records:
            _put(world, f"_mta-sts.{d.name}", "TXT", txt_rdata(text), where)
        for text in d.tlsrpt_records:
            _put(world, f"_smtp._tls.{d.name}", "TXT", txt_rdata(text), where)
        for line in d.records:
            owner, rtype, rdata = _record_line(line, d.name, where)
            _put(world, owner, rtype, rdata, where)
