# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How mailsec.mta_sts plugins resolve names (module_utils/dns/_resolver.py).
    DOCUMENTATION = r'''
options:
  nameservers:
    description:
      - The DNS servers to ask instead of the system resolver (C(/etc/resolv.conf)).
      - Each entry is an address (V(192.0.2.53)), an address with a port (V(192.0.2.53:5353)),
        a bracketed IPv6 address with a port (V([2001:db8::53]:53)), or a host name that the
        system resolves once.
      - With O(authoritative=true), these servers are only used to find each zone and the
        addresses of its name servers.
      - The same servers answer every question of the run, as a sender's resolver would
        (TXT records, C(mta-sts.<domain>), the MX hosts and their addresses).
    type: list
    elements: str
  authoritative:
    description:
      - Ask the authoritative name servers of each zone (found through its NS records),
        without recursion, instead of a caching resolver.
      - Use it right after publishing a change, when caching resolvers may still hold the
        old answer for up to the record's TTL. Aliases (CNAME) are followed into the
        zone of their target.
      - Every name server of the zone is asked, not only the first that answers. The answer
        of the server with the newest zone (highest SOA serial) is used; mailsec.mta_sts.verify
        reports each server that still serves something else, naming it and what it serves,
        and each server that fails while another answers (a lame delegation).
    type: bool
    default: false
notes:
  - Every DNS answer is fetched once per run (per attempt when retrying) and shared by all
    the domains checked in that run.
  - Aliases (CNAME) are followed up to 8 in a row; a longer chain or a loop is a failed lookup.
'''
