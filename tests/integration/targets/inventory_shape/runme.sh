#!/usr/bin/env bash
# The one inventory shape: one inventory file, one list of domain items, fed
# as it stands to the policy_host role and to the policy, records and verify
# modules, then to the deploy, verify and retire playbooks, which find
# nothing to change in what the modules made (same policies, same ids); a
# typo in a key is refused by each module and the role, naming the closest key.
set -eux

facts=/run/mta-sts-lab/facts.json
scratch=$("${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" -c "import json; print(json.load(open('$facts'))['scratch_dir'])")
logs=$scratch/inventory-shape-logs
mkdir -p "$logs"

# Seconds per step, printed at the end (the target's cost in make test).
times=()
step() {
    local name="$1" start=$SECONDS rc=0
    shift
    "$@" || rc=$?
    times+=("$name $((SECONDS - start))s")
    return $rc
}

cleanup() {
    ansible-playbook -i inventory.yml cleanup.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

step modules+role ansible-playbook -i inventory.yml site.yml "$@"
step typos ansible-playbook -i inventory.yml typos.yml "$@"

# The policy files and the TXT records the modules made, to compare after the playbooks.
snapshot() {
    ansible-playbook -i inventory.yml snapshot.yml "$@" > /dev/null
    cat "$scratch/inventory-shape-snapshot.json"
}
before=$(snapshot "$@")
step deploy-playbook ansible-playbook -i inventory.yml mailsec.mta_sts.deploy "$@" > "$logs/deploy.log" || { cat "$logs/deploy.log"; exit 1; }
cat "$logs/deploy.log"
grep -Eq "deploy-a.test: (OK|WARNING) - mode testing" "$logs/deploy.log"
grep -Eq "deploy-b.test: (OK|WARNING) - mode enforce" "$logs/deploy.log"
step verify-playbook ansible-playbook -i inventory.yml mailsec.mta_sts.verify "$@" > "$logs/verify.log" || { cat "$logs/verify.log"; exit 1; }
cat "$logs/verify.log"
grep -Eq "deploy-b.test: (OK|WARNING) - mode enforce" "$logs/verify.log"
step retire-playbook-check ansible-playbook -i inventory.yml mailsec.mta_sts.retire --check \
    -e '{"mta_sts_retire": ["deploy-a.test"]}' "$@" > "$logs/retire.log" || { cat "$logs/retire.log"; exit 1; }
cat "$logs/retire.log"
grep -q "check mode: nothing was changed" "$logs/retire.log"
[ "$(snapshot "$@")" = "$before" ]
echo "inventory_shape times: ${times[*]}"
