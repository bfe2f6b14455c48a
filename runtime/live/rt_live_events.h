/* rt_live_events.h - observation events as JSON lines, the wire format between the
 * processes of a live cluster and its launcher (and the format of DIR/events.jsonl).
 *
 * One event is one line, a JSON object with these thirteen members:
 *   {"t":TIME_NS,"p":PROCESS,"kind":"NAME","k":KIND,"op":OP,"idx":INDEX,"att":ATTEMPT,
 *    "ckpt":ID,"key":KEY,"a":A,"b":B,"c":C,"detail":"TEXT"|null}
 * "kind" is rt_event_kind_name (for people and jq); "k" is the number the decoder uses.
 * Numbers are unsigned JSON integers; a 64-bit value above 2^63-1 is written as a string
 * of its decimal digits (JSON parsers hold integers in an int64). Written with
 * JsonGenerator; read with JsonParser, strictly: no other or missing member, each
 * number in its field's range (op and idx 16 bits, p k att 32 bits), "kind" matching
 * "k", the detail a string of at most 1000 bytes or null.
 */
#ifndef RT_LIVE_EVENTS_H
#define RT_LIVE_EVENTS_H

#include <glib.h>
#include <stdbool.h>

#include "runtime/env/rt_observe.h"

/* A line is at most this long (details are cut to fit); longer lines are refused. */
#define RT_LIVE_EVENT_MAX_LINE_BYTES 8192u

/* Appends ev as one JSON line, '\n' included, to out. */
void rt_live_event_append_json(GString *out, const RtEvent *ev);

/* Parses one line (without its '\n'). On success fills *ev and sets *detail_out to a
 * new string (g_free) or NULL, and ev->detail to *detail_out. False on a malformed
 * line (nothing is allocated then). */
bool rt_live_event_parse_json(const char *line, RtEvent *ev, char **detail_out);

#endif /* RT_LIVE_EVENTS_H */
