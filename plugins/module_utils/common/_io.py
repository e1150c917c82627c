# Copyright (c) 2026, mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading and writing files on the managed host: the one way the
collection's modules do it.

- :func:`read_if_exists`: the bytes of a file, or None when there is none.
- :func:`update_file`: make a file hold given bytes with given file
  arguments (mode, owner, group, SELinux context, attributes): written only
  when the bytes differ, through :func:`write_atomically`, and the file
  arguments applied either way; check mode reports and changes nothing.

A write goes to a temporary file in the destination's own directory (so the
final rename never crosses file systems), is flushed and fsynced, then
renamed over the destination by ``AnsibleModule.atomic_move``, which keeps
the attributes of a file it replaces and gives a new file the default
SELinux context of its place. Readers see the old file or the new one,
never part of one, even after a crash.

Private module of the mailsec.mta_sts collection; standard library and
ansible.module_utils only (runs on the managed host).
"""

from __future__ import annotations

import os
import tempfile

# A new file's mode when the task gives none: the files the modules write
# (policies served by a web server, reports) are meant to be read by others.
DEFAULT_MODE = '0644'


def read_if_exists(path):
    """The bytes at ``path``, or None when there is no file. Any other
    failure (a directory, no permission) raises OSError."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomically(module, path, data):
    """Replace ``path`` with ``data`` (bytes): temporary file in the same
    directory, fsync, atomic rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_arguments(module, path, **params):
    """The file arguments of ``module`` for ``path`` (owner, group, seuser,
    serole, setype, selevel, attributes and mode), with ``params``
    overriding the module's parameters of the same names. A missing mode
    becomes :data:`DEFAULT_MODE`."""
    merged = dict(module.params, **params)
    if merged.get('mode') is None:
        merged['mode'] = DEFAULT_MODE
    return module.load_file_common_arguments(merged, path=path)


def update_file(module, path, data, file_args):
    """Make ``path`` hold ``data`` (bytes) with ``file_args`` (see
    :func:`file_arguments`). Returns whether anything changed (or would, in
    check mode, which writes nothing)."""
    changed = read_if_exists(path) != data
    exists = not changed or os.path.exists(path)
    if changed and not module.check_mode:
        write_atomically(module, path, data)
        exists = True
    if exists:
        # In check mode this only tells whether the attributes would change.
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed
