#!/usr/bin/env bash
# ACME certificates from the lab's pebble over HTTP-01, served by the role's
# own nginx. Check mode needs a real `--check` run (a check_mode keyword on
# include_role does not reach the role's dynamic includes), hence playbooks.
set -eux

cleanup() {
    ansible-playbook stop.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

ansible-playbook --check check_fresh.yml "$@"
ansible-playbook apply.yml -e expect_changed=true "$@"
ansible-playbook --check apply.yml -e expect_changed=false "$@"
ansible-playbook apply.yml -e expect_changed=false "$@"
ansible-playbook serve_renew_fail.yml "$@"
