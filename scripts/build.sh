#!/usr/bin/env bash
# build.sh - configure (once) and compile ckptsim into a build directory.
# Usage: scripts/build.sh [BUILD_DIR] [meson setup options...]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
shift || true
cd "$root"
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@"
fi
meson compile -C "$dir"
