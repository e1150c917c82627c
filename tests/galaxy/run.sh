#!/usr/bin/env bash
# Check the collection as users get it: build the artifact from the build copy,
# install it offline into an empty collections path (community.crypto from the
# local copy, as Galaxy is unreachable here), then use it from there only.
#
#   tests/galaxy/run.sh COLLECTION_DIR DIST_DIR DEPS_COLLECTIONS_DIR
set -euo pipefail

collection_dir=${1:?usage: $0 COLLECTION_DIR DIST_DIR DEPS_COLLECTIONS_DIR}
dist_dir=${2:?usage: $0 COLLECTION_DIR DIST_DIR DEPS_COLLECTIONS_DIR}
deps_dir=${3:?usage: $0 COLLECTION_DIR DIST_DIR DEPS_COLLECTIONS_DIR}

fail() {
    echo "galaxy-test FAILED: $*" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "--- build the artifact"
rm -rf "$dist_dir"
ansible-galaxy collection build --output-path "$dist_dir" "$collection_dir"
tarballs=("$dist_dir"/mailsec-mta_sts-*.tar.gz)
if [ ${#tarballs[@]} -ne 1 ] || [ ! -f "${tarballs[0]}" ]; then
    fail "expected one artifact in $dist_dir"
fi
tarball=${tarballs[0]}

echo "--- check what the artifact holds"
tar -tzf "$tarball" > "$work/contents"
for unwanted in tests/lab/ tests/output/ .venv/ .cache/ build/ .git/ Makefile bench/ tests/run-suites.sh; do
    if grep -q "^$unwanted" "$work/contents"; then
        fail "the artifact contains $unwanted (galaxy.yml build_ignore)"
    fi
done
for wanted in MANIFEST.json FILES.json README.md LICENSE meta/runtime.yml plugins/modules/policy.py; do
    grep -qx "$wanted" "$work/contents" || fail "the artifact lacks $wanted"
done
echo "$(wc -l < "$work/contents") entries, no test infrastructure"

echo "--- install it offline into an empty collections path"
# community.crypto comes as a local directory so that the dependency declared
# in galaxy.yml is really resolved (rather than skipped with --no-deps).
cat > "$work/requirements.yml" <<YAML
---
collections:
  - name: $tarball
    type: file
  - name: $deps_dir/ansible_collections/community/crypto
    type: dir
YAML
export ANSIBLE_COLLECTIONS_PATH=$work/collections
ansible-galaxy collection install --offline -r "$work/requirements.yml" -p "$work/collections"
ansible-galaxy collection list -p "$work/collections" 2>/dev/null | grep -E 'mailsec\.mta_sts|community\.crypto'

echo "--- ansible-doc from the installed copy"
ansible-doc mailsec.mta_sts.policy > "$work/policy-doc.txt" || fail "ansible-doc mailsec.mta_sts.policy"
grep -q "$work/collections/ansible_collections/mailsec/mta_sts" "$work/policy-doc.txt" \
    || fail "ansible-doc did not read the installed copy"
head -n 3 "$work/policy-doc.txt"

echo "--- a playbook using the installed module (compute only, no dest)"
cat > "$work/play.yml" <<'YAML'
---
- name: Use mailsec.mta_sts as installed from the artifact
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Compute a policy, its id and its TXT record
      mailsec.mta_sts.policy:
        domain: example.com
        mode: enforce
        mx:
          - mx1.example.com
          - "*.mail.example.com"
        max_age: 604800
      register: result

    - name: Check what came back
      ansible.builtin.assert:
        that:
          - result is not changed
          - "result.policy is search('mode: enforce')"
          - "result.policy is search('mx: mx1.example.com')"
          - result.policy_id is match('^[A-Za-z0-9]{1,32}$')
          - result.sts_record.name == '_mta-sts.example.com'
          - result.sts_record.value is match('^v=STSv1;')
          - result.policy_id in result.sts_record.value
YAML
(cd "$work" && ansible-playbook -i localhost, "$work/play.yml") || fail "playbook with mailsec.mta_sts.policy"

echo "galaxy-test: artifact builds, installs offline and works"
