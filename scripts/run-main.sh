#!/usr/bin/env bash
# run-main.sh - the README's main job: install what is missing, build, run the self-test
# and the kernel benchmark.
# Usage: scripts/run-main.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
scripts/setup.sh || exit 2
scripts/build.sh build || exit 2
build/ckptsim selftest --seed 1 || exit $?
build/ckptsim bench kernel
