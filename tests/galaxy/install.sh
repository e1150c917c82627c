#!/usr/bin/env bash
# `make install` as a user runs it from a checkout: into the default user
# collections path (~/.ansible/collections, with HOME pointed at a scratch
# directory), with no network at all (a network namespace without
# interfaces, when we may make one), then ansible-doc and the README's first
# example work with no ANSIBLE_COLLECTIONS_PATH; a second run keeps the
# community.crypto already there and replaces mailsec.mta_sts.
#
#   tests/galaxy/install.sh REPO_DIR
set -euo pipefail

repo=$(cd "${1:?usage: $0 REPO_DIR}" && pwd)
make=${MAKE:-make}

fail() {
    echo "install-test FAILED: $*" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
home=$work/home
mkdir -p "$home"
installed=$home/.ansible/collections/ansible_collections

# No network: a fresh network namespace has only a loopback that is down.
# Root can make one; otherwise try a user namespace; otherwise say so.
if [ "$(id -u)" = 0 ] && unshare --net true 2> /dev/null; then
    offline=(unshare --net --)
elif unshare --user --map-root-user --net true 2> /dev/null; then
    offline=(unshare --user --map-root-user --net --)
else
    offline=()
    echo "NOTE: cannot make a network namespace here; make install runs with the network reachable"
fi

run_install() {
    # The user's environment: HOME set, no collections path of ours.
    env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS HOME="$home" \
        "${offline[@]}" "$make" -C "$repo" --no-print-directory install > "$work/install.log" 2>&1 \
        || { cat "$work/install.log"; fail "make install"; }
    cat "$work/install.log"
}

echo "--- make install, offline, into the default ~/.ansible/collections"
run_install
[ -f "$installed/mailsec/mta_sts/MANIFEST.json" ] || fail "mailsec.mta_sts is not in $installed"
[ -f "$installed/community/crypto/MANIFEST.json" ] || fail "community.crypto is not in $installed"
grep -q "Ansible looks there by default" "$work/install.log" || fail "make install did not say the path is a default one"

echo "--- ansible-doc finds it with no configuration"
env -u ANSIBLE_COLLECTIONS_PATH HOME="$home" ansible-doc mailsec.mta_sts.policy > "$work/doc.txt" 2>&1 || true
grep -q "$installed/mailsec/mta_sts" "$work/doc.txt" || { head -n 5 "$work/doc.txt"; fail "ansible-doc mailsec.mta_sts.policy"; }
env -u ANSIBLE_COLLECTIONS_PATH HOME="$home" ansible-doc -t role mailsec.mta_sts.policy_host > "$work/role-doc.txt" 2>&1 || true
grep -q "policy_host_domains" "$work/role-doc.txt" || fail "ansible-doc -t role mailsec.mta_sts.policy_host"

echo "--- the README's first example, as written"
# The first yaml block of the README; it writes /srv/mta-sts/example.com.txt,
# so it runs in a private mount namespace with a scratch /srv when we are root.
awk '/^```yaml$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' "$repo/README.md" > "$work/first.yml"
grep -q "mailsec.mta_sts.policy" "$work/first.yml" || fail "the README's first yaml block does not use the policy module"
if [ "$(id -u)" = 0 ] && [ -d /srv ] && unshare --mount true 2> /dev/null; then
    (cd "$work" && env -u ANSIBLE_COLLECTIONS_PATH HOME="$home" unshare --mount --propagation private -- \
        sh -c 'mount -t tmpfs tmpfs /srv && ansible-playbook first.yml && cat /srv/mta-sts/example.com.txt &&
               ansible-playbook first.yml > second.log' \
        > "$work/first.log" 2>&1) || { cat "$work/first.log"; fail "the README's first example"; }
    grep -q "^mode: testing" "$work/first.log" || { cat "$work/first.log"; fail "the example did not write the policy"; }
    grep -qF '_mta-sts.example.com. TXT \"v=STSv1; id=' "$work/first.log" || fail "the example did not show the record to publish"
    grep -Eq 'localhost +: ok=[0-9]+ +changed=2 ' "$work/first.log" || fail "the first run did not create the directory and the file"
    grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$work/second.log" || { cat "$work/second.log"; fail "the second run changed something"; }
    echo "ran twice: it wrote the policy and printed the record, then changed nothing"
else
    (cd "$work" && env -u ANSIBLE_COLLECTIONS_PATH HOME="$home" ansible-playbook --syntax-check first.yml) \
        || fail "the README's first example does not parse"
    echo "NOTE: not root: syntax-checked only (it writes under /srv)"
fi

echo "--- make install again: mailsec.mta_sts replaced, community.crypto kept"
touch "$installed/community/crypto/.kept-marker"
run_install
grep -q "community.crypto: already in" "$work/install.log" || fail "the second run did not keep community.crypto"
[ -f "$installed/community/crypto/.kept-marker" ] || fail "the second run replaced community.crypto"

echo "install-test: make install works offline into the default path; ansible-doc and the README example work"
