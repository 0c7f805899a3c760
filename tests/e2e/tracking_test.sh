#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: transport tracking and reconnect storms with simulated VPN clients. The client
# namespace also plays the client's public side: 198.51.100.7 talks to the "headend" at
# 198.51.100.1 on the gateway, TLS as a TCP connection to port 443 and DTLS as UDP datagrams to
# port 443 that the headend answers; mtuguardd watches gw-vpn with --outside-iface.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn [tc obs.] |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   |                  |   |                    198.51.100.1/24  |   | 198.51.100.7/24  |
#   +------------------+   +-------------------------------------+   +------------------+
#    ping -M do             headend stand-in: tcp/443 sink,           client stand-in: TLS
#                           udp/443 echo                              keepalive + DTLS every
#                           session 10.8.0.5: DTLS 1418, TLS 1347,    100 ms; nft output drop
#                           public=198.51.100.7                       of udp/443 = DTLS blocked
#
#   transport_follows_dtls  DTLS flowing: the session goes to DTLS and a 1400-byte DF ping passes;
#                           DTLS blocked with nftables: within --dtls-idle-timeout (2 s) + 1 s the
#                           session is on TLS and the same ping gets frag-needed mtu 1347, and
#                           diagnose names the mid-session block with its user and the time DTLS
#                           was last seen both ways; DTLS
#                           unblocked: back on DTLS within 3 s; transport changes counted (1 to
#                           tls, 2 to dtls) in /metrics; after the daemon stops nothing of it is
#                           left on gw-vpn
#   keepalives_do_not_flip  an idle client: only a TLS keepalive and a DTLS one every
#                           --dtls-idle-timeout (2 s), for two minutes: on DTLS throughout, no
#                           change to TLS
#   reconnect_storm         a client opening a new TLS connection every 4 s: the reconnects are
#                           counted and mtuguard_sessions_in_storm becomes 1 (--storm-reconnects 3)
#   early_reconnect         --early-reconnect 6 from a config file: the session added (with its
#                           public address) after the daemon's first 6 s is a connection; its client
#                           reconnects ~4 s later (early: +1 early, +1 connection, neither a storm
#                           nor periodic), then 10 s later (not early); SIGHUP with 30 in the file
#                           applies it: the next reconnect 10 s later is early; exact deltas in
#                           /metrics, tracking's line and EARLY column, diagnose naming it at 3 of 5
#
# Run as root: tests/e2e/tracking_test.sh [TEST...] (MTUGUARD_BUILD_DIR as for the other e2e tests).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PUBLIC_CLIENT=198.51.100.7
PUBLIC_GATEWAY=198.51.100.1
TIMEOUT=2
SESSION="$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1347,transport=tls,public=$PUBLIC_CLIENT,user=carol"


write_sims()
{
    # The headend's stand-in (gateway namespace) and the client's (client namespace).
    cat >"$MG_TMP/sim.py" <<'PY'
import socket, sys, threading, time
role, address = sys.argv[1], sys.argv[2]
if role == "headend":
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind((address, 443))
    tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((address, 443)); tcp.listen(64)
    def sink(conn):
        while conn.recv(65536): pass
    def accept():
        while True:
            threading.Thread(target=sink, args=(tcp.accept()[0],), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    while True:
        data, peer = udp.recvfrom(65536); udp.sendto(data, peer)
# client: one TLS connection with traffic every 100 ms (a new one every `reconnect` seconds when
# given, or at the seconds after its start listed as at=S,S,...), and a DTLS application-data
# record every 100 ms
# (keepalive=P: only a TLS keepalive and a DTLS one every P seconds, as an idle client's DPD)
mode = sys.argv[3] if len(sys.argv) > 3 else ""
plan = [float(s) for s in mode[3:].split(",")] if mode.startswith("at=") else []
period = float(mode[10:]) if mode.startswith("keepalive=") else 0.1
reconnect = float(mode) if mode and not plan and not mode.startswith("keepalive=") else 0
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.setblocking(False)
record = bytes([23, 0xfe, 0xfd]) + bytes(10) + bytes(64)
tls, opened, start = None, 0, time.time()
while True:
    due = plan and time.time() - start >= plan[0]
    if due:
        plan.pop(0)
    if tls is None or due or (reconnect and time.time() - opened >= reconnect):
        if tls: tls.close()
        tls = socket.create_connection((address, 443)); opened = time.time()
    tls.send(bytes(100 if period < 1 else 16))
    try: udp.sendto(record, (address, 443))
    except OSError: pass
    try:
        while udp.recv(65536): pass
    except OSError: pass
    time.sleep(period)
PY
}

start_headend()
{
    mg_ns_bg "$NS_GATEWAY" "$MG_TMP/headend.log" "$MG_PYTHON" "$MG_TMP/sim.py" headend "$PUBLIC_GATEWAY"
    sleep 0.3
}

start_client() # [RECONNECT-SECONDS | at=S,S,...]
{
    mg_ns_bg "$NS_CLIENT" "$MG_TMP/client.log" "$MG_PYTHON" "$MG_TMP/sim.py" client "$PUBLIC_GATEWAY" "$@"
}

start_sims() # [RECONNECT-SECONDS | at=S,S,...]
{
    start_headend
    start_client "$@"
}

dtls_seen_over() # N: the observation program counted more than N DTLS datagrams from the client
{
    ctl -o json tracking
    [ "$CTL_STATUS" -eq 0 ] && [ "$(json_get 'd["sessions"][0]["client"]["dtls_in"]' "$CTL_OUT")" -gt "$1" ]
}

transport_is() # WANTED
{
    ctl -o json session list "$MG_CLIENT4"
    [ "$CTL_STATUS" -eq 0 ] && [ "$(json_get 'd["sessions"][0]["transport"]' "$CTL_OUT")" = "$1" ]
}

# wait_transport WANTED SECONDS: waits, and says how long it took (ms).
wait_transport()
{
    local start=$(($(date +%s%N) / 1000000))
    mg_wait_for "$2" "session on $1" transport_is "$1"
    WAITED_MS=$(($(date +%s%N) / 1000000 - start))
    mg_note "on $1 after $WAITED_MS ms"
}

dtls_blocked() # on|off: the path drops the client's DTLS (nft in the client namespace)
{
    ip netns exec "$NS_CLIENT" nft delete table inet path 2>/dev/null || true
    [ "$1" = off ] && return 0
    ip netns exec "$NS_CLIENT" nft -f - <<'NFT'
table inet path {
    chain output { type filter hook output priority 0; udp dport 443 drop; }
}
NFT
}


test_transport_follows_dtls()
{
    start_sims
    mg_daemon_start --iface gw-in --outside-iface gw-vpn --dtls-idle-timeout "$TIMEOUT" --session "$SESSION"
    wait_transport dtls 5
    local out
    out=$(ip netns exec "$NS_SERVER" ping -c 1 -W 2 -M do -s 1372 "$MG_CLIENT4" 2>&1 || true)
    mg_assert_match "1400-byte ping on DTLS (MTU 1418)" "1 received" "$out"

    dtls_blocked on
    wait_transport tls $((TIMEOUT + 2))
    mg_assert_cmp "fallback noticed within the timeout + 1 s" "$WAITED_MS" -le $(((TIMEOUT + 1) * 1000))
    out=$(ip netns exec "$NS_SERVER" ping -c 1 -W 2 -M do -s 1372 "$MG_CLIENT4" 2>&1 || true)
    mg_assert_match "1400-byte ping on TLS" "Frag needed and DF set \\(mtu = 1347\\)" "$out"
    mg_assert_match "the change is logged with its evidence" "transport of $MG_CLIENT4 observed: TLS busy" "$(cat "$MG_DAEMON_LOG")"
    ctl diagnose
    mg_assert_match "diagnose names the block in the middle of the session, with its user" \
        "1 session\(s\) had DTLS and lost it mid-session, riding TLS since \($MG_CLIENT4 \(client $PUBLIC_CLIENT, user carol\): DTLS last seen both ways [0-9]+ s ago\)" \
        "$CTL_OUT"

    dtls_blocked off
    wait_transport dtls $((TIMEOUT + 2))
    mg_assert_cmp "DTLS back within the timeout + 1 s" "$WAITED_MS" -le $(((TIMEOUT + 1) * 1000))
    mg_assert_eq "changes to tls" "1" "$(mg_series 'mtuguard_transport_changes_total{to="tls"}')"
    mg_assert_eq "changes to dtls" "2" "$(mg_series 'mtuguard_transport_changes_total{to="dtls"}')"
    ctl_ok -o json tracking
    mg_assert_eq "tracked sessions" "1" "$(json_get 'd["total"]' "$CTL_OUT")"
    mg_assert_eq "observed transport" "dtls" "$(json_get 'd["sessions"][0]["observed_transport"]' "$CTL_OUT")"
    # The client sends a datagram every 100 ms, but DTLS was seen for only about a second so far
    # (before the block and since): the count keeps growing, so wait for it rather than race it.
    mg_wait_for 5 "more than 10 DTLS datagrams seen from the client" dtls_seen_over 10
    mg_daemon_stop
    mg_assert_no_match "the observation programs are gone" "mtuguard_observe" \
        "$(ip netns exec "$NS_GATEWAY" bpftool net show dev gw-vpn)"
}

in_storm() { [ "$(mg_series mtuguard_sessions_in_storm)" = 1 ]; }

changes_to() { mg_series "mtuguard_transport_changes_total{to=\"$1\"}"; }

test_keepalives_do_not_flip()
{
    start_sims "keepalive=$TIMEOUT"
    mg_daemon_start --iface gw-in --outside-iface gw-vpn --dtls-idle-timeout "$TIMEOUT" --session "$SESSION"
    wait_transport dtls 5
    local start=$SECONDS
    while [ $((SECONDS - start)) -lt 120 ]; do
        sleep 5
        [ "$(changes_to tls)" = 0 ] || break
    done
    mg_note "$(dtls_in_now) DTLS datagrams from the client in $((SECONDS - start)) s"
    mg_assert_eq "no change to TLS in two minutes of keepalives every --dtls-idle-timeout" 0 "$(changes_to tls)"
    mg_assert_eq "one change, to DTLS, at the start" 1 "$(changes_to dtls)"
    mg_assert_eq "still on DTLS" dtls "$(ctl -o json session list "$MG_CLIENT4"; json_get 'd["sessions"][0]["transport"]' "$CTL_OUT")"
    mg_daemon_stop
}

dtls_in_now() { ctl -o json tracking; json_get 'd["sessions"][0]["client"]["dtls_in"]' "$CTL_OUT"; }

test_reconnect_storm()
{
    start_sims 4
    mg_daemon_start --iface gw-in --outside-iface gw-vpn --storm-reconnects 3 --storm-window 60 --session "$SESSION"
    mg_assert_eq "no storm at first" "0" "$(mg_series mtuguard_sessions_in_storm)"
    mg_wait_for 30 "a reconnect storm" in_storm
    local reconnects
    reconnects=$(mg_series mtuguard_reconnects_total)
    mg_assert_cmp "reconnects counted" "$reconnects" -ge 3
    mg_note "storm after $reconnects reconnects"
    ctl_ok tracking
    mg_note "$CTL_OUT"
    mg_assert_match "tracking as a table: the header" 'ADDRESS +USER +CLIENT +SOURCE +OBSERVED +RECONNECTS +EARLY +FLAGS' "$CTL_OUT"
    mg_assert_match "tracking as a table: the session, whose, in its storm" "${SESSION%%,*} +carol +$PUBLIC_CLIENT .* STORM" "$CTL_OUT"
    ctl_ok -o json tracking
    mg_assert_eq "the session is in a storm" "True" "$(json_get 'd["sessions"][0]["storm"]' "$CTL_OUT" | sed 's/true/True/')"
    ctl diagnose
    mg_assert_eq "diagnose exit status (a storm is a problem)" 3 "$CTL_STATUS"
    mg_assert_match "diagnose names the storm" "reconnect storm" "$CTL_OUT"
    mg_daemon_stop
}

reconnects_are() { [ "$(mg_series mtuguard_reconnects_total)" = "$1" ]; }

# early_counts_are RECONNECTS EARLY CONNECTIONS: waits for the reconnect, then asserts all three.
early_counts_are()
{
    mg_wait_for 10 "$1 reconnect(s)" reconnects_are "$1"
    mg_assert_eq "early reconnects after $1 reconnect(s)" "$2" "$(mg_series mtuguard_early_reconnects_total)"
    mg_assert_eq "connections after $1 reconnect(s)" "$3" "$(mg_series mtuguard_client_connections_total)"
}

test_early_reconnect()
{
    local early=6
    printf 'early-reconnect = %s\n' "$early" >"$MG_TMP/early.conf"
    start_headend
    mg_daemon_start --config "$MG_TMP/early.conf" --iface gw-in --outside-iface gw-vpn
    mg_assert_eq "connections exported from the first scrape" 0 "$(mg_series mtuguard_client_connections_total)"
    mg_assert_eq "early reconnects exported from the first scrape" 0 "$(mg_series mtuguard_early_reconnects_total)"
    # A session found in the daemon's first --early-reconnect seconds may have been up long
    # before: only one added later is a connection seen starting.
    sleep "$early"
    start_client at=4,14,24,30
    ctl_ok session add "$MG_CLIENT4" --dtls-mtu 1418 --tls-mtu 1347 --public "$PUBLIC_CLIENT"
    mg_assert_eq "the session is a connection" 1 "$(mg_series mtuguard_client_connections_total)"
    early_counts_are 1 1 2 # ~4 s after the start
    mg_assert_eq "one reconnect is no storm" 0 "$(mg_series mtuguard_sessions_in_storm)"
    mg_assert_eq "one reconnect is not periodic" 0 "$(mg_series mtuguard_periodic_reconnect_sessions)"
    early_counts_are 2 1 3 # 10 s after the previous one: over 6 s

    printf 'early-reconnect = 30\n' >"$MG_TMP/early.conf"
    kill -HUP "$MG_DAEMON_PID"
    mg_wait_for 5 "the reload" grep -q 'reloaded: .*--early-reconnect 6 s -> 30 s' "$MG_DAEMON_LOG"
    early_counts_are 3 2 4 # 10 s again, now within 30 s
    early_counts_are 4 3 5 # 6 s

    ctl_ok tracking
    mg_note "$CTL_OUT"
    mg_assert_match "tracking's first line" "^reconnects 4, early 3 \(within 30 s of the start\) of 5 connections" "$CTL_OUT"
    mg_assert_match "tracking's EARLY column" "ADDRESS +USER +CLIENT +SOURCE +OBSERVED +RECONNECTS +EARLY" "$CTL_OUT"
    mg_assert_match "the session's early reconnects" "^$MG_CLIENT4 +- +$PUBLIC_CLIENT +mtuguardctl +[a-z-]+ +4 +3 " "$CTL_OUT"
    ctl diagnose
    mg_assert_eq "diagnose exit status (early reconnects are a warning)" 3 "$CTL_STATUS"
    mg_assert_match "diagnose names them" "3 of 5 client connections ended in a reconnect within 30 s of their start \(--early-reconnect\): $MG_CLIENT4 \(client $PUBLIC_CLIENT, 3\)" "$CTL_OUT"
    mg_daemon_stop
}

mg_setup()
{
    ip -n "$NS_GATEWAY" addr add "$PUBLIC_GATEWAY/24" dev gw-vpn
    ip -n "$NS_CLIENT" addr add "$PUBLIC_CLIENT/24" dev cli0
    write_sims
}

mg_tests transport_follows_dtls keepalives_do_not_flip reconnect_storm early_reconnect
mg_main "$@"
