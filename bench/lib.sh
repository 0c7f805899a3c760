# shellcheck shell=bash disable=SC2034 # its variables are the callers' to read
#
# bench/lib.sh: what the benchmarks that run the real daemon (bench/control_bench.sh,
# bench/live_bench.sh) share, sourced after each sets `bench`, its name in messages. The daemon's
# pid is in daemon_pid, its pins under $pin and its control socket at $sock.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
daemon_bin=$build/bin/mtuguardd
ctl_bin=$build/bin/mtuguardctl
# The client pool the sessions are loaded into: 2^20 addresses from 10.64.0.0, the largest
# --client-pool allows, so it covers up to that many sessions.
client_pool=10.64.0.0/12
client_pool_size=1048576
daemon_pid=

log() { echo "$bench: $*" >&2; }
usage_error() { log "$*"; exit 2; }

# bench_options HELP NAME=DEFAULT... -- ARG...: sets each variable NAME to its DEFAULT, then each
# "--NAME VALUE" among ARG sets it (a dash in an option is an underscore in its variable); -h/--help
# prints the lines of the script's opening comment that the sed range HELP names. Anything else is
# a usage error.
bench_options() {
    local help=$1 names=" " name
    shift
    while (($#)) && [[ $1 != -- ]]; do
        names+="${1%%=*} "
        printf -v "${1%%=*}" '%s' "${1#*=}"
        shift
    done
    (($#)) && shift
    while (($#)); do
        case $1 in
        -h | --help) sed -n "$help" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --*)
            name=${1#--}
            name=${name//-/_}
            [[ $names == *" $name "* ]] || usage_error "unknown option $1"
            (($# >= 2)) || usage_error "$1 needs a value"
            printf -v "$name" '%s' "$2"
            shift 2
            ;;
        *) usage_error "unknown option $1" ;;
        esac
    done
}

# bench_require WHY-ROOT BINARY... -- TOOL...: root, the built binaries and the tools on PATH.
bench_require() {
    local why=$1 item
    shift
    [[ $(id -u) -eq 0 ]] || usage_error "needs root ($why)"
    while (($#)) && [[ $1 != -- ]]; do
        [[ -x $1 ]] || usage_error "$1 not built"
        shift
    done
    (($#)) && shift
    for item in "$@"; do
        command -v "$item" >/dev/null || usage_error "needs $item"
    done
}

# bench_fits_pool N: N sessions fit the client pool.
bench_fits_pool() {
    (($1 <= client_pool_size)) ||
        usage_error "--sessions at most $client_pool_size: the client pool $client_pool holds them"
}

ctl() { "$ctl_bin" --socket "$sock" "$@"; }

# stop_daemon: SIGTERM, SIGKILL if it is still there 10 s later.
stop_daemon() {
    [[ -n $daemon_pid ]] || return 0
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 200); do
            kill -0 "$daemon_pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$daemon_pid" 2>/dev/null; then
            log "mtuguardd (pid $daemon_pid) did not stop on SIGTERM within 10 s: SIGKILL"
            kill -KILL "$daemon_pid" 2>/dev/null || true
        fi
    fi
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
}

# remove_pins: what a killed daemon left pinned (a clean stop leaves nothing).
remove_pins() {
    [[ -e $pin ]] || return 0
    "$ctl_bin" detach --pin-path "$pin" >/dev/null 2>&1 || true
    rm -rf "$pin"
}
