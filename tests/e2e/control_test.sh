#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: the control plane. Sessions change at runtime through mtuguardctl, the control
# socket survives bad and many clients, and the daemon restarts (SIGKILL, or SIGTERM with
# --keep-attached) without a single oversize packet going unanswered or a within-MTU packet lost.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    10.8.0.0/24 via gw     mtuguardd --iface gw-in                   answers pings
#    (mtu lock 1500 in      --pin-path $MG_TMP/bpffs/mtuguard
#     the restart tests)    --control-socket $MG_TMP/control.sock <-- mtuguardctl --socket
#    ping -M do -s 1390 --> session 10.8.0.5: DTLS 1418, TLS 1347      (from the host: the
#    <-- frag-needed 1347   /metrics on 127.0.0.1:9784 (gateway ns)     socket is a file)
#    ping -s 1000 ------------------------------------------------->
#
#   bpffs: $MG_TMP/bpffs/mtuguard/maps/*   the session map, counters, settings (outlive the daemon)
#          $MG_TMP/bpffs/mtuguard/links/gw-in   the XDP link: while it is pinned, the program stays
#                                            attached whether or not a daemon runs
#
# A 1390-byte ping payload makes a 1418-byte packet: over the TLS MTU 1347, within the DTLS MTU.
# Tests (one function each):
#   session_lifecycle     session add/transport/del through mtuguardctl change what the wire
#                         sees; session list counts exactly the oversize packets and ICMP errors;
#                         status/stats JSON; exit codes 0/1/2
#   session_owner         session add --user --group --public: listed with its owner, the MTU its
#                         client applies and the mismatch (TLS 1347 under a client's 1418), the
#                         gauge, the log lines in and out of mismatch; owner and mismatch kept
#                         across a --keep-attached restart; gone with the session
#   max_sessions          --max-sessions 4: the 5th add and an overflowing batch are refused
#                         with a clear message and change nothing
#   bad_control_input     malformed, unknown, non-object and 17 MiB requests get structured
#                         errors; a stalled client blocks nobody; 1000 clients at once; the
#                         metrics counted every request by result; enforcement carries on
#   hitless_sigkill       SIGKILL + restart under 2 x 500 pings: 500 frag-needed, 0 lost, the
#                         program never off the interface, new program swapped into the same link;
#                         detach through a wrong socket refused while the daemon runs
#   hitless_keep_attached the same with SIGTERM of a --keep-attached daemon
#   hitless_sigquit       the same with SIGQUIT of a daemon without --keep-attached (the unit's
#                         restart)
#   stop_removes_all      SIGTERM without --keep-attached: no XDP left, the pin directory gone
#   incompatible_pins     --max-sessions 200 on pins made with 100: refused (exit 1, says what to
#                         do), the old program keeps enforcing; `mtuguardctl detach --pin-path`
#                         without a daemon removes it
#   completion            the bash completion, sourced and called with COMP_WORDS as bash sets
#                         them, offers the running daemon's session addresses (IPv4, IPv6 split at
#                         its colons, a pool prefix) for session del/list/transport and diagnose,
#                         asking through the command line's --socket or --control-socket=; nothing,
#                         and nothing on stderr, when no daemon answers there
#
# Run as root: tests/e2e/control_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TLS_MTU=1347
DTLS_MTU=1418
SESSION4="$MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=tls"
OVERSIZE_PAYLOAD=1390 # 1390 + 8 + 20 = 1418 bytes: over the TLS MTU, exactly the DTLS MTU
TLS_FIT_PAYLOAD=$((TLS_MTU - 28))
METRICS_PORT=9784
FRAG_NEEDED_TLS="From ${MG_GW_IN4//./\\.} icmp_seq=[0-9]+ Frag needed and DF set \\(mtu = $TLS_MTU\\)"
STREAM_COUNT=500 # pings per stream in the restart tests (-i 0.01: 5 s)
CLIENT_NET4=10.8.0.0/24

# --- helpers -----------------------------------------------------------------------------------

# ping_server ARGS...: ping from the server, at most 30 s; sets PING_OUT and PING_STATUS.
ping_server()
{
    PING_STATUS=0
    PING_OUT=$(ip netns exec "$NS_SERVER" timeout 30 ping -n "$@" 2>&1) || PING_STATUS=$?
}

# expect_frag_needed MTU: one 1418-byte DF ping (PMTU cache flushed first) is answered with
# frag-needed announcing MTU.
expect_frag_needed()
{
    mg_flush_pmtu
    ping_server -M "do" -s "$OVERSIZE_PAYLOAD" -c 1 -W 2 "$MG_CLIENT4"
    mg_assert_match "ping -M do -s $OVERSIZE_PAYLOAD (1418 bytes) answered by the gateway" \
        "From ${MG_GW_IN4//./\\.} icmp_seq=1 Frag needed and DF set \\(mtu = $1\\)" "$PING_OUT"
    mg_assert_match "ping -M do -s $OVERSIZE_PAYLOAD got no echo reply" ' 0 received' "$PING_OUT"
}

# expect_passes PAYLOAD: a DF ping of PAYLOAD bytes (PMTU cache flushed first) is answered 3 of 3.
expect_passes()
{
    mg_flush_pmtu
    ping_server -M "do" -s "$1" -c 3 -i 0.1 -W 2 "$MG_CLIENT4"
    mg_assert_eq "ping -M do -s $1 ($(($1 + 28)) bytes) exit status ($(mg_ping_summary "$PING_OUT"))" 0 "$PING_STATUS"
    mg_assert_match "ping -M do -s $1 replies" ' 3 received' "$PING_OUT"
    mg_assert_no_match "ICMP errors for ping -M do -s $1" 'Frag needed' "$PING_OUT"
}

# gateway_xdp: every XDP attachment in the gateway namespace, by ip and by bpftool.
gateway_xdp()
{
    ip -n "$NS_GATEWAY" -d link show | grep -E 'prog/xdp|xdpgeneric|xdpdrv|xdpoffload|[ >]xdp ' || true
    ip netns exec "$NS_GATEWAY" bpftool net show | sed -n '/^xdp:/,/^$/p' | grep -v -e '^xdp:' -e '^$' || true
}

# scrape: the daemon's /metrics text. metric_from TEXT SERIES: the value of one exact series
# line (as an integer), or "none".
scrape() { ip netns exec "$NS_GATEWAY" curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
metric_from()
{
    printf '%s\n' "$1" | awk -v s="$2" 'index($0, s " ") == 1 { printf "%d\n", $2 + 0.5; found = 1 }
        END { if (!found) print "none" }'
}

# fresh_state: what an earlier test may have left that mg_reset does not know about: pins (a
# killed or --keep-attached daemon), the locked route on the server.
fresh_state()
{
    rm -rf "$(pin_dir)"
    ip -n "$NS_GATEWAY" link set dev gw-in xdp off 2>/dev/null || true
    ip -n "$NS_SERVER" route del "$CLIENT_NET4" 2>/dev/null || true
    mg_flush_pmtu
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- 1. sessions at runtime --------------------------------------------------------------------

test_session_lifecycle()
{
    local list id status stats i oversize=0 icmp=0
    fresh_state
    # No --session at all: everything comes through the control socket.
    mg_daemon_start --iface gw-in
    expect_passes $((1500 - 28)) # nothing enforced yet: a full 1500-byte DF packet passes

    ctl_ok session add "$MG_CLIENT4" --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU" --transport tls
    mg_note "session add: $CTL_OUT"
    mg_assert_eq "mtuguardctl session add output" "added $MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=tls" "$CTL_OUT"

    # On TLS: 1347 passes, each 1418-byte DF packet gets frag-needed mtu 1347.
    expect_passes "$TLS_FIT_PAYLOAD"
    for i in 1 2 3; do
        expect_frag_needed "$TLS_MTU"
        oversize=$((oversize + 1))
        icmp=$((icmp + 1))
    done
    mg_note "on TLS: 3 x 1418 bytes answered with frag-needed mtu $TLS_MTU, $TLS_MTU bytes pass"

    ctl_ok -o json session list
    list=$CTL_OUT
    mg_assert_eq "sessions listed" 1 "$(json_get 'len(d["sessions"])' "$list")"
    mg_assert_eq "listed address" "$MG_CLIENT4" "$(json_get 'd["sessions"][0]["address"]' "$list")"
    mg_assert_eq "listed source" mtuguardctl "$(json_get 'd["sessions"][0]["source"]' "$list")"
    mg_assert_eq "listed transport" tls "$(json_get 'd["sessions"][0]["transport"]' "$list")"
    mg_assert_eq "listed effective MTU" "$TLS_MTU" "$(json_get 'd["sessions"][0]["effective_mtu"]' "$list")"
    mg_assert_eq "oversize_packets after 3 oversize pings" "$oversize" \
        "$(json_get 'd["sessions"][0]["oversize_packets"]' "$list")"
    mg_assert_eq "icmp_sent after 3 oversize pings" "$icmp" "$(json_get 'd["sessions"][0]["icmp_sent"]' "$list")"
    mg_assert_eq "last_oversize is a UTC time, ISO 8601, within a minute of now" true \
        "$(json_get 'abs(__import__("datetime").datetime.strptime(d["sessions"][0]["last_oversize"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=__import__("datetime").timezone.utc).timestamp() - __import__("time").time()) < 60' "$list")"
    mg_assert_match "the table shows it in local time with the zone" \
        "$MG_CLIENT4 .* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [A-Z+0-9-]+\$" "$(ctl_ok session list "$MG_CLIENT4"; echo "$CTL_OUT")"

    # Picking sessions: one more, without traffic, and the selections that tell them apart.
    ctl_ok session add 10.8.0.66 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU" --transport dtls
    ctl_ok -o json session list --oversize
    mg_assert_eq "session list --oversize" "$MG_CLIENT4" "$(json_get '" ".join(s["address"] for s in d["sessions"])' "$CTL_OUT")"
    ctl_ok -o json session list --transport dtls
    mg_assert_eq "session list --transport dtls" 10.8.0.66 "$(json_get '" ".join(s["address"] for s in d["sessions"])' "$CTL_OUT")"
    ctl_ok -o json session list --sort oversize
    mg_assert_eq "session list --sort oversize" "$MG_CLIENT4 10.8.0.66" "$(json_get '" ".join(s["address"] for s in d["sessions"])' "$CTL_OUT")"
    ctl_ok -o json session list --sort address --top 1
    mg_assert_eq "session list --sort address --top 1" "$MG_CLIENT4" "$(json_get '" ".join(s["address"] for s in d["sessions"])' "$CTL_OUT")"
    ctl session list --sort size
    mg_assert_eq "session list --sort size: a usage error" 2 "$CTL_STATUS"
    mg_assert_match "naming the keys" 'expected oversize, icmp, last or address' "$CTL_ERR"
    ctl_ok session del 10.8.0.66

    # DTLS came back: 1418 passes, one byte more gets frag-needed mtu 1418.
    ctl_ok session transport "$MG_CLIENT4" dtls
    mg_assert_eq "mtuguardctl session transport output" "$MG_CLIENT4 now on dtls" "$CTL_OUT"
    expect_passes "$OVERSIZE_PAYLOAD"
    mg_flush_pmtu
    ping_server -M "do" -s $((OVERSIZE_PAYLOAD + 1)) -c 1 -W 2 "$MG_CLIENT4"
    mg_assert_match "ping -M do -s $((OVERSIZE_PAYLOAD + 1)) (1419 bytes) on DTLS" \
        "Frag needed and DF set \\(mtu = $DTLS_MTU\\)" "$PING_OUT"
    oversize=$((oversize + 1))
    icmp=$((icmp + 1))
    mg_note "on DTLS: 1418 bytes pass, 1419 answered with frag-needed mtu $DTLS_MTU"

    ctl_ok -o json session transport "$MG_CLIENT4" dtls
    mg_assert_eq "session transport -o json (the same transport again)" \
        "{\"address\": \"$MG_CLIENT4\", \"ok\": true, \"transport\": \"dtls\"}" \
        "$(json_get 'json.dumps(d, sort_keys=True)' "$CTL_OUT")"
    ctl_ok -o json session list "$MG_CLIENT4"
    list=$CTL_OUT
    mg_assert_eq "listed transport after the switch" dtls "$(json_get 'd["sessions"][0]["transport"]' "$list")"
    mg_assert_eq "listed effective MTU after the switch" "$DTLS_MTU" \
        "$(json_get 'd["sessions"][0]["effective_mtu"]' "$list")"
    mg_assert_eq "oversize_packets (3 on TLS + 1 on DTLS; the passing ones not counted)" "$oversize" \
        "$(json_get 'd["sessions"][0]["oversize_packets"]' "$list")"
    mg_assert_eq "icmp_sent" "$icmp" "$(json_get 'd["sessions"][0]["icmp_sent"]' "$list")"
    mg_note "session list: oversize_packets=$oversize icmp_sent=$icmp source=mtuguardctl"
    # The output format after the command, and as -j: the same answer.
    ctl_ok session list "$MG_CLIENT4" -o json
    mg_assert_eq "session list ADDR -o json: the same transport" dtls \
        "$(json_get 'd["sessions"][0]["transport"]' "$CTL_OUT")"
    ctl_ok -j session list "$MG_CLIENT4"
    mg_assert_eq "-j session list ADDR: the same effective MTU" "$DTLS_MTU" \
        "$(json_get 'd["sessions"][0]["effective_mtu"]' "$CTL_OUT")"

    # status and stats: JSON, the interface attached, the program the one on the wire.
    ctl_ok -o json status
    status=$CTL_OUT
    id=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_assert_eq "status: interfaces" '["gw-in"]' "$(json_get '[i["name"] for i in d["interfaces"]]' "$status")"
    mg_assert_eq "status: gw-in attached" true "$(json_get 'd["interfaces"][0]["attached"]' "$status")"
    mg_assert_eq "status: program id = the one ip link shows" "$id" \
        "$(json_get 'd["interfaces"][0]["program_id"]' "$status")"
    mg_assert_eq "status: exact sessions" 1 "$(json_get 'd["sessions"]["exact"]' "$status")"
    mg_assert_eq "status: on DTLS" 1 "$(json_get 'd["sessions"]["dtls"]' "$status")"
    mg_assert_eq "status: pin path" "$(pin_dir)" "$(json_get 'd["pin_path"]' "$status")"
    mg_note "status: gw-in attached, $(json_get 'd["interfaces"][0]["mode"]' "$status") mode, program id $id, version $(json_get 'd["version"]' "$status")"
    ctl_ok status
    mg_assert_match "status table" "interface +gw-in .*: attached" "$CTL_OUT"

    ctl_ok -o json stats
    stats=$CTL_OUT
    mg_assert_eq "stats: interfaces" '["gw-in"]' "$(json_get '[i["name"] for i in d["interfaces"]]' "$stats")"
    # Every IPv4 packet the server sent so far, by verdict: 3 x 1500 bytes before the session
    # existed, 3 x 1347 on TLS + 3 x 1418 on DTLS within the MTU, 4 answered with frag-needed.
    mg_assert_eq "stats: IPv4 packets on gw-in by reason (the non-zero ones)" \
        "icmp_sent=$icmp, no_session=3, within_mtu=6" \
        "$(json_get '", ".join(k + "=" + str(v["packets"]) for k, v in sorted(d["interfaces"][0]["counters"]["ipv4"].items()) if v["packets"])' "$stats")"
    mg_note "stats: gw-in IPv4 icmp_sent=$icmp no_session=3 within_mtu=6"

    # Gone: a full 1500-byte DF packet passes again, and the list is empty.
    ctl_ok session del "$MG_CLIENT4"
    mg_assert_eq "mtuguardctl session del output" "deleted $MG_CLIENT4" "$CTL_OUT"
    expect_passes "$OVERSIZE_PAYLOAD"
    expect_passes $((1500 - 28))
    ctl_ok -o json session list
    mg_assert_eq "sessions listed after del" 0 "$(json_get 'len(d["sessions"])' "$CTL_OUT")"

    # Exit codes: 1 refused or unreachable, 2 usage.
    ctl session del "$MG_CLIENT4"
    mg_assert_eq "exit status of session del of an unknown session" 1 "$CTL_STATUS"
    mg_assert_match "its message" "no session $MG_CLIENT4" "$CTL_ERR"
    ctl session add "$MG_CLIENT4" --dtls-mtu "$DTLS_MTU"
    mg_assert_eq "exit status of session add without --tls-mtu" 2 "$CTL_STATUS"
    ctl session frobnicate
    mg_assert_eq "exit status of session frobnicate" 2 "$CTL_STATUS"
    ctl session transport "$MG_CLIENT4" udp
    mg_assert_eq "exit status of session transport ADDR udp" 2 "$CTL_STATUS"
    CTL_STATUS=0
    CTL_ERR=$(timeout 30 "$MG_CTL" --socket "$MG_TMP/nobody-here.sock" status 2>&1 >/dev/null) || CTL_STATUS=$?
    mg_assert_eq "exit status of status with no daemon on --socket" 1 "$CTL_STATUS"
    mg_assert_match "its message" "cannot reach mtuguardd at $MG_TMP/nobody-here.sock.*is it running" "$CTL_ERR"
    mg_note "exit codes: unknown del 1, usage 2, no daemon 1 ($CTL_ERR)"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- 2. a full session map ---------------------------------------------------------------------

# The sessions of a `session list -o json` answer sorted by address, without last_oversize: the
# daemon converts that kernel (monotonic) time to wall-clock time at each request, so it wobbles
# by a microsecond between two lists of the same state.
CANONICAL_LIST='sorted(({k: v for k, v in s.items() if k != "last_oversize"} for s in d["sessions"]), key=lambda s: s["address"])'

test_max_sessions()
{
    local before after i
    fresh_state
    mg_daemon_start --iface gw-in --max-sessions 4
    for i in 5 6 7 8; do
        ctl_ok session add "10.8.0.$i" --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    done
    ctl session add 10.8.0.9 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU"
    mg_note "5th session: exit $CTL_STATUS: $CTL_ERR"
    mg_assert_eq "exit status of a 5th session add with --max-sessions 4" 1 "$CTL_STATUS"
    mg_assert_match "its message names the full map" 'session map full' "$CTL_ERR"
    mg_assert_match "its message names the option" 'max-sessions' "$CTL_ERR"
    ctl_ok -o json session list
    mg_assert_eq "sessions after the refused add" "10.8.0.5 10.8.0.6 10.8.0.7 10.8.0.8" \
        "$(json_get '" ".join(sorted(s["address"] for s in d["sessions"]))' "$CTL_OUT")"
    # The four still enforce (10.8.0.5 is the one that answers pings).
    expect_frag_needed "$TLS_MTU"
    # Replacing one of the four is no new entry: allowed on a full map.
    ctl_ok session add 10.8.0.8 --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU" --transport dtls
    mg_assert_eq "session add of an existing session on a full map" "replaced 10.8.0.8,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=dtls" "$CTL_OUT"

    # A batch that would overflow (one replaced, two new on a full map) changes nothing.
    ctl_ok -o json session del 10.8.0.7
    mg_assert_eq "session del -o json" '{"deleted": "10.8.0.7", "ok": true}' \
        "$(json_get 'json.dumps(d, sort_keys=True)' "$CTL_OUT")"
    ctl_ok -o json session list
    before=$(json_get "$CANONICAL_LIST" "$CTL_OUT")
    printf '%s\n' "# one replaced, two new: 3 + 2 > 4" \
        "10.8.0.6,dtls-mtu=1400,tls-mtu=1300,transport=dtls" \
        "10.8.0.9,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU" \
        "10.8.0.10,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU" >"$MG_TMP/batch.txt"
    ctl session add --file "$MG_TMP/batch.txt"
    mg_note "overflowing batch: exit $CTL_STATUS: $CTL_ERR"
    mg_assert_eq "exit status of an overflowing batch" 1 "$CTL_STATUS"
    mg_assert_match "its message" 'session map full.*max-sessions' "$CTL_ERR"
    ctl_ok -o json session list
    after=$(json_get "$CANONICAL_LIST" "$CTL_OUT")
    mg_assert_eq "session list after the refused batch (before == after)" "$before" "$after"
    mg_assert_eq "10.8.0.6 kept its MTUs" "$DTLS_MTU $TLS_MTU" \
        "$(json_get '" ".join(str(s["dtls_mtu"]) + " " + str(s["tls_mtu"]) for s in d["sessions"] if s["address"] == "10.8.0.6")' "$CTL_OUT")"

    # The same batch without one of the new ones fits exactly.
    sed -i '/10\.8\.0\.10,/d' "$MG_TMP/batch.txt"
    ctl_ok session add --file "$MG_TMP/batch.txt"
    ctl_ok -o json session list
    mg_assert_eq "sessions after a batch that fits" "10.8.0.5 10.8.0.6 10.8.0.8 10.8.0.9" \
        "$(json_get '" ".join(sorted(s["address"] for s in d["sessions"]))' "$CTL_OUT")"
    ctl_ok -o json status
    mg_assert_eq "status: map use" "4 of 4" "$(json_get 'str(d["sessions"]["exact"]) + " of " + str(d["sessions"]["capacity"])' "$CTL_OUT")"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- 3. bad and many control clients -----------------------------------------------------------

# control_probe MODE ARGS...: raw clients on the control socket (python3, AF_UNIX); prints
# key=value lines.
#   bad          malformed JSON, an unknown command, a JSON array, each on its own connection,
#                each followed by a good status request on the same connection
#   too_large    17 MiB without a newline: one error line, then the connection is closed
#   stall CTL    half a request, then (stalled) a second client's status and `CTL status`,
#                each timed; then the first one finishes its request
#   many N       N clients connect, all at once send status, all read their answer
control_probe()
{
    "$MG_PYTHON" - "$MG_TMP/control.sock" "$@" <<'PYTHON'
import json, resource, socket, subprocess, sys, threading, time

path, mode = sys.argv[1], sys.argv[2]
STATUS = b'{"command": "status"}\n'

def connect(timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A blocking connect, as mtuguardctl's: with a timeout Python makes the socket non-blocking,
    # and a non-blocking AF_UNIX connect fails with EAGAIN while the listen backlog is full.
    s.connect(path)
    s.settimeout(timeout)
    return s

def read_line(s):
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError(f"closed after {len(buf)} bytes: {buf[:200]!r}")
        buf += chunk
    return json.loads(buf.split(b"\n", 1)[0])

def ask(s, text):
    s.sendall(text)
    return read_line(s)

def structured(r):
    return (isinstance(r, dict) and r.get("ok") is False and isinstance(r.get("error"), str)
            and isinstance(r.get("message"), str) and len(r["message"]) > 0)

if mode == "bad":
    cases = [("malformed", b'{"command": "status"\n'),
             ("unknown", b'{"command": "frobnicate"}\n'),
             ("array", b'["status"]\n')]
    for name, text in cases:
        s = connect()
        r = ask(s, text)
        print(f"{name}.structured={structured(r)}")
        print(f"{name}.error={r.get('error')}")
        print(f"{name}.reply={json.dumps(r)}")
        print(f"{name}.then_status_ok={ask(s, STATUS).get('ok')}")
        s.close()

elif mode == "too_large":
    s = connect(timeout=20)
    payload = b"x" * (17 << 20)
    sent = []
    def sender():
        try:
            s.sendall(payload)
            sent.append("all")
        except OSError as e:
            sent.append(type(e).__name__)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    data, closed = b"", "no"
    start = time.monotonic()
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = "eof"
                break
            data += chunk
    except ConnectionResetError:
        closed = "reset"
    except socket.timeout:
        closed = "timeout"
    t.join(5)
    lines = [l for l in data.split(b"\n") if l]
    print(f"lines={len(lines)}")
    r = json.loads(lines[0]) if lines else None
    print(f"structured={structured(r)}")
    print(f"error={r.get('error') if r else None}")
    print(f"reply={json.dumps(r)}")
    print(f"closed={closed}")
    print(f"seconds={time.monotonic() - start:.2f}")
    print(f"sender={sent[0] if sent else 'still sending'}")

elif mode == "stall":
    ctl = sys.argv[3]
    a = connect()
    a.sendall(b'{"command": "sta')  # and nothing more for now
    time.sleep(0.5)
    b = connect()
    t0 = time.monotonic()
    r = ask(b, STATUS)
    print(f"second.seconds={time.monotonic() - t0:.3f}")
    print(f"second.ok={r.get('ok')}")
    t0 = time.monotonic()
    p = subprocess.run([ctl, "--socket", path, "status"], capture_output=True, timeout=10)
    print(f"ctl.seconds={time.monotonic() - t0:.3f}")
    print(f"ctl.status={p.returncode}")
    time.sleep(0.5)
    a.sendall(b'tus"}\n')
    print(f"stalled_then.ok={read_line(a).get('ok')}")

elif mode == "many":
    n = int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    threading.stack_size(256 << 10)
    barrier = threading.Barrier(n, timeout=60)
    results = [None] * n
    def worker(i):
        try:
            s = connect(timeout=60)
            barrier.wait()  # every client connected before any sends
            r = ask(s, STATUS)
            results[i] = "ok" if r.get("ok") is True and "interfaces" in r else "bad answer: " + json.dumps(r)[:200]
            s.close()
        except threading.BrokenBarrierError:
            results[i] = "gave up: another client failed"
        except Exception as e:
            results[i] = f"client {i}: {type(e).__name__}: {e}"
            barrier.abort()
    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    failures = [r for r in results if r != "ok"]
    causes = [r for r in failures if not r.startswith("gave up")] or failures
    print(f"answered={n - len(failures)}")
    print(f"seconds={time.monotonic() - start:.2f}")
    print(f"first_failure={causes[0] if causes else ''}")
PYTHON
}

test_bad_control_input()
{
    local out m0 m1 r delta
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --metrics-listen "127.0.0.1:$METRICS_PORT"
    m0=$(scrape) || mg_fail "no /metrics on 127.0.0.1:$METRICS_PORT in the gateway"

    out=$(control_probe bad) || mg_fail "control probe 'bad' failed: $out"
    for r in malformed unknown array; do
        mg_note "$r: $(mg_kv "$r.reply" "$out")"
        mg_assert_eq "$r request: a structured error {ok: false, error, message}" True "$(mg_kv "$r.structured" "$out")"
        mg_assert_eq "$r request: the same connection answers the next request" True \
            "$(mg_kv "$r.then_status_ok" "$out")"
    done
    mg_assert_eq "error for malformed JSON" bad_request "$(mg_kv malformed.error "$out")"
    mg_assert_eq "error for an unknown command" unknown_command "$(mg_kv unknown.error "$out")"
    mg_assert_eq "error for a JSON array" bad_request "$(mg_kv array.error "$out")"

    out=$(control_probe too_large) || mg_fail "control probe 'too_large' failed: $out"
    mg_note "17 MiB without newline: $(mg_kv reply "$out"), connection closed ($(mg_kv closed "$out")) after $(mg_kv seconds "$out") s, sender: $(mg_kv sender "$out")"
    mg_assert_eq "answer lines to a 17 MiB request" 1 "$(mg_kv lines "$out")"
    mg_assert_eq "it is a structured error" True "$(mg_kv structured "$out")"
    mg_assert_eq "its error" too_large "$(mg_kv error "$out")"
    mg_assert_match "the connection was closed after it" '^(eof|reset)$' "$(mg_kv closed "$out")"

    out=$(control_probe stall "$MG_CTL") || mg_fail "control probe 'stall' failed: $out"
    mg_note "with a client stalled mid-request: raw status in $(mg_kv second.seconds "$out") s, mtuguardctl status in $(mg_kv ctl.seconds "$out") s"
    mg_assert_eq "second client's status answered" True "$(mg_kv second.ok "$out")"
    mg_assert_eq "second client answered within 1 s" 1 \
        "$(awk -v s="$(mg_kv second.seconds "$out")" 'BEGIN { print (s < 1.0) ? 1 : 0 }')"
    mg_assert_eq "mtuguardctl status exit status meanwhile" 0 "$(mg_kv ctl.status "$out")"
    mg_assert_eq "mtuguardctl status within 1 s" 1 \
        "$(awk -v s="$(mg_kv ctl.seconds "$out")" 'BEGIN { print (s < 1.0) ? 1 : 0 }')"
    mg_assert_eq "the stalled client, once it finished its request" True "$(mg_kv stalled_then.ok "$out")"

    out=$(control_probe many 1000) || mg_fail "control probe 'many' failed: $out"
    mg_note "1000 concurrent clients: $(mg_kv answered "$out") answered in $(mg_kv seconds "$out") s $(mg_kv first_failure "$out")"
    mg_assert_eq "concurrent clients answered" 1000 "$(mg_kv answered "$out")"

    # Every request above counted by result: 3 ok after the bad ones, 3 in the stall probe,
    # 1000; 2 bad_request, 1 unknown_command, 1 too_large; nothing else.
    m1=$(scrape) || mg_fail "no /metrics after the probes"
    for r in ok:1006 bad_request:2 unknown_command:1 too_large:1 not_found:0 map_full:0 failed:0; do
        local series="mtuguard_control_requests_total{result=\"${r%%:*}\"}" before after
        before=$(metric_from "$m0" "$series")
        after=$(metric_from "$m1" "$series")
        if [ "$before" = none ] || [ "$after" = none ]; then
            mg_fail "no series $series in /metrics"
        fi
        delta=$((after - before))
        mg_note "$series: $before -> $after (+$delta)"
        mg_assert_eq "$series moved by" "${r#*:}" "$delta"
    done

    # Still alive and still enforcing.
    mg_assert_eq "mtuguardd alive after the probes" 0 "$(mg_alive "$MG_DAEMON_PID" && echo 0 || echo 1)"
    expect_frag_needed "$TLS_MTU"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

# --- 4. hitless restart ------------------------------------------------------------------------

# xdp_sampler FILE STOPFILE: every 50 ms, "MILLISECONDS PROGRAM-ID|none" for gw-in, until
# STOPFILE exists. It asks the kernel what `ip -d link show dev gw-in` asks (RTM_GETLINK, the
# IFLA_XDP attribute), but from one process: forking ip 20 times a second on a loaded machine
# would stretch the interval past 100 ms.
xdp_sampler()
{
    ip netns exec "$NS_GATEWAY" "$MG_PYTHON" - "$1" "$2" <<'PYTHON'
import os, socket, struct, sys, time

out, stop = open(sys.argv[1], "a"), sys.argv[2]
RTM_GETLINK, RTM_NEWLINK, NLMSG_ERROR, NLM_F_REQUEST = 18, 16, 2, 1
IFLA_XDP, IFLA_XDP_ATTACHED, IFLA_XDP_PROG_ID = 43, 2, 4
ifindex = socket.if_nametoindex("gw-in")
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE

def attributes(data):
    while len(data) >= 4:
        length, kind = struct.unpack("HH", data[:4])
        if length < 4:
            break
        yield kind & 0x7FFF, data[4:length]
        data = data[(length + 3) & ~3:]

def xdp_program(seq):
    request = struct.pack("BxHiII", socket.AF_UNSPEC, 0, ifindex, 0, 0)
    sock.send(struct.pack("IHHII", 16 + len(request), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + request)
    reply = sock.recv(65536)
    _, kind, _, _, _ = struct.unpack("IHHII", reply[:16])
    if kind != RTM_NEWLINK:
        return "error"
    for attr, value in attributes(reply[16 + 16:]):
        if attr == IFLA_XDP:
            nested = dict(attributes(value))
            if nested.get(IFLA_XDP_ATTACHED, b"\0")[0] and IFLA_XDP_PROG_ID in nested:
                return str(struct.unpack("I", nested[IFLA_XDP_PROG_ID][:4])[0])
    return "none"

seq, next_at = 0, time.monotonic()
while not os.path.exists(stop):
    seq += 1
    print(time.time_ns() // 1000000, xdp_program(seq), file=out, flush=True)
    next_at += 0.05
    time.sleep(max(0.0, next_at - time.monotonic()))
PYTHON
}

link_inode() { stat -c %i "$(pin_dir)/links/gw-in"; }
link_id() { bpftool link show pinned "$(pin_dir)/links/gw-in" | sed -n 's/^\([0-9]*\): xdp .*/\1/p'; }

# check_hitless_restart kill|term|quit: the proof. Under a stream of 500 oversize DF pings (each
# must be answered with frag-needed) and 500 within-MTU pings (none may be lost), stop the daemon
# at 1.5 s (SIGKILL, SIGTERM of a --keep-attached daemon, or SIGQUIT of one without it, as the
# systemd unit's restart sends) and start it again with the same arguments and pin path.
check_hitless_restart()
{
    local how=$1 args p1 p2 inode1 inode2 link1 link2 t0 t_stop t_stopped
    local sampler_pid samples none ids t_done first_p2 max_gap covered
    # Without rate limits: every oversize packet must get its error, and 100/s toward one
    # sender is the default per-source limit.
    args=(--iface gw-in --session "$SESSION4" --icmp-rate 0 --icmp-rate-per-source 0)
    [ "$how" = term ] && args+=(--keep-attached)
    fresh_state
    # The server must send every ping at 1418 bytes: a locked route MTU is not lowered by the
    # frag-needed it receives, so each packet is sent and each is answered.
    ip -n "$NS_SERVER" route replace "$CLIENT_NET4" via "$MG_GW_IN4" mtu lock 1500
    mg_flush_pmtu

    mg_daemon_start "${args[@]}"
    [ -e "$(pin_dir)/links/gw-in" ] || mg_fail "no pinned link at $(pin_dir)/links/gw-in: $(find "$(pin_dir)" 2>&1 | tr '\n' ' ')"
    p1=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    inode1=$(link_inode)
    link1=$(link_id)
    mg_assert_match "program on gw-in" '^[0-9]+$' "$p1"
    mg_assert_match "pinned link $(pin_dir)/links/gw-in" '^[0-9]+$' "$link1"

    # The lock holds: 3 pings, 3 packets, 3 errors.
    ping_server -M "do" -s "$OVERSIZE_PAYLOAD" -c 3 -i 0.1 -W 2 "$MG_CLIENT4"
    mg_assert_match "3 oversize pings with the route MTU locked" \
        '3 packets transmitted, 0 received, \+3 errors' "$PING_OUT"

    : >"$MG_TMP/samples"
    rm -f "$MG_TMP/sampler.stop"
    mg_bg "$MG_TMP/sampler.log" xdp_sampler "$MG_TMP/samples" "$MG_TMP/sampler.stop"
    sampler_pid=$MG_BG_PID
    sleep 0.2

    t0=$(now_ms)
    mg_streams_start "$how" "$OVERSIZE_PAYLOAD" "$STREAM_COUNT"

    sleep 1.5
    t_stop=$(now_ms)
    if [ "$how" = kill ]; then
        # (braces and 2>/dev/null: no "Killed" notice from bash)
        { kill -KILL "$MG_DAEMON_PID" && mg_wait_exit "$MG_DAEMON_PID" 5; } 2>/dev/null
        mg_assert_eq "status of the SIGKILLed daemon" 137 "$MG_EXIT_STATUS"
    elif [ "$how" = quit ]; then
        kill -QUIT "$MG_DAEMON_PID"
        mg_wait_exit "$MG_DAEMON_PID" 20
        mg_assert_eq "exit status of the daemon after SIGQUIT" 0 "$MG_EXIT_STATUS"
        mg_assert_match "its log" 'stopping on Quit: leaving the programs attached' "$(cat "$MG_DAEMON_LOG")"
    else
        mg_daemon_stop
        mg_assert_eq "exit status of the --keep-attached daemon after SIGTERM" 0 "$MG_DAEMON_STATUS"
        mg_assert_match "its log" 'leaving the programs attached' "$(cat "$MG_DAEMON_LOG")"
    fi
    t_stopped=$(now_ms)
    # No daemon at all now: the pinned link alone keeps the program on the interface.
    mg_assert_eq "program on gw-in with no daemon running" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"

    mg_daemon_start "${args[@]}"

    # --- what the wire saw
    mg_streams_check "$how" "$STREAM_COUNT" "$FRAG_NEEDED_TLS"
    t_done=$(now_ms)
    sleep 0.2 # a few samples after the end too
    touch "$MG_TMP/sampler.stop"
    mg_wait_exit "$sampler_pid" 5
    mg_wait_for 10 "carrier on every link" mg_links_up

    # --- the restart happened inside the window, and the program never left the interface
    mg_note "stop at +$((t_stop - t0)) ms, daemon gone at +$((t_stopped - t0)) ms, new daemon enforcing at +$((MG_ENFORCING_MS - t0)) ms ($((MG_ENFORCING_MS - t_stop)) ms after the $how), streams done at +$((t_done - t0)) ms"
    mg_assert_cmp "new daemon enforcing (ms) before the streams ended (ms)" "$MG_ENFORCING_MS" -lt "$t_done"
    samples=$(wc -l <"$MG_TMP/samples")
    none=$(grep -cv ' [0-9][0-9]*$' "$MG_TMP/samples" || true)
    ids=$(awk '{ print $2 }' "$MG_TMP/samples" | uniq | tr '\n' ' ' | sed 's/ $//')
    p2=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    first_p2=$(awk -v p="$p2" '$2 == p { print $1; exit }' "$MG_TMP/samples")
    max_gap=$(awk 'NR > 1 && $1 - last > gap { gap = $1 - last } { last = $1 } END { print gap + 0 }' "$MG_TMP/samples")
    covered=$(awk -v a="$t0" -v b="$t_done" '$1 <= a { before = 1 } $1 >= b { after = 1 } END { print before + after }' "$MG_TMP/samples")
    mg_note "XDP on gw-in sampled $samples times (every 50 ms, longest gap $max_gap ms): $none without a program; ids in order: $ids; $p2 first seen $((first_p2 - t_stop)) ms after the $how"
    mg_assert_eq "samples before the streams began and after they ended" 2 "$covered"
    mg_assert_cmp "longest gap between samples (ms)" "$max_gap" -le 150
    mg_assert_eq "samples without an XDP program on gw-in" 0 "$none"
    mg_assert_eq "programs seen on gw-in, in order" "$p1 $p2" "$ids"

    # The new daemon loaded its own program and swapped it into the old, pinned link with
    # bpf_link_update: the same path an upgrade to a different program takes.
    [ -e "$(pin_dir)/links/gw-in" ] || mg_fail "no pinned link at $(pin_dir)/links/gw-in after the restart"
    inode2=$(link_inode)
    link2=$(link_id)
    mg_note "program id $p1 -> $p2; link id $link1 -> $link2; link pin inode $inode1 -> $inode2"
    mg_assert_cmp "program id after the restart (differs from $p1)" "$p2" -ne "$p1"
    mg_assert_eq "name of the new program" mtuguard_xdp "$(mg_xdp_prog_name "$p2")"
    mg_assert_eq "the pinned link (its id)" "$link1" "$link2"
    mg_assert_eq "the pinned link file (its inode)" "$inode1" "$inode2"
    mg_assert_match "the new program in the pinned link" "prog $p2" \
        "$(bpftool link show pinned "$(pin_dir)/links/gw-in")"
    mg_assert_match "new daemon's log" 're-adopting the maps pinned at' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "new daemon's log" 're-adopted gw-in' "$(cat "$MG_DAEMON_LOG")"
    mg_wait_for 5 "old program $p1 unloaded" mg_prog_gone "$p1"

    # The session's counters live in pinned maps: they count across the restart.
    ctl_ok -o json session list "$MG_CLIENT4"
    mg_note "session list after the restart: oversize_packets=$(json_get 'd["sessions"][0]["oversize_packets"]' "$CTL_OUT") icmp_sent=$(json_get 'd["sessions"][0]["icmp_sent"]' "$CTL_OUT")"
    mg_assert_eq "oversize_packets across the restart (3 + $STREAM_COUNT)" $((3 + STREAM_COUNT)) \
        "$(json_get 'd["sessions"][0]["oversize_packets"]' "$CTL_OUT")"
    mg_assert_eq "icmp_sent across the restart (3 + $STREAM_COUNT)" $((3 + STREAM_COUNT)) \
        "$(json_get 'd["sessions"][0]["icmp_sent"]' "$CTL_OUT")"
    ctl_ok -o json status
    mg_assert_eq "status: adopted" true "$(json_get 'd["adopted"]' "$CTL_OUT")"
    mg_assert_eq "status: program id" "$p2" "$(json_get 'd["interfaces"][0]["program_id"]' "$CTL_OUT")"

    # detach that cannot reach the running daemon removes nothing: a wrong socket (the daemon
    # still holds the pin directory), a socket file nobody answers on is left to the lock too.
    ctl --socket "$MG_TMP/elsewhere.sock" detach --pin-path "$(pin_dir)"
    mg_note "detach through a wrong socket while mtuguardd runs: exit $CTL_STATUS: $CTL_ERR"
    mg_assert_eq "detach exit status through a wrong socket, daemon running" 1 "$CTL_STATUS"
    mg_assert_match "its message" 'nothing removed: a running mtuguardd holds' "$CTL_ERR"
    [ -e "$(pin_dir)/links/gw-in" ] || mg_fail "detach removed the link pin of a running daemon"
    mg_assert_eq "program on gw-in after the refused detach" "$p2" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_alive "$MG_DAEMON_PID" || mg_fail "the daemon died"
    ctl_ok -o json session list "$MG_CLIENT4"

    # Leave nothing pinned for the next test (a --keep-attached daemon would keep it all).
    ctl_ok -o json detach
    mg_assert_eq "detach -o json" '{"daemon": true, "ok": true}' "$(json_get 'json.dumps(d, sort_keys=True)' "$CTL_OUT")"
    mg_wait_exit "$MG_DAEMON_PID" 20
    mg_assert_eq "mtuguardd exit status after mtuguardctl detach" 0 "$MG_EXIT_STATUS"
    mg_assert_eq "XDP attachments in the gateway after detach" "" "$(gateway_xdp)"
    ip -n "$NS_SERVER" route del "$CLIENT_NET4"
}

test_hitless_sigkill() { check_hitless_restart kill; }
test_hitless_keep_attached() { check_hitless_restart term; }
test_hitless_sigquit() { check_hitless_restart quit; }

owner_field() # FIELD: of session 10.8.0.5
{
    ctl_ok -o json session list "$MG_CLIENT4"
    json_get "d[\"sessions\"][0][\"$1\"]" "$CTL_OUT"
}

test_session_owner()
{
    fresh_state
    mg_daemon_start --iface gw-in --keep-attached
    mg_assert_eq "no session, no mismatch" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    ctl_ok session add "$MG_CLIENT4" --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU" --transport dtls \
        --user "alice@example.com" --group "Eng Staff" --public 198.51.100.7
    mg_assert_eq "user" "alice@example.com" "$(owner_field user)"
    mg_assert_eq "group" "Eng Staff" "$(owner_field group)"
    mg_assert_eq "public address" 198.51.100.7 "$(owner_field public_address)"
    mg_assert_eq "client MTU: the DTLS MTU" "$DTLS_MTU" "$(owner_field client_mtu)"
    mg_assert_eq "no headend threshold" null "$(owner_field headend_mtu)"
    mg_assert_eq "on DTLS: no mismatch" false "$(owner_field mtu_mismatch)"
    mg_assert_eq "mismatch gauge on DTLS" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"

    ctl_ok session transport "$MG_CLIENT4" tls
    mg_assert_eq "on TLS under a client of $DTLS_MTU: mismatch" true "$(owner_field mtu_mismatch)"
    mg_assert_eq "mismatch gauge on TLS" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    mg_assert_match "logged, naming the user and both MTUs" \
        "session $MG_CLIENT4 \(user alice@example.com, group Eng Staff\) in MTU mismatch: its client applies $DTLS_MTU, the gateway enforces $TLS_MTU \(tls\)" \
        "$(cat "$MG_DAEMON_LOG")"
    ctl_ok session list
    mg_assert_match "the table: user, and the client MTU marked" \
        "^$MG_CLIENT4 +alice@example.com +session +tls +$DTLS_MTU +$TLS_MTU +$TLS_MTU +$DTLS_MTU\* " "$CTL_OUT"

    ctl diagnose
    mg_assert_eq "diagnose exits 3 on the mismatch" 3 "$CTL_STATUS"
    mg_assert_match "diagnose names the session, its owner and both MTUs" \
        "1 session\(s\) in MTU mismatch, their clients applying a larger MTU than the gateway enforces: $MG_CLIENT4 \(user alice@example.com, group Eng Staff\): client $DTLS_MTU, enforced $TLS_MTU \(tls\)" \
        "$CTL_OUT"
    mg_assert_match "and the remedy" "anyconnect mtu" "$CTL_OUT"
    ctl diagnose "$MG_CLIENT4"
    mg_assert_match "diagnose ADDR: the session in mismatch" \
        "$MG_CLIENT4 \(user alice@example.com, group Eng Staff\): on tls, enforcing MTU $TLS_MTU \(DTLS $DTLS_MTU, TLS $TLS_MTU\); in MTU mismatch: its client applies $DTLS_MTU" \
        "$CTL_OUT"

    # A restart that re-adopts the pins keeps the owner and the mismatch.
    mg_daemon_stop
    mg_daemon_start --iface gw-in --keep-attached
    mg_assert_eq "user after a restart" "alice@example.com" "$(owner_field user)"
    mg_assert_eq "group after a restart" "Eng Staff" "$(owner_field group)"
    mg_assert_eq "mismatch gauge after a restart" 1 "$(mg_series mtuguard_sessions_mtu_mismatch)"

    ctl_ok session transport "$MG_CLIENT4" dtls
    mg_assert_eq "back on DTLS" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    mg_assert_match "logged leaving" "session $MG_CLIENT4 \(user alice@example.com, group Eng Staff\) out of MTU mismatch" \
        "$(cat "$MG_DAEMON_LOG")"
    ctl_ok session transport "$MG_CLIENT4" tls
    ctl_ok session del "$MG_CLIENT4"
    mg_assert_eq "gone with the session" 0 "$(mg_series mtuguard_sessions_mtu_mismatch)"
    ctl_ok session add "$MG_CLIENT4" --dtls-mtu "$DTLS_MTU" --tls-mtu "$TLS_MTU" --transport dtls
    mg_assert_eq "a new session at the address has no owner" null "$(owner_field user)"
    mg_daemon_stop
    fresh_state
}

test_stop_removes_all()
{
    local p1 p2
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --keep-attached
    p1=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_daemon_stop
    mg_assert_eq "exit status of the --keep-attached daemon" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "program on gw-in after a --keep-attached stop" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    expect_frag_needed "$TLS_MTU"

    # A daemon without --keep-attached adopts the pins, then a plain stop removes everything.
    mg_daemon_start --iface gw-in --session "$SESSION4"
    p2=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_assert_cmp "program id after adopting" "$p2" -ne "$p1"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_match "its log" 'stopping on .*: detaching' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP attachments in the gateway after a plain stop" "" "$(gateway_xdp)"
    mg_assert_eq "XDP on the server's srv0 is only xdp_pass" xdp_pass \
        "$(mg_xdp_prog_name "$(mg_xdp_prog_id "$NS_SERVER" srv0)")"
    [ ! -e "$(pin_dir)" ] || mg_fail "pin directory $(pin_dir) still there: $(find "$(pin_dir)" | tr '\n' ' ')"
    mg_wait_for 5 "program $p1 unloaded" mg_prog_gone "$p1"
    mg_wait_for 5 "program $p2 unloaded" mg_prog_gone "$p2"
    expect_passes "$OVERSIZE_PAYLOAD"
    mg_note "plain SIGTERM: no XDP left, $(pin_dir) gone, programs $p1 and $p2 unloaded"
}

# --- 5. incompatible pins ----------------------------------------------------------------------

test_incompatible_pins()
{
    local p1 log
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --max-sessions 100
    p1=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    { kill -KILL "$MG_DAEMON_PID" && mg_wait_exit "$MG_DAEMON_PID" 5; } 2>/dev/null

    mg_daemon_run --iface gw-in --session "$SESSION4" --max-sessions 200
    log=$(cat "$MG_DAEMON_LOG")
    mg_note "--max-sessions 200 on pins of 100: exit $MG_DAEMON_STATUS: $(tr '\n' ' ' <"$MG_DAEMON_LOG")"
    mg_assert_eq "mtuguardd exit status on an incompatible pinned map" 1 "$MG_DAEMON_STATUS"
    mg_assert_match "its message names the map" "$(pin_dir)/maps/mg_session" "$log"
    mg_assert_match "its message names both capacities" 'capacity 100 .*needs 200' "$log"
    mg_assert_match "its message says what to do" '--max-sessions 100' "$log"
    mg_assert_match "its message says what to do" 'mtuguardctl detach' "$log"
    mg_assert_no_match "its log" 'enforcing' "$log"

    # Refused means untouched: the old program still enforces from the pins.
    mg_assert_eq "program on gw-in after the refused start" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    [ -e "$(pin_dir)/links/gw-in" ] || mg_fail "the refused daemon removed the link pin"
    expect_frag_needed "$TLS_MTU"

    # No daemon: detach removes the pins itself, and the program goes with them (the killed
    # daemon's socket file is still there; nobody listens on it).
    ctl detach --pin-path "$(pin_dir)"
    mg_note "mtuguardctl detach --pin-path $(pin_dir): exit $CTL_STATUS: $CTL_OUT $CTL_ERR"
    mg_assert_eq "mtuguardctl detach exit status (no daemon)" 0 "$CTL_STATUS"
    mg_assert_match "its output" "no mtuguardd running; removed [1-9][0-9]* pinned object" "$CTL_OUT"
    mg_assert_eq "XDP attachments in the gateway after detach" "" "$(gateway_xdp)"
    [ ! -e "$(pin_dir)" ] || mg_fail "pin directory $(pin_dir) still there: $(find "$(pin_dir)" | tr '\n' ' ')"
    mg_wait_for 5 "program $p1 unloaded" mg_prog_gone "$p1"
    expect_passes "$OVERSIZE_PAYLOAD"
}

# --- 6. diagnose --------------------------------------------------------------------------------

# mtuguardctl diagnose turns the counters into findings: the seed's case on one session (on TLS,
# collecting oversize packets), ICMP errors withheld by the rate limit; an idle gateway is fine.
test_diagnose()
{
    local i
    fresh_state
    mg_daemon_start --iface gw-in --icmp-rate 1 --icmp-burst 1 \
        --session "$MG_CLIENT4,dtls-mtu=$DTLS_MTU,tls-mtu=$TLS_MTU,transport=dtls"
    ctl_ok diagnose # exit 0: nothing named
    mg_assert_match "an idle gateway with the clamp in tc on gw-in: nothing wrong" '^ok: nothing looks wrong' "$CTL_OUT"
    mg_assert_no_match "and no --client-iface asked for: the egress clamp covers the clients' SYNs" \
        'client-iface' "$CTL_OUT"
    mg_assert_match "the session outside every client pool is named with a pool to declare" \
        "^info: 1 session\\(s\\) outside every client pool are hashed, the slower lookup: 1 in [0-9.]+/12 \\(--client-pool ${MG_CLIENT4%.*}\\.0/24\\)" \
        "$CTL_OUT"
    # On TLS under a client that applies the DTLS MTU: the seed's case.
    ctl_ok session transport "$MG_CLIENT4" tls
    for i in 1 2 3; do
        expect_oversize_sent_quietly
    done
    ctl diagnose "$MG_CLIENT4"
    mg_note "$CTL_OUT"
    mg_assert_eq "diagnose exit status with a problem named (a monitoring check's warning or worse)" 3 \
        "$CTL_STATUS"
    mg_assert_match "the rate limit is named, with the count" \
        'problem: [12] oversize packets were dropped without the ICMP error .* rate limit was exhausted \([12] errors sent\)' \
        "$CTL_OUT"
    mg_assert_match "the advice names the options" 'raise --icmp-rate' "$CTL_OUT"
    mg_assert_match "the session is the seed's case" \
        "warning: $MG_CLIENT4: on tls, enforcing MTU $TLS_MTU \(DTLS $DTLS_MTU, TLS $TLS_MTU\); 3 oversize packets, [12] ICMP errors sent" \
        "$CTL_OUT"
    mg_assert_match "and what to do about it" "the seed's case: the client fell back to TLS" "$CTL_OUT"
    ctl -o json diagnose
    mg_assert_eq "diagnose -o json exit status" 3 "$CTL_STATUS"
    mg_assert_eq "json: findings of severity problem" 1 \
        "$(json_get 'sum(1 for f in d["findings"] if f["severity"] == "problem")' "$CTL_OUT")"
    mg_assert_eq "json: without an address, the MTU mismatch is found among all sessions" 1 \
        "$(json_get 'sum(1 for f in d["findings"] if "in MTU mismatch" in f["finding"] and "3 oversize packets" in f["finding"])' "$CTL_OUT")"
    mg_daemon_stop
}

# complete WORD...: what deploy/bash-completion/mtuguardctl offers for `mtuguardctl WORD...`, the
# last word being completed, one a line, sorted; fails the test on anything written to stderr.
complete()
{
    local out err
    out=$(bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
                   _mtuguardctl; printf "%s\n" "${COMPREPLY[@]}"' \
        complete "$MG_REPO/deploy/bash-completion/mtuguardctl" "$MG_CTL" "$@" 2>"$MG_TMP/complete.err" | sort)
    err=$(cat "$MG_TMP/complete.err")
    [ -z "$err" ] || mg_fail "completing mtuguardctl $* wrote to stderr: $err"
    printf '%s' "$out" | tr '\n' ' ' | sed 's/ $//'
}

test_completion()
{
    local sock="$MG_TMP/control.sock"
    fresh_state
    mg_daemon_start --iface gw-in --session "$SESSION4" --session "2001:db8:8::5,dtls-mtu=1418,tls-mtu=1347" \
        --session "10.9.0.0/24,dtls-mtu=1400,tls-mtu=1300"
    ctl_ok session add 2001:db8:8::6 --dtls-mtu 1418 --tls-mtu 1347
    local all="10.8.0.5 10.9.0.0/24 2001:db8:8::5 2001:db8:8::6"
    mg_assert_eq "session del" "$all" "$(complete --socket "$sock" session del "")"
    mg_assert_eq "session list, -o json first" "$all" "$(complete --socket "$sock" -o json session list "")"
    mg_assert_eq "diagnose" "$all" "$(complete --socket "$sock" diagnose "")"
    mg_assert_eq "session transport, a prefix typed" "10.8.0.5 10.9.0.0/24" "$(complete --socket "$sock" session transport 10.)"
    mg_assert_eq "--control-socket=PATH (split at the =)" "$all" \
        "$(complete --control-socket = "$sock" session del "")"
    # bash splits 2001:db8:8:: at the colons (the cursor on the last word, "::") and replaces
    # only what follows the last one
    mg_assert_eq "an IPv6 address after its last colon" "5 6" \
        "$(complete --socket "$sock" session del 2001 : db8 : 8 ::)"
    mg_assert_eq "an IPv6 address, a digit typed" "6" "$(complete --socket "$sock" session del 2001 : db8 : 8 :: 6)"
    mg_assert_eq "session transport ADDR still offers the transports" "dtls tls" \
        "$(complete --socket "$sock" session transport 2001 : db8 : 8 :: 5 "")"
    mg_assert_eq "after a flag and -o json behind the command" "$all" \
        "$(complete --socket "$sock" session list --oversize -o json "")"
    mg_assert_eq "not for session add (a new address)" "" "$(complete --socket "$sock" session add "")"
    mg_assert_eq "the address given, no second one" "" "$(complete --socket "$sock" session del 10.8.0.5 "")"
    mg_assert_eq "no daemon at that socket: nothing" "" "$(complete --socket "$MG_TMP/none.sock" session del "")"
    mg_daemon_stop
    mg_assert_eq "the daemon stopped: nothing" "" "$(complete --socket "$sock" session del "")"
}

# One oversize DF ping toward the client. The three come about a second apart, so the limit of
# one error a second answers one or two of them: the test asserts the split adds up, not its shape.
expect_oversize_sent_quietly()
{
    mg_flush_pmtu
    ping_server -M "do" -s "$OVERSIZE_PAYLOAD" -c 1 -W 1 "$MG_CLIENT4"
}

mg_tests session_lifecycle session_owner max_sessions bad_control_input hitless_sigkill hitless_keep_attached \
    hitless_sigquit stop_removes_all incompatible_pins diagnose completion
mg_main "$@"
