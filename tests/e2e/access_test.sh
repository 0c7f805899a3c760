#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: who can reach the running daemon, and with what it runs. The control socket turns
# away a user who is neither its owner nor in its group, /metrics listens on loopback only unless
# told otherwise, and once attached the daemon holds no capability at all
# (userspace/daemon/privileges.hpp). docs/reliability.md, "Access".
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    curl 192.0.2.1:9784    mtuguardd: /metrics on 127.0.0.1:9784 (the default)
#    (refused)              control socket $MG_TMP/run/control.sock <-- mtuguardctl as root (ok)
#                                                                    <-- as mtuguard-e2e (refused)
#
# Tests (one function each):
#   control_socket_owner   the socket is mode 0600 root (0660 group mtuguard where that group
#                          exists); mtuguardctl as an unprivileged user (setpriv, no groups):
#                          exit 1, "Permission denied" and what the socket is for; as root: ok
#   metrics_loopback_only  by default the daemon's only listening TCP socket is 127.0.0.1:9784;
#                          from the server, 192.0.2.1:9784 refuses the connection
#   no_capabilities        every thread of the running daemon: CapEff, CapPrm, CapInh, CapAmb
#                          and CapBnd all 0, NoNewPrivs 1; it still enforces and answers status
#
# The user mtuguard-e2e is created when missing (useradd --system, no home, no shell) and left in
# place for the next run.
#
# Run as root: tests/e2e/access_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TLS_MTU=1347
SESSION4="$MG_CLIENT4,dtls-mtu=1418,tls-mtu=$TLS_MTU,transport=tls"
PROBE_USER=mtuguard-e2e

test_control_socket_owner()
{
    local socket="$MG_TMP/run/control.sock" mode status err
    # Anyone may pass through the scratch directory; the socket's own mode must do the refusing.
    chmod 0711 "$MG_TMP"
    mg_daemon_start --iface gw-in --session "$SESSION4" --control-socket "$socket"
    mode=$(stat -c '%a %U %G' "$socket")
    mg_note "control socket: $(stat -c '%A %U:%G' "$socket") $socket"
    if getent group mtuguard >/dev/null; then
        mg_assert_eq "mode, owner and group of the control socket" "660 root mtuguard" "$mode"
    else
        mg_assert_eq "mode, owner and group of the control socket (no group mtuguard here)" "600 root root" "$mode"
    fi

    # The user can get to the socket file: what refuses it is the socket's own mode.
    setpriv --reuid "$PROBE_USER" --regid "$PROBE_USER" --clear-groups stat "$socket" >/dev/null ||
        mg_fail "$PROBE_USER cannot even reach $socket (the directories are in the way, not the socket)"
    status=0
    err=$(setpriv --reuid "$PROBE_USER" --regid "$PROBE_USER" --clear-groups --inh-caps=-all \
        "$MG_CTL" --socket "$socket" status 2>&1 >/dev/null) || status=$?
    mg_note "mtuguardctl status as $PROBE_USER: exit $status: $err"
    mg_assert_eq "exit status of mtuguardctl as $PROBE_USER" 1 "$status"
    mg_assert_match "its message" \
        "cannot reach mtuguardd at ${socket//./\\.}: Permission denied \\(the control socket is for root and group mtuguard\\)" \
        "$err"
    # Nor may that user change anything.
    status=0
    setpriv --reuid "$PROBE_USER" --regid "$PROBE_USER" --clear-groups --inh-caps=-all \
        "$MG_CTL" --socket "$socket" session del "$MG_CLIENT4" >/dev/null 2>&1 || status=$?
    mg_assert_eq "exit status of session del as $PROBE_USER" 1 "$status"

    CTL_STATUS=0
    CTL_OUT=$(timeout 30 "$MG_CTL" --socket "$socket" -o json session list) || CTL_STATUS=$?
    mg_assert_eq "mtuguardctl as root: exit status" 0 "$CTL_STATUS"
    mg_assert_eq "the session is still there" "$MG_CLIENT4" "$(json_get 'd["sessions"][0]["address"]' "$CTL_OUT")"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_metrics_loopback_only()
{
    local listening status
    mg_daemon_start --iface gw-in --session "$SESSION4"
    listening=$(ip netns exec "$NS_GATEWAY" ss -Hltn | awk '{ print $4 }' | sort | tr '\n' ' ' | sed 's/ $//')
    mg_note "listening TCP sockets in the gateway: $listening"
    mg_assert_eq "listening TCP sockets in the gateway namespace" "127.0.0.1:9784" "$listening"
    ip netns exec "$NS_GATEWAY" curl -sf --max-time 5 -o /dev/null http://127.0.0.1:9784/metrics ||
        mg_fail "no /metrics on 127.0.0.1:9784 from inside the gateway"
    status=0
    ip netns exec "$NS_SERVER" curl -s --max-time 5 -o /dev/null "http://$MG_GW_IN4:9784/metrics" || status=$?
    mg_note "curl http://$MG_GW_IN4:9784/metrics from the server: exit $status (7: connection refused)"
    mg_assert_eq "curl exit status for /metrics on the gateway's inside address" 7 "$status"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# task_sets PID: one line per thread: "CapEff CapPrm CapInh CapAmb CapBnd NoNewPrivs".
task_sets()
{
    local task
    for task in /proc/"$1"/task/*; do
        awk '/^(CapEff|CapPrm|CapInh|CapAmb|CapBnd|NoNewPrivs):/ { v[$1] = $2 }
             END { print v["CapEff:"], v["CapPrm:"], v["CapInh:"], v["CapAmb:"], v["CapBnd:"], v["NoNewPrivs:"] }' \
            "$task/status"
    done
}

test_no_capabilities()
{
    local sets threads zero=0000000000000000
    mg_daemon_start --iface gw-in --session "$SESSION4"
    # The metrics server's threads exist once it listens.
    mg_wait_for 5 "/metrics answers" ip netns exec "$NS_GATEWAY" curl -sf --max-time 2 -o /dev/null \
        http://127.0.0.1:9784/metrics
    sets=$(task_sets "$MG_DAEMON_PID")
    threads=$(printf '%s\n' "$sets" | wc -l)
    mg_note "$threads threads; distinct CapEff CapPrm CapInh CapAmb CapBnd NoNewPrivs: $(printf '%s\n' "$sets" | sort -u | tr '\n' ';')"
    mg_assert_cmp "threads of the daemon (main + metrics server)" "$threads" -ge 2
    mg_assert_eq "CapEff CapPrm CapInh CapAmb CapBnd NoNewPrivs of every thread" "$zero $zero $zero $zero $zero 1" \
        "$(printf '%s\n' "$sets" | sort -u)"
    ctl_ok status
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "XDP attachments in the gateway after the stop (detaching needs no capability)" "" \
        "$(mg_gateway_xdp)"
}

mg_preflight() { mg_require_tool setpriv useradd ss; }

mg_setup()
{
    id -u "$PROBE_USER" >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PROBE_USER" 2>/dev/null ||
        id -u "$PROBE_USER" >/dev/null # created meanwhile by another run
}

mg_tests control_socket_owner metrics_loopback_only no_capabilities
mg_main "$@"
