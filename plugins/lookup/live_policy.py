# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: live_policy
short_description: The live MTA-STS policy of a domain, as a sender fetches it
version_added: 0.1.0
description:
  - Looks up the C(_mta-sts) TXT record of each domain and fetches its policy from
    C(https://mta-sts.<domain>/.well-known/mta-sts.txt) exactly as a sending MTA does
    (RFC 8461 section 3.3), with SNI and certificate checks for the policy host name, no redirects,
    status 200 and C(text/plain) only, size and time caps.
  - Uses the same code as M(mailsec.mta_sts.verify), which checks much more (MX hosts, TLS-RPT).
author:
  - mailsec.mta_sts contributors (@mailsec)
requirements:
  - dnspython >= 2.4.0
options:
  _terms:
    description: The domains.
    type: list
    elements: str
    required: true
  nameservers:
    description:
      - The DNS servers to ask instead of the system resolver, each an address, C(address:port),
        C([v6address]:port) or a host name. See M(mailsec.mta_sts.verify).
    type: list
    elements: str
  authoritative:
    description: Ask each zone's authoritative name servers instead of a caching resolver.
    type: bool
    default: false
  ca_path:
    description: A CA bundle to trust for the policy host certificate (see O(ca_mode)).
    type: path
  ca_mode:
    description:
      - V(add) trusts O(ca_path) in addition to the system trust store, V(replace) trusts only O(ca_path).
      - Certificate verification cannot be switched off.
    type: str
    choices: [add, replace]
    default: add
  timeout:
    description: Seconds for each DNS question and for the whole policy fetch.
    type: float
    default: 10
notes:
  - The lookup does not fail when a domain has no valid policy; check RV(_raw[].valid).
seealso:
  - module: mailsec.mta_sts.verify
'''

EXAMPLES = r'''
- name: Show the policy senders get for example.com
  ansible.builtin.debug:
    msg: "{{ lookup('mailsec.mta_sts.live_policy', 'example.com') }}"

- name: Keep the MX list of the live policy when templating a new one
  ansible.builtin.set_fact:
    live_mx: "{{ (lookup('mailsec.mta_sts.live_policy', 'example.com').policy | default({}, true)).mx | default([]) }}"

- name: Ask the authoritative servers, trusting an internal CA as well
  ansible.builtin.debug:
    msg: "{{ query('mailsec.mta_sts.live_policy', 'example.com', 'example.org', authoritative=true, ca_path='/etc/ssl/internal-ca.pem') }}"
'''

RETURN = r'''
_raw:
  description: One dictionary per domain.
  type: list
  elements: dict
  contains:
    domain:
      description: The domain.
      type: str
    valid:
      description: Whether a sender gets a valid policy (one valid TXT record and an accepted policy file).
      type: bool
    id:
      description: The id of the C(_mta-sts) TXT record a sender uses, or V(null).
      type: str
    text:
      description: The policy text as served, or V(null) when a sender could not fetch it.
      type: str
    policy:
      description: The policy a sender acts on (C(version), C(mode), C(mx), C(max_age), C(extensions)), or V(null).
      type: dict
    derived_id:
      description: The id derived from the served bytes (what M(mailsec.mta_sts.policy) would publish).
      type: str
    findings:
      description: The findings about the record, the fetch and the policy (C(check), C(severity), C(rule), C(message), C(hint)).
      type: list
      elements: dict
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import HAS_DNSPYTHON
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._judge import normalize_spec
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._verify import Run, live_policy_view


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not HAS_DNSPYTHON:
            raise AnsibleLookupError('mailsec.mta_sts.live_policy needs the dnspython Python library')
        try:
            run = Run(
                nameservers=self.get_option('nameservers'),
                authoritative=self.get_option('authoritative'),
                ca_path=self.get_option('ca_path'),
                ca_mode=self.get_option('ca_mode'),
                timeout=self.get_option('timeout'),
                check_mx_tls=False,
            )
            return [live_policy_view(run, normalize_spec(term, index)['domain']) for index, term in enumerate(terms)]
        except MtaStsError as exc:
            raise AnsibleLookupError('mailsec.mta_sts.live_policy: %s' % exc) from None
