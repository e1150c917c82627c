# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How a module ends: the thin module files hand their AnsibleModule to one
task function, which returns the result or raises :class:`TaskFailed`.

Keeping ``exit_json``/``fail_json`` out of the task functions lets the unit
tests call them and look at the result or the failure directly. Private
module of the mailsec.mta_sts collection; standard library only (runs on
the managed host).
"""

from __future__ import annotations


class TaskFailed(Exception):
    """The task fails with ``msg``; ``result`` holds the other keys of the
    failed result (what was done or found before the failure)."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def run_task(module, task):
    """End ``module`` with ``task(module)``: exit with the result dict it
    returns, or fail with the message and result of the TaskFailed it
    raises."""
    try:
        result = task(module)
    except TaskFailed as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    else:
        module.exit_json(**result)
