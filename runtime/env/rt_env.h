/* rt_env.h - the world as the runtime sees it.
 *
 * The one rule of ckptsim: code under runtime/ never touches the world directly. It
 * reads no clock, starts no thread, opens no file or socket and calls no ZooKeeper
 * itself. It sees the world only through an RtEnv, a struct of small interfaces
 * (ops table + base struct, as SQLite's sqlite3_vfs). Two worlds implement it:
 * sim/world (virtual time, seeded faults) and runtime/live (GLib main loop, POSIX).
 *
 * An RtEnv is one *process's* view of the world: a crash of that process cancels its
 * timers, breaks its channels, forgets its pending I/O and drops its unsynced writes.
 * After a crash no callback of that process ever runs again.
 *
 * Asynchronous contract (STYLE.md): an operation either fails at once (returns false
 * and sets a GError; the callback never runs) or returns true and calls its callback
 * exactly once, later, from the env's loop, never before the call returns.
 *
 * Ownership of operations in flight: at a crash the host calls the process's
 * components' _free() (rt_jobmanager_free, rt_taskmanager_free, and through them every
 * coordinator, store, counter, election, backend and operator) and no callback of the
 * process runs again. So the component that starts an asynchronous operation owns its
 * context: the context registers in the component's RtPendingOps set
 * (runtime/env/rt_pending_ops.h) when it starts, the callback's user_data is the
 * registration's token (not a pointer), the completion looks the token up and
 * unregisters, and the component's _free() calls rt_pending_ops_clear(), which frees
 * every context still in flight. A callback that arrives after its owner was freed
 * (orderly stop, task cancel, lost leadership) finds its token gone and touches
 * nothing. Timers are cancelled by their owner instead (rt_env_timer_cancel), and an
 * owner that frees the handle of the service it calls (its own RtCoord session, whose
 * free drops every callback) may keep its contexts on its own list.
 *
 * Time is uint64_t nanoseconds everywhere.
 */
#ifndef RT_ENV_H
#define RT_ENV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env/rt_observe.h"
#include "runtime/env/rt_rng.h"

typedef struct RtEnv RtEnv;

/* ---------------------------------------------------------------- time + timers */

typedef uint64_t RtTimerId; /* 0 is never a valid id */
typedef void (*RtTimerFunc)(void *user_data);

typedef struct RtClock RtClock;
typedef struct RtClockOps {
    const char *name;
    /* Current time of this world, ns. Monotonic, never goes back. */
    uint64_t (*now_ns)(RtClock *self);
    /* Calls fn(user_data) once, delay_ns from now. Returns a non-zero id. */
    RtTimerId (*timer_start)(RtClock *self, uint64_t delay_ns, RtTimerFunc fn, void *user_data);
    /* Cancels a pending timer; returns false if it already ran or was cancelled. */
    bool (*timer_cancel)(RtClock *self, RtTimerId id);
} RtClockOps;
struct RtClock {
    const RtClockOps *ops;
};

/* --------------------------------------------------------------------- transport */

/* A process is named by a small integer id given by the host (sim harness or live
 * launcher). A process listens on ports; a channel connects (src process) to
 * (dst process, port). Channels are message-oriented, reliable and FIFO, like TCP
 * with framing: Chandy-Lamport needs FIFO channels. A channel breaks when either
 * end's process dies; the surviving end learns it after a detection delay, through
 * on_broken. Messages sent on a broken channel are silently dropped. */
typedef uint32_t RtProcessId;
typedef struct RtChannel RtChannel;

typedef struct RtChannelHandler {
    /* A message arrived. data is borrowed for the duration of the call. */
    void (*on_message)(RtChannel *ch, const void *data, size_t len, void *user_data);
    /* The channel broke (peer died, partition, or the connect failed). After this the
     * channel is dead: the owner must call rt_channel_free() (possibly from inside
     * this callback) and no further callback runs. */
    void (*on_broken)(RtChannel *ch, void *user_data);
} RtChannelHandler;

/* Accept callback: a remote process connected to a listened port. The callee must
 * call rt_channel_set_handler() on ch before returning, or rt_channel_free() it. */
typedef void (*RtAcceptFunc)(RtChannel *ch, RtProcessId peer, void *user_data);

typedef struct RtTransport RtTransport;
typedef struct RtTransportOps {
    const char *name;
    bool (*listen)(RtTransport *self, uint32_t port, RtAcceptFunc accept, void *user_data,
                   GError **error);
    void (*unlisten)(RtTransport *self, uint32_t port);
    /* Opens a channel at once; messages may be sent immediately (they queue). If the
     * peer is dead or not listening, on_broken is called later. */
    RtChannel *(*connect)(RtTransport *self, RtProcessId peer, uint32_t port,
                          const RtChannelHandler *handler, void *user_data, GError **error);
    void (*set_handler)(RtChannel *ch, const RtChannelHandler *handler, void *user_data);
    /* Copies data. Returns false if the channel is known to be broken (dropped). */
    bool (*send)(RtChannel *ch, const void *data, size_t len);
    /* Closes (if open) and frees the local end; no callback runs after this. The peer
     * sees on_broken after the detection delay. */
    void (*free)(RtChannel *ch);
    RtProcessId (*peer)(RtChannel *ch);
} RtTransportOps;
struct RtTransport {
    const RtTransportOps *ops;
};
struct RtChannel {
    RtTransport *transport; /* the transport that made it; implementations embed this */
};

/* ----------------------------------------------------------------------- storage */

/* Files with explicit durability, named by '/'-separated relative paths in one
 * namespace shared by all processes (as a DFS is for Flink's checkpoint storage).
 * write() replaces a file's content; the data is volatile until fsync(path) returns.
 * rename() and delete() are volatile until fsync_dir(parent) returns. A crash of the
 * writing process loses volatile changes and may leave a torn (prefix-truncated or
 * garbled) file. Directories exist implicitly (as in object stores). write() copies the
 * data during the call: the caller may reuse or free its buffer as soon as it returns. */
typedef void (*RtStorageDoneFunc)(void *user_data, GError *error /* owned by callee */);
typedef void (*RtStorageReadFunc)(void *user_data, const void *data, size_t len,
                                  GError *error /* owned by callee; data NULL then */);
/* names: sorted, NULL-terminated, borrowed for the call. */
typedef void (*RtStorageListFunc)(void *user_data, const char *const *names, GError *error);

typedef struct RtStorage RtStorage;
typedef struct RtStorageOps {
    const char *name;
    bool (*write)(RtStorage *self, const char *path, const void *data, size_t len,
                  RtStorageDoneFunc done, void *user_data, GError **error);
    bool (*fsync)(RtStorage *self, const char *path, RtStorageDoneFunc done, void *user_data,
                  GError **error);
    bool (*fsync_dir)(RtStorage *self, const char *dir, RtStorageDoneFunc done, void *user_data,
                      GError **error);
    bool (*rename)(RtStorage *self, const char *from, const char *to, RtStorageDoneFunc done,
                   void *user_data, GError **error);
    bool (*read)(RtStorage *self, const char *path, RtStorageReadFunc done, void *user_data,
                 GError **error);
    /* Lists the names (not paths) of the files directly in dir. */
    bool (*list)(RtStorage *self, const char *dir, RtStorageListFunc done, void *user_data,
                 GError **error);
    bool (*remove)(RtStorage *self, const char *path, RtStorageDoneFunc done, void *user_data,
                   GError **error);
} RtStorageOps;
struct RtStorage {
    const RtStorageOps *ops;
};

#define RT_STORAGE_ERROR (rt_storage_error_quark())
GQuark rt_storage_error_quark(void);
typedef enum {
    RT_STORAGE_ERROR_NOT_FOUND, /* no such file */
    RT_STORAGE_ERROR_IO,        /* EIO */
    RT_STORAGE_ERROR_NO_SPACE,  /* ENOSPC */
    RT_STORAGE_ERROR_INVALID,   /* bad path */
} RtStorageError;

/* ------------------------------------------------------------------ coordination */

/* RtCoord (ZooKeeper semantics) is declared in runtime/coord/rt_coord.h. The env
 * only knows how to open a session; NULL coord_open means "no ZooKeeper here". */
typedef struct RtCoord RtCoord;
typedef struct RtCoordConfig RtCoordConfig;

/* ------------------------------------------------------------------- the env */

struct RtEnv {
    RtProcessId process_id;  /* this process */
    RtClock *clock;
    RtTransport *transport;
    RtStorage *storage;
    /* Opens a ZooKeeper session (see rt_coord.h); NULL when the world has none. */
    RtCoord *(*coord_open)(RtEnv *self, const RtCoordConfig *config, GError **error);
    RtObserver *observer;    /* may be NULL: observation is then dropped */
    uint64_t seed;           /* the run's seed; rt_env_rng() derives named streams */
    uint64_t bugs;           /* planted bugs enabled (rt_bugs.h); 0 in normal runs */
    void *world;             /* the implementation's own data */
};

/* Thin wrappers: they assert the contract and are the one place for tracing. */
static inline uint64_t rt_env_now_ns(RtEnv *env) {
    return env->clock->ops->now_ns(env->clock);
}
RtTimerId rt_env_timer_start(RtEnv *env, uint64_t delay_ns, RtTimerFunc fn, void *user_data);
bool rt_env_timer_cancel(RtEnv *env, RtTimerId id);

/* Initialises *rng as the named stream of this run: same seed + name, same draws,
 * independent of every other stream. */
void rt_env_rng(RtEnv *env, const char *stream_name, RtRng *rng);

/* Reports a fact to the observer (trace, metrics, oracle). Fills ev->time_ns and
 * ev->process. The runtime reports facts; it never judges itself. */
void rt_env_observe(RtEnv *env, RtEvent *ev);

bool rt_env_listen(RtEnv *env, uint32_t port, RtAcceptFunc accept, void *user_data,
                   GError **error);
void rt_env_unlisten(RtEnv *env, uint32_t port);
RtChannel *rt_env_connect(RtEnv *env, RtProcessId peer, uint32_t port,
                          const RtChannelHandler *handler, void *user_data, GError **error);
void rt_channel_set_handler(RtChannel *ch, const RtChannelHandler *handler, void *user_data);
bool rt_channel_send(RtChannel *ch, const void *data, size_t len);
void rt_channel_free(RtChannel *ch);
RtProcessId rt_channel_peer(RtChannel *ch);

bool rt_storage_write(RtStorage *st, const char *path, const void *data, size_t len,
                      RtStorageDoneFunc done, void *user_data, GError **error);
bool rt_storage_fsync(RtStorage *st, const char *path, RtStorageDoneFunc done, void *user_data,
                      GError **error);
bool rt_storage_fsync_dir(RtStorage *st, const char *dir, RtStorageDoneFunc done,
                          void *user_data, GError **error);
bool rt_storage_rename(RtStorage *st, const char *from, const char *to, RtStorageDoneFunc done,
                       void *user_data, GError **error);
bool rt_storage_read(RtStorage *st, const char *path, RtStorageReadFunc done, void *user_data,
                     GError **error);
bool rt_storage_list(RtStorage *st, const char *dir, RtStorageListFunc done, void *user_data,
                     GError **error);
bool rt_storage_remove(RtStorage *st, const char *path, RtStorageDoneFunc done,
                       void *user_data, GError **error);

/* True if path is a valid storage path: non-empty, relative, no "." or ".." parts,
 * no empty parts, only [A-Za-z0-9._-/] characters, at most 1024 bytes. */
bool rt_storage_path_valid(const char *path);

#endif /* RT_ENV_H */
