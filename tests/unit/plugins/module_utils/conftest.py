# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared fixtures: a real AnsibleModule for the module_utils that take one
(file writes, file arguments, check mode), built from parameters as Ansible
sends them; and a loopback CA with a client context that trusts only it, for
the tests that start TLS servers in this process."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.mailsec.mta_sts.plugins.module_utils.web._tls import trust_context
from ansible_collections.mailsec.mta_sts.tests.unit.plugins.module_utils.loopback import Certificates


@pytest.fixture
def ansible_module(monkeypatch, tmp_path):
    def make(params=None, check_mode=False, file_args=True):
        payload = dict(params or {}, _ansible_check_mode=check_mode, _ansible_tmpdir=str(tmp_path),
                       _ansible_remote_tmp=str(tmp_path), _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode())
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
        return basic.AnsibleModule(argument_spec={}, add_file_common_args=file_args, supports_check_mode=True)
    return make


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    """A throwaway CA (trustme) that issues the loopback servers' certificates."""
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture(scope='module')
def client(certs):
    """The client context of a run that trusts only that CA."""
    return trust_context(str(certs.ca_file), 'replace')
