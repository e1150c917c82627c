# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a foreground program as a daemon, by its pid file, without a service manager.

For hosts without systemd (containers, test labs): the program is started in
a session of its own with its output appended to a log file, its pid is
written to a pid file, and it only counts as started once it accepts TCP
connections on the address it serves (or, without such an address, once it
is still alive after the start). A program that exits during the start
fails it with the end of its log.

Private module of the mailsec.mta_sts collection (Linux: reads /proc).
Standard library only.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time


class DaemonError(Exception):
    """The program did not start or stop; the message carries its log."""


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().split(b'\0')
    except OSError:
        return []


def pid_in_file(pid_file, is_ours):
    """The pid in ``pid_file`` if that process is alive and ``is_ours(pid)``, else None.

    A stale pid file may name an unrelated process that got the same pid:
    ``is_ours`` looks at the process (its command line) to tell.
    """
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0 or not is_ours(pid):
        return None
    return pid


def read_pid(pid_file, program):
    """The pid in PID_FILE if that process is alive and runs PROGRAM, else None."""
    return pid_in_file(pid_file, lambda pid: os.fsencode(program) in cmdline(pid))


def accepts(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path, offset, limit=4000):
    """What ``path`` gained after ``offset`` bytes (the last ``limit`` characters)."""
    if not path:
        return ''
    try:
        with open(path, 'rb') as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return ''
    return data.decode('utf-8', errors='replace')[-limit:].strip()


class Daemon:
    """One program run in the background, known by its pid file."""

    def __init__(self, command, pid_file, log_file, environment=None, user=None, group=None,
                 ready_host=None, ready_port=None, timeout=15.0, sleep=time.sleep):
        self.command = list(command)
        self.pid_file = pid_file
        self.log_file = log_file
        self.environment = dict(environment or {})
        self.user = user or None
        self.group = group or None
        self.ready_host = ready_host
        self.ready_port = ready_port
        self.timeout = timeout
        self._sleep = sleep

    def pid(self):
        return read_pid(self.pid_file, self.command[0])

    def _log_size(self):
        try:
            return os.path.getsize(self.log_file)
        except OSError:
            return 0

    def start(self):
        """Start the program and wait until it serves; returns its pid."""
        offset = self._log_size()
        env = dict(os.environ)
        if self.user:
            # Not root's HOME: libraries read files there (~/.netrc) that the
            # user may not open.
            try:
                account = pwd.getpwnam(self.user)
            except KeyError:
                raise DaemonError('cannot start %s: no user %s' % (' '.join(self.command), self.user)) from None
            env.update(HOME=account.pw_dir, USER=self.user, LOGNAME=self.user)
        env.update(self.environment)
        # Appended by root before the program drops to its user: the log
        # never needs to be writable by the daemon.
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                    env=env, cwd='/', start_new_session=True, close_fds=True,
                                    user=self.user, group=self.group)
        except (OSError, KeyError, ValueError) as exc:
            raise DaemonError('cannot start %s: %s' % (' '.join(self.command), exc)) from None
        finally:
            os.close(fd)
        with open(self.pid_file, 'w') as handle:
            handle.write('%d\n' % proc.pid)
        deadline = time.monotonic() + self.timeout
        while True:
            status = proc.poll()
            if status is not None:
                raise DaemonError('%s exited with status %s during its start: %s'
                                  % (' '.join(self.command), status, log_tail(self.log_file, offset)))
            if self.ready_port is None or accepts(self.ready_host, self.ready_port):
                return proc.pid
            if time.monotonic() >= deadline:
                self.stop(proc.pid)
                raise DaemonError('%s did not accept connections on %s port %s within %s seconds: %s'
                                  % (' '.join(self.command), self.ready_host, self.ready_port, self.timeout,
                                     log_tail(self.log_file, offset)))
            self._sleep(0.05)

    def stop(self, pid):
        """SIGTERM, then SIGKILL if the program is still there after the timeout."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.timeout
        while self._alive(pid):
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + self.timeout
            self._sleep(0.05)
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass

    @staticmethod
    def _alive(pid):
        # Our own child (the start that failed) must be reaped to disappear.
        try:
            reaped, _status = os.waitpid(pid, os.WNOHANG)
            if reaped == pid:
                return False
        except ChildProcessError:
            pass
        try:
            with open('/proc/%d/stat' % pid) as handle:
                stat = handle.read()
        except OSError:
            return False
        # A zombie (state Z) has exited; its parent reaps it later.
        return stat[stat.rfind(')') + 2:].split()[:1] != ['Z']
