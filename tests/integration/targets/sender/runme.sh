#!/usr/bin/env bash
# The sender role's lab proof. A private sending Postfix, configured by
# mailsec.mta_sts.sender, sends to deploy-sender.test, which the collection
# deploys (policy_host role + records module): cases.py asserts each case
# from the logs and queues of the sender and the receivers.
set -eux

cleanup() {
    ansible-playbook stop.yml "$@" || true
}
trap 'cleanup "$@"' EXIT

python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
base_dir=/run/mta-sts-lab/scratch/sender-target

# Setup, deployment in enforce and the role in one run (the role's check mode
# and idempotence are the molecule scenario's: roles/sender/molecule/default).
ansible-playbook setup.yml -e expect_changed=true "$@"

"$python" cases.py "$base_dir" enforce
ansible-playbook deploy.yml -e policy_mode=testing "$@"
"$python" cases.py "$base_dir" testing
