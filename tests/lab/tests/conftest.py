"""Host-side fixtures: one lab for the session, driven through lab_agent.py.

Run from the repository root as root:  .venv/bin/pytest tests/lab/tests -q
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAB_DIR = HERE.parent
REPO = LAB_DIR.parent.parent
RUN = LAB_DIR / "run"
AGENT = HERE / "lab_agent.py"

sys.path.insert(0, str(LAB_DIR))
from mta_sts_lab import scenario  # noqa: E402

DEFAULT_SCENARIO = LAB_DIR / "scenarios" / "default.yml"


def uptime_ticks() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def processes_in(namespaces: dict[str, str], started_before: int) -> list[str]:
    """Host processes still living in any of the lab's namespaces.

    Namespace ids are inode numbers that the kernel reuses once freed, and
    other labs may start meanwhile; so only processes started before
    STARTED_BEFORE (clock ticks since boot, taken when our lab ended) count.
    """
    wanted = set(namespaces.values())
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes()
            start = int(stat.rsplit(b")", 1)[1].split()[19])
            if start > started_before:
                continue
            if any(os.readlink(f"/proc/{entry.name}/ns/{ns}") in wanted
                   for ns in ("net", "mnt", "pid")):
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{entry.name}: {cmdline.decode(errors='replace')}")
        except (OSError, IndexError, ValueError):
            continue
    return found


def host_leftovers() -> list[str]:
    """Lab traces visible on the host: mounts, files in the mount point."""
    problems = []
    mounts = Path("/proc/self/mountinfo").read_text()
    for line in mounts.splitlines():
        if "mta-sts-lab" in line:
            problems.append(f"host mount: {line}")
    state = Path("/run/mta-sts-lab")
    if state.is_dir() and any(state.iterdir()):
        problems.append(f"files in the host's {state}: {sorted(p.name for p in state.iterdir())}")
    return problems


class LabSession:
    """A running lab with an agent inside; `call` and `run` execute in the lab."""

    def __init__(self, scenario_path: Path = DEFAULT_SCENARIO) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [str(RUN), "--scenario", str(scenario_path), "--", sys.executable, str(AGENT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            cwd=REPO)
        hello = self.proc.stdout.readline()
        if not hello:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"the lab did not start (exit {self.proc.returncode}):\n{self.log()}")
        hello = json.loads(hello)
        self.facts = hello["facts"]
        self.namespaces = hello["namespaces"]
        self.env = hello["env"]
        self.world = scenario.load(scenario_path)

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def request(self, payload: dict) -> dict:
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the lab agent died:\n{self.log()}")
        return json.loads(line)

    def call(self, name: str, *args):
        answer = self.request({"call": name, "args": list(args)})
        if "error" in answer:
            raise AssertionError(f"{name}{args} failed in the lab: {answer['error']}\n{answer['traceback']}")
        return answer["result"]

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> dict:
        return self.request({"argv": argv, "env": env or {}, "timeout": timeout})

    def close(self) -> int:
        self.proc.stdin.close()
        status = self.proc.wait(timeout=60)
        self.proc.stdout.close()
        return status


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.skip("the lab tests run as root (see docs/lab.md for non-root use)")
    session = LabSession()
    yield session
    status = session.close()
    ended = uptime_ticks()
    assert status == 0, f"lab exited with {status}:\n{session.log()}"
    left = processes_in(session.namespaces, ended)
    assert not left, f"lab processes still alive after the run: {left}"
    assert not host_leftovers(), host_leftovers()
