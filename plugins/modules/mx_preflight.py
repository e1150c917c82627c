#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: mx_preflight
short_description: Check that every live MX is covered by a new MTA-STS policy and offers valid STARTTLS
version_added: 0.2.0
description:
  - Run it before serving a policy in C(enforce) mode, as the collection's deploy playbook does. A
    sender that holds an C(enforce) policy refuses to deliver to an MX host that the policy does not
    list (RFC 8461 section 4.1) or whose STARTTLS certificate it cannot validate (section 4.2).
  - For each domain, looks up the MX records as they are now, matches every MX host against the
    C(mx) patterns of the new policy, and connects to every address of every MX host on port 25 for
    STARTTLS, checking the TLS version, the certificate chain, its name (the MX host name) and expiry.
  - Fails naming each MX host, its address and its problem, unless O(fail=false).
  - Changes nothing.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailsec.mta_sts.resolver
  - mailsec.mta_sts.tls_trust
  - mailsec.mta_sts.timeout
requirements:
  - dnspython >= 2.4.0
attributes:
  check_mode:
    support: full
    details: The checks only read, so they run in check mode too.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  domains:
    description:
      - The domains going to (or staying in) C(enforce), as items of the collection's inventory shape.
        Only C(domain) and C(mx) (the patterns of the new policy) are read; other keys are ignored.
    type: list
    elements: dict
    required: true
  fail:
    description: Fail when a problem is found (V(true)), or only report it in RV(domains) (V(false)).
    type: bool
    default: true
notes:
  - The rules are D1 (MX matching), D2 (STARTTLS and certificate) and D3 (the MX set) of the
    collection's rule catalogue, docs/rules.md (RFC 8461 sections 4.1 and 4.2).
seealso:
  - module: mailsec.mta_sts.verify
  - module: mailsec.mta_sts.policy
'''

EXAMPLES = r'''
- name: Refuse to enforce a policy that would block mail
  mailsec.mta_sts.mx_preflight:
    domains:
      - domain: example.com
        mode: enforce
        mx: [mx1.example.com, "*.mail.example.net"]
    authoritative: true
  delegate_to: localhost
'''

RETURN = r'''
domains:
  description: One result per domain, in order.
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: The domain (A-label, lower case).
      type: str
      sample: example.com
    live_mx:
      description: The MX host names found now (the domain itself when it has no MX record).
      type: list
      elements: str
      sample: [mx1.example.com]
    problems:
      description: One entry per problem, with C(mx), C(address), C(rule) and C(problem).
      type: list
      elements: dict
      sample:
        - mx: mx2.example.com
          address: 192.0.2.25
          rule: D2
          problem: the certificate has expired (certificate has expired)
problems:
  description: "Every problem as one line: C(<domain>: MX <host> (<address>): <problem> (rule <id>))."
  returned: always
  type: list
  elements: str
  sample: ["example.com: MX mx2.example.com (192.0.2.25): the certificate has expired (rule D2)"]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import (
    HAS_DNSPYTHON,
    resolver_argument_spec,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import tls_argument_spec
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._rollout_checks import (
    mx_preflight,
    preflight_message,
)


def main():
    argument_spec = dict(
        domains=dict(type='list', elements='dict', required=True),
        fail=dict(type='bool', default=True),
        timeout=dict(type='float', default=10),
    )
    argument_spec.update(resolver_argument_spec())
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib('dnspython'))
    params = module.params
    try:
        results = mx_preflight(params['domains'], nameservers=params['nameservers'],
                               authoritative=params['authoritative'], ca_path=params['ca_path'],
                               ca_mode=params['ca_mode'], timeout=params['timeout'])
    except MtaStsError as exc:
        module.fail_json(msg=str(exc), rule=exc.rule)
    lines = preflight_message(results)
    if lines and params['fail']:
        module.fail_json(msg='enforce would block mail, nothing changed:\n- %s' % '\n- '.join(lines),
                         domains=results, problems=lines)
    module.exit_json(changed=False, domains=results, problems=lines)


if __name__ == '__main__':
    main()
