# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark driver: the collection against the tools a user would run instead.

For each N it builds a lab world (tests/lab/run with a generated scenario:
N domains per group, one zone per domain, all sharing three MX hosts) and,
inside it, times with os.wait4 (wall, user+system CPU of the whole process
tree, peak resident memory of its largest process, as /usr/bin/time -v):

* deploy:        the policy_host role (certificates from files) plus the records
                 module, as one play: first run, unchanged re-run, 1% of the
                 policies changed;
* verify:        mailsec.mta_sts.verify of the N domains with MX TLS checks
                 (the whole ansible-playbook, and the module's own time);
* checkdmarc:    one checkdmarc process for the N domains, --check-mx-tls;
* mta-sts-query: postfix-mta-sts-resolver's client, one process per domain
                 (it takes one domain), two at a time (xargs -P 2);
* records:       mailsec.mta_sts.records publishing N domains in N zones: first
                 run, unchanged re-run.

Every measurement is repeated (--runs, median reported); within a repetition
the tools run one after the other, so ours/peer ratios are taken pair by pair
in the same lab. The loopback floor (HTTPS handshakes + GET per second and DNS
questions per second of one client thread) is measured in every lab, and the
largest verify case is profiled once with py-spy (all processes of the play).

    bench/run.py                                  # the full run, writes docs/benchmarks.md
    bench/run.py --sizes 100 --tools verify,checkdmarc --runs 3 --doc /tmp/b.md
    bench/run.py --smoke                          # N=5, one run: numbers exist, no times asserted

`make bench` runs it with the bench venv (.cache/bench-venv, bench/requirements.txt).
The lab needs root (or unprivileged user namespaces), see docs/lab.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FACTS = '/run/mta-sts-lab/facts.json'
TOOLS = ('deploy', 'verify', 'checkdmarc', 'mta-sts-query', 'records')
PEERS = ('checkdmarc', 'mta-sts-query')
TLSRPT = 'mailto:tlsrpt@provider.test'
MX_HOSTS = ['mx1.example.test', 'mx2.example.test', 'mx.provider.test']
POLICY_ADDRESS = '127.0.0.10'


# ---------------------------------------------------------------------------
# Host side: one lab per N, then the document


def scenario(n, groups):
    """A lab world: N domains per group, one zone per domain, three shared MX hosts."""
    generate = []
    if 'verify' in groups:
        generate.append({'name': 'v{n:05d}.bench.test', 'zone': 'v{n:05d}.bench.test', 'group': 'verify',
                         'count': n, 'kind': 'good', 'mx': MX_HOSTS,
                         'policy': {'mode': 'enforce', 'max_age': 604800},
                         'tlsrpt': 'v=TLSRPTv1; rua=%s' % TLSRPT})
    if 'deploy' in groups:
        generate.append({'name': 'p{n:05d}.bench.test', 'zone': 'p{n:05d}.bench.test', 'group': 'deploy',
                         'count': n, 'kind': 'deployable', 'mx': MX_HOSTS, 'policy_hosts': [POLICY_ADDRESS]})
    if 'records' in groups:
        generate.append({'name': 'r{n:05d}.bench.test', 'zone': 'r{n:05d}.bench.test', 'group': 'records',
                         'count': n, 'kind': 'records'})
    return {
        'tsig_key': {'name': 'lab-update-key.test', 'algorithm': 'hmac-sha256'},
        'infrastructure': {'dns': '127.0.0.1', 'ns_name': 'ns.lab.test', 'acme_name': 'acme.lab.test',
                           'acme': '127.0.0.3', 'backend': '127.0.0.4', 'default_cert_name': 'web.provider.test'},
        'reserved': {'policy_host': [POLICY_ADDRESS, '127.0.0.11'], 'spare': ['127.0.0.20']},
        'zones': ['lab.test', 'provider.test', 'example.test'],
        'mx_hosts': {'mx1.example.test': {'address': '127.0.2.1', 'server': 'postfix'},
                     'mx2.example.test': {'address': '127.0.2.2', 'server': 'aiosmtpd'},
                     'mx.provider.test': {'address': '127.0.2.3'}},
        # One served domain in every world, for the loopback floor.
        'domains': {'floor.bench.test': {'kind': 'good', 'mx': ['mx.provider.test'],
                                         'policy': {'mode': 'enforce', 'max_age': 604800}}},
        'generate': generate,
    }


def tools_for(n, options):
    out = []
    for tool in options.tools:
        if n in options.sizes:
            if (tool == 'checkdmarc' and n > options.peer_max) or (tool == 'mta-sts-query' and n > options.query_max):
                continue
            out.append(tool)
        elif tool == 'verify':
            out.append(tool)
    return out


def run_lab(n, tools, options, workdir):
    """Build the world for N, run the inner driver inside it, return its results."""
    groups = set()
    if {'verify', 'checkdmarc', 'mta-sts-query'} & set(tools):
        groups.add('verify')
    groups |= {t for t in tools if t in ('deploy', 'records')}
    path = os.path.join(workdir, 'scenario-%d.json' % n)
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(scenario(n, groups), handle)  # JSON is YAML
    out = os.path.join(workdir, 'result-%d.json' % n)
    profile = options.profile and n == max(s for s in options.all_sizes if 'verify' in tools_for(s, options))
    command = [sys.executable, os.path.abspath(__file__), '--inner', '--n', str(n),
               '--tools', ','.join(tools), '--runs', str(options.runs), '--out', out,
               '--workdir', os.path.join(workdir, 'lab-%d' % n)]
    if profile and 'verify' in tools:
        command.append('--profile-here')
    if not options.floor:
        command.append('--no-floor')
    timeout = 30 + n // 250  # start-up: certificates and nginx grow with N
    started = time.monotonic()
    print('bench: N=%d, tools %s, %d run(s)...' % (n, ', '.join(tools), options.runs), flush=True)
    proc = subprocess.run([os.path.join(REPO, 'tests', 'lab', 'run'), '--quiet', '--timeout', str(timeout),
                           '--scenario', path, '--'] + command, check=False)
    if proc.returncode != 0:
        raise SystemExit('bench: the run for N=%d failed (exit %d)' % (n, proc.returncode))
    with open(out, encoding='utf-8') as handle:
        result = json.load(handle)
    result['lab_wall'] = round(time.monotonic() - started, 1)
    print('bench: N=%d done in %.0f s' % (n, result['lab_wall']), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--sizes', default='10,100,1000', help='N for every tool (comma-separated)')
    parser.add_argument('--verify-sizes', default='10000', help='extra N for verify only ("" for none)')
    parser.add_argument('--peer-max', type=int, default=1000, help='largest N checkdmarc runs at')
    parser.add_argument('--query-max', type=int, default=100,
                        help='largest N mta-sts-query runs at (one process per domain: ~0.3 s of CPU each)')
    parser.add_argument('--tools', default=','.join(TOOLS), help='any of %s' % ', '.join(TOOLS))
    parser.add_argument('--runs', type=int, default=3, help='repetitions (median reported)')
    parser.add_argument('--doc', default=os.path.join(REPO, 'docs', 'benchmarks.md'), help='the document to write')
    parser.add_argument('--results', help='also write the raw results (JSON) here')
    parser.add_argument('--before', help='raw results (--results) of a run on the code before a change: the '
                        'document compares its verify and records rows and its profile with this run')
    parser.add_argument('--include', action='append', default=[],
                        help='raw results of another run of this driver to put in the same document (for tools '
                             'this run left out); the document says when that run was and how loaded the machine was')
    parser.add_argument('--no-profile', dest='profile', action='store_false')
    parser.add_argument('--no-floor', dest='floor', action='store_false')
    parser.add_argument('--smoke', action='store_true', help='N=5, one run, no profile; checks that numbers exist')
    parser.add_argument('--from-results', help='run nothing: write the document from the raw results of an earlier run')
    # inside the lab
    parser.add_argument('--inner', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--n', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    parser.add_argument('--workdir', help=argparse.SUPPRESS)
    parser.add_argument('--profile-here', dest='profile_here', action='store_true', help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.tools = [t.strip() for t in options.tools.split(',') if t.strip()]
    unknown = sorted(set(options.tools) - set(TOOLS))
    if unknown:
        parser.error('unknown tool(s) %s; choose from %s' % (', '.join(unknown), ', '.join(TOOLS)))
    if options.inner:
        return inner(options)
    if options.smoke:
        options.sizes, options.verify_sizes, options.runs, options.profile = '5', '', 1, False
    options.sizes = [int(s) for s in options.sizes.split(',') if s.strip()]
    options.verify_sizes = [int(s) for s in options.verify_sizes.split(',') if s.strip()]
    options.all_sizes = sorted(set(options.sizes) | set(options.verify_sizes))
    if options.runs < 1 or not options.all_sizes:
        parser.error('need at least one size and one run')

    if options.from_results:
        with open(options.from_results, encoding='utf-8') as handle:
            report = json.load(handle)
    else:
        report = run_all(options)
    if options.results and not options.from_results:
        with open(options.results, 'w', encoding='utf-8') as handle:
            json.dump(report, handle, indent=1)
    report['included'] = []
    for path in options.include:
        with open(path, encoding='utf-8') as handle:
            other = json.load(handle)
        by_n = {lab['n']: lab for lab in report['labs']}
        used = set()
        for lab in other['labs']:
            # Tag the rows: ratios are only taken between rows of one run.
            lab['measurements'] = {name: [dict(row, run=os.path.basename(path)) for row in rows]
                                   for name, rows in lab['measurements'].items()}
            mine = by_n.get(lab['n'])
            if mine is None:
                report['labs'].append(lab)
                used |= set(lab['measurements'])
                continue
            for name, rows in lab['measurements'].items():
                if name not in mine['measurements']:
                    mine['measurements'][name] = rows
                    used.add(name)
        report['included'].append({'source': os.path.basename(path), 'started': other['started'],
                                   'finished': other['finished'], 'load_before': other['load_before'],
                                   'load_after': other['load_after'],
                                   'tools': sorted(used)})
    report['labs'].sort(key=lambda lab: lab['n'])
    if options.before:
        with open(options.before, encoding='utf-8') as handle:
            report['before'] = json.load(handle)
        report['before_source'] = os.path.basename(options.before)
    if options.smoke:
        return smoke_check(report)
    plot_path = os.path.splitext(options.doc)[0] + '.png'
    plot(report, plot_path)
    with open(options.doc, 'w', encoding='utf-8') as handle:
        handle.write(render(report, os.path.basename(plot_path)))
    print('bench: wrote %s and %s' % (options.doc, plot_path))
    return 0


def run_all(options):
    """One lab per N, each tool in it; the raw results of the whole run."""
    workdir = tempfile.mkdtemp(prefix='mta-sts-bench-')
    os.chmod(workdir, 0o755)  # nginx workers of the deployed role read the webroot inside
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    try:
        results = [run_lab(n, tools_for(n, options), options, workdir) for n in options.all_sizes
                   if tools_for(n, options)]
    finally:
        if os.environ.get('BENCH_KEEP'):
            print('bench: kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    return {'started': started.isoformat(timespec='seconds'), 'finished': finished.isoformat(timespec='seconds'),
            'load_before': [round(x, 2) for x in load_before],
            'load_after': [round(x, 2) for x in os.getloadavg()],
            'machine': machine(), 'runs': options.runs, 'labs': results,
            'query_max': options.query_max, 'peer_max': options.peer_max}


def smoke_check(report):
    """The smoke run proves the harness produces every number; it never judges a time."""
    problems = []
    for lab in report['labs']:
        for name, rows in lab['measurements'].items():
            for row in rows:
                for key in ('wall', 'cpu', 'rss_mb'):
                    if not isinstance(row.get(key), (int, float)) or row[key] <= 0:
                        problems.append('%s N=%d: no %s' % (name, lab['n'], key))
        if 'verify' in lab['measurements']:
            if not all(row.get('module') for row in lab['measurements']['verify']):
                problems.append('verify N=%d: no module time' % lab['n'])
        floor = lab.get('floor') or {}
        if not floor.get('https_per_s') or not floor.get('dns_per_s'):
            problems.append('N=%d: no loopback floor' % lab['n'])
    expected = {'deploy first', 'deploy re-run', 'deploy 1% changed', 'verify', 'checkdmarc', 'mta-sts-query',
                'records first', 'records re-run'}
    seen = {name for lab in report['labs'] for name in lab['measurements']}
    problems.extend('no measurement of %s' % name for name in sorted(expected - seen))
    body = render(report, None)
    if '| verify |' not in body:
        problems.append('the table has no verify row')
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, 'plot.png')
        plot(report, png)
        with open(png, 'rb') as handle:
            if handle.read(8) != b'\x89PNG\r\n\x1a\n':
                problems.append('the plot is not a PNG')
    for problem in problems:
        print('bench smoke: ' + problem)
    print('bench smoke: %d measurement kinds, %s' % (len(seen), 'FAILED' if problems else 'ok'))
    return 1 if problems else 0


# ---------------------------------------------------------------------------
# Inside the lab


def measure(command, log, env=None, cwd=None):
    """Run COMMAND; wall time, CPU (user+system, children included) and peak RSS (largest process)."""
    with open(log, 'wb') as out:
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(log, encoding='utf-8', errors='replace') as handle:
        text = handle.read()
    if proc.returncode != 0:
        raise SystemExit('bench: %s failed (exit %d):\n%s' % (' '.join(command[:3]), proc.returncode, text[-3000:]))
    return {'wall': round(wall, 3), 'cpu': round(usage.ru_utime + usage.ru_stime, 3),
            'rss_mb': round(usage.ru_maxrss / 1024.0, 1)}, text


class Inner:
    """The measurements of one lab (one N)."""

    def __init__(self, options):
        with open(FACTS, encoding='utf-8') as handle:
            self.lab = json.load(handle)
        self.n = options.n
        self.tools = options.tools
        self.runs = options.runs
        self.workdir = options.workdir
        os.makedirs(self.workdir, exist_ok=True)
        self.venv_bin = os.path.join(REPO, '.venv', 'bin')
        self.python = os.path.join(self.venv_bin, 'python')
        self.bench_bin = os.path.dirname(sys.executable)
        self.env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default', ANSIBLE_NOCOLOR='1',
                        ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0')
        # `make bench` points this at build/ (the built copy and community.crypto).
        self.env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, 'build'))
        self.env['PATH'] = self.venv_bin + os.pathsep + self.env.get('PATH', '')
        self.peer_env = dict(os.environ, SSL_CERT_FILE=self.lab['ca_bundle'], REQUESTS_CA_BUNDLE=self.lab['ca_bundle'])
        self.peer_env['PATH'] = self.bench_bin + os.pathsep + self.peer_env.get('PATH', '')
        self.measurements = {}
        self.notes = {}

    def playbook(self, *args, log):
        command = [os.path.join(self.venv_bin, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                   '-e', 'ansible_python_interpreter=%s' % self.python] + list(args)
        return measure(command, log, env=self.env, cwd=self.workdir)

    def record(self, name, row):
        self.measurements.setdefault(name, []).append(row)
        print('  %-18s N=%-6d wall %7.2f s  cpu %7.2f s  %6.1f MB%s' % (
            name, self.n, row['wall'], row['cpu'], row['rss_mb'],
            '  module %.2f s' % row['module'] if row.get('module') else ''), flush=True)

    def write(self, name, data):
        path = os.path.join(self.workdir, name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(data if isinstance(data, str) else json.dumps(data))
        return path

    # -- verify and its peers ------------------------------------------------
    def setup_verify(self):
        self.verify_domains = self.lab['generated']['verify']
        self.write('verify-vars.json', {'bench_domains': self.verify_domains, 'bench_ca': self.lab['ca_bundle']})
        self.write('domains.txt', '\n'.join(self.verify_domains) + '\n')
        self.write('verify.yml', VERIFY_PLAY)

    def run_verify(self, rep, profile=False):
        log = os.path.join(self.workdir, 'verify-%d.log' % rep)
        row, text = self.playbook('verify.yml', log=log)
        found = re.search(r'BENCH module_s=([0-9.]+) ok=(\d+) domains=(\d+) dns=(\d+) probes=(\d+)', text)
        if not found or int(found.group(2)) != self.n:
            raise SystemExit('bench: verify did not find all %d domains ok:\n%s' % (self.n, text[-2000:]))
        row['module'] = float(found.group(1))
        self.notes['verify'] = {'dns_queries': int(found.group(4)), 'mx_probes': int(found.group(5))}
        self.record('verify', row)

    def run_checkdmarc(self, rep):
        out = os.path.join(self.workdir, 'checkdmarc.json')
        row, _text = measure([os.path.join(self.bench_bin, 'checkdmarc'), os.path.join(self.workdir, 'domains.txt'),
                              '--check-mx-tls', '-o', out],
                             os.path.join(self.workdir, 'checkdmarc-%d.log' % rep), env=self.peer_env)
        with open(out, encoding='utf-8') as handle:
            data = json.load(handle)
        data = data if isinstance(data, list) else [data]
        valid = sum(1 for item in data if (item.get('mta_sts') or {}).get('valid'))
        if len(data) != self.n or valid != self.n:
            raise SystemExit('bench: checkdmarc gave %d results, %d with a valid MTA-STS policy, for %d domains'
                             % (len(data), valid, self.n))
        self.record('checkdmarc', row)

    def run_mta_sts_query(self, rep):
        log = os.path.join(self.workdir, 'mta-sts-query-%d.log' % rep)
        row, text = measure(['xargs', '-a', os.path.join(self.workdir, 'domains.txt'), '-P', '2', '-n', '1',
                             os.path.join(self.bench_bin, 'mta-sts-query')], log, env=self.peer_env)
        valid = text.count('STSFetchResult.VALID')
        if valid != self.n:
            raise SystemExit('bench: mta-sts-query said VALID %d times for %d domains:\n%s' % (valid, self.n, text[-2000:]))
        self.record('mta-sts-query', row)

    # -- records -------------------------------------------------------------
    def setup_records(self):
        self.write('records-vars.json', dict(self.dns_vars(), bench_records=[
            {'domain': d} for d in self.lab['generated']['records']]))
        self.write('records.yml', RECORDS_PLAY)

    def dns_vars(self):
        lab = self.lab
        return {'bench_dns': {'server': lab['dns_server'], 'port': lab['dns_port'], 'key_name': lab['tsig_key_name'],
                              'key_secret': lab['tsig_key_secret'], 'key_algorithm': lab['tsig_key_algorithm']},
                'bench_rua': [TLSRPT]}

    def run_records(self, rep):
        self.playbook('records.yml', '-e', 'bench_state=absent', log=os.path.join(self.workdir, 'records-clean.log'))
        row, text = self.playbook('records.yml', '-e', 'bench_id=first%d' % rep,
                                  log=os.path.join(self.workdir, 'records-%d.log' % rep))
        self.expect_changed(text, 'records first', True)
        self.record('records first', row)
        row, text = self.playbook('records.yml', '-e', 'bench_id=first%d' % rep,
                                  log=os.path.join(self.workdir, 'records-again-%d.log' % rep))
        self.expect_changed(text, 'records re-run', False)
        self.record('records re-run', row)

    @staticmethod
    def expect_changed(text, what, changed):
        recap = [line for line in text.splitlines() if line.startswith('localhost ')]
        count = int(recap[-1].split('changed=')[1].split()[0]) if recap else -1
        if (count > 0) != changed:
            raise SystemExit('bench: %s: changed=%d, expected %s' % (what, count, 'some' if changed else 'none'))

    # -- deploy --------------------------------------------------------------
    def setup_deploy(self):
        self.write('deploy.yml', DEPLOY_PLAY)
        self.write('records.yml', RECORDS_PLAY)

    def deploy_vars(self, base, changed_share=0.0):
        lab = self.lab
        domains = self.lab['generated']['deploy']
        bump = int(math.ceil(len(domains) * changed_share))
        items = []
        for index, domain in enumerate(domains):
            certs = lab['deploy_certs'][domain]
            items.append({'domain': domain, 'mode': 'enforce', 'mx': MX_HOSTS,
                          'max_age': 86400 if index < bump else 604800,
                          'cert_file': certs['cert'], 'key_file': certs['key']})
        settings = dict(self.dns_vars(), **{
            'policy_host_domains': items,
            'policy_host_cert_source': 'files',
            'policy_host_base_dir': base,
            'policy_host_nginx_instance': 'dedicated',
            'policy_host_install_packages': False,
            'policy_host_listen_ipv4': [POLICY_ADDRESS],
            'policy_host_listen_ipv6': [],
        })
        self.write('deploy-vars.json', settings)
        self.write('records-vars.json', dict(self.dns_vars(), bench_records=[{'domain': d} for d in domains]))

    def run_deploy(self, rep):
        base = os.path.join(self.workdir, 'host-%d' % rep)
        self.deploy_vars(base)
        self.playbook('records.yml', '-e', 'bench_state=absent', log=os.path.join(self.workdir, 'deploy-clean.log'))
        try:
            for name, share, changed in (('deploy first', 0.0, True), ('deploy re-run', 0.0, False),
                                         ('deploy 1% changed', 0.01, True)):
                self.deploy_vars(base, share)
                row, text = self.playbook('deploy.yml', log=os.path.join(self.workdir, '%s-%d.log' % (
                    name.replace(' ', '_').replace('%', ''), rep)))
                self.expect_changed(text, name, changed)
                self.record(name, row)
            self.check_served(self.lab['generated']['deploy'][0])
        finally:
            stop_nginx(os.path.join(base, 'nginx', 'nginx.pid'))

    def check_served(self, domain):
        context = ssl.create_default_context(cafile=self.lab['ca_bundle'])
        with socket.create_connection((POLICY_ADDRESS, 443), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname='mta-sts.%s' % domain) as tls:
                tls.sendall(b'GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: mta-sts.%s\r\n\r\n' % domain.encode())
                answer = tls.recv(4096)
        if b' 200 ' not in answer.split(b'\r\n', 1)[0] or b'max_age: 86400' not in answer:
            raise SystemExit('bench: the deployed policy of %s is not the changed one: %r' % (domain, answer[:200]))

    # -- floor and profile -----------------------------------------------------
    def floor(self, seconds=2.0):
        """One client thread on loopback: HTTPS handshake + GET per second, DNS questions per second."""
        import dns.message
        import dns.query
        domain = 'floor.bench.test'
        host = 'mta-sts.%s' % domain
        address = self.lab['policy_hosts'][host]
        context = ssl.create_default_context(cafile=self.lab['ca_bundle'])
        request = b'GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % host.encode()
        count, cpu0, end = 0, time.process_time(), time.monotonic() + seconds
        start = time.monotonic()
        while time.monotonic() < end:
            with socket.create_connection((address, 443), timeout=5) as sock:
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    tls.sendall(request)
                    while tls.recv(65536):
                        pass
            count += 1
        https = (count / (time.monotonic() - start), (time.process_time() - cpu0) / count)
        query = dns.message.make_query('_mta-sts.%s' % domain, 'TXT')
        count, cpu0, end = 0, time.process_time(), time.monotonic() + seconds
        start = time.monotonic()
        while time.monotonic() < end:
            dns.query.udp(query, self.lab['dns_server'], timeout=5)
            count += 1
        dnsq = (count / (time.monotonic() - start), (time.process_time() - cpu0) / count)
        result = {'https_per_s': round(https[0]), 'https_cpu_ms': round(https[1] * 1000, 3),
                  'dns_per_s': round(dnsq[0]), 'dns_cpu_ms': round(dnsq[1] * 1000, 3)}
        print('  floor: %(https_per_s)d HTTPS handshakes+GET/s, %(dns_per_s)d DNS questions/s (one thread)' % result)
        return result

    def profile(self):
        spy = os.path.join(self.bench_bin, 'py-spy')
        if not os.path.exists(spy):
            return None
        raw = os.path.join(self.workdir, 'profile.txt')
        command = [spy, 'record', '--subprocesses', '--rate', '200', '--format', 'raw',
                   '-o', raw, '--', os.path.join(self.venv_bin, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                   '-e', 'ansible_python_interpreter=%s' % self.python, 'verify.yml']
        measure(command, os.path.join(self.workdir, 'profile.log'), env=self.env, cwd=self.workdir)
        return summarize_profile(raw)


def stop_nginx(pid_file):
    """Stop the role's dedicated nginx and wait until its address is free again."""
    try:
        with open(pid_file, encoding='ascii') as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGQUIT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def inner(options):
    bench = Inner(options)
    print('bench: inside the lab, N=%d (lab up in %.1f s)' % (options.n, bench.lab['startup_seconds']), flush=True)
    result = {'n': options.n, 'tools': options.tools, 'startup_s': bench.lab['startup_seconds'],
              'load_before': [round(x, 2) for x in os.getloadavg()]}
    if 'verify' in bench.lab['generated']:
        bench.setup_verify()
    if 'records' in options.tools:
        bench.setup_records()
    if 'deploy' in options.tools:
        bench.setup_deploy()
    result['floor'] = bench.floor() if options.floor else None
    for rep in range(options.runs):
        for tool in options.tools:
            if tool == 'deploy':
                bench.run_deploy(rep)
            elif tool == 'verify':
                bench.run_verify(rep)
            elif tool == 'checkdmarc':
                bench.run_checkdmarc(rep)
            elif tool == 'mta-sts-query':
                bench.run_mta_sts_query(rep)
            elif tool == 'records':
                if 'deploy' in options.tools:
                    bench.setup_records()
                bench.run_records(rep)
    if options.profile_here and 'verify' in options.tools:
        result['profile'] = bench.profile()
    result['measurements'] = bench.measurements
    result['notes'] = bench.notes
    result['load_after'] = [round(x, 2) for x in os.getloadavg()]
    with open(options.out, 'w', encoding='utf-8') as handle:
        json.dump(result, handle)
    return 0


VERIFY_PLAY = """\
- name: Verify every customer domain (as a scheduled monitoring play would)
  hosts: localhost
  gather_facts: false
  vars_files: [verify-vars.json]
  tasks:
    - name: Verify
      mailsec.mta_sts.verify:
        domains: "{{ bench_domains }}"
        ca_path: "{{ bench_ca }}"
        ca_mode: replace
      register: checked
    - name: One line for the benchmark
      ansible.builtin.debug:
        msg: >-
          BENCH module_s={{ checked.summary.elapsed }} ok={{ checked.summary.ok }}
          domains={{ checked.summary.domains }} dns={{ checked.summary.dns_queries }}
          probes={{ checked.summary.mx_probes }}
"""

RECORDS_PLAY = """\
- name: Publish the TXT records of every domain, one zone each
  hosts: localhost
  gather_facts: false
  vars_files: [records-vars.json]
  tasks:
    - name: Publish
      mailsec.mta_sts.records:
        server: "{{ bench_dns.server }}"
        port: "{{ bench_dns.port }}"
        key_name: "{{ bench_dns.key_name }}"
        key_secret: "{{ bench_dns.key_secret }}"
        key_algorithm: "{{ bench_dns.key_algorithm }}"
        state: "{{ bench_state | default('present') }}"
        policy_id: "{{ omit if (bench_state | default('present')) == 'absent' else bench_id }}"
        tlsrpt_rua: "{{ omit if (bench_state | default('present')) == 'absent' else bench_rua }}"
        domains: "{{ bench_records }}"
"""

DEPLOY_PLAY = """\
- name: Deploy the policy host, then publish the ids (role + records)
  hosts: localhost
  gather_facts: false
  vars_files: [deploy-vars.json]
  roles:
    - role: mailsec.mta_sts.policy_host
  post_tasks:
    - name: Publish the TXT records once the policies are served
      mailsec.mta_sts.records:
        server: "{{ bench_dns.server }}"
        port: "{{ bench_dns.port }}"
        key_name: "{{ bench_dns.key_name }}"
        key_secret: "{{ bench_dns.key_secret }}"
        key_algorithm: "{{ bench_dns.key_algorithm }}"
        tlsrpt_rua: "{{ bench_rua }}"
        domains: >-
          {{ policy_host_policies.policies | items2dict(key_name='domain', value_name='policy_id')
             | dict2items(key_name='domain', value_name='policy_id') }}
"""


# ---------------------------------------------------------------------------
# Profile: py-spy's raw (collapsed) stacks of every process of the play


CATEGORIES = (
    ('TLS (handshakes, certificate checks, reads)', ('(ssl.py', 'wrap_socket', 'do_handshake')),
    ('DNS (dnspython: building, sending, parsing)', ('(dns/',)),
    ('result size (JSON, no_log scrubbing, copying the result)', (
        '(json/', 'jsonify', 'strip_internal_keys', 'remove_values', 'module_response_deepcopy', '_clean_res',
        '(copy.py', '_filter_non_json_lines', 'pickle', '_return_formatted', 'exit_json', 'fail_json')),
    ('checks and judging (mailsec.mta_sts)', ('verification/', 'model/', 'web/', 'smtp/', 'common/')),
    ('Ansible engine (start-up, templating, forks, module transfer)', ('(ansible/', 'ansible-playbook', 'AnsiballZ')),
)


def categorize(frames):
    # py-spy prefixes each stack with "process N:..." and "thread ..." frames;
    # only the Python frames say what the process was doing.
    frames = [frame for frame in frames if not frame.startswith(('process ', 'thread '))]
    for name, needles in CATEGORIES:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return 'Python (interpreter start-up, imports, other)'


def summarize_profile(path):
    """Per category and per leaf function: share of the samples of all processes."""
    by_category = {}
    by_leaf = {}
    total = 0
    with open(path, encoding='utf-8', errors='replace') as handle:
        for line in handle:
            stack, _sep, count = line.rstrip('\n').rpartition(' ')
            if not count.isdigit():
                continue
            count = int(count)
            frames = stack.split(';')
            total += count
            category = categorize(frames)
            by_category[category] = by_category.get(category, 0) + count
            leaf = re.sub(r':\d+\)$', ')', frames[-1])
            by_leaf[leaf] = by_leaf.get(leaf, 0) + count
    if not total:
        return None
    top = sorted(by_leaf.items(), key=lambda item: -item[1])[:8]
    return {'samples': total, 'rate': 200,
            'categories': sorted(((k, round(100.0 * v / total, 1)) for k, v in by_category.items()),
                                 key=lambda item: -item[1]),
            'top': [(name, round(100.0 * count / total, 1)) for name, count in top]}


# ---------------------------------------------------------------------------
# The document


def machine():
    def version(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return 'unknown'
    cpu = 'unknown'
    try:
        with open('/proc/cpuinfo', encoding='ascii', errors='replace') as handle:
            for line in handle:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    memory = 0
    with open('/proc/meminfo', encoding='ascii') as handle:
        for line in handle:
            if line.startswith('MemTotal:'):
                memory = int(line.split()[1]) // 1024 // 1024
    venv = os.path.join(REPO, '.venv', 'bin')
    bench_bin = os.path.dirname(sys.executable)

    def pip_version(bin_dir, name):
        out = subprocess.run([os.path.join(bin_dir, 'python'), '-c',
                              'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))', name],
                             capture_output=True, text=True, check=False)
        return out.stdout.strip() or 'not installed'
    return {
        'cpu': cpu, 'cores': os.cpu_count(), 'memory_gib': memory, 'kernel': platform.release(),
        'os': version(['sh', '-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
        'python': platform.python_version(),
        'ansible-core': pip_version(venv, 'ansible-core'),
        'dnspython': pip_version(venv, 'dnspython'),
        'checkdmarc': pip_version(bench_bin, 'checkdmarc'),
        'postfix-mta-sts-resolver': pip_version(bench_bin, 'postfix-mta-sts-resolver'),
        'matplotlib': pip_version(bench_bin, 'matplotlib'),
        'knot': version(['knotd', '--version']),
        'nginx': subprocess.run(['nginx', '-v'], capture_output=True, text=True, check=False).stderr.strip(),
        'openssl': ssl.OPENSSL_VERSION,
    }


def median_row(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else None


def spread(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    if not values:
        return ''
    if len(values) == 1:
        return '%.2f' % values[0]
    return '%.2f (%.2f-%.2f)' % (statistics.median(values), min(values), max(values))


def pair_ratio(ours, theirs, key='wall'):
    """Median of ours/peer taken repetition by repetition (same lab, back to back)."""
    ratios = [a[key] / b[key] for a, b in zip(ours, theirs) if a.get(key) and b.get(key)]
    return statistics.median(ratios) if ratios else None


ROW_ORDER = ('deploy first', 'deploy re-run', 'deploy 1% changed', 'verify', 'checkdmarc', 'mta-sts-query',
             'records first', 'records re-run')


def render(report, plot_name):
    labs = report['labs']
    m = report['machine']
    out = ['# Benchmarks', '',
           '<!-- Generated by bench/run.py (`make bench`); edit the driver, not this file. -->', '',
           'How the collection\'s cost grows with the number of domains, next to the tools a',
           'user would run instead, measured in one run on one machine inside the lab',
           '(`tests/lab/run`, every server real, on loopback). Each lab world has N domains per',
           'group, one zone per domain, all sharing three MX hosts (Postfix and two aiosmtpd),',
           'their policies served by the lab nginx on one SNI-routed address.', '',
           '## Machine', '',
           '| what | value |', '|---|---|',
           '| CPU | %s, %s cores, %s GiB |' % (m['cpu'], m['cores'], m['memory_gib']),
           '| system | %s, kernel %s |' % (m['os'], m['kernel']),
           '| Python, ansible-core, dnspython | %s, %s, %s |' % (m['python'], m['ansible-core'], m['dnspython']),
           '| peers | checkdmarc %s, postfix-mta-sts-resolver %s |' % (m['checkdmarc'], m['postfix-mta-sts-resolver']),
           '| servers | %s; %s; %s |' % (m['knot'], m['nginx'], m['openssl']),
           '| run | %s to %s UTC, %d repetition(s) each |' % (report['started'], report['finished'], report['runs']),
           '| load average (1, 5, 15 min) | %s before, %s after |' % (
               ', '.join('%.2f' % x for x in report['load_before']), ', '.join('%.2f' % x for x in report['load_after'])),
           '']
    for part in report.get('included', []):
        out += ['Rows for %s come from a separate run of the same driver (`%s`), %s to %s UTC, load average' % (
            ', '.join(part['tools']), part['source'], part['started'], part['finished'][11:]),
            '%s before and %s after.' % (
                ', '.join('%.2f' % x for x in part['load_before']),
                ', '.join('%.2f' % x for x in part['load_after'])), '']
    out += ['The machine is shared: a load average above the core count means other work ran',
            'during the measurements, so compare the ratios (taken back to back, pair by pair)',
            'rather than the absolute times.', '',
            '## Results', '',
            'Median of the repetitions, with the range in brackets. *Wall* is the whole process',
            '(for Ansible: the whole `ansible-playbook`, start-up included); *CPU* is user + system',
            'time of the process and all its children; *peak memory* is the largest resident set of',
            'any one of its processes (what `/usr/bin/time -v` reports). *Module* is the time the',
            '`verify` module reports for its own work. Ratios are ours/peer, computed per repetition',
            'and then the median.', '',
            '| tool | N | wall s | CPU s | peak MB | module s | ours/checkdmarc | ours/mta-sts-query |',
            '|---|---|---|---|---|---|---|---|']
    for name in ROW_ORDER:
        for lab in labs:
            rows = lab['measurements'].get(name)
            if not rows:
                continue
            ratio_c = ratio_q = ''
            if name == 'verify':
                for peer, slot in (('checkdmarc', 'c'), ('mta-sts-query', 'q')):
                    peer_rows = lab['measurements'].get(peer)
                    same_run = peer_rows and peer_rows[0].get('run') == rows[0].get('run')
                    value = pair_ratio(rows, peer_rows) if same_run else None
                    text = ''
                    if value:
                        text = '%.2f (%.1fx %s)' % (value, 1 / value if value < 1 else value,
                                                    'faster' if value < 1 else 'slower')
                    if slot == 'c':
                        ratio_c = text
                    else:
                        ratio_q = text
            out.append('| %s | %d | %s | %s | %s | %s | %s | %s |' % (
                name, lab['n'], spread(rows, 'wall'), spread(rows, 'cpu'), '%.0f' % median_row(rows, 'rss_mb'),
                spread(rows, 'module') if name == 'verify' else '', ratio_c, ratio_q))
    out.append('')
    out += ['What each row runs:', '',
            '- **deploy first / re-run / 1% changed**: one play, the `mailsec.mta_sts.policy_host` role',
            '  (certificates from files, a dedicated nginx) then `mailsec.mta_sts.records` with the ids the',
            '  role wrote: the two steps of the `deploy` playbook whose work grows with N (the playbook adds',
            '  a preflight, the wait at each address and a verify around them);',
            '  first on an empty host and empty zones, then unchanged, then with `max_age` changed for 1% of',
            '  the domains (new policy files and ids).',
            '- **verify**: `mailsec.mta_sts.verify` over the N domains with its defaults (MX TLS checks on),',
            '  the lab CA as the only trust, one summary line printed.',
            '- **checkdmarc**: `checkdmarc domains.txt --check-mx-tls -o out.json`, one process for all N (it',
            '  also checks SPF, DMARC, DNSSEC and BIMI, which it cannot skip); up to N = %d (`--peer-max`).' % report.get(
                'peer_max', 1000),
            '- **mta-sts-query**: `xargs -P 2 -n 1 mta-sts-query < domains.txt`: it takes one domain per',
            '  process, so a user runs it once per domain, here two at a time (two cores). It fetches the',
            '  policy but checks no MX. Each process costs about a third of a second of CPU (Python start-up',
            '  and imports), so it runs only up to N = %d (`--query-max`) to keep the run short.' % report.get(
                'query_max', 100),
            '- **records first / re-run**: `mailsec.mta_sts.records` publishing the `_mta-sts` and',
            '  `_smtp._tls` TXT records of N domains, one zone each (one UPDATE per zone), then the same again.',
            '']
    if plot_name:
        out += ['![time against N per tool, log axes](%s)' % plot_name, '',
                'The plot (`docs/%s`): wall time against N for each tool, both axes logarithmic.' % plot_name, '']
    floors = [lab['floor'] for lab in labs if lab.get('floor')]
    if floors:
        https = statistics.median(f['https_per_s'] for f in floors)
        https_cpu = statistics.median(f['https_cpu_ms'] for f in floors)
        dnsq = statistics.median(f['dns_per_s'] for f in floors)
        dns_cpu = statistics.median(f['dns_cpu_ms'] for f in floors)
        out += ['## The loopback floor', '',
                'Measured in every lab of this run (median over the labs): one Python client thread, a new',
                'connection each time, against the same nginx and Knot the tools use.', '',
                '| what | per second | client CPU each |', '|---|---|---|',
                '| HTTPS handshake + GET of the policy | %d | %.2f ms |' % (https, https_cpu),
                '| DNS question (UDP, dnspython) | %d | %.3f ms |' % (dnsq, dns_cpu), '']
        verify_labs = [lab for lab in labs if lab['measurements'].get('verify')]
        if verify_labs:
            lab = verify_labs[-1]
            notes = lab.get('notes', {}).get('verify', {})
            questions = notes.get('dns_queries', 0)
            floor_s = lab['n'] * https_cpu / 1000.0 + questions * dns_cpu / 1000.0
            out += ['For N = %d, verify fetches %d policies and asks %d DNS questions: a floor of about %.1f s' % (
                lab['n'], lab['n'], questions, floor_s),
                'of one core\'s client CPU, before any judging, Ansible or result handling.', '']
    out += targets_section(labs)
    out += profile_section(labs)
    if report.get('before'):
        out += before_after(report)
    out += extrapolation(labs)
    return '\n'.join(out) + '\n'


def targets_section(labs):
    """Issue 11's targets against this run's medians (wall times on a shared machine)."""
    rows = {(lab['n'], name): lab['measurements'][name] for lab in labs for name in lab['measurements']}
    checks = []

    def add(text, key, field, limit, unit='s'):
        data = rows.get(key)
        if not data:
            return
        value = median_row(data, field)
        verdict = 'met' if value <= limit else 'not met'
        checks.append('| %s | %s %s | %.2f %s | %s |' % (text, limit, unit, value, unit, verdict))
    add('verify N=1000, whole ansible-playbook', (1000, 'verify'), 'wall', 4.0)
    add('verify N=1000, inside the module', (1000, 'verify'), 'module', 2.5)
    if rows.get((1000, 'verify')) and rows.get((1000, 'checkdmarc')):
        ratio = pair_ratio(rows[(1000, 'verify')], rows[(1000, 'checkdmarc')])
        checks.append('| verify N=1000 against checkdmarc (whole process) | at least 4.5x faster | %.1fx | %s |' % (
            1 / ratio, 'met' if 1 / ratio >= 4.5 else 'not met'))
    add('verify N=10000, whole ansible-playbook', (10000, 'verify'), 'wall', 40.0)
    add('verify N=10000, peak memory', (10000, 'verify'), 'rss_mb', 200.0, 'MB')
    add('records N=1000 in 1000 zones, first run', (1000, 'records first'), 'wall', 4.0)
    add('records N=1000, unchanged re-run', (1000, 'records re-run'), 'wall', 3.0)
    if not checks:
        return []
    return ['## Targets of issue 11', '',
            'Medians of this run. The wall times carry the shared machine\'s load (see above); the CPU',
            'column of the results table is the less load-sensitive measure of the work done.', '',
            '| target | limit | measured | |', '|---|---|---|---|'] + checks + ['']


def profile_section(labs):
    profiled = [lab for lab in labs if lab.get('profile')]
    if not profiled:
        return []
    lab = profiled[-1]
    prof = lab['profile']
    rows = lab['measurements'].get('verify', [])
    out = ['## Where the time goes', '',
           'py-spy sampled every process of one `verify` play at N = %d (%d samples at %d Hz, idle time' % (
               lab['n'], prof['samples'], prof['rate']),
           'excluded; the module\'s worker pool and Ansible\'s own processes included). Share of the CPU',
           'samples by what the stack was doing (first match from the top of this list):', '',
           '| where | share of samples |', '|---|---|']
    out += ['| %s | %.1f%% |' % (name, share) for name, share in prof['categories']]
    out += ['', 'The busiest leaf functions:', '', '| function | share |', '|---|---|']
    out += ['| `%s` | %.1f%% |' % ('(a process with no Python frame: native code, start-up)'
                                   if name.startswith(('process ', 'thread ')) else name.replace('|', '/'), share)
            for name, share in prof['top']]
    share = dict((name, value) for name, value in prof['categories'])

    def part(prefix):
        return sum(value for name, value in share.items() if name.startswith(prefix))
    out += ['', 'In words: the network work itself dominates. Building, sending and parsing DNS messages in',
            'dnspython takes %.0f%% of the samples (including the system random source it asks for every' % part('DNS'),
            'query id), TLS handshakes and reads %.0f%%. Ansible\'s own engine takes %.0f%%, and carrying the' % (
                part('TLS'), part('Ansible')),
            'result (JSON, no_log scrubbing, copies) %.0f%% now that the result is compact by default.' % part('result'),
            'The rest (%.0f%%) is Python start-up and imports of every process, and samples py-spy could not' % part(
                'Python'),
            'attribute to a Python frame. Judging what was seen costs next to nothing.']
    if rows:
        wall = median_row(rows, 'wall')
        module = median_row(rows, 'module')
        out += ['', 'Of the %.1f s of the whole play, the module reports %.1f s; the other %.1f s are Ansible\'s' % (
            wall, module, wall - module),
            'start-up, the forked worker, module transfer, and moving the result back and through the',
            'callback.']
    out.append('')
    return out


def before_after(report):
    """This run against a run of the same driver on the code before issue 11's changes."""
    before = report['before']
    out = ['## Before and after', '',
           'The same driver, run on the collection as it was before this work (results file `%s`, %s UTC,' % (
               report.get('before_source', '?'), before.get('started', '?')),
           'load average %s at its start; the machine was as shared then as now).' % (
               ', '.join('%.2f' % x for x in before.get('load_before', []))), '',
           '| tool | N | before: wall s | CPU s | peak MB | module s | after: wall s | CPU s | peak MB | module s |',
           '|---|---|---|---|---|---|---|---|---|---|']
    now = {(lab['n'], name): rows for lab in report['labs'] for name, rows in lab['measurements'].items()}
    for lab in before.get('labs', []):
        for name, rows in lab['measurements'].items():
            after = now.get((lab['n'], name))
            if not after or name in PEERS:
                continue
            cells = []
            for group in (rows, after):
                module = median_row(group, 'module')
                cells += ['%.2f' % median_row(group, 'wall'), '%.2f' % median_row(group, 'cpu'),
                          '%.0f' % median_row(group, 'rss_mb'), '%.2f' % module if module else '']
            out.append('| %s | %d | %s |' % (name, lab['n'], ' | '.join(cells)))
    old = [lab for lab in before.get('labs', []) if lab.get('profile')]
    new = [lab for lab in report['labs'] if lab.get('profile')]
    if old and new:
        out += ['', 'The top three costs of the profiled verify play, before and after (share of samples):', '',
                '| rank | before (N = %d) | after (N = %d) |' % (old[-1]['n'], new[-1]['n']), '|---|---|---|']
        for rank in range(3):
            cells = []
            for lab in (old[-1], new[-1]):
                cats = lab['profile']['categories']
                cells.append('%s: %.1f%%' % tuple(cats[rank]) if rank < len(cats) else '')
            out.append('| %d | %s | %s |' % (rank + 1, cells[0], cells[1]))
    out.append('')
    return out


def extrapolation(labs):
    points = sorted((lab['n'], median_row(lab['measurements']['verify'], 'wall'),
                     median_row(lab['measurements']['verify'], 'module'),
                     median_row(lab['measurements']['verify'], 'rss_mb'))
                    for lab in labs if lab['measurements'].get('verify'))
    if len(points) < 2:
        return []
    (n1, w1, _m1, r1), (n2, w2, _m2, r2) = points[-2], points[-1]
    per_domain = (w2 - w1) / (n2 - n1)
    fixed = max(0.0, w2 - per_domain * n2)
    mem_per = max(0.0, (r2 - r1) / (n2 - n1))
    mem_fixed = max(0.0, r2 - mem_per * n2)
    out = ['## Beyond one controller: 100 000 domains', '',
           'From the two largest verify runs (N = %d and %d): %.2f ms of wall time and %.1f kB of peak' % (
               n1, n2, per_domain * 1000, mem_per * 1024),
           'memory per domain, on top of %.1f s and %.0f MB fixed. The `verify` playbook splits the domains' % (
               fixed, mem_fixed),
           'into deterministic slices, one per checker host (a stable hash of the domain), runs the',
           'slices in parallel and merges them into one summary and one report. For 100 000 domains,',
           'each checker a machine like this one (its own two cores):', '',
           '| checkers | domains each | wall per slice | peak memory per checker |', '|---|---|---|---|']
    for checkers in (1, 2, 4, 8, 16):
        each = int(math.ceil(100000 / checkers))
        out.append('| %d | %d | %.0f s | %.0f MB |' % (
            checkers, each, fixed + per_domain * each, mem_fixed + mem_per * each))
    out += ['', 'Linear extrapolation; the merge on the controller reads one compact summary per slice and',
            'adds well under a second. Checkers that share one machine share its cores: slices help',
            'only when they run on different machines (or execution nodes).', '']
    return out


def plot(report, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    series = {}
    for lab in report['labs']:
        for name, rows in lab['measurements'].items():
            series.setdefault(name, []).append((lab['n'], median_row(rows, 'wall')))
            if name == 'verify':
                series.setdefault('verify (module only)', []).append((lab['n'], median_row(rows, 'module')))
    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=110)
    styles = {'verify': ('tab:blue', 'o', '-'), 'verify (module only)': ('tab:blue', 'o', ':'),
              'checkdmarc': ('tab:red', 's', '-'), 'mta-sts-query': ('tab:orange', 'D', '-'),
              'records first': ('tab:green', '^', '-'), 'records re-run': ('tab:green', '^', ':'),
              'deploy first': ('tab:purple', 'v', '-'), 'deploy re-run': ('tab:purple', 'v', ':'),
              'deploy 1% changed': ('tab:purple', 'v', '--')}
    for name, points in sorted(series.items(), key=lambda item: list(styles).index(item[0]) if item[0] in styles else 99):
        points.sort()
        color, marker, line = styles.get(name, ('tab:gray', '.', '-'))
        axes.plot([p[0] for p in points], [p[1] for p in points], marker=marker, linestyle=line, color=color,
                  label=name)
    axes.set_xscale('log')
    axes.set_yscale('log')
    axes.set_xlabel('domains (N)')
    axes.set_ylabel('wall time (s), median')
    axes.set_title('mailsec.mta_sts against peer tools, lab on loopback (%s)' % report['finished'][:10])
    axes.grid(True, which='both', alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == '__main__':
    sys.exit(main())
