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
# dns_provider: these two, or the path of a task file (any other provider).
DNS_PROVIDERS = ('rfc2136', 'none')
TASK_FILE_SUFFIXES = ('.yml', '.yaml')


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
_DNS = (RECORDS, PLAYBOOKS)

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
    Key('dns_provider', _DNS, 'rfc2136 (default), none (print the records), or a task file for another provider'),
    Key('dns_server', _DNS, 'rfc2136: the primary name server that takes the updates'),
    Key('dns_port', _DNS, 'rfc2136: its TCP port (default 53)'),
    Key('dns_key_name', _DNS, 'rfc2136: the TSIG key name (the secret stays in a vaulted variable)'),
    Key('dns_key_algorithm', _DNS, 'rfc2136: the TSIG algorithm (default hmac-sha256)'),
    Key('zone', _DNS, 'the DNS zone holding the records (default: found from the SOA)'),
    Key('policy', (VERIFY,), 'verify: the exact policy text that must be served'),
    Key('derived_id', (VERIFY,), 'verify: the TXT id must be the one derived from the served bytes'),
)}

# Keys that must never sit in an item: items are logged by Ansible as plain
# module arguments, so a secret there would end up in logs and results.
SECRET_KEYS = {
    'dns_key_secret': 'the TSIG secret belongs in a vaulted variable, never in a domain item '
                      '(items are logged as plain data): give it as key_secret of mailsec.mta_sts.records, '
                      'or as mta_sts_dns_key_secrets[<dns_key_name>] for the collection playbooks',
    'key_secret': 'the TSIG secret belongs in a vaulted variable, never in a domain item '
                  '(items are logged as plain data): give it as key_secret of mailsec.mta_sts.records',
}


def keys_for(consumer):
    """The names of the keys ``consumer`` reads, in documentation order."""
    return [name for name, key in KEYS.items() if consumer in key.consumers]


def closest_key(name):
    """The valid key most like ``name`` (a typo), or None."""
    # Case and dashes first (MX, max-age), then spelling.
    plain = str(name).strip().lower().replace('-', '_').replace(' ', '_')
    if plain in KEYS:
        return plain
    matches = difflib.get_close_matches(plain, list(KEYS), n=1, cutoff=0.6)
    return matches[0] if matches else None


def check_item(item, consumer, field):
    """Check one domain item for ``consumer`` and return the part it reads.

    ``field`` names the item in messages (``policies[3]``). Refuses what is
    wrong for every consumer alike: not a dict, no domain, a key nobody
    reads (naming the closest valid one), a secret, a value outside a fixed
    set of choices. The consumer checks the values of its own keys.
    """
    if consumer not in CONSUMERS:
        raise ValueError('unknown consumer %r' % (consumer,))
    if not isinstance(item, dict):
        raise MtaStsError('must be a dict with a "domain" key (a domain item), not %s' % type(item).__name__,
                          field=field, hint='see docs/inventory.md for the keys of a domain item')
    domain = item.get('domain') if isinstance(item.get('domain'), str) else None
    where = field
    for name in item:
        if name in KEYS:
            continue
        if name in SECRET_KEYS:
            raise MtaStsError('"%s" is refused in a domain item' % name, domain=domain, field=where,
                              hint=SECRET_KEYS[name])
        close = closest_key(name)
        if close:
            raise MtaStsError('unknown key "%s" (did you mean "%s"?)' % (name, close), domain=domain, field=where,
                              hint='rename "%s" to "%s" (docs/inventory.md lists every key of a domain item)'
                                   % (name, close))
        raise MtaStsError('unknown key "%s"' % name, domain=domain, field=where,
                          hint='a domain item has the keys %s (docs/inventory.md)' % ', '.join(KEYS))
    if not isinstance(domain, str) or not domain.strip():
        raise MtaStsError('has no "domain"', field=where, hint='give the mail domain, e.g. domain: example.com')
    for name, key in KEYS.items():
        value = item.get(name)
        if key.choices and value is not None and value not in key.choices:
            raise MtaStsError('%s is "%s", not one of %s' % (name, value, ', '.join(key.choices)), domain=domain,
                              field='%s.%s' % (where, name) if where else name,
                              hint='set %s to one of %s' % (name, ', '.join(key.choices)))
    provider = item.get('dns_provider')
    if provider is not None and not is_dns_provider(provider):
        raise MtaStsError('dns_provider is "%s": not rfc2136, none or a task file' % provider, domain=domain,
                          field='%s.dns_provider' % where if where else 'dns_provider',
                          hint='use rfc2136, none, or the path of a task file ending in .yml '
                               '(see "Other DNS providers" in docs/inventory.md)')
    return {name: value for name, value in item.items() if consumer in KEYS[name].consumers}


def is_dns_provider(value):
    """rfc2136, none, or a path that names a task file."""
    if not isinstance(value, str):
        return False
    return value in DNS_PROVIDERS or value.endswith(TASK_FILE_SUFFIXES)


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


# The records module's connection options and the item keys that set them.
_RECORDS_DNS_OPTIONS = (('server', 'dns_server'), ('port', 'dns_port'), ('key_name', 'dns_key_name'),
                        ('key_algorithm', 'dns_key_algorithm'))


def records_connection(params, items):
    """The records module's server, port, key name and algorithm, with the
    items' ``dns_*`` keys applied (an item's key overrides the task option of
    the same name, as ``zone`` does). One task talks to one primary, so every
    item must come out the same; a domain published elsewhere
    (``dns_provider`` none or a task file) does not belong in the task.
    Returns the options as a dict; raises MtaStsError naming the domains."""
    errors = []
    for index, item in enumerate(items):
        provider = item.get('dns_provider') or 'rfc2136'
        if provider != 'rfc2136':
            errors.append('%s, domains[%d]: dns_provider is %s, so mailsec.mta_sts.records must not publish it. '
                          'Fix: pass only the rfc2136 domains, e.g. domains: "{{ items | '
                          'rejectattr(\'dns_provider\', \'in\', [\'none\']) }}", or let the deploy playbook '
                          'choose per domain' % (item.get('domain'), index, provider))
    settings = {}
    for option, key in _RECORDS_DNS_OPTIONS:
        seen = {}
        for item in items:
            value = item.get(key)
            if value is None:
                value = params.get(option)
            if option == 'port' and value is not None:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    errors.append('%s: dns_port %r is not a port number' % (item.get('domain'), value))
                    continue
            seen.setdefault(value, []).append(str(item.get('domain')))
        if len(seen) > 1:
            groups = '; '.join('%s for %s' % (value if value is not None else '(unset)', ', '.join(domains))
                               for value, domains in seen.items())
            errors.append('one task publishes through one primary, but %s differs between the domains (%s). '
                          'Fix: publish each %s in its own task (the deploy playbook groups them)'
                          % (key, groups, key))
            continue
        settings[option] = next(iter(seen)) if seen else params.get(option)
    if errors:
        raise MtaStsError('cannot publish these domains in one task, nothing changed:\n- %s' % '\n- '.join(errors))
    if not settings.get('server'):
        raise MtaStsError('no DNS server to publish to', field='server',
                          hint='set server (the zone\'s primary), or dns_server on the domain items')
    if settings.get('key_name') and not params.get('key_secret'):
        raise MtaStsError('TSIG key %s has no secret' % settings['key_name'], field='key_secret',
                          hint='set key_secret from a vaulted variable')
    if params.get('key_secret') and not settings.get('key_name'):
        raise MtaStsError('key_secret is set but no key name', field='key_name',
                          hint='set key_name (or dns_key_name on the domain items) to the TSIG key name')
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
    for item in require_items(items, RECORDS, 'domains'):
        if (item.get('state') or params.get('state') or 'present') == 'absent':
            item = {key: value for key, value in item.items() if key != 'tlsrpt_rua'}
        elif params.get('policy_id') is None:
            item = with_policy_id(item)
        out.append(item)
    return out
