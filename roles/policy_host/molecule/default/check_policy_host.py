# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch policies from a policy host as a sender would, and probe what it must refuse.

Usage: python check_policy_host.py SPEC.json, where SPEC is
{"ca_bundle": path, "domains": {domain: expected policy text}}. Names resolve
through the system resolver (the lab DNS inside the lab). Prints one line
per failed check and exits 1 if there is any.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import sys

POLICY_PATH = '/.well-known/mta-sts.txt'


def context(ca_bundle, minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.MAXIMUM_SUPPORTED):
    ctx = ssl.create_default_context(cafile=ca_bundle)
    if maximum < ssl.TLSVersion.TLSv1_2:
        # Let this client offer old versions, so that a refusal comes from the server.
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum
    return ctx


def get(host, path, ctx=None, port=None):
    if ctx is None:
        conn = http.client.HTTPConnection(host, port or 80, timeout=10)
    else:
        conn = http.client.HTTPSConnection(host, port or 443, timeout=10, context=ctx)
    try:
        conn.request('GET', path, headers={'User-Agent': 'policy-host-check'})
        response = conn.getresponse()
        return response.status, response.getheader('Content-Type'), response.getheader('Location'), response.read()
    finally:
        conn.close()


def handshake_error(host, ctx, server_hostname=None):
    """The SSL error the server answers with, or None if the handshake succeeds."""
    with socket.create_connection((host, 443), timeout=10) as sock:
        try:
            with ctx.wrap_socket(sock, server_hostname=server_hostname or host):
                return None
        except ssl.SSLError as exc:
            return exc


def check(spec):
    failures = []
    ca_bundle = spec['ca_bundle']
    good = context(ca_bundle)
    for domain, expected in spec['domains'].items():
        host = 'mta-sts.%s' % domain
        status, ctype, location, body = get(host, POLICY_PATH, good)
        if status != 200:
            failures.append('%s: policy status %s, want 200 (C2)' % (host, status))
        if ctype != 'text/plain':
            failures.append('%s: Content-Type %r, want text/plain (C3)' % (host, ctype))
        if location:
            failures.append('%s: policy answer has a Location header %s (C2)' % (host, location))
        if body != expected.encode('ascii'):
            failures.append('%s: served %r, want %r' % (host, body, expected))
        for path in ('/', '/.well-known/', '/.well-known/mta-sts.txt.bak', '/index.html'):
            status, dummy, location, dummy = get(host, path, good)
            if status != 404 or location:
                failures.append('%s%s: status %s location %s, want a plain 404' % (host, path, status, location))
        status, dummy, location, dummy = get(host, POLICY_PATH)
        if status != 404 or location:
            failures.append('http://%s%s: status %s location %s, want a plain 404' % (host, POLICY_PATH, status, location))
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            error = handshake_error(host, context(ca_bundle, version, version))
            if error is not None:
                failures.append('%s: %s refused: %s' % (host, version.name, error))
        old = context(ca_bundle, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
        error = handshake_error(host, old)
        if error is None:
            failures.append('%s: accepted TLS below 1.2' % host)
        elif 'PROTOCOL_VERSION' not in error.reason.upper() and 'UNSUPPORTED_PROTOCOL' not in error.reason.upper():
            failures.append('%s: TLS 1.1 failed for another reason than the version: %s' % (host, error))
    # A name the host does not serve: the handshake is aborted (C5), no default certificate.
    first = 'mta-sts.%s' % next(iter(spec['domains']))
    error = handshake_error(socket.gethostbyname(first), good, server_hostname='mta-sts.not-served.test')
    if error is None or 'UNRECOGNIZED_NAME' not in error.reason.upper():
        failures.append('an unknown name got %s, want an aborted handshake (unrecognized_name)' % (error or 'a certificate'))
    return failures


def main():
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    failures = check(spec)
    for failure in failures:
        print(failure)
    if not failures:
        print('ok: %d domains' % len(spec['domains']))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
