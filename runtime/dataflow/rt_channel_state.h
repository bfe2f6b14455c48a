/* rt_channel_state.h - the channel state of unaligned checkpoints: the in-flight records
 * of one logical channel that belong to a checkpoint, stored as a named channel-state
 * blob of the subtask's RtSnapshot (rt_snapshot.h). The subtask writes them
 * (rt_subtask.c) and reads them back on restore; the harness's oracle decodes them with
 * the same functions to check that a checkpoint is a consistent cut.
 *
 * Two directions, as Flink's ChannelStateWriter (flink-zk.md 1.3):
 *  - input  "in/<edge>/<from>/<to>": held by the consumer (subtask <to> of the edge's
 *    target operator): records that arrived before the channel's barrier but were not
 *    processed when the subtask took its snapshot. On restore the consumer processes
 *    them before any new input of that channel.
 *  - output "out/<edge>/<from>/<to>": held by the producer (subtask <from> of the edge's
 *    source operator): records still queued in the output channel that the unaligned
 *    barrier overtook. On restore the producer sends them on the same channel (same
 *    edge and downstream subtask: keyBy routing is unchanged at the same parallelism)
 *    before anything it produces anew.
 * Edge, from and to are decimal numbers (no leading zeros).
 *
 * Blob encoding (little-endian, field by field):
 *   magic  4 bytes "CHS1"
 *   count  u32      records, at most RT_CHANNEL_STATE_MAX_RECORDS
 *   count x RT_PROTOCOL_RECORD_BYTES   records in channel order (rt_protocol_record_encode)
 * The snapshot around it carries the checksum. Pure computation: no world access.
 */
#ifndef RT_CHANNEL_STATE_H
#define RT_CHANNEL_STATE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/dataflow/rt_protocol.h"
#include "runtime/state/rt_snapshot.h"

#define RT_CHANNEL_STATE_MAGIC "CHS1"
#define RT_CHANNEL_STATE_HEADER_BYTES 8u
#define RT_CHANNEL_STATE_MAX_RECORDS (1u << 20) /* per blob */

#define RT_CHANNEL_STATE_ERROR (rt_channel_state_error_quark())
GQuark rt_channel_state_error_quark(void);
typedef enum {
    RT_CHANNEL_STATE_ERROR_NAME,    /* a blob name that is not in/... or out/... */
    RT_CHANNEL_STATE_ERROR_CORRUPT, /* bad magic, count or length */
} RtChannelStateError;

typedef enum RtChannelDir {
    RT_CHANNEL_INPUT = 0,
    RT_CHANNEL_OUTPUT = 1,
} RtChannelDir;

/* The blob name of a channel's state (new string). */
char *rt_channel_state_name(RtChannelDir dir, RtChannelKey key);
/* Parses a blob name; false + error when it is not a channel-state name. */
bool rt_channel_state_parse_name(const char *name, RtChannelDir *dir, RtChannelKey *key,
                                 GError **error);

/* Encodes n records (n <= RT_CHANNEL_STATE_MAX_RECORDS) as a blob. */
GBytes *rt_channel_state_encode(const RtRecord *recs, uint32_t n);
/* Decodes a blob into *out (a new GArray of RtRecord, caller frees). False + error on a
 * malformed blob (*out untouched). Never reads outside data[0..len). */
bool rt_channel_state_decode(const void *data, size_t len, GArray **out, GError **error);

/* Calls visit for every channel-state blob of snap, in blob (name) order, with its
 * direction, channel and decoded records (borrowed for the call). Stops and returns
 * false + error at the first malformed blob; true otherwise. */
typedef void (*RtChannelStateVisitFunc)(void *ud, RtChannelDir dir, RtChannelKey key,
                                        const RtRecord *recs, uint32_t n);
bool rt_channel_state_foreach(const RtSnapshot *snap, RtChannelStateVisitFunc visit, void *ud,
                              GError **error);

#endif /* RT_CHANNEL_STATE_H */
