#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: mtuguardd as systemd runs it (deploy/systemd/mtuguard.service), without systemd.
# A listener stands in for the service manager's notification socket; the daemon runs with
# NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at it, gets SIGHUP as `systemctl reload` sends it,
# and is expected to have given up every capability once it is attached.
#
#    server                gateway                                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    ping -M do -s 1391     mtuguardd --config $MG_TMP/mtuguard.conf  answers pings
#    (1419 bytes) -->       NOTIFY_SOCKET=$MG_TMP/notify.sock ------> notify listener (host,
#    <-- frag-needed, or    WATCHDOG_USEC=1000000                     python3): logs each
#        nothing (drop)     SIGHUP: the config file re-read           datagram with the
#                                                                     sender's pid
#
# On READY=1 the listener stops the daemon (SIGSTOP), looks at what is attached, what is in the
# pinned session map and the CapEff of every thread, then lets it go on (SIGCONT): what it sees
# is the state the daemon announced as ready, not a moment later.
# Tests (one function each):
#   ready_and_watchdog   READY=1 only once the program is on gw-in and the session map is filled,
#                        with STATUS=; no thread holds a capability; WATCHDOG=1 at least every
#                        half second for a 1 s watchdog; STOPPING=1 on SIGTERM
#   reload               SIGHUP with a new session, --on-oversize drop and a new ICMP rate:
#                        applied (status, session list, the wire), same program and link, the
#                        runtime transport and the mtuguardctl session kept, --max-sessions
#                        refused as needing a restart; RELOADING=1 then READY=1. An invalid file:
#                        refused, logged naming the option, nothing changed, STATUS says so. A
#                        file without the new session: removed again. Each reload counted in
#                        /metrics (mtuguard_reloads_total, applied or refused, 0 before any).
#                        Session add, transport, stats and a --keep-attached restart work without
#                        capabilities.
#   reload_without_control_socket   --control-socket '': the watchdog is fed and SIGHUP applies
#   check_config         mtuguardd --check-config (what ExecReload= runs first): a good file prints
#                        what would run and exits 0 with nothing attached or pinned; a bad line,
#                        a missing interface: exit 2 naming it
#
# Run as root: tests/e2e/systemd_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SESSION4="$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1347,transport=tls"
OVER_DTLS_PAYLOAD=1391 # 1391 + 28 = 1419 bytes: over both MTUs of the session
NO_CAPABILITIES=0000000000000000

# --- helpers -----------------------------------------------------------------------------------

# sessions_text: "ADDRESS/SOURCE/TRANSPORT/EFFECTIVE_MTU ..." of every session, sorted.
sessions_text()
{
    ctl_ok -o json session list
    json_get '" ".join(sorted(s["address"] + "/" + s["source"] + "/" + s["transport"] + "/" + str(s["effective_mtu"]) for s in d["sessions"]))' "$CTL_OUT"
}

# ping_oversize: one 1419-byte DF ping from the server (PMTU cache flushed); sets PING_OUT.
ping_oversize()
{
    mg_flush_pmtu
    PING_OUT=$(ip netns exec "$NS_SERVER" timeout 20 ping -n -M "do" -s "$OVER_DTLS_PAYLOAD" -c 1 -W 2 \
        "$MG_CLIENT4" 2>&1) || true
}

# capabilities PID: the distinct CapEff values of all the process's threads.
capabilities()
{
    sed -n 's/^CapEff:[[:space:]]*//p' /proc/"$1"/task/*/status | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# notify_start: the stand-in for systemd's notification socket. Each datagram becomes a line
# "MS PID TEXT" in $MG_TMP/notify.log (newlines in TEXT as |); a READY=1 line gets the snapshot
# " @ xdp=ID|none sessions4=N capeff=HEX[,HEX...]" taken while the sender is stopped.
notify_start()
{
    rm -f "$MG_TMP/notify.sock" "$MG_TMP/notify.stop"
    : >"$MG_TMP/notify.log"
    # A file, not stdin: a background job's stdin is /dev/null.
    cat >"$MG_TMP/notify_listener.py" <<'PYTHON'
import json, os, re, signal, socket, struct, subprocess, sys, time

path, log_path, stop_path, namespace, pin_dir = sys.argv[1:6]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
listener.bind(path)
listener.settimeout(0.1)
log = open(log_path, "a")

def snapshot(pid):
    link = subprocess.run(["ip", "-n", namespace, "-d", "link", "show", "dev", "gw-in"],
                          capture_output=True, text=True).stdout
    program = re.search(r"prog/xdp id (\d+)", link)
    dump = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin_dir + "/maps/mg_sessions4"],
                          capture_output=True, text=True)
    sessions = len(json.loads(dump.stdout)) if dump.returncode == 0 else -1
    caps = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as status:
            caps.update(line.split()[1] for line in status if line.startswith("CapEff:"))
    return (f"xdp={program.group(1) if program else 'none'} sessions4={sessions} "
            f"capeff={','.join(sorted(caps))}")

while not os.path.exists(stop_path):
    try:
        data, ancillary, _, _ = listener.recvmsg(65536, socket.CMSG_SPACE(12))
    except socket.timeout:
        continue
    pid = -1
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", value[:12])[0]
    text = data.decode(errors="replace").rstrip("\n")
    line = f"{time.time_ns() // 1000000} {pid} {text.replace(chr(10), '|')}"
    if "READY=1" in text.split("\n") and pid > 0:
        os.kill(pid, signal.SIGSTOP)
        try:
            line += " @ " + snapshot(pid)
        finally:
            os.kill(pid, signal.SIGCONT)
    print(line, file=log, flush=True)
PYTHON
    mg_bg "$MG_TMP/notify.err" "$MG_PYTHON" "$MG_TMP/notify_listener.py" "$MG_TMP/notify.sock" \
        "$MG_TMP/notify.log" "$MG_TMP/notify.stop" "$NS_GATEWAY" "$(pin_dir)"
    NOTIFY_PID=$MG_BG_PID
    mg_wait_for 10 "the notify listener's socket" test -S "$MG_TMP/notify.sock"
}

notify_stop()
{
    touch "$MG_TMP/notify.stop"
    mg_wait_exit "$NOTIFY_PID" 5
}

# notify_lines REGEX: the listener's lines whose message matches.
notify_lines() { grep -E "^[0-9]+ [0-9-]+ .*$1" "$MG_TMP/notify.log" || true; }

# wait_log REGEX: waits until the daemon's log has a line matching.
wait_log() { mg_wait_for 20 "mtuguardd to log /$1/" grep -Eq -- "$1" "$MG_DAEMON_LOG"; }

# wait_notify COUNT REGEX: waits until the listener logged COUNT lines matching.
notify_count_at_least() { [ "$(notify_lines "$2" | wc -l)" -ge "$1" ]; }
wait_notify() { mg_wait_for 20 "$1 notification(s) matching /$2/" notify_count_at_least "$1" "$2"; }

# reloads RESULT: mtuguard_reloads_total{result=RESULT} as the daemon's /metrics (the default
# --metrics-listen, in the gateway's namespace) serves it now.
reloads()
{
    ip netns exec "$NS_GATEWAY" curl -sf --max-time 5 http://127.0.0.1:9784/metrics |
        awk -v s="mtuguard_reloads_total{result=\"$1\"}" 'index($0, s " ") == 1 { print $2 }'
}

write_config()
{
    printf '%s\n' "# written by tests/e2e/systemd_test.sh" "$@" >"$MG_TMP/mtuguard.conf"
}

fresh_state()
{
    rm -rf "$(pin_dir)"
    ip -n "$NS_GATEWAY" link set dev gw-in xdp off 2>/dev/null || true
    mg_flush_pmtu
}

# --- 1. readiness and the watchdog -------------------------------------------------------------

test_ready_and_watchdog()
{
    local ready snapshot id gaps count max_gap
    fresh_state
    notify_start
    export NOTIFY_SOCKET="$MG_TMP/notify.sock" WATCHDOG_USEC=1000000
    mg_daemon_start --iface gw-in --session "$SESSION4"
    unset NOTIFY_SOCKET WATCHDOG_USEC
    wait_notify 1 'READY=1'
    sleep 3 # for the watchdog

    ready=$(notify_lines 'READY=1' | head -n 1)
    mg_note "at READY=1: ${ready#* @ }"
    mg_assert_eq "notifications before READY=1" "" \
        "$(awk '/READY=1/ { exit } { print }' "$MG_TMP/notify.log")"
    mg_assert_eq "sender of READY=1" "$MG_DAEMON_PID" "$(printf '%s\n' "$ready" | cut -d' ' -f2)"
    mg_assert_match "READY=1 carries the summary" \
        'STATUS=enforcing 1 session\(s\) and 0 pool\(s\) on 1 interface\(s\), oversize action icmp' "$ready"
    snapshot=${ready#* @ }
    id=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_assert_eq "XDP program on gw-in while READY=1 arrived (the one attached now)" "xdp=$id" \
        "$(printf '%s\n' "$snapshot" | grep -o 'xdp=[a-z0-9]*')"
    mg_assert_eq "entries in the pinned IPv4 session map at READY=1" "sessions4=1" \
        "$(printf '%s\n' "$snapshot" | grep -o 'sessions4=[-0-9]*')"
    mg_assert_eq "CapEff of every thread at READY=1" "capeff=$NO_CAPABILITIES" \
        "$(printf '%s\n' "$snapshot" | grep -o 'capeff=[0-9a-f,]*')"
    mg_assert_eq "CapEff of every thread now" "$NO_CAPABILITIES" "$(capabilities "$MG_DAEMON_PID")"
    mg_assert_match "the daemon's log" 'dropped all capabilities' "$(cat "$MG_DAEMON_LOG")"

    # A 1 s watchdog: fed every 250 ms, never 1 s without.
    count=$(notify_lines 'WATCHDOG=1' | wc -l)
    gaps=$(notify_lines 'WATCHDOG=1' | awk 'NR > 1 { print $1 - last } { last = $1 }')
    max_gap=$(printf '%s\n' "$gaps" | sort -n | tail -n 1)
    mg_note "WATCHDOG=1 $count times in 3 s, longest gap ${max_gap} ms"
    mg_assert_cmp "WATCHDOG=1 notifications in 3 s" "$count" -ge 6
    mg_assert_cmp "longest gap between WATCHDOG=1 (ms)" "${max_gap:-99999}" -lt 1000
    mg_assert_eq "senders of WATCHDOG=1" "$MG_DAEMON_PID" \
        "$(notify_lines 'WATCHDOG=1' | cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"

    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    wait_notify 1 'STOPPING=1'
    mg_assert_eq "XDP on gw-in after the stop (detached without capabilities)" "" \
        "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    [ ! -e "$(pin_dir)/links" ] || mg_fail "pins left at $(pin_dir): $(find "$(pin_dir)" | tr '\n' ' ')"
    notify_stop
}

# --- 2. SIGHUP ---------------------------------------------------------------------------------

test_reload()
{
    local p1 link1 status before readies
    fresh_state
    notify_start
    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = icmp"
    export NOTIFY_SOCKET="$MG_TMP/notify.sock"
    mg_daemon_start --config "$MG_TMP/mtuguard.conf" --keep-attached
    unset NOTIFY_SOCKET
    wait_notify 1 'READY=1'
    p1=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    link1=$(bpftool link show pinned "$(pin_dir)/links/gw-in" | sed -n 's/^\([0-9]*\): xdp .*/\1/p')
    mg_assert_eq "CapEff of every thread" "$NO_CAPABILITIES" "$(capabilities "$MG_DAEMON_PID")"
    mg_assert_eq "reloads applied, before any" 0 "$(reloads applied)"
    mg_assert_eq "reloads refused, before any" 0 "$(reloads refused)"

    # Without capabilities: a session added and one switched to DTLS at runtime, stats read.
    ctl_ok session add 10.8.0.77 --dtls-mtu 1418 --tls-mtu 1347 --transport tls
    ctl_ok session transport "$MG_CLIENT4" dtls
    ctl_ok -o json stats
    mg_assert_eq "sessions before the reload" \
        "10.8.0.5/static/dtls/1418 10.8.0.77/mtuguardctl/tls/1347" "$(sessions_text)"
    ping_oversize
    mg_assert_match "1419 bytes on DTLS, --on-oversize icmp" 'Frag needed and DF set \(mtu = 1418\)' "$PING_OUT"

    # 1. Valid: a new session, another action and ICMP rate, and a map size that needs a restart.
    write_config "iface = gw-in" "session = $SESSION4" "session = 10.8.0.6,dtls-mtu=1400,tls-mtu=1300,transport=dtls" \
        "on-oversize = drop" "icmp-rate = 500" "max-sessions = 1000"
    kill -HUP "$MG_DAEMON_PID"
    wait_log 'reloaded:'
    wait_notify 2 'READY=1'
    mg_note "log: $(awk '/reload/ { printf "%s%s", sep, $0; sep = " | " }' "$MG_DAEMON_LOG")"
    mg_assert_match "the reload's log line" \
        'reloaded: 1 session\(s\) added, 0 changed, 0 removed; --on-oversize icmp -> drop; --icmp-rate 1000 -> 500; needs a restart, kept as running: --max-sessions' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "the warning names the option" 'reload: --max-sessions 1000 needs a restart; running on with 65536' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "notifications after SIGHUP, in order" "RELOADING=1 READY=1" \
        "$(awk '/RELOADING=1/ { seen = 1 } seen { print $3 }' "$MG_TMP/notify.log" | grep -v '^WATCHDOG' |
            sed 's/|.*//' | head -n 2 | tr '\n' ' ' | sed 's/ $//')"
    mg_assert_match "READY=1 after the reload carries the new summary" \
        'READY=1\|STATUS=enforcing 3 session\(s\) .*oversize action drop' "$(notify_lines 'READY=1' | tail -n 1)"

    ctl_ok -o json status
    status=$CTL_OUT
    mg_assert_eq "status: on_oversize" drop "$(json_get 'd["settings"]["on_oversize"]' "$status")"
    mg_assert_eq "status: icmp_rate" 500 "$(json_get 'd["settings"]["icmp_rate"]' "$status")"
    mg_assert_eq "status: capacity (--max-sessions kept)" 65536 "$(json_get 'd["sessions"]["capacity"]' "$status")"
    mg_assert_eq "status: program id (no re-attach)" "$p1" "$(json_get 'd["interfaces"][0]["program_id"]' "$status")"
    mg_assert_eq "XDP program on gw-in" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_assert_eq "pinned link id" "$link1" \
        "$(bpftool link show pinned "$(pin_dir)/links/gw-in" | sed -n 's/^\([0-9]*\): xdp .*/\1/p')"
    # 10.8.0.5 unchanged in the file: keeps the transport it was switched to.
    mg_assert_eq "sessions after the reload" \
        "10.8.0.5/static/dtls/1418 10.8.0.6/static/dtls/1400 10.8.0.77/mtuguardctl/tls/1347" "$(sessions_text)"
    ping_oversize
    mg_assert_no_match "1419 bytes with --on-oversize drop: no error" 'Frag needed' "$PING_OUT"
    mg_assert_match "1419 bytes with --on-oversize drop: no reply" ' 0 received' "$PING_OUT"
    mg_assert_eq "CapEff of every thread after the reload" "$NO_CAPABILITIES" "$(capabilities "$MG_DAEMON_PID")"
    mg_assert_eq "reloads applied after the reload" 1 "$(reloads applied)"
    mg_assert_eq "reloads refused after the reload" 0 "$(reloads refused)"

    # 2. Invalid: refused whole, logged naming the option, nothing changed.
    before=$(sessions_text)
    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = explode" "icmp-rate = 7"
    kill -HUP "$MG_DAEMON_PID"
    wait_log 'reload refused'
    wait_notify 3 'READY=1'
    mg_note "refused: $(grep 'reload refused' "$MG_DAEMON_LOG")"
    mg_assert_match "the refusal names the option and value" \
        'error: reload refused: --on-oversize explode: expected icmp, drop, clear-df or monitor; running on' \
        "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "STATUS= says so" 'STATUS=enforcing .*; last reload refused: --on-oversize explode' \
        "$(notify_lines 'READY=1' | tail -n 1)"
    ctl_ok -o json status
    mg_assert_eq "status: on_oversize after the refused reload" drop "$(json_get 'd["settings"]["on_oversize"]' "$CTL_OUT")"
    mg_assert_eq "status: icmp_rate after the refused reload" 500 "$(json_get 'd["settings"]["icmp_rate"]' "$CTL_OUT")"
    mg_assert_eq "sessions after the refused reload" "$before" "$(sessions_text)"
    mg_assert_eq "XDP program on gw-in" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_alive "$MG_DAEMON_PID" || mg_fail "mtuguardd exited after the refused reload"
    mg_assert_eq "reloads applied after the refused reload" 1 "$(reloads applied)"
    mg_assert_eq "reloads refused after the refused reload" 1 "$(reloads refused)"

    # 3. Back to the first file: 10.8.0.6 goes, the mtuguardctl session stays, icmp again.
    readies=$(notify_lines 'READY=1' | wc -l)
    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = icmp"
    kill -HUP "$MG_DAEMON_PID"
    wait_notify $((readies + 1)) 'READY=1'
    wait_log 'reloaded: 0 session\(s\) added, 0 changed, 1 removed; --on-oversize drop -> icmp; --icmp-rate 500 -> 1000'
    mg_assert_eq "sessions after removing 10.8.0.6 from the file" \
        "10.8.0.5/static/dtls/1418 10.8.0.77/mtuguardctl/tls/1347" "$(sessions_text)"
    mg_assert_no_match "STATUS= after a good reload" 'last reload refused' "$(notify_lines 'READY=1' | tail -n 1)"
    mg_assert_eq "reloads applied after the third reload" 2 "$(reloads applied)"
    mg_assert_eq "reloads refused after the third reload" 1 "$(reloads refused)"
    ping_oversize
    mg_assert_match "1419 bytes, --on-oversize icmp again" 'Frag needed and DF set \(mtu = 1418\)' "$PING_OUT"

    # 4. SIGTERM of this --keep-attached daemon leaves it pinned; the next one adopts it.
    mg_daemon_stop
    mg_assert_eq "exit status of the --keep-attached daemon" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "XDP program on gw-in with no daemon" "$p1" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_daemon_start --config "$MG_TMP/mtuguard.conf"
    mg_assert_match "the restarted daemon's log" 're-adopted gw-in' "$(cat "$MG_DAEMON_LOG")"
    # 10.8.0.5 has the file's MTUs still: it keeps the transport it was switched to, as across
    # a reload (a restart must not put a client that fell back to TLS on the DTLS MTU again).
    mg_assert_eq "sessions after the restart" \
        "10.8.0.5/static/dtls/1418 10.8.0.77/mtuguardctl/tls/1347" "$(sessions_text)"
    mg_daemon_stop
    mg_assert_eq "exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    mg_assert_eq "XDP on gw-in after a plain stop" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    notify_stop
}

# --- 3. no control socket ----------------------------------------------------------------------

test_reload_without_control_socket()
{
    local count
    fresh_state
    notify_start
    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = icmp"
    export NOTIFY_SOCKET="$MG_TMP/notify.sock" WATCHDOG_USEC=1000000
    mg_daemon_start --config "$MG_TMP/mtuguard.conf" --control-socket ''
    unset NOTIFY_SOCKET WATCHDOG_USEC
    wait_notify 1 'READY=1'
    ping_oversize
    mg_assert_match "1419 bytes on TLS" 'Frag needed and DF set \(mtu = 1347\)' "$PING_OUT"

    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = drop"
    kill -HUP "$MG_DAEMON_PID"
    wait_log 'reloaded: 0 session\(s\) added, 0 changed, 0 removed; --on-oversize icmp -> drop'
    wait_notify 2 'READY=1'
    ping_oversize
    mg_assert_no_match "1419 bytes with --on-oversize drop" 'Frag needed' "$PING_OUT"
    sleep 2
    count=$(notify_lines 'WATCHDOG=1' | wc -l)
    mg_note "WATCHDOG=1 $count times without a control socket"
    mg_assert_cmp "WATCHDOG=1 notifications" "$count" -ge 6
    mg_assert_eq "CapEff of every thread" "$NO_CAPABILITIES" "$(capabilities "$MG_DAEMON_PID")"
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
    wait_notify 1 'STOPPING=1'
    notify_stop
}

# --- 4. --check-config ---------------------------------------------------------------------------

test_check_config()
{
    fresh_state
    write_config "iface = gw-in" "session = $SESSION4" "on-oversize = drop"
    mg_daemon_run --check-config --config "$MG_TMP/mtuguard.conf"
    mg_note "$(tr '\n' '|' <"$MG_DAEMON_LOG")"
    mg_assert_eq "exit status of --check-config on a good file" 0 "$MG_DAEMON_STATUS"
    mg_assert_match "what would run" 'enforce on: gw-in \(XDP auto\)' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "what would run" 'sessions: 1 exact, 0 pool\(s\)' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "what would run" 'on oversize: drop' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_match "its verdict" '^configuration OK$' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP on gw-in after --check-config" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    [ ! -e "$(pin_dir)" ] || mg_fail "--check-config pinned something: $(find "$(pin_dir)" | tr '\n' ' ')"
    [ ! -e "$MG_TMP/control.sock" ] || mg_fail "--check-config opened the control socket"

    write_config "iface = gw-in" "session = 10.8.0.5,dtls-mtu=99999,tls-mtu=1347"
    mg_daemon_run --check-config --config "$MG_TMP/mtuguard.conf"
    mg_note "bad session: $(tr '\n' '|' <"$MG_DAEMON_LOG")"
    mg_assert_eq "exit status of --check-config on a bad session" 2 "$MG_DAEMON_STATUS"
    mg_assert_match "the message names it" 'dtls-mtu .99999. is not a whole number from 576 to 65535' \
        "$(cat "$MG_DAEMON_LOG")"

    write_config "iface = gw-nope" "session = $SESSION4"
    mg_daemon_run --check-config --config "$MG_TMP/mtuguard.conf"
    mg_note "missing interface: $(tr '\n' '|' <"$MG_DAEMON_LOG")"
    mg_assert_eq "exit status of --check-config on a missing interface" 2 "$MG_DAEMON_STATUS"
    mg_assert_match "the message names it" '--iface gw-nope: no such interface' "$(cat "$MG_DAEMON_LOG")"
    mg_assert_eq "XDP on gw-in after the failed checks" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
}

mg_tests ready_and_watchdog reload reload_without_control_socket check_config
mg_main "$@"
