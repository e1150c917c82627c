# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``records`` module's work: validate every domain, read the current
records from the primary, plan, and send one UPDATE per zone.

Everything is validated and read before the first UPDATE, so bad input, a
wrong key (reads are signed), a CNAME or a zone that cannot be found fail
the run with nothing changed. Private module of the mailsec.mta_sts
collection.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import (
    records_connection,
    records_items,
    secrets_in,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import normalize_domain
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    STS_PREFIX,
    TLSRPT_PREFIX,
    render_sts_record,
    render_tlsrpt_record,
    sts_record_name,
    tlsrpt_record_name,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._rfc2136 import (
    Primary,
    build_updates,
    serial_in_answer,
    zone_of_negative_answer,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._transport import (
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
    KEY_ALGORITHMS,
    DnsUpdateError,
    TcpTransport,
    make_key,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._txt_change import plan_txt

DEFAULT_TTL = 300
ITEM_KEYS = ('policy_id', 'tlsrpt_rua', 'state', 'zone')


class DomainItem:
    """One domain to publish: the wanted values (None: remove; absent key:
    leave alone) and, once planned, its zone and TxtPlans."""

    def __init__(self, domain, state, sts_value, tlsrpt_value, manage_tlsrpt, zone):
        self.domain = domain
        self.state = state
        self.sts_value = sts_value
        self.tlsrpt_value = tlsrpt_value
        self.manage_tlsrpt = manage_tlsrpt
        self.zone_option = zone
        self.zone = None
        self.plans = []

    @property
    def changed(self):
        return any(plan.changed for plan in self.plans)

    def result(self):
        out = {'domain': self.domain, 'state': self.state, 'zone': self.zone, 'changed': self.changed,
               'sts': None, 'tlsrpt': None}
        for plan in self.plans:
            out[plan.kind] = plan.as_dict()
        return out


def validate_item(raw, defaults, index=None):
    """A DomainItem from one item (or the single form), with the defaults
    of the top-level options. Raises MtaStsError naming the domain."""
    where = 'domains[%d]' % index if index is not None else None
    values = dict(defaults)
    values.update({k: v for k, v in raw.items() if k in ITEM_KEYS and v is not None})
    try:
        domain = normalize_domain(raw.get('domain'))
    except MtaStsError as exc:
        raise exc.with_context(field='%s.domain' % where if where else 'domain') from None
    state = values.get('state') or 'present'
    rua = values.get('tlsrpt_rua')
    if state == 'present':
        policy_id = values.get('policy_id')
        if policy_id is None:
            raise MtaStsError('policy_id is required with state=present', rule='A4', domain=domain,
                              field='policy_id', hint='pass the policy_id returned by mailsec.mta_sts.policy')
        sts_value = render_sts_record(policy_id, domain)  # validates A4, renders A6
        if rua is None:
            return DomainItem(domain, state, sts_value, None, False, values.get('zone'))
        if not rua:
            return DomainItem(domain, state, sts_value, None, True, values.get('zone'))
        return DomainItem(domain, state, sts_value, render_tlsrpt_record(rua, domain), True, values.get('zone'))
    if rua:
        raise MtaStsError('state=absent removes the TLS-RPT record too, but tlsrpt_rua lists URIs', domain=domain,
                          field='tlsrpt_rua', hint='drop tlsrpt_rua, or use state=present with the new policy_id')
    return DomainItem(domain, state, None, None, True, values.get('zone'))


def validate_items(params):
    """Every item validated; raises MtaStsError listing every bad one."""
    defaults = {key: params.get(key) for key in ITEM_KEYS}
    if params.get('domains') is None:
        return [validate_item({'domain': params.get('domain')}, defaults)]
    items = []
    errors = []
    seen = {}
    for index, raw in enumerate(params['domains']):
        try:
            item = validate_item(raw, defaults, index)
        except MtaStsError as exc:
            errors.append(str(exc))
            continue
        if item.domain in seen:
            errors.append('%s: listed twice (domains[%d] and domains[%d])' % (item.domain, seen[item.domain], index))
            continue
        seen[item.domain] = index
        items.append(item)
    if errors:
        raise MtaStsError('%d invalid domain%s, nothing changed:\n- %s'
                          % (len(errors), '' if len(errors) == 1 else 's', '\n- '.join(errors)))
    return items


def plan_items(primary, items, ttl):
    """Find each zone, read the records and plan. Raises DnsUpdateError
    (server trouble) or MtaStsError (CNAMEs, every one listed).

    The reads are pipelined: the TXT records of every name first; a
    negative answer names the zone in its SOA, the others are asked for
    the SOA at the name. Only when that gives no zone does the module
    walk up name by name (which also produces the precise error)."""
    names = []
    for item in items:
        names.append((item, 'sts', STS_PREFIX, sts_record_name(item.domain), item.sts_value))
        if item.manage_tlsrpt:
            names.append((item, 'tlsrpt', TLSRPT_PREFIX, tlsrpt_record_name(item.domain), item.tlsrpt_value))
    answers = primary.query_many([(entry[3], 'TXT') for entry in names], 'reading the TXT records')
    zones = [zone_of_negative_answer(answer, entry[3]) for entry, answer in zip(names, answers)]
    missing = [index for index, zone in enumerate(zones) if zone is None]
    soas = []
    if missing:
        soas = primary.query_many([(names[index][3], 'SOA') for index in missing], 'looking for the zone')
        for index, answer in zip(missing, soas):
            zones[index] = zone_of_negative_answer(answer, names[index][3])
    # The serials these answers already carry: a zone this run leaves alone
    # needs no second question for the result.
    serials = {}
    for answer, zone in list(zip(answers, zones)) + [(answer, zones[index]) for index, answer in zip(missing, soas)]:
        if zone is not None and zone not in serials:
            serial = serial_in_answer(answer, zone)
            if serial is not None:
                serials[zone] = serial
    refused = []
    for (item, kind, prefix, name, value), answer, found in zip(names, answers, zones):
        if item.zone_option:
            zone = primary.find_zone(name, item.zone_option)
            if found is not None and found != zone:
                raise DnsUpdateError('%s is in zone %s on %s, not in zone %s. Fix: set zone to %s, or leave it unset'
                                     % (name, found, primary.where, zone, found))
        else:
            zone = found if found is not None else primary.find_zone(name)
        if item.zone is None:
            item.zone = zone
        elif zone != item.zone:
            raise MtaStsError('%s is in zone %s but %s is in zone %s; one UPDATE cannot change both atomically'
                              % (sts_record_name(item.domain), item.zone, name, zone), domain=item.domain,
                              hint='publish TLS-RPT for this domain in a separate task (tlsrpt_rua unset here)')
        records, current_ttl, cname = primary.txt_of(answer, name, zone)
        if cname:
            # A7: the record is delegated; writing here would be ignored
            # (or break the delegation). The provider owns it.
            refused.append('%s is a CNAME to %s (zone %s): the record is delegated there; %s. '
                           'Fix: publish the record at %s with whoever runs that zone, or remove the CNAME first'
                           % (name, cname, zone, cite('A7'), cname))
            continue
        item.plans.append(plan_txt(name, kind, prefix, records, current_ttl, value, ttl))
    if refused:
        raise MtaStsError('refusing to write, nothing changed:\n- %s' % '\n- '.join(refused))
    return serials


def diff_of(items):
    before = []
    after = []
    for item in items:
        for plan in item.plans:
            if plan.changed:
                before.extend(plan.zone_lines('before'))
                after.extend(plan.zone_lines('after'))
    return {'before': '\n'.join(before) + ('\n' if before else ''),
            'after': '\n'.join(after) + ('\n' if after else ''),
            'before_header': 'TXT records (before)', 'after_header': 'TXT records (after)'}


UPDATE_WINDOW = 64  # UPDATEs written at once on one connection


def send_all(primary, ordered, updates):
    """Send every zone's UPDATEs, pipelined ``UPDATE_WINDOW`` zones at a
    time. A zone whose change needs several messages (a very large batch in
    one zone) sends them in rounds, so they arrive in order; different zones
    never depend on each other. On a refusal, stop and say which zones were
    already updated."""
    done = []
    rounds = max([len(updates[zone]) for zone in ordered] or [0])
    for index in range(rounds):
        batch = [(updates[zone][index], zone) for zone in ordered if len(updates[zone]) > index]
        for start in range(0, len(batch), UPDATE_WINDOW):
            try:
                applied = primary.send_updates(batch[start:start + UPDATE_WINDOW])
            except DnsUpdateError as exc:
                changed = sorted(set(done) | set(getattr(exc, 'changed_zones', None) or []))
                if changed:
                    exc.message += ('. Zones already updated in this run: %s' % ', '.join(changed))
                exc.changed_zones = changed
                raise
            done.extend(zone for zone in applied if zone not in done)
    return done


def publish(params, check_mode):
    """Run the module. Returns the result dict; raises MtaStsError or
    DnsUpdateError (with ``changed_zones`` when some zones were updated)."""
    items = validate_items(params)
    key = make_key(params.get('key_name'), params.get('key_secret'), params.get('key_algorithm'))
    ttl = params.get('ttl')
    primary = Primary(TcpTransport(params['server'], params.get('port') or 53, key, params.get('timeout')))
    try:
        known = plan_items(primary, items, ttl)
        zones = {}
        for item in items:
            zones.setdefault(item.zone, []).append(item)
        ordered = sorted(zones)
        updates = {zone: build_updates(zone, [item.plans for item in zones[zone]], key) for zone in ordered}
        if not check_mode:
            send_all(primary, ordered, updates)
        # Read again only what this run changed (or never saw).
        reread = [zone for zone in ordered if (updates[zone] and not check_mode) or zone not in known]
        known.update(zip(reread, primary.serials(reread)) if reread else ())
        serials = [known[zone] for zone in ordered]
        zone_results = [{
            'zone': zone,
            'changed': bool(updates[zone]),
            'updates': 0 if check_mode else len(updates[zone]),
            'serial': serial,
            'domains': len(zones[zone]),
        } for zone, serial in zip(ordered, serials)]
    finally:
        primary.close()
    changed = any(item.changed for item in items)
    return {
        'changed': changed,
        'domains': [item.result() for item in items],
        'zones': zone_results,
        'updates': sum(z['updates'] for z in zone_results),
        'diff': diff_of(items),
    }


# ---------------------------------------------------------------------------
# The module's task


def run_records(module):
    """The ``records`` module: check the items and options, then
    :func:`publish`. Returns the result; raises TaskFailed."""
    # A secret inside an item is refused below; keep it out of the result too.
    module.no_log_values.update(secrets_in(module.params['domains']))
    if not HAS_DNSPYTHON:
        raise TaskFailed(missing_required_lib('dnspython'), exception=DNSPYTHON_IMPORT_ERROR)
    params = dict(module.params)
    try:
        if params['domains'] is not None:
            params['domains'] = records_items(params['domains'], params)
        params.update(records_connection(params, params['domains'] or [{'domain': params['domain']}]))
        if params['key_algorithm'] not in KEY_ALGORITHMS:
            raise MtaStsError('unknown TSIG algorithm %s' % params['key_algorithm'], field='key_algorithm',
                              hint='use one of %s' % ', '.join(KEY_ALGORITHMS))
        if not 0 <= params['ttl'] <= 2147483647:
            raise MtaStsError('ttl %d is not between 0 and 2147483647 seconds' % params['ttl'], field='ttl')
        result = publish(params, module.check_mode)
    except MtaStsError as exc:
        raise TaskFailed(str(exc), rule=exc.rule) from None
    except DnsUpdateError as exc:
        raise TaskFailed(exc.message, changed=bool(exc.changed_zones), updated_zones=exc.changed_zones) from None
    diff = result.pop('diff')
    if module._diff:
        result['diff'] = diff
    return result
