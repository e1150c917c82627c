# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put the offline get-pip stand-in where ansible-test looks for its cache.

Run with the interpreter that has ansible-core installed (the project venv).
The pip version in the cache file name is read from ansible-test's own
source, so an ansible-core bump cannot silently leave a stale name behind.
See get_pip_standin.py for why the stand-in exists.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import sys

STANDIN = pathlib.Path(__file__).with_name('get_pip_standin.py')

# ansible_test/_internal/python_requirements.py: get_venv_packages() holds
# `default_packages = dict(pip='24.2', ...)`.
PIP_VERSION_PATTERN = re.compile(r"default_packages\s*=\s*dict\(\s*pip='([0-9.]+)'")


def ansible_test_pip_version() -> str:
    """Return the pip version ansible-test bootstraps its venvs with."""
    spec = importlib.util.find_spec('ansible_test')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('seed_get_pip: ansible_test is not importable by %s' % sys.executable)
    source = pathlib.Path(list(spec.submodule_search_locations)[0], '_internal', 'python_requirements.py')
    match = PIP_VERSION_PATTERN.search(source.read_text(encoding='utf-8'))
    if match is None:
        raise SystemExit('seed_get_pip: no pip version found in %s; ansible-test changed how it pins pip' % source)
    return match.group(1)


def main() -> None:
    """Write the stand-in to the cache path if it is missing or different."""
    version = ansible_test_pip_version()
    target = pathlib.Path(os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % version.replace('.', '_')))
    content = STANDIN.read_bytes()
    if target.is_file() and target.read_bytes() == content:
        print('ansible-test get-pip %s stand-in already in place: %s' % (version, target))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    print('ansible-test get-pip %s stand-in written: %s' % (version, target))


if __name__ == '__main__':
    main()
