# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""common/_io.py on real files in a temporary directory, with a real
AnsibleModule: read-if-exists, the atomic write (no temporary file left
behind, even when the rename fails), idempotency, check mode and the file
arguments."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.mailsec.mta_sts.plugins.module_utils.common._io import (
    DEFAULT_MODE,
    file_arguments,
    read_if_exists,
    update_file,
    write_atomically,
)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_read_if_exists(tmp_path):
    assert read_if_exists(str(tmp_path / 'none')) is None
    (tmp_path / 'f').write_bytes(b'a\r\nb\xff')
    assert read_if_exists(str(tmp_path / 'f')) == b'a\r\nb\xff'
    with pytest.raises(OSError):
        read_if_exists(str(tmp_path))  # a directory is an error, not "no file"


def test_update_file_writes_once_then_is_unchanged(ansible_module, tmp_path):
    module = ansible_module()
    path = str(tmp_path / 'out.txt')
    args = file_arguments(module, path)
    old_umask = os.umask(0o077)
    try:
        assert update_file(module, path, b'one\n', args) is True
    finally:
        os.umask(old_umask)
    assert read_if_exists(path) == b'one\n'
    assert mode_of(path) == int(DEFAULT_MODE, 8)  # not the umask's 0600
    assert update_file(module, path, b'one\n', args) is False
    assert update_file(module, path, b'two\n', args) is True
    assert read_if_exists(path) == b'two\n'
    assert sorted(os.listdir(str(tmp_path))) == ['out.txt']  # no temporary file left


def test_update_file_applies_the_mode_to_an_unchanged_file(ansible_module, tmp_path):
    path = str(tmp_path / 'out.txt')
    module = ansible_module({'mode': '0600'})
    assert update_file(module, path, b'x', file_arguments(module, path)) is True
    assert mode_of(path) == 0o600
    module = ansible_module({'mode': '0640'})
    assert update_file(module, path, b'x', file_arguments(module, path)) is True
    assert mode_of(path) == 0o640
    assert update_file(module, path, b'x', file_arguments(module, path)) is False


def test_file_arguments_take_overrides_and_the_owner(ansible_module, tmp_path):
    path = str(tmp_path / 'out.txt')
    module = ansible_module({'mode': '0600', 'group': str(os.getegid())})
    args = file_arguments(module, path, mode='0640')
    assert args['path'] == path and args['mode'] == '0640' and args['group'] == str(os.getegid())
    assert update_file(module, path, b'x', args) is True
    assert os.stat(path).st_gid == os.getegid()


def test_check_mode_changes_nothing(ansible_module, tmp_path):
    path = str(tmp_path / 'out.txt')
    module = ansible_module(check_mode=True)
    assert update_file(module, path, b'new', file_arguments(module, path)) is True
    assert not os.path.exists(path)
    (tmp_path / 'out.txt').write_bytes(b'old')
    os.chmod(path, 0o600)
    assert update_file(module, path, b'new', file_arguments(module, path)) is True
    assert update_file(module, path, b'old', file_arguments(module, path)) is True  # the mode would change
    assert read_if_exists(path) == b'old' and mode_of(path) == 0o600
    module = ansible_module({'mode': '0600'}, check_mode=True)
    assert update_file(module, path, b'old', file_arguments(module, path)) is False


def test_replacing_keeps_the_file_a_reader_has_open(ansible_module, tmp_path):
    # The rename swaps the name: a reader holding the old file keeps
    # reading the old bytes, never a mix of old and new.
    path = str(tmp_path / 'out.txt')
    module = ansible_module()
    update_file(module, path, b'old' * 1000, file_arguments(module, path))
    with open(path, 'rb') as reader:
        before = os.fstat(reader.fileno()).st_ino
        update_file(module, path, b'new', file_arguments(module, path))
        assert reader.read() == b'old' * 1000
    assert os.stat(path).st_ino != before


def test_a_failed_rename_leaves_no_temporary_file(ansible_module, tmp_path):
    target = tmp_path / 'is-a-directory'
    (target / 'inside').mkdir(parents=True)
    with pytest.raises(Exception):
        write_atomically(ansible_module(), str(target), b'data')
    assert sorted(os.listdir(str(tmp_path))) == ['is-a-directory']
