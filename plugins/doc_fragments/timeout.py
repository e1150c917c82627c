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
        section 3.3 suggests one minute), and the whole STARTTLS probe of one MX address
        (connect, greeting, EHLO, STARTTLS, handshake, EHLO again; also a total time cap).
    type: float
    default: 10
'''
