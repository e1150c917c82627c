# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rollout plan of the deploy and retire playbooks, as filters over the
model in module_utils/model/_rollout.py. Documentation lives in the sidecar
.yml files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._rollout import (
    DEFAULT_RETIRE_MAX_AGE,
    plan_rollout,
    published_state,
    verify_expectations as _verify_expectations,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._rollout_checks import summary_line


def _plain(value):
    """Inventory values as plain dicts, lists and scalars (the model does
    type checks of its own)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def rollout_plan(domains, states=None, now=None, action='deploy', retire=None, unretire=None,
                 retire_max_age=DEFAULT_RETIRE_MAX_AGE, force_removal=False, force_mx_removal=False, dns=None):
    try:
        return plan_rollout(_plain(domains), _plain(states), _plain(now), action=action, retire=_plain(retire),
                            unretire=_plain(unretire), retire_max_age=_plain(retire_max_age),
                            force_removal=bool(force_removal), force_mx_removal=bool(force_mx_removal),
                            dns_default=_plain(dns))
    except MtaStsError as exc:
        raise AnsibleFilterError('rollout_plan: %s' % exc) from None


def rollout_published(plan, now):
    try:
        return published_state(_plain(plan['state']), _plain(plan['publish']), _plain(now))
    except MtaStsError as exc:
        raise AnsibleFilterError('rollout_published: %s' % exc) from None


def verify_expectations(domains, retire=None):
    try:
        return _verify_expectations(_plain(domains), _plain(retire))
    except MtaStsError as exc:
        raise AnsibleFilterError('verify_expectations: %s' % exc) from None


def verify_lines(results):
    return [summary_line(_plain(result)) for result in results or ()]


class FilterModule:
    def filters(self):
        return {
            'rollout_plan': rollout_plan,
            'rollout_published': rollout_published,
            'verify_expectations': verify_expectations,
            'verify_lines': verify_lines,
        }
