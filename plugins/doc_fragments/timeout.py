# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Network time limits of mailsec.mta_sts plugins.
    DOCUMENTATION = r'''
options:
  timeout:
    description:
      - Seconds allowed for each network operation.
      - A DNS question (all retries of it included), the whole policy fetch from one address
        (connect, TLS handshake, request and the complete body, a total time cap; RFC 8461
        section 3.3 suggests one minute), and each step of an SMTP probe.
    type: float
    default: 10
'''
