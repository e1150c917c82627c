# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Verify live MTA-STS deployments as a sending MTA sees them (A-F).

:func:`verify_domains` runs the checks for many domains concurrently (a
bounded thread pool) with one resolver and one MX prober per attempt, so
each DNS answer and each MX probe is fetched once per attempt however many
domains share them. This module does the network part (lookups, fetches,
probes, threads, retries); turning what was seen into findings is
:mod:`._judge`, without network.

Private module of the mailsec.mta_sts collection (controller only).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._errors import ERROR, WARNING, MtaStsError
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._inventory import secrets_in
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._fetch import fetch_policy
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._findings import (
    conclude,
    dedupe,
    domain_status,
    fails,
    finding,
    report_format,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.verification._judge import (
    judge_advice,
    judge_fetch,
    judge_mx_coverage,
    judge_mx_answer,
    judge_mx_probe,
    judge_mx_unresolved,
    judge_name_servers,
    judge_policy,
    judge_record_expectations,
    judge_sts_record,
    judge_tlsrpt,
    judge_unfetched_expectations,
    mx_severity,
    normalize_spec,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.model._records import (
    TLSRPT_PREFIX,
    join_txt,
    select_records,
    sts_record_name,
    tlsrpt_record_name,
)
from ansible_collections.mailsec.mta_sts.plugins.module_utils.dns._resolver import HAS_DNSPYTHON, RunResolver
from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._probe import MxProber
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import trust_context


# ---------------------------------------------------------------------------
# One domain


class Run:
    """The shared state of one attempt: resolver, trust, MX prober, options."""

    def __init__(self, nameservers=None, authoritative=False, ca_path=None, ca_mode='add', timeout=10.0,
                 check_mx_tls=True, derived_id=False, smtp_port=25, now=None, ns_port=53):
        self.resolver = RunResolver(nameservers, authoritative, timeout, ns_port=ns_port)
        self.context = trust_context(ca_path, ca_mode)
        self.timeout = float(timeout)
        self.check_mx_tls = check_mx_tls
        self.derived_id = derived_id
        self.now = now
        self.prober = MxProber(self.context, self.timeout, smtp_port, now)

    def live_policy(self, domain, seen_notes=None):
        """The policy a sender gets for ``domain``: record, body, parsed policy, findings."""
        resolver = self.resolver
        seen_notes = set() if seen_notes is None else seen_notes
        answer, records = resolver.txt(sts_record_name(domain))
        record, findings, texts = judge_sts_record(answer.status, answer.error, records, answer.cnames)
        findings.extend(judge_name_servers(answer, 'sts_record', seen_notes))
        fetch = fetch_policy(domain, resolver, self.context, self.timeout, now=self.now)
        for rdtype in ('A', 'AAAA'):
            # the answers fetch_policy used (cached): what the other name servers say
            findings.extend(judge_name_servers(resolver.query(fetch['host'], rdtype), 'policy_host', seen_notes))
        body, fetch_findings = judge_fetch(fetch, self.timeout)
        findings.extend(fetch_findings)
        return {'record': record, 'texts': texts, 'fetch': fetch, 'body': body, 'findings': findings}

    def verify(self, spec):
        start = time.monotonic()
        domain = spec['domain']
        expect = dict(spec['expect'])
        expect.setdefault('derived_id', self.derived_id)
        seen_notes = set()
        live = self.live_policy(domain, seen_notes)
        findings = live['findings']
        record = live['record']
        findings.extend(judge_record_expectations(record, expect))
        policy = None
        derived = None
        if live['body'] is not None:
            policy, policy_findings, derived = judge_policy(live['body'], record, expect)
            findings.extend(policy_findings)
        else:
            findings.extend(judge_unfetched_expectations(expect))
        sender_gets_policy = record is not None and policy is not None
        mode = policy['mode'] if sender_gets_policy else None

        mx_result, mx_findings = self._check_mx(domain, policy if sender_gets_policy else None,
                                                mode or expect.get('mode'), seen_notes)
        findings.extend(mx_findings)

        tlsrpt_answer, tlsrpt_records = self.resolver.txt(tlsrpt_record_name(domain))
        findings.extend(judge_name_servers(tlsrpt_answer, 'tlsrpt', seen_notes))
        legacy = []
        if not select_records(tlsrpt_records, TLSRPT_PREFIX):
            legacy = self.resolver.txt('_smtp-tlsrpt.%s' % domain)[1]
        tlsrpt, tlsrpt_findings = judge_tlsrpt(tlsrpt_answer.status, tlsrpt_answer.error, tlsrpt_records,
                                               expect, legacy)
        findings.extend(tlsrpt_findings)
        findings.extend(judge_advice(policy if sender_gets_policy else None, tlsrpt))
        findings = dedupe(findings)

        fetch = live['fetch']
        return {
            'domain': domain,
            'status': domain_status(findings),
            'sender_gets_policy': sender_gets_policy,
            'mode': mode,
            'policy_id': record['id'] if record else None,
            'sts_record': {
                'name': sts_record_name(domain),
                'records': live['texts'],
                'id': record['id'] if record else None,
            },
            'policy_host': {
                'host': fetch['host'],
                'url': fetch['url'],
                'addresses': fetch['addresses'],
                'fetches': [{k: v for k, v in r.items() if k != 'body'} for r in fetch['results']],
            },
            'policy': {
                'text': live['body'].decode('utf-8', 'replace') if live['body'] is not None else None,
                'parsed': policy,
                'derived_id': derived,
            },
            'mx': mx_result,
            'tlsrpt': {
                'name': tlsrpt_record_name(domain),
                'records': [join_txt(r, lenient=True) for r in tlsrpt_records],
                'rua': tlsrpt['rua'] if tlsrpt else None,
            },
            'findings': findings,
            'elapsed': round(time.monotonic() - start, 3),
        }

    def _check_mx(self, domain, policy, mode, seen_notes=None):
        answer, items = self.resolver.mx(domain)
        findings = judge_name_servers(answer, 'mx', seen_notes)
        items, answer_findings = judge_mx_answer(domain, answer.failed, answer.error, items)
        findings.extend(answer_findings)
        if not items:
            return [], findings
        hosts = [host for _pref, host in items]
        covered, coverage = judge_mx_coverage(hosts, policy, mode)
        findings.extend(coverage)
        severity = mx_severity(mode) if policy is not None else WARNING
        out = []
        for preference, host in items:
            entry = {'host': host, 'preference': preference, 'covered': covered.get(host), 'addresses': []}
            if self.check_mx_tls:
                addresses, failures = self.resolver.addresses(host)
                if not addresses:
                    findings.append(judge_mx_unresolved(host, [a.describe() for a in failures], severity))
                for address in addresses:
                    probe = self.prober.probe(host, address)
                    entry['addresses'].append(probe)
                    findings.extend(judge_mx_probe(probe, severity))
            out.append(entry)
        return out, findings


REPORT_URL = 'https://example.invalid/mailsec/mta_sts/issues'


def internal_finding(domain, exc):
    """An unexpected exception while checking ``domain``, as a finding: the
    other domains of the run go on, and the report names the bug."""
    where = ''
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = ' at %s:%d in %s' % (last.filename.rsplit('/', 1)[-1], last.lineno, last.name)
    return finding('internal', ERROR, None,
                   'checking %s stopped on an unexpected %s%s: %s; this is a bug in mailsec.mta_sts, not a '
                   'finding about the domain' % (domain, type(exc).__name__, where, str(exc)[:200] or '(no message)'),
                   'please report it with this message at %s; the other domains were checked' % REPORT_URL)


def _internal_result(domain, exc, elapsed):
    """A result with the shape of :meth:`Run.verify`'s, holding only the internal finding."""
    findings = [internal_finding(domain, exc)]
    return {
        'domain': domain, 'status': domain_status(findings), 'sender_gets_policy': False, 'mode': None, 'policy_id': None,
        'sts_record': {'name': sts_record_name(domain), 'records': [], 'id': None},
        'policy_host': {'host': 'mta-sts.%s' % domain, 'url': None, 'addresses': [], 'fetches': []},
        'policy': {'text': None, 'parsed': None, 'derived_id': None},
        'mx': [],
        'tlsrpt': {'name': tlsrpt_record_name(domain), 'records': [], 'rua': None},
        'findings': findings,
        'elapsed': round(elapsed, 3),
    }


def verify_isolated(run, spec):
    """:meth:`Run.verify`, with any unexpected exception turned into an
    ``internal`` finding for that domain alone."""
    start = time.monotonic()
    try:
        return run.verify(spec)
    except Exception as exc:  # one domain must never cost the run
        return _internal_result(spec['domain'], exc, time.monotonic() - start)


def live_policy_view(run, domain):
    """What the ``live_policy`` lookup returns for ``domain`` (an unexpected
    exception becomes an ``internal`` finding, as in :func:`verify_isolated`)."""
    try:
        return _live_policy_view(run, domain)
    except Exception as exc:  # one domain must never cost the run
        return {'domain': domain, 'valid': False, 'id': None, 'text': None, 'policy': None, 'derived_id': None,
                'findings': [internal_finding(domain, exc)]}


def _live_policy_view(run, domain):
    live = run.live_policy(domain)
    findings = live['findings']
    policy = None
    derived = None
    if live['body'] is not None:
        policy, policy_findings, derived = judge_policy(live['body'], live['record'], {})
        findings.extend(policy_findings)
    record = live['record']
    return {
        'domain': domain,
        'valid': record is not None and policy is not None,
        'id': record['id'] if record else None,
        'text': live['body'].decode('utf-8', 'replace') if live['body'] is not None else None,
        'policy': policy,
        'derived_id': derived,
        'findings': dedupe(findings),
    }


# ---------------------------------------------------------------------------
# Many domains


DETAILS = ('compact', 'full')
# Below this many domains per process, forking costs more than a second core gives.
MIN_DOMAINS_PER_PROCESS = 100


def compact_result(result):
    """What most plays read of a domain: the verdict, the id, MX coverage and
    the findings (the same fields as the report). The full result is about
    twenty times larger, and Ansible's cost of carrying a result grows with
    its size (issue 11: most of the play was spent outside the module)."""
    return {
        'domain': result['domain'],
        'status': result['status'],
        'sender_gets_policy': result['sender_gets_policy'],
        'mode': result['mode'],
        'policy_id': result['policy_id'],
        'mx': [{'host': mx['host'], 'covered': mx['covered']} for mx in result['mx']],
        'findings': result['findings'],
    }


def default_processes(count, cpus=None):
    """One process per CPU core once there is enough work to share."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(cpus, count // MIN_DOMAINS_PER_PROCESS))


def verify_domains(specs, parallel=16, retries=0, delay=5.0, fail_on='error', sleep=time.sleep, processes=None,
                   detail='full', **run_options):
    """Verify every spec; retry failing domains up to ``retries`` times.

    A domain is retried when its status would fail the task under
    ``fail_on`` (for ``never``: when it has errors), after ``delay``
    seconds, with fresh DNS answers and probes. ``processes`` (None: one
    per core when there is enough work, see :func:`default_processes`)
    spreads the domains over forked worker processes, each with
    ``parallel`` threads; ``detail`` is ``full`` or ``compact``
    (:func:`compact_result`). Returns ``(results in input order, stats)``.
    """
    if detail not in DETAILS:
        raise MtaStsError('detail %r is not one of %s' % (detail, ', '.join(DETAILS)), field='detail')
    start = time.monotonic()
    results = [None] * len(specs)
    pending = list(range(len(specs)))
    stats = {'attempts': 0, 'dns_queries': 0, 'mx_probes': 0, 'processes': 1}
    retry_on = fail_on if fail_on != 'never' else 'error'
    for attempt in range(retries + 1):
        if attempt:
            sleep(delay)
        run = Run(**run_options)
        count = default_processes(len(pending)) if processes is None else max(1, min(processes, len(pending)))
        if count > 1 and hasattr(os, 'fork') and threading.active_count() == 1:
            outcomes, queries, probes = _in_processes(run, specs, pending, parallel, count, detail)
            stats['processes'] = max(stats['processes'], count)
        else:
            outcomes = _in_threads(run, specs, pending, parallel, detail)
            queries, probes = run.resolver.queries, run.prober.probes
        stats['attempts'] += 1
        stats['dns_queries'] += queries
        stats['mx_probes'] += probes
        for index, outcome in zip(pending, outcomes):
            outcome['attempts'] = attempt + 1
            results[index] = outcome
        pending = [index for index in pending if fails(results[index]['status'], retry_on)]
        if not pending:
            break
    stats['elapsed'] = round(time.monotonic() - start, 3)
    return results, stats


def _in_threads(run, specs, indices, parallel, detail):
    shape = compact_result if detail == 'compact' else (lambda result: result)
    workers = max(1, min(parallel, len(indices)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda index: shape(verify_isolated(run, specs[index])), indices))


def _in_processes(run, specs, indices, parallel, count, detail):
    """Check ``indices`` in ``count`` forked processes (both cores for TLS,
    DNS parsing and judging, which threads share under one GIL).

    Forked before this process ever starts a thread (a fork taken after
    threads ran can leave the child waiting forever for the interpreter
    lock). So each worker asks shared names and probes shared MX addresses
    once for itself: at most ``count`` times per run, not once per domain."""
    base_queries, base_probes = run.resolver.queries, run.prober.probes
    slices = [indices[offset::count] for offset in range(count)]
    children = []
    try:
        for part in slices:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: check its slice, send the results, never return
                os.close(read_end)
                status = 0
                try:
                    outcome = (True, (_in_threads(run, specs, part, parallel, detail),
                                      run.resolver.queries - base_queries, run.prober.probes - base_probes))
                except BaseException:  # noqa: BLE001 - reported by the parent with the traceback
                    outcome = (False, traceback.format_exc())
                    status = 1
                try:
                    with os.fdopen(write_end, 'wb') as channel:
                        pickle.dump(outcome, channel, protocol=pickle.HIGHEST_PROTOCOL)
                finally:
                    # _exit: no atexit handlers, no flushing of the parent's
                    # buffered stdout (the module's JSON channel) a second time.
                    os._exit(status)
            os.close(write_end)
            children.append((pid, read_end))
        parts = []
        for pid, read_end in children:
            with os.fdopen(read_end, 'rb') as channel:
                data = channel.read()
            parts.append((pid, data))
    finally:
        for pid, _fd in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    outcomes = [None] * len(indices)
    position = {index: slot for slot, index in enumerate(indices)}
    queries, probes = base_queries, base_probes
    for part, (pid, data) in zip(slices, parts):
        if not data:
            raise MtaStsError('a verification worker process (pid %d) ended without a result' % pid,
                              hint='check the memory limits of the controller, or set processes: 1')
        ok, payload = pickle.loads(data)
        if not ok:
            raise MtaStsError('a verification worker process failed: %s' % payload.strip().splitlines()[-1],
                              hint='report this as a bug with the traceback:\n%s' % payload)
        part_outcomes, part_queries, part_probes = payload
        queries += part_queries
        probes += part_probes
        for index, outcome in zip(part, part_outcomes):
            outcomes[position[index]] = outcome
    return outcomes, queries, probes


# ---------------------------------------------------------------------------
# The module's task


def run_verify(module):
    """The ``verify`` module: check the options, verify every domain,
    then :func:`._findings.conclude`. Returns the result; raises TaskFailed."""
    # A secret inside an item is refused below; keep it out of the result too.
    module.no_log_values.update(secrets_in(module.params['domains']))
    if not HAS_DNSPYTHON:
        raise TaskFailed(missing_required_lib('dnspython'))
    params = module.params
    for name, minimum in (('parallel', 1), ('processes', 1), ('retries', 0), ('delay', 0), ('timeout', 0.1)):
        if params[name] is not None and params[name] < minimum:
            raise TaskFailed('%s must be at least %s' % (name, minimum))
    count, index = params['slice_count'], params['slice_index']
    if count < 1 or not 0 <= index < count:
        raise TaskFailed('slice_index must be from 0 to slice_count - 1 (got %d of %d)' % (index, count))
    try:
        specs = [normalize_spec(item, index) for index, item in enumerate(params['domains'])]
        fmt = report_format(params['report'], params['report_format']) if params['report'] else None
        if params['merge'] is not None:
            results, stats = merge_slices(specs, params['merge'])
            return conclude(module, results, stats, params['fail_on'], params['report'], fmt)
        specs = [spec for spec in specs if slice_of(spec['domain'], count) == index]
        results, stats = verify_domains(
            specs,
            parallel=params['parallel'],
            processes=params['processes'],
            detail=params['detail'],
            retries=params['retries'],
            delay=params['delay'],
            fail_on=params['fail_on'],
            nameservers=params['nameservers'],
            authoritative=params['authoritative'],
            ca_path=params['ca_path'],
            ca_mode=params['ca_mode'],
            timeout=params['timeout'],
            check_mx_tls=params['check_mx_tls'],
            derived_id=params['derived_id'],
        )
    except MtaStsError as exc:
        raise TaskFailed(str(exc), rule=exc.rule) from None
    stats['slice'] = {'index': index, 'count': count}
    return conclude(module, results, stats, params['fail_on'], params['report'], fmt)


# ---------------------------------------------------------------------------
# Beyond one controller: slices on checker hosts, merged once


def slice_of(domain, count):
    """The slice (0 to ``count - 1``) that checks ``domain``: a stable hash
    of its A-label, the same on every host, Python version and run (unlike
    ``hash()``), so that slices never overlap and always cover every domain."""
    if count <= 1:
        return 0
    return int.from_bytes(hashlib.sha256(domain.encode('ascii')).digest()[:8], 'big') % count


COST_STATS = ('dns_queries', 'mx_probes')


def merge_slices(specs, slices):
    """One result from the results of the slices (registered ``verify``
    results): every domain of ``specs`` exactly once, in their order, the
    costs added up. Raises MtaStsError naming a domain that no slice or
    two slices checked."""
    found = {}
    stats = {'attempts': 0, 'dns_queries': 0, 'mx_probes': 0, 'processes': 0, 'elapsed': 0.0, 'slices': 0}
    for position, part in enumerate(slices):
        if not isinstance(part, dict) or not isinstance(part.get('domains'), list) or 'summary' not in part:
            raise MtaStsError('is not a registered result of mailsec.mta_sts.verify', field='merge[%d]' % position,
                              hint='register the verify task of each slice and pass those results')
        summary = part['summary']
        stats['slices'] += 1
        stats['attempts'] = max(stats['attempts'], summary.get('attempts', 0))
        stats['processes'] += summary.get('processes', 1)
        stats['elapsed'] = max(stats['elapsed'], summary.get('elapsed', 0.0))  # the slices run side by side
        for key in COST_STATS:
            stats[key] += summary.get(key, 0)
        for result in part['domains']:
            if result['domain'] in found:
                raise MtaStsError('%s was checked by two slices (merge[%d] and merge[%d])' % (
                    result['domain'], found[result['domain']][0], position), field='merge',
                    hint='give every checker the same slice_count and its own slice_index')
            found[result['domain']] = (position, result)
    missing = [spec['domain'] for spec in specs if spec['domain'] not in found]
    if missing:
        more = ' and %d more' % (len(missing) - 10) if len(missing) > 10 else ''
        raise MtaStsError('no slice checked %s%s' % (', '.join(missing[:10]), more),
                          field='merge', hint='run one slice per slice_index from 0 to slice_count - 1 over the same domains')
    extra = sorted(set(found) - {spec['domain'] for spec in specs})
    if extra:
        raise MtaStsError('the slices checked %s, which domains does not list' % ', '.join(extra[:10]), field='merge',
                          hint='pass the same domains to the merge as to the slices')
    return [found[spec['domain']][1] for spec in specs], stats
