#!/bin/bash
# bench/control_bench.sh: the control plane and memory benchmark. Starts the real mtuguardd on
# veth pairs in a network namespace of its own, loads a million sessions through mtuguardctl,
# and measures the bulk load, request round trips, transport flips, the daemon's RSS, the
# kernel memory the session maps take per session, and /metrics scrapes with 1 and with 64
# interfaces; then the bulk load and the memory again with the sessions in a client pool
# (--client-pool). Writes a Markdown section (--markdown FILE); bench/run puts it into
# docs/benchmarks.md. Needs root. Everything it creates (daemon, namespace and veths, pins,
# socket, files) is removed on exit, failed or not.
#
#   bench/control_bench.sh [--markdown FILE] [--sessions N] [--ifaces N] [--round-trips N]
#                          [--flips N] [--scrapes N]
#   BUILD_DIR=/tmp/b bench/control_bench.sh    # binaries from elsewhere than <repo>/build
set -euo pipefail

bench=control_bench
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
client_bin=$build/bench/mtuguard_control_bench

flip_window=100
bench_options 2,13p markdown= sessions=1000000 ifaces=64 round_trips=1000 flips=20000 scrapes=200 -- "$@"
many_ifaces=$ifaces
bench_require "XDP, bpffs, network namespaces" "$daemon_bin" "$ctl_bin" "$client_bin" -- \
    bpftool jq nsenter ip
((flips % 2 == 0 && flips % flip_window == 0)) ||
    usage_error "--flips must be even and a multiple of $flip_window"
bench_fits_pool "$sessions"

# Names of this run's own: several runs (or tests using other names) never collide.
tag=mgbench$$
ns=$tag
netns_file=/run/netns/$ns
pin=/sys/fs/bpf/$tag
work=$(mktemp -d /tmp/mtuguard-control-bench.XXXXXX)
sock=$work/control.sock
port=9784 # on the namespace's own loopback
max_sessions=1048576

cleanup() {
    local status=$?
    stop_daemon
    remove_pins
    [[ -e $netns_file ]] && ip netns del "$ns" 2>/dev/null
    if ((status != 0)) && [[ -d $work ]]; then
        for f in "$work"/daemon-*.log; do
            [[ -e $f ]] && { log "last lines of $(basename "$f"):"; tail -5 "$f" >&2; }
        done
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { nsenter --net="$netns_file" "$@"; }

# Runs the client and puts its key=value answers into the associative array named $1.
measure() {
    local -n into=$1
    shift
    local line kv
    line=$("$@" | tr '\n' ' ')
    for kv in $line; do
        into[${kv%%=*}]=${kv#*=}
    done
}

ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "yes" : "**no**" }'; }

status_field() { ctl -o json status | jq -r "$1"; }
rss_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$daemon_pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
# The hash maps, and the client pools' slot arrays (one slot each without a client pool).
session_maps=(mg_sessions4 mg_sessions6 mg_direct4 mg_direct6)
# memlock INTO: the session maps' bytes_memlock by name into the associative array INTO, and
# their sum under "total".
memlock() {
    local -n into=$1
    local map bytes
    into[total]=0
    for map in "${session_maps[@]}"; do
        bytes=$(bpftool -j map show pinned "$pin/maps/$map" | jq .bytes_memlock)
        into[$map]=$bytes
        into[total]=$((into[total] + bytes))
    done
}
slab_kb() { awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo; }

# 1. The namespace: loopback for /metrics, and veth pairs whose first ends mtuguard attaches to.
ip netns add "$ns"
ip -n "$ns" link set lo up
for i in $(seq 0 $((many_ifaces - 1))); do
    ip -n "$ns" link add "mgb$i" type veth peer name "mgp$i"
    ip -n "$ns" link set "mgb$i" up
    ip -n "$ns" link set "mgp$i" up
done

# 2. The sessions file: N IPv4 addresses from 10.64.0.0 up, the Cisco case's MTUs, on DTLS.
sessions_file=$work/sessions.txt
awk -v n="$sessions" 'BEGIN {
    for (i = 0; i < n; i++) {
        a = 10 * 16777216 + 64 * 65536 + i
        printf "%d.%d.%d.%d,dtls-mtu=1418,tls-mtu=1347,transport=dtls\n",
            int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256
    }
}' >"$sessions_file"
flip_address=10.64.0.1 # a session of the file

# start_daemon NIFACES [ARGS...]: the daemon on mgb0.. in the namespace, with ARGS; waits until
# it answers on the control socket and on /metrics. Sets daemon_pid and started_s.
start_daemon() {
    local n=$1 args=() i t0
    shift
    for i in $(seq 0 $((n - 1))); do
        args+=(--iface "mgb$i")
    done
    t0=$(now_ns)
    nsenter --net="$netns_file" "$daemon_bin" "${args[@]}" --max-sessions "$max_sessions" \
        --metrics-listen "127.0.0.1:$port" --control-socket "$sock" --pin-path "$pin" \
        --icmp-source 192.0.2.1 --icmp-source 2001:db8::1 "$@" >>"$work/daemon-$n.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 600); do
        kill -0 "$daemon_pid" 2>/dev/null || { log "mtuguardd exited at start"; return 1; }
        if ctl status >/dev/null 2>&1 &&
            in_ns "$client_bin" scrape --port "$port" --count 1 --warmup 0 >/dev/null 2>&1; then
            started_s=$(seconds_since "$t0")
            [[ $(status_field '.interfaces | length') == "$n" ]] ||
                { log "mtuguardd does not report $n interfaces"; return 1; }
            return 0
        fi
        sleep 0.1
    done
    log "mtuguardd not ready within 60 s"
    return 1
}

# bulk_load NAME: the whole file through mtuguardctl, timed from the command's start to its exit
# (bash's time), into the associative array NAME: s, ctl_cpu_s (mtuguardctl's user + system CPU
# time), cpu_s (the daemon's meanwhile), then the daemon's rss_kb (VmRSS) and hwm_kb (VmHWM).
bulk_load() {
    local -n into=$1
    local ticks0 times
    ticks0=$(cpu_ticks)
    times=$({ TIMEFORMAT='%R %U %S'; time ctl session add --file "$sessions_file" >/dev/null; } 2>&1)
    into[s]=$(awk '{ printf "%.2f", $1 }' <<<"$times")
    into[ctl_cpu_s]=$(awk '{ printf "%.2f", $2 + $3 }' <<<"$times")
    into[cpu_s]=$(awk -v a="$ticks0" -v b="$(cpu_ticks)" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.2f", (b - a) / hz }')
    into[rss_kb]=$(rss_kb VmRSS)
    into[hwm_kb]=$(rss_kb VmHWM)
    local exact
    exact=$(status_field .sessions.exact)
    [[ $exact == "$sessions" ]] || { log "after the load the daemon holds $exact sessions"; return 1; }
}

# 3. One interface: memory empty and at N sessions, then every request kind.
log "one interface: starting mtuguardd"
start_daemon 1
started1_s=$started_s
xdp_mode=$(status_field '.interfaces[0].mode')
rss_empty_kb=$(rss_kb VmRSS)
declare -A memlock_empty=() memlock_full=()
memlock memlock_empty
slab_empty_kb=$(slab_kb)

log "loading $sessions sessions"
declare -A load1=()
bulk_load load1
memlock memlock_full
slab_full_kb=$(slab_kb)

# What one lookup per session costs: single-key lookups of every loaded session in the pinned
# IPv4 session map, one bpf() syscall each.
log "looking each session up once"
declare -A lookups=()
measure lookups "$client_bin" lookup --map "$pin/maps/mg_sessions4" --first 10.64.0.0 \
    --count "$sessions" --warmup 0

log "scraping /metrics ($scrapes times)"
declare -A scrape1=()
measure scrape1 in_ns "$client_bin" scrape --port "$port" --count "$scrapes"

log "round trips ($round_trips each)"
declare -A spawn_true=() ctl_rtt=() raw_new=() raw_kept=() flip_seq=() flip_pipe=()
measure spawn_true "$client_bin" spawn --count "$round_trips" --first 0.0.0.0 -- /bin/true
measure ctl_rtt "$client_bin" spawn --count "$round_trips" --first 10.200.0.0 -- "$ctl_bin" \
    --socket "$sock" session add '{}' --dtls-mtu 1418 --tls-mtu 1347 --transport dtls
measure raw_new "$client_bin" add --socket "$sock" --count "$round_trips" --first 10.201.0.0
measure raw_kept "$client_bin" add --socket "$sock" --count "$round_trips" --first 10.202.0.0 \
    --keep-connection
warmup=10
expected=$((sessions + 3 * (round_trips + warmup)))
[[ $(status_field .sessions.exact) == "$expected" ]] ||
    { log "the daemon does not hold the $expected sessions added"; exit 1; }

log "transport flips ($flips, one at a time and $flip_window in flight)"
measure flip_seq "$client_bin" transport --socket "$sock" --count "$flips" --address "$flip_address"
measure flip_pipe "$client_bin" transport --socket "$sock" --count "$flips" \
    --address "$flip_address" --window "$flip_window"
# Both runs end on an odd request number (warmup + count - 1): tls.
[[ $(ctl -o json session list "$flip_address" | jq -r '.sessions[0].transport') == tls ]] ||
    { log "$flip_address is not on tls after the flips"; exit 1; }
[[ $(status_field .sessions.tls) == 1 ]] || { log "the daemon counts $(status_field .sessions.tls) sessions on tls, not 1"; exit 1; }
rss_after_kb=$(rss_kb VmRSS)

t0=$(now_ns)
stop_daemon
stop1_s=$(seconds_since "$t0")
[[ ! -e $pin/maps ]] || { log "the stopped daemon left its pins"; exit 1; }

# 4. Many interfaces: the same sessions, then scrapes.
log "$many_ifaces interfaces: starting mtuguardd"
start_daemon "$many_ifaces"
started_many_s=$started_s
log "loading $sessions sessions"
declare -A load_many=()
bulk_load load_many
log "scraping /metrics ($scrapes times)"
declare -A scrape_many=() xdp_query=()
measure scrape_many in_ns "$client_bin" scrape --port "$port" --count "$scrapes"
# What the exporter's per-interface attachment check costs: bpf_xdp_query_id() on one of them.
links_in_ns=$(ip -n "$ns" -o link show | wc -l)
measure xdp_query in_ns "$client_bin" xdp-query --ifname mgb0 --count "$scrapes"
stop_daemon

# 5. The client pool: one interface, the same sessions, all inside --client-pool, so they go to
# the slot array instead of the hash map: the bulk load and the memory.
log "one interface, --client-pool $client_pool: starting mtuguardd"
start_daemon 1 --client-pool "$client_pool"
started_pool_s=$started_s
rss_pool_empty_kb=$(rss_kb VmRSS)
declare -A memlock_pool_empty=() memlock_pool_full=()
memlock memlock_pool_empty
log "loading $sessions sessions"
declare -A load_pool=()
bulk_load load_pool
memlock memlock_pool_full
# Every session in a slot: the hash map stays empty.
! bpftool map getnext pinned "$pin/maps/mg_sessions4" >/dev/null 2>&1 ||
    { log "with --client-pool the sessions are in the hash map"; exit 1; }
t0=$(now_ns)
stop_daemon
stop_pool_s=$(seconds_since "$t0")

# 5b. Sixteen client pools of 2^18 addresses (/14s from 10.64.0.0 up: 2^22 addresses, a family's
# limit), the same sessions in the first of them: the kernel memory per pool address and per session.
sixteen_pools=()
for k in $(seq 0 15); do
    sixteen_pools+=(--client-pool "10.$((64 + 4 * k)).0.0/14")
done
log "one interface, 16 client pools of 2^18 addresses: starting mtuguardd"
start_daemon 1 "${sixteen_pools[@]}"
declare -A memlock_sixteen_empty=() memlock_sixteen_full=() load_sixteen=()
memlock memlock_sixteen_empty
bulk_load load_sixteen
memlock memlock_sixteen_full
! bpftool map getnext pinned "$pin/maps/mg_sessions4" >/dev/null 2>&1 ||
    { log "with 16 client pools the sessions are in the hash map"; exit 1; }
stop_daemon

# 6. The report.
per_element() { # MAP [EMPTY FULL]: memlock bytes per session over the empty map
    local -n empty=${2:-memlock_empty} full=${3:-memlock_full}
    awk -v a="${empty[$1]}" -v b="${full[$1]}" -v n="$sessions" \
        'BEGIN { printf "%.1f", (b - a) / n }'
}
per_session=$(per_element total)
per_session_total=$(awk -v b="${memlock_full[total]}" -v n="$sessions" 'BEGIN { printf "%.1f", b / n }')
slab_per_session=$(awk -v a="$slab_empty_kb" -v b="$slab_full_kb" -v n="$sessions" \
    'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
rss_full_mib=$(mib "${load1[rss_kb]}")
# With the client pool the slots are allocated with the map, so memlock barely moves with the
# sessions: the figure is everything the session maps hold at N sessions, over N.
pool_per_session=$(awk -v b="${memlock_pool_full[total]}" -v n="$sessions" 'BEGIN { printf "%.1f", b / n }')
rss_pool_full_mib=$(mib "${load_pool[rss_kb]}")
sixteen_per_address=$(awk -v b="${memlock_sixteen_empty[mg_direct4]}" 'BEGIN { printf "%.1f", b / 4194304 }')
sixteen_per_session=$(awk -v b="${memlock_sixteen_full[total]}" -v n="$sessions" 'BEGIN { printf "%.1f", b / n }')
scrape1_p99=$(ms "${scrape1[p99_us]}")
scrape_many_p99=$(ms "${scrape_many[p99_us]}")
n_text=$(echo "$sessions" | sed ':a; s/\B[0-9]\{3\}\>/ &/; ta')

out=${markdown:-/dev/stdout}
{
    echo "## Control plane and memory"
    echo
    echo "Measured by \`bench/control_bench.sh\` in the same run: the real \`mtuguardd\` on veth"
    echo "pairs in a network namespace of its own ($xdp_mode XDP, as the daemon reports), pins on"
    echo "bpffs, /metrics on the namespace's loopback, started as"
    echo "\`mtuguardd --iface mgb0 [... --iface mgb$((many_ifaces - 1))] --max-sessions $max_sessions"
    echo "--metrics-listen 127.0.0.1:$port --control-socket /tmp/.../control.sock --pin-path"
    echo "/sys/fs/bpf/mgbenchPID --icmp-source 192.0.2.1 --icmp-source 2001:db8::1\`. The client is"
    echo "\`build/bench/mtuguard_control_bench\` (\`bench/control_client.cpp\`), which checks every"
    echo "answer. Sessions are IPv4 (\`10.64.0.0\` up, \`dtls-mtu=1418,tls-mtu=1347,transport=dtls\`)."
    echo "The sessions are hashed (no client pool), except in the rows marked *client pool*: a"
    echo "third daemon, 1 interface, started with \`--client-pool $client_pool\` as well, which"
    echo "holds all of them in the pool's slot array."
    echo
    echo "| measurement | result | target | met |"
    echo "|---|---:|---|---|"
    echo "| bulk load of $n_text sessions, \`mtuguardctl session add --file\`, 1 interface | ${load1[s]} s | ≤ 5 s | $(met "${load1[s]}" 5) |"
    echo "| the same, $many_ifaces interfaces | ${load_many[s]} s | ≤ 5 s | $(met "${load_many[s]}" 5) |"
    echo "| the same, 1 interface, client pool | ${load_pool[s]} s | ≤ 5 s | $(met "${load_pool[s]}" 5) |"
    echo "| daemon RSS (VmRSS) at $n_text sessions | ${rss_full_mib} MiB | ≤ 128 MiB | $(met "$rss_full_mib" 128) |"
    echo "| the same, client pool | ${rss_pool_full_mib} MiB | ≤ 128 MiB | $(met "$rss_pool_full_mib" 128) |"
    echo "| kernel memory per session, session maps with their counters (memlock, $n_text vs empty) | ${per_session} B | ≤ 160 B | $(met "$per_session" 160) |"
    echo "| the same, client pool: all the session maps' memlock at $n_text sessions (slots allocated with the map) ÷ $n_text | ${pool_per_session} B | ≤ 160 B | $(met "$pool_per_session" 160) |"
    echo "| kernel memory per pool address, 16 client pools of 2^18 addresses (\`mg_direct4\`'s memlock ÷ 2^22) | ${sixteen_per_address} B | ≤ 32 B | $(met "$sixteen_per_address" 32) |"
    echo "| the same pools: all the session maps' memlock at $n_text sessions ÷ $n_text | ${sixteen_per_session} B | – | – |"
    echo "| /metrics scrape p99, 1 interface, $n_text sessions | ${scrape1_p99} ms | ≤ 50 ms | $(met "$scrape1_p99" 50) |"
    echo "| /metrics scrape p99, $many_ifaces interfaces, $n_text sessions | ${scrape_many_p99} ms | ≤ 50 ms | $(met "$scrape_many_p99" 50) |"
    echo
    echo "### Round trips and rates"
    echo
    echo "| request | count | p50 | p99 | rate |"
    echo "|---|---:|---:|---:|---:|"
    row() { # name array unit-of-rate
        local -n a=$2
        echo "| $1 | ${a[count]} | $(ms "${a[p50_us]}") ms | $(ms "${a[p99_us]}") ms | ${a[ops_per_s]} $3/s |"
    }
    row "\`mtuguardctl session add ADDR --dtls-mtu 1418 --tls-mtu 1347 --transport dtls\`, process start to exit" ctl_rtt adds
    row "for scale: \`/bin/true\`, process start to exit" spawn_true runs
    row "one \`session.add\` request on the socket, a new connection each (what mtuguardctl sends)" raw_new adds
    row "one \`session.add\` request, all over one connection" raw_kept adds
    row "\`session.transport\` flip, one at a time over one connection" flip_seq flips
    row "\`session.transport\` flips, $flip_window in flight over one connection (p50/p99 per $flip_window)" flip_pipe flips
    row "GET /metrics, 1 interface, a new TCP connection each" scrape1 scrapes
    row "GET /metrics, $many_ifaces interfaces" scrape_many scrapes
    echo
    echo "Transport flips the daemon applies: ${flip_seq[ops_per_s]} per second one request at a time,"
    echo "${flip_pipe[ops_per_s]} per second with $flip_window requests in flight. Every round trip"
    echo "adds a new session (the table's session count grew by exactly the requests made); the"
    echo "flips alternate one session between dtls and tls and leave it on tls, as checked."
    echo
    echo "### Memory"
    echo
    echo "| | empty | $n_text sessions | empty, client pool | $n_text sessions, client pool |"
    echo "|---|---:|---:|---:|---:|"
    echo "| daemon VmRSS | $(mib "$rss_empty_kb") MiB | ${rss_full_mib} MiB (peak VmHWM $(mib "${load1[hwm_kb]}") MiB; $(mib "$rss_after_kb") MiB after the round trips and flips) | $(mib "$rss_pool_empty_kb") MiB | ${rss_pool_full_mib} MiB (peak VmHWM $(mib "${load_pool[hwm_kb]}") MiB) |"
    for map in "${session_maps[@]}"; do
        echo "| memlock of \`$map\` (bpftool) | ${memlock_empty[$map]} B | ${memlock_full[$map]} B ($(per_element "$map") B per session) | ${memlock_pool_empty[$map]} B | ${memlock_pool_full[$map]} B ($(per_element "$map" memlock_pool_empty memlock_pool_full) B per session) |"
    done
    echo "| memlock, all together | ${memlock_empty[total]} B | ${memlock_full[total]} B | ${memlock_pool_empty[total]} B | ${memlock_pool_full[total]} B |"
    echo "| kernel unreclaimable slab (SUnreclaim, whole machine) | ${slab_empty_kb} kB | ${slab_full_kb} kB | – | – |"
    echo
    echo "Per session: ${per_session} B of memlock over the empty maps (the target's figure);"
    echo "${per_session_total} B counting the hash tables' bucket arrays, which are sized for"
    echo "\`--max-sessions\` and allocated when the maps are created; ${slab_per_session} B by the"
    echo "machine's unreclaimable slab, which also holds the allocator's rounding of each element to"
    echo "its slab size (a cross-check: other activity on the machine moves it too). An IPv4 session"
    echo "is one hash element in \`mg_sessions4\`, its MTUs and its counters in one value, with the"
    echo "kernel's per-element header."
    echo
    echo "With \`--client-pool $client_pool\` an IPv4 session is instead its 32-byte slot in"
    echo "\`mg_direct4\`, one per address of the pool, allocated whole when the map is created"
    echo "(2^20 slots, whether or not they hold sessions), so memlock hardly moves with the load; the"
    echo "hash maps stay empty (checked) but keep their bucket arrays, sized by \`--max-sessions\`,"
    echo "which counts every exact session, in a client pool or not. All of it over the $n_text"
    echo "sessions is ${pool_per_session} B per session (the target's figure for this configuration)."
    echo "The daemon's VmRSS counts the slot array too, from the start: it maps the array to write"
    echo "the slots, and those are the same pages memlock counts, not a copy of them."
    echo
    echo "### Other timings"
    echo
    echo "- Start-up until the control socket and /metrics answer: ${started1_s} s with 1 interface,"
    echo "  ${started_many_s} s with $many_ifaces, ${started_pool_s} s with 1 and the client pool."
    echo "- CPU time (user + system) during the bulk loads: the daemon ${load1[cpu_s]} s, mtuguardctl"
    echo "  ${load1[ctl_cpu_s]} s (1 interface); the daemon ${load_many[cpu_s]} s, mtuguardctl"
    echo "  ${load_many[ctl_cpu_s]} s ($many_ifaces interfaces); the daemon ${load_pool[cpu_s]} s,"
    echo "  mtuguardctl ${load_pool[ctl_cpu_s]} s (1 interface, client pool)."
    echo "- Looking each of the $n_text sessions up once in the pinned \`mg_sessions4\`, one"
    echo "  \`bpf()\` syscall per key: $(awk -v s="${lookups[total_s]}" 'BEGIN { printf "%.2f", s }') s in all (p50 ${lookups[p50_us]} µs per lookup)."
    echo "- \`bpf_xdp_query_id()\` on one interface, with $links_in_ns links in the namespace:"
    echo "  p50 $(ms "${xdp_query[p50_us]}") ms, p99 $(ms "${xdp_query[p99_us]}") ms; $many_ifaces of them take"
    echo "  $(awk -v us="${xdp_query[p50_us]}" -v n="$many_ifaces" 'BEGIN { printf "%.1f", us * n / 1000 }') ms at the p50."
    echo "- Stop (SIGTERM, detach, pins and maps removed) with $n_text sessions: ${stop1_s} s;"
    echo "  ${stop_pool_s} s with them in the client pool."
    echo "- /metrics body: ${scrape1[body_bytes]} bytes, ${scrape1[series]} series with 1 interface;"
    echo "  ${scrape_many[body_bytes]} bytes, ${scrape_many[series]} series with $many_ifaces."
    echo
    echo "Method: latencies are from the client's CLOCK_MONOTONIC around each request, after"
    echo "$warmup untimed ones of the same kind; p50 and p99 are nearest-rank percentiles. The bulk"
    echo "load is timed from the start of \`mtuguardctl\` to its exit (it reads the file and sends it"
    echo "in batches of 65536, each applied whole), and the daemon then reports exactly $n_text"
    echo "sessions. Memory is read right after the load: VmRSS from \`/proc/PID/status\`,"
    echo "\`bytes_memlock\` from \`bpftool map show pinned\`, SUnreclaim from \`/proc/meminfo\`."
} >"$out"
log "done"
