"""Condense ansible-playbook output for the demo: the five steps with the
time each began, what changed, the verify lines, the notes and the recap.
The whole output goes to the log file given as the first argument."""

from __future__ import annotations

import re
import sys
import time

START = time.monotonic()
SHOWN_TASK = re.compile(r'^TASK \[(Step \d/5: [^\]]*|The policies this run serves|One line per domain|What happened[^\]]*)\]')
ROLE_TASK = re.compile(r'^TASK \[mailsec\.mta_sts\.policy_host : ([^\]]*)\]')
QUOTED = re.compile(r'^\s+"(.*)",?$')


def main(log_path):
    task = None
    heading = None
    in_msg = False
    with open(log_path, 'w') as log:
        for line in sys.stdin:
            log.write(line)
            log.flush()
            stamp = '%6.1fs' % (time.monotonic() - START)
            if line.startswith('TASK ['):
                match = SHOWN_TASK.match(line)
                task = match.group(1) if match else None
                in_msg = False
                # Printed once the task runs on some host (skipped ones stay quiet).
                heading = None
                if task and task.startswith('Step'):
                    heading = '%s  %s' % (stamp, task)
                elif task and task.startswith('The policies'):
                    heading = '%s  Plan: the policies this run serves' % stamp
                else:
                    role = ROLE_TASK.match(line)
                    if role:
                        # The role's tasks show only when they change something.
                        task = 'role'
                        heading = '%s    policy_host role: %s' % (stamp, role.group(1))
                continue
            if task == 'role':
                if line.startswith('changed:'):
                    if heading:
                        print(heading, flush=True)
                        heading = None
                    print('          changed: %s' % line.split('[', 1)[1].split(']', 1)[0], flush=True)
                elif line.startswith(('fatal:', 'failed:')):
                    print('  ' + line.rstrip()[:600], flush=True)
                continue
            if heading and line.startswith(('ok:', 'changed:', 'fatal:', 'failed:')):
                print(heading, flush=True)
                heading = None
            if line.startswith('PLAY RECAP'):
                print('  recap:', flush=True)
                task = 'recap'
                continue
            if task == 'recap' and line.strip():
                print('    ' + re.sub(r'\s+(unreachable|skipped|rescued|ignored)=\d+', '', line.strip()), flush=True)
                continue
            if line.startswith(('fatal:', 'failed:')) or '"msg":' in line and 'FAILED' in line:
                print('  ' + line.rstrip()[:600], flush=True)
                continue
            if task and line.startswith('changed:'):
                print('          changed: %s' % line.split('[', 1)[1].split(']', 1)[0], flush=True)
            if task and '"msg": [' in line:
                in_msg = True
                continue
            if in_msg:
                match = QUOTED.match(line)
                if match:
                    print('          ' + match.group(1).replace('\\"', '"'), flush=True)
                elif line.strip().startswith(']'):
                    in_msg = False


if __name__ == '__main__':
    main(sys.argv[1])
