# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._nginx import (
    Nginx,
    NginxError,
    children,
    log_tail,
    read_pid,
)


def write_stat(proc, pid, comm, ppid):
    os.makedirs(os.path.join(proc, str(pid)))
    with open(os.path.join(proc, str(pid), 'stat'), 'w') as handle:
        handle.write('%d (%s) S %d 1 1 0 -1\n' % (pid, comm, ppid))


def test_children_parses_names_with_spaces_and_parentheses(tmp_path):
    proc = str(tmp_path)
    write_stat(proc, 10, 'nginx', 1)
    write_stat(proc, 11, 'nginx: worker process', 10)
    write_stat(proc, 12, 'odd) name (x', 10)
    write_stat(proc, 13, 'other', 1)
    os.makedirs(os.path.join(proc, 'self'))
    assert children(10, proc=proc) == {11, 12}
    assert children(13, proc=proc) == set()


@pytest.mark.parametrize('content', ['', 'garbage', '0', '-5', '999999999'])
def test_read_pid_rejects_bad_or_dead(tmp_path, content):
    pid_file = tmp_path / 'nginx.pid'
    pid_file.write_text(content)
    assert read_pid(str(pid_file)) is None


def test_read_pid_missing_file(tmp_path):
    assert read_pid(str(tmp_path / 'none.pid')) is None


def test_read_pid_not_nginx(tmp_path):
    # A live process that is not nginx (a pid file left over after a reboot).
    with subprocess.Popen(['sleep', '30']) as other:
        try:
            pid_file = tmp_path / 'nginx.pid'
            pid_file.write_text('%d\n' % other.pid)
            assert read_pid(str(pid_file)) is None
        finally:
            other.kill()


def test_log_tail_returns_only_new_lines(tmp_path):
    log = tmp_path / 'error.log'
    log.write_text('old line\n')
    offset = log.stat().st_size
    with open(log, 'a') as handle:
        handle.write('[emerg] bind() to 127.0.0.11:443 failed (98: Address already in use)\n')
    assert log_tail(str(log), offset) == '[emerg] bind() to 127.0.0.11:443 failed (98: Address already in use)'
    assert log_tail(str(tmp_path / 'missing.log'), 0) == ''
    assert log_tail(None, 0) == ''


def test_test_reports_nginx_message(tmp_path):
    fake = tmp_path / 'nginx'
    fake.write_text('#!/bin/sh\necho "[emerg] unknown directive \\"bogus\\"" >&2\nexit 1\n')
    fake.chmod(0o755)
    nginx = Nginx(str(fake), str(tmp_path / 'nginx.conf'), str(tmp_path / 'nginx.pid'))
    with pytest.raises(NginxError, match='unknown directive "bogus"'):
        nginx.test()


def test_wait_times_out_with_the_reason(tmp_path):
    nginx = Nginx('/bin/false', 'c', 'p', timeout=0.2, sleep=lambda seconds: None)
    with pytest.raises(NginxError, match='no workers within 0.2 seconds'):
        nginx._wait(lambda: False, 'no workers')
