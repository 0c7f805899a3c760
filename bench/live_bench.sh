#!/bin/bash
# bench/live_bench.sh: real frames through a gateway in network namespaces. (1) Throughput:
# within-MTU traffic forwarded with mtuguardd attached to the gateway's inside veth, its sessions
# in a client pool (--client-pool) and hashed (without one), against the same gateway with no
# XDP program there and with an empty one. (2) ICMP under an oversize DF flood: the frag-needed
# errors mtuguardd sends (both ways) against those the kernel sends itself when the route toward
# the clients has the smaller MTU, rate limits of both out of the way. Writes a
# Markdown section (--markdown FILE); bench/run puts it into docs/benchmarks.md. Needs root.
# Everything it creates (namespaces, daemon, pins, files) is removed on exit, failed or not.
#
#   sender (gen)              gateway (gw)                          receiver (sink)
#  +----------------+   +--------------------------------------+   +-----------------+
#  | g0 10.0.1.2    +---+ gw-in 10.0.1.1      gw-out 10.9.0.1  +---+ s0 10.9.0.2     |
#  +----------------+   +--------------------------------------+   +-----------------+
#   live_gen (test_run    mtuguardd --iface gw-in [--client-pool     live_count: counts,
#   live frames, XDP_TX)  10.64.0.0/12], or nothing, or live_pass;    drops
#                         10.64.0.0/10 via 10.9.0.2
#   live_count on g0 for the ICMP runs: counts the errors that come back
#
#   bench/live_bench.sh [--markdown FILE] [--rounds N] [--seconds S] [--sessions N]
#   BUILD_DIR=/tmp/b bench/live_bench.sh
set -euo pipefail

bench=live_bench
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
live_bin=$build/bench/mtuguard_live

bench_options 2,21p markdown= rounds=5 seconds=2 sessions=100000 -- "$@"
bench_require "XDP, network namespaces" "$daemon_bin" "$ctl_bin" "$live_bin" -- bpftool jq
# The agent's first configuration has the sessions in the client pool (from dst_base).
bench_fits_pool "$sessions"

tag=mglive$$
ns_gen=$tag-gen ns_gw=$tag-gw ns_sink=$tag-sink
pin=/sys/fs/bpf/$tag
work=$(mktemp -d /tmp/mtuguard-live-bench.XXXXXX)
sock=$work/control.sock
mac_g0=02:00:5e:10:01:02 mac_gw_in=02:00:5e:10:01:01
mac_gw_out=02:00:5e:10:09:01 mac_s0=02:00:5e:10:09:02
dst_base=10.64.0.0 # sessions and destinations from here up
session_mtu=1400
within_sizes=(100 1400)
# Destinations the traffic is spread over, one after the other: each frame to the next session.
# Few: the sessions' entries stay in the caches; all of them: every lookup misses.
spreads=(1000 "$sessions")
over_size=1500
# A CPU of the sender's own: the generator, the gateway's forwarding and the receiver all run in
# its softirq, so the rate is what the whole path sustains on one CPU. The first CPU: other
# benchmarks pin themselves to the last. The daemon is kept off it (the last CPU), so its own
# work (loading sessions, serving the control socket) never competes with the frames.
cpu=0
daemon_cpu=$(($(nproc) - 1))

declare -A sysctl_saved=()
cleanup() {
    local status=$?
    stop_daemon
    remove_pins
    for ns in "$ns_gen" "$ns_gw" "$ns_sink"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    # Sysctls that are not per namespace on this kernel were changed for everyone: put them back.
    local key
    for key in "${!sysctl_saved[@]}"; do
        sysctl -qw "$key=${sysctl_saved[$key]}" 2>/dev/null || true
    done
    if ((status != 0)) && [[ -f $work/daemon.log ]]; then
        log "last lines of the daemon's log:"
        tail -5 "$work/daemon.log" >&2
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gw() { ip netns exec "$ns_gw" "$@"; }
rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# 1. The namespaces and veths, static neighbours, forwarding.
for ns in "$ns_gen" "$ns_gw" "$ns_sink"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add g0 netns "$ns_gen" address $mac_g0 type veth peer name gw-in netns "$ns_gw" address $mac_gw_in
ip link add gw-out netns "$ns_gw" address $mac_gw_out type veth peer name s0 netns "$ns_sink" address $mac_s0
ip -n "$ns_gen" addr add 10.0.1.2/24 dev g0
ip -n "$ns_gw" addr add 10.0.1.1/24 dev gw-in
ip -n "$ns_gw" addr add 10.9.0.1/24 dev gw-out
ip -n "$ns_sink" addr add 10.9.0.2/24 dev s0
for pair in "$ns_gen g0" "$ns_gw gw-in" "$ns_gw gw-out" "$ns_sink s0"; do
    set -- $pair
    ip -n "$1" link set "$2" up
    # GRO on: a veth runs its NAPI (and so takes XDP_TX frames from its peer) with or without an
    # XDP program of its own; every configuration below then takes the same receive path.
    ip netns exec "$1" ethtool -K "$2" gro on >/dev/null
done
ip -n "$ns_gw" neigh replace 10.0.1.2 lladdr $mac_g0 dev gw-in nud permanent
ip -n "$ns_gw" neigh replace 10.9.0.2 lladdr $mac_s0 dev gw-out nud permanent
ip -n "$ns_gw" route add 10.64.0.0/10 via 10.9.0.2 dev gw-out
gw sysctl -qw net.ipv4.ip_forward=1
gw sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.gw-in.rp_filter=0
ip netns exec "$ns_sink" "$live_bin" attach --ifname s0 --program count

# 2. The sessions: N IPv4 addresses from dst_base up, all riding DTLS at MTU 1400.
sessions_file=$work/sessions.txt
awk -v n="$sessions" -v mtu=$session_mtu 'BEGIN {
    for (i = 0; i < n; i++) {
        a = 10 * 16777216 + 64 * 65536 + i
        printf "%d.%d.%d.%d,dtls-mtu=%d,tls-mtu=%d,transport=dtls\n",
            int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256, mtu, mtu
    }
}' >"$sessions_file"

# start_daemon ARGS...: mtuguardd on gw-in with the sessions loaded; waits until it holds them.
start_daemon() {
    # ip netns exec execs the daemon: $! is the daemon itself, not a subshell.
    ip netns exec "$ns_gw" taskset -c "$daemon_cpu" "$daemon_bin" --iface gw-in --max-sessions $((sessions + 1024)) --metrics-listen 127.0.0.1:9785 \
        --control-socket "$sock" --pin-path "$pin" --transport-tracking off "$@" \
        >>"$work/daemon.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 300); do
        kill -0 "$daemon_pid" 2>/dev/null || { log "mtuguardd exited at start"; return 1; }
        ctl status >/dev/null 2>&1 && break
        sleep 0.1
    done
    ctl session add --file "$sessions_file" >/dev/null
    [[ $(ctl -o json status | jq -r .sessions.exact) == "$sessions" ]] ||
        { log "mtuguardd does not hold $sessions sessions"; return 1; }
    # With the client pool every session must be in a slot: the hash map stays empty. The pins
    # live in the daemon's mount namespace (ip netns exec gives it one).
    local hashed=yes
    [[ " $* " == *" --client-pool "* ]] && hashed=no
    if nsenter -t "$daemon_pid" -m bpftool map getnext pinned "$pin/maps/mg_sessions4" >/dev/null 2>&1; then
        [[ $hashed == yes ]] || { log "with --client-pool the sessions are in the hash map"; return 1; }
    else
        [[ $hashed == no ]] || { log "without --client-pool the hash map holds no session"; return 1; }
    fi
    daemon_mode=$(ctl -o json status | jq -r '.interfaces[0].mode')
    sleep 1 # let the daemon settle after the load
}

# send SPREAD SIZE [--count-replies]: one run of the generator, frames to SPREAD destinations;
# key=value answers into the array `run`.
declare -A run=()
send() {
    local spread=$1 size=$2 kv
    shift 2
    run=()
    for kv in $(ip netns exec "$ns_gen" "$live_bin" send --ifname g0 --src-mac $mac_g0 \
        --dst-mac $mac_gw_in --src 10.0.1.2 --dst $dst_base --dsts "$spread" --size "$size" \
        --seconds "$seconds" --cpu "$cpu" "$@"); do
        run[${kv%%=*}]=${kv#*=}
    done
}

# The generator: live frames where the kernel allows them (they need CAP_SYS_RESOURCE, which a
# container running as root may lack), else the fan-out, named in the report: a packet socket
# sends into a veth pair of the sender's own (gen-tx → gen-rx), whose XDP program hands each frame
# on through g0 as $fanout XDP frames to successive addresses. The gateway then receives XDP frames
# with headroom, as from live frames or a NIC, rather than socket buffers its veth must copy
# before its XDP program, and the socket's cost per frame is shared by the copies.
generator=live fanout=16
generator_args=()
if ! ip netns exec "$ns_gen" "$live_bin" send --ifname g0 --src-mac $mac_g0 --dst-mac $mac_gw_in \
    --src 10.0.1.2 --dst $dst_base --seconds 0.01 --cpu "$cpu" >/dev/null 2>"$work/generator.err"; then
    grep -q "Operation not permitted" "$work/generator.err" || { cat "$work/generator.err" >&2; exit 1; }
    generator=fanout
    generator_args=(--generator fanout --through gen-tx,gen-rx --fanout $fanout)
    ip -n "$ns_gen" link add gen-tx type veth peer name gen-rx
    ip -n "$ns_gen" link set gen-tx up
    ip -n "$ns_gen" link set gen-rx up
    log "live frames refused (EPERM): a packet socket's frames, fanned out by XDP through g0"
fi

# forwarded WHO: one run per spread and size; appends the pps the receiver got (its rx counter
# over the run's seconds) to fwd[WHO,SPREAD,SIZE] and the generator's rate to offered[...].
forwarded() {
    local before after spread size
    for spread in "${spreads[@]}"; do
        for size in "${within_sizes[@]}"; do
            before=$(rx_packets "$ns_sink" s0)
            send "$spread" "$size" "${generator_args[@]}"
            after=$(rx_packets "$ns_sink" s0)
            fwd[$1,$spread,$size]+="$(awk -v a="$before" -v b="$after" -v s="${run[seconds]}" 'BEGIN { printf "%.0f", (b - a) / s }') "
            offered[$1,$spread,$size]+="${run[pps]} "
        done
    done
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# 3. Throughput, interleaved: per round and size, the agent with its sessions in the client
# pool, the agent with them hashed, nothing, the empty program.
# The same sessions split over 16 client pools, /19s from dst_base up: the pools the program
# looks an address up among, each pool holding 1/16 of the sessions.
sixteen_pools=()
for k in $(seq 0 15); do
    sixteen_pools+=(--client-pool "10.$((64 + k / 8)).$((k % 8 * 32)).0/19")
done
declare -A fwd=() offered=()
for r in $(seq "$rounds"); do
    log "throughput round $r/$rounds"
    start_daemon --client-pool "$client_pool"
    forwarded pool
    stop_daemon
    start_daemon "${sixteen_pools[@]}"
    forwarded pools16
    stop_daemon
    start_daemon
    forwarded agent
    stop_daemon
    forwarded none
    gw "$live_bin" attach --ifname gw-in --program pass
    forwarded pass
    # The sender alone: gw-in drops every frame in XDP (live_count), so the generator's rate is
    # what making and handing over a frame costs, the part of each rate that is not the gateway's.
    gw "$live_bin" attach --ifname gw-in --program count
    forwarded sender
    ip -n "$ns_gw" link set dev gw-in xdp off
done

# 4. ICMP under an oversize DF flood. The kernel: no agent, the route toward the clients with
# MTU 1400 (locked), its ICMP limits raised out of the way. The agent: the same route without
# an MTU, mtuguardd with sessions of MTU 1400 and both its rate limits off.
icmp_sysctls=(net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000000
    net.ipv4.icmp_msgs_burst=100000000)
for setting in "${icmp_sysctls[@]}"; do
    key=${setting%%=*}
    host_value=$(sysctl -n "$key")
    gw sysctl -qw "$setting"
    # A sysctl that is not per namespace shows the change outside too: restore it on exit.
    [[ $(sysctl -n "$key") == "$host_value" ]] || sysctl_saved[$key]=$host_value
done
icmp_ratemask=$(gw sysctl -n net.ipv4.icmp_ratemask)
declare -A icmp=() icmp_cpu=() icmp_offered=() icmp_softirq=() icmp_system=()
icmp_run() {
    local who=$2,$1
    send "$1" $over_size --count-replies "${generator_args[@]}"
    icmp[$who]+="$(awk -v n="${run[frag_needed]}" -v s="${run[seconds]}" 'BEGIN { printf "%.0f", n / s }') "
    icmp_offered[$who]+="${run[pps]} "
    icmp_cpu[$who]+="$(awk -v c="${run[cpu_busy_s]}" -v n="${run[frag_needed]}" 'BEGIN { printf "%.0f", n ? c * 1e9 / n : 0 }') "
    icmp_softirq[$who]+="$(awk -v c="${run[cpu_softirq_s]}" -v s="${run[seconds]}" 'BEGIN { printf "%.0f", 100 * c / s }') "
    icmp_system[$who]+="$(awk -v c="${run[cpu_system_s]}" -v s="${run[seconds]}" 'BEGIN { printf "%.0f", 100 * c / s }') "
}
for r in $(seq "$rounds"); do
    log "ICMP round $r/$rounds"
    start_daemon --icmp-rate 0 --icmp-rate-per-source 0 --client-pool "$client_pool"
    for spread in "${spreads[@]}"; do
        icmp_run "$spread" pool
    done
    stop_daemon
    start_daemon --icmp-rate 0 --icmp-rate-per-source 0
    for spread in "${spreads[@]}"; do
        icmp_run "$spread" agent
    done
    stop_daemon
    ip -n "$ns_gw" route replace 10.64.0.0/10 via 10.9.0.2 dev gw-out mtu lock $session_mtu
    for spread in "${spreads[@]}"; do
        icmp_run "$spread" kernel
    done
    ip -n "$ns_gw" route replace 10.64.0.0/10 via 10.9.0.2 dev gw-out
done

# 5. The report.
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
percent() { awk -v r="$1" 'BEGIN { printf "%.1f %%", 100 * r }'; }
# cost_ns WITH WITHOUT: what the agent adds per packet, from the two forwarding rates.
cost_ns() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.0f", 1e9 / a - 1e9 / n }'; }
{
    echo "## Live traffic through a namespace gateway"
    echo
    echo "Measured by \`bench/live_bench.sh\` in the same run: three network namespaces joined by"
    echo "veth pairs, sender → gateway → receiver (the diagram is at the top of the script). The"
    if [[ $generator == live ]]; then
    echo "sender is \`build/bench/mtuguard_live send\`: BPF_PROG_TEST_RUN in live-frames mode"
    echo "(\`BPF_F_TEST_XDP_LIVE_FRAMES\`, batches of 64) runs \`bench/live_frames.bpf.c\`'s \`live_gen\` on"
    echo "copies of one template and transmits each frame out of the sender's veth (XDP_TX), every"
    else
    echo "sender is \`build/bench/mtuguard_live send --generator fanout\`: this machine refused"
    echo "BPF_PROG_TEST_RUN in live-frames mode (EPERM: it runs as root without CAP_SYS_RESOURCE), so"
    echo "a packet socket (AF_PACKET, qdisc bypassed, \`sendmmsg()\` batches of 64) sends into a veth"
    echo "pair of the sender's own, gen-tx → gen-rx, and \`live_fanout\` on gen-rx hands each frame on"
    echo "through g0 as $fanout XDP frames (a devmap broadcast to g0 $fanout times; the devmap's"
    echo "program \`live_stamp\` writes each copy's headers as \`live_gen\` does), every"
    echo "copy to the next address. The gateway's veth so receives XDP frames with the headroom XDP"
    echo "needs, as from live frames or a NIC (a veth with an XDP program copies a socket's buffer"
    echo "into a new page first), and the socket's cost per frame is shared by $fanout. Every"
    fi
    echo "frame to the next of N destinations from $dst_base up (N = ${spreads[*]}: the spread), as fast as it can for"
    echo "${seconds} s. The kernel lets the veth peers' NAPI run between batches on the same CPU"
    echo "(CPU $cpu; mtuguardd runs on CPU $daemon_cpu), so the gateway's forwarding and the receiver run in that CPU's softirq and"
    echo "the rate is what the whole path sustains on one CPU: generator, gateway and receiver"
    echo "share it, which dilutes the agent's share of the cost. The receiver's veth runs"
    echo "\`live_count\` (count, XDP_DROP). Medians over $rounds rounds, each round measuring every"
    echo "configuration once, interleaved."
    echo
    echo "### Throughput, within MTU"
    echo
    echo "Frames to sessions, UDP with DF, within their MTU ($session_mtu). *agent, client pool*:"
    echo "\`mtuguardd --iface gw-in --client-pool $client_pool\` (${daemon_mode:-?} XDP) holding the $sessions"
    echo "sessions, all inside the client pool, so each is found by its address's offset there (the"
    echo "recommended configuration; the target is judged on it). *agent, hashed*: the same without"
    echo "\`--client-pool\`, every session in the hash table, as for sessions outside a client pool"
    echo "(informational). *16 pools*: the sessions split over 16 client pools (\`--client-pool\` 10.64.0.0/19,"
    echo "10.64.32.0/19, … 10.65.224.0/19), each session found through the pools' bucket index."
    echo "*none*: no XDP program on gw-in; *empty*: \`live_pass\` (XDP_PASS) on gw-in."
    echo "Forwarded = frames the receiver got per second."
    echo
    echo "| sessions the traffic is spread over | IP packet size | forwarded, none (pps) | forwarded, empty XDP (pps) | forwarded, agent, client pool (pps) | client pool ÷ none | client pool ÷ empty | target | met | forwarded, agent, hashed (pps) | hashed ÷ none | the agent's cost per packet here, client pool / hashed (ns) | sent by the generator, client pool / hashed (pps) | forwarded, agent, 16 pools (pps) | 16 pools ÷ none | target | met |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|"
    for spread in "${spreads[@]}"; do
    for size in "${within_sizes[@]}"; do
        n=$(med "${fwd[none,$spread,$size]}") p=$(med "${fwd[pass,$spread,$size]}")
        c=$(med "${fwd[pool,$spread,$size]}") a=$(med "${fwd[agent,$spread,$size]}")
        rc=$(ratio "$c" "$n") s16=$(med "${fwd[pools16,$spread,$size]}")
        met=$(awk -v r="$rc" 'BEGIN { print (r >= 0.95) ? "yes" : "**no**" }')
        r16=$(ratio "$s16" "$n")
        met16=$(awk -v r="$r16" 'BEGIN { print (r >= 0.92) ? "yes" : "**no**" }')
        echo "| $spread | $size | $n | $p | $c | $(percent "$rc") | $(percent "$(ratio "$c" "$p")") | ≥ 95 % | $met | $a | $(percent "$(ratio "$a" "$n")") | $(cost_ns "$c" "$n") / $(cost_ns "$a" "$n") | $(med "${offered[pool,$spread,$size]}") / $(med "${offered[agent,$spread,$size]}") | $s16 | $(percent "$r16") | ≥ 92 % | $met16 |"
    done
    done
    echo
    echo "*The agent's cost per packet here* is 1/forwarded with the agent minus 1/forwarded without"
    echo "it: what attaching it adds to each packet on this path. Compare it with the same program's"
    echo "warm figure under BPF_PROG_TEST_RUN (*Results*): between two packets the forwarding path"
    echo "(veth NAPI, skb, routing, the second veth, the receiver) runs through the same CPU's caches,"
    echo "so the program's code, the session table's code and the sessions are met cold or half"
    echo "cold, not warm as in a tight loop. Spread over all $sessions sessions, each frame's session"
    echo "was last touched $sessions frames earlier: it has left the caches and its page the TLB (in a"
    echo "virtual machine with nested paging a TLB miss walks two sets of page tables), and the"
    echo "lookup pays for those misses: in the client pool one slot, hashed a bucket and then an"
    echo "element. The kernel's own forwarding keeps no state per destination here (one route, one"
    echo "neighbour) and pays none of them."
    echo
    echo "How much of each rate is the sender's: with gw-in dropping every frame in XDP (\`live_count\`),"
    echo "the sender alone makes and hands over this many frames per second. Taking its time per frame"
    echo "out of both, the gateway's own forwarding with the agent (client pool / 16 pools) against"
    echo "without it, (1/none − 1/sender) ÷ (1/agent − 1/sender):"
    echo
    # own AGENT: the gateway's own ratio, from the sender's (g) and none's (n) rates.
    own() { awk -v g="$g" -v n="$n" -v a="$1" 'BEGIN { printf "%.1f %%", 100 * (1 / n - 1 / g) / (1 / a - 1 / g) }'; }
    for spread in "${spreads[@]}"; do
        for size in "${within_sizes[@]}"; do
            g=$(med "${offered[sender,$spread,$size]}") n=$(med "${fwd[none,$spread,$size]}")
            c=$(med "${fwd[pool,$spread,$size]}") s16=$(med "${fwd[pools16,$spread,$size]}")
            echo "- $spread sessions, $size bytes: the sender alone $g pps ($(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.0f of the %.0f", 1e9 / g, 1e9 / n }') ns a frame costs with none); the gateway's own, client pool $(own "$c"), 16 pools $(own "$s16")."
        done
    done
    echo
    echo "Rounds (forwarded pps, agent with client pool / agent hashed / none / empty), for the spread:"
    for spread in "${spreads[@]}"; do
        for size in "${within_sizes[@]}"; do
            echo "- $spread sessions, $size bytes: client pool ${fwd[pool,$spread,$size]% }; hashed ${fwd[agent,$spread,$size]% }; none ${fwd[none,$spread,$size]% }; empty ${fwd[pass,$spread,$size]% }."
        done
    done
    echo
    echo "### ICMP errors under an oversize DF flood: the agent against the kernel"
    echo
    echo "The same generator sends ${over_size}-byte UDP packets with DF to the sessions' addresses;"
    echo "\`live_count\` on the sender's veth counts the ICMP fragmentation-needed errors that come"
    echo "back. *agent, client pool*: \`mtuguardd --iface gw-in --icmp-rate 0 --icmp-rate-per-source 0"
    echo "--client-pool $client_pool\` (both rate limits off; the target is judged on it); *agent,"
    echo "hashed*: the same without \`--client-pool\` (informational); sessions of MTU $session_mtu, the"
    echo "route toward the clients without an MTU. *kernel*: no agent, no XDP program on gw-in, the"
    echo "route with \`mtu lock $session_mtu\`, so"
    echo "the kernel's forwarding path sends frag-needed itself. In the gateway's namespace:"
    echo "$(printf '`%s` ' "${icmp_sysctls[@]}")(icmp_ratemask is $icmp_ratemask; Linux exempts"
    echo "frag-needed from both the per-destination and the global limit anyway, so these only make"
    echo "sure no limit applies). CPU: the sender's CPU, which does all of the work (generator,"
    echo "gateway, counting), from /proc/stat over the run; *CPU per error* is its busy time divided"
    echo "by the errors counted."
    echo
    echo "| | sessions the flood is spread over | ICMP errors per second | sent by the generator (pps) | CPU busy per error (ns) | softirq / system share of the CPU | ÷ kernel | target | met |"
    echo "|---|---:|---:|---:|---:|---|---:|---|---|"
    for spread in "${spreads[@]}"; do
        k=$(med "${icmp[kernel,$spread]}")
        for who in pool agent; do
            a=$(med "${icmp[$who,$spread]}")
            rk=$(ratio "$a" "$k")
            if [[ $who == pool ]]; then
                name="agent (XDP), client pool" target="≥ 5×"
                met=$(awk -v r="$rk" 'BEGIN { print (r >= 5) ? "yes" : "**no**" }')
            else
                name="agent (XDP), hashed" target="–" met="–"
            fi
            echo "| $name | $spread | $a | $(med "${icmp_offered[$who,$spread]}") | $(med "${icmp_cpu[$who,$spread]}") | $(med "${icmp_softirq[$who,$spread]}") % / $(med "${icmp_system[$who,$spread]}") % | ${rk}× | $target | $met |"
        done
        echo "| kernel (route MTU) | $spread | $k | $(med "${icmp_offered[kernel,$spread]}") | $(med "${icmp_cpu[kernel,$spread]}") | $(med "${icmp_softirq[kernel,$spread]}") % / $(med "${icmp_system[kernel,$spread]}") % | – | – | – |"
    done
    echo
    for spread in "${spreads[@]}"; do
        echo "- Rounds, $spread sessions (errors per second): agent with client pool ${icmp[pool,$spread]% }; agent hashed ${icmp[agent,$spread]% }; kernel ${icmp[kernel,$spread]% }."
    done
} >"$work/report.md"
if [[ -n $markdown ]]; then
    cp "$work/report.md" "$markdown"
else
    cat "$work/report.md"
fi
