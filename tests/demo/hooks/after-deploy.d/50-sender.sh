#!/usr/bin/env bash
# Demo hook: our own Postfix, configured by the mailsec.mta_sts.sender role,
# sends a mail to deploy-b.test (enforce, deployed by step 1) and delivers it
# only over TLS with a verified certificate (docs/sender.md).
set -euo pipefail
HERE="$(cd "$(dirname "$0")/../.." && pwd)"
SCRATCH="$(python3 -c "import json; print(json.load(open('/run/mta-sts-lab/facts.json'))['scratch_dir'])")"

echo "   Sender side: a private Postfix enforces the policies of the domains it sends to"
echo "   ansible-playbook tests/demo/sender.yml (role mailsec.mta_sts.sender, then one mail to postmaster@deploy-b.test)"
if ! ansible-playbook "$HERE/sender.yml" -i "$DEMO_INVENTORY" > "$DEMO_DIR/sender.log" 2>&1; then
    grep -E "fatal:|FAILED" "$DEMO_DIR/sender.log" | cut -c1-600
    exit 1
fi
sed 's/^/     /' "$SCRATCH/demo/sender/shown.txt"
echo "   (full output: $DEMO_DIR/sender.log; what the logs mean: docs/sender.md)"
