#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_control
short_description: Run a foreground program as a daemon by its pid file, where there is no service manager
version_added: 0.1.0
description:
  - Starts a program that stays in the foreground (such as C(mta-sts-daemon)) in a session of its own,
    with its output appended to a log file and its pid in a pid file, optionally as another user; stops
    or restarts it by that pid file. For hosts without systemd (containers, test labs); with systemd use
    M(ansible.builtin.systemd_service).
  - A start is confirmed, not assumed. With O(ready_port), the task waits until the program accepts TCP
    connections there; a program that exits first fails the task with the end of its log.
  - The pid file counts only while it names a live process running O(command[0]), so a stale pid file
    (a reboot, a reused pid) means "not running".
  - Written for the M(mailsec.mta_sts.sender) role.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  command:
    description: The program and its arguments; the program must stay in the foreground.
    type: list
    elements: str
    required: true
  pid_file:
    description: Where the pid is kept.
    type: path
    required: true
  log_file:
    description: The program's standard output and error are appended here (opened before it drops privileges).
    type: path
    required: true
  environment:
    description: Variables added to the program's environment (for example C(SSL_CERT_FILE)).
    type: dict
    default: {}
  user:
    description: Run the program as this user (the module must run as root).
    type: str
  group:
    description: Run the program with this group.
    type: str
  ready_host:
    description: The address the program serves, to wait for.
    type: str
    default: 127.0.0.1
  ready_port:
    description: The TCP port the program serves; the start waits until it accepts connections. Omit to wait for nothing.
    type: int
  state:
    description:
      - V(started) starts the program unless it runs.
      - V(restarted) stops it if it runs, then starts it.
      - V(stopped) stops it (SIGTERM, SIGKILL after O(timeout)).
    type: str
    choices: [started, restarted, stopped]
    default: started
  timeout:
    description: Seconds to wait for the program to serve, or to stop.
    type: int
    default: 15
attributes:
  check_mode:
    support: full
    details: In check mode nothing is started or signalled; the result says what would happen.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: Linux (reads C(/proc)).
seealso:
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Run postfix-mta-sts-resolver without systemd
  mailsec.mta_sts.daemon_control:
    command: [/usr/bin/mta-sts-daemon, --config, /etc/mta-sts-daemon.yml]
    pid_file: /run/mta-sts-daemon.pid
    log_file: /var/log/mta-sts-daemon.log
    user: _mta-sts
    group: _mta-sts
    ready_port: 8461
    state: started
"""

RETURN = r"""
pid:
  description: The program's pid afterwards (null when stopped, or not started yet in check mode).
  returned: always
  type: int
  sample: 4242
was_running:
  description: Whether the program was running before the task.
  returned: always
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._daemon import Daemon, DaemonError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type='list', elements='str', required=True),
            pid_file=dict(type='path', required=True),
            log_file=dict(type='path', required=True),
            environment=dict(type='dict', default={}),
            user=dict(type='str'),
            group=dict(type='str'),
            ready_host=dict(type='str', default='127.0.0.1'),
            ready_port=dict(type='int'),
            state=dict(type='str', default='started', choices=['started', 'restarted', 'stopped']),
            timeout=dict(type='int', default=15),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params['command']:
        module.fail_json(msg='daemon_control: command is empty; give the program and its arguments')
    daemon = Daemon(params['command'], params['pid_file'], params['log_file'],
                    environment=dict((k, str(v)) for k, v in params['environment'].items()),
                    user=params['user'], group=params['group'], ready_host=params['ready_host'],
                    ready_port=params['ready_port'], timeout=params['timeout'])
    state = params['state']
    pid = daemon.pid()
    result = dict(changed=False, was_running=pid is not None, pid=pid)
    try:
        if state == 'stopped' or (state == 'restarted' and pid is not None):
            result['changed'] = pid is not None
            if pid is not None and not module.check_mode:
                daemon.stop(pid)
            result['pid'] = pid = None
        if state in ('started', 'restarted') and pid is None:
            result['changed'] = True
            if not module.check_mode:
                result['pid'] = daemon.start()
    except DaemonError as exc:
        result['msg'] = str(exc)
        module.fail_json(**result)
    except OSError as exc:
        result['msg'] = '%s: %s' % (' '.join(params['command']), exc)
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
