#!/usr/bin/env bash
# run-main.sh - the README's main job: install what is missing, build, then run every
# standard scenario (scenarios/*.ini) in simulation, on the embedded simulated ZooKeeper,
# print a verdict table, sweep seeds 1..SEEDS of every scenario (`sweep --metrics` keeps
# each run's metrics in out/main/runs/NAME/seed-N), and write a gnuplot report whose
# verdict table covers every run of the sweep (plots for seed 1 of each scenario and for
# violating runs).
#
# Usage: scripts/run-main.sh            (output in out/main; SEEDS=20 by default)
#        SEEDS=100 OUT=/tmp/main scripts/run-main.sh
# Exit status: 0 every scenario held, 1 a violation, 2 set-up or bad input.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
scripts/setup.sh || exit 2
scripts/build.sh build >/dev/null || { scripts/build.sh build; exit 2; }
bin=build/ckptsim
out=${OUT:-out/main}
seeds=${SEEDS:-20}
rm -rf "$out" && mkdir -p "$out" || exit 2

rc=0
printf '\n%-30s %-9s %5s %5s %13s %9s %s\n' scenario verdict ckpts fails committed sim_time trace_hash
printf '%.0s-' {1..90}; echo
# Every standard scenario, plus unaligned-backpressure run aligned: the report plots the two
# side by side (aligned vs. unaligned checkpoints under the same backpressure and faults).
runs=()
for f in scenarios/*.ini; do runs+=("$f|$(basename "$f" .ini)|"); done
runs+=("scenarios/unaligned-backpressure.ini|unaligned-backpressure-aligned|execution.checkpointing.unaligned.enabled=false")
for r in "${runs[@]}"; do
  IFS='|' read -r f name set <<<"$r"
  json=$("$bin" run "$f" --seed 1 --json --out "$out/$name" ${set:+--set "$set"} 2>"$out/$name.err")
  code=$?
  [ $code -gt $rc ] && rc=$code
  if [ $code -eq 2 ]; then
    printf '%-26s %-9s %s\n' "$name" "BAD-INPUT" "$(head -1 "$out/$name.err")"
    continue
  fi
  python3 -c 'import json,sys
o=json.loads(sys.argv[1])
print("%-30s %-9s %5d %5d %13s %8.2fs %s" % (sys.argv[2][:30], o["verdict"].upper(),
  o["checkpoints_completed"], o["failovers"], "%d/%d" % (o["records_committed"], o["records_total"]),
  o["sim_time_ns"]/1e9, o["trace_hash"]))
for v in o["violations"]:
    print("    violated %s: %s" % (v["invariant"], v["message"][:200]))' "$json" "$name"
done

echo
echo "sweep: every scenario, seeds 1..$seeds, $(nproc) jobs (metrics of every run -> $out/runs)"
"$bin" sweep scenarios/*.ini --seeds "1..$seeds" --jobs "$(nproc)" --out "$out/capsules" \
  --metrics "$out/runs" --junit "$out/junit.xml" | grep -E '^sweep:|VIOLATION|CRASH'
code=${PIPESTATUS[0]}
[ $code -gt $rc ] && rc=$code
# The aligned variant of unaligned-backpressure, for the report's comparison.
"$bin" sweep scenarios/unaligned-backpressure.ini --seeds "1..$seeds" --jobs "$(nproc)" --quiet \
  --set execution.checkpointing.unaligned.enabled=false --metrics "$out/runs-aligned" \
  --out "$out/capsules" >/dev/null
code=$?
[ $code -gt $rc ] && rc=$code
[ -d "$out/runs-aligned/unaligned-backpressure" ] &&
  mv "$out/runs-aligned/unaligned-backpressure" "$out/runs/unaligned-backpressure-aligned" &&
  rmdir "$out/runs-aligned"

echo
if "$bin" report "$out/runs" --out "$out/report.html" >/dev/null; then
  echo "report: $out/report.html (plots beside it; per-scenario CSV and trace.json in $out/NAME)"
else
  echo "report: not written (see above)" >&2
fi
exit $rc
