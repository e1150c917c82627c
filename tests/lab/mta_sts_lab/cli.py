"""tests/lab/run: run a command inside the lab.

    tests/lab/run [--scenario FILE] [--trust] [--keep-logs DIR] [--timeout S] [--quiet] -- COMMAND...

Two processes cooperate:

* the *outer* one (on the host) checks the scenario and the tools, then
  starts `unshare --net --mount --pid --fork --mount-proc --kill-child` on
  the *inner* one, relays SIGINT/SIGTERM/SIGHUP to it and returns its exit
  status;
* the *inner* one is PID 1 of the new PID namespace: it mounts the lab
  tmpfs, brings up lo, DNS, HTTPS, ACME and SMTP, runs COMMAND, then tears
  everything down.  Because it is PID 1, every process left in the
  namespace (including daemons a test started) dies with it, and because
  all lab files live in a tmpfs of the lab's own mount namespace, nothing
  remains on the host even if the outer process is killed with SIGKILL.

Exit status: COMMAND's (128+N if a signal N ended it), 125 if the lab could
not start, 127 if COMMAND was not found, 2 for a usage or scenario error.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import STATE_DIR, scenario

if TYPE_CHECKING:
    from .lab import Lab

LAB_DIR = Path(__file__).resolve().parent.parent
ENTRY = Path(__file__).resolve().parent  # run as a directory: its __main__.py
DEFAULT_SCENARIO = LAB_DIR / "scenarios" / "default.yml"
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_USAGE, EXIT_LAB, EXIT_NOT_FOUND = 2, 125, 127
REQUIRED_TOOLS = ("unshare", "ip", "mount", "knotd", "nginx", "pebble")

USAGE = """\
usage: tests/lab/run [--scenario FILE] [--trust] [--keep-logs DIR] [--timeout SECONDS]
                     [--quiet] -- COMMAND [ARG...]

Starts the loopback lab (DNS, HTTPS policy hosts, ACME, MX hosts) in private
namespaces, runs COMMAND inside it and tears everything down afterwards.
Without COMMAND, runs an interactive bash.  Facts: /run/mta-sts-lab/facts.json
and MTA_STS_LAB_* variables (see docs/lab.md).

  --scenario FILE   world to build (default: tests/lab/scenarios/default.yml)
  --trust           also set SSL_CERT_FILE, REQUESTS_CA_BUNDLE and
                    CURL_CA_BUNDLE to the lab bundle for COMMAND
  --keep-logs DIR   copy the servers' logs to DIR (on the host) at teardown
  --timeout S       start-up budget in seconds (default 10)
  --quiet           no start-up summary on stderr
  --describe        print the scenario's domains as a Markdown table and exit
                    (no namespace, no server)
"""


@dataclass
class Options:
    scenario: Path = DEFAULT_SCENARIO
    trust: bool = False
    keep_logs: str | None = None
    timeout: float = 10.0
    quiet: bool = False
    describe: bool = False
    inner: bool = False
    own_run: bool = False
    tty_foreground: bool = False
    command: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Options:
    options = Options()
    if "--" in argv:
        split = argv.index("--")
        argv, options.command = argv[:split], argv[split + 1:]
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help"):
            print(USAGE)
            sys.exit(0)
        elif arg in ("--scenario", "--keep-logs", "--timeout"):
            value = next(args, None)
            if value is None:
                raise SystemExit(f"lab: {arg} needs a value\n\n{USAGE}")
            if arg == "--scenario":
                options.scenario = Path(value).resolve()
            elif arg == "--keep-logs":
                options.keep_logs = str(Path(value).resolve())
            else:
                options.timeout = float(value)
        elif arg == "--trust":
            options.trust = True
        elif arg == "--quiet":
            options.quiet = True
        elif arg == "--describe":
            options.describe = True
        elif arg == "--inner":
            options.inner = True
        elif arg == "--own-run":
            options.own_run = True
        elif arg == "--tty-foreground":
            options.tty_foreground = True
        else:
            raise SystemExit(f"lab: unknown option {arg!r} (COMMAND goes after --)\n\n{USAGE}")
    if not options.command:
        options.command = ["bash", "-i"]
    return options


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        raise
    if options.describe:
        return describe(options)
    return inner_main(options) if options.inner else outer_main(options)


def describe(options: Options) -> int:
    """The scenario's domains as Markdown tables, for docs/lab.md and curious humans."""
    # A filter such as `head` may stop reading early: end quietly, as cat
    # does, instead of a BrokenPipeError traceback (Python ignores SIGPIPE).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        world = scenario.load(options.scenario)
    except scenario.ScenarioError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return EXIT_USAGE
    titles = {"good": "Good domains, published and served by the lab",
              "deployable": "Deployable: DNS ready, policy left to the collection",
              "records": "Empty names for the records module",
              "fixture": "Broken fixtures (one mistake each)"}
    for kind, title in titles.items():
        domains = [d for d in world.domains.values() if d.kind == kind and not d.group]
        if not domains:
            continue
        print(f"### {title}\n")
        print("| domain | mta-sts host address | MX | plays | expected verdict |")
        print("|---|---|---|---|---|")
        for d in domains:
            address = d.policy.address if d.policy else ", ".join(d.policy_host_addresses) or "-"
            mx = ", ".join(d.mx_hosts) or "-"
            plays = d.mistake or d.note or "-"
            print(f"| `{d.name}` | {address} | {mx} | {plays} | {d.expect or '-'} |")
        print()
    groups: dict[str, list[str]] = {}
    for d in world.domains.values():
        if d.group:
            groups.setdefault(d.group, []).append(d.name)
    for group, names in groups.items():
        print(f"Generated group `{group}`: {len(names)} domains, {names[0]} ... {names[-1]} "
              f"(kind {world.domains[names[0]].kind}).\n")
    print("### MX hosts\n")
    print("| host | address | server | STARTTLS | certificate |")
    print("|---|---|---|---|---|")
    for h in world.mx_hosts.values():
        cert = "-"
        if h.cert:
            cert = ("self-signed" if h.cert.self_signed else "lab CA") + \
                (", expired" if h.cert.expired else "") + \
                ("" if h.cert.names == [h.name] else f", for {', '.join(h.cert.names)}")
        print(f"| `{h.name}` | {h.address} | {h.server} | {'yes' if h.starttls else 'no'} | {cert} |")
    return 0


# ---------------------------------------------------------------- outer --

def _die_with_parent() -> None:
    """In the unshare child: SIGKILL when the outer process dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _inner_pid(unshare_pid: int) -> int | None:
    try:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def outer_main(options: Options) -> int:
    try:
        world = scenario.load(options.scenario)
    except scenario.ScenarioError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tools = list(REQUIRED_TOOLS)
    if any(h.server == "postfix" for h in world.mx_hosts.values()):
        tools.append("postfix")
    missing = [tool for tool in tools if shutil.which(tool) is None
               and not Path("/usr/sbin", tool).exists()]
    if missing:
        print(f"lab: missing programs: {', '.join(missing)} "
              "(Debian: apt-get install knot nginx pebble postfix iproute2)", file=sys.stderr)
        return EXIT_LAB

    unshare = ["unshare"]
    inner_flags = []
    if os.geteuid() != 0:
        # Without root: a user namespace maps us to root inside (see docs/lab.md).
        unshare += ["--user", "--map-root-user"]
    try:
        STATE_DIR.mkdir(mode=0o755, exist_ok=True)  # an empty mount point, shared by all runs
    except OSError:
        pass  # not root: the inner side mounts its own /run instead
    if not STATE_DIR.is_dir():
        inner_flags.append("--own-run")
    unshare += ["--net", "--mount", "--propagation", "private", "--pid", "--fork",
                "--mount-proc", "--kill-child"]

    tty_pgrp = None
    if sys.stdin.isatty():
        try:
            if os.tcgetpgrp(0) == os.getpgrp():
                tty_pgrp = os.getpgrp()
                inner_flags.append("--tty-foreground")
        except OSError:
            pass

    argv = [*unshare, "--", sys.executable, str(ENTRY), "--inner",
            "--scenario", str(options.scenario), "--timeout", str(options.timeout), *inner_flags]
    if options.trust:
        argv.append("--trust")
    if options.quiet:
        argv.append("--quiet")
    if options.keep_logs:
        argv += ["--keep-logs", options.keep_logs]
    argv += ["--", *options.command]

    env = dict(os.environ)
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if "/usr/sbin" not in env["PATH"].split(":"):
        env["PATH"] += ":/usr/local/sbin:/usr/sbin:/sbin"
    child = subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)

    def relay(signum: int, _frame: object) -> None:
        pid = _inner_pid(child.pid)
        if pid is not None:
            os.kill(pid, signum)
        else:  # the inner process is not there yet: end it all (kill-child)
            child.kill()

    for signum in FORWARDED:
        signal.signal(signum, relay)
    status = child.wait()
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_DFL)
    if tty_pgrp is not None:
        # Take the terminal back from COMMAND's (now gone) process group.
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(0, tty_pgrp)
        except OSError:
            pass
        signal.signal(signal.SIGTTOU, previous)
    return 128 - status if status < 0 else status


# ---------------------------------------------------------------- inner --

class InnerState:
    """What the inner signal handler needs to know: phase and COMMAND."""

    def __init__(self) -> None:
        self.phase = "startup"
        self.command: subprocess.Popen | None = None
        self.signals: list[int] = []

    def on_signal(self, signum: int, _frame: object) -> None:
        self.signals.append(signum)
        if self.phase == "startup":
            from .lab import Interrupted
            self.phase = "teardown"
            raise Interrupted(signum)
        if self.phase == "command" and self.command is not None:
            try:
                os.killpg(self.command.pid, signum)
                os.killpg(self.command.pid, signal.SIGCONT)  # a stopped job must see it too
            except ProcessLookupError:
                pass
        # in teardown: already on the way out; finish cleaning up


def _take_terminal() -> None:
    """In COMMAND's child, before exec: own process group, in the terminal's foreground.

    Done in the child (as shells do) so that an interactive shell never sees
    itself in the background and stops itself with SIGTTIN.
    """
    os.setpgid(0, 0)
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(0, os.getpgrp())
    except OSError:
        pass
    signal.signal(signal.SIGTTOU, previous)


def run_command(state: InnerState, lab: Lab, options: Options) -> int:
    from .lab import reap_orphans

    env = lab.environment(trust=options.trust)
    try:
        # COMMAND gets a process group of its own and, on a terminal, the
        # foreground: Ctrl-C reaches it alone, the lab stays up until it exits
        # (an interactive shell ignores Ctrl-C, as it should).
        if options.tty_foreground:
            state.command = subprocess.Popen(options.command, env=env, preexec_fn=_take_terminal)
        else:
            state.command = subprocess.Popen(options.command, env=env, process_group=0)
    except OSError as exc:
        print(f"lab: cannot run {options.command[0]!r}: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    state.phase = "command"
    known = {s.proc.pid for s in lab.servers if s.proc} | {state.command.pid}
    while True:
        try:
            status = state.command.wait(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            reap_orphans(known)
    return 128 - status if status < 0 else status


def inner_main(options: Options) -> int:
    # Imported here: the outer process needs none of the server machinery.
    from .lab import Interrupted, Lab, LabError, reap_everything

    state = InnerState()
    for signum in FORWARDED:
        signal.signal(signum, state.on_signal)
    lab: Lab | None = None
    status = EXIT_LAB
    try:
        world = scenario.load(options.scenario)
        lab = Lab(world, start_timeout=options.timeout)
        for note in lab.notes:
            print(f"lab: note: {note}", file=sys.stderr)
        lab.prepare_namespace(own_run=options.own_run)
        lab.start()
        if not options.quiet:
            print(f"lab: up in {lab.ready_after:.1f} s: {len(world.zones)} zones, "
                  f"{len(world.domains)} domains, {len(world.policy_hosts)} policy hosts, "
                  f"{len(world.mx_hosts)} MX hosts; facts in /run/mta-sts-lab/facts.json",
                  file=sys.stderr)
            if os.environ.get("MTA_STS_LAB_DEBUG"):
                print(f"lab: ready after (s): {lab.timings}", file=sys.stderr)
        status = run_command(state, lab, options)
    except scenario.ScenarioError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        status = EXIT_USAGE
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        status = EXIT_LAB
    except Interrupted as exc:
        print(f"lab: {exc}; tearing down", file=sys.stderr)
        status = 128 + exc.signum
    except OSError as exc:
        print(f"lab: cannot set up the lab: {exc}", file=sys.stderr)
        status = EXIT_LAB
    finally:
        state.phase = "teardown"
        if state.command is not None and state.command.poll() is None:
            try:
                os.killpg(state.command.pid, signal.SIGTERM)
                os.killpg(state.command.pid, signal.SIGCONT)
                state.command.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if lab is not None:
            lab.teardown(keep_logs=options.keep_logs)
        reap_everything()
        sys.stdout.flush()
        sys.stderr.flush()
    if state.signals and status == 0:
        status = 128 + state.signals[0]
    return status


if __name__ == "__main__":
    sys.exit(main())
