# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters over the MTA-STS model: the public, stable face of
plugins/module_utils. Documentation lives in the sidecar .yml files."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import (
    DEFAULT_MAX_AGE,
    mx_match as _mx_match,
    parse_policy as _parse_policy,
    policy_id as _policy_id,
    render_policy as _render_policy,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    parse_sts_record as _parse_sts_record,
    parse_tlsrpt_record as _parse_tlsrpt_record,
    render_sts_record,
    render_tlsrpt_record,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._policy_host_plan import (
    PlanError,
    plan_policy_host,
)


def _text(value, name):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise AnsibleFilterError('%s: the input must be text, got %s' % (name, type(value).__name__))
    return value


def _call(name, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except MtaStsError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc)) from None


def parse_policy(text, strict=True):
    return _call('parse_policy', _parse_policy, _text(text, 'parse_policy'), strict=strict)


def render_policy(policy):
    if not isinstance(policy, Mapping):
        raise AnsibleFilterError('render_policy: the input must be a dict with mode, mx and max_age')
    return _call('render_policy', _render_policy, policy.get('mode'), policy.get('mx'),
                 policy.get('max_age', DEFAULT_MAX_AGE), policy.get('domain'))


def policy_id(text):
    return _policy_id(_text(text, 'policy_id'))


def mx_match(host, patterns):
    if isinstance(patterns, str):
        patterns = [patterns]
    return _mx_match(host, patterns)


def parse_sts_record(text, strict=True):
    return _call('parse_sts_record', _parse_sts_record, _text(text, 'parse_sts_record'), strict=strict)


def sts_record(the_id):
    return _call('sts_record', render_sts_record, the_id)


def parse_tlsrpt_record(text, strict=True):
    return _call('parse_tlsrpt_record', _parse_tlsrpt_record, _text(text, 'parse_tlsrpt_record'), strict=strict)


def tlsrpt_record(rua):
    return _call('tlsrpt_record', render_tlsrpt_record, rua)


def policy_host_plan(domains, cert_source='acme', cert_file='', key_file='', cert_dir='/var/lib/mta-sts/certs',
                     san_limit=100):
    try:
        return plan_policy_host(domains, cert_source=cert_source, cert_file=cert_file or '',
                                key_file=key_file or '', cert_dir=cert_dir, san_limit=san_limit)
    except PlanError as exc:
        raise AnsibleFilterError('policy_host_plan: %s' % exc) from None


class FilterModule:
    def filters(self):
        return {
            'parse_policy': parse_policy,
            'render_policy': render_policy,
            'policy_id': policy_id,
            'mx_match': mx_match,
            'parse_sts_record': parse_sts_record,
            'sts_record': sts_record,
            'parse_tlsrpt_record': parse_tlsrpt_record,
            'tlsrpt_record': tlsrpt_record,
            'policy_host_plan': policy_host_plan,
        }
