/* test_coord_harness.h - what the RtCoord contract suite needs from a world: open
 * handles, run until something happened, and inject the two faults the contract talks
 * about (session expiry, connection loss). Two implementations, linked one per test
 * executable: test_coord_harness_sim.c (the simulated ensemble, virtual time) and
 * test_coord_harness_real.c (a real server from CKPTSIM_TEST_ZK, wall time, connections
 * through a cuttable loopback proxy). Times are nanoseconds of that world's clock.
 */
#ifndef TEST_COORD_HARNESS_H
#define TEST_COORD_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"

/* "sim" or "real". */
const char *coord_harness_name(void);
/* False (with *why set) when this harness cannot run here (no server configured). */
bool coord_harness_available(const char **why);
/* Per test, inside the test's process. */
void coord_harness_setup(void);
void coord_harness_teardown(void);
/* Opens a handle (chroot may be NULL) and asserts the open succeeded. on_session may be
 * NULL. Free it with rt_coord_free(). */
RtCoord *coord_harness_open(const char *chroot, uint64_t session_timeout_ns,
                            RtCoordSessionFunc on_session, void *ud);
/* Opens a handle whose server never answers (sim: a partitioned process; real: a port
 * nobody listens on), with the given connect timeout. */
RtCoord *coord_harness_open_unreachable(uint64_t connect_timeout_ns, RtCoordSessionFunc on_session,
                                        void *ud);
/* Runs the world until cond(ud) holds (checked between events) or max_ns passed.
 * Returns cond(ud). */
bool coord_harness_wait(bool (*cond)(void *ud), void *ud, uint64_t max_ns);
/* Runs the world for ns. */
void coord_harness_run_for(uint64_t ns);
/* Makes the server expire c's session now (c learns it when it reconnects). */
void coord_harness_expire(RtCoord *c);
/* Cuts c's connection now and refuses reconnects for duration_ns. */
void coord_harness_drop(RtCoord *c, uint64_t duration_ns);

#endif /* TEST_COORD_HARNESS_H */
