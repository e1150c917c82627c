"""Watch one domain's rollout from outside the playbook, then judge the order.

    watch_order.py watch DOMAIN DNS_SERVER OUT FILE...   (until OUT.stop exists)
    watch_order.py judge OUT OLD_ID NEW_ID

Each round reads every policy file, then the _mta-sts TXT record straight
from the DNS server, then every policy file again, and appends the ids seen
as one JSON line. The files' id is derived from their bytes as the
collection derives it (first 32 hex digits of SHA-256).

The judgement: some round saw every file with the new bytes *before* it
read the old TXT id (the policy was served first); no round saw the new TXT
id and *then* an old file (the id was never published ahead of a host); the
new id did appear.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import dns.message
import dns.query
import dns.rdatatype


def file_id(path):
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:32]
    except FileNotFoundError:
        return None


def txt_id(domain, server):
    query = dns.message.make_query('_mta-sts.%s' % domain, dns.rdatatype.TXT)
    response = dns.query.udp(query, server, timeout=2)
    for rrset in response.answer:
        for rdata in rrset:
            text = b''.join(rdata.strings).decode()
            if text.startswith('v=STSv1'):
                return text.split('id=', 1)[1].strip().rstrip(';')
    return None


def watch(domain, server, out, files):
    with open(out, 'w') as handle:
        while not os.path.exists(out + '.stop'):
            before = [file_id(path) for path in files]
            txt = txt_id(domain, server)
            after = [file_id(path) for path in files]
            handle.write(json.dumps({'t': time.time(), 'before': before, 'txt': txt, 'after': after}) + '\n')
            handle.flush()
            time.sleep(0.02)


def judge(out, old_id, new_id):
    with open(out) as handle:
        rounds = [json.loads(line) for line in handle if line.strip()]
    served_first = [r for r in rounds if r['txt'] == old_id and all(i == new_id for i in r['before'])]
    ahead = [r for r in rounds if r['txt'] == new_id and any(i != new_id for i in r['after'])]
    published = [r for r in rounds if r['txt'] == new_id]
    print('%d rounds; %d saw every host serve the new policy while DNS still had the old id; '
          '%d saw the new id ahead of a host; %d saw the new id' % (
              len(rounds), len(served_first), len(ahead), len(published)))
    assert rounds and rounds[0]['txt'] == old_id, 'the watch must start before the rollout'
    assert served_first, 'no round saw every policy host serving the new bytes before the id changed'
    assert not ahead, 'the new id was published while a host still served old bytes: %r' % ahead[0]
    assert published, 'the new id was never published'


if __name__ == '__main__':
    if sys.argv[1] == 'watch':
        watch(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        judge(sys.argv[2], sys.argv[3], sys.argv[4])
