#!/bin/sh
# deploy/prometheus/alertmanager.yml, the inhibit rules shipped beside the alert rules:
#
#   alertmanager_test.sh FRAGMENT ALERTS
#
# 1. The fragment holds nothing but `inhibit_rules` (it is merged into the operator's own file).
# 2. `amtool check-config` (Debian: prometheus-alertmanager; scripts/deps) accepts it inside a
#    minimal route and receiver, and counts as many inhibit rules as the fragment has.
# 3. Every alert name the matchers spell out is an alert of ALERTS (alerts.yml), and every regular
#    expression on alertname matches at least one: a renamed alert cannot leave a rule dead.
# 4. amtool rejects the same fragment with a broken matcher: the check above can fail.
set -eu

fragment=$1
alerts=$2
python=${MTUGUARD_PYTHON:-/usr/bin/python3}
amtool=${MTUGUARD_AMTOOL:-amtool}
command -v "$amtool" >/dev/null || { echo "no amtool: run scripts/deps (prometheus-alertmanager)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

rules=$("$python" - "$fragment" "$alerts" <<'PYTHON'
import re, sys, yaml

fragment = yaml.safe_load(open(sys.argv[1]))
alerts = {r["alert"] for g in yaml.safe_load(open(sys.argv[2]))["groups"] for r in g["rules"] if "alert" in r}
if set(fragment) != {"inhibit_rules"}:
    sys.exit(f"FAIL: top-level keys {sorted(fragment)}, expected only inhibit_rules")
failed = False
for i, rule in enumerate(fragment["inhibit_rules"]):
    if not rule.get("equal"):
        print(f"FAIL: rule {i}: no `equal`: it would inhibit across gateways", file=sys.stderr)
        failed = True
    for side in ("source_matchers", "target_matchers"):
        names = [m for m in rule.get(side, []) if m.startswith("alertname")]
        if not names:
            print(f"FAIL: rule {i}: {side} names no alert", file=sys.stderr)
            failed = True
        for m in names:
            op, value = re.fullmatch(r'alertname\s*(=~|!~|!=|=)\s*"(.*)"', m).groups()
            if op in ("=", "!="):
                missing = [] if value in alerts else [value]
            else:
                missing = [p for p in value.split("|") if re.fullmatch(r"\w+", p) and p not in alerts]
                if not any(re.fullmatch(value, a) for a in alerts):
                    missing.append(value)
            for name in missing:
                print(f"FAIL: rule {i}: {side} {m}: no alert {name} in {sys.argv[2]}", file=sys.stderr)
                failed = True
if failed:
    sys.exit(1)
print(len(fragment["inhibit_rules"]))
PYTHON
)
echo "the fragment has $rules inhibit rules, every alert it names exists"

config() { printf 'route:\n  receiver: none\nreceivers:\n  - name: none\n'; cat "$1"; }
config "$fragment" >"$scratch/alertmanager.yml"
output=$("$amtool" check-config "$scratch/alertmanager.yml" 2>&1) || {
    printf '%s\n' "$output"
    echo "FAIL: amtool check-config refused the fragment" >&2
    exit 1
}
printf '%s\n' "$output"
printf '%s\n' "$output" | grep -qx " - $rules inhibit rules" ||
    { echo "FAIL: amtool did not count $rules inhibit rules" >&2; exit 1; }

sed '0,/source_matchers: \[/s//source_matchers: ['"'"'alertname=~"("'"'"', /' "$fragment" >"$scratch/broken.yml"
cmp -s "$fragment" "$scratch/broken.yml" && { echo "FAIL: could not break the fragment for the negative check" >&2; exit 1; }
config "$scratch/broken.yml" >"$scratch/alertmanager.yml"
if "$amtool" check-config "$scratch/alertmanager.yml" >"$scratch/out" 2>&1; then
    cat "$scratch/out"
    echo "FAIL: amtool accepted a matcher that is no regular expression" >&2
    exit 1
fi
echo "a broken matcher is refused: $(grep -m1 -i -e error -e failed "$scratch/out")"
