#!/usr/bin/env bash
# The one inventory shape: one inventory file, one list of domain items, fed
# as it stands to the policy_host role and to the policy, records and verify
# modules; a typo in a key is refused by each of them, naming the closest key.
set -eux

cleanup() {
    ansible-playbook -i inventory.yml cleanup.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

ansible-playbook -i inventory.yml site.yml "$@"
ansible-playbook -i inventory.yml typos.yml "$@"
