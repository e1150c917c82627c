#!/usr/bin/env bash
# Self-signed certificates (labs only): check mode makes nothing, the first
# run makes one certificate per batch of names and serves them, the second
# run changes nothing.
set -eux

cleanup() {
    ansible-playbook cleanup.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

ansible-playbook check.yml --check "$@"
ansible-playbook selfsigned.yml "$@"
