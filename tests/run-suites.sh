#!/usr/bin/env bash
# Run the suites of `make test` one after another, keep going after a failure,
# and end with one summary line: "N passed, N failed[, N skipped]".
#
#   tests/run-suites.sh PREREQUISITE... -- SUITE...
#
# Each name is a make target. Prerequisites (setup, build) must pass or no
# suite runs. A suite counts as skipped when its recipe left a marker
# $RESULTS/<suite>.skipped (the Makefile's `skip` helper) and exited 0.
set -uo pipefail

make_cmd=${MAKE:-make}
results=${RESULTS:?RESULTS must name the directory for skip markers}

prerequisites=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    prerequisites+=("$1")
    shift
done
shift || true
suites=("$@")

rm -rf "$results"
mkdir -p "$results"

banner() {
    printf '\n===== %s =====\n' "$1"
}

for step in "${prerequisites[@]}"; do
    banner "$step"
    if ! "$make_cmd" "$step"; then
        printf '\n%s failed: no suite was run.\n' "$step"
        printf '0 passed, %d failed\n' "${#suites[@]}"
        exit 1
    fi
done

passed=0
failed=0
skipped=0
report=()
for suite in "${suites[@]}"; do
    banner "$suite"
    start=$SECONDS
    if "$make_cmd" "$suite"; then
        if [ -f "$results/$suite.skipped" ]; then
            verdict="skipped ($(cat "$results/$suite.skipped"))"
            skipped=$((skipped + 1))
        else
            verdict=passed
            passed=$((passed + 1))
        fi
    else
        verdict=FAILED
        failed=$((failed + 1))
    fi
    report+=("$(printf '  %-12s %4ds  %s' "$suite" $((SECONDS - start)) "$verdict")")
done

banner summary
printf '%s\n' "${report[@]}"
echo
if [ "$skipped" -gt 0 ]; then
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
else
    printf '%d passed, %d failed\n' "$passed" "$failed"
fi
[ "$failed" -eq 0 ]
