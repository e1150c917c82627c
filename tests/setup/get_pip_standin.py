# Copyright: mailsec.mta_sts contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip script that ansible-test downloads.

Every virtual environment that ``ansible-test ... --venv`` creates is
bootstrapped with a get-pip script that ansible-test downloads from a host
this project's machines cannot reach. ansible-test looks in its cache
(``~/.ansible/test/cache/get_pip_<pip version>.py``) first, and
``make setup`` (tests/setup/seed_get_pip.py) puts this file there.

It does what get-pip does with the arguments ansible-test passes
(``pip==X.Y --disable-pip-version-check --no-setuptools --no-wheel``):
pip is bootstrapped from the interpreter's bundled ensurepip, then upgraded
to the requested version from the package index pip is configured for.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip options that `pip install` does not know.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main() -> int:
    """Bootstrap pip, then install the requested packages; return the exit code."""
    # Child processes: pip installed by ensurepip is importable in a fresh
    # interpreter, not in this one (which started before pip existed).
    bootstrap = subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'],
                               check=False, stdout=subprocess.DEVNULL)
    if bootstrap.returncode != 0:
        return bootstrap.returncode
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    return subprocess.run([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args, check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
