#!/usr/bin/env bash
# Install the Debian packages the tests and the lab need (make setup), and
# keep the servers among them from running system-wide: the lab starts its
# own nginx, Knot, Postfix and pebble inside a private namespace, on loopback.
#
#   tests/setup/apt_install.sh PACKAGE...     (as root; only the missing ones)
#
# - Only the packages given are installed (make passes the missing ones), so
#   packages already there are not upgraded by this step.
# - While apt runs, a policy-rc.d refuses every service start (exit 101), so
#   no postinst starts a server. An existing policy-rc.d is left alone.
# - Afterwards, the systemd units and init scripts of every package this run
#   newly installed (dependencies included: nginx's unit is in nginx-common)
#   are disabled, so they do not start at the next boot either. Services of
#   packages that were installed before are left as they were.
#
# POLICY_RC_D overrides the policy-rc.d path (for the unit test only).
set -euo pipefail

[ $# -gt 0 ] || exit 0
policy_rc_d=${POLICY_RC_D:-/usr/sbin/policy-rc.d}

installed_packages() {
    dpkg-query -W -f='${Package} ${Status}\n' 2> /dev/null | awk '$NF == "installed" { print $1 }' | sort -u
}

before=$(installed_packages)

ours=
if [ ! -e "$policy_rc_d" ]; then
    printf '#!/bin/sh\n# make setup (mailsec.mta_sts): no service starts while packages install\nexit 101\n' > "$policy_rc_d"
    chmod 0755 "$policy_rc_d"
    ours=1
fi
remove_ours() {
    if [ -n "$ours" ]; then
        rm -f "$policy_rc_d"
    fi
}
trap remove_ours EXIT

echo "Installing Debian packages: $*"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"

new=$(comm -13 <(echo "$before") <(installed_packages))
units=()
scripts=()
for package in $new; do
    while IFS= read -r path; do
        case "$path" in
            /lib/systemd/system/*@.* | /usr/lib/systemd/system/*@.*) ;;  # templates are never enabled by name
            /lib/systemd/system/*.service | /lib/systemd/system/*.socket | /lib/systemd/system/*.timer | \
            /usr/lib/systemd/system/*.service | /usr/lib/systemd/system/*.socket | /usr/lib/systemd/system/*.timer)
                units+=("$(basename "$path")") ;;
            /etc/init.d/*)
                scripts+=("$(basename "$path")") ;;
        esac
    done < <(dpkg-query -L "$package" 2> /dev/null)
done

if [ ${#units[@]} -gt 0 ] && command -v systemctl > /dev/null; then
    echo "Disabling the services of the new packages (the lab runs its own): ${units[*]}"
    # Works on the unit files even where systemd is not running (containers).
    systemctl disable --quiet "${units[@]}" 2> /dev/null || systemctl disable "${units[@]}" || true
    if [ -d /run/systemd/system ]; then
        systemctl stop "${units[@]}" 2> /dev/null || true
    fi
fi
if [ ${#scripts[@]} -gt 0 ] && command -v update-rc.d > /dev/null && [ ! -d /run/systemd/system ]; then
    for script in "${scripts[@]}"; do
        update-rc.d "$script" disable > /dev/null 2>&1 || true
    done
fi
