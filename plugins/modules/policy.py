#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy
short_description: Render and write MTA-STS policy files, and compute their TXT id
version_added: 0.1.0
description:
  - Renders the MTA-STS policy of a mail domain exactly as RFC 8461 section 3.2 wants it
    published (CRLF line ends, C(version), C(mode), the C(mx) lines, C(max_age), final CRLF, ASCII).
  - Derives the policy id from the exact bytes of the file (the first 32 hex digits of their
    SHA-256), so the id changes exactly when the policy does, on any controller, with no state to keep.
  - Writes the file atomically and only when its bytes differ; or, without O(dest), only computes.
  - Returns the TXT record to publish at C(_mta-sts.<domain>), ready for
    M(mailsec.mta_sts.records) or any DNS provider's module.
  - Two forms. Single (O(domain), O(mode), O(mx), O(max_age), O(dest) a file) for one domain or
    to compute a policy on the controller. Batch (O(policies) and O(dest) a directory) for
    hosts that serve many domains; one module run handles all of them, so a role deploying
    thousands of domains never pays one task iteration per domain.
  - Needs nothing beyond the Python standard library on the managed host.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  domain:
    description:
      - The mail domain the policy is for (not the C(mta-sts.) host name).
      - Internationalised names are converted to their A-label (C(xn--)) form; case is lowered;
        a trailing dot is dropped.
      - Single form. Mutually exclusive with O(policies).
    type: str
  mode:
    description:
      - C(enforce) makes senders refuse delivery to MX hosts that do not match or lack valid TLS;
        C(testing) only reports (TLS-RPT); C(none) withdraws the policy (see the retirement procedure).
      - One of V(enforce), V(testing), V(none) (lower case); anything else fails naming the domain and rule B3 (RFC 8461 §3.2).
      - Required with O(state=present) in the single form.
    type: str
  mx:
    description:
      - The MX host names or C(*.<suffix>) patterns (a wildcard only as the whole left-most label).
      - Required unless O(mode=none); kept in C(none) too, since some senders require them.
      - IP addresses are refused. Duplicates are dropped; order is kept.
    type: list
    elements: str
  max_age:
    description:
      - How long senders cache the policy, in seconds, 0 to 31557600 (about a year).
      - Under one day is legal but weak and gives a warning; so does C(enforce) under a week.
    type: int
    default: 604800
  policy_id:
    description:
      - Pin the TXT id instead of deriving it from the policy bytes. 1 to 32 letters or digits.
      - You then own the rule that the id changes whenever the policy does.
    type: str
  policies:
    description:
      - Batch form. A list of domain items in the collection's one inventory shape (C(docs/inventory.md)),
        the same items that M(mailsec.mta_sts.records), M(mailsec.mta_sts.verify) and the
        C(mailsec.mta_sts.policy_host) role take.
      - This module reads the keys below; it passes over the keys that belong to the others
        (C(tlsrpt_rua), C(cert_source), C(cert_file), C(key_file), C(dns), C(zone), C(policy), C(derived_id))
        and refuses any other key, naming the closest valid one. An item that carries a TSIG secret
        (C(dns.key_secret)) is refused, since a module would log it.
      - Each file is written to C(<dest>/<domain>.txt), C(<domain>) being the normalised domain.
      - Every item is validated before anything is written; one bad item fails the task with
        every problem listed, and no file changes.
    type: list
    elements: dict
    suboptions:
      domain:
        description: The mail domain.
        type: str
        required: true
      mode:
        description: As O(mode) - V(enforce), V(testing) or V(none). Required unless O(policies[].state=absent).
        type: str
      mx:
        description: As O(mx).
        type: list
        elements: str
      max_age:
        description: As O(max_age).
        type: int
        default: 604800
      policy_id:
        description: As O(policy_id).
        type: str
      state:
        description: V(absent) removes this domain's file.
        type: str
        choices: [present, absent]
        default: present
  dest:
    description:
      - Single form, the file to write (for example C(/srv/mta-sts/example.com.txt)); when
        omitted, the module only computes and returns the policy, its id and the record.
      - Batch form, the directory that holds C(<domain>.txt) files; required. It must exist.
    type: path
  state:
    description:
      - V(present) writes the policy; V(absent) removes O(dest) (single form).
      - To retire a policy, first publish O(mode=none) with a new id and keep serving it
        (RFC 8461 section 8.3); remove the file only after the largest served O(max_age) has passed.
    type: str
    choices: [present, absent]
    default: present
  backup:
    description: Keep a timestamped copy of a file before changing or removing it.
    type: bool
    default: false
  owner:
    description: Owner of the written files (name or uid).
    type: str
  group:
    description: Group of the written files (name or gid).
    type: str
  file_mode:
    description:
      - Permissions of the written files, as for the O(ansible.builtin.file#module:mode) option
        of M(ansible.builtin.file) (named differently here because O(mode) is the policy mode).
      - The web server must be able to read the files; quote octal values.
    type: raw
    default: '0644'
  seuser:
    description: SELinux user of the files, as in M(ansible.builtin.file).
    type: str
  serole:
    description: SELinux role of the files, as in M(ansible.builtin.file).
    type: str
  setype:
    description: SELinux type of the files, as in M(ansible.builtin.file) (for example C(httpd_sys_content_t)).
    type: str
  selevel:
    description: SELinux level of the files, as in M(ansible.builtin.file).
    type: str
  attributes:
    description: File attributes, as in M(ansible.builtin.file).
    type: str
    aliases: [attr]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
notes:
  - The rules are those of RFC 8461 §3.1 and §3.2; error messages name them (rules B1-B7, A4, A6, E1).
  - Rule ids (such as C(B5)) are those of the collection's rule catalogue, C(docs/rules.md), which gives each rule's RFC section and usual fix.
  - Serve the new file on every policy host before publishing the new id (rule E2,
    RFC 8461 §8.1); the collection's deploy flow does this for you.
seealso:
  - module: mailsec.mta_sts.records
  - module: mailsec.mta_sts.verify
  - name: RFC 8461, SMTP MTA Strict Transport Security
    description: The MTA-STS specification.
    link: https://www.rfc-editor.org/rfc/rfc8461
"""

EXAMPLES = r"""
- name: Compute the policy and id of a domain on the controller (nothing written)
  mailsec.mta_sts.policy:
    domain: example.com
    mode: testing
    mx:
      - mx1.example.com
      - mx2.example.com
  delegate_to: localhost
  register: example_policy

- name: Write the policy served at https://mta-sts.example.com/.well-known/mta-sts.txt
  mailsec.mta_sts.policy:
    domain: example.com
    mode: enforce
    mx:
      - mx1.example.com
      - "*.mail.example.net"
    max_age: 1209600
    dest: /srv/mta-sts/example.com.txt
    owner: root
    group: root
    file_mode: '0644'

- name: Write the policies of every hosted domain in one task
  mailsec.mta_sts.policy:
    dest: /srv/mta-sts
    policies:
      - domain: example.com
        mode: enforce
        mx: [mx1.example.com, mx2.example.com]
      - domain: example.org
        mode: testing
        mx: ["*.mx.provider.example"]
        max_age: 86400
      - domain: old.example
        state: absent
  register: hosted

- name: Once the policy is served, publish its id (see mailsec.mta_sts.records)
  mailsec.mta_sts.records:
    domain: example.com
    policy_id: "{{ example_policy.policy_id }}"
    server: ns1.example.com
    key_name: mta-sts-update
    key_secret: "{{ vault_tsig_secret }}"
  delegate_to: localhost

- name: Feed the record to a provider without RFC 2136 (Cloudflare here)
  community.general.cloudflare_dns:
    zone: example.com
    record: "{{ example_policy.sts_record.name }}"
    type: TXT
    value: "{{ example_policy.sts_record.value }}"
    api_token: "{{ vault_cloudflare_token }}"
  delegate_to: localhost
"""

RETURN = r"""
policy:
  description: The policy text, with CRLF line ends (single form, O(state=present)).
  returned: success and single form with state=present
  type: str
  sample: "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n"
policy_id:
  description: The TXT id, derived from the policy bytes unless O(policy_id) pinned it.
  returned: success and single form with state=present
  type: str
  sample: 0fa693496f486611cde0b17de600d703
sts_record:
  description: The C(_mta-sts) TXT record to publish, for any DNS module.
  returned: success and single form with state=present
  type: dict
  sample: {name: _mta-sts.example.com, type: TXT, value: "v=STSv1; id=0fa693496f486611cde0b17de600d703"}
url:
  description: Where senders fetch the policy.
  returned: success and single form with state=present
  type: str
  sample: https://mta-sts.example.com/.well-known/mta-sts.txt
domain:
  description: The normalised domain (lower case, A-label).
  returned: success and single form
  type: str
  sample: example.com
dest:
  description: The file written or removed, when O(dest) was given.
  returned: success and single form
  type: str
  sample: /srv/mta-sts/example.com.txt
backup_file:
  description: The backup copy made with O(backup=true).
  returned: changed and a backup was made
  type: str
  sample: /srv/mta-sts/example.com.txt.12345.2026-11-29@12:00:00~
policies:
  description:
    - Batch form, one entry per item of O(policies), in order, with the keys C(domain),
      C(state), C(path), C(changed) and, for present policies, C(policy), C(policy_id),
      C(sts_record), C(url).
  returned: success and batch form
  type: list
  elements: dict
  sample:
    - domain: example.com
      state: present
      path: /srv/mta-sts/example.com.txt
      changed: true
      policy: "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n"
      policy_id: 0fa693496f486611cde0b17de600d703
      sts_record: {name: _mta-sts.example.com, type: TXT, value: "v=STSv1; id=0fa693496f486611cde0b17de600d703"}
      url: https://mta-sts.example.com/.well-known/mta-sts.txt
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import run_task
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._policy import DEFAULT_MAX_AGE
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._policy_files import run_policy


def main():
    argument_spec = dict(
        domain=dict(type='str'),
        # Checked by the model, not by choices, so that a bad mode is reported
        # with its domain and rule (B3) like every other input error.
        mode=dict(type='str'),
        mx=dict(type='list', elements='str'),
        max_age=dict(type='int', default=DEFAULT_MAX_AGE),
        policy_id=dict(type='str'),
        # Domain items, checked by model/_inventory.py (not by suboptions, which
        # would refuse the keys that other consumers of the same item read).
        policies=dict(type='list', elements='dict'),
        dest=dict(type='path'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        backup=dict(type='bool', default=False),
        owner=dict(type='str'),
        group=dict(type='str'),
        file_mode=dict(type='raw', default='0644'),
        seuser=dict(type='str'),
        serole=dict(type='str'),
        setype=dict(type='str'),
        selevel=dict(type='str'),
        attributes=dict(type='str', aliases=['attr']),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('domain', 'policies')],
        required_one_of=[('domain', 'policies')],
        supports_check_mode=True,
    )
    run_task(module, run_policy)


if __name__ == '__main__':
    main()
