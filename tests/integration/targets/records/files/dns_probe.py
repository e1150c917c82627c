# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Look at (and tamper with) the lab's zones without the records module, so
that the tests check the module against an independent view of the server.

  dns_probe.py state --server S --port P [--soa ZONE]... [NAME]...
      prints {"soa": {zone: serial}, "txt": {name: [[string, ...], ...]},
      "wire": {name: hex of the sorted rdata}} read over TCP from S.
  dns_probe.py add --server S --port P --zone Z --key-name K --key-secret B64
      --key-algorithm A NAME VALUE [NAME VALUE]...
      adds TXT records with one plain RFC 2136 UPDATE (no prerequisites).
  dns_probe.py hang --address A --port P --seconds N
      accepts TCP connections on A:P and never answers (a hung server),
      until a client that sent a query gives up, or N seconds.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time

import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.tsig
import dns.update


def state(args):
    out = {'soa': {}, 'txt': {}, 'wire': {}}
    for zone in args.soa:
        answer = dns.query.tcp(dns.message.make_query(zone, 'SOA'), args.server, port=args.port, timeout=5)
        out['soa'][zone] = answer.answer[0][0].serial if answer.answer else None
    for name in args.names:
        answer = dns.query.tcp(dns.message.make_query(name, 'TXT'), args.server, port=args.port, timeout=5)
        records = []
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                records.extend(sorted([s.decode('ascii', 'backslashreplace') for s in rd.strings] for rd in rrset))
                out['wire'][name] = '%d:' % rrset.ttl + ','.join(sorted(rd.to_wire().hex() for rd in rrset))
            else:
                records.append(['%s %s' % (dns.rdatatype.to_text(rrset.rdtype), rrset[0].to_text())])
        out['txt'][name] = records
    json.dump(out, sys.stdout, sort_keys=True)


def add(args):
    key = dns.tsig.Key(args.key_name, args.key_secret, args.key_algorithm)
    update = dns.update.UpdateMessage(args.zone, keyring=key)
    pairs = args.pairs
    for name, value in zip(pairs[0::2], pairs[1::2]):
        # Absolute: a relative name would be taken relative to the zone.
        update.add(dns.name.from_text(name), 300, 'TXT', '"%s"' % value.replace('"', '\\"'))
    answer = dns.query.tcp(update, args.server, port=args.port, timeout=5)
    json.dump({'rcode': answer.rcode()}, sys.stdout)
    return 0 if answer.rcode() == 0 else 1


def hang(args):
    """Accept TCP connections and never answer. Ends when a client that
    sent something (a query) has given up and closed, or after --seconds,
    so that the address is free again for the next test."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, args.port))
    listener.listen(8)
    clients = {}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        readable = select.select([listener] + list(clients), [], [], 0.5)[0]
        for sock in readable:
            if sock is listener:
                clients[listener.accept()[0]] = False
                continue
            data = sock.recv(4096)
            if data:
                clients[sock] = True
                continue
            asked = clients.pop(sock)
            sock.close()
            if asked:
                return 0
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    p_state = sub.add_parser('state')
    p_state.add_argument('--server', required=True)
    p_state.add_argument('--port', type=int, default=53)
    p_state.add_argument('--soa', action='append', default=[])
    p_state.add_argument('names', nargs='*')
    p_add = sub.add_parser('add')
    p_add.add_argument('--server', required=True)
    p_add.add_argument('--port', type=int, default=53)
    p_add.add_argument('--zone', required=True)
    p_add.add_argument('--key-name', required=True)
    p_add.add_argument('--key-secret', required=True)
    p_add.add_argument('--key-algorithm', default='hmac-sha256')
    p_add.add_argument('pairs', nargs='+')
    p_hang = sub.add_parser('hang')
    p_hang.add_argument('--address', required=True)
    p_hang.add_argument('--port', type=int, default=53)
    p_hang.add_argument('--seconds', type=float, default=20)
    args = parser.parse_args()
    return {'state': state, 'add': add, 'hang': hang}[args.command](args) or 0


if __name__ == '__main__':
    sys.exit(main())
