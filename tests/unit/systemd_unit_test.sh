#!/bin/sh
# The systemd unit, checked by systemd's own tools (the `systemd` package; scripts/deps).
#
#   systemd_unit_test.sh verify UNIT DAEMON
#       `systemd-analyze verify` must print nothing: it reports unknown keys and bad values as
#       warnings and still exits 0. It also requires ExecStart='s (and ExecReload='s) binary to
#       exist, and this machine need not have /usr/sbin/mtuguardd installed: the unit is checked
#       as a copy whose Exec lines run DAEMON, the daemon just built, instead (and ExecStop= the
#       mtuguard-stop next to UNIT). --man=no: the man pages named in
#       Documentation= come with the package, not with the build tree.
#   systemd_unit_test.sh security UNIT [MAX]
#       `systemd-analyze security --offline=yes`: the overall exposure must be at most MAX
#       (default 2.5).
set -eu

mode=$1
unit=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: run scripts/deps" >&2; exit 1; }

case $mode in
verify)
    daemon=$(readlink -f "$3")
    [ -x "$daemon" ] || { echo "no daemon at $daemon: build it first" >&2; exit 1; }
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    grep -q '^ExecStart=/usr/sbin/mtuguardd ' "$unit" ||
        { echo "$unit: no ExecStart=/usr/sbin/mtuguardd line to point at the build" >&2; exit 1; }
    # ExecStop='s script is checked as the one next to the unit in the tree
    sed -e "s#^\(Exec[A-Za-z]*\)=/usr/sbin/mtuguardd #\1=$daemon #" \
        -e "s#^ExecStop=/usr/libexec/mtuguard/#ExecStop=$(cd "$(dirname "$unit")" && pwd)/#" \
        "$unit" >"$scratch/mtuguard.service"
    output=$(systemd-analyze verify --man=no "$scratch/mtuguard.service" 2>&1) || {
        printf '%s\n' "$output"
        echo "FAIL: systemd-analyze verify exited non-zero" >&2
        exit 1
    }
    if [ -n "$output" ]; then
        printf '%s\n' "$output"
        echo "FAIL: systemd-analyze verify is not clean" >&2
        exit 1
    fi
    echo "systemd-analyze verify: clean (ExecStart=$daemon)"
    ;;
security)
    max=${3:-2.5}
    threshold=$(echo "$max" | awk '{ printf "%d", $1 * 10 + 0.5 }')
    status=0
    output=$(systemd-analyze security --offline=yes --no-pager --threshold="$threshold" "$unit" 2>&1) || status=$?
    printf '%s\n' "$output" | grep -v '^✓'
    overall=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$overall" ] || { echo "FAIL: no overall exposure level in the output" >&2; exit 1; }
    if [ "$status" -ne 0 ]; then
        echo "FAIL: overall exposure $overall exceeds $max" >&2
        exit 1
    fi
    echo "overall exposure $overall (at most $max)"
    ;;
*)
    echo "usage: $0 verify UNIT DAEMON | security UNIT [MAX]" >&2
    exit 2
    ;;
esac
