#!/usr/bin/env bash
# Smoke test of one reproduction: `garden repro run SLUG --scale smoke` without a data root
# (the built-in fallbacks), then checks that every criterion was evaluated and that
# results.json, report.md and the plots it names are complete.
set -euo pipefail
garden="$1"
slug="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work/no-data"
"$garden" repro run "$slug" --scale smoke --seed 0 --threads 1 --data "$work/no-data" --cache "$work/cache" --out "$work/out" >"$work/stdout.txt"
python3 - "$work/out/$slug" "$slug" <<'PY'
import json, os, sys
folder, slug = sys.argv[1], sys.argv[2]
with open(os.path.join(folder, "results.json")) as f:
    r = json.load(f)
problems = []
for key in ("slug", "title", "scale", "verdict", "reason", "seconds", "data", "figures_version", "commit",
            "criteria", "tables", "plots", "artifacts", "notes", "figures"):
    if key not in r:
        problems.append("results.json lacks " + key)
if r.get("slug") != slug or r.get("scale") != "smoke":
    problems.append("slug/scale are %r/%r" % (r.get("slug"), r.get("scale")))
if r.get("verdict") not in ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE"):
    problems.append("verdict %r" % r.get("verdict"))
if not r.get("criteria"):
    problems.append("no criterion was evaluated")
for c in r.get("criteria", []):
    if not c.get("description") or "measured" not in c or not isinstance(c.get("passed"), bool):
        problems.append("incomplete criterion %r" % c)
if not isinstance(r.get("figures"), dict) or not r["figures"]:
    problems.append("empty figures")
for t in r.get("tables", []):
    for row in t["rows"]:
        if len(row) != len(t["header"]):
            problems.append("table %r: a row of %d cells under %d columns" % (t["title"], len(row), len(t["header"])))
for plot in r.get("plots", []):
    if not os.path.isfile(os.path.join(folder, plot)):
        problems.append("plot %s named but not written" % plot)
report = open(os.path.join(folder, "report.md")).read()
if "Verdict: " + r.get("verdict", "?") not in report:
    problems.append("report.md does not state the verdict")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("%s: %d criteria evaluated, verdict %s at smoke scale (%.1f s)" % (slug, len(r["criteria"]), r["verdict"], r["seconds"]))
PY
