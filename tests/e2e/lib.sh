# shellcheck shell=bash disable=SC2034 # its variables are the callers' to read
#
# tests/e2e/lib.sh: the end-to-end harness, sourced by tests/e2e/*_test.sh and scripts/demo.
#
# It builds three private network namespaces joined by veth pairs, the path toward a VPN client
# with the gateway in the middle:
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in (inside)     gw-vpn (tunnel)  |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   | 2001:db8:1::10   |   | 2001:db8:1::1      2001:db8:8::1    |   | 2001:db8:8::5    |
#   +------------------+   +-------------------------------------+   +------------------+
#     XDP_PASS on srv0       mtuguardd attaches to gw-in (--iface)
#
# Every link has MTU 1500; 10.8.0.5 / 2001:db8:8::5 play the client's tunnel addresses. Neighbours
# are static and IPv6 addresses skip DAD, so nothing waits for ARP, ND or timers. srv0 carries an
# XDP_PASS program because a veth delivers native-mode XDP_TX frames (mtuguard's ICMP errors) only
# when its peer has XDP too. gw-vpn segments in software (GSO/TSO off), so the client sees frames
# as a wire carries them: with GRO on gw-in (some kernels turn it on with XDP, `ethtool -K` can),
# the gateway would otherwise forward 64 KiB aggregates over the veth and tcpdump at the client
# would count those.
#
# The namespace names are unique per run (mg-<pid>-<random>-{srv,gw,cli}); background processes
# are remembered in a file so that tests running in subshells still get cleaned up. The EXIT trap
# kills them, deletes the namespaces and the scratch directory. MTUGUARD_E2E_DEBUG=1 opens a shell
# before cleanup to look around (ip netns exec NS ...).
#
# Binaries come from MTUGUARD_BUILD_DIR (ctest sets it; default: the repository's build/), or
# directly from MTUGUARD_DAEMON and MTUGUARD_XDP_PASS.
#
# A test script defines one function test_NAME per test and ends with
#
#   mg_tests NAME...   # the tests, in the order they run
#   mg_main "$@"
#
# mg_main checks the tools, builds the topology, runs the tests and exits with the result. The
# script's arguments name the tests to run (default: all; an unknown name exits 2), and
# MTUGUARD_E2E_ONLY=REGEX narrows them to the names it matches. Two functions a script may define
# for what it needs beyond the common topology: mg_preflight (more checks before any namespace
# exists, e.g. mg_require_tool) and mg_setup (after the topology is up, before the
# first test).

MG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MG_BUILD_DIR=${MTUGUARD_BUILD_DIR:-$MG_REPO/build}
MG_DAEMON=${MTUGUARD_DAEMON:-$MG_BUILD_DIR/bin/mtuguardd}
MG_XDP_PASS=${MTUGUARD_XDP_PASS:-$MG_BUILD_DIR/bpf/xdp_pass.bpf.o}
MG_PYTHON=${MTUGUARD_PYTHON:-/usr/bin/python3}
MG_CTL=${MTUGUARD_CTL:-$MG_BUILD_DIR/bin/mtuguardctl}

# Addresses (see the diagram).
MG_SERVER4=192.0.2.10
MG_SERVER6=2001:db8:1::10
MG_GW_IN4=192.0.2.1
MG_GW_IN6=2001:db8:1::1
MG_GW_VPN4=10.8.0.1
MG_GW_VPN6=2001:db8:8::1
MG_CLIENT4=10.8.0.5
MG_CLIENT6=2001:db8:8::5

MG_MAC_SRV0=02:00:5e:00:01:10
MG_MAC_GW_IN=02:00:5e:00:01:01
MG_MAC_GW_VPN=02:00:5e:00:08:01
MG_MAC_CLI0=02:00:5e:00:08:05

MG_RUN_ID="mg-$$-$RANDOM"
NS_SERVER="$MG_RUN_ID-srv"
NS_GATEWAY="$MG_RUN_ID-gw"
NS_CLIENT="$MG_RUN_ID-cli"
MG_TMP=""
MG_FAILED=0
MG_TESTS_RUN=0
MG_FAILED_NAMES=""

mg_log() { printf '%s\n' "$*"; }
mg_note() { printf '  %s\n' "$*"; }

# --- assertions: print what was expected and what was seen, then fail the test ---------------

mg_fail()
{
    printf '  FAILED: %s\n' "$*"
    exit 1
}

# mg_assert_eq WHAT EXPECTED SEEN
mg_assert_eq()
{
    [ "$2" = "$3" ] && return 0
    mg_fail "$1: expected '$2', saw '$3'"
}

# mg_assert_cmp WHAT A OP B (integers; OP is -eq -ne -lt -le -gt -ge)
mg_assert_cmp()
{
    case $3 in
    -eq | -ne | -lt | -le | -gt | -ge) ;;
    *) mg_fail "mg_assert_cmp: bad operator '$3'" ;;
    esac
    test "$2" "$3" "$4" 2>/dev/null && return 0
    mg_fail "$1: expected $2 $3 $4 to hold (it does not)"
}

# mg_assert_match WHAT EXTENDED-REGEX TEXT
mg_assert_match()
{
    printf '%s\n' "$3" | grep -Eq -- "$2" && return 0
    mg_fail "$1: expected output matching /$2/, saw:
$(printf '%s\n' "$3" | sed 's/^/    | /')"
}

# mg_assert_no_match WHAT EXTENDED-REGEX TEXT
mg_assert_no_match()
{
    printf '%s\n' "$3" | grep -Eq -- "$2" || return 0
    mg_fail "$1: expected nothing matching /$2/, saw:
$(printf '%s\n' "$3" | grep -E -- "$2" | sed 's/^/    | /')"
}

# --- processes ---------------------------------------------------------------------------------

# mg_bg LOGFILE CMD...: starts CMD in the background, output to LOGFILE; sets MG_BG_PID.
mg_bg()
{
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    MG_BG_PID=$!
    echo "$MG_BG_PID $(mg_start_time "$MG_BG_PID")" >>"$MG_TMP/pids"
}

# mg_start_time PID: when the process started (field 22 of /proc/PID/stat), so that a pid the
# kernel has since given to another process is never signalled.
mg_start_time()
{
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# mg_ns_bg NS LOGFILE CMD...: the same inside namespace NS (ip netns exec keeps the pid).
mg_ns_bg()
{
    local ns=$1 log=$2
    shift 2
    mg_bg "$log" ip netns exec "$ns" "$@"
}

mg_alive()
{
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# mg_wait_exit PID SECONDS: waits for a background child; sets MG_EXIT_STATUS (124 on timeout,
# the process is then killed).
mg_wait_exit()
{
    local pid=$1 tries=$(($2 * 10))
    while mg_alive "$pid" && [ "$tries" -gt 0 ]; do
        sleep 0.1
        tries=$((tries - 1))
    done
    if mg_alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        MG_EXIT_STATUS=124
        return 0
    fi
    MG_EXIT_STATUS=0
    wait "$pid" 2>/dev/null || MG_EXIT_STATUS=$?
}

# mg_stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
mg_stop()
{
    kill -TERM "$1" 2>/dev/null || true
    mg_wait_exit "$1" "${2:-10}"
}

# mg_wait_for SECONDS DESCRIPTION CMD...: retries CMD every 0.1 s until it succeeds.
mg_wait_for()
{
    local seconds=$1 what=$2 tries=$(($1 * 10))
    shift 2
    until "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || mg_fail "timed out after $seconds s waiting for: $what"
        sleep 0.1
    done
}

# mg_kill_registered: stops what mg_bg started and is still running.
mg_kill_registered()
{
    local pid started
    [ -f "$MG_TMP/pids" ] || return 0
    while read -r pid started; do
        if mg_alive "$pid" && [ "$(mg_start_time "$pid")" = "$started" ]; then
            kill -TERM "$pid" 2>/dev/null || true
            mg_wait_exit "$pid" 5
        fi
    done <"$MG_TMP/pids"
    : >"$MG_TMP/pids"
}

# --- the daemon --------------------------------------------------------------------------------

MG_DAEMON_SEQ=0
# A command the daemon runs under, inside the gateway namespace (e.g. unshare -m ...), for the
# tests that change its surroundings; empty for everyone else.
MG_DAEMON_WRAP=()

# mg_daemon_args ARGS...: ARGS plus a pin path and control socket of this test run's own, unless
# ARGS name them. The pins go to a bpffs mounted under the run's scratch directory: `ip netns exec`
# gives the daemon a fresh /sys, so pins under /sys/fs/bpf would die with it and a restart could
# not re-adopt them; the scratch directory is the same in every namespace.
mg_daemon_args()
{
    MG_ARGS=("$@")
    if ! mountpoint -q "$MG_TMP/bpffs"; then
        mkdir -p "$MG_TMP/bpffs"
        mount -t bpf bpf "$MG_TMP/bpffs"
    fi
    case " $* " in *" --pin-path"*) ;; *) MG_ARGS+=(--pin-path "$MG_TMP/bpffs/mtuguard") ;; esac
    case " $* " in *" --control-socket"*) ;; *) MG_ARGS+=(--control-socket "$MG_TMP/control.sock") ;; esac
}

# mg_daemon_start ARGS...: starts mtuguardd in the gateway namespace and waits until it says it
# is enforcing, looking every 10 ms. Sets MG_DAEMON_PID, MG_DAEMON_LOG and MG_ENFORCING_MS (when
# it said so, in ms since the epoch: restart tests time the gap with it).
mg_daemon_start()
{
    MG_DAEMON_SEQ=$((MG_DAEMON_SEQ + 1))
    MG_DAEMON_LOG="$MG_TMP/mtuguardd.$MG_DAEMON_SEQ.log"
    mg_daemon_args "$@"
    mg_ns_bg "$NS_GATEWAY" "$MG_DAEMON_LOG" "${MG_DAEMON_WRAP[@]}" "$MG_DAEMON" "${MG_ARGS[@]}"
    MG_DAEMON_PID=$MG_BG_PID
    local tries=2000
    until grep -q 'enforcing' "$MG_DAEMON_LOG"; do
        if ! mg_alive "$MG_DAEMON_PID"; then
            mg_wait_exit "$MG_DAEMON_PID" 1
            mg_fail "mtuguardd $* exited with status $MG_EXIT_STATUS before enforcing:
$(sed 's/^/    | /' "$MG_DAEMON_LOG")"
        fi
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || mg_fail "mtuguardd did not start enforcing within 20 s:
$(sed 's/^/    | /' "$MG_DAEMON_LOG")"
        sleep 0.01
    done
    MG_ENFORCING_MS=$(($(date +%s%N) / 1000000))
    # Attaching XDP to a veth can take its carrier down for a moment.
    mg_wait_for 10 "carrier on every link after attaching" mg_links_up
}

# mg_links_up: every veth of the topology has its carrier.
mg_links_up()
{
    local ns_if
    for ns_if in "$NS_SERVER/srv0" "$NS_GATEWAY/gw-in" "$NS_GATEWAY/gw-vpn" "$NS_CLIENT/cli0"; do
        ip -n "${ns_if%/*}" link show dev "${ns_if#*/}" | grep -q 'LOWER_UP' || return 1
        ip -n "${ns_if%/*}" link show dev "${ns_if#*/}" | grep -q 'NO-CARRIER' && return 1
    done
    return 0
}

# mg_daemon_stop: SIGTERM and wait; sets MG_DAEMON_STATUS.
mg_daemon_stop()
{
    mg_stop "$MG_DAEMON_PID" 20
    MG_DAEMON_STATUS=$MG_EXIT_STATUS
}

# mg_daemon_run ARGS...: runs mtuguardd to completion (20 s at most) in the gateway namespace;
# sets MG_DAEMON_STATUS and MG_DAEMON_LOG. For the ways it must refuse to start.
mg_daemon_run()
{
    MG_DAEMON_SEQ=$((MG_DAEMON_SEQ + 1))
    MG_DAEMON_LOG="$MG_TMP/mtuguardd.$MG_DAEMON_SEQ.log"
    MG_DAEMON_STATUS=0
    mg_daemon_args "$@"
    timeout --signal=KILL 20 ip netns exec "$NS_GATEWAY" "${MG_DAEMON_WRAP[@]}" "$MG_DAEMON" "${MG_ARGS[@]}" \
        >"$MG_DAEMON_LOG" 2>&1 </dev/null || MG_DAEMON_STATUS=$?
}

# --- mtuguardctl ------------------------------------------------------------------------------

pin_dir() { echo "$MG_TMP/bpffs/mtuguard"; } # the bpffs mg_daemon_args mounts for the run

# ctl ARGS...: mtuguardctl from the host against this run's socket, at most 30 s; sets CTL_OUT
# (stdout), CTL_ERR (stderr) and CTL_STATUS.
ctl()
{
    CTL_STATUS=0
    CTL_OUT=$(timeout 30 "$MG_CTL" --socket "$MG_TMP/control.sock" "$@" 2>"$MG_TMP/ctl.err") ||
        CTL_STATUS=$?
    CTL_ERR=$(cat "$MG_TMP/ctl.err")
}

# ctl_ok ARGS...: ctl that must exit 0.
ctl_ok()
{
    ctl "$@"
    [ "$CTL_STATUS" -eq 0 ] || mg_fail "mtuguardctl $* exited $CTL_STATUS: $CTL_ERR $CTL_OUT"
}

# json_get EXPRESSION JSON-TEXT: a Python expression over the parsed document `d` (fails the
# test when the text is not JSON).
json_get()
{
    local out status=0
    out=$(printf '%s' "$2" | "$MG_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" 2>&1) || status=$?
    [ "$status" -eq 0 ] || mg_fail "evaluating $1 on the JSON answer failed: $out
$(printf '%s\n' "$2" | head -n 40 | sed 's/^/    | /')"
    printf '%s\n' "$out"
}

# --- XDP state ---------------------------------------------------------------------------------

# mg_xdp_prog_id NS IFACE: the id of the XDP program attached to IFACE, or nothing.
mg_xdp_prog_id()
{
    ip -n "$1" -d link show dev "$2" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1
}

# mg_xdp_prog_name ID
mg_xdp_prog_name()
{
    bpftool prog show id "$1" | sed -n 's/^[0-9]*: xdp *name \([^ ]*\).*/\1/p'
}

# mg_prog_gone ID: no program with this id is loaded any more.
mg_prog_gone()
{
    ! bpftool prog show id "$1" >/dev/null 2>&1
}

# mg_attach_xdp_pass NS IFACE
mg_attach_xdp_pass()
{
    ip -n "$1" link set dev "$2" xdpdrv obj "$MG_XDP_PASS" sec xdp
}

# --- topology ----------------------------------------------------------------------------------

mg_require_tools()
{
    local tool
    if [ "$(id -u)" -ne 0 ]; then
        # Fails loudly: only an explicit opt-out turns a missing privilege into a skip.
        if [ "${MTUGUARD_SKIP_PRIVILEGED:-0}" = 1 ]; then
            echo "SKIP: needs root (network namespaces, XDP); MTUGUARD_SKIP_PRIVILEGED=1" >&2
            exit 77
        fi
        echo "FAIL: needs root (network namespaces, XDP); set MTUGUARD_SKIP_PRIVILEGED=1 to skip" >&2
        exit 1
    fi
    for tool in ip ping tcpdump curl bpftool ethtool timeout "$MG_PYTHON"; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool (run scripts/deps)" >&2; exit 1; }
    done
    [ -x "$MG_DAEMON" ] || { echo "no daemon at $MG_DAEMON: build first (MTUGUARD_BUILD_DIR)" >&2; exit 1; }
    [ -x "$MG_CTL" ] || { echo "no mtuguardctl at $MG_CTL: build first (MTUGUARD_BUILD_DIR)" >&2; exit 1; }
    [ -f "$MG_XDP_PASS" ] || {
        echo "no $MG_XDP_PASS: build it (cmake --build $MG_BUILD_DIR --target xdp_pass_skel_gen)" >&2
        exit 1
    }
    if ! mountpoint -q /sys/fs/bpf; then
        mount -t bpf bpf /sys/fs/bpf
    fi
}

# mg_require_tool TOOL...: each TOOL is a command on PATH (or an executable path); exits 1 if not.
mg_require_tool()
{
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool (run scripts/deps)" >&2; exit 1; }
    done
}

# mg_require_built PATH...: each PATH is an executable of the build; exits 1 if not.
mg_require_built()
{
    local path
    for path in "$@"; do
        [ -x "$path" ] || { echo "no $path: build first (MTUGUARD_BUILD_DIR)" >&2; exit 1; }
    done
}

mg_sysctl() { ip netns exec "$1" sysctl -qw "$2" >/dev/null; }

# mg_ns_setup NS: loopback up, no router advertisements or DAD getting in the way.
mg_ns_setup()
{
    ip netns add "$1"
    ip -n "$1" link set dev lo up
    mg_sysctl "$1" net.ipv6.conf.all.accept_dad=0
    mg_sysctl "$1" net.ipv6.conf.default.accept_dad=0
    mg_sysctl "$1" net.ipv6.conf.all.accept_ra=0
    mg_sysctl "$1" net.ipv6.conf.default.accept_ra=0
    mg_sysctl "$1" net.ipv4.conf.all.rp_filter=0
    mg_sysctl "$1" net.ipv4.conf.default.rp_filter=0
}

# mg_if_setup NS IFACE MAC ADDR4/LEN ADDR6/LEN
mg_if_setup()
{
    ip -n "$1" link set dev "$2" address "$3" mtu 1500
    ip -n "$1" addr add "$4" dev "$2"
    ip -n "$1" addr add "$5" dev "$2" nodad
    ip -n "$1" link set dev "$2" up
}

# mg_neigh NS IFACE ADDR MAC
mg_neigh()
{
    ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent
}

mg_topology_up()
{
    MG_TMP=$(mktemp -d "/tmp/$MG_RUN_ID.XXXXXX")
    : >"$MG_TMP/pids"
    trap mg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # Run private copies of the daemon and mtuguardctl, so a rebuild during the run cannot pull
    # them away.
    if cp "$MG_DAEMON" "$MG_TMP/mtuguardd" 2>/dev/null &&
        "$MG_TMP/mtuguardd" --version >/dev/null 2>&1; then
        MG_DAEMON="$MG_TMP/mtuguardd"
    fi
    if cp "$MG_CTL" "$MG_TMP/mtuguardctl" 2>/dev/null; then
        MG_CTL="$MG_TMP/mtuguardctl"
    fi

    mg_ns_setup "$NS_SERVER"
    mg_ns_setup "$NS_GATEWAY"
    mg_ns_setup "$NS_CLIENT"
    mg_sysctl "$NS_GATEWAY" net.ipv4.ip_forward=1
    mg_sysctl "$NS_GATEWAY" net.ipv6.conf.all.forwarding=1

    mg_server_link_up
    ip -n "$NS_CLIENT" link add cli0 type veth peer name gw-vpn netns "$NS_GATEWAY"
    mg_if_setup "$NS_GATEWAY" gw-vpn "$MG_MAC_GW_VPN" "$MG_GW_VPN4/24" "$MG_GW_VPN6/64"
    mg_if_setup "$NS_CLIENT" cli0 "$MG_MAC_CLI0" "$MG_CLIENT4/24" "$MG_CLIENT6/64"
    mg_neigh "$NS_GATEWAY" gw-vpn "$MG_CLIENT4" "$MG_MAC_CLI0"
    mg_neigh "$NS_GATEWAY" gw-vpn "$MG_CLIENT6" "$MG_MAC_CLI0"
    mg_neigh "$NS_CLIENT" cli0 "$MG_GW_VPN4" "$MG_MAC_GW_VPN"
    mg_neigh "$NS_CLIENT" cli0 "$MG_GW_VPN6" "$MG_MAC_GW_VPN"
    ip -n "$NS_CLIENT" route add default via "$MG_GW_VPN4"
    ip -n "$NS_CLIENT" -6 route add default via "$MG_GW_VPN6"

    # What leaves the gateway toward the client is wire-sized frames (see the top of this file).
    ip netns exec "$NS_GATEWAY" ethtool -K gw-vpn tso off gso off >/dev/null
    mg_wait_for 10 "carrier on every link" mg_links_up
}

# mg_server_link_up: the server's side of the topology, srv0 -- gw-in, with its addresses, static
# neighbours, the server's default routes and xdp_pass on srv0. mg_topology_up makes it; a test
# that deletes gw-in (which takes srv0 with it) makes it again.
mg_server_link_up()
{
    ip -n "$NS_SERVER" link add srv0 type veth peer name gw-in netns "$NS_GATEWAY"
    mg_if_setup "$NS_SERVER" srv0 "$MG_MAC_SRV0" "$MG_SERVER4/24" "$MG_SERVER6/64"
    mg_if_setup "$NS_GATEWAY" gw-in "$MG_MAC_GW_IN" "$MG_GW_IN4/24" "$MG_GW_IN6/64"
    mg_neigh "$NS_SERVER" srv0 "$MG_GW_IN4" "$MG_MAC_GW_IN"
    mg_neigh "$NS_SERVER" srv0 "$MG_GW_IN6" "$MG_MAC_GW_IN"
    mg_neigh "$NS_GATEWAY" gw-in "$MG_SERVER4" "$MG_MAC_SRV0"
    mg_neigh "$NS_GATEWAY" gw-in "$MG_SERVER6" "$MG_MAC_SRV0"
    ip -n "$NS_SERVER" route add default via "$MG_GW_IN4"
    ip -n "$NS_SERVER" -6 route add default via "$MG_GW_IN6"
    mg_attach_xdp_pass "$NS_SERVER" srv0
}

mg_flush_pmtu()
{
    ip -n "$NS_SERVER" route flush cache
    ip -n "$NS_SERVER" -6 route flush cache
}

# Between tests: stop whatever the last one left running, take off any XDP program it left on the
# gateway (a failed test may leave xdp_pass on gw-vpn), put xdp_pass back on srv0 if a test took it
# off and forget learned path MTUs.
mg_reset()
{
    local iface
    mg_kill_registered
    for iface in gw-in gw-vpn; do
        ip -n "$NS_GATEWAY" link set dev "$iface" xdp off 2>/dev/null || true
    done
    if ip -n "$NS_SERVER" link show dev srv0 >/dev/null 2>&1 && [ -z "$(mg_xdp_prog_id "$NS_SERVER" srv0)" ]; then
        mg_attach_xdp_pass "$NS_SERVER" srv0 || true
    fi
    mg_flush_pmtu 2>/dev/null || true
}

mg_cleanup()
{
    local status=$? ns
    trap - EXIT INT TERM
    if [ "${MTUGUARD_E2E_DEBUG:-0}" = 1 ]; then
        echo "MTUGUARD_E2E_DEBUG: namespaces $NS_SERVER $NS_GATEWAY $NS_CLIENT, files in $MG_TMP"
        echo "MTUGUARD_E2E_DEBUG: e.g. ip netns exec $NS_GATEWAY bash; exit the shell to clean up"
        if [ -r /dev/tty ]; then
            PS1="[mtuguard-e2e] \w# " bash --norc -i </dev/tty >/dev/tty 2>&1 || true
        else
            echo "MTUGUARD_E2E_DEBUG: no terminal, not opening a shell" >&2
        fi
    fi
    [ -n "$MG_TMP" ] && mg_kill_registered
    # shellcheck disable=SC2086 # MG_EXTRA_NAMESPACES: names a test added, split on spaces
    for ns in "$NS_CLIENT" "$NS_GATEWAY" "$NS_SERVER" ${MG_EXTRA_NAMESPACES:-}; do
        ip netns pids "$ns" 2>/dev/null | while read -r pid; do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || true
    done
    # Pins a killed daemon left behind go with their filesystem; a test that pins on the host's
    # bpffs does so under the run's name.
    [ -n "$MG_TMP" ] && umount "$MG_TMP/bpffs" 2>/dev/null
    [ -n "$NS_GATEWAY" ] && rm -rf "/sys/fs/bpf/$NS_GATEWAY" "/sys/fs/bpf/$MG_RUN_ID"
    if [ -n "$MG_TMP" ] && [ "${MTUGUARD_E2E_DEBUG:-0}" != 1 ]; then
        rm -rf "$MG_TMP"
    fi
    exit "$status"
}

# --- running tests -----------------------------------------------------------------------------

# mg_run_test NAME FUNCTION: runs FUNCTION in a subshell (an assertion exits only the test), prints
# PASS/FAIL NAME, then resets the topology for the next test.
mg_run_test()
{
    local name=$1 fn=$2 status=0 start end
    MG_TESTS_RUN=$((MG_TESTS_RUN + 1))
    mg_log "--- $name"
    start=$(date +%s%N)
    set +e
    (
        set -eu
        "$fn"
    )
    status=$?
    set -e
    end=$(date +%s%N)
    mg_reset
    if [ "$status" -eq 0 ]; then
        printf 'PASS %s (%s ms)\n' "$name" "$(((end - start) / 1000000))"
    else
        MG_FAILED=$((MG_FAILED + 1))
        MG_FAILED_NAMES="$MG_FAILED_NAMES $name"
        printf 'FAIL %s\n' "$name"
    fi
}

# mg_run_selected NAME FUNCTION: mg_run_test, unless MTUGUARD_E2E_ONLY (a regex) leaves NAME out.
mg_run_selected()
{
    [[ $1 =~ ${MTUGUARD_E2E_ONLY:-.} ]] || return 0
    mg_run_test "$@"
}

mg_finish()
{
    if [ "$MG_FAILED" -eq 0 ]; then
        mg_log "all $MG_TESTS_RUN tests passed"
        exit 0
    fi
    mg_log "$MG_FAILED of $MG_TESTS_RUN tests failed:$MG_FAILED_NAMES"
    exit 1
}

MG_TESTS=()

# mg_tests NAME...: the script's tests, each a function test_NAME, in the order mg_main runs them.
mg_tests() { MG_TESTS+=("$@"); }

# mg_main [NAME...]: the whole run of a test script (see the top of this file); does not return.
mg_main()
{
    local name
    for name in "$@"; do
        case " ${MG_TESTS[*]} " in
        *" $name "*) ;;
        *) echo "no test $name (tests: ${MG_TESTS[*]})" >&2; exit 2 ;;
        esac
    done
    [ $# -gt 0 ] || set -- "${MG_TESTS[@]}"
    mg_require_tools
    if declare -F mg_preflight >/dev/null; then
        mg_preflight
    fi
    mg_topology_up
    if declare -F mg_setup >/dev/null; then
        mg_setup
    fi
    for name in "$@"; do
        mg_run_selected "$name" "test_$name"
    done
    mg_finish
}

# --- packet captures ---------------------------------------------------------------------------

# mg_capture_start NS IFACE FILE SNAPLEN FILTER: tcpdump in the background, returns once it
# listens. Sets MG_CAPTURE_PID; its summary goes to FILE.log.
mg_capture_start()
{
    local ns=$1 iface=$2 file=$3 snaplen=$4 filter=$5
    mg_ns_bg "$ns" "$file.log" tcpdump -i "$iface" -nn -U --immediate-mode -B 16384 -s "$snaplen" -c 200000 \
        -w "$file" "$filter"
    MG_CAPTURE_PID=$MG_BG_PID
    local tries=200
    until grep -q 'listening on' "$file.log"; do
        mg_alive "$MG_CAPTURE_PID" || mg_fail "tcpdump on $iface died: $(cat "$file.log")"
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || mg_fail "tcpdump on $iface did not start within 20 s"
        sleep 0.1
    done
}

# mg_capture_stop PID FILE: stops tcpdump, fails the test if the kernel dropped packets (one of
# them could have been the one that matters).
mg_capture_stop()
{
    local pid=$1 file=$2 dropped captured received
    sleep 0.2 # let the last frames reach the socket
    mg_stop "$pid" 10
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$file.log")
    captured=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$file.log")
    received=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$file.log")
    mg_assert_eq "packets the kernel dropped before tcpdump saw them ($file)" 0 \
        "${dropped:-missing summary}"
    mg_assert_eq "packets tcpdump captured of those its filter received ($file)" \
        "${received:-missing summary}" "${captured:-missing summary}"
}

# mg_pcap_summary FILE MTU: reads a pcap (Ethernet) with the standard library only and prints
# key=value lines:
#   packets          IPv4 and IPv6 packets in the file
#   max_len          the longest IP packet (IPv4 total length, IPv6 payload length + 40)
#   over             packets longer than MTU that are not ICMP errors
#   icmp_errors      ICMP frag-needed (3/4) and ICMPv6 Packet Too Big (2/0) messages
#   icmp_mtus        the MTUs they announced, sorted, comma-separated
#   icmp_quote_min   the shortest length of a datagram they quote (as its own header states)
#   icmp_quote_fit   how many quote a datagram of at most MTU bytes (an error that was not due)
#   icmp_sources     the addresses they came from
mg_pcap_summary()
{
    "$MG_PYTHON" - "$1" "$2" <<'PYTHON'
import struct, sys, ipaddress

path, mtu = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
magic = data[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    endian = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
    endian = ">"
else:
    sys.exit(f"{path}: not a pcap file")
(linktype,) = struct.unpack(endian + "I", data[20:24])
if linktype != 1:
    sys.exit(f"{path}: link type {linktype}, expected Ethernet")

def ip_length(pkt):
    """(family, length, header length, protocol) of the IP packet at the start of pkt."""
    version = pkt[0] >> 4
    if version == 4 and len(pkt) >= 20:
        return 4, struct.unpack("!H", pkt[2:4])[0], (pkt[0] & 15) * 4, pkt[9]
    if version == 6 and len(pkt) >= 40:
        return 6, struct.unpack("!H", pkt[4:6])[0] + 40, 40, pkt[6]
    return None

packets = max_len = over = 0
errors, mtus, quotes, sources = 0, [], [], set()
off = 24
while off + 16 <= len(data):
    caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    l3 = 14
    ethertype = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
    while ethertype in (0x8100, 0x88A8) and len(frame) >= l3 + 4:
        ethertype = struct.unpack("!H", frame[l3 + 2:l3 + 4])[0]
        l3 += 4
    if ethertype not in (0x0800, 0x86DD):
        continue
    pkt = frame[l3:]
    info = ip_length(pkt)
    if not info:
        continue
    family, length, hlen, proto = info
    packets += 1
    max_len = max(max_len, length)
    icmp = pkt[hlen:hlen + 8]
    error = len(icmp) == 8 and (
        (family == 4 and proto == 1 and icmp[0] == 3 and icmp[1] == 4)
        or (family == 6 and proto == 58 and icmp[0] == 2 and icmp[1] == 0))
    if not error:
        over += length > mtu
        continue
    errors += 1
    word = struct.unpack("!I", icmp[4:8])[0]
    mtus.append(word & 0xFFFF if family == 4 else word)
    src = pkt[12:16] if family == 4 else pkt[8:24]
    sources.add(str(ipaddress.ip_address(src)))
    quoted = ip_length(pkt[hlen + 8:])
    quotes.append(quoted[1] if quoted else 0)

print(f"packets={packets}")
print(f"max_len={max_len}")
print(f"over={over}")
print(f"icmp_errors={errors}")
print("icmp_mtus=" + ",".join(str(m) for m in sorted(set(mtus))))
print(f"icmp_quote_min={min(quotes) if quotes else 0}")
print(f"icmp_quote_fit={sum(1 for q in quotes if q <= mtu)}")
print("icmp_sources=" + ",".join(sorted(sources)))
PYTHON
}

# mg_kv KEY TEXT: the value of KEY in key=value lines.
mg_kv()
{
    printf '%s\n' "$2" | sed -n "s/^$1=//p"
}

# --- shared checks of the fault tests ---------------------------------------------------------

# mg_ping NS ARGS...: ping from namespace NS, at most 30 s; sets PING_OUT and PING_STATUS.
mg_ping()
{
    local ns=$1
    shift
    PING_STATUS=0
    PING_OUT=$(ip netns exec "$ns" timeout 30 ping -n "$@" 2>&1) || PING_STATUS=$?
}

# mg_expect_frag_needed FROM MTU CLIENT [PAYLOAD]: one DF ping of PAYLOAD bytes (default 1390, a
# 1418-byte packet) from the server toward CLIENT (the server's path MTU cache flushed first) is
# answered by FROM with frag-needed announcing MTU.
mg_expect_frag_needed()
{
    local payload=${4:-1390}
    mg_flush_pmtu
    mg_ping "$NS_SERVER" -M "do" -s "$payload" -c 1 -W 2 "$3"
    mg_assert_match "ping -M do -s $payload ($((payload + 28)) bytes) toward $3 answered by $1" \
        "From ${1//./\\.} icmp_seq=1 Frag needed and DF set \\(mtu = $2\\)" "$PING_OUT"
}

# mg_hash_entries FAMILY: how many sessions the hash (mg_sessions4 or mg_sessions6) holds; those
# in a client pool sit in its slots instead. Fails the test when the map is not pinned.
mg_hash_entries()
{
    local dump
    dump=$(bpftool -j map dump pinned "$(pin_dir)/maps/mg_sessions$1" 2>&1) ||
        mg_fail "bpftool map dump of $(pin_dir)/maps/mg_sessions$1 failed: $dump"
    json_get 'len(d)' "$dump"
}

# mg_scrape [PORT]: the daemon's /metrics text, from inside the gateway namespace.
mg_scrape()
{
    ip netns exec "$NS_GATEWAY" curl -sf --max-time 5 "http://127.0.0.1:${1:-9784}/metrics"
}

# mg_metric TEXT SERIES: the value of one exact series line (as an integer), or "none".
mg_metric()
{
    printf '%s\n' "$1" | awk -v s="$2" 'index($0, s " ") == 1 { printf "%d\n", $2 + 0.5; found = 1 }
        END { if (!found) print "none" }'
}

# mg_series SERIES: the current value of one exact series of the daemon's /metrics, or "none".
mg_series() { mg_metric "$(mg_scrape)" "$1"; }

# mg_gateway_xdp: every XDP attachment in the gateway namespace, by ip and by bpftool.
mg_gateway_xdp()
{
    ip -n "$NS_GATEWAY" -d link show | grep -E 'prog/xdp|xdpgeneric|xdpdrv|xdpoffload|[ >]xdp ' || true
    ip netns exec "$NS_GATEWAY" bpftool net show | sed -n '/^xdp:/,/^$/p' | grep -v -e '^xdp:' -e '^$' || true
}

# mg_log_has PATTERN: the current daemon's log matches the extended regex (for mg_wait_for).
mg_log_has() { grep -Eq -- "$1" "$MG_DAEMON_LOG"; }

# --- streams of pings through the gateway ------------------------------------------------------

# mg_streams_start TAG PAYLOAD COUNT: two streams of COUNT pings from the server toward MG_CLIENT4
# at 10 ms, in the background: DF pings of PAYLOAD bytes (over the session's MTU: each must be
# answered with frag-needed) and 1000-byte pings (within it: each must come back). Their output
# goes to $MG_TMP/oversize.TAG.log and within.TAG.log; sets MG_OVERSIZE_PID and MG_WITHIN_PID.
mg_streams_start()
{
    local tag=$1 payload=$2 count=$3
    mg_ns_bg "$NS_SERVER" "$MG_TMP/oversize.$tag.log" timeout 120 \
        ping -n -M "do" -s "$payload" -i 0.01 -c "$count" -W 2 "$MG_CLIENT4"
    MG_OVERSIZE_PID=$MG_BG_PID
    mg_ns_bg "$NS_SERVER" "$MG_TMP/within.$tag.log" timeout 120 \
        ping -n -s 1000 -i 0.01 -c "$count" -W 2 "$MG_CLIENT4"
    MG_WITHIN_PID=$MG_BG_PID
}

# mg_ping_summary PING-OUTPUT: ping's "N packets transmitted, ..." line.
mg_ping_summary() { printf '%s\n' "$1" | grep -E 'transmitted' || echo "no summary"; }

# mg_streams_check TAG COUNT FRAG-NEEDED-REGEX: waits for both streams of mg_streams_start; every
# one of the COUNT oversize pings was answered by a line matching FRAG-NEEDED-REGEX (each icmp_seq
# once), every within-MTU ping came back.
mg_streams_check()
{
    local tag=$1 count=$2 frag_needed=$3 out errors seqs
    mg_wait_exit "$MG_OVERSIZE_PID" 120
    mg_wait_exit "$MG_WITHIN_PID" 120
    out=$(cat "$MG_TMP/oversize.$tag.log")
    errors=$(printf '%s\n' "$out" | grep -cE "$frag_needed" || true)
    seqs=$(printf '%s\n' "$out" | grep -E "$frag_needed" | sed 's/.*icmp_seq=\([0-9]*\).*/\1/' | sort -un | wc -l)
    mg_note "oversize stream: $(mg_ping_summary "$out"); $errors frag-needed lines, $seqs distinct icmp_seq"
    mg_assert_match "oversize stream summary" \
        "^$count packets transmitted, 0 received, \\+$count errors" "$(mg_ping_summary "$out")"
    mg_assert_eq "frag-needed lines" "$count" "$errors"
    mg_assert_eq "distinct icmp_seq answered with frag-needed" "$count" "$seqs"
    out=$(cat "$MG_TMP/within.$tag.log")
    mg_note "within-MTU stream: $(mg_ping_summary "$out")"
    mg_assert_match "within-MTU stream summary" \
        "^$count packets transmitted, $count received, 0% packet loss" "$(mg_ping_summary "$out")"
}
