#!/usr/bin/env bash
# The demo, run inside the lab by `make demo` (tests/lab/run -- tests/demo/run.sh).
# Each step prints a short account; the full ansible output of each run is
# kept in $DEMO_DIR/<step>.log.
#
# Hook for more steps: every executable tests/demo/hooks/after-deploy.d/*.sh
# runs after the MX change and before retiring, with the same environment
# (DEMO_DIR, DEMO_INVENTORY, the lab facts in /run/mta-sts-lab/facts.json);
# a hook that fails fails the demo.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
INVENTORY="$HERE/inventory.yml"
DEMO_DIR="${DEMO_DIR:?set by make demo}"
export DEMO_DIR DEMO_INVENTORY="$INVENTORY"
export MTA_STS_DEMO_REPORT="$DEMO_DIR/mta-sts-report.html"
FACTS=/run/mta-sts-lab/facts.json
PY="${DEMO_PYTHON:-python3}"
fact() { "$PY" -c "import json,sys; print(json.load(open('$FACTS'))[sys.argv[1]])" "$1"; }
DNS="$(fact dns_server)"
SCRATCH="$(fact scratch_dir)"
START=$SECONDS

say() { printf '\n\033[1m== %s\033[0m  (%ds)\n' "$*" "$((SECONDS - START))"; }
txt_id() { dig +norec +short @"$DNS" TXT "_mta-sts.$1" | sed -n 's/.*id=\([A-Za-z0-9]*\).*/\1/p'; }
play() {  # play NAME PLAYBOOK [ARGS...]: run it, show the condensed account
    local name="$1"; shift
    ansible-playbook "$@" -i "$INVENTORY" 2>&1 | "$PY" "$HERE/show.py" "$DEMO_DIR/$name.log"
    return "${PIPESTATUS[0]}"
}

say "The lab is up: DNS (Knot), an ACME CA (pebble), MX hosts; policy hosts will be 127.0.0.10 and 127.0.0.11"

say "1. Deploy deploy-a.test and deploy-b.test (enforce) and deploy-c.test (testing) to two policy hosts"
echo "   ansible-playbook mailsec.mta_sts.deploy -i tests/demo/inventory.yml"
play deploy mailsec.mta_sts.deploy
echo "   HTML report: $MTA_STS_DEMO_REPORT"

say "2. Run it again: nothing changes"
play deploy-again mailsec.mta_sts.deploy
if grep -Eq 'changed=[1-9]' "$DEMO_DIR/deploy-again.log"; then echo "   something changed on the second run!"; exit 1; fi
echo "   changed=0 on both policy hosts"

say "3. Add mx2.example.test to deploy-a.test (tests/demo/add-mx.yml)"
old_id="$(txt_id deploy-a.test)"
play add-mx mailsec.mta_sts.deploy -e @"$HERE/add-mx.yml"
new_id="$(txt_id deploy-a.test)"
echo "   _mta-sts.deploy-a.test id: $old_id -> $new_id"
echo "   the order on the hosts and in DNS:"
for host in policy-a policy-b; do
    printf '     %s  policy file of %s written\n' \
        "$(date -u -r "$SCRATCH/demo/$host/policies/deploy-a.test.txt" +%H:%M:%S.%3N)" "$host"
done
printf '     %s  _mta-sts TXT id published (state file on policy-a)\n' \
    "$("$PY" -c "import json,sys,datetime; s=json.load(open(sys.argv[1])); print(datetime.datetime.fromtimestamp(s['domains']['deploy-a.test']['published']['at'], datetime.timezone.utc).strftime('%H:%M:%S'))" "$SCRATCH/demo/policy-a/rollout-state.json")"

for hook in "$HERE"/hooks/after-deploy.d/*.sh; do
    [ -x "$hook" ] || continue
    say "Hook: $(basename "$hook")"
    "$hook"
done

say "4. Start retiring deploy-c.test: mode none with a new id"
c_id="$(txt_id deploy-c.test)"
play retire mailsec.mta_sts.retire -e @"$HERE/add-mx.yml" -e '{"mta_sts_retire": ["deploy-c.test"]}'
echo "   _mta-sts.deploy-c.test id: $c_id -> $(txt_id deploy-c.test)"

say "5. Run retire again right away: removal is refused until the largest max_age has passed"
play retire-again mailsec.mta_sts.retire -e @"$HERE/add-mx.yml" -e '{"mta_sts_retire": ["deploy-c.test"]}'

say "Done in $((SECONDS - START))s; the lab stops now (logs in $DEMO_DIR)"
