#!/usr/bin/env bash
# screenshots.sh - renders the report of two standard scenarios to PNG, to look at:
# runs crash-mid-alignment and ha-leader-crash (seed 1), writes their report with PNG
# plots, copies the plots into OUT and renders report.html with headless Chromium
# (OUT/report.png, the top of the page, and OUT/report-full.png, the whole page).
#
# Usage: scripts/screenshots.sh OUT      (needs build/ckptsim, gnuplot, chromium)
# Exit status: 0 written, 2 a tool is missing or a step failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/screenshots.sh OUT}
bin=${CKPTSIM_BIN:-$root/build/ckptsim}
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -x "$bin" ] || { echo "screenshots: $bin not built (meson compile -C build)" >&2; exit 2; }
[ -n "$chrome" ] || { echo "screenshots: chromium not found (apt-get install chromium)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ckptsim-shots.XXXXXX")
trap 'rm -rf "$work"' EXIT
for s in crash-mid-alignment ha-leader-crash; do
  "$bin" run "$root/scenarios/$s.ini" --seed 1 --out "$work/$s" >/dev/null 2>&1 || [ $? -eq 1 ]
done
"$bin" report "$work" --format png >/dev/null
cp "$work"/*.png "$out"/
shot() { # shot FILE.png HEIGHT
  "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1400,$2" \
    --screenshot="$1" "file://$work/report.html" >/dev/null 2>&1
}
shot "$out/report.png" 1400
shot "$out/report-full.png" 9000
ls "$out"
