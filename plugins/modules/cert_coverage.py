#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_coverage
short_description: Check in one task that certificates cover the MTA-STS policy host names
version_added: 0.1.0
description:
  - Reads many certificate and private key files on the managed host and reports, for each,
    which of the given host names its SAN DNS names cover (a wildcard only as the whole
    left-most label), whether it is valid now and for how many more days, and whether the key
    belongs to it.
  - Written for the M(mailsec.mta_sts.policy_host) role, which checks every certificate it is
    about to give nginx in one task however many domains it serves, and refuses one that does
    not cover C(mta-sts.<domain>) before nginx uses it. Its options and return values may
    change with that role; prefer the role to calling this module directly.
  - Never changes anything.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - cryptography >= 38.0 on the managed host (on Debian 12 and later, the python3-cryptography package)
options:
  certificates:
    description: The certificates to check.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: A name for this certificate, echoed in the result.
        type: str
        required: true
      cert:
        description: The PEM certificate file, leaf first (a full chain is fine).
        type: path
        required: true
      key:
        description: The PEM private key file (unencrypted).
        type: path
        required: true
      names:
        description: The host names the certificate must cover, for example C(mta-sts.example.com).
        type: list
        elements: str
        required: true
      source:
        description:
          - Where the certificate comes from (for example C(files), C(acme), C(selfsigned)), echoed in
            the result and matched by O(require_complete_sources).
        type: str
        version_added: 0.2.0
  min_days:
    description:
      - A certificate with fewer days of validity left is reported with C(renew=true).
    type: int
    default: 0
  require_complete:
    description:
      - Fail, listing every problem, unless each certificate exists, is valid now, matches its
        key and covers all its names.
    type: bool
    default: false
  require_complete_sources:
    description:
      - Like O(require_complete), for the certificates whose O(certificates[].source) is listed
        only. The M(mailsec.mta_sts.policy_host) role checks every certificate in one task and
        requires the ones given as files to be complete, since it cannot make them itself.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - RFC 8461 §3.3 and §7.1 (rules C1, C5) - a sender accepts the policy only from a server whose
    certificate carries a SAN DNS name matching C(mta-sts.<domain>); the common name is not used.
  - The chain is not checked against a trust store here; M(mailsec.mta_sts.verify) checks the
    live host as a sender does.
  - Rule ids (such as C(B5)) are those of the collection's rule catalogue, C(docs/rules.md), which gives each rule's RFC section and usual fix.
seealso:
  - module: mailsec.mta_sts.verify
  - module: community.crypto.x509_certificate_info
"""

EXAMPLES = r"""
- name: Refuse certificates that do not cover the policy hosts
  mailsec.mta_sts.cert_coverage:
    require_complete: true
    certificates:
      - id: wildcard
        cert: /etc/ssl/mta-sts/wildcard.example.net.pem
        key: /etc/ssl/mta-sts/wildcard.example.net.key
        names:
          - mta-sts.example.net
      - id: example-com
        cert: /etc/ssl/mta-sts/example.com.pem
        key: /etc/ssl/mta-sts/example.com.key
        names:
          - mta-sts.example.com

- name: Which ACME certificates need a new issuance (missing names or under 30 days left)
  mailsec.mta_sts.cert_coverage:
    min_days: 30
    certificates: "{{ acme_batches }}"
  register: coverage
"""

RETURN = r"""
certificates:
  description: One entry per item of O(certificates), in order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The O(certificates[].id).
      type: str
      sample: example-com
    cert:
      description: The O(certificates[].cert).
      type: str
      sample: /etc/ssl/mta-sts/example.com.pem
    key:
      description: The O(certificates[].key).
      type: str
      sample: /etc/ssl/mta-sts/example.com.key
    source:
      description: The O(certificates[].source), or null.
      type: str
      sample: files
      version_added: 0.2.0
    exists:
      description: Whether the certificate file exists.
      type: bool
      sample: true
    dns_names:
      description: The SAN DNS names of the leaf certificate, lower case.
      type: list
      elements: str
      sample: [mta-sts.example.com]
    covered:
      description: The O(certificates[].names) that a SAN DNS name matches.
      type: list
      elements: str
      sample: [mta-sts.example.com]
    missing:
      description: The O(certificates[].names) that no SAN DNS name matches.
      type: list
      elements: str
      sample: []
    not_after:
      description: End of validity (UTC, ISO 8601), or null when unreadable.
      type: str
      sample: '2027-02-27T10:00:00Z'
    days_left:
      description: Whole days of validity left, or null when unreadable.
      type: int
      sample: 89
    key_matches:
      description: Whether the private key belongs to the certificate.
      type: bool
      sample: true
    usable:
      description: Valid now, matching its key, covering at least one name.
      type: bool
      sample: true
    complete:
      description: Usable and covering every name.
      type: bool
      sample: true
    renew:
      description: Not complete, or fewer than O(min_days) days left.
      type: bool
      sample: false
    problems:
      description: What is wrong, one sentence each.
      type: list
      elements: str
      sample: []
usable:
  description: The ids of the usable certificates.
  returned: always
  type: list
  elements: str
  sample: [example-com]
renew:
  description: The ids of the certificates to (re)issue.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import run_task
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._certs import run_cert_coverage


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificates=dict(type='list', elements='dict', required=True, options=dict(
                id=dict(type='str', required=True),
                cert=dict(type='path', required=True),
                key=dict(type='path', required=True, no_log=False),
                names=dict(type='list', elements='str', required=True),
                source=dict(type='str'),
            )),
            min_days=dict(type='int', default=0),
            require_complete=dict(type='bool', default=False),
            require_complete_sources=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    run_task(module, run_cert_coverage)


if __name__ == '__main__':
    main()
