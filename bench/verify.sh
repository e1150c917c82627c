#!/usr/bin/env bash
# Time mailsec.mta_sts.verify on N generated lab domains sharing 3 MX hosts
# (not part of `make test`). Usage: bench/verify.sh [N] [PARALLEL]
# Prints the wall time of the module run and its summary (DNS questions and
# MX probes actually made: each is done once per run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
count=${1:-100}
parallel=${2:-16}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s/count: 100/count: $count/" "$here/verify-scenario.yml" > "$work/scenario.yml"
cat > "$work/playbook.yml" <<'PLAY'
- name: Verify the generated lab domains
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the lab facts
      ansible.builtin.set_fact:
        lab: "{{ lookup('ansible.builtin.file', '/run/mta-sts-lab/facts.json') | from_json }}"
    - name: Verify
      mailsec.mta_sts.verify:
        domains: "{{ lab.good_domains + lab.generated['bench.test'] }}"
        ca_path: "{{ lab.ca_bundle }}"
        ca_mode: replace
        parallel: "{{ bench_parallel | int }}"
      register: bench
    - name: Show the summary
      ansible.builtin.debug:
        msg: "{{ bench.summary | combine({'domains_ok': bench.summary.ok}) }}"
PLAY
"$repo/tests/lab/run" --scenario "$work/scenario.yml" -- \
  env PATH="$repo/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-}" \
  bash -c "start=\$(date +%s.%N); ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$repo/.venv/bin/python -e bench_parallel=$parallel '$work/playbook.yml' | grep -E -A20 'Show the summary|fatal|FAILED'; end=\$(date +%s.%N); echo \"wall time of the playbook: \$(echo \"\$end - \$start\" | bc) s for $count domains (+1)\""
