# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Change a Postfix instance's main.cf through postconf, check it, reload it.

Every change goes through Postfix's own tools (``postconf -c DIR``), so the
file keeps its comments and layout, and nothing Postfix would refuse is left
in place: after writing, ``postfix check`` must pass, or the previous values
are put back. ``-c DIR`` selects the instance, so a host with several
Postfix instances (or a test with a private one) is handled like the system's
``/etc/postfix``.

Private module of the mailsec.mta_sts collection. Standard library only.
"""

from __future__ import annotations

import os
import pty
import subprocess


class PostfixError(Exception):
    """A Postfix command failed; the message carries Postfix's own words."""


def normalise(value):
    """Postfix reads lists with commas or whitespace alike; compare words."""
    return ' '.join(str(value).replace(',', ' ').split())


def parse_postconf_n(text):
    """``name = value`` lines of ``postconf -n`` as a dict."""
    explicit = {}
    for line in text.splitlines():
        name, sep, value = line.partition('=')
        if sep:
            explicit[name.strip()] = value.strip()
    return explicit


class Postfix:
    """One Postfix instance, named by its configuration directory."""

    def __init__(self, config_dir, postconf='/usr/sbin/postconf', postfix='/usr/sbin/postfix', run=subprocess.run):
        self.config_dir = config_dir
        self.postconf_binary = postconf
        self.postfix_binary = postfix
        self._run = run

    def _call(self, argv, what):
        try:
            proc = self._run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
        except OSError as exc:
            raise PostfixError('%s: cannot run %s: %s' % (what, argv[0], exc)) from None
        out = proc.stdout.decode('utf-8', errors='replace')
        err = proc.stderr.decode('utf-8', errors='replace')
        return proc.returncode, out, err

    def _call_with_terminal(self, argv, what):
        """Run ARGV with standard error on a pseudo-terminal.

        Postfix commands write their messages to standard error only when it
        is a terminal; otherwise only to the mail log, which may be syslog.
        """
        if self._run is not subprocess.run:
            return self._call(argv, what)
        try:
            master, slave = pty.openpty()
        except OSError:
            return self._call(argv, what)
        try:
            rc, out, err = self._call_fds(argv, what, slave)
        finally:
            os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the terminal is closed and drained
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        return rc, out, err + b''.join(chunks).decode('utf-8', errors='replace').replace('\r\n', '\n')

    def _call_fds(self, argv, what, stderr):
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, check=False)
        except OSError as exc:
            raise PostfixError('%s: cannot run %s: %s' % (what, argv[0], exc)) from None
        return proc.returncode, proc.stdout.decode('utf-8', errors='replace'), ''

    def _postconf(self, *args):
        argv = [self.postconf_binary, '-c', self.config_dir] + list(args)
        rc, out, err = self._call(argv, 'postconf -c %s' % self.config_dir)
        if rc != 0:
            raise PostfixError('postconf -c %s %s failed: %s' % (self.config_dir, ' '.join(args), (err or out).strip()))
        return out

    def explicit(self):
        """The parameters set in main.cf (``postconf -n``)."""
        return parse_postconf_n(self._postconf('-n'))

    def effective(self, names):
        """The values Postfix uses now (set or default) for NAMES, in order."""
        if not names:
            return {}
        lines = self._postconf('-h', *names).splitlines()
        if len(lines) != len(names):
            raise PostfixError('postconf -c %s -h %s: expected %d lines, got %d'
                               % (self.config_dir, ' '.join(names), len(names), len(lines)))
        return dict(zip(names, (line.strip() for line in lines)))

    def plan(self, settings):
        """What must change: ``{name: (current, wanted)}`` for the settings that differ."""
        names = sorted(settings)
        current = self.effective(names)
        return dict((name, (current[name], str(settings[name]))) for name in names
                    if normalise(current[name]) != normalise(settings[name]))

    def write(self, settings):
        if settings:
            self._postconf('-e', *('%s=%s' % (name, value) for name, value in sorted(settings.items())))

    def remove(self, names):
        if names:
            self._postconf('-X', *sorted(names))

    def _maillog_file(self):
        try:
            path = self.effective(['maillog_file'])['maillog_file']
        except PostfixError:
            return None
        return path if path.startswith('/') and os.path.isfile(path) else None

    def check(self):
        """``postfix check``: Postfix's own sanity check of the instance."""
        # Without a terminal Postfix writes the reason only to its mail log:
        # read what maillog_file gains, if the instance has one (else syslog).
        maillog = self._maillog_file()
        offset = os.path.getsize(maillog) if maillog else 0
        argv = [self.postfix_binary, '-c', self.config_dir, 'check']
        rc, out, err = self._call_with_terminal(argv, 'postfix -c %s check' % self.config_dir)
        messages = (err + out).strip()
        if rc != 0:
            if not messages and maillog:
                messages = _read_from(maillog, offset).strip()
            raise PostfixError('postfix -c %s check failed: %s' % (
                self.config_dir, messages or 'exit status %d, the reason is in the mail log (syslog)' % rc))
        return messages

    def running(self):
        rc, _out, _err = self._call([self.postfix_binary, '-c', self.config_dir, 'status'],
                                    'postfix -c %s status' % self.config_dir)
        return rc == 0

    def reload(self):
        rc, out, err = self._call([self.postfix_binary, '-c', self.config_dir, 'reload'],
                                  'postfix -c %s reload' % self.config_dir)
        if rc != 0:
            raise PostfixError('postfix -c %s reload failed: %s' % (self.config_dir, (err + out).strip()))

    def start(self):
        rc, out, err = self._call([self.postfix_binary, '-c', self.config_dir, 'start'],
                                  'postfix -c %s start' % self.config_dir)
        if rc != 0:
            raise PostfixError('postfix -c %s start failed: %s' % (self.config_dir, (err + out).strip()))

    def stop(self):
        rc, out, err = self._call([self.postfix_binary, '-c', self.config_dir, 'stop'],
                                  'postfix -c %s stop' % self.config_dir)
        if rc != 0:
            raise PostfixError('postfix -c %s stop failed: %s' % (self.config_dir, (err + out).strip()))


def _read_from(path, offset, limit=2000):
    try:
        with open(path, 'rb') as handle:
            handle.seek(offset)
            return handle.read().decode('utf-8', errors='replace')[-limit:]
    except OSError:
        return ''


def apply_settings(postfix, settings, check_mode=False, validate=True):
    """Set SETTINGS in main.cf; with VALIDATE, keep them only if ``postfix check`` passes.

    Returns ``(changes, previous)``: ``{name: (before, after)}`` and the
    explicit values to restore them (None: the parameter was not in main.cf).
    On a failed check the previous state is restored and PostfixError raised.
    """
    changes = postfix.plan(settings)
    if not changes or check_mode:
        return changes, {}
    explicit = postfix.explicit()
    previous = dict((name, explicit.get(name)) for name in changes)
    postfix.write(dict((name, wanted) for name, (_current, wanted) in changes.items()))
    if validate:
        try:
            postfix.check()
        except PostfixError as exc:
            restore(postfix, previous)
            raise PostfixError('%s; the previous values of %s are back in main.cf'
                               % (exc, ', '.join(sorted(changes)))) from None
    return changes, previous


def restore(postfix, previous):
    postfix.write(dict((name, value) for name, value in previous.items() if value is not None))
    postfix.remove([name for name, value in previous.items() if value is None])


def diff_text(changes, side):
    """main.cf lines for the diff: side 0 is before, 1 after."""
    return ''.join('%s = %s\n' % (name, values[side]) for name, values in sorted(changes.items()))
