"""`make lab-run CMD=...` runs one's own playbook in a fresh lab: the
copy-paste example of docs/lab.md, exactly as written, deploys, publishes
and verifies deploy-a.test, then leaves no server behind."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def docs_example() -> str:
    text = (REPO / "docs" / "lab.md").read_text()
    section = text[text.index("## Running your own playbook"):]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "docs/lab.md lost its example playbook"
    return match.group(1)


@pytest.mark.skipif(os.geteuid() != 0, reason="the lab with a policy host needs root")
def test_docs_example_runs_with_make_lab_run():
    with tempfile.TemporaryDirectory() as tmp:
        playbook = Path(tmp) / "my-lab.yml"
        playbook.write_text(docs_example())
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
        proc = subprocess.run(
            ["make", "-C", str(REPO), "--no-print-directory", "lab-run", "CMD=ansible-playbook %s" % playbook],
            env=env, capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "deploy-a.test: ok, mode testing, 1 finding(s)" in output, output[-4000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", output)
    # The role's nginx was stopped by the example itself: nothing left running from it.
    leftover = subprocess.run(["pgrep", "-f", "my-policy-host/nginx"], capture_output=True, text=True, check=False)
    assert leftover.stdout.strip() == "", leftover.stdout
