/* rt_leader_election.h - leader election on ZooKeeper, after Curator's LeaderLatch as
 * Flink (>= 1.15) drives it through ZooKeeperLeaderElectionDriver: one election per
 * process under <root>/leader/latch.
 *
 * Protocol:
 *  - Each contender creates an EPHEMERAL|SEQUENTIAL latch node
 *    <root>/leader/latch/_c_<token>-latch-<seq>; the lowest sequence number leads. A
 *    contender that is not first watches only its predecessor (no herd effect) and
 *    re-checks when that node goes.
 *  - Every grant draws a fresh leader session id (the fencing token) and publishes the
 *    leader's address and token in the EPHEMERAL <root>/leader/<component>/connection_info
 *    (owner-checked: a node of another session is replaced).
 *  - Losing leadership: session EXPIRED (or CLOSED); SUSPENDED when
 *    tolerate-suspended-connections is false (Flink's default), else LOST after a
 *    client-side timer of the session timeout started at SUSPENDED; or the latch node
 *    found gone. Revocation is reported at once, before any other work.
 *  - On a reconnect of the same session with tolerate false (or when not leading), the
 *    latch is reset as Curator does: the old node is deleted and a new one created (so
 *    an in-flight write fenced on the old node can never pass). After an expiry the
 *    client opens a new session and the contender joins with a new node: it must win a
 *    new election.
 *  - A latch create whose outcome is unknown (connection loss) may have left a node of
 *    our session behind: its unique token finds and deletes it later (Curator's
 *    protected mode), so an orphan never blocks the election.
 *
 * Fencing: rt_leader_election_latch_path() is the node the leader's writes must `check`
 * in the same multi; it exists exactly as long as this grant is valid in ZooKeeper.
 */
#ifndef RT_LEADER_ELECTION_H
#define RT_LEADER_ELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/ha/rt_ha_client.h"

typedef struct RtLeaderElectionHooks {
    /* Leadership granted with a fresh fencing token (never 0). */
    void (*granted)(void *user_data, uint64_t leader_session_id);
    /* Leadership lost: stop acting as leader now. */
    void (*revoked)(void *user_data);
} RtLeaderElectionHooks;

typedef struct RtLeaderElection RtLeaderElection;

/* Joins the election through client (borrowed, must outlive it; the election becomes
 * its state listener). component names the connection_info node ([A-Za-z0-9_.-]);
 * address is what the leader publishes. Hooks run later, never from inside this call. */
RtLeaderElection *rt_leader_election_new(RtHaClient *client, const char *component,
                                         const char *address, const RtLeaderElectionHooks *hooks,
                                         void *user_data);
/* Leaves the election (deletes our latch node best-effort) without running hooks. */
void rt_leader_election_free(RtLeaderElection *e);

bool rt_leader_election_has_leadership(const RtLeaderElection *e);
/* The current grant's fencing token, 0 when not leading. */
uint64_t rt_leader_election_session_id(const RtLeaderElection *e);
/* Our latch node (absolute path, borrowed), NULL when we have none. */
const char *rt_leader_election_latch_path(const RtLeaderElection *e);
/* Grants so far. */
uint64_t rt_leader_election_grants(const RtLeaderElection *e);
/* <root>/leader/latch (borrowed). */
const char *rt_leader_election_latch_dir(const RtLeaderElection *e);

#endif /* RT_LEADER_ELECTION_H */
