#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: the Debian package under a real systemd. systemd-nspawn boots this machine's own
# systemd as PID 1 in a container whose network is the gateway namespace; the package built from
# this tree is installed there with dpkg and runs as the service its unit describes. A stream of
# DF pings crosses the gateway while the service is reloaded, restarted and upgraded.
#
#    server                gateway = the container                   client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in [XDP]        gw-vpn           |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24       10.8.0.1/24      +---+ 10.8.0.5/24      |
#   +------------------+   +-------------------------------------+   +------------------+
#    ping -M do -s 1390     systemd (PID 1), journald                  answers pings
#    (1418 bytes, over      mtuguard.service from the .deb:
#    the TLS MTU 1347) -->  /etc/mtuguard/mtuguard.conf: iface = gw-in
#    <-- frag-needed        /sys/fs/bpf = $MG_TMP/bpffs (the host sees the pins)
#    ping -s 1000 <-->      systemctl reload / restart, dpkg -i (newer), stop, dpkg -r
#
# The container's root is an overlay of the host's / with a tmpfs on top: the host's systemd,
# dpkg database and libraries, with every write (the package, /etc, the journal) thrown away with
# the container. (`--volatile=yes` gives a read-only /usr and no dpkg database, so no dpkg -i;
# nspawn refuses `--volatile=overlay` on / itself.) It boots basic.target only: the host's own
# services (prometheus, postgresql, ...) stay off. Its commands run through nsenter into its
# namespaces (no machined here: --register=no, --keep-unit).
#
# Tests (one function each, in this order, on one container):
#   reload_restart_upgrade  dpkg -i, a config, `systemctl enable --now`: READY (ActiveState active
#                           once attached), STATUS, NotifyAccess, the 30 s watchdog as systemd shows
#                           them. Then, under 1500 oversize DF pings (each must be answered with
#                           frag-needed) and 1500 within-MTU pings (none may be lost) at 10 ms:
#                           `systemctl reload` with a new session (same daemon, same program),
#                           `systemctl restart` and `dpkg -i` of the same package one version up
#                           (a new daemon each, its program swapped into the same pinned link); the
#                           watchdog fed throughout, no restart by failure, and every line the
#                           journal has of the service at its priority: nothing above info
#   crash_restart           the daemon SIGKILLed under 2 x 800 pings: nothing unanswered or lost
#                           while Restart=on-failure brings the next one, which re-adopts; above
#                           info the journal has only systemd's two warnings about the kill
#   refused_reload          a file with a bad session line: `systemctl reload` fails (ExecReload=
#                           runs mtuguardd --check-config), the daemon runs on unchanged, and the
#                           journal has the refusal at priority err
#   stop_and_remove         `systemctl stop` detaches everything (no XDP, nothing pinned); started
#                           again, `dpkg -r` stops it and leaves nothing either
#
# Run as root: tests/e2e/nspawn_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed; the container is down by
# then).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TLS_MTU=1347
# Equal MTUs: a session whose client applies a larger DTLS MTU than the one enforced is in MTU
# mismatch, which the daemon logs as a warning; these runs must log none.
SESSION4="$MG_CLIENT4,dtls-mtu=$TLS_MTU,tls-mtu=$TLS_MTU,transport=tls"
SESSION4_ADDED="10.8.0.6,dtls-mtu=1300,tls-mtu=1300" # the reload adds it
OVERSIZE_PAYLOAD=1390 # 1390 + 28 = 1418 bytes: over the TLS MTU
FRAG_NEEDED_TLS="From ${MG_GW_IN4//./\\.} icmp_seq=[0-9]+ Frag needed and DF set \\(mtu = $TLS_MTU\\)"
STREAM_COUNT=1500 # pings per stream (-i 0.01: 15 s at least)
CRASH_STREAM_COUNT=800 # through RestartSec=2s and a start
CLIENT_NET4=10.8.0.0/24
UNIT=mtuguard.service

CONTAINER_ROOT="" # the overlay the container boots from
NSPAWN_PID=""
LEADER=""         # the container's PID 1, as the host sees it
DEB_OLD="" DEB_NEW="" VERSION_OLD="" VERSION_NEW=""

# --- the container -----------------------------------------------------------------------------

# in_container CMD...: CMD inside the container's namespaces, at most 60 s, stdin /dev/null.
in_container() { timeout 60 nsenter -t "$LEADER" -a "$@" </dev/null; }

# unit_show PROPERTY: one property of the unit as systemd has it.
unit_show() { in_container systemctl show -P "$1" "$UNIT"; }

# status_is TEXT, unit_state_is STATE: StatusText begins with TEXT; ActiveState is STATE.
status_is() { [[ $(unit_show StatusText) == "$1"* ]]; }
unit_state_is() { [ "$(unit_show ActiveState)" = "$1" ]; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# build_packages: the package of this build (cpack) and the same one a version up (repacked with
# dpkg-deb), for the upgrade.
build_packages()
{
    local build out start
    start=$(now_ms)
    build=$(cd "$MG_BUILD_DIR" && pwd)
    mkdir -p "$MG_TMP/debs"
    (cd "$build" && cpack -G DEB -B "$MG_TMP/cpack") >"$MG_TMP/cpack.log" 2>&1 ||
        mg_fail "cpack -G DEB failed:
$(tail -n 20 "$MG_TMP/cpack.log" | sed 's/^/    | /')"
    out=$(find "$MG_TMP/cpack" -maxdepth 1 -name 'mtuguard_*.deb' | head -n 1)
    [ -n "$out" ] || mg_fail "cpack wrote no mtuguard_*.deb: $(ls "$MG_TMP/cpack")"
    VERSION_OLD=$(dpkg-deb -f "$out" Version)
    VERSION_NEW="$VERSION_OLD+1"
    DEB_OLD="$MG_TMP/debs/old.deb"
    DEB_NEW="$MG_TMP/debs/new.deb"
    mv "$out" "$DEB_OLD"
    dpkg-deb -R "$DEB_OLD" "$MG_TMP/repack"
    sed -i "s/^Version: .*/Version: $VERSION_NEW/" "$MG_TMP/repack/DEBIAN/control"
    dpkg-deb -b "$MG_TMP/repack" "$DEB_NEW" >/dev/null
    dpkg --compare-versions "$VERSION_NEW" gt "$VERSION_OLD" || mg_fail "$VERSION_NEW is not newer than $VERSION_OLD"
    rm -rf "$MG_TMP/cpack" "$MG_TMP/repack"
    mg_note "packages $VERSION_OLD and $VERSION_NEW built in $(($(now_ms) - start)) ms"
}

# find_leader: sets LEADER once nspawn's child is systemd (before that it is nspawn's own fork).
find_leader()
{
    local pid
    for pid in $(pgrep -P "$NSPAWN_PID"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && LEADER=$pid && return 0
    done
    return 1
}

# container_up: the overlay root and systemd booted in it, up to a finished start-up.
container_up()
{
    local state start
    mkdir -p "$MG_TMP/rw" "$MG_TMP/root"
    mount -t tmpfs tmpfs "$MG_TMP/rw"
    mkdir "$MG_TMP/rw/upper" "$MG_TMP/rw/work"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$MG_TMP/rw/upper,workdir=$MG_TMP/rw/work" "$MG_TMP/root"
    CONTAINER_ROOT="$MG_TMP/root"
    # A policy-rc.d that forbids service actions (container images carry one returning 101) would
    # keep the postinst from restarting the service on the upgrade, as it should: not here.
    rm -f "$CONTAINER_ROOT/usr/sbin/policy-rc.d"
    if ! mountpoint -q "$MG_TMP/bpffs"; then
        mkdir -p "$MG_TMP/bpffs"
        mount -t bpf bpf "$MG_TMP/bpffs"
    fi
    start=$(now_ms)
    # CAP_BPF and CAP_PERFMON are not in nspawn's default bounding set, bpf(2) not in its system
    # call filter (the kernel would seem to lack every program and map type).
    systemd-nspawn --quiet -D "$CONTAINER_ROOT" --boot --machine="$MG_RUN_ID" --register=no --keep-unit \
        --link-journal=no --console=passive --network-namespace-path="/run/netns/$NS_GATEWAY" \
        --bind="$MG_TMP/bpffs:/sys/fs/bpf" --bind-ro="$MG_TMP/debs:/run/mtuguard-debs" \
        --capability=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN --system-call-filter=bpf systemd.unit=basic.target \
        >"$MG_TMP/console.log" 2>&1 &
    NSPAWN_PID=$!
    mg_wait_for 20 "systemd as the container's PID 1" find_leader
    mg_wait_for 20 "the container's systemd answering" in_container test -S /run/systemd/private
    state=$(in_container systemctl is-system-running --wait) || true
    mg_note "container $MG_RUN_ID (PID 1 = $LEADER on the host): $state after $(($(now_ms) - start)) ms, $(in_container systemctl --version | head -n 1)"
    case $state in
    running | degraded) ;;
    *) mg_fail "the container's systemd did not finish starting: $state
$(tail -n 30 "$MG_TMP/console.log" | sed 's/^/    | /')" ;;
    esac
}

# container_down: powers the container off (SIGTERM to nspawn), SIGKILL after 15 s; unmounts its
# root.
container_down()
{
    local tries=150
    if [ -n "$NSPAWN_PID" ]; then
        kill -TERM "$NSPAWN_PID" 2>/dev/null || true
        while kill -0 "$NSPAWN_PID" 2>/dev/null && [ "$tries" -gt 0 ]; do
            sleep 0.1
            tries=$((tries - 1))
        done
        kill -KILL "$NSPAWN_PID" 2>/dev/null || true
        wait "$NSPAWN_PID" 2>/dev/null || true
    fi
    if [ -n "$CONTAINER_ROOT" ]; then
        umount "$CONTAINER_ROOT" 2>/dev/null || umount -l "$CONTAINER_ROOT" 2>/dev/null || true
        umount "$MG_TMP/rw" 2>/dev/null || umount -l "$MG_TMP/rw" 2>/dev/null || true
    fi
    # nspawn's mount propagation directory for the machine, left where /run is no tmpfs
    rm -rf "/run/systemd/nspawn/propagate/$MG_RUN_ID"
}

# write_config [SESSION...]: the service's config file: gw-in, the session, no ICMP rate limits
# (every oversize packet of the stream is answered), plus SESSION lines.
write_config()
{
    local spec
    {
        echo "iface = gw-in"
        echo "session = $SESSION4"
        for spec in "$@"; do echo "session = $spec"; done
        echo "icmp-rate = 0"
        echo "icmp-rate-per-source = 0"
    } >"$CONTAINER_ROOT/etc/mtuguard/mtuguard.conf"
}

# dpkg_install DEB: dpkg -i in the container; the output in DPKG_OUT.
dpkg_install()
{
    DPKG_OUT=$(in_container dpkg -i "/run/mtuguard-debs/$(basename "$1")" 2>&1) ||
        mg_fail "dpkg -i $(basename "$1") in the container failed:
$(printf '%s\n' "$DPKG_OUT" | sed 's/^/    | /')"
}

# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
installed_version() { in_container dpkg-query -W -f '${Version}' mtuguard; }

# service_ctl ARGS...: mtuguardctl in the container, against the service's socket; sets CTL_OUT.
service_ctl()
{
    CTL_OUT=$(in_container mtuguardctl "$@" 2>&1) || mg_fail "mtuguardctl $* in the container: $CTL_OUT"
}

link_id() { bpftool link show pinned "$(pin_dir)/links/gw-in" | sed -n 's/^\([0-9]*\): xdp .*/\1/p'; }

# expect_running WHAT: the service is up as systemd sees it: active/running after READY=1, its
# status line from the daemon, notify access for the main process, the 30 s watchdog.
expect_running()
{
    local what=$1 show
    show=$(in_container systemctl show -p Type,ActiveState,SubState,StatusText,NotifyAccess,WatchdogUSec,Result "$UNIT")
    mg_note "$what: $(printf '%s\n' "$show" | tr '\n' ' ')"
    mg_assert_eq "$what: Type" notify "$(mg_kv Type "$show")"
    mg_assert_eq "$what: ActiveState" active "$(mg_kv ActiveState "$show")"
    mg_assert_eq "$what: SubState" running "$(mg_kv SubState "$show")"
    mg_assert_match "$what: StatusText (the daemon's STATUS=)" '^enforcing [0-9]+ session' "$(mg_kv StatusText "$show")"
    mg_assert_eq "$what: NotifyAccess" main "$(mg_kv NotifyAccess "$show")"
    mg_assert_eq "$what: WatchdogUSec" 30s "$(mg_kv WatchdogUSec "$show")"
    mg_assert_eq "$what: Result" success "$(mg_kv Result "$show")"
}

JOURNAL_CURSOR=""
# journal_mark: journal_lines from here on shows only what comes after this point.
journal_mark()
{
    JOURNAL_CURSOR=$(in_container journalctl -n 1 -o export --no-pager | sed -n 's/^__CURSOR=//p')
}

# record_daemon: appends the service's MainPID, the program on gw-in and the pinned link's id
# to DAEMONS, PROGRAMS and LINKS.
record_daemon()
{
    DAEMONS+=("$(unit_show MainPID)")
    PROGRAMS+=("$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)")
    LINKS+=("$(link_id)")
}

# expect_new_daemon WHAT START-MS: after a restart (WHAT) begun at START-MS, the service runs
# again (expect_running); its daemon, program and link recorded.
expect_new_daemon()
{
    expect_running "after $1"
    record_daemon
    mg_note "$1: MainPID ${DAEMONS[-2]} -> ${DAEMONS[-1]}, program ${PROGRAMS[-2]} -> ${PROGRAMS[-1]}, link ${LINKS[-2]} -> ${LINKS[-1]}, $(($(now_ms) - $2)) ms"
}

# journal_lines: the service's journal (after journal_mark) as "PRIORITY MESSAGE" lines.
journal_lines()
{
    in_container journalctl -u "$UNIT" -o json --no-pager ${JOURNAL_CURSOR:+--after-cursor="$JOURNAL_CURSOR"} |
        "$MG_PYTHON" -c '
import json, sys
for line in sys.stdin:
    entry = json.loads(line)
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):
        message = bytes(message).decode(errors="replace")
    print(entry.get("PRIORITY", "?"), message)'
}

# journal_above_info: the lines of journal_lines above info (priority 0-5). Filtered here: with -u,
# journalctl -p left out a line of PID 1 about the unit (systemd 252).
journal_above_info() { journal_lines | grep -E '^[0-5] ' || true; }

# --- setup ------------------------------------------------------------------------------------

mg_preflight()
{
    mg_require_tool systemd-nspawn nsenter cpack dpkg-deb pgrep mountpoint
}

mg_setup()
{
    # The container first, then lib.sh's cleanup with the exit status the script had (set +e: a
    # failing step here must not end the trap before the namespaces and mounts are gone).
    trap 'MG_STATUS=$?; set +e; container_down; (exit "$MG_STATUS"); mg_cleanup' EXIT
    build_packages
    container_up
}

# --- the tests ---------------------------------------------------------------------------------

test_reload_restart_upgrade()
{
    local pid0 p0 link0 t0 t_done t_reload t_restart t_upgrade t_upgraded
    local wd0 wd1 lines

    journal_mark
    dpkg_install "$DEB_OLD"
    mg_assert_eq "installed version" "$VERSION_OLD" "$(installed_version)"
    write_config
    in_container systemctl enable --now "$UNIT" >/dev/null 2>&1 ||
        mg_fail "systemctl enable --now failed:
$(in_container journalctl --no-pager -n 40 -o short-monotonic 2>&1 | sed 's/^/    | /')"
    expect_running "after enable --now"
    DAEMONS=() PROGRAMS=() LINKS=()
    record_daemon
    pid0=${DAEMONS[0]} p0=${PROGRAMS[0]} link0=${LINKS[0]}
    mg_assert_match "program on gw-in" '^[0-9]+$' "$p0"
    mg_assert_match "pinned link under the container's /sys/fs/bpf/mtuguard" '^[0-9]+$' "$link0"
    wd0=$(unit_show WatchdogTimestampMonotonic)

    # Every oversize ping sent at 1418 bytes: a locked route MTU is not lowered by frag-needed.
    ip -n "$NS_SERVER" route replace "$CLIENT_NET4" via "$MG_GW_IN4" mtu lock 1500
    mg_flush_pmtu
    t0=$(now_ms)
    mg_streams_start service "$OVERSIZE_PAYLOAD" "$STREAM_COUNT"
    sleep 1

    # 1. reload: the same daemon and program, the new session applied
    write_config "$SESSION4_ADDED"
    t_reload=$(now_ms)
    in_container systemctl reload "$UNIT" || mg_fail "systemctl reload failed"
    # systemd 252 ends the reload job with ExecReload= (the SIGHUP sent); the daemon's RELOADING=1
    # ... READY=1 comes after it: wait for what it applied, then for systemd's "active" again.
    mg_wait_for 10 "the reload applied (2 sessions in the status line)" status_is 'enforcing 2 session'
    mg_wait_for 10 "ActiveState active after the reload" unit_state_is active
    expect_running "after reload"
    mg_assert_eq "MainPID after reload" "$pid0" "$(unit_show MainPID)"
    mg_assert_eq "program on gw-in after reload" "$p0" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    service_ctl -o json session list 10.8.0.6
    mg_assert_eq "the session the reload added (its TLS MTU)" 1300 \
        "$(json_get 'd["sessions"][0]["tls_mtu"]' "$CTL_OUT")"
    sleep 1

    # 2. restart: a new daemon, its program in the old daemon's pinned link
    t_restart=$(now_ms)
    in_container systemctl restart "$UNIT" || mg_fail "systemctl restart failed"
    expect_new_daemon "restart" "$t_restart"
    sleep 1

    # 3. the upgrade: postinst restarts the running service
    t_upgrade=$(now_ms)
    dpkg_install "$DEB_NEW"
    mg_assert_eq "installed version after dpkg -i" "$VERSION_NEW" "$(installed_version)"
    expect_new_daemon "dpkg -i $VERSION_NEW" "$t_upgrade"
    t_upgraded=$(now_ms)

    # --- what the wire saw
    mg_streams_check service "$STREAM_COUNT" "$FRAG_NEEDED_TLS"
    t_done=$(now_ms)
    mg_note "reload at +$((t_reload - t0)) ms, restart at +$((t_restart - t0)) ms, dpkg -i at +$((t_upgrade - t0)) ms, streams done at +$((t_done - t0)) ms"
    mg_assert_cmp "the upgrade done (ms) before the streams ended (ms)" "$t_upgraded" -lt "$t_done"
    ip -n "$NS_SERVER" route del "$CLIENT_NET4"

    # --- each new daemon swapped its program into the link the first one pinned
    mg_note "first, after the restart, after the upgrade: MainPID ${DAEMONS[*]}; program on gw-in ${PROGRAMS[*]}; pinned link ${LINKS[*]}"
    mg_assert_eq "the pinned link's id: first, after the restart, after the upgrade" \
        "$link0 $link0 $link0" "${LINKS[*]}"
    mg_assert_eq "distinct daemons (MainPID) and programs: first, after the restart, after the upgrade" \
        "3 3" "$(printf '%s\n' "${DAEMONS[@]}" | sort -u | wc -l) $(printf '%s\n' "${PROGRAMS[@]}" | sort -u | wc -l)"

    # --- systemd's view over the whole run: fed watchdog, no restart by failure
    wd1=$(unit_show WatchdogTimestampMonotonic)
    mg_note "watchdog: last WATCHDOG=1 at ${wd0} -> ${wd1} (monotonic us), NRestarts=$(unit_show NRestarts)"
    mg_assert_cmp "WatchdogTimestampMonotonic advanced" "$wd1" -gt "$wd0"
    mg_assert_eq "NRestarts (restarts by Restart=on-failure)" 0 "$(unit_show NRestarts)"

    # --- the journal: each daemon's stop and start at the priority it was logged with
    lines=$(journal_lines)
    printf '%s\n' "$lines" >"$MG_TMP/journal.txt"
    mg_note "journal of $UNIT: $(wc -l <<<"$lines") lines; by priority: $(cut -d' ' -f1 <<<"$lines" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
    mg_assert_eq "journal lines above info (priority < 6)" "" "$(journal_above_info)"
    mg_assert_eq "stops on SIGQUIT leaving everything attached (restart, upgrade), at info" 2 \
        "$(grep -c '^6 stopping on Quit: leaving the programs attached' <<<"$lines" || true)"
    mg_assert_eq "stops that detached" 0 "$(grep -c 'detaching' <<<"$lines" || true)"
    mg_assert_eq "daemons that re-adopted gw-in, at info" 2 "$(grep -c '^6 re-adopted gw-in' <<<"$lines" || true)"
    mg_assert_eq "reloads, at info" 1 "$(grep -c '^6 reload: re-reading the configuration' <<<"$lines" || true)"
    mg_assert_eq "starts systemd saw complete (READY=1: enable --now, restart, upgrade)" 3 \
        "$(grep -c '^6 Started mtuguard.service' <<<"$lines" || true)"
}

# ensure_running: the package installed and the service running with the config of write_config.
ensure_running()
{
    in_container systemctl is-active --quiet "$UNIT" && return 0
    in_container dpkg-query -W mtuguard >/dev/null 2>&1 || dpkg_install "$DEB_OLD"
    write_config
    in_container systemctl enable --now "$UNIT" >/dev/null 2>&1 || mg_fail "systemctl enable --now failed"
}

# restarted_once_more N: systemd has restarted the service by Restart= N times, and it is active.
restarted_once_more()
{
    [ "$(unit_show NRestarts)" = "$1" ] && [ "$(unit_show ActiveState)" = active ]
}

test_crash_restart()
{
    local restarts lines t_kill
    ensure_running
    journal_mark
    DAEMONS=() PROGRAMS=() LINKS=()
    record_daemon
    restarts=$(unit_show NRestarts)
    ip -n "$NS_SERVER" route replace "$CLIENT_NET4" via "$MG_GW_IN4" mtu lock 1500
    mg_flush_pmtu
    mg_streams_start crash "$OVERSIZE_PAYLOAD" "$CRASH_STREAM_COUNT"
    sleep 1
    t_kill=$(now_ms)
    in_container systemctl kill --kill-who=main --signal=KILL "$UNIT"
    mg_wait_for 20 "systemd restarting the killed daemon (Restart=on-failure)" restarted_once_more $((restarts + 1))
    expect_new_daemon "SIGKILL and Restart=on-failure" "$t_kill"
    mg_streams_check crash "$CRASH_STREAM_COUNT" "$FRAG_NEEDED_TLS"
    ip -n "$NS_SERVER" route del "$CLIENT_NET4"
    mg_assert_eq "the pinned link's id after the crash" "${LINKS[0]}" "${LINKS[1]}"
    mg_assert_cmp "MainPID after the crash (differs from ${DAEMONS[0]})" "${DAEMONS[1]}" -ne "${DAEMONS[0]}"
    lines=$(journal_lines)
    mg_note "journal: $(grep -v '^6 ' <<<"$lines" | tr '\n' '|')"
    # Above info only systemd's own account of the kill, at warning: how it ended, the result
    mg_assert_eq "journal lines above info" "4 mtuguard.service: Main process exited, code=killed, status=9/KILL
4 mtuguard.service: Failed with result 'signal'." "$(journal_above_info)"
    mg_assert_eq "the new daemon re-adopted gw-in, at info" 1 "$(grep -c '^6 re-adopted gw-in' <<<"$lines" || true)"
}

test_refused_reload()
{
    local pid status lines
    ensure_running
    journal_mark
    pid=$(unit_show MainPID)
    status=$(unit_show StatusText)
    echo "session = 10.8.0.7,dtls-mtu=1418" >>"$CONTAINER_ROOT/etc/mtuguard/mtuguard.conf"
    if in_container systemctl reload "$UNIT" 2>/dev/null; then
        mg_fail "systemctl reload succeeded with a session line that lacks tls-mtu"
    fi
    expect_running "after the refused reload"
    mg_assert_eq "MainPID after the refused reload" "$pid" "$(unit_show MainPID)"
    mg_assert_eq "StatusText after the refused reload" "$status" "$(unit_show StatusText)"
    lines=$(journal_lines)
    mg_note "journal of the refused reload: $(printf '%s\n' "$lines" | tr '\n' '|')"
    mg_assert_match "mtuguardd --check-config's refusal, at priority err (3)" '^3 .*10\.8\.0\.7' "$lines"
    mg_assert_eq "lines naming the refused session at another priority" "" \
        "$(grep -v '^3 ' <<<"$lines" | grep '10\.8\.0\.7' || true)"
    write_config
}

test_stop_and_remove()
{
    local lines p
    ensure_running
    journal_mark
    p=$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)
    mg_assert_match "program on gw-in before the stop" '^[0-9]+$' "$p"
    in_container systemctl stop "$UNIT" || mg_fail "systemctl stop failed"
    mg_assert_eq "ActiveState after stop" inactive "$(unit_show ActiveState)"
    mg_assert_eq "Result after stop" success "$(unit_show Result)"
    mg_assert_eq "program on gw-in after systemctl stop" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_assert_eq "pinned under the container's /sys/fs/bpf/mtuguard after stop" "" \
        "$(find "$(pin_dir)" -mindepth 1 2>/dev/null | head -n 3)"
    lines=$(journal_lines)
    mg_assert_match "the stop, at info" "^6 stopping on Terminated: detaching" "$lines"

    in_container systemctl start "$UNIT" || mg_fail "systemctl start failed"
    mg_assert_match "program on gw-in after start" '^[0-9]+$' "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    DPKG_OUT=$(in_container dpkg -r mtuguard 2>&1) || mg_fail "dpkg -r mtuguard failed: $DPKG_OUT"
    mg_assert_eq "program on gw-in after dpkg -r" "" "$(mg_xdp_prog_id "$NS_GATEWAY" gw-in)"
    mg_assert_eq "pinned after dpkg -r" "" "$(find "$(pin_dir)" -mindepth 1 2>/dev/null | head -n 3)"
    mg_assert_eq "journal lines above info (priority < 6)" "" "$(journal_above_info)"
}

mg_tests reload_restart_upgrade crash_restart refused_reload stop_and_remove
mg_main "$@"
