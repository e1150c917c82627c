# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run an nginx instance by its pid file, with or without a service manager.

``nginx -s reload`` only sends a signal: when the new configuration cannot be
applied (an address already in use, a certificate that cannot be loaded),
the master logs the error and keeps serving the old configuration, and the
command still succeeds. A reload is only confirmed here when the master has
started new worker processes; otherwise the new lines of the error log are
returned as the reason.

:func:`run_nginx_control` is the ``nginx_control`` module: what each
``state`` does, in check mode and for real.

Private module of the mailsec.mta_sts collection (Linux: reads /proc).
Standard library only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._daemon import cmdline, log_tail, pid_in_file
from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed


class NginxError(Exception):
    """nginx refused a configuration or did not start, stop or reload."""


def read_pid(pid_file):
    """The pid in ``pid_file`` if that process is alive and is nginx, else None."""
    return pid_in_file(pid_file, is_nginx)


def is_nginx(pid):
    # nginx rewrites its command line ("nginx: master process ..."), so look
    # for the name anywhere in it.
    return any(b'nginx' in part for part in cmdline(pid))


def children(pid, proc='/proc'):
    """The pids of the live child processes of ``pid``."""
    found = set()
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, 'stat')) as handle:
                stat = handle.read()
        except OSError:
            continue
        # Field 4 is the parent pid; the command (field 2) may contain spaces
        # and parentheses, so split after its closing parenthesis.
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.add(int(entry))
    return found


def log_size(path):
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


class Nginx:
    """One nginx instance: binary, main configuration and pid file."""

    def __init__(self, binary, config, pid_file, error_log=None, timeout=15.0, sleep=time.sleep):
        self.binary = binary
        self.config = config
        self.pid_file = pid_file
        self.error_log = error_log
        self.timeout = timeout
        self._sleep = sleep

    def _command(self, *args):
        return [self.binary, '-c', self.config] + list(args)

    def pid(self):
        return read_pid(self.pid_file)

    def test(self):
        """``nginx -t``; raises NginxError with nginx's own message."""
        proc = subprocess.run(self._command('-t'), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        output = proc.stdout.decode('utf-8', errors='replace').strip()
        if proc.returncode != 0:
            raise NginxError('nginx -t -c %s failed: %s' % (self.config, output))
        return output

    def _wait(self, condition, what):
        deadline = time.monotonic() + self.timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise NginxError('%s within %s seconds' % (what, self.timeout))
            self._sleep(0.1)

    def start(self):
        """Start the daemon (nginx forks into the background) and wait for its pid file."""
        offset = log_size(self.error_log)
        with tempfile.TemporaryFile() as output:
            # Not through a pipe: the daemon may keep stderr open for ever.
            proc = subprocess.run(self._command(), stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=output, check=False, start_new_session=True)
            output.seek(0)
            text = output.read().decode('utf-8', errors='replace').strip()
        if proc.returncode != 0:
            raise NginxError('nginx -c %s did not start: %s %s'
                             % (self.config, text, log_tail(self.error_log, offset)))
        try:
            return self._wait(self.pid, 'nginx -c %s wrote no live pid to %s' % (self.config, self.pid_file))
        except NginxError as exc:
            raise NginxError('%s: %s' % (exc, log_tail(self.error_log, offset))) from None

    def reload(self, pid):
        """SIGHUP and wait for new workers: the sign that the new configuration is live."""
        before = children(pid)
        offset = log_size(self.error_log)
        os.kill(pid, signal.SIGHUP)

        def new_workers():
            if not is_nginx(pid):
                raise NginxError('the nginx master %d exited during the reload: %s'
                                 % (pid, log_tail(self.error_log, offset)))
            return children(pid) - before

        try:
            self._wait(new_workers, 'nginx (pid %d) started no workers with the new configuration' % pid)
        except NginxError as exc:
            raise NginxError('%s; it keeps serving the previous configuration. nginx said: %s'
                             % (exc, log_tail(self.error_log, offset) or '(nothing in %s)' % self.error_log)) from None

    def stop(self, pid):
        os.kill(pid, signal.SIGQUIT)
        self._wait(lambda: not is_nginx(pid), 'nginx (pid %d) did not stop' % pid)


# ---------------------------------------------------------------------------
# The module's task


def nginx_action(state, running, start_stopped):
    """What ``state`` does to nginx: ``stop``, ``start``, ``reload`` or None.

    ``reloaded`` starts a stopped nginx only with ``start_stopped``;
    ``tested`` never changes anything (it only runs ``nginx -t``)."""
    if state == 'stopped':
        return 'stop' if running else None
    if state == 'started':
        return None if running else 'start'
    if state == 'reloaded':
        if running:
            return 'reload'
        return 'start' if start_stopped else None
    return None


def control(nginx, state, start_stopped, check_mode):
    """Bring ``nginx`` (an :class:`Nginx`) to ``state``. Returns the result
    (``changed``, ``was_running``, ``pid``); raises TaskFailed with it."""
    pid = nginx.pid()
    result = dict(changed=False, was_running=pid is not None, pid=pid)
    action = nginx_action(state, pid is not None, start_stopped)
    if check_mode:
        result['changed'] = action is not None
        return result
    try:
        if state != 'stopped':
            # Every other state checks the configuration first, so that one
            # nginx refuses is never started or reloaded.
            nginx.test()
        if action == 'stop':
            result['changed'] = True
            nginx.stop(pid)
            result['pid'] = None
        elif action == 'start':
            result['pid'] = nginx.start()
            result['changed'] = True
        elif action == 'reload':
            nginx.reload(pid)
            result['changed'] = True
    except NginxError as exc:
        raise TaskFailed(str(exc), **result) from None
    except OSError as exc:
        raise TaskFailed('nginx -c %s: %s' % (nginx.config, exc), **result) from None
    return result


def run_nginx_control(module):
    """The ``nginx_control`` module."""
    params = module.params
    nginx = Nginx(params['binary'], params['config'], params['pid_file'], params['error_log'], params['timeout'])
    return control(nginx, params['state'], params['start_stopped'], module.check_mode)
