/* rt_ha_client.h - one process's ZooKeeper client for high availability, after Flink's
 * shaded Curator framework: it owns the current RtCoord session and, when that session
 * ends (EXPIRED, or CLOSED before it ever connected), opens a new one at once, as
 * Curator does. Leader election, the checkpoint ID counter and the completed-checkpoint
 * store all go through it.
 *
 * Configuration (Flink's keys, HighAvailabilityOptions): high-availability.type (or the
 * deprecated high-availability) = zookeeper turns HA on; ...zookeeper.quorum is the
 * connect string; everything lives under <path.root>/<cluster-id> (defaults /flink and
 * /default) - as plain path prefixes, not a chroot, so the root need not exist;
 * high-availability.storageDir (required) holds the state files ZooKeeper points to;
 * ...client.tolerate-suspended-connections (false) decides whether a suspended
 * connection costs leadership; ...client.retry-wait (5 s) and ...max-retry-attempts (3)
 * are Curator's retry policy for writes whose connection failed.
 * high-availability.zookeeper.fence-writes (false) is ckptsim's own: Flink's
 * ZooKeeperStateHandleStore.writeStoreHandleTransactionally creates node + locks + lock
 * with no leadership check, and DefaultCompletedCheckpointStore accepts that two job
 * managers publish during a partition ("OK to take any valid successful checkpoint as
 * long as the history is consistent"). With true, the store's publish multi also checks
 * the leader's latch node, so a deposed leader's (retried) publish is refused.
 *
 * Retries follow Curator's RetryLoop: an operation that failed with connection loss,
 * an operation timeout or session expiry may be re-issued - on whatever session is
 * current by then. A retry on a fresh session is not the leader's: Flink lets it write
 * anyway (see fence-writes above).
 *
 * Ordering: the state listener (one: the leader election) sees every state change of the
 * current session first; callbacks queued with rt_ha_client_when_connected run after it,
 * so a latch reset issued by the listener on a reconnect reaches the server before any
 * retried write (per-session FIFO).
 *
 * Lifecycle: new (opens the first session) -> ... -> free (closes the current session,
 * frees retired ones; pending callbacks of all of them are dropped). The contexts of
 * calls in flight belong to the callers, who free them with their RtPendingOps sets
 * (rt_pending_ops.h): a dropped callback never leaks its context.
 */
#ifndef RT_HA_CLIENT_H
#define RT_HA_CLIENT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"
#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"

#define RT_HA_ERROR (rt_ha_error_quark())
GQuark rt_ha_error_quark(void);
typedef enum {
    RT_HA_ERROR_CONFIG, /* a missing or malformed HA key */
    RT_HA_ERROR_FENCED, /* a write was refused: the writer is not the leader any more */
} RtHaError;

#define RT_HA_DEFAULT_RETRY_WAIT_NS (5ull * 1000000000ull)
#define RT_HA_DEFAULT_MAX_RETRIES 3u
#define RT_HA_MAX_RETIRED_SESSIONS 16u /* ended sessions kept until their callbacks drain */
#define RT_HA_MAX_WAITERS 4096u        /* callbacks waiting for a connection */

typedef struct RtHaConfig {
    RtCoordConfig coord;     /* connect string borrowed from the RtConfig; chroot NULL */
    char *root;              /* "/flink/default": path.root + cluster-id, owned */
    char *storage_dir;       /* high-availability.storageDir (+ cluster-id), owned */
    bool tolerate_suspended; /* ...client.tolerate-suspended-connections */
    uint64_t retry_wait_ns;  /* ...client.retry-wait */
    uint32_t max_retries;    /* ...client.max-retry-attempts */
    bool fence_writes;       /* high-availability.zookeeper.fence-writes (ckptsim, false) */
} RtHaConfig;

/* *enabled = whether high-availability(.type) is zookeeper. false + RT_HA_ERROR_CONFIG
 * on a value other than none/zookeeper (case-insensitive, as Flink). */
bool rt_ha_enabled(const RtConfig *conf, bool *enabled, GError **error);
/* Reads the HA keys into *out (cleared first; release with rt_ha_config_clear). The
 * RtConfig must outlive *out (strings are borrowed). false + error naming the key. */
bool rt_ha_config_read(RtHaConfig *out, const RtConfig *conf, GError **error);
void rt_ha_config_clear(RtHaConfig *cfg);

/* Session state of the current session as the listener sees it. new_session is true on
 * the first CONNECTED of a session opened after an earlier one ended. */
typedef void (*RtHaStateFunc)(void *user_data, RtCoordState state, bool new_session);
typedef void (*RtHaReadyFunc)(void *user_data);

typedef struct RtHaClient RtHaClient;

/* Opens the first session (asynchronously). cfg is copied (strings too). NULL + error when the
 * world has no ZooKeeper or the config is malformed. */
RtHaClient *rt_ha_client_new(RtEnv *env, const RtHaConfig *cfg, GError **error);
/* Closes the current session and drops every pending callback. NULL is a no-op. */
void rt_ha_client_free(RtHaClient *client);

/* The single state listener (replaces any; fn NULL removes it). */
void rt_ha_client_set_listener(RtHaClient *client, RtHaStateFunc fn, void *user_data);
/* The current session, borrowed until the next state change. Never NULL. */
RtCoord *rt_ha_client_coord(RtHaClient *client);
RtCoordState rt_ha_client_state(RtHaClient *client);
const RtHaConfig *rt_ha_client_config(const RtHaClient *client);
RtEnv *rt_ha_client_env(const RtHaClient *client);
/* Times the current or an earlier session left CONNECTED (SUSPENDED, EXPIRED, CLOSED),
 * as the listener saw them. */
uint64_t rt_ha_client_suspensions(const RtHaClient *client);
/* Sessions opened so far (1 after new; +1 per expiry). */
uint64_t rt_ha_client_sessions(const RtHaClient *client);

/* Calls fn(user_data) once, later, when the current session is CONNECTED (after the
 * listener saw that). Returns a non-zero ticket, or 0 when too many are waiting (fn
 * never runs then). */
uint64_t rt_ha_client_when_connected(RtHaClient *client, RtHaReadyFunc fn, void *user_data);
/* Drops a waiting callback (no-op if it ran or ticket is 0). */
void rt_ha_client_cancel(RtHaClient *client, uint64_t ticket);

/* Deletes path (any version) now if connected, else on the next CONNECTED, whatever the
 * outcome (Curator's guaranteed() delete, used for releasing locks on shutdown: the
 * caller may be gone by then). Dropped when too many wait or the client is freed. */
void rt_ha_client_delete_guaranteed(RtHaClient *client, const char *path);


/* Creates every proper prefix of path and path itself, persistent, pipelined on coord
 * (per-session FIFO makes them land before any later call); errors are ignored: the
 * call that needs them reports a missing parent (Curator's creatingParentsIfNeeded). */
void rt_ha_create_path(RtCoord *coord, const char *path);

/* True for errors after which Curator retries a call (connection loss, operation
 * timeout, session expired, handle closed). */
bool rt_ha_error_retryable(const GError *error);

#endif /* RT_HA_CLIENT_H */
