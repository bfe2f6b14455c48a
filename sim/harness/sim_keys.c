/* sim_keys.c - the valid keys of every scenario section and their value checks
 * (sim_keys.h). The README's key reference is written from these tables (and [config]'s
 * from runtime/env/rt_config_keys_table.c): keep them in step. */
#include "sim/harness/sim_keys.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"

#define U64MAX 0

const SimKeySpec sim_keys_scenario[] = {
    {"name", SIM_KEY_NAME, NULL, 0, 0, "the scenario's name (required)"},
    {"description", SIM_KEY_STRING, NULL, 0, 0, "one line on what it tests"},
    {"seed", SIM_KEY_U64, NULL, 0, U64MAX, "default seed of 'ckptsim run' (default 1)"},
    {"time-limit", SIM_KEY_DURATION, NULL, 0, 0, "simulated time budget (default 60 s)"},
    {"faults-stop-at", SIM_KEY_DURATION, NULL, 0, 0,
     "no fault fires after this simulated time (default: half the time limit)"},
    {"liveness-bound", SIM_KEY_DURATION, NULL, 0, 0,
     "after faults stop, a checkpoint completes and the job finishes within this"},
    {"max-steps", SIM_KEY_U64, NULL, 1000, U64MAX, "kernel event budget (default 50000000)"},
    {"drain", SIM_KEY_DURATION, NULL, 0, 0,
     "simulated time run after the job finished, for late events (default 200 ms)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

const SimKeySpec sim_keys_cluster[] = {
    {"jobmanagers", SIM_KEY_U64, NULL, 1, 8, "job manager processes (default 1)"},
    {"workers", SIM_KEY_U64, NULL, 1, 32, "worker (task manager) processes"},
    {"slots", SIM_KEY_U64, NULL, 1, 256, "subtasks one worker may host"},
    {NULL, 0, NULL, 0, 0, NULL},
};

const SimKeySpec sim_keys_operator[] = {
    {"kind", SIM_KEY_CHOICE, "source|map|counter|listmap|sink", 0, 0, "the operator type"},
    {"parallelism", SIM_KEY_U64, NULL, 1, 1024, "number of subtasks (default 1)"},
    {"records", SIM_KEY_U64, NULL, 0, 1000000000, "source: records per subtask"},
    {"keys", SIM_KEY_U64, NULL, 1, U64MAX, "source: distinct keys (default 16)"},
    {"distribution", SIM_KEY_CHOICE, "uniform|zipf", 0, 0, "source: key distribution"},
    {"zipf-exponent", SIM_KEY_DOUBLE, NULL, 0, 0, "source: Zipf skew, > 0 (default 1.1)"},
    {"rate", SIM_KEY_U64, NULL, 0, U64MAX,
     "source: records per second per subtask (0 = as fast as credits allow)"},
    {"transaction-timeout", SIM_KEY_DURATION, NULL, 0, 0,
     "sink: the external system aborts a transaction open longer (default 15 min)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

const SimKeySpec sim_keys_network[] = {
    {"latency", SIM_KEY_SYNTAX, NULL, 0, 0, "default one-way latency model of every link"},
    {"detection-delay", SIM_KEY_DURATION, NULL, 0, 0,
     "time until the surviving end of a broken channel learns it"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* The simulated ensemble's server settings (zoo.cfg). */
const SimKeySpec sim_keys_zookeeper[] = {
    {"tick-time", SIM_KEY_DURATION, NULL, 0, 0,
     "the servers' tickTime (default 2 s): session timeouts are clamped to 2..20 ticks"},
    {"servers", SIM_KEY_U64, NULL, 1, 9,
     "ensemble size (default 3): sessions read from their own server, followers lag"},
    {"follower-lag", SIM_KEY_DURATION, NULL, 0, 0,
     "median time a follower applies a commit after the leader (default 1 ms)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

const SimKeySpec sim_keys_random_faults[] = {
    {"crash-rate", SIM_KEY_DOUBLE, NULL, 0, 0, "worker crashes per simulated second"},
    {"jobmanager-crash-rate", SIM_KEY_DOUBLE, NULL, 0, 0,
     "job manager crashes per simulated second"},
    {"restart-after", SIM_KEY_DURATION, NULL, 0, 0, "a crashed process restarts after this"},
    {"spike-rate", SIM_KEY_DOUBLE, NULL, 0, 0, "latency spikes per simulated second"},
    {"spike-latency", SIM_KEY_DURATION, NULL, 0, 0, "latency a spike adds"},
    {"spike-duration", SIM_KEY_DURATION, NULL, 0, 0, "how long a spike lasts"},
    {"partition-rate", SIM_KEY_DOUBLE, NULL, 0, 0, "process isolations per simulated second"},
    {"partition-duration", SIM_KEY_DURATION, NULL, 0, 0, "how long an isolation lasts"},
    {"storage-error-rate", SIM_KEY_DOUBLE, NULL, 0, 0,
     "failing storage operations (EIO, any path) per simulated second"},
    {"zk-expire-rate", SIM_KEY_DOUBLE, NULL, 0, 0,
     "ZooKeeper session expiries of a random process per simulated second"},
    {"swarm", SIM_KEY_BOOL, NULL, 0, 0,
     "swarm testing: each kind with a rate is on with probability 1/2, from the seed"},
    {NULL, 0, NULL, 0, 0, NULL},
};

const SimKeySpec sim_keys_expect[] = {
    {"exactly-once", SIM_KEY_BOOL, NULL, 0, 0, "counts and sink output exactly once"},
    {"consistent-cuts", SIM_KEY_BOOL, NULL, 0, 0, "every completed checkpoint is a cut"},
    {"liveness", SIM_KEY_BOOL, NULL, 0, 0,
     "after faults stop: a checkpoint completes and the job finishes within the bound"},
    {"min-completed-checkpoints", SIM_KEY_U64, NULL, 0, U64MAX,
     "at least this many checkpoints complete"},
    {"min-failovers", SIM_KEY_U64, NULL, 0, U64MAX,
     "at least this many job restarts happen (the fault really hit)"},
    {"expected-violations", SIM_KEY_STRING, NULL, 0, 0,
     "invariants the run must violate (comma-separated): Flink's own known data loss or "
     "duplication, shown rather than hidden; reported as expected, and the run fails if "
     "one does not happen (the runtime would then be kinder than Flink)"},
    {"coverage", SIM_KEY_BOOL, NULL, 0, 0,
     "every scripted fault fires with effect, records flow, checkpoints complete, "
     "and a checkpoint completes after the last effective fault"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* [config] has no table here: its keys, their aliases, types, defaults and bounds are the
 * runtime's key registry (runtime/env/rt_config_keys.h), which the scenario loader and the
 * runtime both read. */

const SimKeySpec *sim_keys_find(const SimKeySpec *table, const char *name) {
    assert(table != NULL && name != NULL);
    for (const SimKeySpec *k = table; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static bool is_name(const char *v) {
    if (*v == '\0')
        return false;
    for (const char *p = v; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
            return false;
    return true;
}

static bool check_u64(const SimKeySpec *spec, const char *value, char **why) {
    guint64 v = 0;
    if (!g_ascii_isdigit(value[0]) || !g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64,
                                                                  &v, NULL)) {
        *why = g_strdup("expected an unsigned integer");
        return false;
    }
    if (v < spec->min || (spec->max != 0 && v > spec->max)) {
        *why = spec->max != 0 ? g_strdup_printf("must be between %" PRIu64 " and %" PRIu64,
                                                spec->min, spec->max)
                              : g_strdup_printf("must be at least %" PRIu64, spec->min);
        return false;
    }
    return true;
}

static bool check_choice(const SimKeySpec *spec, const char *value, char **why) {
    char **choices = g_strsplit(spec->choices, "|", -1);
    bool ok = false;
    for (char **c = choices; *c != NULL && !ok; c++)
        ok = g_ascii_strcasecmp(*c, value) == 0;
    g_strfreev(choices);
    if (!ok) {
        char *list = g_strdelimit(g_strdup(spec->choices), "|", ',');
        *why = g_strdup_printf("expected one of: %s", list);
        g_free(list);
    }
    return ok;
}

bool sim_key_check(const SimKeySpec *spec, const char *value, char **why) {
    assert(spec != NULL && value != NULL && why != NULL);
    uint64_t u = 0;
    bool b = false;
    *why = NULL;
    bool numeric = spec->type == SIM_KEY_U64 || spec->type == SIM_KEY_DOUBLE ||
                   spec->type == SIM_KEY_DURATION || spec->type == SIM_KEY_SIZE;
    if (numeric && !g_ascii_isdigit(value[0]) && value[0] != '.') {
        *why = g_strdup("expected a number without a sign");
        return false;
    }
    switch (spec->type) {
    case SIM_KEY_STRING:
    case SIM_KEY_SYNTAX:
        if (*value == '\0')
            *why = g_strdup("expected a value");
        break;
    case SIM_KEY_NAME:
        if (!is_name(value))
            *why = g_strdup("expected a name of letters, digits, '-' and '_'");
        break;
    case SIM_KEY_U64: return check_u64(spec, value, why);
    case SIM_KEY_DOUBLE: {
        char *end = NULL;
        double d = g_ascii_strtod(value, &end);
        if (end == value || *end != '\0' || !isfinite(d) || d < 0)
            *why = g_strdup("expected a number >= 0");
        break;
    }
    case SIM_KEY_BOOL:
        if (!rt_parse_bool(value, &b))
            *why = g_strdup("expected true or false");
        break;
    case SIM_KEY_DURATION:
        if (!rt_parse_duration_ns(value, &u))
            *why = g_strdup("expected a duration such as '500 ms', '2 s' or '1 min'");
        break;
    case SIM_KEY_SIZE:
        if (!rt_parse_size_bytes(value, &u))
            *why = g_strdup("expected a size such as '64 kb'");
        break;
    case SIM_KEY_CHOICE: return check_choice(spec, value, why);
    case SIM_KEY_PATH:
        if (!rt_storage_path_valid(value))
            *why = g_strdup("expected a relative path of [A-Za-z0-9._-/] without '..'");
        break;
    }
    return *why == NULL;
}

size_t sim_levenshtein(const char *a, const char *b) {
    enum { MAX = 256 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAX || lb > MAX)
        return MAX * 2;
    size_t prev[MAX + 1], cur[MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = MIN(sub, MIN(del, ins));
        }
        memcpy(prev, cur, (lb + 1) * sizeof cur[0]);
    }
    return prev[lb];
}

const char *sim_keys_nearest(const char *name, const char *const *candidates) {
    assert(name != NULL && candidates != NULL);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (const char *const *c = candidates; *c != NULL; c++) {
        size_t d = sim_levenshtein(name, *c);
        if (d < best_d) {
            best_d = d;
            best = *c;
        }
    }
    /* Close = a plausible typo: one edit in a name of up to 3 characters, else at most
     * max(2, len/3) edits ('a' is not a typo of 'map'). */
    size_t len = strlen(name);
    size_t limit = len <= 3 ? 1 : MAX((size_t)2, len / 3);
    return best_d <= limit ? best : NULL;
}

char *sim_keys_hint(const SimKeySpec *table, const char *name) {
    GPtrArray *names = g_ptr_array_new();
    for (const SimKeySpec *k = table; k->name != NULL; k++)
        g_ptr_array_add(names, (gpointer)k->name);
    g_ptr_array_add(names, NULL);
    const char *near = sim_keys_nearest(name, (const char *const *)names->pdata);
    char *hint = near != NULL ? g_strdup_printf(" (did you mean '%s'?)", near) : g_strdup("");
    g_ptr_array_free(names, TRUE);
    return hint;
}

/* ------------------------------------------------------------------ --set keys */

static bool set_key_char(char c, bool edges) {
    return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || (edges && c == '>');
}

bool sim_set_key_check(const char *key, char **why) {
    assert(key != NULL && why != NULL);
    *why = NULL;
    bool edges = g_str_has_prefix(key, "edges.");
    size_t len = strlen(key);
    if (len == 0) {
        *why = g_strdup("empty key (expected KEY=VALUE)");
        return false;
    }
    for (const char *p = key; *p != '\0'; p++) {
        if (!set_key_char(*p, edges)) {
            *why = g_ascii_isspace(*p) || !g_ascii_isprint(*p)
                       ? g_strdup("a key has no spaces or control characters")
                       : g_strdup_printf("'%c' cannot appear in a key (letters, digits, '.', "
                                         "'_', '-')", *p);
            return false;
        }
    }
    if (key[0] == '.' || key[len - 1] == '.' || strstr(key, "..") != NULL)
        *why = g_strdup("a dotted key has no empty part (e.g. 'scenario.seed')");
    return *why == NULL;
}

/* ------------------------------------------------------------------ error lists */

#define ERR_SHOWN_KEY 60 /* longer keys and origins are shortened in messages */

typedef struct ErrEntry {
    unsigned cls;   /* 0 = a file line, 1 = a --set argument, 2 = no place */
    unsigned pos;   /* line or --set index */
    unsigned seq;   /* arrival order, breaks ties */
    char *text;
} ErrEntry;

struct SimErrList {
    char *path;
    unsigned count;
    unsigned n;                      /* entries kept, sorted, <= SIM_ERRLIST_MAX */
    ErrEntry kept[SIM_ERRLIST_MAX];
};

SimErrList *sim_errlist_new(const char *path) {
    SimErrList *E = g_new0(SimErrList, 1);
    E->path = g_strdup(path);
    return E;
}

static bool entry_before(const ErrEntry *a, const ErrEntry *b) {
    if (a->cls != b->cls)
        return a->cls < b->cls;
    if (a->pos != b->pos)
        return a->pos < b->pos;
    return a->seq < b->seq;
}

/* s, or its first ERR_SHOWN_KEY bytes (on a UTF-8 boundary) and "...". */
static void append_short(GString *out, const char *s) {
    size_t len = strlen(s);
    if (len <= ERR_SHOWN_KEY) {
        g_string_append(out, s);
        return;
    }
    size_t cut = ERR_SHOWN_KEY;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    g_string_append_len(out, s, (gssize)cut);
    g_string_append_printf(out, "... (%zu bytes)", len);
}

static char *format_entry(const SimErrList *E, const SimErrPlace *p, const char *msg) {
    GString *t = g_string_new(E->path);
    if (p->origin != NULL) {
        g_string_append(t, ": --set ");
        append_short(t, p->origin);
    } else if (p->line > 0) {
        g_string_append_printf(t, ":%u", p->line);
    }
    g_string_append(t, ": ");
    if (p->section != NULL)
        g_string_append_printf(t, "[%s]%s", p->section, p->key != NULL ? " " : "");
    if (p->key != NULL)
        append_short(t, p->key);
    if (p->section != NULL || p->key != NULL)
        g_string_append(t, ": ");
    g_string_append(t, msg);
    return g_string_free(t, FALSE);
}

void sim_errlist_add(SimErrList *E, const SimErrPlace *place, const char *msg) {
    assert(E != NULL && place != NULL && msg != NULL);
    ErrEntry e = {place->origin != NULL ? 1u : place->line > 0 ? 0u : 2u,
                  place->origin != NULL ? place->origin_index : place->line, E->count, NULL};
    E->count++;
    if (E->n == SIM_ERRLIST_MAX && !entry_before(&e, &E->kept[E->n - 1]))
        return;
    if (E->n == SIM_ERRLIST_MAX)
        g_free(E->kept[--E->n].text);
    unsigned at = E->n;
    while (at > 0 && entry_before(&e, &E->kept[at - 1])) {
        E->kept[at] = E->kept[at - 1];
        at--;
    }
    e.text = format_entry(E, place, msg);
    E->kept[at] = e;
    E->n++;
}

unsigned sim_errlist_count(const SimErrList *E) {
    return E->count;
}

char *sim_errlist_text(const SimErrList *E) {
    if (E->count == 0)
        return NULL;
    GString *t = g_string_new(NULL);
    for (unsigned i = 0; i < E->n; i++)
        g_string_append_printf(t, "%s%s", i > 0 ? "\n" : "", E->kept[i].text);
    if (E->count > E->n)
        g_string_append_printf(t, "\n%s: ... and %u more errors (the first %u in input order "
                               "are shown)", E->path, E->count - E->n, E->n);
    return g_string_free(t, FALSE);
}

void sim_errlist_free(SimErrList *E) {
    if (E == NULL)
        return;
    for (unsigned i = 0; i < E->n; i++)
        g_free(E->kept[i].text);
    g_free(E->path);
    g_free(E);
}
