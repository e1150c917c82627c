# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a module's ``main()`` in the test process as Ansible runs it: the
arguments go in as the JSON Ansible sends, the real AnsibleModule checks
them against the module's own argument spec, and the JSON the module prints
when it exits is the result the test reads."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic


@pytest.fixture
def run_module(capsys, monkeypatch, tmp_path):
    def run(main, args, check_mode=False, diff=False):
        payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff,
                       _ansible_tmpdir=str(tmp_path), _ansible_remote_tmp=str(tmp_path),
                       _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode())
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            main()
        result = json.loads(capsys.readouterr().out)
        assert (stop.value.code != 0) == bool(result.get('failed')), result
        return result
    return run
