#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_control
short_description: Check, reload only after a passing check, start or stop one Postfix instance
version_added: 0.1.0
description:
  - Controls one Postfix instance by its configuration directory (C(postfix -c DIR)), with or without a
    service manager; C(postfix reload) and C(postfix start) are what the distributions' units run too.
  - A reload or start happens only after C(postfix check) passed; a failing check fails the task with
    Postfix's message and the running Postfix keeps its previous configuration.
  - Written for the M(mailsec.mta_sts.sender) role.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  config_dir:
    description: The instance's configuration directory, C(/etc/postfix) for the system's.
    type: path
    default: /etc/postfix
  state:
    description:
      - V(checked) runs C(postfix check) only; never changes anything.
      - V(reloaded) checks, then reloads a running Postfix. A stopped Postfix is left stopped (it reads the
        new configuration when it starts) unless O(start_stopped=true).
      - V(started) checks and starts Postfix unless it runs.
      - V(stopped) stops a running Postfix.
    type: str
    choices: [checked, reloaded, started, stopped]
    default: reloaded
  start_stopped:
    description: With O(state=reloaded), start Postfix when it is not running.
    type: bool
    default: false
  postfix_binary:
    description: The postfix executable.
    type: path
    default: /usr/sbin/postfix
attributes:
  check_mode:
    support: full
    details: In check mode nothing is run but C(postfix status); the result says what would happen.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: mailsec.mta_sts.postconf
"""

EXAMPLES = r"""
- name: Load the new TLS policy lookup (only if postfix check passes)
  mailsec.mta_sts.postfix_control:
    state: reloaded

- name: Start a second instance
  mailsec.mta_sts.postfix_control:
    config_dir: /etc/postfix-out
    state: started
"""

RETURN = r"""
was_running:
  description: Whether Postfix was running before the task.
  returned: always
  type: bool
  sample: true
running:
  description: Whether Postfix runs after the task (in check mode, whether it would).
  returned: always
  type: bool
  sample: true
check:
  description: What C(postfix check) printed (warnings), when it ran.
  returned: when the check ran
  type: str
  sample: ""
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._postfix import Postfix, PostfixError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', default='/etc/postfix'),
            state=dict(type='str', default='reloaded', choices=['checked', 'reloaded', 'started', 'stopped']),
            start_stopped=dict(type='bool', default=False),
            postfix_binary=dict(type='path', default='/usr/sbin/postfix'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    postfix = Postfix(params['config_dir'], postfix=params['postfix_binary'])
    result = dict(changed=False)
    try:
        running = postfix.running()
        result.update(was_running=running, running=running)
        start = not running and (state == 'started' or (state == 'reloaded' and params['start_stopped']))
        reload = running and state == 'reloaded'
        if state == 'stopped':
            result.update(changed=running, running=False)
            if running and not module.check_mode:
                postfix.stop()
        elif module.check_mode:
            result.update(changed=start or reload, running=running or start)
        else:
            result['check'] = postfix.check()
            if start:
                postfix.start()
            elif reload:
                postfix.reload()
            result.update(changed=start or reload, running=running or start)
    except PostfixError as exc:
        result['msg'] = '%s. The running Postfix (if any) keeps its previous configuration.' % exc
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
