#!/usr/bin/env bash
# ACME certificates from the lab's pebble over HTTP-01, served by the role's
# own nginx. Check mode needs a real `--check` run (a check_mode keyword on
# include_role does not reach the role's dynamic includes), hence playbooks.
set -eux

# ansible-test points ANSIBLE_COLLECTIONS_PATH at this collection's root only;
# the ACME modules come from community.crypto, which `make setup` extracts to
# <repo>/.cache/collections (the build root is <repo>/build). Add the first
# place that has it; MAILSEC_DEPS_COLLECTIONS overrides.
for deps in "${MAILSEC_DEPS_COLLECTIONS:-}" "${ANSIBLE_COLLECTIONS_PATH%%:*}/../.cache/collections"; do
    if [ -n "$deps" ] && [ -d "$deps/ansible_collections/community/crypto" ]; then
        deps="$(cd "$deps" && pwd)"
        export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH}:${deps}"
        break
    fi
done

cleanup() {
    ansible-playbook stop.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

ansible-playbook --check check_fresh.yml "$@"
ansible-playbook apply.yml -e expect_changed=true "$@"
ansible-playbook --check apply.yml -e expect_changed=false "$@"
ansible-playbook apply.yml -e expect_changed=false "$@"
ansible-playbook serve_renew_fail.yml "$@"
