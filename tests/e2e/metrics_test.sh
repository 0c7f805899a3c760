#!/bin/bash
# shellcheck disable=SC2317 # the test functions are called through mg_run_test
#
# End-to-end: the metrics, alert rules and dashboard shipped in deploy/ against the real daemon,
# real traffic and a real Prometheus server.
#
#    server                       gateway                                 client
#   +------------------+   +-------------------------------------+   +------------------+
#   | srv0             |   | gw-in  [XDP mtuguard] gw-vpn        |   |             cli0 |
#   | 192.0.2.10/24    +---+ 192.0.2.1/24          10.8.0.1/24     +---+ 10.8.0.5/24      |
#   +------------------+   |                                     |   +------------------+
#     ping -M "do" -s 1000   |  mtuguardd --iface gw-in             |     echo replies go
#       N requests ------> |    session 10.8.0.5 1418/1347 on TLS |     back through gw-vpn,
#     ping -M do -s 1390   |    /metrics on 127.0.0.1:9784        |     not the enforced
#       M x 1 request -->|  prometheus on 127.0.0.1:9090        |     ingress
#     <- frag-needed 1347  |    scrapes every 1 s, evaluates      |
#                          |    deploy/prometheus/alerts.yml      |
#                          +-------------------------------------+
#
# Tests (one function each):
#   rules_and_config     promtool check rules / test rules / check config on deploy/prometheus
#   scrape_to_alert      promtool check metrics on the daemon's real /metrics (idle and after
#                        traffic); through Prometheus's HTTP API the counters moved by exactly
#                        the packets sent, every query of deploy/grafana/mtuguard.json returns
#                        data, and MtuguardOversizeDropsHigh reaches `firing` in ALERTS (nothing
#                        else fires) with its runbook link under the external label runbook_base
#
# Run as root: tests/e2e/metrics_test.sh [TEST...] (MTUGUARD_BUILD_DIR=path/to/build if not ./build;
# MTUGUARD_E2E_DEBUG=1 opens a shell before the namespaces are removed).
set -eu

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PROMTOOL=${MTUGUARD_PROMTOOL:-promtool}
PROMETHEUS=${MTUGUARD_PROMETHEUS:-prometheus}
DEPLOY="$MG_REPO/deploy"
SESSION="$MG_CLIENT4,dtls-mtu=1418,tls-mtu=1347,transport=tls"
# Both listen in the gateway's private namespace, so fixed ports cannot collide with the host's.
METRICS_PORT=9784
PROM_PORT=9090
INSTANCE="127.0.0.1:$METRICS_PORT"
WITHIN=20   # ping -s 1000: 1028-byte packets, under the TLS MTU 1347
OVERSIZE=10 # ping -s 1390: 1418-byte packets, the Cisco case
WITHIN_FRAME=$((14 + 20 + 8 + 1000))
OVERSIZE_LEN=$((20 + 8 + 1390))
OVERSIZE_FRAME=$((14 + OVERSIZE_LEN))
# The external label the alerts' runbook links start with (deploy/prometheus/prometheus.yml)
RUNBOOK_BASE=https://docs.example.net/netops/mtuguard/docs

# Daemons that pin their state on the host-wide bpffs and serve a control socket get a pin
# directory and a socket of this run's own, so this test neither adopts nor disturbs another
# daemon's state (unless lib.sh already takes care of it). Sets ISOLATION.
isolation_args()
{
    ISOLATION=()
    local help lib
    help=$("$MG_DAEMON" --help 2>/dev/null || true)
    lib=$(cat "$(dirname "$0")/lib.sh")
    if [[ $help == *--pin-path* && $lib != *--pin-path* ]]; then
        ISOLATION+=(--pin-path "/sys/fs/bpf/$MG_RUN_ID")
    fi
    if [[ $help == *--control-socket* && $lib != *--control-socket* ]]; then
        ISOLATION+=(--control-socket "$MG_TMP/control.sock")
    fi
}

# --- helpers ---------------------------------------------------------------------------------------

# promtool_ok WHAT ARGS...: runs promtool; fails the test with its output unless it exits 0.
promtool_ok()
{
    local what=$1 out status=0
    shift
    out=$("$PROMTOOL" "$@" 2>&1) || status=$?
    [ "$status" -eq 0 ] || mg_fail "$what: promtool $* exited $status:
$(printf '%s\n' "$out" | sed 's/^/    | /')"
    PROMTOOL_OUT=$out
}

gw() { ip netns exec "$NS_GATEWAY" "$@"; }

scrape_metrics() # FILE: the daemon's /metrics, fetched the way Prometheus does
{
    gw curl -sf --max-time 5 "http://$INSTANCE/metrics" >"$1"
}

# check_metrics_text FILE: `promtool check metrics` has nothing to say about it.
check_metrics_text()
{
    local out status=0
    out=$("$PROMTOOL" check metrics <"$1" 2>&1) || status=$?
    mg_assert_eq "promtool check metrics exit status on $(basename "$1")" 0 "$status"
    mg_assert_eq "promtool check metrics complaints about $(basename "$1")" "" "$out"
}

# metric_line FILE SERIES: the value of one exact series line in a /metrics text.
metric_line()
{
    awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$1"
}

# prom QUERY: an instant query through Prometheus's HTTP API. Prints one line per series,
# "labels value" (labels as k=v,... sorted), or "error: ..." and returns 1.
prom()
{
    gw "$MG_PYTHON" - "$PROM_PORT" "$1" <<'PYTHON'
import json, sys, urllib.parse, urllib.request
port, query = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
try:
    body = json.load(urllib.request.urlopen(url, timeout=5))
except Exception as e:
    print(f"error: {e}")
    sys.exit(1)
if body.get("status") != "success":
    print(f"error: {body.get('errorType')}: {body.get('error')}")
    sys.exit(1)
data = body["data"]
results = data["result"] if data["resultType"] in ("vector", "matrix") else [{"metric": {}, "value": data["result"]}]
for r in results:
    labels = ",".join(f"{k}={v}" for k, v in sorted(r["metric"].items()))
    print(labels, r["value"][1] if "value" in r else r["values"][-1][1])
PYTHON
}

# prom_value QUERY: the value of a query that must return exactly one series (else "none").
prom_value()
{
    local out
    out=$(prom "$1") || { echo "none"; return 0; }
    if [ "$(printf '%s\n' "$out" | grep -c .)" -ne 1 ]; then
        echo "none"
        return 0
    fi
    printf '%s\n' "$out" | awk '{ print $NF }'
}

# prom_annotation ALERT KEY: annotation KEY of the firing alerts named ALERT, as Prometheus
# expanded it (/api/v1/alerts), one line each.
prom_annotation()
{
    gw "$MG_PYTHON" - "$PROM_PORT" "$1" "$2" <<'PYTHON'
import json, sys, urllib.request
port, name, key = sys.argv[1:4]
body = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=5))
for a in body["data"]["alerts"]:
    if a["labels"].get("alertname") == name and a["state"] == "firing":
        print(a["annotations"].get(key, ""))
PYTHON
}

# Integer form of a counter value as the API prints it ("20", "1.4e+04").
as_int() { awk -v v="$1" 'BEGIN { if (v == "none") print "none"; else printf "%d\n", v + 0.5 }'; }

prom_int() { as_int "$(prom_value "$1")"; }

prom_equals() { [ "$(prom_int "$1")" = "$2" ]; }

S='job="mtuguard", instance="'"$INSTANCE"'", interface="gw-in"'
Q_WITHIN="mtuguard_passed_packets_total{$S, family=\"ipv4\", reason=\"within_mtu\"}"
Q_ICMP_SENT="mtuguard_oversize_packets_total{$S, family=\"ipv4\", action=\"icmp_sent\"}"
# The counters the traffic must move, by name.
declare -A QUERY=(
    [within_mtu]="$Q_WITHIN"
    [icmp_sent]="$Q_ICMP_SENT"
    [oversize_all]="sum(mtuguard_oversize_packets_total{$S})"
    [packets]="mtuguard_packets_total{$S}"
    [bytes]="mtuguard_bytes_total{$S}"
    [hist_count]="mtuguard_oversize_packet_bytes_count{$S, family=\"ipv4\"}"
    [hist_sum]="mtuguard_oversize_packet_bytes_sum{$S, family=\"ipv4\"}"
    [hist_le_1400]="mtuguard_oversize_packet_bytes_bucket{$S, family=\"ipv4\", le=\"1400\"}"
    [hist_le_1418]="mtuguard_oversize_packet_bytes_bucket{$S, family=\"ipv4\", le=\"1418\"}"
    [hist_le_inf]="mtuguard_oversize_packet_bytes_bucket{$S, family=\"ipv4\", le=\"+Inf\"}"
)
COUNTERS="within_mtu icmp_sent oversize_all packets bytes hist_count hist_sum hist_le_1400 hist_le_1418 hist_le_inf"
declare -A BEFORE=() AFTER=()

# snapshot ARRAY: reads every counter above through Prometheus into the associative ARRAY.
snapshot()
{
    local -n into=$1
    local name value
    for name in $COUNTERS; do
        value=$(prom_int "${QUERY[$name]}")
        [ "$value" != none ] || mg_fail "Prometheus has no single series for ${QUERY[$name]}: $(prom "${QUERY[$name]}" || true)"
        # shellcheck disable=SC2034 # a nameref: this sets the caller's array
        into["$name"]=$value
    done
}

# delta NAME: how much a counter moved between the snapshots.
delta() { echo $((AFTER[$1] - BEFORE[$1])); }

# wait_scraped: until Prometheus has scraped once more (the `up` sample is newer than now).
wait_scraped()
{
    local since
    since=$(date +%s.%N)
    mg_wait_for 15 "a new scrape after $since" prom_sample_newer "up{job=\"mtuguard\"}" "$since"
}

prom_sample_newer()
{
    local ts
    ts=$(gw "$MG_PYTHON" - "$PROM_PORT" "$1" <<'PYTHON'
import json, sys, urllib.parse, urllib.request
port, query = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": f"timestamp({query})"})
r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
print(r[0]["value"][1] if r else 0)
PYTHON
    ) || return 1
    awk -v a="$ts" -v b="$2" 'BEGIN { exit !(a > b + 0) }'
}

# dashboard_queries DASHBOARD: runs every PromQL expression of the Grafana dashboard (panel
# targets, annotation queries) with its template variables substituted, and every label_values()
# variable query. Prints one line per query; exits 1 if any returns no data.
dashboard_queries()
{
    gw "$MG_PYTHON" - "$PROM_PORT" "$1" "$INSTANCE" <<'PYTHON'
import json, re, sys, urllib.parse, urllib.request

port, path, instance = sys.argv[1], sys.argv[2], sys.argv[3]
dashboard = json.load(open(path))
# What Grafana substitutes. The instance is a plain address: as a regex its dots match themselves
# too. The rate window covers the traffic this test sent within the last few seconds.
values = {"datasource": "prometheus", "job": "mtuguard", "instance": instance, "interface": "gw-in",
          "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}

def substitute(expr):
    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], expr)
    if "$" in out:
        raise SystemExit(f"unsubstituted variable in {expr}")
    return out

def api(endpoint, params):
    url = f"http://127.0.0.1:{port}/api/v1/{endpoint}?" + urllib.parse.urlencode(params, doseq=True)
    body = json.load(urllib.request.urlopen(url, timeout=5))
    if body["status"] != "success":
        raise SystemExit(f"{endpoint} {params}: {body}")
    return body["data"]

def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))

queries = []
for p in panels(dashboard["panels"]):
    for t in p.get("targets", []):
        queries.append((p["title"], t["expr"]))
for a in dashboard.get("annotations", {}).get("list", []):
    if a.get("expr"):
        queries.append(("annotation " + a["name"], a["expr"]))

empty = 0
for title, expr in queries:
    result = api("query", {"query": substitute(expr)})["result"]
    shown = ", ".join(str(r["value"][1]) for r in result[:4])
    print(f"{'ok   ' if result else 'EMPTY'} {len(result)} series [{shown}]  {title}: {substitute(expr)}")
    empty += not result

for v in dashboard["templating"]["list"]:
    if v.get("type") != "query":
        continue
    m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", v["definition"])
    if not m:
        raise SystemExit(f"variable {v['name']}: not a label_values() query: {v['definition']}")
    selector, label = substitute(m.group(1)), m.group(2)
    found = api(f"label/{label}/values", {"match[]": selector})
    expected = {"instance": instance, "interface": "gw-in"}.get(v["name"])
    ok = bool(found) and (expected is None or expected in found)
    print(f"{'ok   ' if ok else 'EMPTY'} variable {v['name']}: label_values({selector}, {label}) = {found}")
    empty += not ok

print(f"{len(queries)} queries")
sys.exit(1 if empty else 0)
PYTHON
}

# --- tests -------------------------------------------------------------------------------------------

test_rules_and_config()
{
    promtool_ok "alert rules" check rules "$DEPLOY/prometheus/alerts.yml"
    mg_note "$(printf '%s' "$PROMTOOL_OUT" | grep SUCCESS)"
    promtool_ok "alert rule tests" test rules "$DEPLOY/prometheus/alerts_test.yml"
    mg_assert_match "promtool test rules" SUCCESS "$PROMTOOL_OUT"
    promtool_ok "example scrape config" check config "$DEPLOY/prometheus/prometheus.yml"
    "$MG_PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$DEPLOY/grafana/mtuguard.json" ||
        mg_fail "deploy/grafana/mtuguard.json is not valid JSON"
}

test_scrape_to_alert()
{
    local name
    isolation_args
    mg_daemon_start --iface gw-in --session "$SESSION" --metrics-listen "$INSTANCE" \
        --icmp-rate 0 --icmp-rate-per-source 0 ${ISOLATION[@]+"${ISOLATION[@]}"}

    # The daemon's own output, before any traffic: every series present, and lint-clean.
    mg_wait_for 10 "mtuguardd serving /metrics" scrape_metrics "$MG_TMP/idle.prom"
    check_metrics_text "$MG_TMP/idle.prom"
    mg_assert_eq "mtuguard_program_attached on gw-in" 1 \
        "$(metric_line "$MG_TMP/idle.prom" 'mtuguard_program_attached{interface="gw-in",mode="native"}')"
    mg_assert_eq "mtuguard_program_attached of the MSS clamp (tc) on gw-in" 1 \
        "$(metric_line "$MG_TMP/idle.prom" 'mtuguard_program_attached{interface="gw-in",mode="tc"}')"
    mg_assert_eq "sessions on TLS" 1 "$(metric_line "$MG_TMP/idle.prom" 'mtuguard_sessions{transport="tls"}')"
    mg_note "idle /metrics: $(grep -c '^mtuguard_' "$MG_TMP/idle.prom") mtuguard_ sample lines, promtool clean"

    # Prometheus with the shipped rules. The copy differs in one place: MtuguardOversizeDropsHigh
    # waits 5 s instead of 15 min (`for:`), so a test can see it fire; its expression, labels and
    # annotations are the shipped ones. The other alerts keep their `for:` and must stay silent.
    sed '/alert: MtuguardOversizeDropsHigh/,/for:/ s/for: .*/for: 5s/' \
        "$DEPLOY/prometheus/alerts.yml" >"$MG_TMP/alerts.yml"
    mg_assert_eq "rules changed in the test copy" 1 \
        "$(diff "$DEPLOY/prometheus/alerts.yml" "$MG_TMP/alerts.yml" | grep -c '^>')"
    promtool_ok "test copy of the rules" check rules "$MG_TMP/alerts.yml"
    cat >"$MG_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    runbook_base: $RUNBOOK_BASE
rule_files:
  - $MG_TMP/alerts.yml
scrape_configs:
  - job_name: mtuguard
    static_configs:
      - targets: ['$INSTANCE']
EOF
    promtool_ok "test Prometheus config" check config "$MG_TMP/prometheus.yml"
    mg_ns_bg "$NS_GATEWAY" "$MG_TMP/prometheus.log" "$PROMETHEUS" \
        --config.file="$MG_TMP/prometheus.yml" --storage.tsdb.path="$MG_TMP/prometheus-data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
    PROMETHEUS_PID=$MG_BG_PID
    mg_wait_for 60 "Prometheus ready" gw curl -sf --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready"
    mg_wait_for 30 "Prometheus scraping mtuguardd (up == 1)" prom_equals "up{job=\"mtuguard\"}" 1
    wait_scraped
    snapshot BEFORE
    mg_note "before: within_mtu=${BEFORE[within_mtu]} icmp_sent=${BEFORE[icmp_sent]} packets=${BEFORE[packets]}"

    # Traffic from the server toward the client's tunnel address: N within the MTU in one ping,
    # then M oversize with DF, one ping each with the learned path MTU forgotten in between (else
    # the server's kernel refuses to send the next one itself: "message too long, mtu=1347").
    local out status=0 i
    out=$(ip netns exec "$NS_SERVER" timeout 30 ping -n -M "do" -s 1000 -c "$WITHIN" -i 0.05 -W 2 "$MG_CLIENT4" 2>&1) ||
        status=$?
    mg_assert_eq "ping -M do -s 1000 -c $WITHIN exit status" 0 "$status"
    mg_assert_match "within-MTU replies" " $WITHIN received" "$out"
    for i in $(seq "$OVERSIZE"); do
        mg_flush_pmtu
        status=0
        out=$(ip netns exec "$NS_SERVER" timeout 10 ping -n -M "do" -s 1390 -c 1 -W 1 "$MG_CLIENT4" 2>&1) || status=$?
        mg_assert_cmp "oversize ping $i exit status (no reply)" "$status" -ne 0
        mg_assert_match "oversize ping $i answered with frag-needed" 'Frag needed and DF set \(mtu = 1347\)' "$out"
        mg_assert_match "oversize ping $i sent once, no reply" "^1 packets transmitted, 0 received" "$out"
    done
    mg_flush_pmtu

    # Prometheus sees exactly what was sent: wait for the counters to arrive, then one more scrape
    # to be sure nothing else trickles in.
    mg_wait_for 30 "within_mtu += $WITHIN in Prometheus" prom_equals "$Q_WITHIN" $((BEFORE[within_mtu] + WITHIN))
    mg_wait_for 30 "icmp_sent += $OVERSIZE in Prometheus" prom_equals "$Q_ICMP_SENT" $((BEFORE[icmp_sent] + OVERSIZE))
    wait_scraped
    wait_scraped
    snapshot AFTER
    for name in $COUNTERS; do
        mg_note "$(printf '%-13s %8s -> %8s  (+%s)' "$name" "${BEFORE[$name]}" "${AFTER[$name]}" "$(delta "$name")")"
    done
    mg_assert_eq "ipv4 within_mtu increase (echo requests sent)" "$WITHIN" "$(delta within_mtu)"
    mg_assert_eq "ipv4 icmp_sent increase (oversize DF requests sent)" "$OVERSIZE" "$(delta icmp_sent)"
    mg_assert_eq "all oversize actions increase (exclusive: only icmp_sent moved)" "$OVERSIZE" "$(delta oversize_all)"
    mg_assert_eq "oversize histogram _count increase" "$OVERSIZE" "$(delta hist_count)"
    mg_assert_eq "oversize histogram _sum increase ($OVERSIZE x $OVERSIZE_LEN bytes)" $((OVERSIZE * OVERSIZE_LEN)) \
        "$(delta hist_sum)"
    mg_assert_eq "oversize histogram: le=1400 unchanged" 0 "$(delta hist_le_1400)"
    mg_assert_eq "oversize histogram: le=1418 increase" "$OVERSIZE" "$(delta hist_le_1418)"
    mg_assert_eq "oversize histogram: le=+Inf increase" "$OVERSIZE" "$(delta hist_le_inf)"
    # Nothing else crosses gw-in toward the gateway (static neighbours, no DAD, no RA), and the
    # client's echo replies take gw-vpn: packets and bytes are exactly the requests.
    mg_assert_eq "packets_total increase" $((WITHIN + OVERSIZE)) "$(delta packets)"
    mg_assert_eq "bytes_total increase (whole frames)" $((WITHIN * WITHIN_FRAME + OVERSIZE * OVERSIZE_FRAME)) \
        "$(delta bytes)"
    # The invariant of docs/metrics.md, through Prometheus.
    mg_assert_eq "packets_total = passed + oversize" 0 "$(prom_int "sum(mtuguard_packets_total{$S})
        - sum(mtuguard_passed_packets_total{$S}) - sum(mtuguard_oversize_packets_total{$S})")"

    # What Prometheus stored is what the daemon serves now (no traffic since).
    scrape_metrics "$MG_TMP/busy.prom"
    check_metrics_text "$MG_TMP/busy.prom"
    mg_assert_eq "daemon's own within_mtu line" "${AFTER[within_mtu]}" "$(as_int "$(metric_line "$MG_TMP/busy.prom" \
        'mtuguard_passed_packets_total{interface="gw-in",family="ipv4",reason="within_mtu"}')")"
    mg_assert_eq "daemon's own icmp_sent line" "${AFTER[icmp_sent]}" "$(as_int "$(metric_line "$MG_TMP/busy.prom" \
        'mtuguard_oversize_packets_total{interface="gw-in",family="ipv4",action="icmp_sent"}')")"

    # The oversize alert: pending, then firing, with the shipped labels.
    mg_wait_for 60 "MtuguardOversizeDropsHigh firing" prom_equals \
        "ALERTS{alertname=\"MtuguardOversizeDropsHigh\", alertstate=\"firing\", interface=\"gw-in\", severity=\"critical\"}" 1
    mg_note "firing: $(prom 'ALERTS{alertstate="firing"}')"
    # Its runbook link, from the one base URL the Prometheus configuration sets.
    mg_assert_eq "MtuguardOversizeDropsHigh runbook_url" "$RUNBOOK_BASE/runbook.md#mtuguardoversizedropshigh" \
        "$(prom_annotation MtuguardOversizeDropsHigh runbook_url)"
    mg_note "drop share: $(prom_value "sum without (family, action) (rate(mtuguard_oversize_packets_total{$S, action=~\"icmp_sent|icmp_ratelimited|icmp_suppressed|icmp_failed|dropped\"}[5m])) / (sum without (family, reason) (rate(mtuguard_passed_packets_total{$S, reason=\"within_mtu\"}[5m])) + sum without (family, action) (rate(mtuguard_oversize_packets_total{$S}[5m])))")"
    mg_assert_eq "other mtuguard alerts pending or firing" "" \
        "$(prom 'ALERTS{alertname=~"Mtuguard.*", alertname!="MtuguardOversizeDropsHigh"}')"

    # Every dashboard query returns data (the ALERTS annotation included, now that one fires).
    status=0
    out=$(dashboard_queries "$DEPLOY/grafana/mtuguard.json" 2>&1) || status=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    mg_assert_eq "dashboard queries without data" 0 "$status"

    mg_stop "$PROMETHEUS_PID" 20
    mg_assert_eq "Prometheus exit status after SIGTERM" 0 "$MG_EXIT_STATUS"
    if grep -qiE 'level=error' "$MG_TMP/prometheus.log"; then
        mg_fail "Prometheus logged errors:
$(grep -iE 'level=error' "$MG_TMP/prometheus.log" | sed 's/^/    | /')"
    fi
    mg_daemon_stop
    mg_assert_eq "mtuguardd exit status after SIGTERM" 0 "$MG_DAEMON_STATUS"
}

mg_preflight() { mg_require_tool "$PROMTOOL" "$PROMETHEUS"; }

mg_tests rules_and_config scrape_to_alert
mg_main "$@"
