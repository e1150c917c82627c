#!/usr/bin/python
# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postconf
short_description: Set parameters in a Postfix main.cf with postconf, kept only if postfix check passes
version_added: 0.1.0
description:
  - Sets the given C(main.cf) parameters of one Postfix instance through C(postconf -c DIR -e), so the
    file keeps its comments and layout. A parameter whose value Postfix already uses (set or default)
    is left alone; values are compared as Postfix reads them (commas and whitespace alike).
  - With O(validate=true), C(postfix -c DIR check) must pass after the change; otherwise the previous
    values are put back (or the parameters removed again if they were not set) and the task fails with
    Postfix's message. Nothing is reloaded; M(mailsec.mta_sts.postfix_control) does that.
  - Written for the M(mailsec.mta_sts.sender) role.
author:
  - mailsec.mta_sts contributors (@mailsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  config_dir:
    description: The instance's configuration directory (C(postconf -c)), C(/etc/postfix) for the system's.
    type: path
    default: /etc/postfix
  settings:
    description: Parameter names and the values to set, as they would be written in C(main.cf).
    type: dict
    required: true
  validate:
    description: Run C(postfix check) after the change and undo it if the check fails.
    type: bool
    default: true
  postconf_binary:
    description: The postconf executable.
    type: path
    default: /usr/sbin/postconf
  postfix_binary:
    description: The postfix executable (for C(postfix check)).
    type: path
    default: /usr/sbin/postfix
attributes:
  check_mode:
    support: full
    details: In check mode main.cf is only read; the result and the diff say what would change.
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
seealso:
  - module: mailsec.mta_sts.postfix_control
"""

EXAMPLES = r"""
- name: Ask postfix-mta-sts-resolver for the TLS policy of every destination
  mailsec.mta_sts.postconf:
    settings:
      smtp_tls_policy_maps: socketmap:inet:127.0.0.1:8461:postfix
      smtp_tls_security_level: may
      smtp_tls_CAfile: /etc/ssl/certs/ca-certificates.crt
  register: sender_main_cf

- name: A second Postfix instance
  mailsec.mta_sts.postconf:
    config_dir: /etc/postfix-out
    settings:
      smtp_tls_loglevel: 1
"""

RETURN = r"""
changes:
  description: The parameters changed (or that would change in check mode), each with its value before and after.
  returned: always
  type: dict
  sample: {"smtp_tls_policy_maps": {"before": "", "after": "socketmap:inet:127.0.0.1:8461:postfix"}}
previous:
  description: What main.cf held for each changed parameter before the task (null when it was not set there).
  returned: always
  type: dict
  sample: {"smtp_tls_policy_maps": null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._postfix import (
    Postfix,
    PostfixError,
    apply_settings,
    diff_text,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', default='/etc/postfix'),
            settings=dict(type='dict', required=True),
            validate=dict(type='bool', default=True),
            postconf_binary=dict(type='path', default='/usr/sbin/postconf'),
            postfix_binary=dict(type='path', default='/usr/sbin/postfix'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    bad = sorted(name for name in params['settings'] if not name or not name.replace('_', 'a').isalnum())
    if bad:
        module.fail_json(msg='postconf: %s is not a Postfix parameter name (letters, digits and _ only)'
                         % ', '.join(repr(name) for name in bad))
    postfix = Postfix(params['config_dir'], params['postconf_binary'], params['postfix_binary'])
    try:
        changes, previous = apply_settings(postfix, params['settings'], module.check_mode, params['validate'])
    except PostfixError as exc:
        module.fail_json(msg=str(exc), changed=False)
    result = dict(
        changed=bool(changes),
        changes=dict((name, dict(before=before, after=after)) for name, (before, after) in changes.items()),
        previous=previous,
    )
    if changes:
        result['diff'] = dict(before=diff_text(changes, 0), after=diff_text(changes, 1),
                              before_header='%s/main.cf' % params['config_dir'],
                              after_header='%s/main.cf' % params['config_dir'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
