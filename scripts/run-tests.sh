#!/usr/bin/env bash
# run-tests.sh - the README's test command: install what is missing, build, start a
# throwaway ZooKeeper server on 127.0.0.1 (so the 'zk' suite runs against a real server
# instead of skipping), run every test suite, and stop the server (by its PID).
# Usage: scripts/run-tests.sh [extra 'meson test' arguments]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
scripts/setup.sh || exit 2
scripts/build.sh build || exit 2

# A private state dir, so a developer's own server (if any) is left alone.
export CKPTSIM_ZK_DIR
CKPTSIM_ZK_DIR=$(mktemp -d /tmp/ckptsim-zk-test.XXXXXX)
cleanup() { scripts/zk-server.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
if zk_env=$(scripts/zk-server.sh start); then
  export "${zk_env?}"   # CKPTSIM_TEST_ZK=127.0.0.1:PORT
  echo "run-tests: ZooKeeper server at ${CKPTSIM_TEST_ZK}"
else
  echo "run-tests: could not start a ZooKeeper server (log in $CKPTSIM_ZK_DIR); the zk suite will fail" >&2
fi
meson test -C build --print-errorlogs "$@"
