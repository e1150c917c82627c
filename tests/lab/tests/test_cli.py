"""The lab's command line, without starting a lab (no root needed)."""

from __future__ import annotations

import os
import signal
import subprocess

from conftest import RUN


def test_describe_into_a_closed_pipe_ends_quietly():
    """`tests/lab/run --describe | head` must not end in a traceback.

    The reading end is closed before the lab writes anything, so the first
    write fails every time (with `head` it depends on timing and buffer size).
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([str(RUN), "--describe"], stdout=write_end, stderr=subprocess.PIPE,
                                text=True, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert result.stderr == ""
    # Ended by SIGPIPE, like cat or grep in the same place.
    assert result.returncode == -signal.SIGPIPE


def test_describe_prints_every_section():
    result = subprocess.run([str(RUN), "--describe"], capture_output=True, text=True, timeout=60, check=True)
    assert result.stderr == ""
    for heading in ("### Good domains", "### Broken fixtures", "### MX hosts"):
        assert heading in result.stdout
