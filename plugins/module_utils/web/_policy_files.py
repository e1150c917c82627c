# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``policy`` module: plan policy files, then write each through
common/_io.update_file (only when its bytes differ, atomically, with the
file attributes); one domain (:func:`run_policy` with ``domain``) or
many (with ``policies``). Private module of the mailsec.mta_sts collection;
standard library and ansible.module_utils only (runs on the managed host)."""

from __future__ import annotations

import os

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._io import file_arguments, read_if_exists, update_file
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import POLICY, check_items, secrets_in
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    DEFAULT_MAX_AGE,
    build_policy,
    normalize_domain,
    policy_id,
    policy_url,
    policy_warnings,
    render_policy,
    validate_policy_id,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import sts_record
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rules import cite


class PlannedPolicy:
    """One domain's desired state: the exact bytes and where they go."""

    __slots__ = ('domain', 'state', 'text', 'policy_id', 'path', 'warnings')

    def __init__(self, domain, state, text=None, policy_id=None, path=None, warnings=None):
        self.domain = domain
        self.state = state
        self.text = text
        self.policy_id = policy_id
        self.path = path
        self.warnings = warnings or []

    def result(self, changed):
        out = {'domain': self.domain, 'state': self.state, 'path': self.path, 'changed': changed}
        if self.state == 'present':
            out.update({
                'policy': self.text,
                'policy_id': self.policy_id,
                'sts_record': sts_record(self.domain, self.policy_id),
                'url': policy_url(self.domain),
            })
        return out


def plan_policy(spec, path_for=None):
    """Validate one policy spec (a dict of the module's options) and return
    a PlannedPolicy. Raises MtaStsError naming the domain, field and rule."""
    state = spec.get('state') or 'present'
    if state == 'absent':
        domain = normalize_domain(spec['domain']) if spec.get('domain') else None
        path = path_for(domain) if path_for else spec.get('dest')
        return PlannedPolicy(domain, state, path=path)
    if not spec.get('domain'):
        raise MtaStsError('is required', field='domain', hint='give the mail domain, e.g. example.com')
    if not spec.get('mode'):
        raise MtaStsError('is required with state=present', rule='B3', domain=spec.get('domain'),
                          field='mode', hint='set mode to enforce, testing or none')
    domain, mode, mx, max_age = build_policy(spec['domain'], spec['mode'], spec.get('mx'), spec.get('max_age'))
    text = render_policy(mode, mx, max_age, domain)
    pinned = spec.get('policy_id')
    the_id = validate_policy_id(pinned, domain) if pinned is not None else policy_id(text)
    warnings = ['%s: %s' % (domain, str(p)) for p in policy_warnings(mode, max_age)]
    if mode == 'none' and not mx:
        warnings.append('%s: %s: mode none without mx lines; some senders reject such a policy. '
                        'Fix: keep the mx list of the policy you retire' % (domain, cite('B7')))
    path = path_for(domain) if path_for else spec.get('dest')
    return PlannedPolicy(domain, state, text=text, policy_id=the_id, path=path, warnings=warnings)


def plan_many(specs, path_for):
    """Plan every spec; collect every error so that one run reports them all
    and nothing is written when any is wrong."""
    planned = []
    errors = []
    seen = {}
    for index, spec in enumerate(specs):
        try:
            item = plan_policy(spec, path_for)
        except MtaStsError as exc:
            errors.append(str(exc) if exc.domain else 'policies[%d]: %s' % (index, exc))
            continue
        if item.domain in seen:
            errors.append('policies[%d]: %s is listed twice (also policies[%d]); list each domain once'
                          % (index, item.domain, seen[item.domain]))
            continue
        seen[item.domain] = index
        planned.append(item)
    return planned, errors


def apply(module, item, backup=False):
    """Make the file of ``item`` what it should be. Returns (changed, diff,
    backup_file)."""
    current = read_if_exists(item.path)
    before = current.decode('utf-8', errors='replace') if current is not None else ''
    backup_file = None
    if item.state == 'absent':
        if current is None:
            return False, None, None
        diff = {'before_header': item.path, 'after_header': item.path, 'before': before, 'after': ''}
        if not module.check_mode:
            if backup:
                backup_file = module.backup_local(item.path)
            os.unlink(item.path)
        return True, diff, backup_file

    data = item.text.encode('ascii')
    diff = None
    if current != data:
        diff = {'before_header': item.path, 'after_header': item.path, 'before': before, 'after': item.text}
        if backup and current is not None and not module.check_mode:
            backup_file = module.backup_local(item.path)
    # The module's option is file_mode: mode is the policy's own mode.
    changed = update_file(module, item.path, data, file_arguments(module, item.path, mode=module.params.get('file_mode')))
    return changed, diff, backup_file


# ---------------------------------------------------------------------------
# The module's task


def run_policy(module):
    """The ``policy`` module: the batch form when ``policies`` is given,
    else the single form. Returns the result; raises TaskFailed."""
    # A secret inside an item is refused below; keep it out of the result too.
    module.no_log_values.update(secrets_in(module.params['policies']))
    if module.params['policies'] is not None:
        return _run_batch(module)
    return _run_single(module)


def _run_single(module):
    params = module.params
    try:
        item = plan_policy(params)
    except MtaStsError as exc:
        raise TaskFailed(str(exc), rule=exc.rule) from None
    if item.state == 'absent' and not item.path:
        raise TaskFailed('state=absent removes a policy file: give dest')
    for warning in item.warnings:
        module.warn(warning)
    result = item.result(False)
    result.pop('changed')
    result['dest'] = result.pop('path')
    if not item.path:
        return dict(changed=False, **result)
    if item.state == 'present' and not os.path.isdir(os.path.dirname(item.path) or '.'):
        raise TaskFailed('%s: the directory of dest %s does not exist; create it first' % (item.domain, item.path))
    changed, diff, backup_file = apply(module, item, params['backup'])
    if backup_file:
        result['backup_file'] = backup_file
    if diff and module._diff:
        result['diff'] = diff
    return dict(changed=changed, **result)


def _run_batch(module):
    params = module.params
    directory = params['dest']
    if not directory:
        raise TaskFailed('policies needs dest: the directory that holds <domain>.txt files')
    # The items are domain items of the collection's one inventory shape:
    # the keys of other consumers pass, a typo is refused naming the closest key.
    specs, errors = check_items(params['policies'], POLICY, 'policies')
    if not errors:
        specs = [dict(spec, max_age=DEFAULT_MAX_AGE) if spec.get('max_age') is None else spec for spec in specs]
        planned, errors = plan_many(specs, lambda domain: os.path.join(directory, '%s.txt' % domain))
    if errors:
        raise TaskFailed('%d invalid polic%s, nothing written:\n- %s'
                         % (len(errors), 'y' if len(errors) == 1 else 'ies', '\n- '.join(errors)),
                         errors=errors)
    if not os.path.isdir(directory) and not module.check_mode:
        raise TaskFailed('dest %s is not a directory; create it first' % directory)
    results = []
    diffs = []
    changed_any = False
    for item in planned:
        for warning in item.warnings:
            module.warn(warning)
        if os.path.isdir(directory):
            changed, diff, dummy = apply(module, item, params['backup'])
        else:
            # Check mode on a fresh host: the directory would be created first.
            changed, diff = item.state == 'present', None
        changed_any = changed_any or changed
        if diff:
            diffs.append(diff)
        results.append(item.result(changed))
    result = {'changed': changed_any, 'policies': results}
    if module._diff:
        result['diff'] = diffs
    return result
