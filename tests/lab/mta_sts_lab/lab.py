"""Bring the lab world up inside the namespaces, describe it, take it down.

This runs as PID 1 of the lab's PID namespace (see cli.py).  Everything the
lab writes lives in a tmpfs mounted at /run/mta-sts-lab inside the lab's
mount namespace, so nothing is left on the host when the namespace goes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import FACTS_PATH, STATE_DIR, hostile_dns, knot, nginx, pebble, postfix
from .certs import CertStore
from .scenario import DNS_BEHAVIOURS, CertSpec, World
FIXTURED = Path(__file__).with_name("fixtured.py")
HOSTILE = Path(__file__).with_name("hostile.py")
HOSTILE_DNS = Path(__file__).with_name("hostile_dns.py")
ENV_PREFIX = "MTA_STS_LAB_"
# A proxy from the host's environment is unreachable inside the lab.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY")


# Longest list written to one MTA_STS_LAB_* variable (the kernel caps one at 128 KiB).
ENV_VALUE_LIMIT = 65536


class LabError(Exception):
    """The lab could not be brought up; the message says which server and why."""


class Interrupted(BaseException):
    """A signal ended the start-up.  BaseException, like KeyboardInterrupt, so
    that no "try again" handler (readiness polls) can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def in_user_namespace() -> bool:
    """True when our root is only root inside a user namespace (non-root run)."""
    try:
        first = Path("/proc/self/uid_map").read_text().split("\n")[0].split()
    except OSError:
        return False
    return first != ["0", "0", "4294967295"]


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) or "    (log is empty)"


@dataclass
class Server:
    """One lab server process, in a session of its own (terminal signals never reach it)."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    checks: list[tuple[str, Callable[[], bool]]] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    ready_at: float = 0.0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=self.env, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise LabError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from None

    def failure(self, what: str) -> str:
        return f"{what}\n  log {self.log}:\n{log_tail(self.log)}"

    def wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        for what, check in self.checks:
            last_error: object = "no answer"
            while True:
                status = self.proc.poll()
                if status is not None:
                    raise LabError(self.failure(
                        f"{self.name} exited with status {status} before it was ready ({what})"))
                try:
                    if check():
                        break
                except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                    last_error = exc
                if time.monotonic() > deadline:
                    raise LabError(self.failure(
                        f"{self.name} did not come up in time: {what} (last error: {last_error})"))
                time.sleep(0.02)  # polling interval, bounded by the deadline above
        self.ready_at = time.monotonic()

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def tcp_open(address: str, port: int, timeout: float = 0.5) -> bool:
    with socket.create_connection((address, port), timeout=timeout):
        return True


def smtp_banner(address: str, timeout: float = 0.5) -> bool:
    with socket.create_connection((address, 25), timeout=timeout) as sock:
        return sock.recv(512).startswith(b"220")


def run_quiet(argv: list[str]) -> None:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {result.stderr.strip() or result.stdout.strip()}")


class Lab:
    def __init__(self, world: World, *, state: Path = STATE_DIR, start_timeout: float = 10.0,
                 python: str = sys.executable) -> None:
        self.world = world
        self.state = state
        self.start_timeout = start_timeout
        self.python = python
        self.servers: list[Server] = []
        self.tsig_secret = knot.new_tsig_secret()
        self.logs = state / "logs"
        self.started_at = 0.0
        self.ready_after = 0.0
        self.user_namespace = in_user_namespace()
        self.notes: list[str] = []
        if self.user_namespace:
            # Only our own uid exists in here: Postfix needs its postfix user and
            # nginx's workers nobody, neither of which is mapped.
            for host in world.mx_hosts.values():
                if host.server == "postfix":
                    host.server = "aiosmtpd"
                    self.notes.append(f"{host.name}: aiosmtpd instead of Postfix "
                                      "(Postfix needs its own user, absent in a user namespace)")

    # -- namespace -------------------------------------------------------
    def prepare_namespace(self, *, own_run: bool = False) -> None:
        """tmpfs for all lab state, lo up, lab resolv.conf over /etc/resolv.conf.

        OWN_RUN: mount a fresh tmpfs over /run first (used when the host's
        /run/mta-sts-lab mount point is missing and cannot be created, e.g.
        without root on the host).
        """
        if own_run:
            run_quiet(["mount", "-t", "tmpfs", "-o", "mode=0755", "lab-run", "/run"])
            os.makedirs("/run/lock", exist_ok=True)
            os.chmod("/run/lock", 0o1777)
            self.state.mkdir(exist_ok=True)
        run_quiet(["mount", "-t", "tmpfs", "-o", "mode=0755", "mta-sts-lab", str(self.state)])
        run_quiet(["ip", "link", "set", "lo", "up"])
        resolv = self.state / "resolv.conf"
        resolv.write_text(
            "# The lab DNS (Knot); written by tests/lab for this namespace only.\n"
            f"nameserver {self.world.dns_address}\noptions timeout:2 attempts:2\n",
            encoding="ascii")
        resolv.chmod(0o644)
        run_quiet(["mount", "--bind", str(resolv), "/etc/resolv.conf"])

    # -- bring-up --------------------------------------------------------
    def start(self) -> None:
        """Write every config, start every server, wait until all answer, write the facts."""
        self.started_at = time.monotonic()
        for sub in ("logs", "ca", "dns", "web", "acme", "smtp", "scratch"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        (self.state / "scratch").chmod(0o1777)
        self.certs = CertStore(self.state / "ca")
        self.servers = self._plan_servers(self.certs)
        for server in self.servers:
            server.start()
        deadline = time.monotonic() + self.start_timeout
        for server in self.servers:
            server.wait_ready(deadline)
        self._write_trust(self.certs)
        self._issue_deploy_certs(self.certs)
        self.ready_after = time.monotonic() - self.started_at
        self.timings = {s.name.split(" ")[0]: round(s.ready_at - self.started_at, 2)
                        for s in self.servers}
        facts_path = self.state / FACTS_PATH.name
        facts_path.write_text(json.dumps(self.facts(), indent=2, sort_keys=True) + "\n",
                              encoding="utf-8")
        facts_path.chmod(0o644)

    def _plan_servers(self, certs: CertStore) -> list[Server]:
        """The servers of this world, configs written, each with its readiness checks."""
        world = self.world
        servers = []
        knot_conf = knot.write_config(world, self.state / "dns", self.tsig_secret)
        servers.append(Server("knot", knot.command(knot_conf), self.logs / "knot.log",
                              checks=[(f"SOA of every zone on {world.dns_address}:53",
                                       lambda: knot.zones_answer(world))]))

        if world.nginx_policy_hosts:
            web_conf = nginx.write_config(world, self.state / "web", self.logs, certs,
                                          user="root root" if self.user_namespace else None)
            servers.append(Server(
                "nginx", nginx.command(web_conf, self.state / "web", self.logs),
                self.logs / "nginx.log",
                checks=[("port 443 on every policy host address", lambda: nginx.listening(world))]))

        fixtured_conf = self._write_fixtured_config(certs)
        if fixtured_conf is not None:
            config = json.loads(fixtured_conf.read_text())
            checks = [(f"SMTP banner on {mx['address']}:25 ({mx['hostname']})",
                       lambda a=mx["address"]: smtp_banner(a)) for mx in config["smtp"]]
            checks += [(f"HTTP backend {b['address']}:{b['port']} ({b['domain']})",
                        lambda b=b: tcp_open(b["address"], b["port"]))
                       for b in config["http"]]
            servers.append(Server("fixtured (aiosmtpd MX hosts, HTTP backends)",
                                  [self.python, str(FIXTURED), str(fixtured_conf)],
                                  self.logs / "fixtured.log", checks=checks))

        hostile_conf = self._write_hostile_config(certs)
        if hostile_conf is not None:
            config = json.loads(hostile_conf.read_text())
            # TCP only: some of these servers never send a banner or finish a handshake.
            checks = [(f"port {port} on {spec['address']} (hostile {spec['behaviour']})",
                       lambda a=spec["address"], p=port: tcp_open(a, p))
                      for key, port in (("https", 443), ("smtp", 25)) for spec in config[key]]
            servers.append(Server("hostile (misbehaving policy and MX hosts)",
                                  [self.python, str(HOSTILE), str(hostile_conf)],
                                  self.logs / "hostile.log", checks=checks))

        hostile_conf = self._write_hostile_dns_config()
        if hostile_conf is not None:
            servers.append(Server(
                "hostile_dns (misbehaving name servers)", [self.python, str(HOSTILE_DNS), str(hostile_conf)],
                self.logs / "hostile_dns.log",
                checks=[(f"DNS on {address}:53 ({role})", lambda a=address: hostile_dns.answers(a))
                        for role, address in world.hostile_dns.items()]))

        for host in world.mx_hosts.values():
            if host.server == "postfix":
                conf = postfix.write_config(world, host, self.state / "smtp" / host.name, certs)
                servers.append(Server(
                    f"postfix ({host.name})", postfix.command(conf),
                    self.logs / f"postfix-{host.name}.log",
                    checks=[(f"SMTP banner on {host.address}:25",
                             lambda a=host.address: smtp_banner(a))]))

        pebble_conf = pebble.write_config(world, self.state / "acme", certs)
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env.update(pebble.ENVIRONMENT)
        self.pebble = Server(
            "pebble", pebble.command(world, pebble_conf), self.logs / "pebble.log", env=env,
            checks=[(f"ACME directory on https://{world.acme_address}/dir",
                     lambda: pebble.answers(world, certs.ca_path))])
        servers.append(self.pebble)
        return servers

    def _write_trust(self, certs: CertStore) -> None:
        """pebble's root (new at every start) and the bundle that verifies everything."""
        try:
            root = pebble.fetch_root(self.world, certs.ca_path)
        except Exception as exc:  # noqa: BLE001 - any failure: report it with pebble's log
            raise LabError(self.pebble.failure(f"pebble: cannot fetch its root CA: {exc}")) from None
        self.acme_root = self.state / "ca" / "acme-root.pem"
        self.acme_root.write_bytes(root)
        self.bundle = self.state / "ca" / "bundle.pem"
        self.bundle.write_bytes(certs.ca_path.read_bytes() + root)
        for path in (self.state / "ca").iterdir():
            if path.suffix in (".pem", ".crt"):
                path.chmod(0o644)

    def _write_fixtured_config(self, certs: CertStore) -> Path | None:
        world = self.world
        smtp = []
        for host in world.mx_hosts.values():
            if host.server != "aiosmtpd":
                continue
            entry = {"address": host.address, "hostname": host.name, "starttls": host.starttls}
            if host.starttls and host.cert is not None:
                cert, key = certs.issue(host.cert)
                entry.update(cert=str(cert), key=str(key))
            smtp.append(entry)
        http = nginx.backends(world)
        for backend in http:
            backend["body"] = str(self.state / "web" / "policies" / backend["domain"] / "mta-sts.txt")
        if not smtp and not http:
            return None
        path = self.state / "smtp" / "fixtured.json"
        path.write_text(json.dumps({"smtp": smtp, "http": http}, indent=2), encoding="utf-8")
        return path

    def _write_hostile_config(self, certs: CertStore) -> Path | None:
        """Listeners of hostile.py: one per hostile policy address (every domain
        on it gets the same play, under one certificate naming them all, with
        its own policy chosen by the Host header) and one per hostile MX host."""
        world = self.world
        by_address: dict[str, list] = {}
        for host in world.hostile_policy_hosts:
            by_address.setdefault(host.address, []).append(host)
        bodies = self.state / "web" / "hostile"
        https = []
        for address, hosts in sorted(by_address.items()):
            spec = hosts[0].cert
            if len(hosts) > 1:
                spec = CertSpec([h.name for h in hosts], expired=spec.expired)
            cert, key = certs.issue(spec)
            paths = {}
            for host in hosts:
                path = bodies / host.domain / "mta-sts.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(host.body)
                paths[host.name] = str(path)
            https.append({"address": address, "behaviour": hosts[0].hostile, "cert": str(cert),
                          "key": str(key), "bodies": paths})
        smtp = []
        for host in world.mx_hosts.values():
            if host.server != "hostile":
                continue
            entry = {"address": host.address, "hostname": host.name, "behaviour": host.behaviour}
            if host.cert is not None:
                cert, key = certs.issue(host.cert)
                entry.update(cert=str(cert), key=str(key))
            smtp.append(entry)
        if not https and not smtp:
            return None
        path = self.state / "smtp" / "hostile.json"
        path.write_text(json.dumps({"https": https, "smtp": smtp}, indent=2), encoding="utf-8")
        return path

    def _write_hostile_dns_config(self) -> Path | None:
        world = self.world
        fixtures = {d.name: d.dns for d in world.domains.values() if d.dns}
        if not fixtures:
            return None
        path = self.state / "dns" / "hostile_dns.json"
        path.write_text(json.dumps({
            "upstream": world.dns_address,
            "listen": [{"address": address, "role": role} for role, address in world.hostile_dns.items()],
            "fixtures": fixtures}, indent=2), encoding="utf-8")
        return path

    def _issue_deploy_certs(self, certs: CertStore) -> None:
        """Lab-CA certificates for the names the collection deploys (certs from files)."""
        self.deploy_certs = {}
        for name in self.world.domains_of("deployable"):
            cert, key = certs.issue(CertSpec([f"mta-sts.{name}"]))
            self.deploy_certs[name] = {"cert": str(cert), "key": str(key)}

    # -- description -----------------------------------------------------
    def facts(self) -> dict:
        world = self.world
        fixtures = {}
        dns_fixtures = {}
        for domain in world.domains.values():
            if domain.kind == "fixture" and domain.dns:
                # Played by hostile_dns.py: verify must ask that server (or,
                # for stale and lame name servers, each zone's own servers).
                role = DNS_BEHAVIOURS[domain.dns["behaviour"]]
                dns_fixtures[domain.name] = {
                    "mistake": domain.mistake, "expect": domain.expect,
                    "behaviour": domain.dns["behaviour"],
                    "nameservers": [world.hostile_dns[role]] if role == "resolver" else [],
                    "authoritative": role != "resolver"}
            elif domain.kind == "fixture":
                fixtures[domain.name] = {"mistake": domain.mistake, "expect": domain.expect}
        groups: dict[str, list[str]] = {}
        for domain in world.domains.values():
            if domain.group:
                groups.setdefault(domain.group, []).append(domain.name)
        return {
            "version": 1,
            "scenario": world.source,
            "state_dir": str(self.state),
            "facts_path": str(self.state / FACTS_PATH.name),
            "scratch_dir": str(self.state / "scratch"),
            "logs_dir": str(self.logs),
            "dns_server": world.dns_address,
            "dns_port": 53,
            "dns_name": world.ns_name,
            "tsig_key_name": world.tsig_name,
            "tsig_key_secret": self.tsig_secret,
            "tsig_key_algorithm": world.tsig_algorithm,
            "ca_bundle": str(self.bundle),
            "lab_ca": str(self.certs.ca_path),
            "lab_ca_key": str(self.certs.ca_key_path),
            "acme_directory": pebble.directory_url(world),
            "acme_api_ca": str(self.certs.ca_path),
            "acme_root_ca": str(self.acme_root),
            "acme_address": world.acme_address,
            "policy_host_addresses": world.reserved.get("policy_host", []),
            "spare_addresses": world.reserved.get("spare", []),
            "good_domains": [d for d in world.domains_of("good") if not world.domains[d].group],
            "deploy_domains": [d for d in world.domains_of("deployable") if not world.domains[d].group],
            "records_domains": [d for d in world.domains_of("records") if not world.domains[d].group],
            "fixture_domains": sorted(fixtures),
            "fixtures": fixtures,
            "dns_fixtures": dns_fixtures,
            "hostile_dns": world.hostile_dns,
            "generated": groups,
            "zones": sorted(world.zones),
            "mx_hosts": {h.name: {"address": h.address, "server": h.server,
                                  "starttls": h.starttls} for h in world.mx_hosts.values()},
            "policy_hosts": {p.name: p.address for p in world.policy_hosts},
            "domains": {d.name: {"kind": d.kind, "zone": d.zone,
                                 "note": d.mistake or d.note, "expect": d.expect,
                                 "mx": d.mx_hosts,
                                 "policy_host_addresses": (
                                     [d.policy.address] if d.policy else d.policy_host_addresses)}
                        for d in world.domains.values()},
            "deploy_certs": self.deploy_certs,
            "startup_seconds": round(self.ready_after, 3),
            "user_namespace": self.user_namespace,
        }

    def environment(self, *, trust: bool = False) -> dict[str, str]:
        facts = self.facts()
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        scalar = ["dns_server", "dns_port", "tsig_key_name", "tsig_key_secret",
                  "tsig_key_algorithm", "ca_bundle", "lab_ca", "acme_directory", "acme_api_ca",
                  "acme_root_ca", "scratch_dir", "facts_path", "state_dir"]
        for key in scalar:
            env[ENV_PREFIX + key.upper()] = str(facts[key])
        for key in ("good_domains", "deploy_domains", "records_domains", "fixture_domains",
                    "zones", "policy_host_addresses"):
            value = " ".join(facts[key])
            # Linux refuses one environment string over 128 KiB (E2BIG): a
            # world of thousands of zones leaves the list to facts.json.
            if len(value) < ENV_VALUE_LIMIT:
                env[ENV_PREFIX + key.upper()] = value
        env[ENV_PREFIX + "FACTS"] = facts["facts_path"]
        if trust:
            env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = env["CURL_CA_BUNDLE"] = facts["ca_bundle"]
        return env

    # -- teardown --------------------------------------------------------
    def teardown(self, keep_logs: str | None = None) -> None:
        for server in self.servers:
            server.terminate()
        deadline = time.monotonic() + 5
        for server in self.servers:
            if server.proc is None:
                continue
            try:
                server.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"lab: {server.name} ignored SIGTERM; killing it", file=sys.stderr)
                try:
                    os.killpg(server.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                server.proc.wait()
        if keep_logs:
            try:
                shutil.copytree(self.logs, keep_logs, dirs_exist_ok=True)
            except OSError as exc:
                print(f"lab: cannot keep logs in {keep_logs}: {exc}", file=sys.stderr)


def reap_everything(grace: float = 3.0) -> None:
    """As PID 1 of the lab: end every process left in the namespace (daemons a test started)."""
    if os.getpid() != 1:
        return  # kill(-1) outside a PID namespace would hit the whole machine
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(-1, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                time.sleep(0.02)


def reap_orphans(known: set[int]) -> None:
    """Collect exited orphans re-parented to us (PID 1), leaving our own children to Popen."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in known:
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == b"Z" and int(fields[1]) == os.getpid():
            try:
                os.waitpid(int(entry.name), os.WNOHANG)
            except ChildProcessError:
                pass
