# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time the policy_host role for N domains: first run, then an unchanged re-run.

Wall time and CPU time (of ansible-playbook and its module processes, from
getrusage) for each; on a shared machine the CPU figure is the steadier one.

Certificates come from files (one ECDSA certificate per domain from a
throwaway trustme CA, the worst case for nginx: one server block each), so
the numbers measure the role, not a CA. Runs the role on localhost in a
dedicated nginx instance; inside the lab (tests/lab/run -- ...) it listens on
the lab's reserved policy host address, elsewhere on 127.0.77.1 with high
ports. Not part of `make test`.

    tests/lab/run -- .venv/bin/python bench/policy_host_bench.py 10 1000

Needs ANSIBLE_COLLECTIONS_PATH to find mailsec.mta_sts and community.crypto.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import http.client
import socket

import trustme

FACTS = '/run/mta-sts-lab/facts.json'
HERE = os.path.dirname(os.path.abspath(__file__))

# The domains come from the inventory (group_vars), as with the collection
# playbooks. Not from a play's vars_files: ansible-core 2.19 parses those
# again for every task, which for 1000 domains costs more than the role.
PLAYBOOK = """
- hosts: policy_hosts
  gather_facts: false
  roles:
    - role: mailsec.mta_sts.policy_host
"""
INVENTORY = """
policy_hosts:
  hosts:
    localhost:
      ansible_connection: local
"""


def listen_settings():
    if os.path.exists(FACTS):
        with open(FACTS) as handle:
            facts = json.load(handle)
        return facts['policy_host_addresses'][0], 443, 80
    return '127.0.77.1', 18443, 18080


def make_certs(workdir, domains):
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
    ca_path = os.path.join(workdir, 'ca.pem')
    ca.cert_pem.write_to_path(ca_path)
    items = []
    for domain in domains:
        leaf = ca.issue_cert('mta-sts.%s' % domain, key_type=trustme.KeyType.ECDSA)
        cert = os.path.join(workdir, 'certs', '%s.crt' % domain)
        key = os.path.join(workdir, 'certs', '%s.key' % domain)
        leaf.cert_chain_pems[0].write_to_path(cert)
        leaf.private_key_pem.write_to_path(key)
        os.chmod(key, 0o600)
        items.append({'domain': domain, 'mode': 'enforce', 'mx': ['mx1.%s' % domain, 'mx2.%s' % domain],
                      'max_age': 604800, 'cert_file': cert, 'key_file': key})
    return ca_path, items


def fetch(address, port, name, ca_path):
    ctx = ssl.create_default_context(cafile=ca_path)
    with socket.create_connection((address, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            conn = http.client.HTTPConnection(name)
            conn.sock = tls
            conn.request('GET', '/.well-known/mta-sts.txt')
            response = conn.getresponse()
            return response.status, response.getheader('Content-Type'), response.read()


def run_playbook(workdir):
    """Run the play once: (wall seconds, CPU seconds of ansible and its modules, changed tasks)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(['ansible-playbook', '-i', 'inventory.yml',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, 'site.yml'],
                          cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = proc.stdout.decode()
    if proc.returncode != 0:
        sys.exit('ansible-playbook failed:\n' + output[-4000:])
    recap = [line for line in output.splitlines() if line.startswith('localhost ')][-1]
    changed = int(recap.split('changed=')[1].split()[0])
    return elapsed, cpu, changed


def bench(count):
    address, https_port, http_port = listen_settings()
    workdir = tempfile.mkdtemp(prefix='policy-host-bench-%d-' % count)
    os.chmod(workdir, 0o755)  # nginx workers must reach the webroot inside
    os.makedirs(os.path.join(workdir, 'certs'))
    domains = ['d%04d.bench.test' % i for i in range(count)]
    ca_path, items = make_certs(workdir, domains)
    settings = {
        'policy_host_domains': items,
        'policy_host_cert_source': 'files',
        'policy_host_base_dir': os.path.join(workdir, 'host'),
        'policy_host_nginx_instance': 'dedicated',
        'policy_host_install_packages': False,
        'policy_host_listen_ipv4': [address],
        'policy_host_listen_ipv6': [],
        'policy_host_https_port': https_port,
        'policy_host_http_port': http_port,
    }
    os.makedirs(os.path.join(workdir, 'group_vars'))
    with open(os.path.join(workdir, 'group_vars', 'policy_hosts.json'), 'w') as handle:
        json.dump(settings, handle)
    with open(os.path.join(workdir, 'inventory.yml'), 'w') as handle:
        handle.write(INVENTORY)
    with open(os.path.join(workdir, 'site.yml'), 'w') as handle:
        handle.write(PLAYBOOK)
    try:
        first, first_cpu, first_changed = run_playbook(workdir)
        again, again_cpu, again_changed = run_playbook(workdir)
        last = domains[-1]
        status, ctype, body = fetch(address, https_port, 'mta-sts.%s' % last, ca_path)
        if status != 200 or ctype != 'text/plain' or not body.startswith(b'version: STSv1\r\n'):
            sys.exit('mta-sts.%s: got %s %s %r' % (last, status, ctype, body[:40]))
    finally:
        pid_file = os.path.join(workdir, 'host', 'nginx', 'nginx.pid')
        if os.path.exists(pid_file):
            with open(pid_file) as handle:
                os.kill(int(handle.read()), 3)  # SIGQUIT: graceful stop
            time.sleep(1)
        shutil.rmtree(workdir, ignore_errors=True)
    return {'domains': count, 'first_run_s': round(first, 1), 'first_cpu_s': round(first_cpu, 1),
            'first_changed': first_changed, 're_run_s': round(again, 1), 're_run_cpu_s': round(again_cpu, 1),
            're_run_changed': again_changed, 'load_average': round(os.getloadavg()[0], 1)}


def main():
    counts = [int(arg) for arg in sys.argv[1:]] or [10, 1000]
    results = [bench(count) for count in counts]
    print('| domains | first run (wall / CPU) | changed tasks | unchanged re-run (wall / CPU) | changed tasks | load |')
    print('|---|---|---|---|---|---|')
    for r in results:
        print('| %(domains)d | %(first_run_s)s s / %(first_cpu_s)s s | %(first_changed)d '
              '| %(re_run_s)s s / %(re_run_cpu_s)s s | %(re_run_changed)d | %(load_average)s |' % r)
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'policy_host.json'), 'w') as handle:
        json.dump(results, handle, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
