#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: the black hole and its cures. The inside server's firewall drops every ICMP
# message, so PMTU discovery cannot work; a client on a TLS session (MTU 1347) downloads 5 MiB.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn [XDP]     |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    nft: input drops       mtuguardd --iface gw-in                   curl --max-time 20
#    all ICMP (tests 1-3)             --client-iface gw-vpn           tcpdump on cli0
#    http.server :808x      session 10.8.0.5: DTLS 1418, TLS 1347     (MTU 1418 in test 5)
#    tbf 1 MB/s (test 5)
#                           SYN-ACK toward the client: MSS clamped on gw-in  (to_client)
#                           SYN from the client:       MSS clamped on gw-vpn (from_client)
#
#                           (both in tc; with --iface gw-in alone, the client's SYN is clamped
#                           on its way out of gw-in instead)
#
# Every link has MTU 1500, so both ends announce MSS 1460 unless the gateway clamps it; with
# TCP timestamps a full segment is then a 1500-byte packet, and only mtuguard knows that 1347
# bytes is the limit. IPv4, and IPv6 where a test says so. cli0 and srv0 run without checksum
# offload, so TCP segments carry complete checksums as on a wire and both kernels verify them
# (but in software_checksums). Tests (one function each):
#   blackhole_drop_no_clamp   --on-oversize drop --mss-clamp off, ICMP filtered: the download
#                             stalls (incomplete after 20 s), the agent counted the drops
#   blackhole_icmp_filtered   the same with --on-oversize icmp: the agent answers, the firewall
#                             drops every frag-needed, the server learns nothing, it stalls too
#   clamp_cures_blackhole     --on-oversize drop --mss-clamp on, ICMP filtered: it completes,
#                             nothing over 1347 bytes reaches the client, the largest packet is
#                             exactly 1347 (MSS 1307 + 40), the SYN-ACK arrives with mss 1307,
#                             one SYN clamped in each direction, nothing dropped
#   clamp_from_the_inside     as clamp_cures_blackhole with --iface gw-in alone (no
#                             --client-iface): it completes; the client's SYN arrives at the
#                             server with mss 1307, clamped in tc on gw-in's egress
#   software_checksums        --iface gw-in alone, ICMP filtered, the server's checksum offload
#                             on (its segments leave CHECKSUM_PARTIAL), gw-vpn's off (the gateway
#                             finishes them in software), the client verifying: IPv4 and IPv6
#                             downloads complete with clamping on, no checksum error at the client
#   icmp_pmtud_cures          ICMP allowed, --on-oversize icmp --mss-clamp off: it completes
#                             through PMTU discovery, the server's route shows mtu 1347
#   transport_flip            ICMP allowed, session on DTLS (client adapter MTU 1418, as the
#                             AnyConnect client sets it), a download paced to 1 MB/s (~5 s); at
#                             ~2 s `mtuguardctl session transport 10.8.0.5 tls`: frag-needed 1347
#                             follows and the transfer completes; the longest gap in received
#                             data at the flip (client-side tcpdump timestamps) is reported
#
# Run as root: tests/e2e/blackhole_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not
# ./build; MTUGUARD_E2E_ONLY=REGEX runs the tests whose names match; MTUGUARD_E2E_DEBUG=1 opens a
# shell before the namespaces are removed). About 70 s, 40 of them the two stalls.
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DTLS_MTU=1418
TLS_MTU=1347
TLS_MSS=$((TLS_MTU - 40)) # 1307
DOWNLOAD_BYTES=$((5 * 1024 * 1024))
BOUND=20 # seconds a download may take (curl --max-time)
PACED_RATE=8mbit # the transport flip test's download: 1 MB/s, ~5 s

# --- helpers -----------------------------------------------------------------------------------

# firewall on|off: the server's nftables input chain drops all ICMP (ICMPv6 neighbour discovery
# excepted), or the table is gone.
firewall()
{
    ip netns exec "$NS_SERVER" nft delete table inet f 2>/dev/null || true
    [ "$1" = on ] || return 0
    ip netns exec "$NS_SERVER" nft -f - <<'NFT'
table inet f {
    chain in {
        type filter hook input priority 0;
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
        meta l4proto icmp counter drop
        meta l4proto ipv6-icmp drop
    }
}
NFT
}

# firewall_dropped: IPv4 ICMP messages the server's firewall dropped so far.
firewall_dropped()
{
    ip netns exec "$NS_SERVER" nft list chain inet f in |
        sed -n 's/.*l4proto icmp counter packets \([0-9]*\) bytes.*/\1/p'
}

# stats: the agent's counters as flat KEY=VALUE lines: IFACE.FAMILY.REASON=packets and
# IFACE.mss.DIRECTION.OUTCOME=SYNs (from `mtuguardctl -o json stats`), then
# session.oversize_packets / session.icmp_sent of the client's session.
stats()
{
    local json sessions
    ctl_ok -o json stats
    json=$CTL_OUT
    ctl_ok -o json session list "$MG_CLIENT4"
    sessions=$CTL_OUT
    "$MG_PYTHON" - "$json" "$sessions" <<'PYTHON'
import json, sys
stats, sessions = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for iface in stats["interfaces"]:
    name = iface["name"]
    for family, reasons in iface["counters"].items():
        for reason, c in reasons.items():
            print(f"{name}.{family}.{reason}={c['packets']}")
    for direction, outcomes in iface.get("mss_syn_packets", {}).items():
        for outcome, count in outcomes.items():
            print(f"{name}.mss.{direction}.{outcome}={count}")
for s in sessions["sessions"]:
    print(f"session.oversize_packets={s['oversize_packets']}")
    print(f"session.icmp_sent={s['icmp_sent']}")
PYTHON
}

# counter KEY TEXT: a value of stats' output; "absent" (which fails any assertion) when missing.
counter()
{
    local v
    v=$(mg_kv "$1" "$2")
    echo "${v:-absent}"
}

# show_stats TEXT: the non-zero counters, for the log.
show_stats()
{
    printf '%s\n' "$1" | grep -v '=0$' | sed 's/^/    /'
}

# kill_flows: aborts every TCP connection of the server and the client, so that retransmissions
# of a stalled transfer cannot reach the next test's agent.
kill_flows()
{
    ip netns exec "$NS_SERVER" ss -K -tn 'sport >= :8080' >/dev/null 2>&1 || true
    ip netns exec "$NS_CLIENT" ss -K -tn 'dport >= :8080' >/dev/null 2>&1 || true
}

# no_connection PORT: the server has no TCP connection on PORT left (any state but listening).
no_connection()
{
    [ -z "$(ip netns exec "$NS_SERVER" ss -Htn state all exclude listening "sport = :$1")" ]
}

# prepare FIREWALL CLIENT_MTU PORT: a clean start for one test: no connections left, nothing
# learned, the firewall and the client's adapter MTU as asked, checksum offload as mg_setup left
# it, a web server on PORT serving the blob. Sets URL.
prepare()
{
    kill_flows
    mg_flush_pmtu
    ip netns exec "$NS_SERVER" ethtool -K srv0 tx off >/dev/null
    ip netns exec "$NS_GATEWAY" ethtool -K gw-vpn tx on >/dev/null
    firewall "$1"
    ip -n "$NS_CLIENT" link set dev cli0 mtu "$2"
    ip netns exec "$NS_SERVER" tc qdisc del dev srv0 root 2>/dev/null || true
    mg_ns_bg "$NS_SERVER" "$MG_TMP/http.$3.log" "$MG_PYTHON" -c "$HTTP_SERVER" "$MG_SERVER4" "$3" \
        "$MG_TMP/www"
    mg_wait_for 20 "http.server listening on :$3" \
        sh -c "ip netns exec '$NS_SERVER' ss -Htln 'sport = :$3' | grep -q LISTEN"
    URL="http://$MG_SERVER4:$3/blob"
    mg_assert_eq "the server's path MTU toward the client before the test (no mtu learned)" "" \
        "$(ip -n "$NS_SERVER" route get "$MG_CLIENT4" | grep -o 'mtu [0-9]*' || true)"
}

# python's http.server without its reverse DNS lookup of the bound address at startup: the lab has
# no DNS, and with ICMP filtered the resolver would wait out its timeouts (10 s).
HTTP_SERVER='
import functools, http.server, socket, socketserver, sys
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
Server((sys.argv[1], int(sys.argv[2])), handler).serve_forever()
'

# download OUT CURL_ARGS...: fetches URL at the client within BOUND seconds; sets DL_STATUS (curl's
# exit status), DL_SIZE (body bytes received), DL_SECONDS, DL_SHA (of what arrived).
download()
{
    local out=$1 result
    shift
    DL_STATUS=0
    result=$(ip netns exec "$NS_CLIENT" timeout $((BOUND + 10)) curl -sS --max-time "$BOUND" \
        "$@" -o "$out" -w '%{size_download} %{time_total}\n' "$URL" 2>"$out.err") || DL_STATUS=$?
    result=$(printf '%s\n' "$result" | tail -n 1)
    DL_SIZE=${result%% *}
    DL_SECONDS=${result##* }
    [ -n "$DL_SIZE" ] || DL_SIZE=$(stat_size "$out")
    DL_SHA=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
    mg_note "curl $* $URL: exit $DL_STATUS, $DL_SIZE of $DOWNLOAD_BYTES bytes in ${DL_SECONDS:-?} s $(tr '\n' ' ' <"$out.err")"
}

stat_size() { if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi; }

# assert_complete: the last download arrived whole and intact within the bound.
assert_complete()
{
    mg_assert_eq "curl exit status" 0 "$DL_STATUS"
    mg_assert_eq "bytes downloaded" "$DOWNLOAD_BYTES" "$DL_SIZE"
    mg_assert_eq "sha256 of the download" "$BLOB_SHA256" "$DL_SHA"
}

# pcap_tool MODE FILE ARGS...: reads a pcap (Ethernet, IPv4) with the standard library.
#   data FILE PORT T0: arrival times (seconds since T0, epoch seconds) and IP lengths of TCP
#     segments with payload from source port PORT, one "time length" line each
#   icmp FILE T0: "time mtu" of every ICMP frag-needed, time since T0
pcap_tool()
{
    "$MG_PYTHON" - "$@" <<'PYTHON'
import struct, sys

mode, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
off = 24
while off + 16 <= len(data):
    sec, frac, caplen = struct.unpack(endian + "III", data[off:off + 12])
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    t = sec + frac / (1e9 if nano else 1e6)
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        continue
    ip = frame[14:]
    length = struct.unpack("!H", ip[2:4])[0]
    hlen = (ip[0] & 15) * 4
    l4 = ip[hlen:]
    if mode == "data" and ip[9] == 6 and len(l4) >= 20:
        port, t0 = int(sys.argv[3]), float(sys.argv[4])
        sport = struct.unpack("!H", l4[0:2])[0]
        payload = length - hlen - (l4[12] >> 4) * 4
        if sport == port and payload > 0:
            print(f"{t - t0:.6f} {length}")
    elif mode == "icmp" and ip[9] == 1 and len(l4) >= 8 and l4[0] == 3 and l4[1] == 4:
        t0 = float(sys.argv[3])
        print(f"{t - t0:.6f} {struct.unpack('!H', l4[6:8])[0]}")
PYTHON
}

# tcp_csum_errors NS: TCP segments NS dropped for a bad checksum (InCsumErrors).
tcp_csum_errors()
{
    # shellcheck disable=SC2016 # awk fields
    ip netns exec "$1" awk '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) n[$i] = i; h = 1; next }
        $1 == "Tcp:" { print $n["InCsumErrors"] }' /proc/net/snmp
}

# syn_lines PCAP: the SYN and SYN-ACK of the capture as tcpdump -v prints them.
syn_lines()
{
    tcpdump -nn -v -r "$1" 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null | paste - - |
        sed 's/[[:space:]]\{1,\}/ /g'
}

# --- tests -------------------------------------------------------------------------------------

SESSION_TLS="$MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=tls"
SESSION_DTLS="$MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=dtls"
SESSION6_TLS="$MG_CLIENT6,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=tls"

# check_stall ACTION PORT: with the server's firewall dropping ICMP and no clamping, the download
# does not complete within the bound, whether the agent drops silently or answers with ICMP.
check_stall()
{
    local action=$1 port=$2 s pcap="$MG_TMP/stall-$1.pcap" summary fw route
    prepare on 1500 "$port"
    mg_daemon_start --iface gw-in --client-iface gw-vpn --session "$SESSION_TLS" \
        --on-oversize "$action" --mss-clamp off
    mg_capture_start "$NS_CLIENT" cli0 "$pcap" 128 "tcp port $port"
    local capture=$MG_CAPTURE_PID

    download "$MG_TMP/stall-$action"
    s=$(stats)
    fw=$(firewall_dropped)
    route=$(ip -n "$NS_SERVER" route get "$MG_CLIENT4")
    kill_flows
    mg_wait_for 5 "the stalled connection aborted" no_connection "$port"
    mg_capture_stop "$capture" "$pcap"
    summary=$(mg_pcap_summary "$pcap" "$TLS_MTU")
    mg_note "at the client: $(mg_kv packets "$summary") packets of the transfer, largest $(mg_kv max_len "$summary") bytes"
    mg_note "SYN / SYN-ACK at the client: $(syn_lines "$pcap" | grep -o 'Flags \[S\.*\].*mss [0-9]*' |
        sed 's/, seq.*options \[/ [/' | tr '\n' ';')"
    mg_note "agent counters:"
    show_stats "$s"
    mg_note "ICMP dropped by the server's firewall: $fw"
    mg_note "server\$ ip route get $MG_CLIENT4: $(printf '%s' "$route" | tr -s '\n ' ' ')"

    mg_assert_cmp "curl exit status (the download must not complete in $BOUND s)" "$DL_STATUS" -ne 0
    mg_assert_cmp "bytes downloaded in $BOUND s" "${DL_SIZE:-0}" -lt "$DOWNLOAD_BYTES"
    mg_assert_cmp "the session's oversize packets" "$(counter session.oversize_packets "$s")" -ge 1
    if [ "$action" = drop ]; then
        mg_assert_cmp "oversize packets the agent dropped (gw-in, IPv4)" \
            "$(counter gw-in.ipv4.dropped "$s")" -ge 1
        mg_assert_eq "ICMP errors the agent sent" 0 "$(counter gw-in.ipv4.icmp_sent "$s")"
        mg_assert_eq "ICMP the server's firewall dropped" 0 "$fw"
    else
        mg_assert_cmp "ICMP errors the agent sent (gw-in, IPv4)" \
            "$(counter gw-in.ipv4.icmp_sent "$s")" -ge 1
        mg_assert_eq "ICMP the server's firewall dropped, vs the errors the agent sent" \
            "$(counter gw-in.ipv4.icmp_sent "$s")" "$fw"
    fi
    mg_assert_no_match "the server's route toward the client (it learned no MTU)" 'mtu [0-9]' "$route"
    mg_assert_eq "SYN-ACKs clamped toward the client (clamping is off)" 0 \
        "$(counter gw-in.mss.to_client.clamped "$s")"
    mg_assert_eq "SYNs clamped from the client (clamping is off)" 0 \
        "$(counter gw-vpn.mss.from_client.clamped "$s")"
    mg_assert_eq "SYN-ACKs toward the client with clamping disabled (gw-in)" 1 \
        "$(counter gw-in.mss.to_client.disabled "$s")"
    mg_assert_eq "SYNs from the client with clamping disabled (gw-vpn)" 1 \
        "$(counter gw-vpn.mss.from_client.disabled "$s")"
    mg_assert_cmp "largest packet that reached the client" "$(mg_kv max_len "$summary")" -le "$TLS_MTU"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_blackhole_drop_no_clamp()
{
    check_stall drop 8081
}

# Not in the issue's list, but what makes test 1 a fair stand-in for the headend: the agent does
# answer with frag-needed, and the server's firewall eats every one of them.
test_blackhole_icmp_filtered()
{
    check_stall icmp 8085
}

test_clamp_cures_blackhole()
{
    local s pcap="$MG_TMP/clamp.pcap" spcap="$MG_TMP/clamp-srv.pcap" summary syns ssyns
    prepare on 1500 8082
    mg_daemon_start --iface gw-in --client-iface gw-vpn --session "$SESSION_TLS" \
        --on-oversize drop --mss-clamp on
    mg_capture_start "$NS_CLIENT" cli0 "$pcap" 128 "tcp port 8082"
    local capture=$MG_CAPTURE_PID
    mg_capture_start "$NS_SERVER" srv0 "$spcap" 128 "tcp port 8082 and tcp[tcpflags] & tcp-syn != 0"
    local scapture=$MG_CAPTURE_PID

    download "$MG_TMP/clamp"
    mg_capture_stop "$capture" "$pcap"
    mg_capture_stop "$scapture" "$spcap"
    assert_complete

    summary=$(mg_pcap_summary "$pcap" "$TLS_MTU")
    mg_note "at the client: $(mg_kv packets "$summary") packets of the transfer, largest $(mg_kv max_len "$summary") bytes, $(mg_kv over "$summary") over $TLS_MTU"
    syns=$(syn_lines "$pcap")
    ssyns=$(syn_lines "$spcap")
    mg_note "tcpdump -v at the client:"
    printf '%s\n' "$syns" | sed 's/^/    /'
    mg_note "tcpdump -v at the server:"
    printf '%s\n' "$ssyns" | sed 's/^/    /'
    s=$(stats)
    mg_note "agent counters:"
    show_stats "$s"
    mg_note "ICMP dropped by the server's firewall: $(firewall_dropped)"

    mg_assert_eq "packets over $TLS_MTU bytes that reached the client" 0 "$(mg_kv over "$summary")"
    mg_assert_eq "largest packet that reached the client (MSS $TLS_MSS + 40)" "$TLS_MTU" \
        "$(mg_kv max_len "$summary")"
    mg_assert_cmp "packets of the transfer at the client" "$(mg_kv packets "$summary")" -ge \
        $((DOWNLOAD_BYTES / TLS_MTU))
    mg_assert_match "the server's SYN-ACK as it arrived at the client" \
        "$MG_SERVER4\\.8082 > $MG_CLIENT4\\.[0-9]+: Flags \\[S\\.\\].*mss $TLS_MSS([^0-9]|$)" "$syns"
    mg_assert_match "the client's SYN as it left the client (unclamped)" \
        "$MG_CLIENT4\\.[0-9]+ > $MG_SERVER4\\.8082: Flags \\[S\\].*mss 1460([^0-9]|$)" "$syns"
    mg_assert_match "the client's SYN as it arrived at the server (clamped)" \
        "$MG_CLIENT4\\.[0-9]+ > $MG_SERVER4\\.8082: Flags \\[S\\].*mss $TLS_MSS([^0-9]|$)" "$ssyns"
    mg_assert_match "the server's SYN-ACK as it left the server (unclamped)" \
        "$MG_SERVER4\\.8082 > $MG_CLIENT4\\.[0-9]+: Flags \\[S\\.\\].*mss 1460([^0-9]|$)" "$ssyns"
    # tcpdump -v checks every TCP checksum, and so do both kernels (rx checksum offload off):
    # a wrong incremental update would show here, and the handshake would not complete.
    mg_assert_no_match "TCP checksums of the SYN and SYN-ACK, at either end" 'incorrect' \
        "$syns
$ssyns"
    mg_assert_eq "SYN and SYN-ACK lines with a correct checksum" 4 \
        "$(printf '%s\n%s\n' "$syns" "$ssyns" | grep -c 'cksum 0x[0-9a-f]* (correct)')"
    mg_assert_eq "TCP segments with a bad checksum received by the server" 0 \
        "$(tcp_csum_errors "$NS_SERVER")"
    mg_assert_eq "TCP segments with a bad checksum received by the client" 0 \
        "$(tcp_csum_errors "$NS_CLIENT")"
    mg_assert_eq "SYN-ACKs clamped toward the client (gw-in, to_client)" 1 \
        "$(counter gw-in.mss.to_client.clamped "$s")"
    mg_assert_eq "SYNs clamped from the client (gw-vpn, from_client)" 1 \
        "$(counter gw-vpn.mss.from_client.clamped "$s")"
    mg_assert_eq "oversize packets the agent dropped" 0 "$(counter gw-in.ipv4.dropped "$s")"
    mg_assert_eq "the session's oversize packets" 0 "$(counter session.oversize_packets "$s")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# With --iface gw-in alone the client's SYN, whose MSS decides what the server sends, is clamped
# on its way out of gw-in (tc egress): nothing on the client side is needed.
test_clamp_from_the_inside()
{
    local s spcap="$MG_TMP/inside-srv.pcap" ssyns
    prepare on 1500 8086
    mg_daemon_start --iface gw-in --session "$SESSION_TLS" --on-oversize drop --mss-clamp on
    mg_capture_start "$NS_SERVER" srv0 "$spcap" 128 "tcp port 8086 and tcp[tcpflags] & tcp-syn != 0"
    local scapture=$MG_CAPTURE_PID

    download "$MG_TMP/inside"
    mg_capture_stop "$scapture" "$spcap"
    ssyns=$(syn_lines "$spcap")
    mg_note "tcpdump -v at the server:"
    printf '%s\n' "$ssyns" | sed 's/^/    /'
    s=$(stats)
    mg_note "agent counters:"
    show_stats "$s"
    assert_complete

    mg_assert_match "the client's SYN as it arrived at the server (clamped: MTU $TLS_MTU - 40)" \
        "$MG_CLIENT4\\.[0-9]+ > $MG_SERVER4\\.8086: Flags \\[S\\].*mss $TLS_MSS([^0-9]|$)" "$ssyns"
    mg_assert_no_match "TCP checksums of the SYN and SYN-ACK at the server" 'incorrect' "$ssyns"
    mg_assert_eq "SYNs clamped from the client (gw-in, tc egress)" 1 \
        "$(counter gw-in.mss.from_client.clamped "$s")"
    mg_assert_eq "SYN-ACKs clamped toward the client (gw-in, tc ingress)" 1 \
        "$(counter gw-in.mss.to_client.clamped "$s")"
    mg_assert_eq "oversize packets the agent dropped" 0 "$(counter gw-in.ipv4.dropped "$s")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# The server's segments leave it CHECKSUM_PARTIAL (offload on: the checksum field holds only the
# pseudo-header sum), the gateway finishes them in software on gw-vpn (offload off), the client
# checks every one. A clamp that adjusted the field as if it held a whole checksum would make the
# SYN-ACK's wrong there, and the connection would never be established.
test_software_checksums()
{
    local s errors_before port6=8088
    prepare on 1500 8087
    ip netns exec "$NS_SERVER" ethtool -K srv0 tx on >/dev/null
    ip netns exec "$NS_GATEWAY" ethtool -K gw-vpn tx off >/dev/null
    mg_ns_bg "$NS_SERVER" "$MG_TMP/http.$port6.log" "$MG_PYTHON" -c "$HTTP_SERVER" "$MG_SERVER6" "$port6" \
        "$MG_TMP/www"
    mg_wait_for 20 "http.server listening on [$MG_SERVER6]:$port6" \
        sh -c "ip netns exec '$NS_SERVER' ss -Htln 'sport = :$port6' | grep -q LISTEN"
    errors_before=$(tcp_csum_errors "$NS_CLIENT")
    mg_daemon_start --iface gw-in --session "$SESSION_TLS" --session "$SESSION6_TLS" \
        --on-oversize drop --mss-clamp on

    download "$MG_TMP/partial4"
    assert_complete
    URL="http://[$MG_SERVER6]:$port6/blob"
    download "$MG_TMP/partial6" -g
    assert_complete
    s=$(stats)
    mg_note "agent counters:"
    show_stats "$s"

    mg_assert_eq "TCP segments with a bad checksum received by the client" "$errors_before" \
        "$(tcp_csum_errors "$NS_CLIENT")"
    mg_assert_eq "SYN-ACKs clamped toward the client (gw-in, one per family)" 2 \
        "$(counter gw-in.mss.to_client.clamped "$s")"
    mg_assert_eq "SYNs clamped from the client (gw-in, one per family)" 2 \
        "$(counter gw-in.mss.from_client.clamped "$s")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_icmp_pmtud_cures()
{
    local s route
    prepare off 1500 8083
    mg_daemon_start --iface gw-in --client-iface gw-vpn --session "$SESSION_TLS" \
        --on-oversize icmp --mss-clamp off

    download "$MG_TMP/pmtud"
    assert_complete
    route=$(ip -n "$NS_SERVER" route get "$MG_CLIENT4")
    mg_note "server\$ ip route get $MG_CLIENT4: $(printf '%s' "$route" | tr -s '\n ' ' ')"
    s=$(stats)
    mg_note "agent counters:"
    show_stats "$s"

    mg_assert_match "the server's path MTU toward the client" "mtu $TLS_MTU( |$)" "$route"
    mg_assert_cmp "ICMP frag-needed the agent sent (gw-in, IPv4)" \
        "$(counter gw-in.ipv4.icmp_sent "$s")" -ge 1
    mg_assert_cmp "the session's ICMP errors" "$(counter session.icmp_sent "$s")" -ge 1
    mg_assert_eq "SYN-ACKs clamped (clamping is off)" 0 "$(counter gw-in.mss.to_client.clamped "$s")"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

test_transport_flip()
{
    local s pcap="$MG_TMP/flip.pcap" spcap="$MG_TMP/flip-srv.pcap" route curl_pid t0 t_flip
    local t_flipped report
    # The AnyConnect client puts the DTLS MTU on its adapter: MSS 1378, 1418-byte packets that
    # fit the session while it rides DTLS.
    prepare off "$DTLS_MTU" 8084
    # 1 MB/s paced at the server (a token bucket on srv0), so that the download lasts ~5 s and
    # segments arrive evenly: curl --limit-rate would pace only its reads from a socket buffer
    # that holds megabytes, or stop the sender for up to a second at a time, which would hide
    # the stall at the flip.
    ip netns exec "$NS_SERVER" tc qdisc add dev srv0 root tbf rate "$PACED_RATE" burst 5kb \
        latency 50ms
    mg_daemon_start --iface gw-in --client-iface gw-vpn --session "$SESSION_DTLS" \
        --on-oversize icmp --mss-clamp off
    mg_capture_start "$NS_CLIENT" cli0 "$pcap" 96 "tcp src port 8084"
    local capture=$MG_CAPTURE_PID
    mg_capture_start "$NS_SERVER" srv0 "$spcap" 96 "icmp and icmp[0] == 3 and icmp[1] == 4"
    local scapture=$MG_CAPTURE_PID

    t0=$(date +%s.%N)
    (download "$MG_TMP/flip" &&
        echo "$DL_STATUS $DL_SIZE $DL_SECONDS $DL_SHA" >"$MG_TMP/flip.result") &
    curl_pid=$!
    sleep 2
    t_flip=$(date +%s.%N)
    ctl_ok session transport "$MG_CLIENT4" tls
    t_flipped=$(date +%s.%N)
    mg_note "flipped the session to TLS at $(awk -v a="$t_flip" -v b="$t0" 'BEGIN { printf "%.3f", a - b }') s: $CTL_OUT"
    wait "$curl_pid" || true
    [ -f "$MG_TMP/flip.result" ] || mg_fail "the download did not report"
    read -r DL_STATUS DL_SIZE DL_SECONDS DL_SHA <"$MG_TMP/flip.result"
    mg_note "download: exit $DL_STATUS, $DL_SIZE bytes in $DL_SECONDS s"
    mg_capture_stop "$capture" "$pcap"
    mg_capture_stop "$scapture" "$spcap"
    assert_complete

    # The flip at the client, from the capture's timestamps.
    pcap_tool data "$pcap" 8084 "$t0" >"$MG_TMP/flip.data"
    pcap_tool icmp "$spcap" "$t0" >"$MG_TMP/flip.icmp"
    report=$("$MG_PYTHON" - "$MG_TMP/flip.data" "$MG_TMP/flip.icmp" "$t0" "$t_flip" "$t_flipped" \
        "$DTLS_MTU" "$TLS_MTU" <<'PYTHON'
import sys
data = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
icmp = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
t0, flip, flipped = (float(x) for x in sys.argv[3:6])
flip, flipped = flip - t0, flipped - t0
dtls, tls = int(sys.argv[6]), int(sys.argv[7])

def longest_gap(points):
    best = (0.0, 0.0)
    for (a, _), (b, _) in zip(points, points[1:]):
        if b - a > best[0]:
            best = (b - a, a)
    return best

before = [p for p in data if p[0] < flip]
# the gap at the flip: from the last segment before the flip command to 1 s after the first
# TLS-sized segment that followed it
first_small = next((p for p in data if p[0] >= flip and p[1] == tls), None)
end = (first_small[0] if first_small else flip) + 1.0
around = [p for p in data if p[0] >= (before[-1][0] if before else 0.0) and p[0] <= end]
gap, gap_start = longest_gap(around)
base, _ = longest_gap(before)
print(f"segments={len(data)}")
print(f"flip_at={flip:.3f}")
print(f"flip_cmd_ms={(flipped - flip) * 1000:.1f}")
print(f"before_max_len={max((p[1] for p in before), default=0):.0f}")
print(f"after_max_len={max((p[1] for p in data if p[0] >= flip), default=0):.0f}")
print(f"last_dtls_size_at={max((p[0] for p in data if p[1] > tls), default=-1):.3f}")
print(f"first_tls_full_at={first_small[0] if first_small else -1:.3f}")
print(f"gap_ms={gap * 1000:.1f}")
print(f"gap_start={gap_start:.3f}")
print(f"baseline_gap_ms={base * 1000:.1f}")
print(f"icmp_before_flip={sum(1 for t, _ in icmp if t < flip)}")
print(f"icmp_after_flip={sum(1 for t, _ in icmp if t >= flip)}")
print(f"icmp_first_after_flip_ms={(min((t for t, _ in icmp if t >= flip), default=flip) - flip) * 1000:.1f}")
print("icmp_mtus=" + ",".join(str(int(m)) for m in sorted({m for _, m in icmp})))
PYTHON
)
    s=$(stats)
    route=$(ip -n "$NS_SERVER" route get "$MG_CLIENT4")
    mg_note "at the client: $(mg_kv segments "$report") data segments; largest before the flip $(mg_kv before_max_len "$report") bytes, after it $(mg_kv after_max_len "$report")"
    mg_note "mtuguardctl session transport took $(mg_kv flip_cmd_ms "$report") ms"
    mg_note "last ${DTLS_MTU}-byte segment at $(mg_kv last_dtls_size_at "$report") s, first full $TLS_MTU-byte segment at $(mg_kv first_tls_full_at "$report") s (flip at $(mg_kv flip_at "$report") s)"
    mg_note "frag-needed at the server: $(mg_kv icmp_before_flip "$report") before the flip, $(mg_kv icmp_after_flip "$report") after (MTU $(mg_kv icmp_mtus "$report")), the first $(mg_kv icmp_first_after_flip_ms "$report") ms after the flip command"
    mg_note "STALL AT THE FLIP: longest gap in received data $(mg_kv gap_ms "$report") ms (starting at $(mg_kv gap_start "$report") s); longest gap before the flip (rate limit alone) $(mg_kv baseline_gap_ms "$report") ms"
    mg_note "server\$ ip route get $MG_CLIENT4: $(printf '%s' "$route" | tr -s '\n ' ' ')"
    mg_note "agent counters:"
    show_stats "$s"

    mg_assert_cmp "seconds the download took" "${DL_SECONDS%.*}" -lt "$BOUND"
    mg_assert_eq "largest segment before the flip (DTLS fits)" "$DTLS_MTU" \
        "$(mg_kv before_max_len "$report")"
    mg_assert_eq "frag-needed before the flip" 0 "$(mg_kv icmp_before_flip "$report")"
    mg_assert_cmp "frag-needed after the flip" "$(mg_kv icmp_after_flip "$report")" -ge 1
    mg_assert_eq "MTU in the frag-needed messages" "$TLS_MTU" "$(mg_kv icmp_mtus "$report")"
    mg_assert_cmp "ICMP errors the agent counted" "$(counter gw-in.ipv4.icmp_sent "$s")" -ge 1
    mg_assert_match "the server's path MTU toward the client" "mtu $TLS_MTU( |$)" "$route"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

mg_preflight() { mg_require_tool nft sha256sum; }

mg_setup()
{
    # Full TCP checksums as on a wire, verified by the receiving kernel: with the veths' default
    # offloads a locally generated segment carries only a partial (pseudo-header) checksum that no
    # one ever completes or checks, so a wrong checksum update by the clamp would go unnoticed.
    ip netns exec "$NS_CLIENT" ethtool -K cli0 tx off rx off >/dev/null
    ip netns exec "$NS_SERVER" ethtool -K srv0 tx off rx off >/dev/null
    mkdir -p "$MG_TMP/www"
    head -c "$DOWNLOAD_BYTES" /dev/urandom >"$MG_TMP/www/blob"
    BLOB_SHA256=$(sha256sum "$MG_TMP/www/blob" | cut -d' ' -f1)
}

mg_tests blackhole_drop_no_clamp blackhole_icmp_filtered clamp_cures_blackhole clamp_from_the_inside \
    software_checksums icmp_pmtud_cures transport_flip
mg_main "$@"
