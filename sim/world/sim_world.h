/* sim_world.h - the deterministic world: RtEnv for simulated processes.
 *
 * A SimWorld owns a SimKernel (virtual time, event queue, trace hash), a SimNet (the
 * network), a SimStorage (the shared disk) and the processes. Each process is an
 * instance of a SimProcessClass started with its own RtEnv: process_id, a clock whose
 * timers are kernel events, the transport and storage client of that process, an
 * observer, the run's seed and planted bugs, and coord_open (ZooKeeper, through hooks
 * that the ZooKeeper model installs).
 *
 * Process ids are small integers handed out from 0 in spawn order; they never change
 * across crashes and restarts. A process has an incarnation number: 1 when spawned,
 * bumped by every crash. Every callback into process code (timer, message, channel
 * break, accept, storage completion) belongs to one incarnation; a crash cancels all
 * of them, so no callback of an old incarnation ever runs.
 *
 * Crash (sim_world_crash): the instance's stop() runs (it frees without I/O), then
 * the incarnation is bumped, its timers are cancelled, its channels break abruptly
 * (peers get on_broken after the network's detection delay), its pending storage
 * operations are forgotten and its unsynced writes lost or torn (sim_storage.h), the
 * coordination hooks hear process_crashed (a ZooKeeper session lingers until its own
 * timeout, as in reality), and RT_EV_WORLD_CRASH is observed. A crash requested from
 * inside a callback of the crashing process takes effect right after that callback
 * (as a zero-delay event): freeing an instance under its own stack is not allowed.
 *
 * Pause (sim_world_pause): the process stops executing for a while and then resumes as if
 * nothing happened; every part of the world holds what would call into its code (the
 * SimHost.held_until query) until the resume.
 *
 * Trace hash. The kernel folds every dispatched event; the world adds content: each
 * delivery (channel id, direction, payload hash), storage completion (process, op,
 * path, result, content hash), timer firing (process), crash/restart (process,
 * incarnation) and every observed event (all fields; the detail string's hash).
 *
 * Lifecycle: sim_world_config_init() -> sim_world_new() -> spawn ... run ... ->
 * sim_world_free() (stops the live processes without I/O, then frees everything).
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"
#include "sim/core/sim_kernel.h"
#include "sim/world/sim_net.h"
#include "sim/world/sim_storage.h"

typedef struct SimWorld SimWorld;
typedef RtProcessId SimProcessId;

#define SIM_WORLD_MAX_PROCESSES 1024u
#define SIM_WORLD_NO_PROCESS UINT32_MAX

#define SIM_WORLD_ERROR (sim_world_error_quark())
GQuark sim_world_error_quark(void);
typedef enum { SIM_WORLD_ERROR_NO_COORD } SimWorldError;

/* What a simulated process runs. start() creates the instance in env (which stays
 * valid until stop() returns) and may return NULL on failure (the process is then
 * dead, as if it crashed at once). stop() frees the instance without any I/O and
 * without running callbacks; the world uses it both for a crash and at the end. */
typedef struct SimProcessClass {
    const char *name; /* class name, for diagnostics */
    void *(*start)(RtEnv *env, void *arg);
    void (*stop)(void *instance);
} SimProcessClass;

/* Installed by the ZooKeeper model (sim_zk). open is env->coord_open's implementation;
 * the other two tell the model about process lifecycle. */
typedef struct SimWorldCoordHooks {
    RtCoord *(*open)(void *ud, RtEnv *env, const RtCoordConfig *cfg, GError **error);
    void (*process_crashed)(void *ud, RtProcessId pid);
    void (*process_restarted)(void *ud, RtProcessId pid);
    /* pid stopped executing until until_ns (its client sends no heartbeats) / runs again
     * (its client notices how long it was gone). May be NULL. */
    void (*process_paused)(void *ud, RtProcessId pid, uint64_t until_ns);
    void (*process_resumed)(void *ud, RtProcessId pid);
    void *ud;
} SimWorldCoordHooks;

typedef struct SimWorldConfig {
    uint64_t seed;            /* the run's seed: every PRNG stream derives from it */
    uint64_t bugs;            /* RtBug mask, copied into every env */
    SimNetConfig net;         /* see sim_net.h */
    SimStorageConfig storage; /* see sim_storage.h */
} SimWorldConfig;

/* Defaults for everything, with the given seed and no bugs. */
void sim_world_config_init(SimWorldConfig *cfg, uint64_t seed);

SimWorld *sim_world_new(const SimWorldConfig *cfg);
/* Stops every live process (stop(), no I/O, no events), then frees the world. */
void sim_world_free(SimWorld *w);

/* Borrowed parts, for fault injection and god's-eye views. */
SimKernel *sim_world_kernel(SimWorld *w);
SimNet *sim_world_net(SimWorld *w);
SimStorage *sim_world_storage(SimWorld *w);
uint64_t sim_world_now_ns(const SimWorld *w);
uint64_t sim_world_seed(const SimWorld *w);
uint64_t sim_world_bugs(const SimWorld *w);
uint64_t sim_world_trace_hash(const SimWorld *w);

/* Every observed event (runtime and world) goes to observer (borrowed; NULL: none). */
void sim_world_set_observer(SimWorld *w, RtObserver *observer);
/* Copies *hooks (NULL removes them: coord_open then fails with SIM_WORLD_ERROR). */
void sim_world_set_coord_hooks(SimWorld *w, const SimWorldCoordHooks *hooks);

/* Creates process (name copied; cls and arg borrowed for the world's lifetime) and
 * starts it at once (start() runs inside this call). Returns its id (0, 1, 2, ...).
 * At most SIM_WORLD_MAX_PROCESSES processes. */
SimProcessId sim_world_spawn(SimWorld *w, const char *name, const SimProcessClass *cls,
                             void *arg);
/* Crashes a live process (see the header comment). Returns false if it was dead. */
bool sim_world_crash(SimWorld *w, SimProcessId pid);
/* Starts a dead process again (new incarnation, start() again with the same arg), and
 * observes RT_EV_WORLD_RESTART. Returns false if it was alive. */
bool sim_world_restart(SimWorld *w, SimProcessId pid);
/* Scheduled variants: at time_ns (>= now) crash pid if alive / restart it if dead. */
void sim_world_crash_at(SimWorld *w, SimProcessId pid, uint64_t time_ns);
void sim_world_restart_at(SimWorld *w, SimProcessId pid, uint64_t time_ns);

/* Pauses a live process for duration_ns (a stop-the-world GC pause, a frozen VM, SIGSTOP):
 * none of its code runs until then. Its timers that come due, the messages, storage
 * completions and ZooKeeper events that reach it are held and run at the resume, in the
 * order they came due (timers fire late, queues drain); its ZooKeeper clients send no
 * heartbeats, so a pause longer than the session timeout expires the session on the
 * server while the process learns it only after it resumes and reconnects (the zombie
 * window). Nothing else changes: its channels stay open, peers notice nothing but
 * silence. A pause of a paused process extends it to the later end; a crash ends it.
 * RT_EV_WORLD_FAULT is not reported here (the caller does). False if pid is dead. */
bool sim_world_pause(SimWorld *w, SimProcessId pid, uint64_t duration_ns);
/* 0 when pid runs; else the time it resumes. */
uint64_t sim_world_paused_until(const SimWorld *w, SimProcessId pid);

uint32_t sim_world_process_count(const SimWorld *w);
bool sim_world_process_alive(const SimWorld *w, SimProcessId pid);
/* 1 after spawn, +1 per crash. */
uint32_t sim_world_process_incarnation(const SimWorld *w, SimProcessId pid);
const char *sim_world_process_name(const SimWorld *w, SimProcessId pid);
/* The live instance (what start() returned), NULL if dead. Borrowed. */
void *sim_world_process_instance(const SimWorld *w, SimProcessId pid);
/* The process's env (stable address for the world's lifetime). */
RtEnv *sim_world_process_env(SimWorld *w, SimProcessId pid);
/* The world that made env (asserts env is a SimWorld process env). */
SimWorld *sim_world_from_env(const RtEnv *env);

/* Brackets a callback into process code made by a model outside the world (the
 * ZooKeeper model): lets crash() know whose code is on the stack. Nest like brackets. */
void sim_world_enter(SimWorld *w, SimProcessId pid);
void sim_world_leave(SimWorld *w, SimProcessId pid);
/* The process whose callback is running, or SIM_WORLD_NO_PROCESS. */
SimProcessId sim_world_current_process(const SimWorld *w);

/* Reports a fault the caller injected (RT_EV_WORLD_FAULT, process pid or
 * SIM_WORLD_NO_PROCESS, detail copied by nobody: borrowed for the call) and folds it
 * into the trace hash. */
void sim_world_report_fault(SimWorld *w, SimProcessId pid, const char *detail);

/* Runs events at times <= until_ns, at most max_events of them (sim_kernel_run).
 * Returns the number dispatched. */
uint64_t sim_world_run(SimWorld *w, uint64_t until_ns, uint64_t max_events);
/* Runs one event; false when none is pending. */
bool sim_world_step(SimWorld *w);

#endif /* SIM_WORLD_H */
