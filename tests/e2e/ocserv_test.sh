#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end with the real thing: ocserv on the gateway, openconnect in the client namespace,
# mtuguardd taking its sessions from `occtl --json show users` and watching the VPN's channels.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP+tc]  gw-pub [tc obs.]    |   |    cli-pub  cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24    198.51.100.130/25   |   | 198.51.100.7/25  |
#   +------------------+   | ocserv :443 tcp+udp, vpnsN 10.9.0.1 |   | openconnect, tunN |
#                          | mtuguardd --ocserv --outside-iface  |   | 10.9.0.x, ping    |
#                          +------------------+------------------+   +--------+---------+
#                                             |      middle (router)          |
#                                             +--- .129/25 [nft] .1/25 -------+
#    nft: ICMP dropped (ocserv_clamp)           middle: UDP 443 dropped (ocserv_session_lifecycle,
#                                               ocserv_mismatch), routes of MTU 1300 (ocserv_mismatch)
#
#   ocserv_session_lifecycle  a connected client is a session within 2 s of occtl listing it, with
#                             occtl's tunnel address and MTU and the client's public address;
#                             with traffic in the tunnel it is seen on DTLS; UDP 443 blocked in
#                             the middle namespace: ocserv and openconnect fall back to TLS and the
#                             session follows; openconnect disconnects: the session is removed
#                             within 2 s of occtl no longer listing it; ocserv's ipv4-network
#                             is the client pool, the session in its slot
#   occtl_hangs               an occtl that never answers is killed after --occtl-timeout and
#                             counted; the daemon keeps answering and enforcing
#   occtl_garbage             an occtl that prints garbage is counted as failed; the sessions it
#                             made before stay
#   occtl_address_reused      a stand-in occtl: alice's session in mismatch (client 1434, ocserv's
#                             tun lowered to 1234); between two lists she leaves and bob gets her
#                             address at 1234: his client MTU is 1234, no mismatch, the gauge 0,
#                             "out of MTU mismatch" logged with his name
#   occtl_dtls_cipher         a stand-in occtl: a new session without a DTLS cipher starts on TLS,
#                             and goes to DTLS when occtl first lists one
#   ocserv_clamp              mtuguardd with --iface gw-in alone (no --client-iface), started before
#                             any user connects; the server's firewall drops all ICMP, its segments
#                             leave it CHECKSUM_PARTIAL and ocserv's tun checksums them in software;
#                             the client's route to the server announces MSS 1460 (without the
#                             clamp: 0 bytes in 20 s). alice connects: her SYN reaches the server
#                             with MSS = the session's MTU - 40 (1394 of 1434), the SYN-ACK reaches
#                             her with the same and a correct checksum, one SYN clamped in each
#                             direction on gw-in, 5 MiB download whole; she logs out, bob connects
#                             and takes her vpns0, she comes back on vpns1: the same holds
#   ocserv_mismatch           alice (group staff) connects: her session shows user alice, group
#                             staff, her public address and client MTU 1434, no mismatch. On TLS
#                             (UDP 443 blocked) with pings through the tunnel, the middle router's
#                             routes get MTU 1300: ocserv's TLS socket learns path MTU 1300 and
#                             ocserv lowers her tun to 1234 (within 90 s; its check runs every
#                             30 s); the session follows occtl within 2 s with client_mtu 1434 and
#                             mtu_mismatch, her own tun still 1434; the gauge reads 1, diagnose
#                             names "alice: client 1434, enforced 1234 (tls)" and exits 3, one log
#                             line; all kept across a restart that re-adopts the pins; the gauge
#                             back to 0 when she leaves
#   ocserv_group_pools        config-per-group: groups eng (ipv4-network 192.168.110.0/24) and ops
#                             (192.168.120.0 with a netmask); mtuguardd with --iface gw-in alone,
#                             started before anyone connects, has client pools 10.9.0.0/24 (the main
#                             file's) and one per group. erin (eng) and otto (ops) connect: occtl
#                             lists each in their group at an address of its network; each session
#                             carries its user and group, a DF packet of its MTU passes, one byte
#                             more is answered with frag-needed at its MTU, counted once on it; the
#                             pools show 1 session each (status, /metrics), mg_direct4 holds exactly
#                             the two sessions at their pools' bases plus offsets, the hash none;
#                             both log out: the sessions go, the pools are empty again
#
# Run as root: tests/e2e/ocserv_test.sh [TEST...] (MTUGUARD_BUILD_DIR as for the other e2e tests).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PUBLIC_CLIENT=198.51.100.7
PUBLIC_GATEWAY=198.51.100.130

# public_path_up: the clients' side through a router namespace, where a firewall can drop DTLS.
public_path_up()
{
    NS_MIDDLE="$MG_RUN_ID-mid"
    MG_EXTRA_NAMESPACES=$NS_MIDDLE
    mg_ns_setup "$NS_MIDDLE"
    mg_sysctl "$NS_MIDDLE" net.ipv4.ip_forward=1
    ip link add cli-pub netns "$NS_CLIENT" type veth peer name mid-c netns "$NS_MIDDLE"
    ip link add gw-pub netns "$NS_GATEWAY" type veth peer name mid-g netns "$NS_MIDDLE"
    ip -n "$NS_CLIENT" addr add "$PUBLIC_CLIENT/25" dev cli-pub
    ip -n "$NS_MIDDLE" addr add 198.51.100.1/25 dev mid-c
    ip -n "$NS_MIDDLE" addr add 198.51.100.129/25 dev mid-g
    ip -n "$NS_GATEWAY" addr add "$PUBLIC_GATEWAY/25" dev gw-pub
    local ns_if
    for ns_if in "$NS_CLIENT/cli-pub" "$NS_MIDDLE/mid-c" "$NS_MIDDLE/mid-g" "$NS_GATEWAY/gw-pub"; do
        ip -n "${ns_if%/*}" link set dev "${ns_if#*/}" up
    done
    ip -n "$NS_CLIENT" route add 198.51.100.128/25 via 198.51.100.1
    ip -n "$NS_GATEWAY" route add 198.51.100.0/25 via 198.51.100.129
}

# ocserv's files: a self-signed certificate, a password file, the configuration. Its workers run
# as nobody and must reach the sockets in the scratch directory.
ocserv_setup()
{
    OC=$MG_TMP/oc
    mkdir -p "$OC"
    chmod 711 "$MG_TMP"
    chmod 755 "$OC"
    certtool --generate-privkey --outfile "$OC/key.pem" >/dev/null 2>&1
    printf 'cn = "vpn.test"\nexpiration_days = 10\nsigning_key\nencryption_key\ntls_www_server\n' >"$OC/template"
    certtool --generate-self-signed --load-privkey "$OC/key.pem" --template "$OC/template" \
        --outfile "$OC/cert.pem" >/dev/null 2>&1
    PIN=$(openssl x509 -in "$OC/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)
    printf 'secret\nsecret\n' | ocpasswd -c "$OC/passwd" -g staff alice
    printf 'secret\nsecret\n' | ocpasswd -c "$OC/passwd" bob
    printf 'secret\nsecret\n' | ocpasswd -c "$OC/passwd" -g eng erin
    printf 'secret\nsecret\n' | ocpasswd -c "$OC/passwd" -g ops otto
    echo secret >"$OC/password"
    cat >"$OC/ocserv.conf" <<CONF
auth = "plain[passwd=$OC/passwd]"
listen-host = $PUBLIC_GATEWAY
tcp-port = 443
udp-port = 443
run-as-user = nobody
run-as-group = nogroup
socket-file = $OC/ocserv.sock
occtl-socket-file = $OC/occtl.sock
use-occtl = true
server-cert = $OC/cert.pem
server-key = $OC/key.pem
isolate-workers = false
max-clients = 16
keepalive = 32400
dpd = 5
mobile-dpd = 5
switch-to-tcp-timeout = 5
try-mtu-discovery = false
device = vpns
predictable-ips = true
ipv4-network = 10.9.0.0
ipv4-netmask = 255.255.255.0
pid-file = $OC/ocserv.pid
CONF
    # openconnect's --script: the tunnel address and MTU on tun0, the VPN's network and the
    # inside servers' through it. The route to the servers announces MSS 1460, as a client whose
    # adapter MTU is larger than the session's does: what the server sends it is then too big for
    # the session unless the gateway clamps the MSS.
    cat >"$OC/vpnc-script" <<SCRIPT
#!/bin/sh
if [ "\$reason" = connect ]; then
    ip link set dev "\$TUNDEV" up mtu "\$INTERNAL_IP4_MTU"
    ip addr add "\$INTERNAL_IP4_ADDRESS/32" dev "\$TUNDEV"
    ip route add 10.9.0.0/24 dev "\$TUNDEV"
    ip route add $MG_SERVER4/32 dev "\$TUNDEV" advmss 1460
fi
exit 0
SCRIPT
    chmod +x "$OC/vpnc-script"
}

# ocserv_start [CONFIG]: ocserv (with CONFIG, default ocserv.conf) in the gateway namespace,
# listening and answering occtl (the sockets of an ocserv an earlier test stopped are removed
# first, so that the wait is for this one's).
ocserv_start()
{
    rm -f "$OC/ocserv.sock"* "$OC/occtl.sock"
    mg_ns_bg "$NS_GATEWAY" "$OC/ocserv.log" ocserv -f -c "${1:-$OC/ocserv.conf}"
    mg_wait_for 10 "ocserv listening" ip netns exec "$NS_GATEWAY" ss -ltn "sport = :443" -H
    mg_wait_for 10 "ocserv's occtl socket" test -S "$OC/occtl.sock"
}

# openconnect_start USER SCRIPT: openconnect logs USER in from the client namespace with SCRIPT
# as its --script. exec: the pid mg_ns_bg records (MG_BG_PID) is openconnect's own, for the
# SIGTERM that logs it out.
OPENCONNECT_SEQ=0
openconnect_start()
{
    OPENCONNECT_SEQ=$((OPENCONNECT_SEQ + 1))
    mg_ns_bg "$NS_CLIENT" "$OC/openconnect.$OPENCONNECT_SEQ.$1.log" sh -c 'exec openconnect --user="$1" \
        --passwd-on-stdin --servercert "pin-sha256:$2" --script="$3" "$4" <"$5"' \
        sh "$1" "$PIN" "$2" "$PUBLIC_GATEWAY:443" "$OC/password"
}

occtl_users() { ip netns exec "$NS_GATEWAY" occtl -s "$OC/occtl.sock" --json show users 2>/dev/null; }
occtl_lists_user() { [ "$(json_get 'len(d)' "$(occtl_users)")" -ge 1 ]; }
occtl_lists_nobody() { [ "$(json_get 'len(d)' "$(occtl_users)")" -eq 0 ]; }
# occtl_user USER FIELD: FIELD of USER's first entry in occtl's list (fails the test if none).
occtl_user() { json_get "[u for u in d if u['Username'] == '$1'][0]['$2']" "$(occtl_users)"; }
occtl_lists() { [ "$(json_get "sum(u['Username'] == '$1' for u in d)" "$(occtl_users)")" -eq 1 ]; }

session_listed() # ADDR
{
    ctl -o json session list "$1"
    [ "$CTL_STATUS" -eq 0 ]
}
session_gone() { ctl -o json session list "$1"; [ "$CTL_STATUS" -eq 1 ]; }
session_field() { json_get "d[\"sessions\"][0][\"$1\"]" "$CTL_OUT"; } # FIELD: of the session ctl listed last
transport_is() { session_listed "$1" && [ "$(json_get 'd["sessions"][0]["transport"]' "$CTL_OUT")" = "$2" ]; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

test_ocserv_session_lifecycle()
{
    ocserv_start
    mg_daemon_start --iface gw-in --outside-iface gw-pub --ocserv --occtl-socket "$OC/occtl.sock" \
        --ocserv-config "$OC/ocserv.conf" --dtls-idle-timeout 3
    mg_log_has "client pool 10.9.0.0/24: " || mg_fail "ocserv's ipv4-network is not the client pool:
$(sed 's/^/    | /' "$MG_DAEMON_LOG")"

    openconnect_start alice "$OC/vpnc-script"
    local client=$MG_BG_PID
    mg_wait_for 20 "occtl listing the client" occtl_lists_user
    local listed users address mtu
    listed=$(now_ms)
    users=$(occtl_users)
    address=$(json_get 'd[0]["IPv4"]' "$users")
    mtu=$(json_get 'd[0]["MTU"]' "$users")
    mg_wait_for 5 "session $address" session_listed "$address"
    mg_note "session $address (MTU $mtu) listed $(($(now_ms) - listed)) ms after occtl listed the client"
    mg_assert_cmp "session within 2 s of occtl" $(($(now_ms) - listed)) -le 2000
    mg_assert_eq "DTLS MTU from occtl" "$mtu" "$(json_get 'd["sessions"][0]["dtls_mtu"]' "$CTL_OUT")"
    mg_assert_eq "TLS MTU from occtl" "$mtu" "$(json_get 'd["sessions"][0]["tls_mtu"]' "$CTL_OUT")"
    mg_assert_eq "source" "ocserv" "$(json_get 'd["sessions"][0]["source"]' "$CTL_OUT")"
    mg_assert_eq "sessions in the hash (mg_sessions4), not in ocserv's client pool" 0 "$(mg_hash_entries 4)"
    ctl_ok -o json tracking
    mg_assert_eq "the client's public address" "$PUBLIC_CLIENT" "$(json_get 'd["sessions"][0]["public_address"]' "$CTL_OUT")"

    # Traffic in the tunnel, so each channel has something to carry.
    mg_ns_bg "$NS_CLIENT" "$MG_TMP/ping.log" ping -i 0.2 -s 200 10.9.0.1
    mg_wait_for 15 "session on dtls" transport_is "$address" dtls
    ip netns exec "$NS_MIDDLE" nft -f - <<'NFT'
table inet path {
    chain forward { type filter hook forward priority 0; udp dport 443 drop; udp sport 443 drop; }
}
NFT
    local blocked
    blocked=$(now_ms)
    mg_wait_for 40 "session on tls after UDP 443 is blocked" transport_is "$address" tls
    mg_note "on TLS $(($(now_ms) - blocked)) ms after UDP 443 was blocked"
    mg_assert_match "the change is logged" "transport of $address observed: TLS busy" "$(cat "$MG_DAEMON_LOG")"
    ip netns exec "$NS_MIDDLE" nft delete table inet path

    kill -TERM "$client"
    mg_wait_for 10 "occtl no longer listing the client" occtl_lists_nobody
    local gone
    gone=$(now_ms)
    mg_wait_for 5 "session $address removed" session_gone "$address"
    mg_note "removed $(($(now_ms) - gone)) ms after occtl stopped listing it"
    mg_assert_cmp "removed within 2 s" $(($(now_ms) - gone)) -le 2000
    mg_daemon_stop
}

two_timeouts() { [ "$(mg_series 'mtuguard_occtl_runs_total{result="timeout"}')" -ge 2 ]; }
two_occtl_lists() { [ "$(mg_series 'mtuguard_occtl_runs_total{result="ok"}')" -ge 2 ]; }
two_failures() { [ "$(mg_series 'mtuguard_occtl_runs_total{result="failed"}')" -ge 2 ]; }

# A stand-in occtl: prints a file's contents (when it exists), else hangs.
fake_occtl()
{
    cat >"$MG_TMP/occtl" <<SCRIPT
#!/bin/sh
[ -f "$MG_TMP/occtl.out" ] && exec cat "$MG_TMP/occtl.out"
exec sleep 987
SCRIPT
    chmod +x "$MG_TMP/occtl"
}

oversize_ping_answered()
{
    local out
    out=$(ip netns exec "$NS_SERVER" ping -c 1 -W 2 -M do -s 1372 "$MG_CLIENT4" 2>&1 || true)
    mg_assert_match "oversize ping answered" "Frag needed and DF set \\(mtu = 1347\\)" "$out"
}

test_occtl_hangs()
{
    fake_occtl
    mg_daemon_start --iface gw-in --ocserv --ocserv-config /dev/null --occtl "$MG_TMP/occtl" --occtl-timeout 0.5 --ocserv-interval 0.5 \
        --session "$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1347"
    mg_wait_for 10 "two occtl runs killed" two_timeouts
    ctl_ok status
    oversize_ping_answered
    mg_assert_match "logged once" "occtl did not answer within 500 ms: killed" "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
    mg_assert_eq "no occtl left running after the daemon stopped" "" "$(pgrep -fx "sleep 987" || true)"
}

test_occtl_garbage()
{
    fake_occtl
    cat >"$MG_TMP/occtl.out" <<JSON
[{"ID": 7, "Username": "bob", "MTU": "1400", "Remote IP": "$PUBLIC_CLIENT", "IPv4": "10.9.0.77",
  "Full session": "x", "raw_connected_at": 1}]
JSON
    mg_daemon_start --iface gw-in --ocserv --ocserv-config /dev/null --occtl "$MG_TMP/occtl" --ocserv-interval 0.2
    mg_wait_for 5 "session from the stand-in occtl" session_listed 10.9.0.77
    echo '[{"ID": 7, "Username": ' >"$MG_TMP/occtl.out" # cut short
    mg_wait_for 10 "two failed occtl runs" two_failures
    session_listed 10.9.0.77 || mg_fail "the session made before the garbage is gone"
    mg_assert_match "logged" "occtl's output is not a list of users" "$(cat "$MG_DAEMON_LOG")"
    echo '[]' >"$MG_TMP/occtl.out" # the user left
    mg_wait_for 5 "session removed" session_gone 10.9.0.77
    mg_daemon_stop
}

session_user_is() { session_listed "$1" && [ "$(session_field user)" = "$2" ]; }

# occtl_list ID "FULL SESSION" USER MTU: the stand-in occtl lists one user at 10.9.0.77.
occtl_list() # ID FULL-SESSION USER MTU [DTLS-CIPHER]
{
    local cipher=""
    [ -z "${5:-}" ] || cipher=", \"DTLS cipher\": \"$5\""
    cat >"$MG_TMP/occtl.out" <<JSON
[{"ID": $1, "Username": "$3", "Groupname": "(none)", "MTU": "$4", "Remote IP": "$PUBLIC_CLIENT",
  "IPv4": "10.9.0.77", "Full session": "$2", "raw_connected_at": $1$cipher}]
JSON
}

test_occtl_dtls_cipher()
{
    fake_occtl
    occtl_list 9 carol-session carol 1434
    mg_daemon_start --iface gw-in --ocserv --ocserv-config /dev/null --occtl "$MG_TMP/occtl" --ocserv-interval 0.2
    mg_wait_for 5 "carol's session" session_listed 10.9.0.77
    mg_assert_eq "no DTLS cipher listed: the new session starts on TLS" tls "$(session_field transport)"
    occtl_list 9 carol-session carol 1434 "(DTLS1.2)-(ECDHE-RSA)-(AES-256-GCM)"
    mg_wait_for 5 "on DTLS once occtl lists the cipher" transport_is 10.9.0.77 dtls
    mg_daemon_stop
}

test_occtl_address_reused()
{
    fake_occtl
    occtl_list 7 alice-session alice 1434
    mg_daemon_start --iface gw-in --ocserv --ocserv-config /dev/null --occtl "$MG_TMP/occtl" --ocserv-interval 0.2
    mg_wait_for 5 "alice's session" session_user_is 10.9.0.77 alice
    occtl_list 7 alice-session alice 1234 # ocserv lowered her tun
    mg_wait_for 5 "alice in mismatch" mg_log_has "session 10\.9\.0\.77 \(user alice\) in MTU mismatch: its client applies 1434, the gateway enforces 1234"
    mg_assert_eq "the mismatch gauge" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    # Between two lists she leaves and bob is given her address, at the MTU ocserv announces now.
    occtl_list 8 bob-session bob 1234
    mg_wait_for 5 "bob's session" session_user_is 10.9.0.77 bob
    mg_assert_eq "bob's client MTU: what he was given" 1234 "$(session_field client_mtu)"
    mg_assert_eq "bob in mismatch" false "$(session_field mtu_mismatch)"
    mg_assert_eq "the mismatch gauge" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    mg_assert_match "the address out of mismatch, logged" \
        "session 10\.9\.0\.77 \(user bob\) out of MTU mismatch: its client applies 1234, the gateway enforces 1234" \
        "$(cat "$MG_DAEMON_LOG")"
    mg_daemon_stop
}

# --- the MSS clamp from the inside interface alone ------------------------------------------

CLAMP_PORT=8090
DOWNLOAD_BYTES=$((5 * 1024 * 1024))
DOWNLOAD_BOUND=20 # seconds

# The inside server's end of a download: each connection gets the blob, then EOF.
BLOB_SENDER='
import socket, sys
blob = open(sys.argv[3], "rb").read()
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    conn, _ = server.accept()
    conn.settimeout(30)
    try:
        conn.sendall(blob)
    except OSError:
        pass
    conn.close()
'
# The client's end: reads to EOF or the deadline (seconds), prints "BYTES SHA256".
BLOB_RECEIVER='
import hashlib, socket, sys, time
deadline = time.monotonic() + float(sys.argv[3])
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
digest, size = hashlib.sha256(), 0
while (left := deadline - time.monotonic()) > 0:
    conn.settimeout(left)
    try:
        data = conn.recv(65536)
    except TimeoutError:
        break
    if not data:
        break
    digest.update(data)
    size += len(data)
print(size, digest.hexdigest())
'

# server_drops_icmp: the inside server's firewall drops every ICMP message it is sent, so that
# only the MSS can keep its segments within the session's MTU.
server_drops_icmp()
{
    ip netns exec "$NS_SERVER" nft -f - <<'NFT'
table inet f {
    chain in { type filter hook input priority 0; meta l4proto icmp counter drop; }
}
NFT
}

# mss_clamped DIRECTION: SYNs the gateway clamped on gw-in in DIRECTION (from_client, to_client).
mss_clamped()
{
    ctl_ok -o json stats
    json_get "[i for i in d['interfaces'] if i['name'] == 'gw-in'][0]['mss_syn_packets']['$1']['clamped']" \
        "$CTL_OUT"
}

# syns PCAP: the capture's SYN and SYN-ACK as tcpdump -v prints them (it checks TCP checksums).
syns() { tcpdump -nn -v -r "$1" 2>/dev/null | paste - - | sed 's/[[:space:]]\{1,\}/ /g'; }

# alice_clamped ROUND: alice is connected: her session is known with occtl's MTU, her SYN leaves
# her tun device with MSS 1460 and reaches the server with the session's MTU - 40, the server's
# SYN-ACK reaches her with the same, and the 5 MiB download completes with ICMP filtered at the
# server. Sets ALICE_DEVICE (her vpnsN on the gateway).
alice_clamped()
{
    local round=$1 address mtu mss tun from_before to_before result status spcap ccap scapture ccapture
    address=$(occtl_user alice IPv4)
    ALICE_DEVICE=$(occtl_user alice Device)
    mg_wait_for 5 "session $address" session_listed "$address"
    mtu=$(json_get 'd["sessions"][0]["effective_mtu"]' "$CTL_OUT")
    mss=$((mtu - 40))
    mg_assert_eq "the session's MTU (round $round), against occtl's" "$(occtl_user alice MTU)" "$mtu"
    tun=$(ip -n "$NS_CLIENT" -o -4 addr show to "$address/32" | awk '{ print $2 }')
    mg_note "round $round: alice at $address on $ALICE_DEVICE (client side $tun), session MTU $mtu"
    from_before=$(mss_clamped from_client)
    to_before=$(mss_clamped to_client)

    spcap="$MG_TMP/clamp-srv.$round.pcap"
    ccap="$MG_TMP/clamp-cli.$round.pcap"
    mg_capture_start "$NS_SERVER" srv0 "$spcap" 128 "tcp port $CLAMP_PORT and tcp[tcpflags] & tcp-syn != 0"
    scapture=$MG_CAPTURE_PID
    mg_capture_start "$NS_CLIENT" "$tun" "$ccap" 128 "tcp port $CLAMP_PORT and tcp[tcpflags] & tcp-syn != 0"
    ccapture=$MG_CAPTURE_PID
    status=0
    result=$(ip netns exec "$NS_CLIENT" timeout $((DOWNLOAD_BOUND + 10)) "$MG_PYTHON" -c "$BLOB_RECEIVER" \
        "$MG_SERVER4" "$CLAMP_PORT" "$DOWNLOAD_BOUND" 2>&1) || status=$?
    result=$(printf '%s\n' "$result" | tail -n 1)
    mg_capture_stop "$scapture" "$spcap"
    mg_capture_stop "$ccapture" "$ccap"
    mg_note "download: exit $status, $result"
    mg_note "at the client ($tun):"
    syns "$ccap" | sed 's/^/    /'
    mg_note "at the server (srv0):"
    syns "$spcap" | sed 's/^/    /'

    mg_assert_eq "the download's exit status" 0 "$status"
    mg_assert_eq "bytes and sha256 of the download" "$DOWNLOAD_BYTES $BLOB_SHA256" "$result"
    mg_assert_match "alice's SYN as it left her tun device (unclamped)" \
        "$address\\.[0-9]+ > $MG_SERVER4\\.$CLAMP_PORT: Flags \\[S\\].*mss 1460([^0-9]|$)" "$(syns "$ccap")"
    mg_assert_match "alice's SYN as it reached the server (MTU $mtu - 40)" \
        "$address\\.[0-9]+ > $MG_SERVER4\\.$CLAMP_PORT: Flags \\[S\\], cksum 0x[0-9a-f]+ \\(correct\\).*mss $mss([^0-9]|$)" \
        "$(syns "$spcap")"
    # The server's SYN-ACK leaves it CHECKSUM_PARTIAL (the field holds the pseudo-header sum alone,
    # which tcpdump calls incorrect), is clamped on gw-in's ingress and checksummed in software
    # when ocserv reads it from the tun device: it must arrive correct.
    mg_assert_match "the server's SYN-ACK as it left the server (checksum partial, unclamped)" \
        "$MG_SERVER4\\.$CLAMP_PORT > $address\\.[0-9]+: Flags \\[S\\.\\], cksum 0x[0-9a-f]+ \\(incorrect .*mss 1460([^0-9]|$)" \
        "$(syns "$spcap")"
    mg_assert_match "the server's SYN-ACK as it reached alice (MTU $mtu - 40)" \
        "$MG_SERVER4\\.$CLAMP_PORT > $address\\.[0-9]+: Flags \\[S\\.\\], cksum 0x[0-9a-f]+ \\(correct\\).*mss $mss([^0-9]|$)" \
        "$(syns "$ccap")"
    mg_assert_eq "SYNs clamped on gw-in's egress (from_client)" $((from_before + 1)) "$(mss_clamped from_client)"
    mg_assert_eq "SYN-ACKs clamped on gw-in's ingress (to_client)" $((to_before + 1)) "$(mss_clamped to_client)"
}

# ocserv, and mtuguardd with --iface gw-in alone (no --client-iface) started before any user
# connects; the server's firewall drops ICMP. alice connects, downloads; logs out; bob connects and
# takes her vpnsN; alice comes back on a new vpnsN and downloads again.
test_ocserv_clamp()
{
    local first alice bob
    mkdir -p "$MG_TMP/www"
    head -c "$DOWNLOAD_BYTES" /dev/urandom >"$MG_TMP/www/blob"
    BLOB_SHA256=$(sha256sum "$MG_TMP/www/blob" | cut -d' ' -f1)
    # The server's segments leave it CHECKSUM_PARTIAL (tx offload on); it checks what it receives.
    ip netns exec "$NS_SERVER" ethtool -K srv0 tx on rx off >/dev/null
    server_drops_icmp
    mg_ns_bg "$NS_SERVER" "$MG_TMP/sender.log" "$MG_PYTHON" -c "$BLOB_SENDER" "$MG_SERVER4" "$CLAMP_PORT" \
        "$MG_TMP/www/blob"
    mg_wait_for 10 "the server listening on :$CLAMP_PORT" \
        sh -c "ip netns exec '$NS_SERVER' ss -Htln 'sport = :$CLAMP_PORT' | grep -q LISTEN"
    ocserv_start
    mg_daemon_start --iface gw-in --ocserv --occtl-socket "$OC/occtl.sock" --ocserv-config "$OC/ocserv.conf"

    openconnect_start alice "$OC/vpnc-script"
    alice=$MG_BG_PID
    mg_wait_for 20 "occtl listing alice" occtl_lists alice
    alice_clamped 1
    first=$ALICE_DEVICE

    kill -TERM "$alice"
    mg_wait_for 10 "occtl no longer listing alice" occtl_lists_nobody
    # ocserv names a session's device after the lowest free number: bob, connected meanwhile, takes
    # alice's, and she comes back on another.
    openconnect_start bob true
    bob=$MG_BG_PID
    mg_wait_for 20 "occtl listing bob" occtl_lists bob
    mg_assert_eq "bob's device (the one alice had)" "$first" "$(occtl_user bob Device)"
    openconnect_start alice "$OC/vpnc-script"
    mg_wait_for 20 "occtl listing alice again" occtl_lists alice
    alice_clamped 2
    [ "$ALICE_DEVICE" != "$first" ] || mg_fail "alice came back on $first, not on a new device"
    mg_note "ICMP dropped by the server's firewall: $(ip netns exec "$NS_SERVER" nft list chain inet f in |
        sed -n 's/.*counter packets \([0-9]*\) bytes.*/\1/p')"
    mg_assert_no_match "--client-iface in the log" 'client-iface' "$(cat "$MG_DAEMON_LOG")"

    kill -TERM "$bob"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    ip netns exec "$NS_SERVER" nft delete table inet f
}

# --- the MTU mismatch: ocserv lowers a session's tun MTU, its client keeps the one it was given ---

PATH_MTU=1300

# middle_route_mtu [MTU]: the middle router's routes toward the client and toward the gateway
# carry MTU (none: the links' 1500 again); a packet with DF set that does not fit is answered with
# frag-needed. The path MTUs the namespaces learned are forgotten either way.
middle_route_mtu()
{
    local ns
    # shellcheck disable=SC2086 # ${1:+mtu $1}: two words or none
    ip -n "$NS_MIDDLE" route replace 198.51.100.0/25 dev mid-c src 198.51.100.1 ${1:+mtu $1}
    # shellcheck disable=SC2086
    ip -n "$NS_MIDDLE" route replace 198.51.100.128/25 dev mid-g src 198.51.100.129 ${1:+mtu $1}
    for ns in "$NS_GATEWAY" "$NS_CLIENT" "$NS_MIDDLE"; do
        ip -n "$ns" route flush cache
    done
}

# path_whole: UDP 443 through the middle again and the routes' MTUs gone, also when a test fails.
path_whole()
{
    ip netns exec "$NS_MIDDLE" nft delete table inet path 2>/dev/null || true
    middle_route_mtu
}

block_udp_443()
{
    ip netns exec "$NS_MIDDLE" nft -f - <<'NFT'
table inet path {
    chain forward { type filter hook forward priority 0; udp dport 443 drop; udp sport 443 drop; }
}
NFT
}

occtl_mtu_is() { [ "$(occtl_user alice MTU)" = "$1" ]; }
session_mtu_is() { session_listed "$1" && [ "$(json_get 'd["sessions"][0]["effective_mtu"]' "$CTL_OUT")" = "$2" ]; }

# ocserv's TLS socket toward the client: the path MTU TCP learned (ss -ti's pmtu:).
ocserv_tcp_pmtu()
{
    ip netns exec "$NS_GATEWAY" ss -Htni state established "sport = :443" |
        sed -n 's/.* pmtu:\([0-9]*\) .*/\1/p'
}

# alice (group staff) connects: her session carries her name, group and public address and the
# MTU ocserv gave her client (1434), in no mismatch. The session falls back to TLS (UDP 443
# blocked in the middle) with the client pinging the gateway through the tunnel, then the middle
# router's routes get MTU 1300: ocserv's TLS segments are answered with frag-needed, its TCP socket
# learns 1300 and ocserv's periodic check (every 30 s) lowers the session's link MTU to it, the tun
# MTU to 1300 - 66 = 1234. With DTLS up instead, ocserv never learns it: with try-mtu-discovery
# off its DTLS socket sends without DF and the middle router fragments.
test_ocserv_mismatch()
{
    local client address mtu tun dropped lowered
    trap path_whole EXIT
    ocserv_start
    local args=(--iface gw-in --outside-iface gw-pub --ocserv --occtl-socket "$OC/occtl.sock"
        --ocserv-config "$OC/ocserv.conf" --dtls-idle-timeout 3)
    mg_daemon_start "${args[@]}" --keep-attached
    openconnect_start alice "$OC/vpnc-script"
    client=$MG_BG_PID
    mg_wait_for 20 "occtl listing alice" occtl_lists alice
    address=$(occtl_user alice IPv4)
    mtu=$(occtl_user alice MTU)
    mg_assert_eq "the MTU ocserv gave alice (AES-256-GCM on a 1500 path)" 1434 "$mtu"
    mg_wait_for 5 "session $address" session_listed "$address"
    mg_assert_eq "the session's user" alice "$(session_field user)"
    mg_assert_eq "the session's group (occtl's Groupname)" staff "$(session_field group)"
    mg_assert_eq "the client's public address" "$PUBLIC_CLIENT" "$(session_field public_address)"
    mg_assert_eq "the MTU the client applies" 1434 "$(session_field client_mtu)"
    mg_assert_eq "in mismatch at connect" false "$(session_field mtu_mismatch)"
    mg_assert_eq "the mismatch gauge at connect" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    ctl_ok session list
    mg_assert_match "the table names the user" "^$address +alice +" "$CTL_OUT"

    # Tunnel packets of 1328 bytes both ways: the gateway's replies leave ocserv over TLS in
    # segments over 1300 bytes once DTLS is blocked.
    mg_ns_bg "$NS_CLIENT" "$MG_TMP/ping.log" ping -i 0.2 -s 1300 10.9.0.1
    mg_wait_for 15 "session on dtls" transport_is "$address" dtls
    block_udp_443
    mg_wait_for 40 "session on tls after UDP 443 is blocked" transport_is "$address" tls
    middle_route_mtu "$PATH_MTU"
    dropped=$SECONDS
    mg_wait_for 90 "occtl listing MTU 1234 for alice" occtl_mtu_is 1234
    lowered=$(now_ms)
    mg_note "ocserv lowered alice's MTU 1434 -> 1234 $((SECONDS - dropped)) s after the path MTU dropped to $PATH_MTU"
    mg_assert_eq "the path MTU ocserv's TLS socket learned" "$PATH_MTU" "$(ocserv_tcp_pmtu)"
    mg_assert_eq "alice's vpnsN on the gateway" 1234 \
        "$(ip -n "$NS_GATEWAY" -o link show dev "$(occtl_user alice Device)" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')"
    mg_wait_for 5 "the session's MTU following occtl's" session_mtu_is "$address" 1234
    mg_note "the session at 1234 $(($(now_ms) - lowered)) ms after occtl listed it"
    mg_assert_cmp "the session following occtl within 2 s" $(($(now_ms) - lowered)) -le 2000
    mg_assert_eq "DTLS MTU" 1234 "$(session_field dtls_mtu)"
    mg_assert_eq "TLS MTU" 1234 "$(session_field tls_mtu)"
    mg_assert_eq "the MTU the client applies, as at connect" 1434 "$(session_field client_mtu)"
    mg_assert_eq "in mismatch" true "$(session_field mtu_mismatch)"
    mg_assert_eq "the user, still" alice "$(session_field user)"
    tun=$(ip -n "$NS_CLIENT" -o -4 addr show to "$address/32" | awk '{ print $2 }')
    mg_assert_eq "alice's $tun, as openconnect left it" 1434 \
        "$(ip -n "$NS_CLIENT" -o link show dev "$tun" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')"
    mg_assert_eq "the mismatch gauge" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    ctl diagnose
    mg_assert_eq "diagnose exit status" 3 "$CTL_STATUS"
    mg_assert_match "diagnose names the session, its user and both MTUs" \
        "1 session\(s\) in MTU mismatch, their clients applying a larger MTU than the gateway enforces: ${address//./\\.} \(user alice, group staff\): client 1434, enforced 1234 \(tls\)" \
        "$CTL_OUT"
    mg_assert_match "and ocserv's remedy" "ocserv's \`mtu =\`" "$CTL_OUT"
    ctl diagnose "$address"
    mg_assert_eq "diagnose ADDR exit status" 3 "$CTL_STATUS"
    mg_assert_match "diagnose ADDR" \
        "${address//./\\.} \(user alice, group staff\): on tls, enforcing MTU 1234 \(DTLS 1234, TLS 1234\); in MTU mismatch: its client applies 1434" \
        "$CTL_OUT"
    mg_assert_eq "the mismatch logged once" 1 "$(grep -c "in MTU mismatch" "$MG_DAEMON_LOG")"
    mg_assert_match "the log line" \
        "session ${address//./\\.} \(user alice, group staff\) in MTU mismatch: its client applies 1434, the gateway enforces 1234 \(tls\)" \
        "$(cat "$MG_DAEMON_LOG")"

    # A restart that re-adopts the pins: occtl lists 1234 at the new daemon's first sight, the
    # client still applies 1434.
    mg_daemon_stop
    mg_daemon_start "${args[@]}"
    mg_assert_match "the kept mismatch logged" "1 kept session\(s\) in MTU mismatch" "$(cat "$MG_DAEMON_LOG")"
    mg_wait_for 10 "two lists from occtl applied" two_occtl_lists
    session_listed "$address" || mg_fail "session $address gone after the restart"
    mg_assert_eq "the MTU the client applies, after a restart" 1434 "$(session_field client_mtu)"
    mg_assert_eq "the user, after a restart" alice "$(session_field user)"
    mg_assert_eq "in mismatch, after a restart" true "$(session_field mtu_mismatch)"
    mg_assert_eq "the mismatch gauge, after a restart" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"

    kill -TERM "$client"
    mg_wait_for 10 "occtl no longer listing alice" occtl_lists_nobody
    mg_wait_for 5 "session $address removed" session_gone "$address"
    mg_assert_eq "the mismatch gauge after alice left" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    mg_daemon_stop
}

# --- client pools from ocserv's groups -----------------------------------------------------------

# groups_config: groups.conf, ocserv.conf with config-per-group naming a file per group, each with
# the group's own ipv4-network: eng's written as a prefix, ops's with a netmask, as ocserv reads
# either.
groups_config()
{
    mkdir -p "$OC/groups"
    printf 'ipv4-network = 192.168.110.0/24\n' >"$OC/groups/eng"
    printf 'ipv4-network = 192.168.120.0\nipv4-netmask = 255.255.255.0\n' >"$OC/groups/ops"
    { cat "$OC/ocserv.conf"; printf 'config-per-group = %s\n' "$OC/groups"; } >"$OC/groups.conf"
}

# client_pools: the client pools mtuguardctl status lists, one "PREFIX ADDRESSES SESSIONS" a line.
client_pools()
{
    ctl_ok -o json status
    json_get '"\n".join(sorted("%s %s %s" % (p["prefix"], p["addresses"], p["sessions"]) for p in d["client_pools"]))' \
        "$CTL_OUT"
}

# slot_index ADDR: the index of ADDR's slot in mg_direct4, where the IPv4 client pools status lists
# lie sorted by address, each pool's slots right after the previous one's.
slot_index()
{
    ctl_ok -o json status
    printf '%s' "$CTL_OUT" | "$MG_PYTHON" -c '
import ipaddress, json, sys
address = ipaddress.ip_address(sys.argv[1])
base = 0
for pool in sorted(ipaddress.ip_network(p["prefix"]) for p in json.load(sys.stdin)["client_pools"] if "." in p["prefix"]):
    if address in pool:
        sys.exit(print(base + int(address) - int(pool.network_address)))
    base += pool.num_addresses
sys.exit(f"{address} in no client pool")' "$1"
}

# pool_slots: the slots of mg_direct4 that hold something, "INDEX DTLS-MTU TLS-MTU OVERSIZE-PACKETS
# ICMP-SENT" a line.
pool_slots()
{
    local dump
    dump=$(bpftool -j map dump pinned "$(pin_dir)/maps/mg_direct4" 2>&1) ||
        mg_fail "bpftool map dump of $(pin_dir)/maps/mg_direct4 failed: $dump"
    json_get '"\n".join("%d %d %d %d %d" % (e["key"], v["dtls_mtu"], v["tls_mtu"], v["stats"]["oversize_packets"],
        v["stats"]["icmp_sent"]) for e in (x["formatted"] for x in d) for v in [e["value"]] if v["dtls_mtu"])' "$dump"
}

in_network() { "$MG_PYTHON" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]))' "$1" "$2"; }

# group_session_enforced USER GROUP NETWORK: USER, connected, is listed by occtl in GROUP with an
# address of NETWORK; the session there carries USER, GROUP and occtl's MTU, and is enforced: a DF
# packet of exactly that MTU from the server passes without an error, one byte more is answered by
# gw-in with frag-needed carrying the MTU, counted once on the session. Sets SESSION_ADDRESS and
# adds what the session's slot must hold to SESSION_SLOTS (see pool_slots).
group_session_enforced()
{
    local user=$1 group=$2 network=$3 address mtu slot
    address=$(occtl_user "$user" IPv4)
    mtu=$(occtl_user "$user" MTU)
    mg_note "$user ($group): $address, MTU $mtu"
    mg_assert_eq "occtl's group of $user" "$group" "$(occtl_user "$user" Groupname)"
    mg_assert_eq "$user's address $address in $group's ipv4-network $network" True "$(in_network "$address" "$network")"
    mg_wait_for 5 "session $address" session_listed "$address"
    mg_assert_eq "the user of session $address" "$user" "$(session_field user)"
    mg_assert_eq "the group of session $address" "$group" "$(session_field group)"
    mg_assert_eq "the source of session $address" ocserv "$(session_field source)"
    mg_assert_eq "the MTU of session $address, against occtl's" "$mtu" "$(session_field effective_mtu)"
    mg_assert_eq "oversize packets of session $address before the probes" 0 "$(session_field oversize_packets)"

    mg_flush_pmtu
    mg_ping "$NS_SERVER" -M "do" -s $((mtu - 28)) -c 1 -W 1 "$address"
    mg_assert_no_match "a DF ping of $mtu bytes toward $address" "Frag needed" "$PING_OUT"
    mg_expect_frag_needed "$MG_GW_IN4" "$mtu" "$address" $((mtu - 27))
    session_listed "$address" || mg_fail "session $address gone"
    mg_assert_eq "oversize packets of session $address after the probes" 1 "$(session_field oversize_packets)"
    mg_assert_eq "ICMP errors sent for session $address" 1 "$(session_field icmp_sent)"
    SESSION_ADDRESS=$address
    slot=$(slot_index "$address" 2>&1) || mg_fail "the slot of session $address: $slot"
    SESSION_SLOTS+=("$slot $mtu $mtu 1 1")
}

# ocserv with config-per-group: groups eng and ops hand out addresses from their own ipv4-network.
# mtuguardd, started before anyone connects, has a client pool from each group's file beside the
# main configuration's; erin (eng) and otto (ops) connect: each session lies in its group's pool,
# sits in its slot (the hash stays empty), carries its user and group and is enforced at its MTU.
test_ocserv_group_pools()
{
    local erin otto clients=()
    SESSION_SLOTS=()
    groups_config
    ocserv_start "$OC/groups.conf"
    mg_daemon_start --iface gw-in --ocserv --occtl-socket "$OC/occtl.sock" --ocserv-config "$OC/groups.conf"
    mg_assert_eq "client pools before anyone connects (prefix, addresses, sessions)" \
        "10.9.0.0/24 256 0
192.168.110.0/24 256 0
192.168.120.0/24 256 0" "$(client_pools)"

    openconnect_start erin true
    clients+=("$MG_BG_PID")
    openconnect_start otto true
    clients+=("$MG_BG_PID")
    mg_wait_for 20 "occtl listing erin" occtl_lists erin
    mg_wait_for 20 "occtl listing otto" occtl_lists otto
    group_session_enforced erin eng 192.168.110.0/24
    erin=$SESSION_ADDRESS
    group_session_enforced otto ops 192.168.120.0/24
    otto=$SESSION_ADDRESS
    session_listed "$erin"
    mg_assert_eq "erin's oversize packets after otto's probes" 1 "$(session_field oversize_packets)"

    mg_assert_eq "client pools with both connected" \
        "10.9.0.0/24 256 0
192.168.110.0/24 256 1
192.168.120.0/24 256 1" "$(client_pools)"
    local pool
    for pool in 192.168.110.0/24 192.168.120.0/24; do
        mg_assert_eq "mtuguard_client_pool_sessions of $pool" 1 "$(mg_series "mtuguard_client_pool_sessions{pool=\"$pool\"}")"
        mg_assert_eq "mtuguard_client_pool_addresses of $pool" 256 "$(mg_series "mtuguard_client_pool_addresses{pool=\"$pool\"}")"
    done
    mg_assert_eq "sessions in the hash (mg_sessions4), not in their groups' client pools" 0 "$(mg_hash_entries 4)"
    # Every exact session counts against --max-sessions, in a pool's slot or in the hash.
    mg_assert_eq "mtuguard_session_map_entries" 2 "$(mg_series mtuguard_session_map_entries)"
    mg_note "slots in mg_direct4 (index, MTUs, oversize packets, ICMP sent): $(pool_slots | paste -sd ';' | sed 's/;/; /g')"
    mg_assert_eq "the slots in mg_direct4 that hold something (index, MTUs, oversize packets, ICMP sent)" \
        "$(printf '%s\n' "${SESSION_SLOTS[@]}" | sort -n)" "$(pool_slots)"

    kill -TERM "${clients[@]}"
    mg_wait_for 10 "occtl no longer listing erin and otto" occtl_lists_nobody
    mg_wait_for 5 "session $erin removed" session_gone "$erin"
    mg_wait_for 5 "session $otto removed" session_gone "$otto"
    mg_assert_eq "client pools after both left" \
        "10.9.0.0/24 256 0
192.168.110.0/24 256 0
192.168.120.0/24 256 0" "$(client_pools)"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

mg_preflight() { mg_require_tool ocserv occtl ocpasswd openconnect certtool openssl nft sha256sum; }

mg_setup()
{
    public_path_up
    ocserv_setup
}

mg_tests ocserv_session_lifecycle occtl_hangs occtl_garbage occtl_address_reused occtl_dtls_cipher ocserv_clamp \
    ocserv_mismatch ocserv_group_pools
mg_main "$@"
