/* rt_config.h - job configuration: string keys and values under Flink's own key names
 * (execution.checkpointing.interval, state.backend.type, ...), as Flink's
 * Configuration / -D flags. Values are parsed on read by typed getters that report a
 * bad value as a GError naming the key. Iteration is in key order (deterministic).
 *
 * Call sites never read a key here by its raw name: they go through the key registry
 * (rt_config_keys.h: rt_config_lookup, rt_config_key_*), which applies Flink's precedence
 * of deprecated keys, defaults and bounds; the raw getters below serve the registry (a
 * tidy check enforces it). rt_config_set is for building a configuration.
 *
 * Durations accept Flink's syntax: "500 ms", "1 s", "1s", "2 min", "1 h", "10 us",
 * "5 ns", or a bare number of milliseconds. Sizes: "64 kb", "1 mb", or bytes.
 */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct RtConfig RtConfig;

#define RT_CONFIG_ERROR (rt_config_error_quark())
GQuark rt_config_error_quark(void);
typedef enum { RT_CONFIG_ERROR_BAD_VALUE, RT_CONFIG_ERROR_UNKNOWN_KEY } RtConfigError;

RtConfig *rt_config_new(void);
RtConfig *rt_config_copy(const RtConfig *cfg);
void rt_config_free(RtConfig *cfg);

/* Sets (copies) key = value, replacing any previous value. */
void rt_config_set(RtConfig *cfg, const char *key, const char *value);
/* Borrowed value, or NULL when unset. */
const char *rt_config_get(const RtConfig *cfg, const char *key);
bool rt_config_has(const RtConfig *cfg, const char *key);
/* Calls fn for every key in sorted order. */
void rt_config_foreach(const RtConfig *cfg, void (*fn)(const char *key, const char *value,
                                                       void *user_data),
                       void *user_data);

/* Typed getters: *out = default when unset; false + error on a malformed value. */
bool rt_config_get_duration_ns(const RtConfig *cfg, const char *key, uint64_t def,
                               uint64_t *out, GError **error);
bool rt_config_get_u64(const RtConfig *cfg, const char *key, uint64_t def, uint64_t *out,
                       GError **error);
bool rt_config_get_double(const RtConfig *cfg, const char *key, double def, double *out,
                          GError **error);
bool rt_config_get_bool(const RtConfig *cfg, const char *key, bool def, bool *out,
                        GError **error);
bool rt_config_get_size_bytes(const RtConfig *cfg, const char *key, uint64_t def,
                              uint64_t *out, GError **error);
/* *out = index of the value in choices (NULL-terminated, compared case-insensitively). */
bool rt_config_get_choice(const RtConfig *cfg, const char *key, const char *const *choices,
                          unsigned def, unsigned *out, GError **error);

/* Parsers used by the getters, also for scenario values. */
bool rt_parse_duration_ns(const char *text, uint64_t *out);
bool rt_parse_size_bytes(const char *text, uint64_t *out);
bool rt_parse_bool(const char *text, bool *out);

#endif /* RT_CONFIG_H */
