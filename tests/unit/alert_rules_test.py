#!/usr/bin/python3
"""What promtool cannot check about deploy/prometheus/alerts.yml:

    alert_rules_test.py ALERTS RULE_TESTS RUNBOOK

- every alert has a severity of the scheme (critical, warning, info), a summary and a description;
- its runbook_url is the runbook under the external label runbook_base (with the documented
  placeholder when unset), anchored at the alert's name in lower case;
- RUNBOOK has a "## <alert>" section for it, so the anchor exists;
- RULE_TESTS has a case where it fires and one where it must not.
Exits 1 naming each problem.
"""
import re
import sys

import yaml

RUNBOOK_URL = '{{ or $externalLabels.runbook_base "https://mtuguard.example/docs" }}/runbook.md#'
SEVERITIES = {"critical", "warning", "info"}

alerts_path, tests_path, runbook_path = sys.argv[1:4]
rules = [r for g in yaml.safe_load(open(alerts_path))["groups"] for r in g["rules"] if "alert" in r]
tests = yaml.safe_load(open(tests_path))["tests"]
headings = set(re.findall(r"^## (\S+)\s*$", open(runbook_path).read(), re.M))

fires, silent = set(), set()
for case in tests:
    for check in case.get("alert_rule_test", []):
        (fires if check.get("exp_alerts") else silent).add(check["alertname"])

problems = []
for rule in rules:
    name = rule["alert"]
    severity = rule.get("labels", {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{name}: severity {severity!r} is not one of {sorted(SEVERITIES)}")
    annotations = rule.get("annotations", {})
    for key in ("summary", "description"):
        if not annotations.get(key):
            problems.append(f"{name}: no {key}")
    url = annotations.get("runbook_url")
    if url != RUNBOOK_URL + name.lower():
        problems.append(f"{name}: runbook_url {url!r}, expected {RUNBOOK_URL + name.lower()!r}")
    if name not in headings:
        problems.append(f"{name}: no '## {name}' section in {runbook_path}")
    if name not in fires:
        problems.append(f"{name}: no rule test where it fires")
    if name not in silent:
        problems.append(f"{name}: no rule test where it must not fire")

for p in problems:
    print("FAIL:", p, file=sys.stderr)
print(f"{len(rules)} alerts: severities, runbook links and sections, firing and silent tests checked")
sys.exit(1 if problems else 0)
