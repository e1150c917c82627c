#!/usr/bin/env bash
# Failures of the policy_host role: an unknown OS family or bad input stops
# it before any change; a certificate that does not cover a name is refused
# before nginx uses it; a configuration nginx refuses (invalid directive,
# address in use) fails the role while the host keeps serving the previous
# policies.
set -eux

cleanup() {
    ansible-playbook cleanup.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

ansible-playbook unsupported_os.yml "$@"
ansible-playbook failures.yml "$@"
