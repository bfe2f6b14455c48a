/* rt_source.h - the replayable source's record generator, public so that the oracle
 * can recompute the full input. Record offset o of source subtask s is a pure
 * function of (run seed, operator name, s, o): a rewound source replays exactly the
 * same records. Keys are uniform over [0, keys) or Zipf (P(k) ~ 1/(k+1)^exponent). */
#ifndef RT_SOURCE_H
#define RT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/dataflow/rt_protocol.h"

#define RT_SOURCE_MAX_ZIPF_KEYS (1u << 20) /* the Zipf table is 8 bytes per key */

typedef struct RtSourceGen {
    uint64_t base;       /* per (seed, operator, subtask) mixing base */
    uint32_t src;        /* global source index (rt_job_graph_source_base + subtask) */
    uint64_t keys;       /* >= 1 */
    uint64_t records;    /* records of this subtask */
    double *zipf_cdf;    /* owned; keys entries, NULL for uniform keys */
} RtSourceGen;

/* Initialises g for subtask of source operator op of graph in the run seeded seed.
 * Asserts op is a source with keys >= 1 (and, for Zipf, keys <= RT_SOURCE_MAX_ZIPF_KEYS
 * and exponent > 0). */
void rt_source_gen_init(RtSourceGen *g, uint64_t seed, const RtJobGraph *graph, uint32_t op,
                        uint32_t subtask);
void rt_source_gen_deinit(RtSourceGen *g);

/* The record at offset (created_ns is left 0: it is the emission time). */
void rt_source_gen_record(const RtSourceGen *g, uint64_t offset, RtRecord *out);

/* Storage path of the planted bug's auto-committed position (skip-source-rewind). */
char *rt_source_position_path(const RtJobGraph *graph, uint32_t op, uint32_t subtask);

#endif /* RT_SOURCE_H */
