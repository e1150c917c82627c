#!/usr/bin/env bash
# Are the declared Python requirements the real ones? (make deps-test)
#
#   tests/deps/run.sh COLLECTIONS_ROOT VENV_DIR
#
# COLLECTIONS_ROOT holds ansible_collections/mailsec/mta_sts (the build copy).
# 1. A venv holding only ansible-core (the pin of tests/requirements-dev.txt)
#    and requirements.txt imports every plugin (check_imports.py, which also
#    compares the plugins' documented requirements with requirements.txt).
#    The venv is kept in VENV_DIR and rebuilt when either list changes.
# 2. cert_coverage, which runs on managed hosts, works with the system
#    python3 and its distribution cryptography (check_certs.py), when this
#    machine has one.
set -euo pipefail

root=$(cd "${1:?usage: $0 COLLECTIONS_ROOT VENV_DIR}" && pwd)
venv=${2:?usage: $0 COLLECTIONS_ROOT VENV_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
collection=$root/ansible_collections/mailsec/mta_sts
python=${PYTHON:-python3.11}

core=$(grep -E '^ansible-core==' "$collection/tests/requirements-dev.txt")
wanted="$core $(sha256sum < "$collection/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.declared" 2>/dev/null)" != "$wanted" ]; then
    echo "--- a venv with only $core and requirements.txt ($venv)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "$core" -r "$collection/requirements.txt" \
        > "$venv.log" 2>&1 || { tail -n 30 "$venv.log"; exit 1; }
    echo "$wanted" > "$venv/.declared"
fi
echo "--- import every plugin there"
# -I: no PYTHONPATH, no user site-packages; only what the venv holds.
"$venv/bin/python" -I "$here/check_imports.py" "$root"

echo "--- cert_coverage with the managed host's own cryptography"
minimum=$(sed -n 's/^ *- cryptography >= \([0-9.]*\) .*/\1/p' "$collection/plugins/modules/cert_coverage.py")
[ -n "$minimum" ] || { echo "cert_coverage.py documents no 'cryptography >= X' requirement"; exit 1; }
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
    # Modules get ansible.module_utils from Ansible itself (AnsiballZ), not
    # from the host: lend the venv's ansible package, and nothing else.
    lend=$(mktemp -d)
    trap 'rm -rf "$lend"' EXIT
    ln -s "$("$venv/bin/python" -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')" "$lend/ansible"
    /usr/bin/python3 -I "$here/check_certs.py" "$root" "$minimum" "$lend"
else
    echo "skipped: /usr/bin/python3 has no cryptography here (Debian: python3-cryptography)"
fi
