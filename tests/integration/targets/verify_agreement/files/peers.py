#!/usr/bin/env python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask two independent MTA-STS implementations whether a sender gets a valid
policy for each domain, inside the lab (the system resolver is the lab DNS).

  peers.py CA_BUNDLE DOMAIN...

Prints JSON: {domain: {"mta_sts_query": bool, "checkdmarc": bool,
"mta_sts_query_output": str, "checkdmarc_mta_sts": {...}}}.

- mta-sts-query (postfix-mta-sts-resolver, what Postfix uses as a sender):
  valid when it prints STSFetchResult.VALID.
- checkdmarc: valid when its "mta_sts" section says valid.
Neither has a CA option: the lab CA reaches them through SSL_CERT_FILE and
REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def run(command, env, timeout=90):
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 'timed out after %ds' % timeout, ''
    return proc.stdout, proc.stderr


def find(tool):
    """The peer tools come with the test venv: next to this Python, or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), tool)
    found = beside if os.access(beside, os.X_OK) else shutil.which(tool)
    if not found:
        sys.exit('%s is not installed (pip install postfix-mta-sts-resolver checkdmarc)' % tool)
    return found


def ask(domain, env):
    out, err = run([find('mta-sts-query'), domain], env)
    mta_sts_query = 'STSFetchResult.VALID' in out
    out = (out + err)
    out2, err2 = run([find('checkdmarc'), domain, '-f', 'json', '-t', '5'], env)
    try:
        section = json.loads(out2)['mta_sts']
    except (ValueError, KeyError, TypeError):
        section = {'valid': False, 'error': 'unreadable output: %s' % (out2 + err2)[-300:]}
    return domain, {
        'mta_sts_query': mta_sts_query,
        'mta_sts_query_output': (out or '').strip()[-400:],
        'checkdmarc': bool(section.get('valid')),
        'checkdmarc_mta_sts': section,
    }


def main():
    ca_bundle = sys.argv[1]
    env = dict(os.environ, SSL_CERT_FILE=ca_bundle, REQUESTS_CA_BUNDLE=ca_bundle)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = dict(pool.map(lambda domain: ask(domain, env), sys.argv[2:]))
    json.dump(answers, sys.stdout, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
