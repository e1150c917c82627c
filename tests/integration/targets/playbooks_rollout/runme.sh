#!/usr/bin/env bash
# The collection playbooks (mailsec.mta_sts.deploy, .verify, .retire: the
# shipped ones, not copies) against the lab, with two policy hosts:
#   refusals change nothing; deploy, then a second run changes nothing;
#   --check on a changed inventory changes nothing; an added MX is served by
#   every host before its id is published (watched from outside) and
#   mta-sts-query sees the new id; a stale host stops the rollout before DNS;
#   retire publishes mode none with a new id, refuses removal before the
#   largest max_age passed, and removes once it has (clock simulated); an MX
#   removed from the inventory stays in the policy until its max_age passed.
set -eux

export ROLLOUT_TARGET_DIR="$PWD"
# Every host is local: feed modules to Python on stdin instead of copying
# them to a temporary directory first (about a third less time per task).
export ANSIBLE_PIPELINING=1
INV=(-i inventory.yml)
FACTS=/run/mta-sts-lab/facts.json
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
fact() { "$PY" -c "import json,sys; print(json.load(open('$FACTS'))[sys.argv[1]])" "$1"; }
SCRATCH="$(fact scratch_dir)"
DNS="$(fact dns_server)"
CA="$(fact ca_bundle)"
BASE="$SCRATCH/playbooks-rollout"
OUT="$BASE/out"
mkdir -p "$OUT"

# Stop both hosts' nginx, also when a run removed a pid file (retire removes
# host configuration), and wait until they are gone: the next target may
# listen on the same addresses.
cleanup() {
    for host in policy-a policy-b; do
        pid="$BASE/$host/nginx/nginx.pid"
        if [ -s "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
    done
    pkill -f -- "nginx -c $BASE/" 2>/dev/null || true
    for _ in $(seq 50); do
        pgrep -f -- "nginx -c $BASE/" > /dev/null || break
        sleep 0.1
    done
}
trap cleanup EXIT

# Run a playbook, keep its output in $OUT/$1.log; the status is the playbook's.
play() {
    local name="$1" start=$SECONDS; shift
    set +e
    ansible-playbook "$@" "${INV[@]}" > "$OUT/$name.log" 2>&1
    local rc=$?
    set -e
    cat "$OUT/$name.log"
    echo "== $name: status $rc after $((SECONDS - start)) s" | tee -a "$OUT/times"
    return $rc
}
expect_failure() {
    if play "$@"; then echo "FAIL: $1 should have failed"; exit 1; fi
}
# Everything a run could change: policy files and state on both hosts, and
# the SOA serial and the TXT records of every zone involved.
snapshot() {
    (cd "$BASE" && find . -path ./out -prune -o -type f \( -name '*.txt' -o -name 'rollout-state.json' \) -print \
        | sort | xargs -r sha256sum)
    for zone in deploy-a.test deploy-b.test deploy-c.test deploy-badmx.test; do
        dig +norec +short @"$DNS" SOA "$zone"
        dig +norec +short @"$DNS" TXT "_mta-sts.$zone" TXT "_smtp._tls.$zone"
    done
}
txt_id() { dig +norec +short @"$DNS" TXT "_mta-sts.$1" | sed -n 's/.*id=\([A-Za-z0-9]*\).*/\1/p'; }
recap_changed() { sed -n "s/^$2 *: .*changed=\([0-9]*\).*/\1/p" "$OUT/$1.log"; }
webroot_file() { echo "$BASE/$1/policies/$2.txt"; }

# --- 1. Refusals: nothing changes --------------------------------------------
before="$(snapshot)"
expect_failure typo mailsec.mta_sts.deploy -e @vars/typo.yml "$@"
grep -q 'deploy-a.test, mta_sts_domains\[0\]: unknown key \\"mdoe\\" (did you mean \\"mode\\"?)' "$OUT/typo.log"

expect_failure refuse mailsec.mta_sts.deploy -e @vars/refuse.yml "$@"
grep -q "Preflight refused, nothing changed" "$OUT/refuse.log"
grep -q "deploy-a.test: MX mx.provider.test: not covered by the new policy (mx: mx1.example.test)" "$OUT/refuse.log"
grep -q "deploy-badmx.test: MX mx.mx-expired.fixture.test (127.0.2.12): the certificate has expired" "$OUT/refuse.log"
[ "$(snapshot)" = "$before" ]
[ ! -e "$BASE/policy-a" ] && [ ! -e "$BASE/policy-b" ]

# --- 2. Deploy; verify passes; a second run changes nothing ------------------
play deploy1 mailsec.mta_sts.deploy "$@"
[ "$(recap_changed deploy1 policy-a)" -gt 0 ]
grep -q "deploy-a.test: OK - mode enforce" "$OUT/deploy1.log"
grep -q "deploy-c.test: WARNING - mode testing" "$OUT/deploy1.log"
# deploy-c.test went through the "tasks" provider hook.
grep -qx "deploy-c.test present v=STSv1; id=$(txt_id deploy-c.test)" "$BASE/hook.log"
play verify1 mailsec.mta_sts.verify "$@"
grep -q "deploy-a.test: OK - mode enforce" "$OUT/verify1.log"
grep -q "deploy-b.test: WARNING - mode enforce, .* warning F2" "$OUT/verify1.log"

play deploy2 mailsec.mta_sts.deploy "$@"
[ "$(recap_changed deploy2 policy-a)" = 0 ] && [ "$(recap_changed deploy2 policy-b)" = 0 ]

# --- 3. testing -> enforce while verify warns: refused -----------------------
before="$(snapshot)"
expect_failure enforce_c mailsec.mta_sts.deploy -e rollout_c_mode=enforce "$@"
grep -q "moving deploy-c.test from testing to enforce needs a clean verify" "$OUT/enforce_c.log"
[ "$(snapshot)" = "$before" ]

# --- 4. --check --diff on a changed inventory changes nothing ----------------
ADD_MX=(-e '{"rollout_a_added_mx": ["mx2.example.test"]}')
# (deploy-b.test published by hand this time: dns provider none prints the records.)
play check mailsec.mta_sts.deploy "${ADD_MX[@]}" -e '{"rollout_b_dns": {"provider": "none"}}' --check --diff "$@"
[ "$(snapshot)" = "$before" ]
grep -q 'deploy-b.test: at your DNS provider, publish _mta-sts.deploy-b.test. TXT \\"v=STSv1; id=' "$OUT/check.log"
grep -q '^+mx: mx2.example.test' "$OUT/check.log"
grep -q "check mode: nothing was changed" "$OUT/check.log"

# --- 5. Add an MX: every host serves the policy before the id changes --------
old_id="$(txt_id deploy-a.test)"
"$PY" watch_order.py watch deploy-a.test "$DNS" "$OUT/order.jsonl" \
    "$(webroot_file policy-a deploy-a.test)" "$(webroot_file policy-b deploy-a.test)" &
watcher=$!
play add_mx mailsec.mta_sts.deploy "${ADD_MX[@]}" "$@"
touch "$OUT/order.jsonl.stop"
wait "$watcher"
new_id="$(txt_id deploy-a.test)"
[ -n "$new_id" ] && [ "$new_id" != "$old_id" ]
"$PY" watch_order.py judge "$OUT/order.jsonl" "$old_id" "$new_id"
grep -q "deploy-a.test: mx2.example.test is added to the policy; it is served first, the MX record is your next step" \
    "$OUT/add_mx.log"
# A real sender's code, inside the lab, gets the new policy.
query="$(SSL_CERT_FILE="$CA" "$(dirname "$PY")/mta-sts-query" deploy-a.test)"
echo "$query"
grep -q "STSFetchResult.VALID" <<< "$query"
grep -q "$new_id" <<< "$query"

# --- 6. A stale policy host stops the rollout before DNS ---------------------
kill "$(cat "$BASE/policy-b/nginx/nginx.pid")"
before="$(snapshot | grep -v '^[0-9a-f]\{64\} ')"
expect_failure stale mailsec.mta_sts.deploy "${ADD_MX[@]}" -e rollout_c_max_age=172800 \
    -e mta_sts_wait_timeout=3 --limit policy-a "$@"
grep -q "127.0.0.11 mta-sts.deploy-c.test: connect error" "$OUT/stale.log"
grep -q "the new ids are not published" "$OUT/stale.log"
[ "$(snapshot | grep -v '^[0-9a-f]\{64\} ')" = "$before" ]
grep -q "max_age: 172800" "$(webroot_file policy-a deploy-c.test)"

# --- 7. Retire deploy-c.test (none + new id, refusal, removal); meanwhile
# mx2.example.test leaves deploy-a.test's inventory: the policy keeps it for
# deploy-a's max_age (604800 s) from the first run that saw it gone.
# No rollout_c_max_age here: the 172800 s that the stale run served on
# policy-a must come from its state file.
RETIRE=(-e '{"mta_sts_retire": ["deploy-c.test"]}')
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now="$(date +%s)"
c_id="$(txt_id deploy-c.test)"
b_id="$(txt_id deploy-b.test)"
play retire1 mailsec.mta_sts.retire "${RETIRE[@]}" -e mta_sts_now="$now" "$@"
none_id="$(txt_id deploy-c.test)"
[ -n "$none_id" ] && [ "$none_id" != "$c_id" ]
for host in policy-a policy-b; do
    grep -q '^mode: none' "$(webroot_file $host deploy-c.test)"
    grep -q '^mx: mx2.example.test' "$(webroot_file $host deploy-a.test)"
done
grep -q "deploy-c.test: [A-Z]* - mode none, id $none_id" "$OUT/retire1.log"
grep -q "deploy-a.test: mx2.example.test stays in the policy until $(iso $((now + 604800)))" "$OUT/retire1.log"
[ "$(txt_id deploy-a.test)" = "$new_id" ]

# An hour later: refused, with the time it will be allowed (published + 172800 s).
play retire2 mailsec.mta_sts.retire "${RETIRE[@]}" -e mta_sts_now="$((now + 3600))" "$@"
grep -q "deploy-c.test: removal refused until $(iso $((now + 172800))) (in 1d 23h)" "$OUT/retire2.log"
[ "$(txt_id deploy-c.test)" = "$none_id" ]
[ "$(recap_changed retire2 policy-a)" = 0 ]

# A week later: deploy-c.test's records and policy removed; mx2.example.test
# dropped from deploy-a.test's policy under a new id; deploy-b.test untouched.
play retire3 mailsec.mta_sts.retire "${RETIRE[@]}" -e mta_sts_now="$((now + 604800))" "$@"
[ -z "$(dig +norec +short @"$DNS" TXT _mta-sts.deploy-c.test)" ]
for host in policy-a policy-b; do
    [ ! -e "$(webroot_file $host deploy-c.test)" ]
    if grep -q 'mx2.example.test' "$(webroot_file $host deploy-a.test)"; then echo "FAIL: mx2 still served"; exit 1; fi
done
grep -q "deploy-a.test: mx2.example.test is no longer in the policy" "$OUT/retire3.log"
a_id="$(txt_id deploy-a.test)"
[ -n "$a_id" ] && [ "$a_id" != "$new_id" ]
[ "$(txt_id deploy-b.test)" = "$b_id" ]
grep -q "deploy-c.test absent -" "$BASE/hook.log"
cat "$OUT/times"
