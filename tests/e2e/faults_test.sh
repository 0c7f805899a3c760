#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
# shellcheck disable=SC2034 # MG_DAEMON_WRAP is for lib.sh
#
# End-to-end: faults. The daemon killed in the middle of a burst of session changes, no bpf
# filesystem where the pins go, an enforced interface deleted and re-created, a full session map,
# a thousand control clients with one stalled among them, /metrics readers that stall. In every
# case enforcement carries on and the daemon (or the one restarted in its place) still answers
# `mtuguardctl status`. docs/reliability.md says what the agent promises in each case.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn [XDP]     |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    ping -M do -s 1390 --> session 10.8.0.5: DTLS 1418, TLS 1347     ping -M do -s 1400
#    <-- frag-needed 1347   (iface_recreated: session 192.0.2.10,  --> toward the server
#                            MTU 1300, enforced on gw-vpn)          <-- frag-needed 1300
#    bpffs: $MG_TMP/bpffs/mtuguard (pins), control socket $MG_TMP/control.sock (mtuguardctl)
#
# Tests (one function each; name them on the command line to run only those):
#   sigkill_burst     SIGKILL in the middle of 16 clients' session adds, replacements and
#                     transport flips; after the restart every session is wholly old or wholly
#                     new (control socket and the pinned map read with bpftool agree), every
#                     acknowledged change is there, the daemon's counts match the map
#   bpffs_missing     no bpffs on /sys/fs/bpf in the daemon's mount namespace: it mounts one and
#                     enforces; a --pin-path on another filesystem, or no right to mount: exit 1,
#                     the message names the path, nothing attached
#   iface_recreated   gw-in deleted: logged, status says so; gw-vpn keeps enforcing; gw-in
#                     re-created with the same name: re-attached within 5 s, frag-needed again,
#                     mtuguard_interface_reattach_total{interface="gw-in"} +1 exactly (twice)
#   client_iface_later --client-iface mg-late0 that does not exist at the start: the daemon starts
#                     and says it waits (status: not present, not attached, metric 0); the tun
#                     device created: XDP and the tc clamp attached within 5 s (metric 1)
#   map_full          --max-sessions 1000 filled; the next add: exit 1, the message names the
#                     limit; the 1000 keep enforcing; del then add works
#   control_flood     1000 concurrent status clients and one stalled half-way through a request:
#                     all answered, the stalled one closed after the 10 s idle timeout, oversize
#                     pings answered with frag-needed throughout
#   slow_metrics      /metrics readers that take 1 byte a second, or connect and send nothing:
#                     other scrapes answer within 2 s, the control socket and enforcement carry
#                     on, SIGTERM stops the daemon within 5 s
#
# Run as root: tests/e2e/faults_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TLS_MTU=1347
DTLS_MTU=1418
SESSION4="$MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=tls"
METRICS_PORT=9784

# fresh_state: what an earlier test may have left that mg_reset does not know about.
fresh_state()
{
    rm -rf "$(pin_dir)"
    ip -n "$NS_GATEWAY" link set dev gw-in xdp off 2>/dev/null || true
    ip -n "$NS_CLIENT" link set dev cli0 xdp off 2>/dev/null || true
    mg_flush_pmtu
}

# status_json EXPRESSION: evaluates EXPRESSION over `mtuguardctl -o json status`.
status_json()
{
    ctl_ok -o json status
    json_get "$1" "$CTL_OUT"
}

# --- SIGKILL in the middle of a burst of session changes --------------------------------------

BURST="$(dirname "$0")/session_burst.py"

test_sigkill_burst()
{
    local dir="$MG_TMP/burst" args out total acked check g
    fresh_state
    mkdir -p "$dir"
    "$MG_PYTHON" "$BURST" plan "$dir"
    # The seed's session answers pings; 400 static sessions get their transport switched.
    echo "session = $SESSION4" >>"$dir/static.conf"
    args=(--config "$dir/static.conf" --iface gw-in --max-sessions 4096)
    mg_daemon_start "${args[@]}"
    ctl_ok session add --file "$dir/preload.txt"
    mg_assert_eq "sessions before the burst (401 static + 1200 added)" 1601 \
        "$(status_json 'd["sessions"]["exact"]')"

    # 2004 changes from 16 clients at once; SIGKILL once 800 are acknowledged.
    out=$("$MG_PYTHON" "$BURST" burst "$dir" "$MG_TMP/control.sock" "$MG_DAEMON_PID" 800) ||
        mg_fail "the burst failed: $out"
    { mg_wait_exit "$MG_DAEMON_PID" 10; } 2>/dev/null
    total=$(mg_kv total "$out")
    acked=$(mg_kv acked "$out")
    mg_note "burst: $acked of $total changes acknowledged when SIGKILL landed, $(mg_kv in_flight "$out") in flight, $(mg_kv refused "$out") refused $(mg_kv first_refusal "$out")"
    mg_assert_eq "status of the killed daemon" 137 "$MG_EXIT_STATUS"
    mg_assert_eq "changes the daemon refused" 0 "$(mg_kv refused "$out")"
    mg_assert_cmp "acknowledged changes when killed" "$acked" -ge 800
    mg_assert_cmp "acknowledged changes (the kill came mid-burst)" "$acked" -lt "$total"
    # With nobody running, the pinned link alone keeps enforcing.
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"

    mg_daemon_start "${args[@]}"
    mg_assert_match "restarted daemon's log" 're-adopting the maps pinned at' "$(cat "$MG_DAEMON_LOG")"
    ctl_ok -o json session list --limit 100000
    printf '%s\n' "$CTL_OUT" >"$dir/list.json"
    bpftool -j map dump pinned "$(pin_dir)/maps/mg_sessions4" >"$dir/map.json" ||
        mg_fail "bpftool map dump of $(pin_dir)/maps/mg_sessions4 failed"
    ctl_ok -o json status
    printf '%s\n' "$CTL_OUT" >"$dir/status.json"
    check=$("$MG_PYTHON" "$BURST" check "$dir" "$dir/list.json" "$dir/map.json" "$dir/status.json") ||
        mg_fail "checking the sessions failed: $check"
    for g in replace transport create delete batch; do
        mg_note "$(printf '%-9s' "$g"): $(mg_kv "$g.old" "$check") old, $(mg_kv "$g.new" "$check") new ($(mg_kv "$g.acked" "$check") acknowledged)"
    done
    mg_assert_eq "sessions with a mix of old and new fields (or a state never written); the first: $(mg_kv first_mixed "$check")" 0 \
        "$(mg_kv mixed "$check")"
    mg_assert_eq "acknowledged changes missing after the restart; the first: $(mg_kv first_acked_missing "$check")" 0 \
        "$(mg_kv acked_missing "$check")"
    mg_assert_eq "sessions where session list and the kernel's map (bpftool) differ; the first: $(mg_kv first_list_vs_map "$check")" 0 \
        "$(mg_kv list_vs_map "$check")"
    mg_assert_eq "status counts (exact, dtls, tls) against the listed sessions" \
        "$(mg_kv listed_counts "$check")" "$(mg_kv status_counts "$check")"
    mg_note "after the restart: $(mg_kv map_entries "$check") sessions in the pinned map, none mixed, every acknowledged change there, status counts $(mg_kv status_counts "$check")"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- no bpf filesystem where the pins go --------------------------------------------------------

# The daemon in a mount namespace of its own in which /sys/fs/bpf is not a bpffs ("$@" are more
# wrappers, e.g. setpriv).
without_bpffs() { MG_DAEMON_WRAP=(unshare -m --propagation private sh -c 'umount /sys/fs/bpf 2>/dev/null; exec "$@"' without-bpffs "$@"); }

test_bpffs_missing()
{
    local pins="/sys/fs/bpf/$MG_RUN_ID" inside log
    fresh_state

    # 1. The default place, unmounted: the daemon mounts bpffs there itself and says what that means.
    without_bpffs
    mg_daemon_start --iface gw-in --session "$SESSION4" --pin-path "$pins"
    MG_DAEMON_WRAP=()
    mg_assert_match "its log" 'warning: mounted a bpf filesystem on /sys/fs/bpf;.*the pins end with it' \
        "$(cat "$MG_DAEMON_LOG")"
    inside=$(nsenter -t "$MG_DAEMON_PID" -m sh -c "stat -f -c %T /sys/fs/bpf; ls $pins/links")
    mg_note "inside the daemon's mount namespace: /sys/fs/bpf is $(echo "$inside" | head -n 1), links pinned: $(echo "$inside" | tail -n +2 | tr '\n' ' ')"
    mg_assert_eq "filesystem type of /sys/fs/bpf and the pinned links, inside" "bpf_fs gw-in" "$(printf '%s\n' "$inside" | tr '\n' ' ' | sed 's/ $//')"
    [ ! -e "$pins" ] || mg_fail "$pins exists outside the daemon's mount namespace"
    mg_assert_eq "status: pin path" "$pins" "$(status_json 'd["pin_path"]')"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "XDP attachments in the gateway after the stop" "" "$(mg_gateway_xdp)"

    # 2. The same without the right to mount (CAP_SYS_ADMIN, as under the shipped unit): refused.
    without_bpffs setpriv --bounding-set -sys_admin
    mg_daemon_run --iface gw-in --session "$SESSION4" --pin-path "$pins"
    MG_DAEMON_WRAP=()
    log=$(cat "$MG_DAEMON_LOG")
    mg_note "no CAP_SYS_ADMIN: exit $MG_DAEMON_STATUS: $log"
    mg_assert_eq "mtuguardd exit status without bpffs and without the right to mount it" 1 "$MG_DAEMON_STATUS"
    mg_assert_match "its message" \
        "error: --pin-path $pins: not on a bpf filesystem; mounting one on /sys/fs/bpf failed: Operation not permitted" "$log"
    mg_assert_no_match "its log" 'enforcing' "$log"
    mg_assert_eq "XDP attachments in the gateway" "" "$(mg_gateway_xdp)"

    # 3. A --pin-path on another filesystem: refused, not mounted over.
    mkdir -p "$MG_TMP/not-bpffs"
    mg_daemon_run --iface gw-in --session "$SESSION4" --pin-path "$MG_TMP/not-bpffs/mtuguard"
    log=$(cat "$MG_DAEMON_LOG")
    mg_note "--pin-path on $(stat -f -c %T "$MG_TMP/not-bpffs"): exit $MG_DAEMON_STATUS: $log"
    mg_assert_eq "mtuguardd exit status with --pin-path on $(stat -f -c %T "$MG_TMP/not-bpffs")" 1 "$MG_DAEMON_STATUS"
    mg_assert_match "its message" "error: --pin-path $MG_TMP/not-bpffs/mtuguard: not on a bpf filesystem \\(mount one" "$log"
    mg_assert_eq "XDP attachments in the gateway" "" "$(mg_gateway_xdp)"
    [ ! -e "$MG_TMP/not-bpffs/mtuguard" ] || mg_fail "the refused daemon created $MG_TMP/not-bpffs/mtuguard"
}

# --- a full session map -------------------------------------------------------------------------

MAP_FULL_SERIES='mtuguard_control_requests_total{result="map_full"}'

test_map_full()
{
    local i m0 m1 list
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --max-sessions 1000 --metrics-listen "127.0.0.1:$METRICS_PORT"
    # 999 more: 10.9.0.1 ... 10.9.3.231.
    for i in $(seq 1 999); do
        echo "10.9.$((i / 256)).$((i % 256)),dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=dtls"
    done >"$MG_TMP/fill.txt"
    ctl_ok session add --file "$MG_TMP/fill.txt"
    mg_assert_eq "status: map use" "1000 of 1000" \
        "$(status_json 'str(d["sessions"]["exact"]) + " of " + str(d["sessions"]["capacity"])')"
    m0=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics"

    ctl session add 10.9.100.1 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    mg_note "1001st session: exit $CTL_STATUS: $CTL_ERR"
    mg_assert_eq "exit status of the 1001st session add" 1 "$CTL_STATUS"
    mg_assert_match "its message names the limit" \
        'session map full: 1000 sessions, the limit set by --max-sessions 1000; nothing was evicted' "$CTL_ERR"
    ctl session add 2001:db8:8::77 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    mg_assert_eq "exit status of an IPv6 session add on the full map" 1 "$CTL_STATUS"
    mg_assert_match "its message" 'session map full.*--max-sessions 1000' "$CTL_ERR"
    printf '%s\n' "10.9.100.2,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU" "10.9.100.3,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU" \
        >"$MG_TMP/two.txt"
    ctl session add --file "$MG_TMP/two.txt"
    mg_assert_eq "exit status of a batch of 2 on the full map" 1 "$CTL_STATUS"
    mg_assert_match "its message" 'session map full: 1000 \+ 2 new sessions exceed --max-sessions 1000' "$CTL_ERR"

    # The 1000 are untouched and still enforce.
    ctl_ok -o json session list --limit 2000
    list=$CTL_OUT
    mg_assert_eq "sessions listed after the refusals" 1000 "$(json_get 'len(d["sessions"])' "$list")"
    mg_assert_eq "sessions of the refused adds listed" 0 \
        "$(json_get 'sum(1 for s in d["sessions"] if s["address"] in ("10.9.100.1", "10.9.100.2", "10.9.100.3", "2001:db8:8::77"))' "$list")"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    m1=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics"
    mg_assert_eq "$MAP_FULL_SERIES increase" 3 $(($(mg_metric "$m1" "$MAP_FULL_SERIES") - $(mg_metric "$m0" "$MAP_FULL_SERIES")))

    # Room made: the add goes through and the new session is enforced; the map is full again.
    ctl_ok session del 10.9.0.1
    ctl_ok session add 10.9.100.1 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    mg_assert_eq "session add after a del" "added 10.9.100.1,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU" "$CTL_OUT"
    ctl_ok -o json session list 10.9.100.1
    mg_assert_eq "the new session's effective MTU" "$TLS_MTU" "$(json_get 'd["sessions"][0]["effective_mtu"]' "$CTL_OUT")"
    ctl session add 10.9.100.2 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    mg_assert_eq "exit status of the next add (full again)" 1 "$CTL_STATUS"
    mg_assert_eq "status: map use" "1000 of 1000" \
        "$(status_json 'str(d["sessions"]["exact"]) + " of " + str(d["sessions"]["capacity"])')"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_note "full at 1000: 3 adds refused (map_full +3), the 1000 unchanged and enforcing; del + add went through"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- a thousand control clients and a stalled one --------------------------------------------

# oversize_stream COUNT LOG: COUNT 1418-byte DF pings toward the client, 50 ms apart, in the
# background (sets STREAM_PID); the route's MTU is locked at 1500 first, so frag-needed does not
# make the server send smaller: every one of them must be answered by the gateway.
oversize_stream()
{
    ip -n "$NS_SERVER" route replace 10.8.0.0/24 via "$MG_GW_IN4" mtu lock 1500
    mg_flush_pmtu
    mg_ns_bg "$NS_SERVER" "$2" timeout 60 ping -n -M "do" -s 1390 -i 0.05 -c "$1" -W 2 "$MG_CLIENT4"
    STREAM_PID=$MG_BG_PID
}

# oversize_stream_answered COUNT LOG: the stream ended, each of its COUNT pings answered with
# frag-needed mtu 1347 and none with an echo reply.
oversize_stream_answered()
{
    local errors
    mg_wait_exit "$STREAM_PID" 60
    ip -n "$NS_SERVER" route del 10.8.0.0/24
    errors=$(grep -cE "Frag needed and DF set \\(mtu = $TLS_MTU\\)" "$2" || true)
    mg_note "oversize pings meanwhile: $(grep transmitted "$2"); $errors answered with frag-needed"
    mg_assert_match "oversize ping stream" "^$1 packets transmitted, 0 received, \\+$1 errors" "$(grep transmitted "$2")"
    mg_assert_eq "frag-needed (mtu $TLS_MTU) answers in the stream" "$1" "$errors"
}

test_control_flood()
{
    local out
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4"
    oversize_stream 200 "$MG_TMP/flood-pings.log"

    out=$("$MG_PYTHON" "$(dirname "$0")/control_flood.py" "$MG_TMP/control.sock" 1000) ||
        mg_fail "control_flood.py failed: $out"
    mg_note "1000 concurrent status clients: $(mg_kv answered "$out") answered in $(mg_kv seconds "$out") s $(mg_kv first_failure "$out")"
    mg_note "the client stalled half-way through its request: closed ($(mg_kv stalled_closed "$out")) $(mg_kv stalled_seconds "$out") s after its last byte, $(mg_kv stalled_bytes "$out") bytes received"
    mg_assert_eq "concurrent clients answered" 1000 "$(mg_kv answered "$out")"
    mg_assert_eq "the stalled connection was closed by the daemon" eof "$(mg_kv stalled_closed "$out")"
    mg_assert_eq "bytes the stalled client received (no answer to half a request)" 0 "$(mg_kv stalled_bytes "$out")"
    # The idle timeout is 10 s; the loop looks at least once a second.
    mg_assert_eq "stalled client closed between 10 and 12 s after its last byte" 1 \
        "$(awk -v s="$(mg_kv stalled_seconds "$out")" 'BEGIN { print (s >= 10.0 && s <= 12.0) ? 1 : 0 }')"

    ctl_ok status
    mg_assert_match "mtuguardctl status afterwards" "interface +gw-in .*: attached" "$CTL_OUT"
    oversize_stream_answered 200 "$MG_TMP/flood-pings.log"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- /metrics readers that stall ---------------------------------------------------------------

STALL="$(dirname "$0")/metrics_stall.py"

# stall_value KEY: from the stalling clients' report.
stall_value() { sed -n "s/^$1=//p" "$MG_TMP/stall.ready"; }
silent_dropped_at_least() { [ -f "$MG_TMP/stall.ready" ] && [ "$(stall_value silent_reconnects)" -ge "$1" ]; }

test_slow_metrics()
{
    local out t0 t1 bytes0
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --metrics-listen "127.0.0.1:$METRICS_PORT"
    # Four readers taking a byte a second and four clients that send nothing (and come back
    # whenever they are dropped): as many as the HTTP server has threads, twice over.
    rm -f "$MG_TMP/stall.ready"
    mg_ns_bg "$NS_GATEWAY" "$MG_TMP/stall.log" "$MG_PYTHON" "$STALL" hold 127.0.0.1 "$METRICS_PORT" 4 4 \
        "$MG_TMP/stall.ready"
    mg_wait_for 10 "the slow readers have their first byte" test -f "$MG_TMP/stall.ready"
    bytes0=$(stall_value slow_bytes)

    out=$(ip netns exec "$NS_GATEWAY" "$MG_PYTHON" "$STALL" scrape 127.0.0.1 "$METRICS_PORT" 8 10)
    mg_note "8 scrapes among the stalled clients: $(mg_kv ok "$out") answered, the slowest in $(mg_kv max_seconds "$out") s $(mg_kv first_failure "$out")"
    mg_assert_eq "scrapes answered among the stalled clients" 8 "$(mg_kv ok "$out")"
    # A stalled client holds a server thread for at most 2 s (MetricsServer::stall_timeout_ms).
    mg_assert_eq "every scrape answered within 3 s" 1 \
        "$(awk -v s="$(mg_kv max_seconds "$out")" 'BEGIN { print (s <= 3.0) ? 1 : 0 }')"
    mg_wait_for 10 "the server dropped silent clients" silent_dropped_at_least 4

    t0=$(date +%s%N)
    ctl_ok status
    t1=$(date +%s%N)
    mg_note "mtuguardctl status meanwhile: $(((t1 - t0) / 1000000)) ms"
    mg_assert_cmp "mtuguardctl status meanwhile (ms)" $(((t1 - t0) / 1000000)) -le 1000
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_assert_cmp "bytes the slow readers have taken (still reading)" "$(stall_value slow_bytes)" -gt "$bytes0"
    mg_note "slow readers took $(stall_value slow_bytes) bytes so far; silent clients dropped $(stall_value silent_reconnects) times"

    # SIGTERM with all of them still connected.
    t0=$(date +%s%N)
    mg_daemon_stop
    t1=$(date +%s%N)
    mg_note "SIGTERM to exit with the stalled clients connected: $(((t1 - t0) / 1000000)) ms"
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_cmp "SIGTERM to exit (ms)" $(((t1 - t0) / 1000000)) -le 5000
    mg_assert_eq "XDP attachments in the gateway after the stop" "" "$(mg_gateway_xdp)"
}

# --- an enforced interface deleted and re-created ----------------------------------------------

REATTACH_GW_IN='mtuguard_interface_reattach_total{interface="gw-in"}'
REATTACH_GW_VPN='mtuguard_interface_reattach_total{interface="gw-vpn"}'

# client_ping_enforced: a 1428-byte DF ping from the client toward the server is answered by
# gw-vpn's program with frag-needed mtu 1300 (the session 192.0.2.10 of this test).
client_ping_enforced()
{
    ip -n "$NS_CLIENT" route flush cache
    mg_ping "$NS_CLIENT" -M "do" -s 1400 -c 1 -W 2 "$MG_SERVER4"
    mg_assert_match "ping -M do -s 1400 from the client answered by gw-vpn" \
        "From ${MG_GW_VPN4//./\\.} icmp_seq=1 Frag needed and DF set \\(mtu = 1300\\)" "$PING_OUT"
}

# recreate_gw_in: gw-in (and with it srv0) deleted and made again, as the topology made them.
recreate_gw_in()
{
    ip -n "$NS_GATEWAY" link del gw-in
    mg_server_link_up
}

reattached_count() { grep -c 're-attached to gw-in' "$MG_DAEMON_LOG" || true; }
reattached_at_least() { [ "$(reattached_count)" -ge "$1" ]; }

test_iface_recreated()
{
    local m0 m1 id1 id2 ifindex1 ifindex2 sent0 sent1
    fresh_state
    # The client's side needs XDP for gw-vpn's XDP_TX frames (lib.sh).
    mg_attach_xdp_pass "$NS_CLIENT" cli0
    mg_daemon_start --iface gw-in --iface gw-vpn --session "$SESSION4" \
        --session "$MG_SERVER4,dtls-mtu=1300,tls-mtu=1300" --metrics-listen "127.0.0.1:$METRICS_PORT"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    client_ping_enforced
    m0=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics"
    mg_assert_eq "$REATTACH_GW_IN at start" 0 "$(mg_metric "$m0" "$REATTACH_GW_IN")"
    mg_assert_eq "$REATTACH_GW_VPN at start" 0 "$(mg_metric "$m0" "$REATTACH_GW_VPN")"
    sent0=$(mg_metric "$m0" 'mtuguard_oversize_packets_total{interface="gw-in",family="ipv4",action="icmp_sent"}')
    id1=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    ifindex1=$(status_json '[i["ifindex"] for i in d["interfaces"] if i["name"] == "gw-in"][0]')

    # Gone: logged, shown as detached, the other interface unaffected.
    ip -n "$NS_GATEWAY" link del gw-in
    mg_wait_for 5 "the daemon logs that gw-in went away" mg_log_has "gw-in went away \\(ifindex $ifindex1\\)"
    mg_note "$(grep 'went away' "$MG_DAEMON_LOG")"
    mg_assert_eq "status: gw-in present, attached" "False False" \
        "$(status_json '" ".join(str(i[k]) for i in d["interfaces"] if i["name"] == "gw-in" for k in ("present", "attached"))')"
    mg_assert_eq "status: gw-vpn attached" true \
        "$(status_json '[i["attached"] for i in d["interfaces"] if i["name"] == "gw-vpn"][0]')"
    m1=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics with gw-in gone"
    mg_assert_eq "program_attached for gw-in while it is gone" 0 \
        "$(mg_metric "$m1" 'mtuguard_program_attached{interface="gw-in",mode="native"}')"
    mg_assert_eq "the MSS clamp's program_attached for gw-in while it is gone" 0 \
        "$(mg_metric "$m1" 'mtuguard_program_attached{interface="gw-in",mode="tc"}')"
    client_ping_enforced
    mg_note "gw-in deleted: status and /metrics say detached, gw-vpn still answers with frag-needed 1300"

    # Back under the same name: attached again, in the same counter slot.
    mg_server_link_up
    mg_wait_for 5 "the daemon re-attaches to gw-in" mg_log_has 're-attached to gw-in'
    mg_wait_for 10 "carrier on every link" mg_links_up
    mg_note "$(grep 're-attached' "$MG_DAEMON_LOG")"
    id2=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    ifindex2=$(ip netns exec "$NS_GATEWAY" cat /sys/class/net/gw-in/ifindex)
    mg_assert_eq "the program on the new gw-in (the one that was on the old)" "$id1" "$id2"
    mg_assert_eq "status: gw-in present, attached, ifindex, reattaches" "True True $ifindex2 1" \
        "$(status_json '" ".join(str(i[k]) for i in d["interfaces"] if i["name"] == "gw-in" for k in ("present", "attached", "ifindex", "reattaches"))')"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    client_ping_enforced
    m1=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics after the re-attach"
    mg_assert_eq "$REATTACH_GW_IN after one re-creation" 1 "$(mg_metric "$m1" "$REATTACH_GW_IN")"
    mg_assert_eq "$REATTACH_GW_VPN" 0 "$(mg_metric "$m1" "$REATTACH_GW_VPN")"
    mg_assert_eq "program_attached for gw-in" 1 \
        "$(mg_metric "$m1" 'mtuguard_program_attached{interface="gw-in",mode="native"}')"
    # The tc programs come back with the XDP program: a tcx link on the new interface.
    mg_assert_eq "the MSS clamp's program_attached for gw-in" 1 \
        "$(mg_metric "$m1" 'mtuguard_program_attached{interface="gw-in",mode="tc"}')"
    mg_assert_match "status: the MSS clamp's hook on the new gw-in" '^(tcx|clsact)$' \
        "$(status_json '[i["mss_clamp"] for i in d["interfaces"] if i["name"] == "gw-in"][0]')"
    sent1=$(mg_metric "$m1" 'mtuguard_oversize_packets_total{interface="gw-in",family="ipv4",action="icmp_sent"}')
    mg_assert_eq "icmp_sent on gw-in continues in its slot (before + 1)" $((sent0 + 1)) "$sent1"
    mg_note "gw-in re-created (ifindex $ifindex1 -> $ifindex2): program $id2 attached, frag-needed again, reattach counter 0 -> 1, icmp_sent $sent0 -> $sent1"

    # Deleted and re-created at once: however the messages arrive, one more re-attach.
    recreate_gw_in
    mg_wait_for 5 "the second re-attach" reattached_at_least 2
    mg_wait_for 10 "carrier on every link" mg_links_up
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    m1=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics after the second re-attach"
    mg_assert_eq "$REATTACH_GW_IN after two re-creations" 2 "$(mg_metric "$m1" "$REATTACH_GW_IN")"
    mg_assert_eq "re-attach log lines" 2 "$(reattached_count)"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "XDP attachments in the gateway after the stop" "" "$(mg_gateway_xdp)"
}

# --- a --client-iface that appears after the start -----------------------------------------------

# xdp_attached TEXT IF: mtuguard_program_attached of IF's XDP program (any mode but tc) in TEXT.
xdp_attached()
{
    printf '%s\n' "$1" | awk -v i="interface=\"$2\"" 'index($0, "mtuguard_program_attached{") == 1 && index($0, i) &&
        !index($0, "mode=\"tc\"") { printf "%d\n", $2 + 0.5; found = 1 } END { if (!found) print "none" }'
}

# ocserv makes its vpnsN with each user: a --client-iface named before it exists is waited for,
# not an exit 2, and attached (XDP and the tc clamp) when rtnetlink announces it.
test_client_iface_later()
{
    local m
    fresh_state
    mg_daemon_start --iface gw-in --client-iface mg-late0 --session "$SESSION4" \
        --metrics-listen "127.0.0.1:$METRICS_PORT"
    mg_assert_match "the start-up says it waits" '--client-iface mg-late0 does not exist yet: waiting for it' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_assert_eq "status of mg-late0 while it does not exist: present, attached, clamp" "False False none" \
        "$(status_json '" ".join(str(i[k]) for i in d["interfaces"] if i["name"] == "mg-late0" for k in ("present", "attached", "mss_clamp"))')"
    m=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics"
    mg_assert_eq "program_attached for mg-late0 while it does not exist" 0 "$(xdp_attached "$m" mg-late0)"

    ip -n "$NS_GATEWAY" tuntap add dev mg-late0 mode tun
    ip -n "$NS_GATEWAY" link set mg-late0 up
    mg_wait_for 5 "attached when it appears" mg_log_has 'attached to mg-late0, which appeared'
    mg_note "$(grep 'mg-late0' "$MG_DAEMON_LOG" | tr '\n' '|')"
    mg_assert_match "status of mg-late0 now: present, attached, clamp" '^True True (tcx|clsact)$' \
        "$(status_json '" ".join(str(i[k]) for i in d["interfaces"] if i["name"] == "mg-late0" for k in ("present", "attached", "mss_clamp"))')"
    m=$(mg_scrape "$METRICS_PORT") || mg_fail "no /metrics"
    mg_assert_eq "program_attached for mg-late0 now" 1 "$(xdp_attached "$m" mg-late0)"
    mg_assert_eq "the MSS clamp's program_attached for mg-late0 now" 1 \
        "$(mg_metric "$m" 'mtuguard_program_attached{interface="mg-late0",mode="tc"}')"
    mg_expect_frag_needed "$MG_GW_IN4" "$TLS_MTU" "$MG_CLIENT4"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    ip -n "$NS_GATEWAY" link del mg-late0
}

mg_tests sigkill_burst bpffs_missing iface_recreated client_iface_later map_full control_flood slow_metrics
mg_main "$@"
