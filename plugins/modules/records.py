#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: records
short_description: Publish the _mta-sts and _smtp._tls TXT records over RFC 2136 dynamic update
version_added: 0.1.0
description:
  - Makes the C(_mta-sts.<domain>) TXT record (the MTA-STS policy id, RFC 8461 section 3.1) and
    optionally the C(_smtp._tls.<domain>) TXT record (TLS reporting, RFC 8460 section 3) what they
    should be, on any DNS primary that accepts RFC 2136 dynamic updates signed with TSIG
    (BIND, Knot, PowerDNS, Windows DNS and many appliances).
  - Reads the current TXT records straight from O(server) over TCP (never through a cache), computes
    the change, and sends one UPDATE per zone, so each zone changes atomically or not at all.
  - Replaces every C(v=STSv1) (resp. C(v=TLSRPTv1)) record at the name with the one wanted, since a
    second C(v=STSv1) record silently switches MTA-STS off for every sender (rule A1, RFC 8461 §3.1). Other TXT
    records at the name are left as they are.
  - Each UPDATE carries prerequisites (RFC 2136 section 2.4) stating that the TXT records are still
    those read and that no CNAME appeared. If someone edits them between the read and the write,
    the server rejects the whole update and the task fails saying so; nothing is overwritten.
  - Many domains in one run (O(domains)) are grouped into one UPDATE per zone, so publishing a
    thousand domains is one task, not a thousand.
  - Runs on the controller (or wherever it is delegated) and needs the Python library dnspython there.
  - For DNS providers without RFC 2136 (Route 53, Cloudflare, Hetzner, ...) take the record from
    M(mailsec.mta_sts.policy) or the P(mailsec.mta_sts.sts_record#filter) filter and feed it to
    the provider's module; the collection's C(docs/records.md) shows how.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  domain:
    description:
      - The mail domain (not the C(_mta-sts.) name). Lower-cased; internationalised names are
        converted to their A-label form.
      - Single form. Mutually exclusive with O(domains).
    type: str
  domains:
    description:
      - Batch form. A list of domain items in the collection's one inventory shape (C(docs/inventory.md)),
        the same items that M(mailsec.mta_sts.policy), M(mailsec.mta_sts.verify) and the
        C(mailsec.mta_sts.policy_host) role take.
      - An item's keys override the top-level options of the same name (C(dns.server) overrides O(server),
        and so on), so common values (O(policy_id), O(tlsrpt_rua), O(state), O(zone)) can be given once.
        One task publishes through one primary, so the items must agree on the server, port and key.
      - An item without C(policy_id) but with C(mode) (and C(mx), C(max_age)) gets the id derived from the
        policy those keys render, exactly as M(mailsec.mta_sts.policy) derives it, unless the task sets O(policy_id);
        so the items that fed M(mailsec.mta_sts.policy) or the policy host role publish the ids of the policies served.
      - An item with C(state=absent) removes both records; its C(tlsrpt_rua) is then not read.
      - This module reads the keys below; it passes over the keys that belong to the others
        (C(cert_source), C(cert_file), C(key_file), C(policy), C(derived_id))
        and refuses any other key, naming the closest valid one.
      - Every item is validated and every zone read before the first UPDATE; a bad item fails the
        task with every problem listed and nothing changed.
      - Domains of one zone go into one UPDATE message. A message is limited to 64 KiB, so a very large
        batch in one zone (several hundred domains) is split into several messages, between domains, so
        each domain always changes atomically.
    type: list
    elements: dict
    suboptions:
      domain:
        description: The mail domain.
        type: str
        required: true
      policy_id:
        description: As O(policy_id).
        type: str
      tlsrpt_rua:
        description: As O(tlsrpt_rua).
        type: list
        elements: str
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
      zone:
        description: As O(zone).
        type: str
      mode:
        description: With C(mx) and C(max_age), derives the id when C(policy_id) is not given.
        type: str
      mx:
        description: See C(mode).
        type: list
        elements: str
      max_age:
        description: See C(mode). Default 604800.
        type: int
      dns:
        description:
          - How the domain's records are published; its keys override the options of the same name
            (O(server), O(port), O(key_name), O(key_algorithm), O(ttl), O(timeout), O(zone)).
          - The secret is never read from an item (a module would log it); it is always O(key_secret).
        type: dict
        suboptions:
          provider:
            description:
              - V(rfc2136) (or unset) for the domains this module publishes. An item with V(none) or V(tasks)
                is refused, since it is published another way.
            type: str
          server:
            description: Overrides O(server).
            type: str
          port:
            description: Overrides O(port).
            type: int
          key_name:
            description: Overrides O(key_name).
            type: str
          key_algorithm:
            description: Overrides O(key_algorithm).
            type: str
          zone:
            description: Overrides O(zone) (the same as the item's C(zone)).
            type: str
          ttl:
            description: Overrides O(ttl).
            type: int
          timeout:
            description: Overrides O(timeout).
            type: float
          tasks:
            description: Read by the collection playbooks only (with V(tasks)).
            type: path
          vars:
            description: Settings of your own task file (with V(tasks)); not read by this module.
            type: dict
  policy_id:
    description:
      - The id to publish as C(v=STSv1; id=<policy_id>), 1 to 32 letters or digits (rule A4), as
        returned by M(mailsec.mta_sts.policy) in RV(mailsec.mta_sts.policy#module:policy_id).
      - Required with O(state=present).
      - Publish a new id only after the new policy is served on every policy host (rule E2, RFC 8461 §8.1).
    type: str
  tlsrpt_rua:
    description:
      - Where TLS reports go, as C(mailto:) or C(https:) URIs (rule F3), published as
        C(v=TLSRPTv1; rua=<uri>,<uri>) at C(_smtp._tls.<domain>).
      - Not given (the default) leaves the TLS-RPT record alone, whatever it is.
      - A list of URIs makes the record exactly that; an empty list V([]) removes it.
      - With O(state=absent) both records are removed, so only V([]) or nothing may be given.
    type: list
    elements: str
  state:
    description:
      - V(present) publishes the records; V(absent) removes every C(v=STSv1) record at
        C(_mta-sts.<domain>) and every C(v=TLSRPTv1) record at C(_smtp._tls.<domain>).
      - Removing the record does not clear the policy that senders cached (rules E3, E4, RFC 8461 §8.3). First
        publish C(mode=none) with a new id, wait out the largest C(max_age) served, then remove.
    type: str
    choices: [present, absent]
    default: present
  server:
    description:
      - The primary (master) DNS server of the zones, as a host name or IP address. It is asked
        directly over TCP, and receives the updates.
      - Required, unless every item of O(domains) sets C(dns.server).
    type: str
  port:
    description: The TCP port of O(server).
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key (RFC 8945) that signs the queries and the updates, as configured on the server.
      - Without a key, the server must allow updates by address, which is not recommended.
    type: str
  key_secret:
    description:
      - The base64 secret of O(key_name). Keep it in Ansible Vault; it is never logged.
    type: str
  key_algorithm:
    description: The TSIG algorithm of O(key_name).
    type: str
    choices: [hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512]
    default: hmac-sha256
  zone:
    description:
      - The zone that holds the records, for example C(example.com).
      - When not given, found by asking O(server) for the SOA of C(_mta-sts.<domain>) and walking up
        towards the root until the server answers with the zone's SOA.
    type: str
  ttl:
    description:
      - TTL of the TXT records, in seconds.
      - The default of 300 makes a new policy id visible to every sender within five minutes
        (the id is what makes senders fetch a changed policy, RFC 8461 section 3.3); the policy
        itself is cached for its C(max_age), not this TTL, so a short TTL costs one cheap lookup
        and buys quick, predictable rollouts and rollbacks.
      - All TXT records at one name share one TTL (RFC 2181 section 5.2). When the wanted record
        is there with another TTL, the TXT RRset at that name is re-timed, unrelated records included.
    type: int
    default: 300
  timeout:
    description:
      - Seconds to wait for the TCP connection and for each answer of O(server).
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details: Reads the records from the server and reports the change; sends no UPDATE.
  diff_mode:
    support: full
    details: Shows the TXT records of every name that changes, before and after, in zone-file form.
  platform:
    support: full
    platforms: posix
requirements:
  - dnspython >= 2.4.0 (on the host that runs the module, usually the controller)
notes:
  - The records are those of RFC 8461 §3.1 (rules A1-A7) and RFC 8460 §3 (rules F1-F5).
  - Rule ids (such as C(B5)) are those of the collection's rule catalogue, C(docs/rules.md), which gives each rule's RFC section and usual fix.
  - A C(_mta-sts) or C(_smtp._tls) name that is a CNAME (delegated to a hosting provider, rule A7)
    is never written; the task fails naming the CNAME's target, with nothing changed.
  - With several zones, each zone is updated atomically, one after the other; if the update of a
    later zone fails, the error names the zones already updated.
  - Error messages name the server, zone and key, and the DNS or TSIG error (BADKEY, BADSIG, BADTIME,
    REFUSED, NOTAUTH, NOTZONE, timeouts, no SOA), with the fix.
seealso:
  - module: mailsec.mta_sts.policy
  - module: mailsec.mta_sts.verify
  - name: RFC 2136, Dynamic Updates in the Domain Name System
    description: The UPDATE message and its prerequisites.
    link: https://www.rfc-editor.org/rfc/rfc2136
  - name: RFC 8461, SMTP MTA Strict Transport Security
    description: Section 3.1 defines the C(_mta-sts) TXT record.
    link: https://www.rfc-editor.org/rfc/rfc8461
  - name: RFC 8460, SMTP TLS Reporting
    description: Section 3 defines the C(_smtp._tls) TXT record.
    link: https://www.rfc-editor.org/rfc/rfc8460
"""

EXAMPLES = r"""
- name: Compute the policy of example.com (the file is written on the policy hosts elsewhere)
  mailsec.mta_sts.policy:
    domain: example.com
    mode: enforce
    mx: [mx1.example.com, mx2.example.com]
  delegate_to: localhost
  register: example_policy

- name: Publish its id and a TLS-RPT record on the zone's primary
  mailsec.mta_sts.records:
    domain: example.com
    policy_id: "{{ example_policy.policy_id }}"
    tlsrpt_rua:
      - mailto:tlsrpt@example.com
    server: ns1.example.com
    key_name: mta-sts-update
    key_secret: "{{ vault_tsig_secret }}"
  delegate_to: localhost

- name: Publish many domains in one task, one UPDATE per zone
  mailsec.mta_sts.records:
    server: 192.0.2.53
    key_name: mta-sts-update
    key_secret: "{{ vault_tsig_secret }}"
    tlsrpt_rua: [mailto:tlsrpt@reports.example.net]
    domains: "{{ hosted_domains | map('combine', {'policy_id': shared_policy.policy_id}) }}"
  delegate_to: localhost
  register: published

- name: Mixed batch with per-domain settings and an explicit zone
  mailsec.mta_sts.records:
    server: ns1.example.net
    key_name: mta-sts-update
    key_secret: "{{ vault_tsig_secret }}"
    key_algorithm: hmac-sha512
    domains:
      - domain: example.net
        policy_id: 20261129T1200
      - domain: shop.example.net
        policy_id: 20261129T1200
        zone: example.net
        tlsrpt_rua: ["https://reports.example.net/tlsrpt"]
      - domain: old.example.org
        state: absent
  delegate_to: localhost

- name: Retire example.org, long after mode none was served (RFC 8461 section 8.3)
  mailsec.mta_sts.records:
    domain: example.org
    state: absent
    server: ns1.example.org
    key_name: mta-sts-update
    key_secret: "{{ vault_tsig_secret }}"
  delegate_to: localhost
"""

RETURN = r"""
domains:
  description:
    - One entry per domain, in order. C(sts) and C(tlsrpt) describe the records at
      C(_mta-sts.<domain>) and C(_smtp._tls.<domain>) (C(tlsrpt) is null when left alone),
      with every TXT value at the name before and after (strings joined), what was removed and added,
      and the TTL.
  returned: always
  type: list
  elements: dict
  sample:
    - domain: example.com
      state: present
      zone: example.com
      changed: true
      sts:
        name: _mta-sts.example.com
        changed: true
        before: ["v=STSv1; id=20260101", "v=STSv1; id=20250101", "google-site-verification=abc"]
        after: ["google-site-verification=abc", "v=STSv1; id=0fa693496f486611cde0b17de600d703"]
        removed: ["v=STSv1; id=20260101", "v=STSv1; id=20250101"]
        added: ["v=STSv1; id=0fa693496f486611cde0b17de600d703"]
        ttl: 300
      tlsrpt:
        name: _smtp._tls.example.com
        changed: false
        before: ["v=TLSRPTv1; rua=mailto:tlsrpt@example.com"]
        after: ["v=TLSRPTv1; rua=mailto:tlsrpt@example.com"]
        removed: []
        added: []
        ttl: 300
zones:
  description:
    - One entry per zone touched, with the number of UPDATE messages sent (0 in check mode or when
      nothing changed), the SOA serial after the run and the number of domains in it.
  returned: always
  type: list
  elements: dict
  sample:
    - zone: example.com
      changed: true
      updates: 1
      serial: 2026112902
      domains: 1
updates:
  description: The number of UPDATE messages sent in this run.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import run_task
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._records_publish import DEFAULT_TTL, run_records
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._transport import KEY_ALGORITHMS


def main():
    argument_spec = dict(
        domain=dict(type='str'),
        # Domain items, checked by model/_inventory.py (not by suboptions, which
        # would refuse the keys that other consumers of the same item read).
        domains=dict(type='list', elements='dict'),
        policy_id=dict(type='str'),
        tlsrpt_rua=dict(type='list', elements='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        server=dict(type='str'),
        port=dict(type='int', default=53),
        key_name=dict(type='str'),
        key_secret=dict(type='str', no_log=True),
        key_algorithm=dict(type='str', choices=list(KEY_ALGORITHMS), default='hmac-sha256'),
        zone=dict(type='str'),
        ttl=dict(type='int', default=DEFAULT_TTL),
        timeout=dict(type='float', default=10),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('domain', 'domains')],
        required_one_of=[('domain', 'domains')],
        supports_check_mode=True,
    )
    run_task(module, run_records)


if __name__ == '__main__':
    main()
