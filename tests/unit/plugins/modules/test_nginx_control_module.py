# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The nginx_control module's state table (web/_nginx.nginx_action and
control) and its check mode. The table is checked against a stand-in that
records what would be done to nginx; the module's main() runs with real
commands that are not nginx (``false``), since the lab tests the real one."""

from __future__ import annotations

import itertools
import shutil

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import TaskFailed
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._nginx import NginxError, control, nginx_action
from ansible_collections.mailsec.mta_sts.plugins.modules.nginx_control import main

STATES = ('tested', 'started', 'reloaded', 'stopped')


class RecordingNginx:
    """Records the calls control() makes; fails the one named in ``fail``."""

    config = '/etc/nginx/test.conf'

    def __init__(self, running, fail=None):
        self.running_pid = 4242 if running else None
        self.fail = fail
        self.calls = []

    def _call(self, name):
        self.calls.append(name)
        if name == self.fail:
            raise NginxError('%s refused' % name)

    def pid(self):
        return self.running_pid

    def test(self):
        self._call('test')

    def start(self):
        self._call('start')
        return 5151

    def reload(self, pid):
        assert pid == self.running_pid
        self._call('reload')

    def stop(self, pid):
        assert pid == self.running_pid
        self._call('stop')


@pytest.mark.parametrize('state, running, start_stopped, action', [
    ('stopped', True, True, 'stop'),
    ('stopped', False, True, None),
    ('started', False, False, 'start'),
    ('started', True, True, None),
    ('reloaded', True, False, 'reload'),
    ('reloaded', False, True, 'start'),
    ('reloaded', False, False, None),
    ('tested', True, True, None),
    ('tested', False, True, None),
])
def test_each_state_does_one_thing(state, running, start_stopped, action):
    assert nginx_action(state, running, start_stopped) == action


@pytest.mark.parametrize('state, running, start_stopped', list(itertools.product(STATES, (True, False), (True, False))))
def test_check_mode_changes_nothing_and_predicts_changed(state, running, start_stopped):
    predicted = control(RecordingNginx(running), state, start_stopped, check_mode=True)
    nginx = RecordingNginx(running)
    real = control(nginx, state, start_stopped, check_mode=False)
    assert predicted['changed'] == real['changed']
    assert predicted['was_running'] == real['was_running'] == running
    assert predicted['pid'] == (4242 if running else None)


@pytest.mark.parametrize('state, running, start_stopped', list(itertools.product(STATES, (True, False), (True, False))))
def test_the_configuration_is_tested_before_anything_but_a_stop(state, running, start_stopped):
    nginx = RecordingNginx(running)
    result = control(nginx, state, start_stopped, check_mode=False)
    action = nginx_action(state, running, start_stopped)
    expected = ([] if state == 'stopped' else ['test']) + ([action] if action else [])
    assert nginx.calls == expected
    assert result['changed'] == (action is not None)
    if action == 'start':
        assert result['pid'] == 5151
    if action == 'stop':
        assert result['pid'] is None


def test_a_refused_configuration_is_never_reloaded():
    nginx = RecordingNginx(True, fail='test')
    with pytest.raises(TaskFailed) as err:
        control(nginx, 'reloaded', True, check_mode=False)
    assert nginx.calls == ['test']
    assert err.value.msg == 'test refused'
    assert err.value.result == {'changed': False, 'was_running': True, 'pid': 4242}


def test_a_failed_stop_reports_changed():
    # The signal went out: something changed even if nginx did not stop in time.
    nginx = RecordingNginx(True, fail='stop')
    with pytest.raises(TaskFailed) as err:
        control(nginx, 'stopped', True, check_mode=False)
    assert err.value.result['changed'] is True


def test_module_with_a_binary_that_refuses_every_configuration(run_module, tmp_path):
    args = dict(binary=shutil.which('false'), config=str(tmp_path / 'nginx.conf'),
                pid_file=str(tmp_path / 'nginx.pid'), state='reloaded')
    predicted = run_module(main, args, check_mode=True)
    assert predicted == dict(predicted, changed=True, was_running=False, pid=None)
    assert not predicted.get('failed')
    result = run_module(main, args)
    assert result['failed'] and result['msg'].startswith('nginx -t -c %s failed' % args['config'])
    assert result['changed'] is False and result['was_running'] is False
    stopped = run_module(main, dict(args, state='stopped'))
    assert stopped['changed'] is False and not stopped.get('failed')
