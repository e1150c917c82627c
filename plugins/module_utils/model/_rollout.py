# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rollout plan of the deploy and retire playbooks.

Pure functions, no I/O: from the inventory's domains, the rollout state kept
on the policy hosts and the time, compute what every policy host serves,
which records are published, what the new state is and what to tell the
user. The playbooks read the state files, call :func:`plan_rollout`
(through the ``rollout_plan`` filter) and act on the result.

Rules this module carries (docs/playbooks.md explains them):

- the policy is served before its id is published (E2); the plan gives the
  exact bytes so that the playbook can wait until every address serves them;
- a retired domain first serves ``mode: none`` with a short ``max_age`` and a
  new id, and its records and policy file are removed only once the largest
  ``max_age`` ever served has passed since that id was published (E4);
- an MX removed from the inventory stays in the served policy until the
  largest ``max_age`` served has passed since the removal was first seen, so
  that no sender holding the old MX set meets a policy that leaves it out.

Private module of the mailsec.mta_sts collection; standard library only.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import (
    PLAYBOOKS,
    check_dns,
    check_item,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    DEFAULT_MAX_AGE,
    normalize_domain,
    normalize_mx_patterns,
    policy_id as derive_policy_id,
    render_policy,
    validate_max_age,
    validate_mode,
    validate_policy_id,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import validate_rua

STATE_VERSION = 1
DEFAULT_RETIRE_MAX_AGE = 86400
DNS_PROVIDERS = ('rfc2136', 'none', 'tasks')
# The settings of the rfc2136 provider, passed to mailsec.mta_sts.records.
RFC2136_SETTINGS = ('server', 'port', 'key_name', 'key_secret', 'key_algorithm', 'zone', 'ttl', 'timeout')
# Never copied into the plan (it is shown with -v): the playbook reads the
# secret from the inventory where the plan says it is.
SECRET_KEYS = ('key_secret',)
# The keys of a domain item that the policy_host role takes.
ROLE_KEYS = ('domain', 'mode', 'mx', 'max_age', 'policy_id', 'cert_source', 'cert_file', 'key_file')
_ISO_RE = re.compile(r'^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$')


# ---------------------------------------------------------------------------
# Time


def parse_now(value):
    """``mta_sts_now``: epoch seconds (int, float or digits) or an ISO 8601
    date/time (UTC when no offset is given). Returns whole epoch seconds."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.match(r'^\d+(\.\d+)?$', text):
            return int(float(text))
        if _ISO_RE.match(text):
            parsed = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
            return int(parsed.timestamp())
    raise MtaStsError('%r is neither epoch seconds nor an ISO 8601 date and time' % (value,),
                      field='mta_sts_now', hint='use for example 1764547200 or 2026-12-01T00:00:00Z')


def iso(epoch):
    """Epoch seconds as an ISO 8601 UTC time, for messages."""
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def duration(seconds):
    """A short human duration: 3d 4h, 5h 10m, 42s."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return '%dd %dh' % (days, hours)
    if hours:
        return '%dh %dm' % (hours, minutes)
    if minutes:
        return '%dm %ds' % (minutes, secs)
    return '%ds' % secs


# ---------------------------------------------------------------------------
# State kept on the policy hosts


def empty_state():
    return {'version': STATE_VERSION, 'domains': {}}


def _later(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _earlier(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _merge_domain(a, b):
    """Two hosts' views of one domain, merged so that every wait is at least
    as long as either host says (later removal times, larger max_age)."""
    out = dict(a)
    out['max_age_largest'] = max(a.get('max_age_largest', 0), b.get('max_age_largest', 0))
    # The newer view of what is served and published wins.
    for key, stamp in (('served', 'since'), ('published', 'at')):
        if (b.get(key) or {}).get(stamp, -1) > (a.get(key) or {}).get(stamp, -1):
            out[key] = b[key]
    mx = {}
    for name in sorted(set(a.get('mx', {})) | set(b.get('mx', {}))):
        left, right = a.get('mx', {}).get(name), b.get('mx', {}).get(name)
        if left is None or right is None:
            mx[name] = dict(left or right)
            continue
        mx[name] = {
            'since': _earlier(left.get('since'), right.get('since')),
            'removal_requested': _later(left.get('removal_requested'), right.get('removal_requested')),
        }
    out['mx'] = mx
    ra, rb = a.get('retire'), b.get('retire')
    if ra or rb:
        if not (ra and rb):
            out['retire'] = dict(ra or rb)
        else:
            out['retire'] = {
                'started_at': _later(ra.get('started_at'), rb.get('started_at')),
                'published_at': _later(ra.get('published_at'), rb.get('published_at')),
                'max_age_largest': max(ra.get('max_age_largest', 0), rb.get('max_age_largest', 0)),
                'removed_at': ra.get('removed_at') if rb.get('removed_at') is None
                else (rb.get('removed_at') if ra.get('removed_at') is None else None),
            }
    return out


def merge_states(states):
    """The state files read from the policy hosts (a missing or unreadable
    file is ``None`` or ``{}``), merged into one."""
    merged = empty_state()
    for state in states or ():
        if not state:
            continue
        if not isinstance(state, dict) or state.get('version') != STATE_VERSION \
                or not isinstance(state.get('domains'), dict):
            raise MtaStsError('the rollout state file is not a version %d state (%r...)'
                              % (STATE_VERSION, str(state)[:60]), field='mta_sts_state_file',
                              hint='restore it from another policy host, or remove it to start afresh '
                                   '(the waits for retirement and MX removal then start again)')
        for domain, entry in state['domains'].items():
            if domain in merged['domains']:
                merged['domains'][domain] = _merge_domain(merged['domains'][domain], entry)
            else:
                merged['domains'][domain] = dict(entry)
    return merged


# ---------------------------------------------------------------------------
# Inputs


def _dns_settings(item, default, index, errors):
    settings = dict(default or {})
    own = item.get('dns')
    if own is not None and not isinstance(own, dict):
        errors.append('%s: dns must be a dict (provider, server, ...)' % item.get('domain'))
        own = {}
    settings.update(own or {})
    settings.setdefault('provider', 'rfc2136' if settings.get('server') else 'none')
    provider = settings['provider']
    where = item.get('domain')
    if provider not in DNS_PROVIDERS:
        errors.append('%s: dns.provider %r is not one of %s' % (where, provider, ', '.join(DNS_PROVIDERS)))
    elif provider == 'rfc2136' and not settings.get('server'):
        errors.append('%s: dns.provider rfc2136 needs dns.server (the zone primary) and a TSIG key '
                      '(dns.key_name, dns.key_secret from the vault)' % where)
    elif provider == 'tasks' and not settings.get('tasks'):
        errors.append('%s: dns.provider tasks needs dns.tasks, the path of your task file' % where)
    # Where the TSIG secret lives: this item's own dns, or the group default.
    secret_from = index if own and any(k in own for k in SECRET_KEYS) else -1
    public = {k: v for k, v in settings.items() if k not in SECRET_KEYS}
    public['has_secret'] = any(settings.get(k) for k in SECRET_KEYS)
    return public, secret_from


def _check_item(item, index, errors):
    field = 'mta_sts_domains[%d]' % index
    try:
        # The one inventory shape: unknown keys (typos) refused, naming the closest.
        check_item(item, PLAYBOOKS, field)
    except MtaStsError as exc:
        errors.append(str(exc))
        return None
    try:
        domain = normalize_domain(item['domain'])
        if item.get('state', 'present') != 'present':
            raise MtaStsError('state %r is not used by the playbooks' % item['state'], domain=domain,
                              field='state', hint='list the domain in mta_sts_retire and run '
                                                  'mailsec.mta_sts.retire (RFC 8461 section 8.3)')
        mode = validate_mode(item.get('mode'), domain)
        mx = normalize_mx_patterns(item.get('mx'), domain)
        if mode != 'none' and not mx:
            raise MtaStsError('mode %s needs at least one mx pattern' % mode, rule='B5', domain=domain,
                              field='mx', hint='list every MX host of the domain')
        max_age = validate_max_age(item.get('max_age', DEFAULT_MAX_AGE), domain)
        pinned = item.get('policy_id')
        if pinned is not None:
            validate_policy_id(str(pinned), domain)
        rua = item.get('tlsrpt_rua')
        if rua is not None:
            rua = [rua] if isinstance(rua, str) else list(rua)
            rua = [validate_rua(uri, domain) for uri in rua]
    except MtaStsError as exc:
        errors.append(str(MtaStsError(exc.message, rule=exc.rule, domain=exc.domain,
                                      field='%s.%s' % (field, exc.field) if exc.field else field, hint=exc.hint)))
        return None
    return {'domain': domain, 'mode': mode, 'mx': mx, 'max_age': max_age,
            'policy_id': str(pinned) if pinned is not None else None, 'tlsrpt_rua': rua}


def _names(values, what, errors):
    out = []
    for value in values or ():
        try:
            out.append(normalize_domain(value))
        except MtaStsError as exc:
            errors.append('%s: %s' % (what, exc))
    return out


# ---------------------------------------------------------------------------
# The plan


def _policy(domain, mode, mx, max_age, pinned):
    text = render_policy(mode, mx, max_age, domain)
    return {'domain': domain, 'mode': mode, 'mx': list(mx), 'max_age': max_age, 'text': text,
            'policy_id': pinned or derive_policy_id(text)}


def _plan_mx(domain, wanted, entry, now, max_age_largest, force, notes):
    """MX history: returns (the mx list to serve, the new history)."""
    history = {name: dict(value) for name, value in (entry.get('mx') or {}).items()}
    served_before = (entry.get('served') or {}).get('mx') or []
    serve = list(wanted)
    for name in wanted:
        if name not in history:
            history[name] = {'since': now, 'removal_requested': None}
            if entry:
                notes.append({'domain': domain, 'kind': 'mx_added', 'mx': name,
                              'message': '%s: %s is added to the policy; it is served first, the MX record '
                                         'is your next step: %s. MX <preference> %s.' % (domain, name, domain, name)})
        else:
            history[name]['removal_requested'] = None
    # Names served before come first, in the order they were served.
    dropped = [n for n in served_before if n in history and n not in wanted]
    dropped += sorted(n for n in history if n not in wanted and n not in dropped)
    for name in dropped:
        record = history[name]
        if record.get('removal_requested') is None:
            record['removal_requested'] = now
        allowed = record['removal_requested'] + max_age_largest
        if now >= allowed or force:
            del history[name]
            notes.append({'domain': domain, 'kind': 'mx_dropped', 'mx': name,
                          'message': '%s: %s is no longer in the policy (%s)' % (
                              domain, name, 'forced' if now < allowed else
                              'max_age %ds passed since its removal' % max_age_largest)})
        else:
            serve.append(name)
            notes.append({'domain': domain, 'kind': 'mx_held', 'mx': name, 'until': allowed,
                          'message': '%s: %s stays in the policy until %s (in %s): senders may cache the '
                                     'policy that lists it for max_age %ds. Remove its MX record now if not '
                                     'done yet' % (domain, name, iso(allowed), duration(allowed - now),
                                                   max_age_largest)})
    return serve, history


def plan_rollout(domains, states=None, now=None, action='deploy', retire=None, unretire=None,
                 retire_max_age=DEFAULT_RETIRE_MAX_AGE, force_removal=False, force_mx_removal=False,
                 dns_default=None):
    """The whole plan of one deploy or retire run (see the module docstring).

    ``domains`` are the inventory's domain items; ``states`` the state files
    read from the policy hosts. Raises MtaStsError listing every bad input.
    """
    if action not in ('deploy', 'retire'):
        raise MtaStsError('action %r is not deploy or retire' % (action,))
    now = parse_now(now)
    errors = []
    if not isinstance(domains, (list, tuple)) or not domains:
        raise MtaStsError('mta_sts_domains must be a non-empty list of domain items',
                          field='mta_sts_domains', hint='see docs/playbooks.md for the inventory shape')
    retire_max_age = validate_max_age(retire_max_age)
    if dns_default:
        try:
            check_dns(dns_default, None, 'mta_sts_dns', allow_secret=True)
        except MtaStsError as exc:
            errors.append(str(exc))
            dns_default = {}
    checked = []
    seen = set()
    for index, item in enumerate(domains):
        spec = _check_item(item, index, errors)
        if spec is None:
            continue
        if spec['domain'] in seen:
            errors.append('%s: listed twice in mta_sts_domains' % spec['domain'])
            continue
        seen.add(spec['domain'])
        dns, secret_from = _dns_settings(item, dns_default, index, errors)
        spec['dns'], spec['secret_from'] = dns, secret_from
        spec['item'] = item
        checked.append(spec)
    retiring = set(_names(retire, 'mta_sts_retire', errors))
    resumed = set(_names(unretire, 'mta_sts_unretire', errors))
    for name in sorted(retiring - seen):
        errors.append('%s: in mta_sts_retire but not in mta_sts_domains (retiring needs its mx list)' % name)
    try:
        state = merge_states(states)
    except MtaStsError as exc:
        errors.append(str(exc))
        state = empty_state()
    for spec in checked:
        entry = state['domains'].get(spec['domain']) or {}
        retire_state = entry.get('retire') or {}
        if retire_state and not retire_state.get('removed_at') and spec['domain'] not in retiring \
                and spec['domain'] not in resumed:
            errors.append('%s: is being retired (mode none served since %s) but is not in mta_sts_retire. '
                          'Add it to mta_sts_retire to continue, or to mta_sts_unretire to serve its '
                          'inventory policy again' % (spec['domain'], iso(retire_state.get('started_at', now))))
    if errors:
        raise MtaStsError('%d problem%s in the inventory, nothing changed:\n- %s'
                          % (len(errors), '' if len(errors) == 1 else 's', '\n- '.join(errors)),
                          field='mta_sts_domains')

    new_state = {'version': STATE_VERSION, 'domains': {}}
    role_items, served, publish, verify, notes, summary = [], [], [], [], [], []
    enforce, to_enforce, removed = [], [], []
    for spec in checked:
        domain = spec['domain']
        entry = state['domains'].get(domain) or {}
        if domain in resumed or (entry.get('retire') or {}).get('removed_at') and domain not in retiring:
            entry = {k: v for k, v in entry.items() if k != 'retire'}
        largest = max(entry.get('max_age_largest', 0), spec['max_age'])
        out = {'max_age_largest': largest}
        before = entry.get('served') or {}
        retire_state = dict(entry.get('retire') or {}) if domain in retiring else None
        state_word = 'present'
        if retire_state is not None and retire_state.get('removed_at'):
            state_word = 'absent'
            notes.append({'domain': domain, 'kind': 'retired',
                          'message': '%s: retired, records and policy removed at %s; remove it from the inventory'
                                     % (domain, iso(retire_state['removed_at']))})
        elif retire_state is not None:
            mx = before.get('mx') or spec['mx']
            if not retire_state:
                retire_state = {'started_at': now, 'published_at': None, 'removed_at': None}
                notes.append({'domain': domain, 'kind': 'retire_started',
                              'message': '%s: retiring: serving mode none with max_age %d and a new id'
                                         % (domain, retire_max_age)})
            largest = max(largest, retire_max_age)
            retire_state['max_age_largest'] = largest
            published = retire_state.get('published_at')
            allowed = published + largest if published is not None else None
            if action == 'retire' and published is not None and (now >= allowed or force_removal):
                state_word = 'absent'
                retire_state['removed_at'] = now
                removed.append(domain)
                notes.append({'domain': domain, 'kind': 'retire_removed',
                              'message': '%s: removing the records and the policy (%s)' % (
                                  domain, 'forced with mta_sts_force_removal' if now < allowed else
                                  'the largest max_age served, %ds, passed since %s' % (largest, iso(published)))})
            elif published is not None:
                notes.append({'domain': domain, 'kind': 'retire_wait', 'until': allowed,
                              'message': '%s: removal refused until %s (in %s): a sender may hold a policy with '
                                         'max_age %ds fetched before the mode none id went out at %s. Run '
                                         'mailsec.mta_sts.retire again then (or set mta_sts_force_removal=true if '
                                         'you know no sender cached it)'
                                         % (domain, iso(allowed), duration(allowed - now), largest, iso(published))})
            out['retire'] = retire_state
            policy = _policy(domain, 'none', mx, retire_max_age, None)
        else:
            mx, history = _plan_mx(domain, spec['mx'], entry, now, largest, force_mx_removal, notes)
            out['mx'] = history
            policy = _policy(domain, spec['mode'], mx, spec['max_age'], spec['policy_id'])
            if policy['mode'] == 'enforce':
                enforce.append(domain)
                if before.get('mode') == 'testing':
                    to_enforce.append(domain)
            if not entry:
                notes.append({'domain': domain, 'kind': 'new', 'message': '%s: first deployment (%s)'
                                                                          % (domain, policy['mode'])})
        role_item = {k: spec['item'][k] for k in ROLE_KEYS if k in spec['item']}
        role_item['domain'] = domain
        if state_word == 'absent':
            summary.append('%s: records and policy removed' % domain)
            role_items.append({'domain': domain, 'state': 'absent'})
            publish.append({'domain': domain, 'state': 'absent', 'dns': spec['dns'],
                            'secret_from': spec['secret_from'], 'tlsrpt_rua': None, 'policy_id': None,
                            'instructions': 'remove every TXT record at _mta-sts.%s and _smtp._tls.%s'
                                            % (domain, domain)})
            out['served'] = None
        else:
            role_item.update({'mode': policy['mode'], 'mx': policy['mx'], 'max_age': policy['max_age']})
            if spec['policy_id'] and retire_state is None:
                role_item['policy_id'] = spec['policy_id']
            else:
                role_item.pop('policy_id', None)
            role_items.append(role_item)
            served.append(policy)
            changed = before.get('policy_id') != policy['policy_id']
            summary.append('%s: %s, mx %s, max_age %d, id %s (%s)' % (
                domain, policy['mode'], ' '.join(policy['mx']) or '-', policy['max_age'], policy['policy_id'],
                'unchanged' if not changed else 'was %s' % before['policy_id'] if before.get('policy_id') else 'new'))
            out['served'] = {'mode': policy['mode'], 'mx': policy['mx'], 'max_age': policy['max_age'],
                             'policy_id': policy['policy_id'],
                             'since': now if changed or 'since' not in before else before['since']}
            if changed and entry and retire_state is None:
                notes.append({'domain': domain, 'kind': 'policy_changed', 'policy_id': policy['policy_id'],
                              'message': '%s: new policy id %s (was %s)' % (
                                  domain, policy['policy_id'], before.get('policy_id') or 'none')})
            rua = spec['tlsrpt_rua']
            instructions = 'publish _mta-sts.%s. TXT "v=STSv1; id=%s" (replacing every v=STSv1 record there)' % (
                domain, policy['policy_id'])
            if rua:
                instructions += ' and _smtp._tls.%s. TXT "v=TLSRPTv1; rua=%s"' % (domain, ','.join(rua))
            publish.append({'domain': domain, 'state': 'present', 'policy_id': policy['policy_id'],
                            'instructions': instructions,
                            'tlsrpt_rua': rua, 'dns': spec['dns'], 'secret_from': spec['secret_from'],
                            'sts_record': {'name': '_mta-sts.%s' % domain, 'type': 'TXT',
                                           'value': 'v=STSv1; id=%s' % policy['policy_id']},
                            'tlsrpt_record': None if not rua else {
                                'name': '_smtp._tls.%s' % domain, 'type': 'TXT',
                                'value': 'v=TLSRPTv1; rua=%s' % ','.join(rua)}})
            expect = {'domain': domain, 'mode': policy['mode'], 'mx': policy['mx'],
                      'max_age': policy['max_age'], 'policy_id': policy['policy_id']}
            if rua:
                expect['tlsrpt_rua'] = rua
            verify.append({'expect': expect, 'provider': spec['dns']['provider']})
        if entry.get('published'):
            out['published'] = entry['published']
        new_state['domains'][domain] = out
    for domain in sorted(set(state['domains']) - seen):
        new_state['domains'][domain] = state['domains'][domain]
        if (state['domains'][domain].get('retire') or {}).get('removed_at'):
            continue
        notes.append({'domain': domain, 'kind': 'unmanaged',
                      'message': '%s: served by an earlier run but not in mta_sts_domains; its policy file and '
                                 'records are left alone. Retire it with mailsec.mta_sts.retire (list it in '
                                 'mta_sts_domains and mta_sts_retire)' % domain})
    return {
        'now': now,
        'action': action,
        'rfc2136': rfc2136_batches(publish),
        'role_domains': role_items,
        'served': served,
        'publish': publish,
        'verify': verify,
        'enforce': enforce,
        'to_enforce': to_enforce,
        'removed': removed,
        'state': new_state,
        'summary': summary,
        'notes': notes,
    }


def rfc2136_batches(publish):
    """The rfc2136 record changes grouped by server and key: one
    mailsec.mta_sts.records task (one UPDATE per zone) per group."""
    batches = {}
    for item in publish:
        dns = item['dns']
        if dns.get('provider') != 'rfc2136':
            continue
        settings = {k: dns[k] for k in RFC2136_SETTINGS if k not in SECRET_KEYS and dns.get(k) is not None
                    and k != 'zone'}
        key = (repr(sorted(settings.items())), item['secret_from'] if dns.get('has_secret') else None)
        batch = batches.setdefault(key, {'settings': settings, 'has_secret': dns.get('has_secret', False),
                                         'secret_from': item['secret_from'], 'domains': []})
        entry = {'domain': item['domain'], 'state': item['state']}
        if item['state'] == 'present':
            entry['policy_id'] = item['policy_id']
            if item['tlsrpt_rua'] is not None:
                entry['tlsrpt_rua'] = item['tlsrpt_rua']
        if dns.get('zone'):
            entry['zone'] = dns['zone']
        batch['domains'].append(entry)
    return list(batches.values())


def published_state(state, publish, now):
    """The state after the records of ``publish`` (the plan's list) went out
    at ``now``: the id and time per domain, and the start of each
    retirement's wait (E4 counts from when the ``none`` id was published)."""
    now = parse_now(now)
    out = {'version': STATE_VERSION, 'domains': {k: dict(v) for k, v in state['domains'].items()}}
    for item in publish:
        entry = out['domains'].get(item['domain'])
        if entry is None or item['state'] != 'present':
            continue
        previous = entry.get('published') or {}
        if previous.get('policy_id') != item['policy_id']:
            entry['published'] = {'policy_id': item['policy_id'], 'at': now}
            if entry.get('retire') is not None:
                entry['retire'] = dict(entry['retire'], published_at=now)
    return out


def verify_expectations(domains, retire=None):
    """The verify items of the inventory's domains: the mode (``none`` while
    retiring), the TLS-RPT rua when given and a pinned id when given."""
    retiring = set(normalize_domain(name) for name in retire or ())
    out = []
    for index, item in enumerate(domains or ()):
        if not isinstance(item, dict) or not item.get('domain'):
            raise MtaStsError('must be a dict with at least "domain"', field='mta_sts_domains[%d]' % index)
        domain = normalize_domain(item['domain'])
        spec = {'domain': domain, 'mode': 'none' if domain in retiring else item.get('mode')}
        if spec['mode'] is None:
            del spec['mode']
        if item.get('tlsrpt_rua') is not None and domain not in retiring:
            spec['tlsrpt_rua'] = item['tlsrpt_rua']
        if item.get('policy_id') is not None and domain not in retiring:
            spec['policy_id'] = str(item['policy_id'])
        out.append(spec)
    return out
