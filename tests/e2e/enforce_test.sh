#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: mtuguardd holds traffic toward a VPN client to its tunnel's current MTU, with real
# ping, curl and TCP through real veth pairs, and leaves nothing behind when it stops or fails.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   | 2001:db8:1::10   |   | 2001:db8:1::1      2001:db8:8::1    |   | 2001:db8:8::5    |
#   +------------------+   +-------------------------------------+   +------------------+
#    http.server :8080      mtuguardd --iface gw-in                   curl
#    ping -M do  ------>    session 10.8.0.5 / 2001:db8:8::5:         tcpdump: nothing
#    <----- ICMP error      DTLS MTU 1418, TLS MTU 1347, on TLS       over 1347 arrives
#    frag-needed / PTB, MTU 1347
#
# All links are MTU 1500, so the only thing holding packets to 1347 bytes is mtuguard.
# Tests (one function each):
#   ping_ipv4            1347-byte DF ping passes, 1348 gets frag-needed mtu 1347, PMTU learned
#   ping_ipv6            the same with ICMPv6 Packet Too Big
#   tcp_download_ipv4    5 MiB over HTTP (MSS clamping off): intact, nothing over 1347 reaches the client, every ICMP
#   tcp_download_ipv6    error quotes an oversize packet and there is one per oversize packet;
#                        the session in a client pool: IPv4 --client-pool, IPv6 its pool
#                        prefix's range by default (the pings' sessions are hashed)
#   stop_detaches        SIGTERM: exit 0, no XDP program left on any gateway interface
#   bad_iface_attaches_nothing   a nonexistent --iface: exit 2, nothing attached
#   failed_attach_unwinds        the second --iface is taken: exit 1, the first is detached again
#   failed_readopt_keeps_enforcement  the same over pinned state: what was enforced stays as it was
#
# Run as root: tests/e2e/enforce_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TLS_MTU=1347
SESSION4="$MG_CLIENT4,dtls-mtu=1418,tls-mtu=$TLS_MTU,transport=tls"
SESSION6="$MG_CLIENT6,dtls-mtu=1418,tls-mtu=$TLS_MTU,transport=tls"
DOWNLOAD_BYTES=$((5 * 1024 * 1024))
HTTP_PORT=8080

# ping_server ARGS...: ping from the server, at most 20 s; sets PING_OUT and PING_STATUS.
ping_server()
{
    PING_STATUS=0
    PING_OUT=$(ip netns exec "$NS_SERVER" timeout 20 ping -n "$@" 2>&1) || PING_STATUS=$?
}

# check_ping FAMILY_FLAG CLIENT FITTING_SIZE ERROR_REGEX: the ping test for one family.
check_ping()
{
    local family=$1 client=$2 fits=$3 error=$4 route
    mg_daemon_start --iface gw-in --session "$SESSION4" --session "$SESSION6"

    # Before anything was learned: exactly the MTU passes.
    ping_server "$family" -M "do" -s "$fits" -c 3 -i 0.2 -W 2 "$client"
    mg_note "ping -s $fits: $(printf '%s\n' "$PING_OUT" | grep -E 'transmitted' || true)"
    mg_assert_eq "ping -M do -s $fits (a $TLS_MTU-byte packet) exit status" 0 "$PING_STATUS"
    mg_assert_match "ping -M do -s $fits replies" ' 3 received' "$PING_OUT"

    # One byte more: the gateway answers, the server learns the MTU.
    ping_server "$family" -M "do" -s $((fits + 1)) -c 3 -i 0.2 -W 2 "$client"
    mg_note "ping -s $((fits + 1)): $(printf '%s\n' "$PING_OUT" | grep -E 'From|transmitted' |
        head -n 2 | tr '\n' ' ')"
    mg_assert_cmp "ping -M do -s $((fits + 1)) exit status" "$PING_STATUS" -ne 0
    mg_assert_match "ICMP error seen by ping -s $((fits + 1))" "$error" "$PING_OUT"
    mg_assert_match "ping -s $((fits + 1)) got no reply" ' 0 received' "$PING_OUT"

    route=$(ip -n "$NS_SERVER" "$family" route get "$client")
    mg_note "route get: $(printf '%s' "$route" | tr -s '\n ' ' ')"
    mg_assert_match "the server's path MTU toward $client" "mtu $TLS_MTU( |$)" "$route"

    # Once learned, full-size packets still flow.
    ping_server "$family" -M "do" -s "$fits" -c 2 -i 0.2 -W 2 "$client"
    mg_assert_match "ping -M do -s $fits after the PMTU was learned" ' 2 received' "$PING_OUT"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_ping_ipv4()
{
    # 1319 + 8 ICMP + 20 IP = 1347
    check_ping -4 "$MG_CLIENT4" 1319 \
        "From ${MG_GW_IN4//./\\.} icmp_seq=1 Frag needed and DF set \\(mtu = $TLS_MTU\\)"
}

test_ping_ipv6()
{
    # 1299 + 8 ICMPv6 + 40 IPv6 = 1347
    check_ping -6 "$MG_CLIENT6" 1299 "From $MG_GW_IN6 icmp_seq=1 Packet too big: mtu=$TLS_MTU"
}

# start_http_server: python's http.server in the server namespace, on both families, serving a
# DOWNLOAD_BYTES random file; sets BLOB_SHA256.
start_http_server()
{
    mkdir -p "$MG_TMP/www"
    head -c "$DOWNLOAD_BYTES" /dev/urandom >"$MG_TMP/www/blob"
    BLOB_SHA256=$(sha256sum "$MG_TMP/www/blob" | cut -d' ' -f1)
    mg_ns_bg "$NS_SERVER" "$MG_TMP/http.log" "$MG_PYTHON" -m http.server --bind :: \
        --directory "$MG_TMP/www" "$HTTP_PORT"
    mg_wait_for 20 "http.server listening on :$HTTP_PORT" \
        sh -c "ip netns exec '$NS_SERVER' ss -Htln 'sport = :$HTTP_PORT' | grep -q LISTEN"
}

# check_download FAMILY SERVER_URL_HOST CLIENT GATEWAY_ADDR
check_download()
{
    local family=$1 host=$2 client=$3 gateway=$4 url result size seconds summary
    local client_pcap="$MG_TMP/client$family.pcap" server_pcap="$MG_TMP/server$family.pcap"
    url="http://$host:$HTTP_PORT/blob"

    start_http_server
    # The client's session in a client pool here (the pings find theirs in the hash): the
    # downloads go through the array lookup. IPv4's is named, IPv6's is its pool prefix's range.
    # MSS clamping off: on gw-in's egress it would lower the client's SYN to fit, and the server
    # would never send the oversize segments whose ICMP errors this test is about (the clamp has
    # blackhole_test.sh).
    mg_daemon_start --iface gw-in --session "$SESSION4" --session "$SESSION6" \
        --session "2001:db8:8::/112,dtls-mtu=1418,tls-mtu=$TLS_MTU" --client-pool 10.8.0.0/24 \
        --icmp-rate 0 --icmp-rate-per-source 0 --mss-clamp off
    local pool
    for pool in 10.8.0.0/24 2001:db8:8::/112; do
        mg_log_has "client pool $pool: " || mg_fail "the daemon did not log its client pool $pool:
$(sed 's/^/    | /' "$MG_DAEMON_LOG")"
    done
    ! bpftool map getnext pinned "$MG_TMP/bpffs/mtuguard/maps/mg_sessions$family" >/dev/null 2>&1 ||
        mg_fail "the client's session went to the hash (mg_sessions$family), not to its client pool"

    # Everything of the transfer that reaches the client, and on the server the ICMP errors it
    # gets and the oversize packets it sends toward the client. Headers are enough: lengths are
    # read from the IP header, and 128 bytes hold the header an ICMP error quotes.
    mg_capture_start "$NS_CLIENT" cli0 "$client_pcap" 128 "tcp port $HTTP_PORT"
    local client_capture=$MG_CAPTURE_PID
    mg_capture_start "$NS_SERVER" srv0 "$server_pcap" 128 \
        "(icmp and icmp[0] == 3 and icmp[1] == 4) or (icmp6 and ip6[40] == 2) or
         (tcp src port $HTTP_PORT and (ip[2:2] > $TLS_MTU or (ip6 and ip6[4:2] > $((TLS_MTU - 40)))))"
    local server_capture=$MG_CAPTURE_PID

    result=$(ip netns exec "$NS_CLIENT" timeout 40 curl -"$family" -gsS --max-time 30 \
        -o "$MG_TMP/download$family" -w '%{size_download} %{time_total}' "$url" 2>&1) ||
        mg_fail "curl $url failed: $result"
    size=${result%% *}
    seconds=${result##* }
    mg_note "curl -$family $url: $size bytes in $seconds s"
    mg_assert_eq "downloaded size" "$DOWNLOAD_BYTES" "$size"
    mg_assert_eq "sha256 of the download" "$BLOB_SHA256" \
        "$(sha256sum "$MG_TMP/download$family" | cut -d' ' -f1)"

    mg_capture_stop "$client_capture" "$client_pcap"
    summary=$(mg_pcap_summary "$client_pcap" "$TLS_MTU")
    mg_note "at the client: $(mg_kv packets "$summary") packets, largest $(mg_kv max_len "$summary") bytes, $(mg_kv over "$summary") over $TLS_MTU"
    mg_assert_cmp "packets of the transfer captured at the client" \
        "$(mg_kv packets "$summary")" -ge $((DOWNLOAD_BYTES / TLS_MTU))
    mg_assert_eq "packets over $TLS_MTU bytes that reached the client" 0 "$(mg_kv over "$summary")"

    mg_capture_stop "$server_capture" "$server_pcap"
    summary=$(mg_pcap_summary "$server_pcap" "$TLS_MTU")
    local errors sent
    errors=$(mg_kv icmp_errors "$summary")
    sent=$(mg_kv over "$summary")
    mg_note "at the server: $sent oversize packets sent, $errors ICMP errors received (MTU $(mg_kv icmp_mtus "$summary"), from $(mg_kv icmp_sources "$summary"), shortest quoted packet $(mg_kv icmp_quote_min "$summary") bytes)"
    # The server starts with the link's MSS, so its first full segments are oversize and it must
    # have been told; with the rate limit off, every oversize packet is answered exactly once.
    mg_assert_cmp "ICMP errors the server received" "$errors" -ge 1
    mg_assert_eq "ICMP errors vs oversize packets the server sent" "$sent" "$errors"
    mg_assert_eq "MTU announced by every ICMP error" "$TLS_MTU" "$(mg_kv icmp_mtus "$summary")"
    mg_assert_eq "ICMP errors quoting a packet of at most $TLS_MTU bytes" 0 \
        "$(mg_kv icmp_quote_fit "$summary")"
    mg_assert_eq "source of the ICMP errors" "$gateway" "$(mg_kv icmp_sources "$summary")"

    mg_assert_match "the server's path MTU toward $client after the transfer" "mtu $TLS_MTU( |$)" \
        "$(ip -n "$NS_SERVER" -"$family" route get "$client")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_tcp_download_ipv4()
{
    check_download 4 "$MG_SERVER4" "$MG_CLIENT4" "$MG_GW_IN4"
}

test_tcp_download_ipv6()
{
    check_download 6 "[$MG_SERVER6]" "$MG_CLIENT6" "$MG_GW_IN6"
}

# gateway_xdp: every XDP attachment in the gateway namespace, by ip and by bpftool.
gateway_xdp()
{
    ip -n "$NS_GATEWAY" -d link show | grep -E 'prog/xdp|xdpgeneric|xdpdrv|xdpoffload|[ >]xdp ' || true
    ip netns exec "$NS_GATEWAY" bpftool net show | sed -n '/^xdp:/,/^$/p' | grep -v -e '^xdp:' -e '^$' || true
}

test_stop_detaches()
{
    local id
    mg_daemon_start --iface gw-in --session "$SESSION4" --session "$SESSION6"
    id=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_assert_match "XDP program on gw-in while running" '^[0-9]+$' "$id"
    mg_assert_eq "name of the program on gw-in" mtuguard_xdp "$(mg_xdp_prog_name "$id")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_match "mtuguardd log" 'stopping on' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP attachments in the gateway after the stop" "" "$(gateway_xdp)"
    # The kernel frees a program when its last reference goes, which may be a moment later.
    mg_wait_for 5 "program $id unloaded after the daemon exited" mg_prog_gone "$id"
}

test_bad_iface_attaches_nothing()
{
    mg_daemon_run --iface gw-in --iface nosuch0 --session "$SESSION4"
    mg_note "$(tr '\n' ' ' <"$MG_DAEMON_LOG")"
    mg_assert_eq "mtuguardd exit status with --iface nosuch0" 2 "$MG_DAEMON_STATUS"
    mg_assert_match "mtuguardd error message" 'nosuch0' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP attachments in the gateway" "" "$(gateway_xdp)"
}

# A daemon that re-adopts pinned state and then fails to attach (another program holds an
# interface it was given) leaves the enforcement it found exactly as it was: its settings,
# sessions and interface rows never reach the maps.
test_failed_readopt_keeps_enforcement()
{
    mg_daemon_start --iface gw-in --session "$SESSION4" --keep-attached
    mg_daemon_stop
    ping_server -4 -M "do" -s $((TLS_MTU - 28 + 1)) -c 1 -W 2 "$MG_CLIENT4"
    mg_assert_match "frag-needed from the state left pinned" "mtu = $TLS_MTU" "$PING_OUT"

    mg_attach_xdp_pass "$NS_GATEWAY" gw-vpn
    mg_daemon_run --iface gw-in --iface gw-vpn --on-oversize drop \
        --session "$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1300,transport=tls"
    mg_note "$(tr '\n' ' ' <"$MG_DAEMON_LOG")"
    mg_assert_eq "mtuguardd exit status when gw-vpn is taken" 1 "$MG_DAEMON_STATUS"
    ip -n "$NS_GATEWAY" link set dev gw-vpn xdpdrv off

    ip -n "$NS_SERVER" route flush cache # forget the path MTU learned above: ask the gateway again
    ping_server -4 -M "do" -s $((TLS_MTU - 28 + 1)) -c 1 -W 2 "$MG_CLIENT4"
    mg_assert_match "still frag-needed for MTU $TLS_MTU: settings and session as they were" \
        "mtu = $TLS_MTU" "$PING_OUT"
    ping_server -4 -M "do" -s $((TLS_MTU - 28)) -c 1 -W 2 "$MG_CLIENT4"
    mg_assert_match "a $TLS_MTU-byte packet still passes" ' 1 received' "$PING_OUT"

    # The pinned state goes with this test.
    mg_daemon_start --iface gw-in --session "$SESSION4"
    mg_daemon_stop
}

test_failed_attach_unwinds()
{
    local other
    # Someone else's program holds gw-vpn.
    mg_attach_xdp_pass "$NS_GATEWAY" gw-vpn
    other=$(mg_xdp_prog_id "$NS_GATEWAY" gw-vpn)
    mg_assert_match "xdp_pass on gw-vpn" '^[0-9]+$' "$other"

    mg_daemon_run --iface gw-in --iface gw-vpn --session "$SESSION4"
    mg_note "$(tr '\n' ' ' <"$MG_DAEMON_LOG")"
    mg_assert_eq "mtuguardd exit status when gw-vpn is taken" 1 "$MG_DAEMON_STATUS"
    mg_assert_match "mtuguardd error message" 'gw-vpn' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_no_match "mtuguardd log" 'enforcing' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP program on gw-in (the first --iface)" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_assert_eq "the other program on gw-vpn, untouched" "$other" \
        "$(mg_xdp_prog_id "$NS_GATEWAY" gw-vpn)"

    ip -n "$NS_GATEWAY" link set dev gw-vpn xdpdrv off
    mg_assert_eq "XDP attachments in the gateway" "" "$(gateway_xdp)"
}

mg_tests ping_ipv4 ping_ipv6 tcp_download_ipv4 tcp_download_ipv6 stop_detaches \
    bad_iface_attaches_nothing failed_attach_unwinds failed_readopt_keeps_enforcement
mg_main "$@"
