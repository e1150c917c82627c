#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: verify
short_description: Check live MTA-STS and TLS-RPT deployments as a sending MTA would
version_added: 0.1.0
description:
  - Checks one or many mail domains the way a sending MTA sees them (RFC 8461, RFC 8460),
    and reports every finding with the rule it breaks and how to fix it.
  - "For each domain: the C(_mta-sts) TXT record (rules A1-A7, RFC 8461 §3.1); the policy host
    C(mta-sts.<domain>): its addresses, TLS 1.2+, the certificate chain, name and expiry (rules C1, C5);
    the HTTPS fetch of C(/.well-known/mta-sts.txt) from every address: status 200 only, redirects
    reported but not followed, C(Content-Type: text/plain), a 64 KiB size cap and a total time cap
    (rules C2-C4, RFC 8461 §3.3); the policy itself, strictly (rules B1-B7, RFC 8461 §3.2), with warnings for
    what lenient senders tolerate; whether the TXT id is the id derived from the served bytes (rule E1); every MX
    of the domain against the policy patterns (rules D1, D3, RFC 8461 §4.1) and, for each MX address, STARTTLS,
    TLS version, certificate chain, name and expiry (rule D2, RFC 8461 §4.2); the C(_smtp._tls) TLS-RPT record
    (rules F1-F5, RFC 8460 §3); and
    optional expectations (mode, mx, max_age, exact policy text, TXT id, TLS-RPT rua)."
  - Domains are checked concurrently (O(parallel) threads in each of O(processes) worker processes).
    Each DNS answer and each MX probe is done once per run and worker process, even when many
    domains share them (hosting providers).
  - Runs on the controller and changes nothing but the optional O(report) file.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
  - mailsec.mta_sts.resolver
  - mailsec.mta_sts.tls_trust
  - mailsec.mta_sts.timeout
requirements:
  - dnspython >= 2.4.0
attributes:
  check_mode:
    support: full
    details: The checks only read. In check mode the report file is not written; RV(ignore:changed) says whether it would change.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  domains:
    description:
      - The domains to check. Each entry is a domain name, or a dictionary with the key
        C(domain) and optional expectations.
      - "Expectation keys: C(mode) (V(enforce), V(testing), V(none)); C(mx) (the list of
        patterns the policy must carry, in any order); C(max_age) (seconds); C(policy) (the exact
        policy text that must be served, for example the RV(mailsec.mta_sts.policy#module:policy)
        return of M(mailsec.mta_sts.policy)); C(policy_id) (the id the TXT record must carry);
        C(tlsrpt_rua) (the list of TLS-RPT report URIs); C(derived_id) (overrides O(derived_id)
        for this domain)."
      - An expectation that is not met is an error finding of check C(expect).
      - The dictionaries may be domain items of the collection's one inventory shape (C(docs/inventory.md)),
        the same items that M(mailsec.mta_sts.policy), M(mailsec.mta_sts.records) and the
        C(mailsec.mta_sts.policy_host) role take. This module passes over the keys that belong to the
        others (C(state), C(cert_source), C(cert_file), C(key_file), C(dns), C(zone)) and refuses any other key,
        naming the closest valid one. An item that carries a TSIG secret (C(dns.key_secret)) is refused, since
        a module would log it.
        It checks every item it is given, C(state=absent) ones included; leave those out to skip them.
    type: list
    elements: raw
    required: true
  check_mx_tls:
    description:
      - Connect to every address of every MX host on port 25 and check STARTTLS, the TLS version
        and the certificate (chain, name = MX host name, expiry) (rule D2).
      - Each MX address is probed once per run, however many domains use it.
      - Problems are errors when the policy mode is V(enforce) (senders refuse delivery, rule D4),
        warnings under V(testing) or without a valid policy, and information under V(none).
    type: bool
    default: true
  derived_id:
    description:
      - When the TXT id differs from the id derived from the served policy bytes (the first 32
        hex digits of their SHA-256, as M(mailsec.mta_sts.policy) computes it), report an
        error (V(true)) or only information (V(false)).
      - Set it to V(true) for domains deployed with this collection, whose ids are always
        derived, so a difference then means that the policy changed but the id was not bumped
        (rule E1), or that the new id is not published yet.
      - Leave it V(false) for domains that use their own id scheme (dates, counters).
      - Ignored for a domain with an explicit C(policy_id) expectation, which is compared instead.
    type: bool
    default: false
  parallel:
    description:
      - How many domains are checked at the same time (threads), in each worker process (O(processes)).
    type: int
    default: 16
  processes:
    description:
      - How many worker processes share the domains, so that TLS handshakes, DNS parsing and
        judging use every CPU core of the controller (Python threads share one core for that work).
      - Not given, one process per CPU core once there are at least 100 domains per process;
        fewer domains are checked in this process alone. V(1) never starts a worker process.
      - Each worker process asks a name that many domains share (an MX host's address) and probes
        a shared MX address once for itself, so at most O(processes) times per run.
    type: int
  detail:
    description:
      - V(compact) returns per domain what a play acts on (RV(domains[].status),
        RV(domains[].sender_gets_policy), RV(domains[].mode), RV(domains[].policy_id),
        RV(domains[].mx) host and coverage, RV(domains[].findings), RV(domains[].attempts)),
        the same fields as the O(report).
      - V(full) adds what was seen (records, fetches with certificates, the policy text, MX probes).
        It is about twenty times larger, and Ansible's cost of carrying a result grows with its
        size, so for thousands of domains most of the play's time then goes into the result.
    type: str
    choices: [compact, full]
    default: compact
  slice_count:
    description:
      - Split O(domains) into this many slices, for checker hosts that each check one slice
        (O(slice_index)) side by side; a final task merges them (O(merge)).
      - A domain's slice is a stable hash of its name, the same on every host and run, so the slices never
        overlap and together cover every domain. The result and the summary hold this slice only.
    type: int
    default: 1
  slice_index:
    description:
      - Which slice this task checks, from V(0) to O(slice_count) minus one (for example the index of
        C(inventory_hostname) in the checker group).
    type: int
    default: 0
  merge:
    description:
      - The registered results of the slices' verify tasks. The task then checks nothing. It returns
        the domains of O(domains), in their order, from the slices, one summary (costs added up,
        C(elapsed) of the slowest slice) and writes one O(report), exactly as a single run over
        O(domains) would (the report has no timings, so it is the same file).
      - Fails naming a domain that no slice, or two slices, checked.
    type: list
    elements: dict
  fail_on:
    description:
      - V(error) fails the task when a domain has an error finding.
      - V(warning) fails it when a domain has an error or a warning finding.
      - V(never) never fails the task on findings; read RV(domains) and RV(summary).
      - Bad input (an invalid domain name or expectation, an unreadable O(ca_path)) always fails.
    type: str
    choices: [error, warning, never]
    default: error
  retries:
    description:
      - How many times to check again the domains that would fail the task (with O(fail_on=never),
        the domains with errors), waiting O(delay) seconds before each new attempt.
      - Every attempt asks DNS and the servers afresh. Use it after a deploy to wait until
        the change has converged.
    type: int
    default: 0
  delay:
    description:
      - Seconds to wait before each retry.
    type: float
    default: 10
  report:
    description:
      - Write a report of the run to this file (JSON, Markdown or HTML; see O(report_format)).
      - The report holds the summary and, per domain, the status, the sender's verdict, the mode
        and the findings; no timings, so the file only changes when the findings do.
      - The file is replaced atomically; the directory must exist.
      - The file options (O(mode), O(owner), O(group), the SELinux options and O(attributes)) apply to
        the report. Without O(mode), the report gets mode V(0644).
    type: path
  report_format:
    description:
      - The format of O(report). Default is from its extension (C(.json), C(.md), C(.html)).
    type: str
    choices: [json, markdown, html]
notes:
  - "RFC 8461 section 3.3 (policy fetch), section 4 (MX validation) and RFC 8460 section 3 (TLS-RPT).
    Rule ids (such as C(B5)) are those of the collection's rule catalogue, C(docs/rules.md), which gives
    each rule's RFC section and usual fix. C(docs/verify.md) lists every finding."
  - "Senders cache policies (rule E3, RFC 8461 §5.1): a domain that passes now may still be seen with an older
    policy by senders until its previous C(max_age) has passed."
seealso:
  - module: mailsec.mta_sts.policy
  - module: mailsec.mta_sts.records
  - plugin: mailsec.mta_sts.live_policy
    plugin_type: lookup
  - name: RFC 8461 SMTP MTA Strict Transport Security (MTA-STS)
    description: The standard a sender follows.
    link: https://www.rfc-editor.org/rfc/rfc8461
  - name: RFC 8460 SMTP TLS Reporting
    description: The TLS-RPT record.
    link: https://www.rfc-editor.org/rfc/rfc8460
'''

EXAMPLES = r'''
- name: Verify two domains with the system resolver and trust store
  mailsec.mta_sts.verify:
    domains:
      - example.com
      - example.org

- name: After a deploy, ask the authoritative servers and wait for convergence
  mailsec.mta_sts.verify:
    domains:
      - domain: example.com
        mode: enforce
        mx: [mx1.example.com, mx2.example.com]
        max_age: 604800
        policy_id: "{{ policy_result.policy_id }}"
        tlsrpt_rua: [mailto:tlsrpt@example.com]
    authoritative: true
    retries: 6
    delay: 10

- name: Nightly monitoring of many domains; never fail, write an HTML report
  mailsec.mta_sts.verify:
    domains: "{{ mail_domains }}"
    parallel: 32
    fail_on: never
    report: /var/www/reports/mta-sts.html
  register: mta_sts_check

- name: Show what needs fixing
  ansible.builtin.debug:
    msg: "{{ mta_sts_check.domains | selectattr('status', '!=', 'ok') | map(attribute='domain') | list }}"

- name: Check against a lab CA and lab name server only
  mailsec.mta_sts.verify:
    domains: [example.test]
    nameservers: ["127.0.0.1:53"]
    ca_path: /etc/lab/ca.pem
    ca_mode: replace
    timeout: 5
'''

RETURN = r'''
domains:
  description: One result per domain, in the order of O(domains).
  returned: always
  type: list
  elements: dict
  contains:
    domain:
      description: The domain (A-label, lower case).
      type: str
      sample: example.com
    status:
      description: V(error) if any finding is an error, V(warning) if any is a warning, else V(ok).
      type: str
      sample: ok
    sender_gets_policy:
      description:
        - Whether a sender gets a valid policy now (one valid C(v=STSv1) record and a policy
          file that a sender accepts, fetched with status 200, C(text/plain), within the caps).
      type: bool
      sample: true
    mode:
      description: The mode a sender acts on, or V(null) when it gets no policy.
      type: str
      sample: enforce
    attempts:
      description: How many attempts this domain took (see O(retries)).
      type: int
      sample: 1
    policy_id:
      description: The id of the C(_mta-sts) TXT record a sender uses, or V(null) when there is no valid record.
      type: str
      sample: 4f2a0c1d9e8b7a6f5e4d3c2b1a09f8e7
    sts_record:
      description: The C(_mta-sts) TXT records seen (C(records), strings joined) and the id a sender uses (C(id)).
      returned: when O(detail=full)
      type: dict
      sample: {name: _mta-sts.example.com, records: ["v=STSv1; id=4f2a..."], id: "4f2a..."}
    policy_host:
      description:
        - The policy host, its addresses and one fetch per address (C(status), C(content_type),
          C(location), C(size), C(tls_version), C(certificate) with C(sans), C(not_after), C(days_left),
          C(cn_only), C(http_version), C(framing), C(content_types), C(content_encoding), C(stage),
          C(error_kind), C(error), C(elapsed)); docs/verify.md lists the error kinds.
      returned: when O(detail=full)
      type: dict
    policy:
      description: The served text (C(text)), a sender's parsed view (C(parsed)), and the id derived from the bytes (C(derived_id)).
      returned: when O(detail=full)
      type: dict
      sample: {text: "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n",
               parsed: {version: STSv1, mode: enforce, mx: [mx1.example.com], max_age: 604800, extensions: {}},
               derived_id: 4f2a0c1d9e8b7a6f5e4d3c2b1a09f8e7}
    mx:
      description:
        - Every MX host with C(host) and C(covered) (by the policy patterns, rule D1).
        - With O(detail=full) also C(preference) and, when O(check_mx_tls) is on, C(addresses), one
          probe per address (C(starttls), C(tls_version), C(certificate), C(cn_only), C(stage),
          C(error_kind), C(error), C(elapsed)).
      type: list
      elements: dict
    tlsrpt:
      description: The C(_smtp._tls) records seen and the C(rua) a sender uses.
      returned: when O(detail=full)
      type: dict
      sample: {name: _smtp._tls.example.com, records: ["v=TLSRPTv1; rua=mailto:tlsrpt@example.com"], rua: [mailto:tlsrpt@example.com]}
    findings:
      description:
        - Every finding, each with C(check), C(severity) (error, warning, info), C(rule) (its id in the
          rule catalogue, C(docs/rules.md)), C(message) and C(hint) (the fix). An unexpected error while
          checking one domain is a finding of check C(internal) without rule for that domain alone.
      type: list
      elements: dict
      sample:
        - check: fetch
          severity: error
          rule: C3
          message: "mta-sts.example.com: served as text/html, not text/plain; several senders refuse it"
          hint: 'serve the policy with "Content-Type: text/plain"'
    elapsed:
      description: Seconds spent on this domain in its last attempt.
      returned: when O(detail=full)
      type: float
summary:
  description:
    - Counts over all domains, and the cost of the run (C(attempts), C(dns_queries), C(mx_probes),
      C(processes), C(elapsed)).
    - C(slice) (C(index), C(count)) when O(slice_count) is set; C(slices), the number merged, with O(merge).
  returned: always
  type: dict
  sample:
    domains: 2
    ok: 1
    warning: 0
    error: 1
    sender_gets_policy: 1
    findings: {error: 1, warning: 0, info: 2}
    rules: {C3: 1}
    attempts: 1
    dns_queries: 14
    mx_probes: 2
    processes: 1
    slice: {index: 0, count: 1}
    elapsed: 0.4
report:
  description: The path of the report file.
  returned: when O(report) is set
  type: str
  sample: /var/www/reports/mta-sts.html
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import run_task
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import resolver_argument_spec
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import FAIL_ON, REPORT_FORMATS
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._verify import run_verify
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import tls_argument_spec


def main():
    argument_spec = dict(
        domains=dict(type='list', elements='raw', required=True),
        check_mx_tls=dict(type='bool', default=True),
        derived_id=dict(type='bool', default=False),
        parallel=dict(type='int', default=16),
        processes=dict(type='int'),
        detail=dict(type='str', default='compact', choices=['compact', 'full']),
        slice_index=dict(type='int', default=0),
        slice_count=dict(type='int', default=1),
        merge=dict(type='list', elements='dict'),
        fail_on=dict(type='str', default='error', choices=list(FAIL_ON)),
        retries=dict(type='int', default=0),
        delay=dict(type='float', default=10),
        report=dict(type='path'),
        report_format=dict(type='str', choices=list(REPORT_FORMATS)),
        timeout=dict(type='float', default=10),
    )
    argument_spec.update(resolver_argument_spec())
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    run_task(module, run_verify)


if __name__ == '__main__':
    main()
