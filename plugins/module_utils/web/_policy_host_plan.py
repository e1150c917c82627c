# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Plan a policy host before anything changes on it.

From the domain items of an inventory (``policy_host_domains``), work out on
the controller, in one pass:

* the policy of each domain, validated and normalised exactly as the
  ``policy`` module will write it (every error of every domain is collected,
  so one run lists them all and nothing changes);
* which certificate serves which ``mta-sts.<domain>`` name: one group per
  distinct certificate/key pair given as files, and batches of at most
  ``san_limit`` names for certificates the host makes itself (ACME or
  self-signed). Each group says its ``source`` in a field of its own.

Used by the ``policy_host_plan`` filter (the ``policy_host`` role's
preflight). Private module of the mailsec.mta_sts collection; standard
library only.
"""

from __future__ import annotations

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import CERT_SOURCES, ROLE, check_items
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import DEFAULT_MAX_AGE
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._policy_files import plan_many

# Sources whose certificates the host makes itself, in the order they are made.
GENERATED_SOURCES = ('selfsigned', 'acme')
# The keys of a domain item that shape its policy file.
POLICY_KEYS = ('domain', 'mode', 'mx', 'max_age', 'policy_id', 'state')


class PlanError(ValueError):
    """Every problem found in the domain items; nothing may change."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('%d problem(s) in the domain list, nothing changed:\n- %s'
                         % (len(self.problems), '\n- '.join(self.problems)))


def policy_specs(domains):
    """The policy part of each domain item (what the ``policy`` module takes)."""
    specs = []
    for item in domains:
        spec = {key: item[key] for key in POLICY_KEYS if item.get(key) is not None}
        spec.setdefault('max_age', DEFAULT_MAX_AGE)
        specs.append(spec)
    return specs


def _group_files(entries, problems):
    """One group per distinct (certificate, key) pair, in order of first use."""
    groups = {}
    for name, cert, key in entries:
        missing = [field for field, value in (('cert_file', cert), ('key_file', key)) if not value]
        if missing:
            problems.append('%s: cert_source files needs %s: set it on the domain, or the default for '
                            'every domain (one SAN or wildcard certificate for many)'
                            % (name[len('mta-sts.'):], ' and '.join(missing)))
            continue
        group = groups.get((cert, key))
        if group is None:
            group = {'id': 'files-%04d' % len(groups), 'source': 'files', 'cert': cert, 'key': key, 'names': []}
            groups[(cert, key)] = group
        group['names'].append(name)
    return list(groups.values())


def _group_generated(source, names, cert_dir, san_limit):
    groups = []
    for index, start in enumerate(range(0, len(names), san_limit)):
        group_id = '%s-%04d' % (source, index)
        base = '%s/%s' % (cert_dir.rstrip('/'), group_id)
        groups.append({'id': group_id, 'source': source, 'cert': base + '.crt', 'key': base + '.key',
                       'names': names[start:start + san_limit]})
    return groups


def plan_policy_host(domains, cert_source='acme', cert_file='', key_file='', cert_dir='/var/lib/mta-sts/certs',
                     san_limit=100, option='policy_host_domains'):
    """Plan the policies and certificate groups of a policy host.

    ``domains`` is a list of domain items in the collection's one inventory
    shape (``model/_inventory.py``): keys of other consumers pass, a typo is
    refused naming the closest key; ``option`` names the list in messages.
    Each item may override ``cert_source``, ``cert_file`` and ``key_file``. Returns ``{'policies': [...], 'groups':
    [...]}``: ``policies`` are the items' policy keys (for the ``policy``
    module), ``groups`` are ``{id, source, cert, key, names}`` for every
    certificate the served names need (domains with ``state: absent`` need
    none). Raises :class:`PlanError` listing every problem.
    """
    problems = []
    if not isinstance(domains, (list, tuple)):
        raise PlanError(['the domain list must be a list of items with a domain, got %s' % type(domains).__name__])
    if cert_source not in CERT_SOURCES:
        problems.append('cert_source %r is not one of %s' % (cert_source, ', '.join(CERT_SOURCES)))
    try:
        san_limit = int(san_limit)
    except (TypeError, ValueError):
        san_limit = 0
    if san_limit < 1:
        problems.append('the SAN limit must be a whole number of 1 or more')
    domains, errors = check_items(domains, ROLE, option)
    problems.extend(errors)
    if problems:
        raise PlanError(problems)

    specs = policy_specs(domains)
    planned, errors = plan_many(specs, lambda domain: None)
    if errors:
        raise PlanError(errors)

    files = []
    generated = {source: [] for source in GENERATED_SOURCES}
    for item, policy in zip(domains, planned):
        if policy.state != 'present':
            continue
        name = 'mta-sts.' + policy.domain
        source = item.get('cert_source') or cert_source  # an item's value was checked by check_items
        if source == 'files':
            files.append((name, item.get('cert_file') or cert_file, item.get('key_file') or key_file))
        else:
            generated[source].append(name)
    groups = _group_files(files, problems)
    if problems:
        raise PlanError(problems)
    for source in GENERATED_SOURCES:
        groups.extend(_group_generated(source, generated[source], cert_dir, san_limit))
    return {'policies': specs, 'groups': groups}
