#!/bin/bash
# The shell scripts the package ships: syntax (and shellcheck where it is installed), then the
# ocserv connect-script run as ocserv runs it, with a fake mtuguardctl and logger on PATH that
# record their arguments: the exact mtuguardctl calls for connect and disconnect, settings from
# the defaults file, and a login that never fails nor hangs whatever mtuguardctl does. The unit's
# ExecStop= script with a stand-in systemctl: SIGQUIT (waited for) only during a restart job.
set -euo pipefail

source=${MTUGUARD_SOURCE_DIR:?}
real_ctl=${1:?usage: scripts_test.sh PATH-TO-MTUGUARDCTL}
connect="$source/deploy/ocserv/mtuguard-connect"
completion="$source/deploy/bash-completion/mtuguardctl"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

echo "== syntax"
bash -n "$completion" || fail "completion: bash -n"
bash -n "$connect" || fail "connect-script: bash -n"
sh -n "$connect" || fail "connect-script: sh -n"
if command -v dash >/dev/null; then dash -n "$connect" || fail "connect-script: dash -n"; fi
for script in "$source"/deploy/debian/* "$source/deploy/systemd/mtuguard-stop"; do sh -n "$script" || fail "$script: sh -n"; done
[ -x "$connect" ] || fail "connect-script is not executable"
if command -v shellcheck >/dev/null; then
    shellcheck -s sh "$connect" "$source"/deploy/debian/* "$source/deploy/systemd/mtuguard-stop" || fail "shellcheck"
    shellcheck -s bash "$completion" || fail "shellcheck completion"
else
    echo "note: no shellcheck here, skipped it"
fi

echo "== connect-script"
fake="$scratch/bin"
mkdir "$fake"
calls="$scratch/calls" logs="$scratch/logs"
# mtuguardctl: records one call per line, arguments separated by |; FAKE_CTL says how it ends
cat >"$fake/mtuguardctl" <<'EOF'
#!/bin/sh
line=""
for a in "$@"; do line="$line|$a"; done
echo "${line#|}" >>"$CALLS"
case "${FAKE_CTL:-ok}" in
ok) echo "added $3"; exit 0 ;;
fail) echo "mtuguardctl: cannot reach mtuguardd at /run/mtuguard/control.sock: No such file or directory (is it running?)" >&2; exit 1 ;;
hang) sleep 30; exit 0 ;;
esac
EOF
cat >"$fake/logger" <<'EOF'
#!/bin/sh
echo "$*" >>"$LOGS"
EOF
chmod +x "$fake/mtuguardctl" "$fake/logger"

# Runs the connect-script as ocserv would (a clean environment but for its variables).
run_script() {
    : >"$calls"
    : >"$logs"
    env -i PATH="$fake:/usr/bin:/bin" CALLS="$calls" LOGS="$logs" \
        MTUGUARD_DEFAULTS="${DEFAULTS:-$scratch/none}" FAKE_CTL="${FAKE_CTL:-ok}" \
        USERNAME=alice ID=7 DEVICE=vpns0 IP_REAL=198.51.100.7 "$@" "$connect"
}
expect_calls() {
    local want
    want=$(printf '%s\n' "$@")
    [ "$(cat "$calls")" = "$want" ] || fail "$label: mtuguardctl was called as
$(cat "$calls")
expected
$want"
}

label="connect, IPv4 and IPv6"
run_script REASON=connect IP_REMOTE=10.8.0.5 IPV6_REMOTE=2001:db8:8::5 || fail "$label: exit $?"
expect_calls \
    "session|add|10.8.0.5|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|alice" \
    "session|add|2001:db8:8::5|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|alice"
grep -q "daemon.info.*connect of user alice id 7 device vpns0 from 198.51.100.7: added 10.8.0.5" "$logs" ||
    fail "$label: logged $(cat "$logs")"

label="disconnect, IPv4 and IPv6"
run_script REASON=disconnect IP_REMOTE=10.8.0.5 IPV6_REMOTE=2001:db8:8::5 || fail "$label: exit $?"
expect_calls "session|del|10.8.0.5" "session|del|2001:db8:8::5"

label="connect, IPv4 only, settings from the defaults file"
cat >"$scratch/defaults" <<'EOF'
MTUGUARD_OPTS="--iface eth1"
MTUGUARD_CIPHER=aes256-sha1
MTUGUARD_LINK_MTU=1400
MTUGUARD_TRANSPORT=tls
MTUGUARD_SOCKET=/run/other/control.sock
EOF
DEFAULTS="$scratch/defaults" run_script REASON=connect IP_REMOTE=10.8.0.6 || fail "$label: exit $?"
expect_calls "--socket|/run/other/control.sock|session|add|10.8.0.6|--cipher|aes256-sha1|--base-mtu|1400|--transport|tls|--public|198.51.100.7|--user|alice"

label="the packaged defaults file"
DEFAULTS="$source/deploy/default/mtuguard" run_script REASON=connect IP_REMOTE=10.8.0.7 || fail "$label: exit $?"
expect_calls "session|add|10.8.0.7|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|alice"

label="a broken defaults file"
printf 'MTUGUARD_CIPHER=rc4-sha1\nif then fi (\n' >"$scratch/broken"
DEFAULTS="$scratch/broken" run_script REASON=connect IP_REMOTE=10.8.0.8 || fail "$label: exit $?"
expect_calls "session|add|10.8.0.8|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|alice"

label="no usable public address"
run_script REASON=connect IP_REMOTE=10.8.0.9 IP_REAL='1.2.3.4;reboot' || fail "$label: exit $?"
expect_calls "session|add|10.8.0.9|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--user|alice"

label="the user's name and group, cleaned as mtuguardctl takes them"
run_script REASON=connect IP_REMOTE=10.8.0.10 USERNAME="$(printf 'bob,\tsmith')" GROUPNAME=engineering ||
    fail "$label: exit $?"
expect_calls "session|add|10.8.0.10|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|bobsmith|--group|engineering"
run_script REASON=connect IP_REMOTE=10.8.0.11 USERNAME="$(printf 'x%.0s' $(seq 70))" GROUPNAME='(none)' ||
    fail "$label: exit $?"
expect_calls "session|add|10.8.0.11|--cipher|aes256-gcm|--base-mtu|1500|--transport|dtls|--public|198.51.100.7|--user|$(printf 'x%.0s' $(seq 63))"

label="mtuguardd not running"
FAKE_CTL=fail run_script REASON=connect IP_REMOTE=10.8.0.5 || fail "$label: the login failed (exit $?)"
grep -q "daemon.warning.*mtuguardctl failed (exit 1): mtuguardctl: cannot reach" "$logs" ||
    fail "$label: logged $(cat "$logs")"

label="mtuguardctl hangs"
start=$(date +%s)
FAKE_CTL=hang run_script REASON=disconnect IP_REMOTE=10.8.0.5 MTUGUARD_TIMEOUT=1 || fail "$label: exit $?"
took=$(($(date +%s) - start))
[ "$took" -le 5 ] || fail "$label: the script took ${took}s"
grep -q "daemon.warning.*took more than 1s" "$logs" || fail "$label: logged $(cat "$logs")"

label="another REASON"
run_script REASON=host-update IP_REMOTE=10.8.0.5 || fail "$label: exit $?"
expect_calls

label="no address"
run_script REASON=connect || fail "$label: exit $?"
expect_calls
grep -q "daemon.warning.*nothing to add" "$logs" || fail "$label: logged $(cat "$logs")"

label="no mtuguardctl at all"
: >"$calls"
env -i PATH="$scratch/empty" REASON=connect IP_REMOTE=10.8.0.5 MTUGUARD_DEFAULTS=/nonexistent \
    MTUGUARD_SOCKET="$scratch/no.sock" \
    /bin/sh "$connect" || fail "$label: exit $?"

echo "== connect-script with the real mtuguardctl, against a stand-in control socket"
# The stand-in answers every request {"ok": true} and writes it down: the requests must be the
# ones the daemon understands, for the session the script was given.
mkdir "$scratch/real"
ln -s "$real_ctl" "$scratch/real/mtuguardctl"
cp "$fake/logger" "$scratch/real/logger"
socket="$scratch/control.sock" requests="$scratch/requests"
python3 - "$socket" "$requests" <<'PY' &
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen()
server.settimeout(30)
with open(sys.argv[2], "w") as log:
    for _ in range(2):
        connection, _ = server.accept()
        request = b""
        while not request.endswith(b"\n"):
            request += connection.recv(65536)
        log.write(request.decode())
        log.flush()
        connection.sendall(b'{"ok": true}\n')
        connection.close()
PY
server=$!
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
: >"$logs"
for reason in connect disconnect; do
    env -i PATH="$scratch/real:/usr/bin:/bin" LOGS="$logs" MTUGUARD_DEFAULTS=/nonexistent \
        MTUGUARD_SOCKET="$socket" REASON=$reason IP_REMOTE=10.8.0.5 "$connect" ||
        fail "real mtuguardctl, $reason: exit $?"
done
wait "$server" || fail "the stand-in control socket did not get two requests; log: $(cat "$logs")"
python3 - "$requests" <<'PY' || fail "real mtuguardctl: requests $(cat "$requests"); log $(cat "$logs")"
import json, sys
add, delete = [json.loads(line) for line in open(sys.argv[1])]
assert add["command"] == "session.add", add
[spec] = add["sessions"]
address, *settings = spec.split(",")
assert address == "10.8.0.5", spec
assert set(settings) == {"cipher=aes256-gcm", "link-mtu=1500", "transport=dtls"}, spec
assert delete == {"command": "session.del", "address": "10.8.0.5"}, delete
PY
if grep -q "daemon.warning" "$logs"; then fail "real mtuguardctl: warnings logged: $(cat "$logs")"; fi

echo "== the unit's ExecStop= (mtuguard-stop), with a stand-in systemctl and daemon"
stop_script="$source/deploy/systemd/mtuguard-stop"
[ -x "$stop_script" ] || fail "mtuguard-stop is not executable"
mkdir "$scratch/stop"
# systemctl list-jobs: the line systemd 252 prints for the unit's job, of type FAKE_JOB (none if empty)
cat >"$scratch/stop/systemctl" <<'EOF'
#!/bin/sh
[ "$1 $2 $3 $4" = "list-jobs --no-legend --plain mtuguard.service" ] || { echo "systemctl $*" >&2; exit 1; }
[ -z "$FAKE_JOB" ] || echo "157 mtuguard.service $FAKE_JOB running"
EOF
chmod +x "$scratch/stop/systemctl"
# The daemon: records the signal that ends it, some time after it came. Python, not a shell: a
# shell's background job ignores SIGQUIT and could not trap it.
cat >"$scratch/stop/daemon" <<'EOF'
#!/usr/bin/python3
import signal, sys, time
def record(what, delay):
    def handler(number, frame):
        time.sleep(delay)
        open(sys.argv[1], "w").write(what + "\n")
        sys.exit(0)
    return handler
signal.signal(signal.SIGQUIT, record("QUIT", 0.3))
signal.signal(signal.SIGTERM, record("TERM", 0))
open(sys.argv[1], "w").write("started\n")
while True:
    time.sleep(1)
EOF
chmod +x "$scratch/stop/daemon"
# check_stop JOB WANT: runs mtuguard-stop for a daemon while the unit's job is JOB; WANT is what
# the daemon has recorded when the script returns: the signal that ended it, or "started".
check_stop()
{
    local job=$1 want=$2 got pid
    "$scratch/stop/daemon" "$scratch/stop/got" &
    pid=$!
    for _ in $(seq 50); do [ -s "$scratch/stop/got" ] && break; sleep 0.05; done
    env -i PATH="$scratch/stop:/usr/bin:/bin" FAKE_JOB="$job" "$stop_script" mtuguard.service "$pid" ||
        fail "mtuguard-stop, job '$job': exit $?"
    got=$(cat "$scratch/stop/got")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$scratch/stop/got"
    [ "$got" = "$want" ] || fail "mtuguard-stop, job '$job': the daemon had '$got' when it returned, not '$want'"
    echo "job '$job': $got"
}
check_stop restart QUIT # and waited for: the SIGTERM systemd sends next must not overtake it
check_stop stop started
check_stop "" started
env -i PATH="$scratch/stop:/usr/bin:/bin" FAKE_JOB=restart "$stop_script" mtuguard.service "" ||
    fail "mtuguard-stop without a main process: exit $?"
env -i PATH="$scratch/stop:/usr/bin:/bin" FAKE_JOB=restart "$stop_script" mtuguard.service 2147483646 ||
    fail "mtuguard-stop for a daemon already gone: exit $?"

echo "PASS: scripts"
