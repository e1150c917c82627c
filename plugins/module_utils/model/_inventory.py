# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one inventory shape: a domain item, and which consumer reads which key.

One list of domain items feeds the ``policy`` module (``policies``), the
``records`` module (``domains``), the ``verify`` module (``domains``), the
``policy_host`` role (``policy_host_domains``) and the collection playbooks.
Each consumer takes the keys it needs and passes over the keys that belong to
the others, so the same list is accepted everywhere as it stands; a key that
belongs to nobody is a typo and is refused, naming the closest valid key.

docs/inventory.md documents the same table for users; a unit test keeps the
two in step. Private module of the mailsec.mta_sts collection; standard
library only (it runs on managed hosts, in the ``policy`` module).
"""

from __future__ import annotations

import difflib

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    DEFAULT_MAX_AGE,
    build_policy,
    policy_id,
    render_policy,
)

# The consumers of a domain item. ``deploy`` stands for the collection
# playbooks (deploy, verify, retire), which choose how records are published.
POLICY = 'policy'
RECORDS = 'records'
VERIFY = 'verify'
ROLE = 'policy_host'
PLAYBOOKS = 'deploy'
CONSUMERS = (POLICY, RECORDS, VERIFY, ROLE, PLAYBOOKS)

CERT_SOURCES = ('acme', 'files', 'selfsigned')
STATES = ('present', 'absent')
# dns.provider: the records module, nothing (print the records for a
# person), or the user's own task file (dns.tasks) for any other provider.
DNS_PROVIDERS = ('rfc2136', 'none', 'tasks')


class Key:
    """One key of a domain item: who reads it, and a one-line summary."""

    __slots__ = ('name', 'consumers', 'summary', 'choices')

    def __init__(self, name, consumers, summary, choices=None):
        self.name = name
        self.consumers = frozenset(consumers)
        self.summary = summary
        self.choices = choices


_ALL = CONSUMERS
# records reads the policy keys too: without a pinned policy_id it derives
# the id from them, exactly as the policy module does.
_DESIRED = (POLICY, RECORDS, VERIFY, ROLE, PLAYBOOKS)

# In the order docs/inventory.md lists them.
KEYS = {key.name: key for key in (
    Key('domain', _ALL, 'the mail domain (not the mta-sts. host name); required'),
    Key('state', (POLICY, RECORDS, ROLE, PLAYBOOKS), 'present (default) or absent', STATES),
    Key('mode', _DESIRED, 'enforce, testing or none; for verify, the mode expected'),
    Key('mx', _DESIRED, 'MX host names or *.suffix patterns; for verify, the patterns expected'),
    Key('max_age', _DESIRED, 'seconds senders cache the policy (default 604800)'),
    Key('policy_id', _DESIRED, 'pin the TXT id instead of deriving it from the policy bytes'),
    Key('tlsrpt_rua', (RECORDS, VERIFY, PLAYBOOKS), 'TLS-RPT report URIs (mailto: or https:); [] removes the record'),
    Key('cert_source', (ROLE, PLAYBOOKS), 'acme, files or selfsigned (overrides policy_host_cert_source)',
        CERT_SOURCES),
    Key('cert_file', (ROLE, PLAYBOOKS), 'with cert_source files: the certificate (PEM, full chain)'),
    Key('key_file', (ROLE, PLAYBOOKS), 'with cert_source files: its private key'),
    Key('dns', (RECORDS, PLAYBOOKS), 'how the TXT records are published (a dict, keys below)'),
    Key('zone', (RECORDS,), 'records: the zone of the records, as dns.zone (kept for the records module)'),
    Key('policy', (VERIFY,), 'verify: the exact policy text that must be served'),
    Key('derived_id', (VERIFY,), 'verify: the TXT id must be the one derived from the served bytes'),
)}

# The keys of ``dns``. An item's ``dns`` overrides the playbooks' group-wide
# ``mta_sts_dns`` key by key; the records module applies the connection keys
# over its own options of the same name.
DNS_KEYS = {
    'provider': 'rfc2136 (the records module), none (the records are printed) or tasks (dns.tasks)',
    'server': 'rfc2136: the primary name server that takes the updates',
    'port': 'rfc2136: its TCP port (default 53)',
    'key_name': 'rfc2136: the TSIG key name',
    'key_secret': 'rfc2136: the TSIG secret, from the vault (playbooks only; see SECRET_HINT)',
    'key_algorithm': 'rfc2136: the TSIG algorithm (default hmac-sha256)',
    'zone': 'the zone that holds the records (default: found from the SOA)',
    'ttl': 'TTL of the TXT records (default 300)',
    'timeout': 'rfc2136: seconds to wait for the server',
    'tasks': 'tasks: the path of your task file that publishes the records',
    'vars': "tasks: your task file's own settings (a dict, not checked: zone ids, API endpoints, ...)",
}
# What the records module takes from dns, over its own option of the same name.
RECORDS_DNS_OPTIONS = ('server', 'port', 'key_name', 'key_algorithm', 'ttl', 'timeout')

# A module logs its arguments (syslog, -vvv) before it can hide anything in
# a list of dicts, so a module refuses an item that carries a secret. The
# collection playbooks read dns.key_secret themselves and hand it to the
# records module's no_log option.
SECRET_HINT = ('a module would log the secret with the item: keep it in the vault and give it as '
               'key_secret of mailsec.mta_sts.records, or as mta_sts_dns.key_secret (or this item\'s '
               'dns.key_secret) for the collection playbooks, which never pass it inside an item')


def keys_for(consumer):
    """The names of the keys ``consumer`` reads, in documentation order."""
    return [name for name, key in KEYS.items() if consumer in key.consumers]


def closest_key(name, valid=None):
    """The valid key most like ``name`` (a typo), or None."""
    valid = list(KEYS if valid is None else valid)
    # Case and dashes first (MX, max-age), then spelling.
    plain = str(name).strip().lower().replace('-', '_').replace(' ', '_')
    if plain in valid:
        return plain
    matches = difflib.get_close_matches(plain, valid, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown(name, valid, prefix, domain, where):
    close = closest_key(name, valid)
    if close:
        return MtaStsError('unknown key "%s%s" (did you mean "%s%s"?)' % (prefix, name, prefix, close),
                           domain=domain, field=where,
                           hint='rename "%s%s" to "%s%s" (docs/inventory.md lists every key of a domain item)'
                                % (prefix, name, prefix, close))
    return MtaStsError('unknown key "%s%s"' % (prefix, name), domain=domain, field=where,
                       hint='a domain item%s has the keys %s (docs/inventory.md)'
                            % ("'s dns" if prefix else '', ', '.join(valid)))


def _field(where, name):
    return '%s.%s' % (where, name) if where else name


def check_item(item, consumer, field):
    """Check one domain item for ``consumer`` and return the part it reads.

    ``field`` names the item in messages (``policies[3]``). Refuses what is
    wrong for every consumer alike: not a dict, no domain, a key nobody
    reads (naming the closest valid one), a value outside a fixed set of
    choices, and, in a module, a secret. The consumer checks the values of
    its own keys.
    """
    if consumer not in CONSUMERS:
        raise ValueError('unknown consumer %r' % (consumer,))
    if not isinstance(item, dict):
        raise MtaStsError('must be a dict with a "domain" key (a domain item), not %s' % type(item).__name__,
                          field=field, hint='see docs/inventory.md for the keys of a domain item')
    domain = item.get('domain') if isinstance(item.get('domain'), str) else None
    for name in item:
        if name not in KEYS:
            raise _unknown(name, KEYS, '', domain, field)
    if not isinstance(domain, str) or not domain.strip():
        raise MtaStsError('has no "domain"', field=field, hint='give the mail domain, e.g. domain: example.com')
    for name, key in KEYS.items():
        value = item.get(name)
        if key.choices and value is not None and value not in key.choices:
            raise MtaStsError('%s is "%s", not one of %s' % (name, value, ', '.join(key.choices)), domain=domain,
                              field=_field(field, name), hint='set %s to one of %s' % (name, ', '.join(key.choices)))
    if item.get('dns') is not None:
        check_dns(item['dns'], domain, _field(field, 'dns'), allow_secret=consumer == PLAYBOOKS)
    return {name: value for name, value in item.items() if consumer in KEYS[name].consumers}


def secrets_in(items):
    """The TSIG secrets found in items (``dns.key_secret``), for a module to
    add to its no_log values before it refuses them, so that its result does
    not show them either."""
    found = set()
    for item in items or ():
        dns = item.get('dns') if isinstance(item, dict) else None
        if isinstance(dns, dict) and dns.get('key_secret'):
            found.add(str(dns['key_secret']))
    return found


def check_dns(dns, domain, where, allow_secret=False):
    """Check the ``dns`` dict of an item (or the playbooks' ``mta_sts_dns``)."""
    if not isinstance(dns, dict):
        raise MtaStsError('must be a dict (provider, server, key_name, ...), not %s' % type(dns).__name__,
                          domain=domain, field=where, hint='see "DNS" in docs/inventory.md')
    for name in dns:
        if name not in DNS_KEYS:
            raise _unknown(name, DNS_KEYS, 'dns.', domain, where)
    if dns.get('key_secret') is not None and not allow_secret:
        raise MtaStsError('dns.key_secret is refused here', domain=domain, field=_field(where, 'key_secret'),
                          hint=SECRET_HINT)
    provider = dns.get('provider')
    if provider is not None and provider not in DNS_PROVIDERS:
        raise MtaStsError('dns.provider is "%s", not one of %s' % (provider, ', '.join(DNS_PROVIDERS)),
                          domain=domain, field=_field(where, 'provider'),
                          hint='use rfc2136, none, or tasks with dns.tasks the path of your task file '
                               '(see "Other DNS providers" in docs/inventory.md)')
    if dns.get('vars') is not None and not isinstance(dns['vars'], dict):
        raise MtaStsError('dns.vars must be a dict (your task file\'s own settings)', domain=domain,
                          field=_field(where, 'vars'), hint='for example vars: {zone_id: Z123}')
    if provider == 'tasks' and not dns.get('tasks'):
        raise MtaStsError('dns.provider tasks needs dns.tasks', domain=domain, field=_field(where, 'tasks'),
                          hint='set dns.tasks to the path of the task file that publishes the records')


def check_items(items, consumer, option):
    """Check a list of items. Returns ``(checked, errors)``: the part of each
    good item that ``consumer`` reads (None in the place of a bad item, so
    indexes stay aligned) and one message per bad item."""
    checked = []
    errors = []
    if items is None:
        return checked, errors
    for index, item in enumerate(items):
        try:
            checked.append(check_item(item, consumer, '%s[%d]' % (option, index)))
        except MtaStsError as exc:
            checked.append(None)
            errors.append(str(exc))
    return checked, errors


def require_items(items, consumer, option):
    """check_items, raising one MtaStsError that lists every bad item."""
    checked, errors = check_items(items, consumer, option)
    if errors:
        raise MtaStsError('%d invalid domain item%s in %s, nothing changed:\n- %s'
                          % (len(errors), '' if len(errors) == 1 else 's', option, '\n- '.join(errors)))
    return checked


def records_connection(params, items):
    """The records module's connection options (server, port, key_name,
    key_algorithm, ttl, timeout), with each item's ``dns`` applied over the
    task's options, as an item's ``zone`` or ``policy_id`` is. One task
    talks to one primary, so every item must come out the same; a domain
    published another way (``dns.provider`` none or tasks) does not belong in
    the task. Returns the options as a dict; raises MtaStsError naming the
    domains."""
    errors = []
    for index, item in enumerate(items):
        provider = (item.get('dns') or {}).get('provider') or 'rfc2136'
        if provider != 'rfc2136':
            errors.append('%s, domains[%d]: dns.provider is %s, so mailsec.mta_sts.records must not publish it. '
                          'Fix: pass only the domains published over RFC 2136, or let the collection\'s deploy '
                          'playbook choose per domain' % (item.get('domain'), index, provider))
    settings = {}
    for option in RECORDS_DNS_OPTIONS:
        seen = {}
        for item in items:
            value = (item.get('dns') or {}).get(option)
            if value is None:
                value = params.get(option)
            if option in ('port', 'ttl') and value is not None:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    errors.append('%s: dns.%s %r is not a whole number' % (item.get('domain'), option, value))
                    continue
            seen.setdefault(value, []).append(str(item.get('domain')))
        if len(seen) > 1:
            groups = '; '.join('%s for %s' % (value if value is not None else '(unset)', ', '.join(domains))
                               for value, domains in seen.items())
            errors.append('one task publishes through one primary, but dns.%s differs between the domains (%s). '
                          'Fix: publish each group in its own task (the deploy playbook does)' % (option, groups))
            continue
        settings[option] = next(iter(seen)) if seen else params.get(option)
    if errors:
        raise MtaStsError('cannot publish these domains in one task, nothing changed:\n- %s' % '\n- '.join(errors))
    if not settings.get('server'):
        raise MtaStsError('no DNS server to publish to', field='server',
                          hint='set server (the zone\'s primary), or dns.server on the domain items')
    if settings.get('key_name') and not params.get('key_secret'):
        raise MtaStsError('TSIG key %s has no secret' % settings['key_name'], field='key_secret',
                          hint='set key_secret from a vaulted variable')
    if params.get('key_secret') and not settings.get('key_name'):
        raise MtaStsError('key_secret is set but no key name', field='key_name',
                          hint='set key_name (or dns.key_name on the domain items) to the TSIG key name')
    return settings


def with_policy_id(item):
    """The item with its ``policy_id``: the pinned one, or the id derived
    from the policy its ``mode``, ``mx`` and ``max_age`` render (the same
    bytes the policy module writes, so the same id). Items that are absent,
    pin an id or carry no mode come back unchanged."""
    if item.get('policy_id') is not None or item.get('mode') is None or (item.get('state') or 'present') != 'present':
        return item
    max_age = item.get('max_age')
    domain, mode, mx, max_age = build_policy(item['domain'], item['mode'], item.get('mx'),
                                             DEFAULT_MAX_AGE if max_age is None else max_age)
    return dict(item, policy_id=policy_id(render_policy(mode, mx, max_age, domain)))


def records_items(items, params):
    """The records module's items: checked, with derived ids (unless the
    task pins ``policy_id``), and without ``tlsrpt_rua`` when absent, since
    removing a domain removes both records whatever URIs the inventory
    still lists for it."""
    out = []
    for index, item in enumerate(require_items(items, RECORDS, 'domains')):
        zone = (item.get('dns') or {}).get('zone')
        if zone is not None:
            if item.get('zone') not in (None, zone):
                raise MtaStsError('zone %s and dns.zone %s differ' % (item['zone'], zone), domain=item['domain'],
                                  field='domains[%d].zone' % index, hint='give the zone once, as dns.zone')
            item = dict(item, zone=zone)
        if (item.get('state') or params.get('state') or 'present') == 'absent':
            item = {key: value for key, value in item.items() if key != 'tlsrpt_rua'}
        elif params.get('policy_id') is None:
            item = with_policy_id(item)
        out.append(item)
    return out
