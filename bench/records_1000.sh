#!/usr/bin/env bash
# Benchmark (not a test): publish the records of 1000 domains over 2 zones
# with ONE run of mailsec.mta_sts.records in the lab, then run it again
# (nothing to change) and in check mode, and print the wall times.
#
#   bench/records_1000.sh [COUNT]     (default 1000; run from anywhere, as root)
#
# Uses the lab's Knot and TSIG key (tests/lab/run) and the project's .venv.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-1000}

if [[ -z "${MTA_STS_LAB_FACTS:-}" ]]; then
    exec "$repo/tests/lab/run" -- "$0" "$count"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collections/ansible_collections/mailsec"
ln -s "$repo" "$work/collections/ansible_collections/mailsec/mta_sts"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default
python="$repo/.venv/bin/python"

cat > "$work/bench.yml" <<'YAML'
- name: Publish the records of many domains in one run
  hosts: localhost
  gather_facts: false
  vars:
    lab: "{{ lookup('ansible.builtin.file', lookup('ansible.builtin.env', 'MTA_STS_LAB_FACTS')) | from_json }}"
    count: "{{ lookup('ansible.builtin.env', 'BENCH_COUNT') | int }}"
    zones: "{{ lab.records_domains[:2] }}"
    items: >-
      {{ range(count | int) | map('regex_replace', '^(.*)$', '{"domain": "bench\1.ZONE"}')
         | map('from_json') | list }}
  tasks:
    - name: Spread the domains over two zones
      ansible.builtin.set_fact:
        batch: "{{ items[: (count | int) // 2] | map('to_json') | map('replace', 'ZONE', zones[0]) | map('from_json') | list
                   + items[(count | int) // 2:] | map('to_json') | map('replace', 'ZONE', zones[1]) | map('from_json') | list }}"
    - name: Publish
      mailsec.mta_sts.records:
        server: "{{ lab.dns_server }}"
        port: "{{ lab.dns_port }}"
        key_name: "{{ lab.tsig_key_name }}"
        key_secret: "{{ lab.tsig_key_secret }}"
        key_algorithm: "{{ lab.tsig_key_algorithm }}"
        policy_id: "{{ lookup('ansible.builtin.env', 'BENCH_ID') }}"
        tlsrpt_rua: [mailto:tlsrpt@example.test]
        domains: "{{ batch }}"
      register: published
    - name: Report
      ansible.builtin.debug:
        msg: "changed={{ published.changed }} updates={{ published.updates }} zones={{ published.zones | map(attribute='zone') | list }}"
YAML

run() {  # label, policy id, extra args
    local label=$1 id=$2; shift 2
    local start end
    start=$(date +%s%N)
    BENCH_COUNT=$count BENCH_ID=$id "$repo/.venv/bin/ansible-playbook" -i localhost, -c local \
        -e ansible_python_interpreter="$python" "$@" "$work/bench.yml" > "$work/$label.log"
    end=$(date +%s%N)
    printf '%-22s %6d ms   %s\n' "$label" $(( (end - start) / 1000000 )) \
        "$(grep -o 'changed=[a-zA-Z]* updates=[0-9]*' "$work/$label.log" | head -1)"
}

echo "records: $count domains (2 records each) over 2 zones, one task, lab Knot"
run "publish (create)" first1
run "re-run (no change)" first1
run "check mode (new id)" second2 --check
run "publish (new id)" second2
