#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_control
short_description: Test, start, reload with confirmation, or stop an nginx instance by its pid file
version_added: 0.1.0
description:
  - Controls one nginx instance, given its binary, main configuration file and pid file, on hosts
    with or without a service manager (containers, test labs).
  - A reload is confirmed, not assumed. C(nginx -s reload) and C(systemctl reload nginx) only send a
    signal, and when the new configuration cannot be applied (an address already in use, a
    certificate that cannot be loaded) nginx logs the error, keeps serving the old configuration
    and the command still succeeds. This module fails instead, with nginx's message from the error
    log, unless the master started new worker processes.
  - Written for the M(mailsec.mta_sts.policy_host) role; its options may change with that role.
    On hosts with systemd the role starts and enables the unit with
    M(ansible.builtin.systemd_service) and uses this module for confirmed reloads.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  binary:
    description: The nginx executable.
    type: path
    default: /usr/sbin/nginx
  config:
    description: The main configuration file (C(nginx -c)).
    type: path
    required: true
  pid_file:
    description: The pid file named by the configuration's C(pid) directive.
    type: path
    required: true
  error_log:
    description: The error log named by the configuration, read for the reason of a failed start or reload.
    type: path
  state:
    description:
      - V(tested) runs C(nginx -t) and fails with its message; never changes anything.
      - V(started) starts nginx (after C(nginx -t)) unless the pid file names a live nginx.
      - V(reloaded) tests the configuration, then reloads the running nginx and waits for the new
        workers; starts it when it is not running (unless O(start_stopped=false)). Reports a change
        whenever it reloads or starts.
      - V(stopped) stops a running nginx gracefully (SIGQUIT).
    type: str
    choices: [tested, started, reloaded, stopped]
    default: started
  start_stopped:
    description:
      - With O(state=reloaded), start nginx when it is not running. Set to V(false) when a service
        manager starts it.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for nginx to start, reload or stop.
    type: int
    default: 15
attributes:
  check_mode:
    support: full
    details: In check mode nothing is run or signalled; the result says what would happen.
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
- name: Reload the policy host's nginx and fail if the new configuration is not live
  mailsec.mta_sts.nginx_control:
    config: /etc/nginx/nginx.conf
    pid_file: /run/nginx.pid
    error_log: /var/log/nginx/error.log
    state: reloaded

- name: Make sure a dedicated instance is running in a container without systemd
  mailsec.mta_sts.nginx_control:
    config: /var/lib/mta-sts/nginx/nginx.conf
    pid_file: /var/lib/mta-sts/nginx/nginx.pid
    state: started
"""

RETURN = r"""
pid:
  description: The pid of the nginx master afterwards (null when stopped or in check mode before a start).
  returned: always
  type: int
  sample: 4242
was_running:
  description: Whether nginx was running before the task.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._module import run_task
from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._nginx import run_nginx_control


def main():
    module = AnsibleModule(
        argument_spec=dict(
            binary=dict(type='path', default='/usr/sbin/nginx'),
            config=dict(type='path', required=True),
            pid_file=dict(type='path', required=True),
            error_log=dict(type='path'),
            state=dict(type='str', default='started', choices=['tested', 'started', 'reloaded', 'stopped']),
            start_stopped=dict(type='bool', default=True),
            timeout=dict(type='int', default=15),
        ),
        supports_check_mode=True,
    )
    run_task(module, run_nginx_control)


if __name__ == '__main__':
    main()
