#!/usr/bin/env bash
# mutation.sh - mutation testing of runtime/ against the standard sweep (issue 7).
# Plants one fault at a time (flipped comparison, negated condition, deleted call, swapped
# boolean return, off-by-one, && <-> ||) in a private copy of the tree, rebuilds ckptsim,
# and checks that the sweep of every scenario under the three state backends (then a
# short ASan+LSan sweep) notices. The work is in scripts/mutation.py; --help for options.
# Usage: scripts/mutation.sh [--sample N] [--seed S] [--seeds 1..K] [--jobs J]
#                            [--files GLOB] [--out DIR] [--ci] [--list] ...
set -euo pipefail
exec python3 "$(dirname "$0")/mutation.py" "$@"
