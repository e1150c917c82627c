# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The zone side of publishing over RFC 2136: find the zone holding a name,
read its TXT records from the primary, build UPDATE messages whose
prerequisites make each change a compare-and-swap, and explain every answer
of the primary.

Queries go straight to the primary (never through a cache) over one TCP
connection (:mod:`._transport`), so that what we read is what the UPDATE
prerequisites are checked against. Private module of the mailsec.mta_sts
collection; needs dnspython (the controller's requirements).
"""

from __future__ import annotations

try:
    import dns.flags
    import dns.name
    import dns.rcode
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT
    import dns.update
except ImportError:
    pass  # _transport.HAS_DNSPYTHON tells the modules

from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._transport import DnsUpdateError, name_text

# The largest DNS message is 65535 octets; an UPDATE stays below this budget
# with room for the TSIG record.
UPDATE_BUDGET = 60000


def _name(text):
    return dns.name.from_text(text)


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
        return name_text(qname)
    if answer.answer:
        return None  # a positive answer (or a CNAME) says nothing about the zone
    for rrset in answer.authority:
        if rrset.rdtype == dns.rdatatype.SOA and qname.is_subdomain(rrset.name):
            return name_text(rrset.name)
    return None


def serial_in_answer(answer, zone):
    """The serial of ``zone``'s SOA when the answer carries it (an SOA
    question, or a negative answer's authority section), else None."""
    qzone = _name(zone)
    for section in (answer.answer, answer.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == qzone:
                return rrset[0].serial
    return None


# ---------------------------------------------------------------------------
# The primary of the zones


class Primary:
    """The zones of one primary, reached through ``transport`` (a
    :class:`._transport.TcpTransport`)."""

    def __init__(self, transport):
        self.transport = transport
        self._zones_seen = set()
        self.updates = 0

    @property
    def where(self):
        return self.transport.where

    @property
    def queries(self):
        return self.transport.queries

    def close(self):
        self.transport.close()

    def query(self, name, rdtype, doing=None):
        return self.transport.query(name, rdtype, doing)

    def query_many(self, questions, doing):
        return self.transport.query_many(questions, doing)

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
                return name_text(apex)
            answer = self.query(apex, 'SOA', 'reading the SOA of zone %s' % zone)
            if answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA and \
                    answer.get_rrset(answer.answer, apex, dns.rdataclass.IN, dns.rdatatype.SOA):
                self._zones_seen.add(apex)
                return name_text(apex)
            raise DnsUpdateError('%s has no SOA for zone %s (answer %s%s): it is not a primary of this zone. '
                                 'Fix: set server to the primary of %s, or correct zone'
                                 % (self.where, zone, dns.rcode.to_text(answer.rcode()),
                                    '' if answer.flags & dns.flags.AA else ', not authoritative', zone))
        candidate = target
        seen = []
        while True:
            answer = self.query(candidate, 'SOA', 'looking for the zone of %s' % name)
            rcode = answer.rcode()
            seen.append('%s %s' % (name_text(candidate), dns.rcode.to_text(rcode)))
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and answer.flags & dns.flags.AA:
                for rrset in answer.answer:
                    if rrset.rdtype == dns.rdatatype.SOA and rrset.name == candidate:
                        return name_text(candidate)
                for rrset in answer.authority:
                    if rrset.rdtype == dns.rdatatype.SOA and target.is_subdomain(rrset.name):
                        return name_text(rrset.name)
            elif rcode == dns.rcode.NOERROR and any(r.rdtype == dns.rdatatype.NS for r in answer.authority):
                cut = [r for r in answer.authority if r.rdtype == dns.rdatatype.NS][0]
                raise DnsUpdateError('%s: %s is in zone %s, which %s delegates to %s. Fix: set server to the primary '
                                     'of %s' % (self.where, name, name_text(cut.name), self.transport.server,
                                                ', '.join(sorted(name_text(r.target) for r in cut)), name_text(cut.name)))
            if candidate == dns.name.root or len(candidate) <= 1:
                break
            candidate = candidate.parent()
            if candidate == dns.name.root:
                break
        raise DnsUpdateError('no SOA found for %s on %s (%s): the server is not authoritative for any zone above '
                             'the name. Fix: set server to the primary of the zone of %s, or set zone explicitly'
                             % (name, self.where, '; '.join(seen[:6]) + ('; ...' if len(seen) > 6 else ''), name))

    def txt_of(self, answer, name, zone):
        """(records, ttl, cname_target) from a TXT answer of the primary."""
        doing = 'reading TXT %s in zone %s' % (name, zone)
        qname = _name(name)
        rcode = answer.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise DnsUpdateError('%s answered %s while %s (%s). Fix: set server to the primary of zone %s'
                                 % (self.where, dns.rcode.to_text(rcode), doing, self.transport.key_text, zone))
        if not answer.flags & dns.flags.AA:
            raise DnsUpdateError('%s is not authoritative for %s (answer without the AA flag) while %s. Fix: set '
                                 'server to the primary of zone %s' % (self.where, name, doing, zone))
        cname = answer.get_rrset(answer.answer, qname, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname:
            return [], None, name_text(cname[0].target)
        txt = answer.get_rrset(answer.answer, qname, dns.rdataclass.IN, dns.rdatatype.TXT)
        if not txt:
            return [], None, None
        return records_of(txt), txt.ttl, None

    def serial(self, zone):
        answer = self.query(_name(zone), 'SOA', 'reading the SOA serial of zone %s' % zone)
        soa = answer.get_rrset(answer.answer, _name(zone), dns.rdataclass.IN, dns.rdatatype.SOA)
        return soa[0].serial if soa else None

    def serials(self, zones):
        """The SOA serial of each zone, read in one pipelined exchange."""
        answers = self.query_many([(_name(zone), 'SOA') for zone in zones], 'reading the SOA serials')
        out = []
        for zone, answer in zip(zones, answers):
            soa = answer.get_rrset(answer.answer, _name(zone), dns.rdataclass.IN, dns.rdatatype.SOA)
            out.append(soa[0].serial if soa else None)
        return out

    def send_update(self, update, zone):
        """Send one UPDATE on a new connection; raise DnsUpdateError unless
        the server answered NOERROR."""
        doing = 'sending the UPDATE for zone %s' % zone
        try:
            answer = self.transport.exchange(update, doing, reuse=False)
        finally:
            self.close()  # the next read sees the zone after this UPDATE
        self.updates += 1
        self.check_update_answer(update, zone, answer)

    def send_updates(self, batch):
        """Send UPDATEs of different zones (``[(update, zone)]``) pipelined on
        one new connection: one write and a stream of answers instead of a
        connection and a round trip per zone. Each zone still changes
        atomically (one message each). Returns the zones whose UPDATE the
        server applied; raises DnsUpdateError for the first one refused,
        with ``changed_zones`` set to those applied."""
        zones = [zone for _update, zone in batch]
        more = len(zones) - 1
        doing = 'sending the UPDATEs for zone %s%s' % (zones[0], ' and %d more' % more if more else '')
        answers = self.transport.exchange_many([update for update, _zone in batch], doing)
        self.updates += len(batch)
        applied = [zone for zone, answer in zip(zones, answers) if answer.rcode() == dns.rcode.NOERROR]
        for (update, zone), answer in zip(batch, answers):
            try:
                self.check_update_answer(update, zone, answer)
            except DnsUpdateError as exc:
                exc.changed_zones = applied
                raise
        return applied

    def check_update_answer(self, update, zone, answer):
        """Raise DnsUpdateError unless the server answered NOERROR."""
        names = sorted({name_text(rrset.name) for rrset in update.update})
        shown = ', '.join(names[:4]) + (' and %d more' % (len(names) - 4) if len(names) > 4 else '')
        rcode = answer.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        head = '%s answered %s to the UPDATE of zone %s with %s' % (self.where, dns.rcode.to_text(rcode), zone, self.transport.key_text)
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
