#!/usr/bin/env bash
# setup.sh - install every Debian package ckptsim needs, and nothing when all are present.
#
# Idempotent and quick on a machine that has everything (one dpkg query). Works as root
# or through sudo. Runs `apt-get update` once, only when something is missing (a fresh
# machine's package lists are empty). Usage: scripts/setup.sh
set -euo pipefail

packages=(
  gcc clang pkg-config meson ninja-build   # compilers and build tools
  libglib2.0-dev check                     # GLib, the Check test framework
  libjson-glib-dev                         # every JSON ckptsim reads or writes
  libyaml-dev                              # --flink-conf: Flink's config.yaml (yaml-0.1)
  libzookeeper-mt-dev                      # the ZooKeeper C client (libzookeeper_mt)
  zookeeper                                # a real server for the 'zk' test suite
  gnuplot-nox                              # the report's plots (a run-time tool)
  chromium                                 # headless check and screenshots of report.html
  python3                                  # .ci/run reads meson's testlog.json
  valgrind                                 # the 'valgrind' test setup
  libxml2-utils                            # xmllint: tests/junit.xsd checks the JUnit XML
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and not root, and no sudo to install them" >&2
  exit 2
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
