# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import socket
import sys

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._daemon import (
    Daemon,
    DaemonError,
    read_pid,
)

# A real foreground server: binds the port given, prints a line, serves until killed.
SERVER = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "time.sleep(0.2); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print('serving', flush=True)\n"
    "while True: s.accept()[0].close()\n"
)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_start_waits_until_it_serves_then_stop(tmp_path):
    port = free_port()
    daemon = Daemon([sys.executable, '-c', SERVER, str(port)], str(tmp_path / 'd.pid'), str(tmp_path / 'd.log'),
                    environment={'EXTRA': '1'}, ready_host='127.0.0.1', ready_port=port, timeout=10)
    assert daemon.pid() is None
    pid = daemon.start()
    try:
        assert daemon.pid() == pid
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
        with open('/proc/%d/environ' % pid, 'rb') as handle:
            assert b'EXTRA=1' in handle.read().split(b'\0')
    finally:
        daemon.stop(pid)
    assert daemon.pid() is None
    assert not os.path.exists(str(tmp_path / 'd.pid'))
    assert 'serving' in (tmp_path / 'd.log').read_text()


def test_a_program_that_exits_fails_the_start_with_its_log(tmp_path):
    daemon = Daemon([sys.executable, '-c', 'import sys; print("bad config: port"); sys.exit(3)'],
                    str(tmp_path / 'd.pid'), str(tmp_path / 'd.log'), ready_port=free_port(), timeout=10)
    with pytest.raises(DaemonError, match=r'exited with status 3 during its start: bad config: port'):
        daemon.start()


def test_a_stale_pid_file_names_no_daemon(tmp_path):
    pid_file = tmp_path / 'd.pid'
    pid_file.write_text('%d\n' % os.getpid())  # alive, but not the program
    assert read_pid(str(pid_file), '/usr/bin/mta-sts-daemon') is None
    pid_file.write_text('garbage')
    assert read_pid(str(pid_file), sys.executable) is None
