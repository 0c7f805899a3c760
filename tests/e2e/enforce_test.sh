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
#   gro_native_on        the GRO matrix: XDP mode native or generic x GRO on gw-in on or off, the
#   gro_native_off       server's veth asked for TSO, a 5 MiB download (MSS clamping off): nothing
#   gro_generic_on       over 1347 reaches the client, every oversize packet counted was answered
#   gro_generic_off      (a TSO packet of oversize segments is one); without TSO at the sender every
#                        oversize segment is counted. Native: the sender loses TSO while a native
#                        program sits on its peer, GRO runs after the program. Generic: the kernel
#                        skips GRO, the sender's TSO packets cross the veth whole and are judged
#                        in tc by their segment size
##   xdp_tx_errors        srv0 without its XDP program: every frag-needed sent with XDP_TX is dropped
#                        by the veth; mtuguard_icmp_tx_errors_total rises one for one with icmp_sent,
#                        the daemon warns at start and as it rises, diagnose names gw-in; with the
#                        program back (and a restart) the count stays 0 and nothing is said
#   xdp_tx_peer_same_namespace  a veth pair inside the gateway: the peer is named in the warning;
#                        with xdp_pass on it, or in generic mode, nothing is said
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
    [[ $(mg_hash_entries "$family") == 0 ]] ||
        mg_fail "the client's session went to the hash (mg_sessions$family), not to its client pool"
    ctl_ok status
    mg_assert_match "status shows each client pool with its session" \
        'client pool 10\.8\.0\.0/24: 1 session\(s\) in 256 addresses' "$CTL_OUT"
    mg_assert_match "status shows the IPv6 pool prefix's client pool" \
        'client pool 2001:db8:8::/112: 1 session\(s\) in 65536 addresses' "$CTL_OUT"

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

# Oversize reasons of mtuguard_oversize_packets_total, as the stats JSON names them.
OVERSIZE_REASONS="fragmented ipv6_below_min monitored df_cleared dropped icmp_ratelimited icmp_failed icmp_sent"

# iface_counters IFACE: "reason=packets" lines of IFACE's IPv4 counters (mtuguardctl stats).
iface_counters()
{
    ctl_ok -o json stats
    json_get "'\\n'.join(f'{r}={c[\"packets\"]}' for i in d['interfaces'] if i['name'] == '$1'
        for r, c in i['counters'].get('ipv4', {}).items())" "$CTL_OUT"
}

# oversize_total COUNTERS: the sum of the oversize reasons in iface_counters' output.
oversize_total()
{
    local reason total=0 v
    for reason in $OVERSIZE_REASONS; do
        v=$(mg_kv "$reason" "$1")
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# oversize_segments PCAP MTU: the TCP segments over MTU in a capture at the sender, a TSO packet
# counted as the segments of a full MSS on the 1500-byte link it becomes (exact while the sender
# has not learned a smaller path MTU: the native cases, whose sender cannot use TSO).
oversize_segments()
{
    "$MG_PYTHON" - "$1" "$2" <<'PYTHON'
import struct, sys
data, mtu = open(sys.argv[1], "rb").read(), int(sys.argv[2])
endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, segments = 24, 0
while off + 16 <= len(data):
    caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        continue
    ip = frame[14:]
    length, hlen = struct.unpack("!H", ip[2:4])[0], (ip[0] & 15) * 4
    headers = hlen + (ip[hlen + 12] >> 4) * 4
    if length > mtu:
        segments += -(-(length - headers) // (1500 - headers))
print(segments)
PYTHON
}

# offloads NS IFACE: the segmentation and GRO settings of IFACE, on one line.
offloads()
{
    ip netns exec "$1" ethtool -k "$2" | grep -E \
        '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' |
        sed 's/-offload//' | tr -s '\n\t' '  '
}

# check_gro MODE GRO: a 5 MiB download (IPv4, MSS clamping off), the server's veth asked for TSO,
# GRO on gw-in as GRO says, mtuguard in XDP mode MODE: nothing over the session's MTU reaches the
# client, every oversize packet counted at gw-in was answered, and where the sender could not use
# TSO, every oversize segment it sent was counted.
check_gro()
{
    local mode=$1 gro=$2 before after result summary server sent counted answered errors tso
    local client_pcap="$MG_TMP/gro-client.pcap" server_pcap="$MG_TMP/gro-server.pcap"
    start_http_server
    ip netns exec "$NS_SERVER" ethtool -K srv0 tx on tso on gso on >/dev/null 2>&1 || true
    mg_daemon_start --iface gw-in --xdp-mode "$mode" --session "$SESSION4" \
        --icmp-rate 0 --icmp-rate-per-source 0 --mss-clamp off
    ip netns exec "$NS_GATEWAY" ethtool -K gw-in gro "$gro" >/dev/null
    mg_note "srv0: $(offloads "$NS_SERVER" srv0); gw-in: $(offloads "$NS_GATEWAY" gw-in)"
    mg_assert_match "GRO on gw-in" "receive: $gro" "$(offloads "$NS_GATEWAY" gw-in)"

    mg_capture_start "$NS_CLIENT" cli0 "$client_pcap" 128 "tcp src port $HTTP_PORT"
    local client_capture=$MG_CAPTURE_PID
    mg_capture_start "$NS_SERVER" srv0 "$server_pcap" 128 \
        "(icmp and icmp[0] == 3 and icmp[1] == 4) or (tcp src port $HTTP_PORT and ip[2:2] > $TLS_MTU)"
    local server_capture=$MG_CAPTURE_PID
    before=$(iface_counters gw-in)
    result=$(ip netns exec "$NS_CLIENT" timeout 40 curl -4 -sS --max-time 30 -o "$MG_TMP/gro-download" \
        -w '%{size_download} %{time_total}' "http://$MG_SERVER4:$HTTP_PORT/blob" 2>&1) ||
        mg_fail "curl failed: $result"
    mg_assert_eq "downloaded size" "$DOWNLOAD_BYTES" "${result%% *}"
    mg_capture_stop "$client_capture" "$client_pcap"
    mg_capture_stop "$server_capture" "$server_pcap"
    after=$(iface_counters gw-in)

    summary=$(mg_pcap_summary "$client_pcap" "$TLS_MTU")
    server=$(mg_pcap_summary "$server_pcap" "$TLS_MTU")
    sent=$(oversize_segments "$server_pcap" "$TLS_MTU")
    counted=$(($(oversize_total "$after") - $(oversize_total "$before")))
    answered=$(($(mg_kv icmp_sent "$after") - $(mg_kv icmp_sent "$before")))
    errors=$(mg_kv icmp_errors "$server")
    mg_note "curl: ${result#* } s; at the client: $(mg_kv packets "$summary") packets, largest $(mg_kv max_len "$summary"), $(mg_kv over "$summary") over $TLS_MTU"
    mg_note "the server sent $(mg_kv over "$server") oversize packets ($sent segments of 1448), got $errors ICMP errors; gw-in counted $counted oversize ($answered icmp_sent), aggregated +$(($(mg_kv aggregated "$after") - $(mg_kv aggregated "$before")))"
    mg_assert_eq "packets over $TLS_MTU bytes that reached the client" 0 "$(mg_kv over "$summary")"
    mg_assert_cmp "oversize packets counted at gw-in" "$counted" -ge 1
    mg_assert_eq "ICMP errors the server received vs icmp_sent counted at gw-in" "$answered" "$errors"
    tso=$(offloads "$NS_SERVER" srv0)
    if [[ $tso == *"tcp-segmentation: off"* ]]; then
        mg_assert_eq "oversize packets counted at gw-in vs oversize segments the server sent" \
            "$sent" "$counted"
    fi
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_gro_native_on() { check_gro native on; }
test_gro_native_off() { check_gro native off; }
test_gro_generic_on() { check_gro generic on; }
test_gro_generic_off() { check_gro generic off; }

ICMP_SENT4='mtuguard_oversize_packets_total{interface="gw-in",family="ipv4",action="icmp_sent"}'
TX_ERRORS='mtuguard_icmp_tx_errors_total{interface="gw-in"}'

# A veth in native mode hands XDP_TX frames straight to its peer, which takes them only when it has
# an XDP program of its own; without one the kernel drops each (rx_queue_N_xdp_tx_errors) after the
# program counted it as sent. The topology's xdp_pass on srv0 is what makes the other tests work.
test_xdp_tx_errors()
{
    local n=5 sent0 errors0 sent errors
    ip -n "$NS_SERVER" link set dev srv0 xdpdrv off
    mg_assert_eq "XDP program on srv0" "" "$(mg_xdp_prog_id "$NS_SERVER" srv0)"
    mg_daemon_start --iface gw-in --xdp-mode native --session "$SESSION4" --icmp-rate 0 --icmp-rate-per-source 0
    mg_note "$(grep -E 'gw-in: a veth' "$MG_DAEMON_LOG" || true)"
    mg_assert_match "start-up warning: gw-in, its peer srv0, the two cures" \
        'warning.*gw-in: a veth in native XDP mode whose peer srv0 \(ifindex [0-9]+, in another network namespace\) has no XDP program: .*--xdp-mode generic, or attach an XDP program to the peer' \
        "$(cat "$MG_DAEMON_LOG")"

    sent0=$(mg_series "$ICMP_SENT4")
    errors0=$(mg_series "$TX_ERRORS")
    mg_assert_eq "$TX_ERRORS at start (it counts from the attach)" 0 "$errors0"
    local i lost=0
    for i in $(seq "$n"); do
        mg_flush_pmtu
        ping_server -4 -M "do" -s 1390 -c 1 -W 1 "$MG_CLIENT4"
        case $PING_OUT in *"Frag needed"*) ;; *) lost=$((lost + 1)) ;; esac
    done
    sent=$(($(mg_series "$ICMP_SENT4") - sent0))
    errors=$(($(mg_series "$TX_ERRORS") - errors0))
    mg_note "$n oversize pings: icmp_sent +$sent, icmp_tx_errors +$errors, $lost pings without frag-needed"
    mg_assert_eq "frag-needed counted as sent" "$n" "$sent"
    mg_assert_eq "frag-needed the driver dropped (icmp_tx_errors) vs sent" "$sent" "$errors"
    mg_assert_eq "pings that got no frag-needed" "$n" "$lost"

    mg_wait_for 5 "the daemon warns that the count rose" \
        mg_log_has 'warning.*gw-in: [0-9]+ ICMP error\(s\) sent with XDP_TX were dropped by the driver'
    ctl_ok -o json stats
    mg_assert_eq "icmp_tx_errors of gw-in in stats" "$((errors0 + errors))" \
        "$(json_get '[i["icmp_tx_errors"] for i in d["interfaces"] if i["name"] == "gw-in"][0]' "$CTL_OUT")"
    ctl_ok stats
    mg_assert_match "stats, as text" "icmp_tx_errors +$errors  ICMP errors the driver dropped" "$CTL_OUT"
    ctl_ok status
    mg_assert_match "status, as text" "interface   gw-in .*, $errors ICMP errors dropped by the driver" "$CTL_OUT"
    ctl_ok -o json status
    mg_assert_eq "icmp_tx_errors of gw-in in status" "$errors" \
        "$(json_get '[i["icmp_tx_errors"] for i in d["interfaces"] if i["name"] == "gw-in"][0]' "$CTL_OUT")"
    ctl diagnose
    mg_assert_eq "diagnose exit status (a problem named)" 3 "$CTL_STATUS"
    mg_note "$(printf '%s\n' "$CTL_OUT" | grep -A1 XDP_TX || true)"
    mg_assert_match "diagnose names gw-in and the count" \
        "problem: gw-in: $((errors0 + errors)) ICMP errors sent with XDP_TX were dropped by the driver" "$CTL_OUT"
    mg_assert_match "and the cures" 'the peer needs an XDP program .*--xdp-mode generic' "$CTL_OUT"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"

    # The peer's program back: the same pings are answered, nothing lost, nothing said.
    mg_attach_xdp_pass "$NS_SERVER" srv0
    mg_daemon_start --iface gw-in --xdp-mode native --session "$SESSION4" --icmp-rate 0 --icmp-rate-per-source 0
    sent0=$(mg_series "$ICMP_SENT4")
    errors0=$(mg_series "$TX_ERRORS")
    # The veth still counts the errors lost above; the daemon's series starts from its attach.
    mg_assert_eq "$TX_ERRORS at start, with the driver's earlier losses on record" 0 "$errors0"
    lost=0
    for i in $(seq "$n"); do
        mg_flush_pmtu
        ping_server -4 -M "do" -s 1390 -c 1 -W 1 "$MG_CLIENT4"
        case $PING_OUT in *"Frag needed and DF set (mtu = $TLS_MTU)"*) ;; *) lost=$((lost + 1)) ;; esac
    done
    sleep 2 # two of the daemon's ticks, so a rise would have been warned about
    sent=$(($(mg_series "$ICMP_SENT4") - sent0))
    errors=$(($(mg_series "$TX_ERRORS") - errors0))
    mg_note "with xdp_pass on srv0: icmp_sent +$sent, icmp_tx_errors +$errors, $lost pings without frag-needed"
    mg_assert_eq "frag-needed counted as sent" "$n" "$sent"
    mg_assert_eq "frag-needed the driver dropped" 0 "$errors"
    mg_assert_eq "$TX_ERRORS after the pings" 0 "$(mg_series "$TX_ERRORS")"
    mg_assert_eq "pings that got no frag-needed" 0 "$lost"
    mg_assert_no_match "the daemon's log" 'XDP_TX|no XDP program' "$(cat "$MG_DAEMON_LOG")"
    ctl diagnose # exit 3 all the same: the session on TLS got oversize packets (a warning)
    mg_assert_no_match "diagnose" 'XDP_TX' "$CTL_OUT"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# The peer in the daemon's own namespace is looked at directly: a veth pair inside the gateway.
# Native mode without a program on the peer is warned about, naming it; with one, or in generic
# mode, nothing is said.
test_xdp_tx_peer_same_namespace()
{
    ip -n "$NS_GATEWAY" link del mg-tx0 2>/dev/null || true
    ip -n "$NS_GATEWAY" link add mg-tx0 type veth peer name mg-tx1
    ip -n "$NS_GATEWAY" link set mg-tx0 up
    ip -n "$NS_GATEWAY" link set mg-tx1 up
    local peer_index
    peer_index=$(ip -n "$NS_GATEWAY" -o link show dev mg-tx1 | cut -d: -f1)

    mg_daemon_start --iface gw-in --iface mg-tx0 --xdp-mode native --session "$SESSION4"
    mg_assert_match "warning names mg-tx0 and its peer mg-tx1 in this namespace" \
        "warning.*mg-tx0: a veth in native XDP mode whose peer mg-tx1 \\(ifindex $peer_index\\) has no XDP program" \
        "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop

    mg_attach_xdp_pass "$NS_GATEWAY" mg-tx1
    mg_daemon_start --iface gw-in --iface mg-tx0 --xdp-mode native --session "$SESSION4"
    mg_assert_no_match "the daemon's log with xdp_pass on mg-tx1" 'no XDP program|could not be checked' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
    ip -n "$NS_GATEWAY" link set dev mg-tx1 xdpdrv off

    mg_daemon_start --iface gw-in --iface mg-tx0 --xdp-mode generic --session "$SESSION4"
    mg_assert_no_match "the daemon's log in generic mode" 'no XDP program|could not be checked' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
    ip -n "$NS_GATEWAY" link del mg-tx0
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

mg_tests ping_ipv4 ping_ipv6 tcp_download_ipv4 tcp_download_ipv6 gro_native_on gro_native_off \
    gro_generic_on gro_generic_off xdp_tx_errors xdp_tx_peer_same_namespace stop_detaches \
    bad_iface_attaches_nothing failed_attach_unwinds failed_readopt_keeps_enforcement
mg_main "$@"
