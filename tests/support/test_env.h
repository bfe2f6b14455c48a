/* test_env.h - a tiny deterministic RtEnv for unit and contract tests of the state
 * module: a virtual clock with a (time, sequence)-ordered event list, and an in-memory
 * RtStorage with explicit durability (written data is volatile until fsync; renames
 * and removes are volatile until fsync_dir). test_env_crash() models a crash of the
 * one process: pending completions are dropped, a file whose data was not fsynced is
 * torn (its durable content, or half of its volatile content if it never had one), and
 * directory entries not made durable by fsync_dir vanish.
 *
 * Every storage operation completes TEST_ENV_IO_LATENCY_NS after it is issued; its
 * effect applies at completion. Faults on demand: test_env_fail_next() makes the next
 * storage call of a kind complete with RT_STORAGE_ERROR_IO.
 */
#ifndef TEST_ENV_H
#define TEST_ENV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"

#define TEST_ENV_IO_LATENCY_NS 10000u

typedef struct TestEnv TestEnv;

TestEnv *test_env_new(void);
/* Frees the env; pending events are dropped without running. */
void test_env_free(TestEnv *te);
/* The RtEnv view (borrowed, lives as long as te). */
RtEnv *test_env_rt(TestEnv *te);

/* Runs events in (time, seq) order until none is left or max_events ran. Returns the
 * number run. */
uint64_t test_env_run(TestEnv *te, uint64_t max_events);
/* Runs exactly one event if any; returns false when the queue is empty. */
bool test_env_step(TestEnv *te);
size_t test_env_pending(const TestEnv *te);

/* The visible content of path (what a read returns), borrowed; NULL if absent. */
GBytes *test_env_file_peek(TestEnv *te, const char *path);
/* Replaces path's content at once, durably (to plant corrupt or torn files). */
void test_env_file_put(TestEnv *te, const char *path, const void *data, size_t len);
/* Number of files (for leak/discard checks). */
size_t test_env_file_count(const TestEnv *te);

/* Crash model, see above. */
void test_env_crash(TestEnv *te);

typedef enum {
    TEST_ENV_OP_WRITE,
    TEST_ENV_OP_FSYNC,
    TEST_ENV_OP_FSYNC_DIR,
    TEST_ENV_OP_RENAME,
    TEST_ENV_OP_READ,
    TEST_ENV_OP_REMOVE,
} TestEnvOp;
/* The next storage call of kind op completes with an I/O error (once). */
void test_env_fail_next(TestEnv *te, TestEnvOp op);

#endif /* TEST_ENV_H */
