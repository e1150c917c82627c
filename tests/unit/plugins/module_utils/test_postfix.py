# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.smtp._postfix import (
    Postfix,
    PostfixError,
    apply_settings,
    diff_text,
    normalise,
    parse_postconf_n,
)

DEFAULTS = {'smtp_tls_security_level': '', 'smtp_tls_policy_maps': '', 'smtp_tls_loglevel': '0'}


class FakeTools:
    """postconf and postfix check over a dict: the role's real runs are in molecule and the sender target."""

    def __init__(self, explicit, check_fails=False):
        self.explicit = dict(explicit)
        self.check_fails = check_fails
        self.calls = []

    def __call__(self, argv, **_kwargs):
        self.calls.append(argv)
        out, rc, err = '', 0, ''
        tool, args = argv[0].rsplit('/', 1)[-1], argv[3:]
        if tool == 'postconf' and args[0] == '-n':
            out = ''.join('%s = %s\n' % item for item in sorted(self.explicit.items()))
        elif tool == 'postconf' and args[0] == '-h':
            out = ''.join('%s\n' % self.explicit.get(name, DEFAULTS.get(name, '')) for name in args[1:])
        elif tool == 'postconf' and args[0] == '-e':
            for pair in args[1:]:
                name, _sep, value = pair.partition('=')
                self.explicit[name] = value
        elif tool == 'postconf' and args[0] == '-X':
            for name in args[1:]:
                self.explicit.pop(name, None)
        elif tool == 'postfix' and args == ['check']:
            if self.check_fails:
                rc, err = 1, 'postfix/postfix-script: fatal: bad parameter'
        return subprocess.CompletedProcess(argv, rc, out.encode(), err.encode())


@pytest.mark.parametrize('value, expected', [
    ('a, b', 'a b'),
    ('a,b   c', 'a b c'),
    ('  socketmap:inet:127.0.0.1:8461:postfix ', 'socketmap:inet:127.0.0.1:8461:postfix'),
])
def test_normalise_reads_lists_as_postfix_does(value, expected):
    assert normalise(value) == expected


def test_parse_postconf_n():
    assert parse_postconf_n('a = 1\nb = x = y\n\nnot a line\n') == {'a': '1', 'b': 'x = y'}


def test_only_differing_settings_are_written_and_diffed():
    tools = FakeTools({'smtp_tls_security_level': 'may'})
    postfix = Postfix('/etc/postfix', run=tools)
    changes, previous = apply_settings(postfix, {'smtp_tls_security_level': 'may', 'smtp_tls_loglevel': 1})
    assert changes == {'smtp_tls_loglevel': ('0', '1')}
    assert previous == {'smtp_tls_loglevel': None}
    assert tools.explicit == {'smtp_tls_security_level': 'may', 'smtp_tls_loglevel': '1'}
    assert diff_text(changes, 0) == 'smtp_tls_loglevel = 0\n'
    assert diff_text(changes, 1) == 'smtp_tls_loglevel = 1\n'
    # Second run: nothing to do, nothing written.
    tools.calls.clear()
    assert apply_settings(postfix, {'smtp_tls_loglevel': '1'}) == ({}, {})
    assert [call[3] for call in tools.calls] == ['-h']


def test_check_mode_writes_nothing():
    tools = FakeTools({})
    changes, _previous = apply_settings(Postfix('/x', run=tools), {'smtp_tls_loglevel': '1'}, check_mode=True)
    assert changes == {'smtp_tls_loglevel': ('0', '1')}
    assert tools.explicit == {}


def test_a_failing_check_restores_set_values_and_removes_new_ones():
    tools = FakeTools({'smtp_tls_security_level': 'encrypt'}, check_fails=True)
    with pytest.raises(PostfixError) as failure:
        apply_settings(Postfix('/x', run=tools), {'smtp_tls_security_level': 'may', 'smtp_tls_policy_maps': 'hash:/x'})
    assert 'bad parameter' in str(failure.value)
    assert 'previous values of smtp_tls_policy_maps, smtp_tls_security_level are back' in str(failure.value)
    assert tools.explicit == {'smtp_tls_security_level': 'encrypt'}


def test_missing_binary_is_a_clear_error(tmp_path):
    postfix = Postfix('/etc/postfix', postconf=str(tmp_path / 'postconf'))
    with pytest.raises(PostfixError, match='cannot run'):
        postfix.effective(['smtp_tls_loglevel'])
