/* sim_storage.h - the simulated disk: RtStorage on the event kernel, with power-loss
 * semantics in the spirit of SQLite's test6.c crash simulator.
 *
 * Model. One namespace shared by every process (a DFS, as Flink's checkpoint storage).
 * Files are inodes bound to paths. Two bindings exist side by side:
 *  - the current namespace (path -> inode): what reads and lists see;
 *  - the durable namespace (path -> inode): what a crash of everybody would leave.
 * Each inode has current content and durable content. Operations:
 *  - write(p, data): replaces the content of p's inode (creating the inode if p does
 *    not exist: that binding is volatile). The content is volatile, owned by the writer.
 *  - fsync(p): the content of p's inode becomes durable, and so does the binding of p
 *    (as on ext4, where fsync commits the journal: a newly created file survives).
 *  - rename(from, to) / remove(p): change the current namespace only; they become
 *    durable when fsync_dir(parent) runs for the changed paths (or fsync(to)).
 *  - fsync_dir(d): every volatile binding change of a path directly in d becomes
 *    durable. (Top-level paths have no nameable parent; fsync(path) persists them.)
 *  - read / list: from the current namespace.
 * Directories exist implicitly: list of an unknown directory is an empty list, and
 * fsync_dir of one succeeds. list returns the names of the files directly in dir.
 *
 * Timing. Every operation takes effect when it completes, in a kernel event; the
 * completions of one process happen in the order it issued them (each completion is
 * due at max(now + latency, the previous completion of that process)). So a write
 * followed at once by fsync is covered by the fsync. A crash cancels its process's
 * pending operations: they never happen and their callbacks never run.
 *
 * Crash of process P (sim_storage_process_crashed). In inode-id order, every inode
 * whose content P wrote and nobody has fsynced since is, by a draw from the stream
 * "storage.crash": lost (content reverts to the durable content; probability
 * 1 - torn_probability), or torn (probability torn_probability): either a prefix of
 * the new content (length uniform in [0, len)), or, with probability
 * garble_probability, the new content with a random run of bytes replaced by garbage.
 * A torn content is what is on disk now: it becomes both current and durable. Then,
 * in path order, every volatile binding change P made reverts to the durable binding.
 * A change made by a process counts as that process's until fsync'd (the last process
 * to touch a path or inode owns it).
 *
 * Faults. sim_storage_fail_next() makes the next N matching operations fail; a rate
 * mode fails operations at random (stream "storage.faults"). NO_SPACE applies only to
 * write, fsync, fsync_dir and rename; IO to every operation. A failed operation
 * changes nothing and reports the error through its callback. Every injected failure
 * is reported to the observer as RT_EV_WORLD_FAULT.
 *
 * Bounds. A file holds at most max_file_bytes (a bigger write fails with NO_SPACE),
 * the namespace at most max_files files (creating more fails with NO_SPACE), a process
 * at most max_pending_ops operations in flight (more fail at once with IO).
 *
 * Determinism. Trees keyed by path or id only; each completion folds (process, op,
 * path hash, error code, content length and hash) into the trace hash.
 */
#ifndef SIM_STORAGE_H
#define SIM_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"
#include "sim/core/sim_kernel.h"
#include "sim/world/sim_host.h"

typedef struct SimStorage SimStorage;

#define SIM_STORAGE_MAX_PROCESSES 1024u

typedef struct SimStorageConfig {
    uint64_t write_base_ns;    /* per write; default 50 us */
    uint64_t write_ns_per_kib; /* per KiB written; default 1000 (about 1 GB/s) */
    uint64_t read_base_ns;     /* per read; default 20 us */
    uint64_t read_ns_per_kib;  /* per KiB read; default 500 */
    uint64_t fsync_min_ns;     /* fsync and fsync_dir: uniform in [min, max]; 1 ms */
    uint64_t fsync_max_ns;     /* default 5 ms */
    uint64_t meta_ns;          /* rename, remove, list; default 100 us */
    double torn_probability;   /* on crash, an unsynced write is torn (else lost); 0.5 */
    double garble_probability; /* a torn write is garbled (else a prefix); 0.5 */
    uint64_t max_file_bytes;   /* default 1 GiB */
    uint32_t max_files;        /* default 1,000,000 */
    uint32_t max_pending_ops;  /* per process; default 100,000 */
} SimStorageConfig;

typedef struct SimStorageStats {
    uint64_t ops;           /* operations completed (ok or failed) */
    uint64_t failed;        /* completed with an error */
    uint64_t injected;      /* of which injected */
    uint64_t bytes_written; /* by successful writes */
    uint64_t bytes_read;    /* by successful reads */
    uint64_t fsyncs;        /* successful fsync + fsync_dir */
    uint64_t torn;          /* files torn by crashes */
    uint64_t lost;          /* unsynced writes lost by crashes */
} SimStorageStats;

/* Fills *cfg with the defaults above. */
void sim_storage_config_init(SimStorageConfig *cfg);

/* A storage on kernel k (borrowed, outlives it). seed derives the PRNG streams; host
 * and observer (borrowed, may be NULL) as in sim_net_new. */
SimStorage *sim_storage_new(SimKernel *k, uint64_t seed, const SimStorageConfig *cfg,
                            const SimHost *host, RtObserver *observer);
/* Frees everything; pending completions never run. */
void sim_storage_free(SimStorage *s);

/* The RtStorage of process pid (< SIM_STORAGE_MAX_PROCESSES), owned by s. */
RtStorage *sim_storage_client(SimStorage *s, RtProcessId pid);

/* Process pid crashed: cancels its pending operations, then loses or tears its unsynced
 * writes and reverts its unsynced namespace changes (see the header comment). */
void sim_storage_process_crashed(SimStorage *s, RtProcessId pid);

/* The next count operations on a path starting with path_prefix ("" = any) that the
 * code applies to fail with code (RT_STORAGE_ERROR_IO or RT_STORAGE_ERROR_NO_SPACE).
 * Rules accumulate; the oldest matching rule is used first. Returns the rule's id. */
uint64_t sim_storage_fail_next(SimStorage *s, const char *path_prefix, RtStorageError code,
                               uint32_t count);
/* Operations the rule (the value sim_storage_fail_next returned) has failed so far. */
uint32_t sim_storage_fail_rule_hits(const SimStorage *s, uint64_t rule);
/* Every operation fails with IO with probability io_rate, and (if applicable) with
 * NO_SPACE with probability no_space_rate. 0, 0 turns the rate mode off. */
void sim_storage_set_fault_rates(SimStorage *s, double io_rate, double no_space_rate);

/* God's-eye reads for the oracle and tests (no latency, no faults, no trace). */

/* The durable content of path: what would be there if every process crashed now and
 * no write were torn. Borrowed until the next storage event; NULL if path would not
 * exist. *len gets the length. */
const void *sim_storage_read_durable(SimStorage *s, const char *path, size_t *len);
/* The current content (what a read would return now); NULL if path does not exist. */
const void *sim_storage_read_current(SimStorage *s, const char *path, size_t *len);
/* All paths starting with prefix in the durable (or current) namespace, sorted,
 * NULL-terminated; free with g_strfreev. */
char **sim_storage_list_paths(SimStorage *s, const char *prefix, bool durable);
/* True if path has content or a binding not yet durable. */
bool sim_storage_is_dirty(SimStorage *s, const char *path);

void sim_storage_stats(const SimStorage *s, SimStorageStats *out);

#endif /* SIM_STORAGE_H */
