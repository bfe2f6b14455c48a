#!/usr/bin/env bash
# tidy.sh - the house rules, as a TAP test over the source tree (suite 'tidy').
#  1. Nothing under runtime/ includes anything under sim/ (the one rule of DESIGN).
#  2. No banned call (wall clock, ambient randomness, threads, GLib timers) outside
#     runtime/live and the real ZooKeeper client: determinism depends on it.
#  3. No g_assert / g_return_if_fail in runtime/ or sim/ (TAP-corrupting or non-fatal).
#  5. Configuration keys are read only through the key registry (rt_config_keys.h:
#     rt_config_lookup, rt_config_key_*): no raw rt_config_get / rt_config_has /
#     rt_config_get_<type> outside runtime/env/rt_config*.
root=${1:-.}
cd "$root" || { echo "1..0 # SKIP no source root"; exit 0; }
n=0; failed=0
check() { # check DESCRIPTION HITS
  n=$((n + 1))
  if [ -n "$2" ]; then
    echo "not ok $n - $1"; echo "$2" | sed 's/^/# /'; failed=1
  else
    echo "ok $n - $1"
  fi
}
src_files() { find runtime sim -name '*.[ch]' 2>/dev/null | sort; }
echo "1..5"
hits=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](\.\./)*sim/' $(find runtime -name '*.[ch]' | sort) /dev/null)
check "runtime/ does not include sim/" "$hits"
banned='\b(rand|srand|random|drand48|time|clock_gettime|gettimeofday|clock|sleep|usleep|nanosleep|pthread_create|thrd_create|g_thread_new|g_thread_try_new|g_random_[a-z_]+|g_rand_[a-z_]+|g_get_monotonic_time|g_get_real_time|g_timeout_add[a-z_]*|g_idle_add[a-z_]*)[[:space:]]*\('
allowed='^(runtime/live/|runtime/coord/rt_coord_zk|sim/main\.c|sim/harness/sim_sweep|sim/core/sim_bench|sim/harness/sim_bench|sim/report/)'
# Comments and string literals are blanked first: "at a time (t)" in a message is no call.
strip_code() { sed -E -e 's#"([^"\\]|\\.)*"#""#g' -e 's#/\*.*\*/##g' -e 's#^[[:space:]]*\*.*##' "$1"; }
hits=$(for f in $(src_files); do echo "$f" | grep -qE "$allowed" && continue; \
  strip_code "$f" | grep -nE "$banned" | sed "s#^#$f:#"; done)
check "no wall clock, ambient randomness or threads outside runtime/live and the ZooKeeper client" "$hits"
hits=$(grep -nE '\b(g_assert[a-z_]*|g_return_if_fail|g_return_val_if_fail)\b' $(src_files) /dev/null)
check "no g_assert / g_return_if_fail in runtime/ or sim/" "$hits"
hits=$(grep -lE '#[[:space:]]*include[[:space:]]*<zookeeper/' $(src_files) /dev/null | grep -vE '^runtime/coord/rt_coord_zk')
check "only runtime/coord/rt_coord_zk* includes the ZooKeeper C client" "$hits"
hits=$(grep -nE '\brt_config_(get|has|get_[a-z_]+)[[:space:]]*\(' $(src_files) /dev/null | grep -vE '^runtime/env/rt_config(_keys)?\.[ch]:')
check "configuration keys are read only through the key registry (rt_config_keys.h)" "$hits"
exit $failed
