/* rt_config_keys_internal.h - the registry's tables, shared by rt_config_keys_table.c (the
 * data) and rt_config_keys.c (lookup, precedence, checks). Not for other modules: they use
 * rt_config_keys.h. */
#ifndef RT_CONFIG_KEYS_INTERNAL_H
#define RT_CONFIG_KEYS_INTERNAL_H

#include "runtime/env/rt_config_keys.h"

/* The registry rows: modelled keys at index RtKeyId, then the not modelled ones. */
extern const RtKeyDef rt_key_table[];
extern const size_t rt_key_table_len;

/* Another spelling of a choice value: alias (case-insensitive) means canonical (one of the
 * row's choices), with an optional note; canonical NULL = refused, note says why and what
 * to use instead. alias == canonical attaches a note to a canonical value. */
typedef struct RtValueAlias {
    RtKeyId key;
    const char *alias;
    const char *canonical;
    const char *note;
} RtValueAlias;
extern const RtValueAlias rt_value_aliases[];
extern const size_t rt_value_aliases_len;

#endif /* RT_CONFIG_KEYS_INTERNAL_H */
