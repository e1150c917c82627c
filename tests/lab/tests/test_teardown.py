"""The lab leaves nothing behind: on success, failure, signals, and daemons left by COMMAND."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import RUN, host_leftovers, processes_in, uptime_ticks

PRINT_NAMESPACES = ("for ns in net mnt pid; do readlink /proc/self/ns/$ns; done; echo ready; ")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab tests run as root")


def descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of ROOT and everything below it, read from /proc."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
            starts[int(entry.name)] = int(fields[19])
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in starts:
            found.add((pid, starts[pid]))
        todo.extend(parents.get(pid, []))
    return found


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def alive(processes: set[tuple[int, int]]) -> list[int]:
    still = []
    for pid, start in processes:
        try:
            fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[19]) == start and fields[0] != b"Z":
            still.append(pid)
    return still


class LabRun:
    """tests/lab/run with a shell COMMAND that prints the lab's namespaces, then 'ready'."""

    started: list[LabRun] = []

    def __init__(self, script: str, *options: str) -> None:
        LabRun.started.append(self)
        self.proc = subprocess.Popen([str(RUN), "--quiet", *options, "--", "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.namespaces: dict[str, str] = {}
        self.seen: set[tuple[int, int]] = set()

    def wait_ready(self) -> None:
        for ns in ("net", "mnt", "pid"):
            self.namespaces[ns] = self.proc.stdout.readline().strip()
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()
        self.seen = descendants(self.proc.pid)
        assert len(self.seen) > 8  # unshare, PID 1, knotd, nginx, pebble, postfix, ...

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        status = self.proc.wait(timeout=timeout)
        ended = uptime_ticks()
        stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.namespaces:
            assert processes_in(self.namespaces, ended) == [], "lab processes left"
        assert alive(self.seen) == [], "lab processes left"
        assert host_leftovers() == []
        return status, stderr


@pytest.fixture(autouse=True)
def _no_stray_lab():
    """A failing test must not leave its lab running."""
    yield
    while LabRun.started:
        proc = LabRun.started.pop().proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize(("script", "status"), [
    ("true", 0),
    ("exit 3", 3),
    ("kill -TERM $$", 128 + signal.SIGTERM),
])
def test_exit_status_is_the_commands(script, status):
    run = LabRun(PRINT_NAMESPACES + script)
    run.wait_ready()
    assert run.finish()[0] == status


def test_command_not_found():
    proc = subprocess.run([str(RUN), "--quiet", "--", "no-such-command-anywhere"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 127
    assert "no-such-command-anywhere" in proc.stderr


def test_daemons_left_by_the_command_are_ended():
    # One daemon ignores SIGTERM: the lab must still end it (SIGKILL after a grace time).
    run = LabRun(PRINT_NAMESPACES + "setsid sleep 300 & "
                 "setsid sh -c 'trap \"\" TERM; sleep 300' & sleep 0.2; exit 0")
    run.wait_ready()
    started = time.monotonic()
    assert run.finish()[0] == 0
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_to_run_tears_the_lab_down(signum):
    run = LabRun(PRINT_NAMESPACES + "exec sleep 300")
    run.wait_ready()
    run.proc.send_signal(signum)
    assert run.finish()[0] == 128 + signum


def test_sigkill_to_run_leaves_nothing():
    run = LabRun(PRINT_NAMESPACES + "exec sleep 300")
    run.wait_ready()
    run.proc.kill()
    run.proc.wait(timeout=10)
    # The kernel ends the rest (PDEATHSIG on unshare, --kill-child, PID namespace): poll.
    deadline = time.monotonic() + 10
    while alive(run.seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.finish()


def test_interrupt_during_startup():
    run = LabRun(PRINT_NAMESPACES + "exec sleep 300")
    deadline = time.monotonic() + 10
    # Knot is the first server started; the lab is not ready before pebble answers.
    while time.monotonic() < deadline and not any(
            comm(pid) == "knotd" for pid, _start in descendants(run.proc.pid)):
        time.sleep(0.01)
    run.seen = descendants(run.proc.pid)
    run.proc.send_signal(signal.SIGINT)
    status, stderr = run.finish()
    assert status == 128 + signal.SIGINT
    assert "interrupted by SIGINT" in stderr


def test_server_that_does_not_come_up_is_named_with_its_log():
    proc = subprocess.run([str(RUN), "--timeout", "0.001", "--", "true"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 125
    assert "did not come up in time" in proc.stderr
    assert "log /run/mta-sts-lab/logs/" in proc.stderr
    assert host_leftovers() == []


def test_bad_scenario_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("domains:\n  example.com: {kind: good}\n")
    proc = subprocess.run([str(RUN), "--scenario", str(bad), "--", "true"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert "outside the reserved .test TLD" in proc.stderr


class Terminal:
    """tests/lab/run on a pseudo-terminal, as `make lab-shell` runs it."""

    def __init__(self, *command: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become tests/lab/run
            os.execv(str(RUN), [str(RUN), "--", *command])
        self.output = b""

    def expect(self, marker: bytes, timeout: float = 20.0, count: int = 1) -> None:
        """Read until MARKER has been seen COUNT times in all output so far."""
        deadline = time.monotonic() + timeout
        while self.output.count(marker) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{marker!r} not seen; terminal said:\n{self.output.decode(errors='replace')}"
            ready, _w, _x = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:  # the other side is gone
                    break

    def foreground_is(self, name: str) -> bool:
        """True when a process named NAME below us leads the terminal's foreground group."""
        for pid, _start in descendants(self.pid):
            if comm(pid) == name:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
                except OSError:
                    return False
                return fields[2] == fields[5]  # pgrp == tpgid
        return False

    def send(self, text: bytes) -> None:
        os.write(self.fd, text)

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"tests/lab/run did not end; terminal said:\n{self.output.decode(errors='replace')}")


def test_ctrl_c_in_an_interactive_shell_reaches_only_the_shell_job():
    term = Terminal("env", "PS1=lab-prompt$ ", "bash", "--norc", "--noprofile", "-i")
    term.expect(b"lab-prompt$ ")
    term.send(b"echo dns=$MTA_STS_LAB_DNS_SERVER; echo sleep-$((1+1)); sleep 60; echo sleep-$((2+3))\n")
    term.expect(b"dns=127.0.0.1")
    term.expect(b"sleep-2")  # the echoed command line shows $((1+1)), not 2
    deadline = time.monotonic() + 10
    while not term.foreground_is("sleep"):
        assert time.monotonic() < deadline, "sleep never got the terminal"
        time.sleep(0.01)
    term.send(b"\x03")  # Ctrl-C: ends sleep, not the shell, not the lab
    term.expect(b"lab-prompt$ ", count=2)  # the shell is back at its prompt
    term.send(b"echo still-$((6*7)); getent hosts mx1.example.test\n")
    term.expect(b"still-42")
    term.expect(b"127.0.2.1")
    assert b"sleep-5" not in term.output
    term.send(b"exit 7\n")
    assert term.wait() == 7
