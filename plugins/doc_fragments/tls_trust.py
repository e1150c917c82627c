# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Which certificate authorities mailsec.mta_sts plugins trust (module_utils/web/_tls.py).
    DOCUMENTATION = r'''
options:
  ca_path:
    description:
      - A CA bundle (a PEM file with one or more CA certificates, or an OpenSSL hashed
        certificate directory) to trust when checking the certificates of policy hosts
        and MX hosts.
      - How it combines with the system trust store is set by O(ca_mode).
      - Certificate verification is always on; there is no option to switch it off,
        because a sender never switches it off either (RFC 8461 section 3.3, 4.2).
    type: path
  ca_mode:
    description:
      - V(add) trusts the CAs of O(ca_path) in addition to the system trust store
        (which honours the E(SSL_CERT_FILE) and E(SSL_CERT_DIR) environment variables).
        Use it for an internal CA next to the public ones.
      - V(replace) trusts only the CAs of O(ca_path). Use it to prove that a deployment
        works with a given trust store, for example a lab CA, or the bundle your
        senders use. Requires O(ca_path).
    type: str
    choices: [add, replace]
    default: add
'''
