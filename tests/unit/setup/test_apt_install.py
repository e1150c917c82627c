# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tests/setup/apt_install.sh (make setup's Debian step): no service starts
while apt runs, the services of newly installed packages end up disabled,
those installed before are left alone. apt, dpkg and systemctl are stand-ins
that keep a small package database in a directory, since the real ones
would change the machine."""

from __future__ import annotations

import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SCRIPT = os.path.join(ROOT, 'tests', 'setup', 'apt_install.sh')

STUBS = {
    'apt-get': r'''#!/bin/sh
echo "apt-get $*" >> "$STATE/log"
[ "$1" = update ] && exit 0
if [ -x "$POLICY_RC_D" ] && "$POLICY_RC_D" nginx start; then echo "policy allows starts" >> "$STATE/log"; fi
[ -x "$POLICY_RC_D" ] && echo "policy-rc.d in place during install" >> "$STATE/log"
for pkg in "$@"; do
  case "$pkg" in -*) continue ;; install) continue ;; esac
  echo "$pkg" >> "$STATE/installed"
  [ -f "$STATE/deps/$pkg" ] && cat "$STATE/deps/$pkg" >> "$STATE/installed"
done
exit 0
''',
    'dpkg-query': r'''#!/bin/sh
if [ "$1" = -W ]; then
  sort -u "$STATE/installed" | sed 's/$/ install ok installed/'
elif [ "$1" = -L ]; then
  cat "$STATE/files/$2" 2>/dev/null
fi
''',
    'systemctl': '#!/bin/sh\necho "systemctl $*" >> "$STATE/log"\n',
    'update-rc.d': '#!/bin/sh\necho "update-rc.d $*" >> "$STATE/log"\n',
}


@pytest.fixture
def world(tmp_path):
    state = tmp_path / 'state'
    for sub in ('deps', 'files'):
        (state / sub).mkdir(parents=True)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    for name, text in STUBS.items():
        path = bindir / name
        path.write_text(text)
        path.chmod(0o755)
    (state / 'installed').write_text('coreutils\nold-nginx\n')
    (state / 'log').write_text('')
    (state / 'deps' / 'nginx').write_text('nginx-common\n')
    (state / 'deps' / 'knot').write_text('knot-libs\n')
    files = {
        'nginx': '/usr/sbin/nginx\n',
        'nginx-common': '/lib/systemd/system\n/lib/systemd/system/nginx.service\n/etc/init.d/nginx\n',
        'knot': '/usr/lib/systemd/system/knot.service\n/usr/lib/systemd/system/knot@.service\n',
        'knot-libs': '/usr/lib/libknot.so\n',
        'old-nginx': '/lib/systemd/system/old-nginx.service\n',
    }
    for name, text in files.items():
        (state / 'files' / name).write_text(text)
    env = dict(os.environ, PATH='%s:%s' % (bindir, os.environ['PATH']), STATE=str(state),
               POLICY_RC_D=str(tmp_path / 'policy-rc.d'))
    return state, env, tmp_path / 'policy-rc.d'


def run(env, *packages):
    return subprocess.run(['bash', SCRIPT] + list(packages), env=env, check=True, capture_output=True, text=True)


def test_no_start_during_install_and_new_services_disabled(world):
    state, env, policy = world
    run(env, 'nginx', 'knot')
    log = (state / 'log').read_text()
    assert 'policy-rc.d in place during install' in log
    assert 'policy allows starts' not in log
    assert not policy.exists(), 'the temporary policy-rc.d must be removed'
    disabled = [line for line in log.splitlines() if line.startswith('systemctl') and 'disable' in line]
    assert len(disabled) == 1
    assert 'nginx.service' in disabled[0] and 'knot.service' in disabled[0]
    assert 'knot@.service' not in disabled[0]
    assert 'old-nginx' not in log, 'a service installed before must be left alone'
    if not os.path.isdir('/run/systemd/system'):
        assert 'update-rc.d nginx disable' in log


def test_an_existing_policy_rc_d_is_kept(world):
    state, env, policy = world
    policy.write_text('#!/bin/sh\nexit 101\n')
    policy.chmod(0o755)
    run(env, 'nginx')
    assert policy.read_text() == '#!/bin/sh\nexit 101\n'
    assert 'policy-rc.d in place during install' in (state / 'log').read_text()


def test_nothing_to_install_does_nothing(world):
    state, env, policy = world
    run(env)
    assert (state / 'log').read_text() == ''
    assert not policy.exists()
