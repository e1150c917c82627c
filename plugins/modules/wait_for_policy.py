#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: wait_for_policy
short_description: Wait until every address of the policy hosts serves the new MTA-STS policy bytes
version_added: 0.2.0
description:
  - Run it after changing the policy hosts and before publishing the new id in DNS, as the
    collection's deploy playbook does. A sender that sees a new id fetches the policy once, from
    whichever address DNS gives it, and caches what it got (RFC 8461 section 3.3).
  - Connects to each address in O(addresses) directly (DNS is not asked), on port 443, with SNI and
    certificate checks for C(mta-sts.<domain>), fetches C(/.well-known/mta-sts.txt) and compares the
    body with the expected bytes. Repeats for the pairs not yet right every O(delay) seconds until all
    are right or O(wait) seconds have passed.
  - Fails on timeout naming every address and domain that does not serve the new bytes and what it
    served instead.
  - Changes nothing.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailsec.mta_sts.tls_trust
attributes:
  check_mode:
    support: full
    details: It only reads, so it runs in check mode too (where the new bytes are usually not served yet).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  addresses:
    description: The IPv4 or IPv6 addresses of every policy host, as senders reach them.
    type: list
    elements: str
    required: true
  policies:
    description:
      - The policies that every address must serve, each with C(domain) and C(text) (the exact policy
        text, as M(mailsec.mta_sts.policy) returns it). Other keys are ignored.
    type: list
    elements: dict
    required: true
  wait:
    description: Seconds to wait in total before failing.
    type: float
    default: 120
  delay:
    description: Seconds between two rounds.
    type: float
    default: 1
  timeout:
    description: Seconds allowed for one fetch (connect, TLS, request and body).
    type: float
    default: 5
notes:
  - Rule E2 of the collection's rule catalogue, docs/rules.md (RFC 8461 section 3.3).
seealso:
  - module: mailsec.mta_sts.policy
  - module: mailsec.mta_sts.records
'''

EXAMPLES = r'''
- name: Publish only once both policy hosts serve the new policy
  mailsec.mta_sts.wait_for_policy:
    addresses: [192.0.2.10, 192.0.2.11, "2001:db8::10"]
    policies:
      - domain: example.com
        text: "{{ example_policy.policy }}"
    wait: 60
  delegate_to: localhost
'''

RETURN = r'''
results:
  description: One entry per address and domain, with C(address), C(domain), C(ok), C(seen) and C(attempts).
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.11
      domain: example.com
      ok: false
      seen: "connect error: [Errno 111] Connection refused"
      attempts: 30
stale:
  description: The pairs that do not serve the new bytes, as lines.
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.11 mta-sts.example.com: connect error: [Errno 111] Connection refused"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import tls_argument_spec
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._rollout_checks import wait_served


def main():
    argument_spec = dict(
        addresses=dict(type='list', elements='str', required=True),
        policies=dict(type='list', elements='dict', required=True),
        wait=dict(type='float', default=120),
        delay=dict(type='float', default=1),
        timeout=dict(type='float', default=5),
    )
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params['addresses']:
        module.fail_json(msg='addresses is empty: give the address of every policy host')
    for item in params['policies']:
        if not item.get('domain') or not isinstance(item.get('text'), str):
            module.fail_json(msg='every item of policies needs domain and text (the exact policy): %r' % (item,))
    try:
        done, results = wait_served(params['addresses'], params['policies'], ca_path=params['ca_path'],
                                    ca_mode=params['ca_mode'], timeout=params['timeout'], wait=params['wait'],
                                    delay=params['delay'])
    except MtaStsError as exc:
        module.fail_json(msg=str(exc))
    stale = ['%s mta-sts.%s: %s' % (r['address'], r['domain'], r['seen']) for r in results if not r['ok']]
    if not done:
        module.fail_json(msg='after %gs, %d address/domain pair(s) do not serve the new policy; the new ids are '
                             'not published:\n- %s' % (params['wait'], len(stale), '\n- '.join(stale)),
                         results=results, stale=stale)
    module.exit_json(changed=False, results=results, stale=stale)


if __name__ == '__main__':
    main()
