# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The policy module's task (web/_policy_files.run_policy) through the
module's main(): files written into a temporary directory, twice to show
idempotency, check mode writing nothing, and every refusal."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.mailsec.mta_sts.plugins.modules.policy import main

MX = ['mx1.example.com', 'mx2.example.com']


def test_single_writes_once_then_is_unchanged(run_module, tmp_path):
    dest = str(tmp_path / 'example.com.txt')
    args = dict(domain='example.com', mode='enforce', mx=MX, dest=dest, file_mode='0640')
    first = run_module(main, args, diff=True)
    assert first['changed'] is True
    with open(dest, 'rb') as handle:
        written = handle.read()
    assert written.decode('ascii') == first['policy']
    assert written.endswith(b'max_age: 604800\r\n')
    assert first['dest'] == dest and first['diff']['after'] == first['policy']
    assert first['sts_record']['value'] == 'v=STSv1; id=%s' % first['policy_id']
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    second = run_module(main, args, diff=True)
    assert second['changed'] is False and 'diff' not in second
    assert second['policy_id'] == first['policy_id']


def test_single_check_mode_writes_nothing(run_module, tmp_path):
    dest = tmp_path / 'example.com.txt'
    result = run_module(main, dict(domain='example.com', mode='testing', mx=MX, dest=str(dest)), check_mode=True)
    assert result['changed'] is True
    assert not dest.exists()


def test_single_without_dest_only_computes(run_module, tmp_path):
    result = run_module(main, dict(domain='Example.COM.', mode='enforce', mx=MX))
    assert result['changed'] is False and result['dest'] is None
    assert result['domain'] == 'example.com'
    assert os.listdir(str(tmp_path)) == []


def test_single_bad_input_names_domain_and_rule_and_writes_nothing(run_module, tmp_path):
    result = run_module(main, dict(domain='example.com', mode='Enforce', mx=MX, dest=str(tmp_path / 'x.txt')))
    assert result['failed'] and result['rule'] == 'B3'
    assert 'example.com' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_single_refusals(run_module, tmp_path):
    result = run_module(main, dict(domain='example.com', state='absent'))
    assert result['failed'] and 'give dest' in result['msg']
    result = run_module(main, dict(domain='example.com', mode='enforce', mx=MX, dest=str(tmp_path / 'no' / 'x.txt')))
    assert result['failed'] and 'does not exist; create it first' in result['msg']


def test_single_absent_removes_then_is_unchanged(run_module, tmp_path):
    dest = tmp_path / 'example.com.txt'
    dest.write_bytes(b'old')
    args = dict(domain='example.com', state='absent', dest=str(dest))
    assert run_module(main, args, check_mode=True)['changed'] is True
    assert dest.exists()
    assert run_module(main, args)['changed'] is True
    assert not dest.exists()
    assert run_module(main, args)['changed'] is False


def test_batch_writes_each_domain_once(run_module, tmp_path):
    policies = [dict(domain='a.example', mode='enforce', mx=['mx.a.example']),
                dict(domain='b.example', mode='testing', mx=['mx.b.example'])]
    args = dict(policies=policies, dest=str(tmp_path))
    first = run_module(main, args, diff=True)
    assert first['changed'] is True
    assert sorted(os.listdir(str(tmp_path))) == ['a.example.txt', 'b.example.txt']
    assert [p['changed'] for p in first['policies']] == [True, True] and len(first['diff']) == 2
    second = run_module(main, args)
    assert second['changed'] is False
    assert [p['changed'] for p in second['policies']] == [False, False]


def test_batch_check_mode_on_a_missing_directory(run_module, tmp_path):
    args = dict(policies=[dict(domain='a.example', mode='enforce', mx=['mx.a.example'])],
                dest=str(tmp_path / 'later'))
    result = run_module(main, args, check_mode=True)
    assert result['changed'] is True and not (tmp_path / 'later').exists()
    result = run_module(main, args)
    assert result['failed'] and 'is not a directory; create it first' in result['msg']


def test_batch_lists_every_error_and_writes_nothing(run_module, tmp_path):
    policies = [dict(domain='a.example', mode='enforce', mx=['mx.a.example']),
                dict(domain='b.example', mode='sometimes', mx=['mx.b.example']),
                dict(domain='a.example', mode='enforce', mx=['mx.a.example'])]
    result = run_module(main, dict(policies=policies, dest=str(tmp_path)))
    assert result['failed']
    assert result['msg'].startswith('2 invalid policies, nothing written')
    assert len(result['errors']) == 2 and 'listed twice' in result['errors'][1]
    assert os.listdir(str(tmp_path)) == []


def test_batch_needs_dest(run_module):
    result = run_module(main, dict(policies=[dict(domain='a.example', mode='enforce', mx=['mx.a.example'])]))
    assert result['failed'] and 'policies needs dest' in result['msg']


def test_batch_refuses_an_item_with_a_secret_and_never_shows_it(run_module, tmp_path):
    secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ='
    policies = [dict(domain='a.example', mode='enforce', mx=['mx.a.example'],
                     dns=dict(server='127.0.0.1', key_name='k', key_secret=secret))]
    result = run_module(main, dict(policies=policies, dest=str(tmp_path)))
    assert result['failed'] and 'a.example' in result['msg']
    assert secret not in json.dumps(result)
    assert os.listdir(str(tmp_path)) == []
