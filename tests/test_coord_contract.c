/* test_coord_contract.c - the RtCoord contract: ZooKeeper's semantics, checked the same
 * way against the simulated ensemble (suite 'contract', test_coord_harness_sim.c) and a
 * real server (suite 'zk', test_coord_harness_real.c; skipped when CKPTSIM_TEST_ZK is
 * unset). Each test runs in its own process under its own root znode, used as chroot.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/test_coord_harness.h"
#include "tests/support/test_check.h"

#define SEC 1000000000ull
#define WAIT_NS (20 * SEC)
#define TIMEOUT_NS (4 * SEC) /* the smallest the server grants with tickTime=2000 */

static char root[128]; /* this test's root znode, the chroot of its handles */
static bool in_call;   /* true while an rt_coord_* call runs: callbacks must not */

/* ------------------------------------------------------------ recorders */

typedef struct Res {
    bool done;
    int code;         /* 0 or RtCoordError */
    char *path;       /* create */
    GByteArray *data; /* get */
    bool has_stat;
    RtCoordStat stat;
    GPtrArray *names;   /* children */
    GPtrArray *created; /* multi: created paths ("" for other ops) */
} Res;

static void res_clear(Res *r) {
    g_free(r->path);
    if (r->data)
        g_byte_array_unref(r->data);
    if (r->names)
        g_ptr_array_unref(r->names);
    if (r->created)
        g_ptr_array_unref(r->created);
    memset(r, 0, sizeof *r);
}

static void res_finish(Res *r, const RtCoordStat *st, GError *err) {
    ck_assert_msg(!in_call, "callback ran before the call returned");
    ck_assert_msg(!r->done, "callback ran twice");
    r->done = true;
    if (err != NULL) {
        ck_assert(err->domain == RT_COORD_ERROR);
        r->code = err->code;
        g_error_free(err);
    }
    if (st != NULL) {
        r->has_stat = true;
        r->stat = *st;
    }
}

static void on_create(RtCoord *c, const char *path, GError *err, void *ud) {
    (void)c;
    Res *r = ud;
    r->path = g_strdup(path);
    res_finish(r, NULL, err);
}

static void on_data(RtCoord *c, const void *data, size_t len, const RtCoordStat *st, GError *err,
                    void *ud) {
    (void)c;
    Res *r = ud;
    if (err == NULL) {
        r->data = g_byte_array_new();
        g_byte_array_append(r->data, data, (guint)len);
    }
    res_finish(r, st, err);
}

static void on_stat(RtCoord *c, const RtCoordStat *st, GError *err, void *ud) {
    (void)c;
    res_finish(ud, st, err);
}

static void on_done(RtCoord *c, GError *err, void *ud) {
    (void)c;
    res_finish(ud, NULL, err);
}

static void on_children(RtCoord *c, const char *const *names, size_t n, const RtCoordStat *st,
                        GError *err, void *ud) {
    (void)c;
    Res *r = ud;
    if (err == NULL) {
        r->names = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < n; i++)
            g_ptr_array_add(r->names, g_strdup(names[i]));
        ck_assert(names[n] == NULL);
    }
    res_finish(r, st, err);
}

static void on_multi(RtCoord *c, const RtCoordOpResult *res, size_t n, GError *err, void *ud) {
    (void)c;
    Res *r = ud;
    if (err == NULL) {
        r->created = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < n; i++)
            g_ptr_array_add(r->created, g_strdup(res[i].path_created ? res[i].path_created : ""));
    }
    res_finish(r, NULL, err);
}

static bool res_done(void *ud) {
    return ((Res *)ud)->done;
}

/* Waits for r; returns its code. started: what the call returned (false: failed at once,
 * err set). */
static int finish(Res *r, bool started, GError *err) {
    in_call = false;
    if (!started) {
        ck_assert(err != NULL && err->domain == RT_COORD_ERROR);
        int code = err->code;
        g_error_free(err);
        return -code; /* negative: failed at once */
    }
    ck_assert_msg(coord_harness_wait(res_done, r, WAIT_NS), "no completion within 20 s");
    return r->code;
}

typedef struct Watch {
    int fired;
    RtCoordEventType type;
    char path[256];
} Watch;

static void on_watch(RtCoord *c, RtCoordEventType type, const char *path, void *ud) {
    (void)c;
    ck_assert(!in_call);
    Watch *w = ud;
    w->fired++;
    w->type = type;
    g_strlcpy(w->path, path, sizeof w->path);
}

static bool watch_fired(void *ud) {
    return ((Watch *)ud)->fired > 0;
}

typedef struct Sess {
    RtCoordState states[64];
    int n;
} Sess;

static void on_session(RtCoord *c, RtCoordState st, void *ud) {
    (void)c;
    Sess *s = ud;
    ck_assert_int_lt(s->n, 64);
    s->states[s->n++] = st;
}

static bool sess_saw(Sess *s, RtCoordState st) {
    for (int i = 0; i < s->n; i++)
        if (s->states[i] == st)
            return true;
    return false;
}

typedef struct SessWait {
    Sess *s;
    RtCoordState want;
} SessWait;

static bool sess_reached(void *ud) {
    SessWait *w = ud;
    return sess_saw(w->s, w->want);
}

static void wait_state(Sess *s, RtCoordState st, uint64_t max_ns) {
    SessWait w = {s, st};
    ck_assert_msg(coord_harness_wait(sess_reached, &w, max_ns), "never %s",
                  rt_coord_state_name(st));
}

/* ------------------------------------------------------- synchronous helpers */

static int zcreate(RtCoord *c, const char *path, const char *data, unsigned flags, char **created) {
    Res r = {0};
    GError *e = NULL;
    in_call = true;
    bool ok = rt_coord_create(c, path, data, data ? strlen(data) : 0, flags, on_create, &r, &e);
    int code = finish(&r, ok, e);
    if (created)
        *created = g_strdup(r.path);
    res_clear(&r);
    return code;
}

static int zget(RtCoord *c, const char *path, Watch *w, char **data, RtCoordStat *st) {
    Res r = {0};
    GError *e = NULL;
    RtCoordWatch spec = {on_watch, w};
    in_call = true;
    bool ok = rt_coord_get(c, path, w ? &spec : NULL, on_data, &r, &e);
    int code = finish(&r, ok, e);
    if (code == 0 && data)
        *data = g_strndup((const char *)r.data->data, r.data->len);
    if (code == 0 && st) {
        ck_assert(r.has_stat);
        *st = r.stat;
    }
    res_clear(&r);
    return code;
}

/* Returns 1 if the node exists, 0 if not, -1 on error. */
static int zexists(RtCoord *c, const char *path, Watch *w, RtCoordStat *st) {
    Res r = {0};
    GError *e = NULL;
    RtCoordWatch spec = {on_watch, w};
    in_call = true;
    bool ok = rt_coord_exists(c, path, w ? &spec : NULL, on_stat, &r, &e);
    int code = finish(&r, ok, e);
    int out = code != 0 ? -1 : r.has_stat ? 1 : 0;
    if (st && r.has_stat)
        *st = r.stat;
    res_clear(&r);
    return out;
}

static int zset(RtCoord *c, const char *path, const char *data, int32_t version, RtCoordStat *st) {
    Res r = {0};
    GError *e = NULL;
    in_call = true;
    bool ok = rt_coord_set(c, path, data, strlen(data), version, on_stat, &r, &e);
    int code = finish(&r, ok, e);
    if (code == 0) {
        ck_assert(r.has_stat);
        if (st)
            *st = r.stat;
    }
    res_clear(&r);
    return code;
}

static int zdelete(RtCoord *c, const char *path, int32_t version) {
    Res r = {0};
    GError *e = NULL;
    in_call = true;
    bool ok = rt_coord_delete(c, path, version, on_done, &r, &e);
    int code = finish(&r, ok, e);
    res_clear(&r);
    return code;
}

static gint str_ptr_cmp(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* *names: "a,b,c" (new string), sorted here: ZooKeeper lists children in no particular
 * order (a real server in its HashSet order, the model in a seeded one). */
static int zchildren(RtCoord *c, const char *path, Watch *w, char **names, RtCoordStat *st) {
    Res r = {0};
    GError *e = NULL;
    RtCoordWatch spec = {on_watch, w};
    in_call = true;
    bool ok = rt_coord_children(c, path, w ? &spec : NULL, on_children, &r, &e);
    int code = finish(&r, ok, e);
    if (code == 0 && names) {
        g_ptr_array_sort(r.names, str_ptr_cmp);
        g_ptr_array_add(r.names, NULL);
        *names = g_strjoinv(",", (char **)r.names->pdata);
    }
    if (code == 0 && st)
        *st = r.stat;
    res_clear(&r);
    return code;
}

/* *created: the created paths joined by ',' (new string). */
static int zmulti(RtCoord *c, const RtCoordOp *ops, size_t n, char **created) {
    Res r = {0};
    GError *e = NULL;
    in_call = true;
    bool ok = rt_coord_multi(c, ops, n, on_multi, &r, &e);
    int code = finish(&r, ok, e);
    if (code == 0 && created) {
        g_ptr_array_add(r.created, NULL);
        *created = g_strjoinv(",", (char **)r.created->pdata);
    }
    res_clear(&r);
    return code;
}

static RtCoord *open_conn(Sess *s) {
    RtCoord *c = coord_harness_open(root, TIMEOUT_NS, s ? on_session : NULL, s);
    Sess local = {0};
    if (s == NULL) {
        /* Without a recorder, wait until a trivial call went through. */
        ck_assert_int_eq(zexists(c, "/", NULL, NULL), 1);
    } else {
        wait_state(s, RT_COORD_CONNECTED, WAIT_NS);
    }
    (void)local;
    return c;
}

/* ---------------------------------------------------------------- fixture */

static void setup(void) {
    coord_harness_setup();
    static unsigned counter;
    snprintf(root, sizeof root, "/ckptsim-test-%s-%ld-%u", coord_harness_name(), (long)getpid(),
             ++counter);
    RtCoord *c = coord_harness_open(NULL, TIMEOUT_NS, NULL, NULL);
    ck_assert_int_eq(zcreate(c, root, "", 0, NULL), 0);
    rt_coord_free(c);
    /* The tests' handles are other sessions, maybe on another server of the ensemble:
     * without sync, they see the root once their server has applied its create. */
    coord_harness_run_for(SEC / 20);
}

static void teardown(void) {
    coord_harness_teardown();
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_crud_and_versions) {
    RtCoord *c = open_conn(NULL);
    char *path = NULL, *data = NULL;
    RtCoordStat st, st2;
    ck_assert_int_eq(zcreate(c, "/a", "x", 0, &path), 0);
    ck_assert_str_eq(path, "/a");
    ck_assert_int_eq(zcreate(c, "/a", "x", 0, NULL), RT_COORD_ERROR_NODE_EXISTS);
    ck_assert_int_eq(zcreate(c, "/missing/b", "x", 0, NULL), RT_COORD_ERROR_NO_NODE);
    ck_assert_int_eq(zget(c, "/a", NULL, &data, &st), 0);
    ck_assert_str_eq(data, "x");
    ck_assert_int_eq(st.version, 0);
    ck_assert_int_eq(st.data_length, 1);
    ck_assert_int_eq(st.ephemeral_owner, 0);
    ck_assert(st.czxid == st.mzxid && st.czxid > 0);
    ck_assert_int_eq(zset(c, "/a", "yy", 0, &st2), 0);
    ck_assert_int_eq(st2.version, 1);
    ck_assert(st2.mzxid > st.mzxid && st2.czxid == st.czxid);
    ck_assert_int_eq(zset(c, "/a", "zz", 0, NULL), RT_COORD_ERROR_BAD_VERSION);
    ck_assert_int_eq(zset(c, "/a", "zz", RT_COORD_ANY_VERSION, NULL), 0);
    g_free(data);
    ck_assert_int_eq(zget(c, "/a", NULL, &data, &st), 0);
    ck_assert_str_eq(data, "zz");
    ck_assert_int_eq(st.version, 2);
    ck_assert_int_eq(zexists(c, "/a", NULL, &st), 1);
    ck_assert_int_eq(st.version, 2);
    ck_assert_int_eq(zdelete(c, "/a", 1), RT_COORD_ERROR_BAD_VERSION);
    ck_assert_int_eq(zdelete(c, "/a", 2), 0);
    ck_assert_int_eq(zexists(c, "/a", NULL, NULL), 0);
    ck_assert_int_eq(zget(c, "/a", NULL, NULL, NULL), RT_COORD_ERROR_NO_NODE);
    ck_assert_int_eq(zset(c, "/a", "q", -1, NULL), RT_COORD_ERROR_NO_NODE);
    ck_assert_int_eq(zdelete(c, "/a", -1), RT_COORD_ERROR_NO_NODE);
    g_free(path);
    g_free(data);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_children_and_not_empty) {
    RtCoord *c = open_conn(NULL);
    char *names = NULL;
    RtCoordStat st;
    ck_assert_int_eq(zcreate(c, "/p", NULL, 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/p/b", "1", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/p/a", "2", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/p/c", "3", 0, NULL), 0);
    ck_assert_int_eq(zchildren(c, "/p", NULL, &names, &st), 0);
    ck_assert_str_eq(names, "a,b,c");
    ck_assert_int_eq(st.num_children, 3);
    ck_assert_int_eq(st.cversion, 3);
    ck_assert_int_eq(zdelete(c, "/p", -1), RT_COORD_ERROR_NOT_EMPTY);
    ck_assert_int_eq(zdelete(c, "/p/b", -1), 0);
    g_free(names);
    ck_assert_int_eq(zchildren(c, "/p", NULL, &names, &st), 0);
    ck_assert_str_eq(names, "a,c");
    ck_assert_int_eq(st.cversion, 4);
    ck_assert_int_eq(zchildren(c, "/nope", NULL, NULL, NULL), RT_COORD_ERROR_NO_NODE);
    g_free(names);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_sequential_names) {
    RtCoord *c = open_conn(NULL);
    char *p0 = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL;
    ck_assert_int_eq(zcreate(c, "/q", NULL, 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/q/n-", "", RT_COORD_SEQUENTIAL, &p0), 0);
    ck_assert_int_eq(zcreate(c, "/q/n-", "", RT_COORD_SEQUENTIAL, &p1), 0);
    ck_assert_str_eq(p0, "/q/n-0000000000");
    ck_assert_str_eq(p1, "/q/n-0000000001");
    ck_assert_int_eq(zdelete(c, p1, -1), 0);
    /* The suffix counts the parent's child creates; deletes advance stat.cversion but not
     * the suffix (ZooKeeper 3.8.0, measured). */
    RtCoordStat st;
    ck_assert_int_eq(zexists(c, "/q", NULL, &st), 1);
    ck_assert_int_eq(st.cversion, 3);
    ck_assert_int_eq(zcreate(c, "/q/n-", "", RT_COORD_SEQUENTIAL, &p2), 0);
    ck_assert_str_eq(p2, "/q/n-0000000002");
    ck_assert_int_eq(zcreate(c, "/q/e-", "", RT_COORD_SEQUENTIAL | RT_COORD_EPHEMERAL, &p3), 0);
    ck_assert_str_eq(p3, "/q/e-0000000003");
    ck_assert_int_eq(zexists(c, "/q", NULL, &st), 1);
    ck_assert_int_eq(st.cversion, 5);
    g_free(p0);
    g_free(p1);
    g_free(p2);
    g_free(p3);
    rt_coord_free(c);
}
END_TEST

/* The suffix keeps counting after every child is gone: a server stores the parent's
 * cversion as a count of child creates (DataNode.copyStat reports 2 x creates - children,
 * so the stat counts deletes too) and names a sequential node after that count. */
START_TEST(test_sequential_after_deletes) {
    RtCoord *c = open_conn(NULL);
    char *p[4] = {NULL, NULL, NULL, NULL};
    RtCoordStat st;
    ck_assert_int_eq(zcreate(c, "/s", NULL, 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/s/x", "", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c, "/s/n-", "", RT_COORD_SEQUENTIAL, &p[0]), 0);
    ck_assert_str_eq(p[0], "/s/n-0000000001");
    ck_assert_int_eq(zdelete(c, "/s/x", -1), 0);
    ck_assert_int_eq(zdelete(c, p[0], -1), 0);
    ck_assert_int_eq(zexists(c, "/s", NULL, &st), 1);
    ck_assert_int_eq(st.num_children, 0);
    ck_assert_int_eq(st.cversion, 4);
    ck_assert_int_eq(zcreate(c, "/s/n-", "", RT_COORD_SEQUENTIAL, &p[1]), 0);
    ck_assert_str_eq(p[1], "/s/n-0000000002");
    ck_assert_int_eq(zdelete(c, p[1], -1), 0);
    ck_assert_int_eq(zcreate(c, "/s/n-", "", RT_COORD_SEQUENTIAL, &p[2]), 0);
    ck_assert_str_eq(p[2], "/s/n-0000000003");
    ck_assert_int_eq(zexists(c, "/s", NULL, &st), 1);
    ck_assert_int_eq(st.cversion, 7);
    for (int i = 0; i < 4; i++)
        g_free(p[i]);
    rt_coord_free(c);
}
END_TEST

/* The server grants a timeout within [2, 20] x tickTime (tickTime 2000 for the test
 * server and the model's default). */
START_TEST(test_session_timeout_negotiation) {
    const uint64_t asked[] = {3 * SEC, 4 * SEC, 10 * SEC, 60 * SEC};
    const uint64_t granted[] = {4 * SEC, 4 * SEC, 10 * SEC, 40 * SEC};
    for (size_t i = 0; i < G_N_ELEMENTS(asked); i++) {
        RtCoord *c = coord_harness_open(root, asked[i], NULL, NULL);
        ck_assert_int_eq(zexists(c, "/", NULL, NULL), 1);
        ck_assert_uint_eq(rt_coord_session_timeout_ns(c), granted[i]);
        rt_coord_free(c);
    }
}
END_TEST

START_TEST(test_ephemeral_nodes) {
    Sess s1 = {0};
    RtCoord *c1 = open_conn(&s1);
    RtCoord *c2 = open_conn(NULL);
    RtCoordStat st;
    ck_assert(rt_coord_session_id(c1) != 0);
    ck_assert(rt_coord_session_id(c1) != rt_coord_session_id(c2));
    ck_assert(rt_coord_session_timeout_ns(c1) >= TIMEOUT_NS);
    ck_assert_int_eq(zcreate(c1, "/e", "me", RT_COORD_EPHEMERAL, NULL), 0);
    ck_assert_int_eq(zexists(c2, "/e", NULL, &st), 1);
    ck_assert_int_eq(st.ephemeral_owner, rt_coord_session_id(c1));
    ck_assert_int_eq(zcreate(c1, "/e/child", "", 0, NULL),
                     RT_COORD_ERROR_NO_CHILDREN_FOR_EPHEMERALS);
    Watch w = {0};
    ck_assert_int_eq(zexists(c2, "/e", &w, NULL), 1);
    rt_coord_free(c1); /* closing the session deletes its ephemeral nodes at once */
    ck_assert(coord_harness_wait(watch_fired, &w, WAIT_NS));
    ck_assert_int_eq(w.type, RT_COORD_EVENT_DELETED);
    ck_assert_str_eq(w.path, "/e");
    ck_assert_int_eq(zexists(c2, "/e", NULL, NULL), 0);
    rt_coord_free(c2);
}
END_TEST

START_TEST(test_watches_fire_once) {
    RtCoord *c1 = open_conn(NULL);
    RtCoord *c2 = open_conn(NULL);
    Watch wd = {0}, wc = {0}, wx = {0}, wdel = {0};
    ck_assert_int_eq(zcreate(c1, "/w", "0", 0, NULL), 0);
    ck_assert_int_eq(zget(c2, "/w", &wd, NULL, NULL), 0);
    ck_assert_int_eq(zchildren(c2, "/w", &wc, NULL, NULL), 0);
    ck_assert_int_eq(zexists(c2, "/x", &wx, NULL), 0); /* a watch on a missing node */
    /* A failed get sets no watch. */
    Watch none = {0};
    ck_assert_int_eq(zget(c2, "/none", &none, NULL, NULL), RT_COORD_ERROR_NO_NODE);
    ck_assert_int_eq(zset(c1, "/w", "1", -1, NULL), 0);
    ck_assert_int_eq(zset(c1, "/w", "2", -1, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/w/k1", "", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/w/k2", "", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/x", "", 0, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/none", "", 0, NULL), 0);
    ck_assert(coord_harness_wait(watch_fired, &wx, WAIT_NS));
    coord_harness_run_for(SEC / 2);
    ck_assert_int_eq(wd.fired, 1);
    ck_assert_int_eq(wd.type, RT_COORD_EVENT_DATA_CHANGED);
    ck_assert_str_eq(wd.path, "/w");
    ck_assert_int_eq(wc.fired, 1);
    ck_assert_int_eq(wc.type, RT_COORD_EVENT_CHILDREN_CHANGED);
    ck_assert_int_eq(wx.fired, 1);
    ck_assert_int_eq(wx.type, RT_COORD_EVENT_CREATED);
    ck_assert_str_eq(wx.path, "/x");
    ck_assert_int_eq(none.fired, 0);
    /* A data watch on a node that is deleted fires DELETED. */
    ck_assert_int_eq(zget(c2, "/x", &wdel, NULL, NULL), 0);
    ck_assert_int_eq(zdelete(c1, "/x", -1), 0);
    ck_assert(coord_harness_wait(watch_fired, &wdel, WAIT_NS));
    ck_assert_int_eq(wdel.type, RT_COORD_EVENT_DELETED);
    /* The client's own write: its watch event comes before the write's reply. */
    Watch own = {0};
    ck_assert_int_eq(zget(c1, "/w", &own, NULL, NULL), 0);
    ck_assert_int_eq(zset(c1, "/w", "3", -1, NULL), 0);
    ck_assert_int_eq(own.fired, 1);
    rt_coord_free(c1);
    rt_coord_free(c2);
}
END_TEST

START_TEST(test_multi_all_or_nothing) {
    RtCoord *c = open_conn(NULL);
    char *created = NULL, *data = NULL;
    RtCoordOp ok_ops[] = {
        rt_coord_op_create("/m1", "a", 1, 0),
        rt_coord_op_create("/m1/s-", "b", 1, RT_COORD_SEQUENTIAL),
        rt_coord_op_check("/m1", 0),
        rt_coord_op_set("/m1", "c", 1, 0),
    };
    ck_assert_int_eq(zmulti(c, ok_ops, 4, &created), 0);
    ck_assert_str_eq(created, "/m1,/m1/s-0000000000,,");
    ck_assert_int_eq(zget(c, "/m1", NULL, &data, NULL), 0);
    ck_assert_str_eq(data, "c");
    /* A failing op undoes the ops before it. */
    RtCoordOp bad_ops[] = {
        rt_coord_op_create("/m2", "x", 1, 0), rt_coord_op_delete("/m1/s-0000000000", 0),
        rt_coord_op_set("/m1", "d", 1, 0), /* version is 1 now */
    };
    ck_assert_int_eq(zmulti(c, bad_ops, 3, NULL), RT_COORD_ERROR_BAD_VERSION);
    ck_assert_int_eq(zexists(c, "/m2", NULL, NULL), 0);
    ck_assert_int_eq(zexists(c, "/m1/s-0000000000", NULL, NULL), 1);
    RtCoordOp exists_ops[] = {
        rt_coord_op_create("/m3", "x", 1, 0),
        rt_coord_op_create("/m1", "x", 1, 0),
    };
    ck_assert_int_eq(zmulti(c, exists_ops, 2, NULL), RT_COORD_ERROR_NODE_EXISTS);
    ck_assert_int_eq(zexists(c, "/m3", NULL, NULL), 0);
    RtCoordOp check_ops[] = {rt_coord_op_check("/m1", 7), rt_coord_op_delete("/m1", -1)};
    ck_assert_int_eq(zmulti(c, check_ops, 2, NULL), RT_COORD_ERROR_BAD_VERSION);
    RtCoordOp notempty_ops[] = {rt_coord_op_delete("/m1", -1)};
    ck_assert_int_eq(zmulti(c, notempty_ops, 1, NULL), RT_COORD_ERROR_NOT_EMPTY);
    RtCoordOp del_ops[] = {rt_coord_op_delete("/m1/s-0000000000", -1),
                           rt_coord_op_delete("/m1", 1)};
    ck_assert_int_eq(zmulti(c, del_ops, 2, NULL), 0);
    ck_assert_int_eq(zexists(c, "/m1", NULL, NULL), 0);
    g_free(created);
    g_free(data);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_limits_fail_at_once) {
    RtCoord *c = open_conn(NULL);
    ck_assert_int_eq(zcreate(c, "rel", "", 0, NULL), -RT_COORD_ERROR_BAD_ARGUMENTS);
    ck_assert_int_eq(zcreate(c, "/a/", "", 0, NULL), -RT_COORD_ERROR_BAD_ARGUMENTS);
    ck_assert_int_eq(zcreate(c, "/a//b", "", 0, NULL), -RT_COORD_ERROR_BAD_ARGUMENTS);
    ck_assert_int_eq(zcreate(c, "/a/../b", "", 0, NULL), -RT_COORD_ERROR_BAD_ARGUMENTS);
    ck_assert_int_eq(zcreate(c, "/", "", 0, NULL), -RT_COORD_ERROR_BAD_ARGUMENTS);
    ck_assert_int_eq(zdelete(c, "/", -1), -RT_COORD_ERROR_BAD_ARGUMENTS);
    /* Over jute.maxbuffer a real server drops the connection: refused up front. */
    size_t big = RT_COORD_PACKET_MAX_BYTES;
    char *blob = g_malloc0(big + 1);
    memset(blob, 'z', big);
    ck_assert_int_eq(zcreate(c, "/big", blob, 0, NULL), -RT_COORD_ERROR_TOO_LARGE);
    /* Just under the budget goes through, and reads back whole. */
    blob[RT_COORD_DATA_MAX_BYTES - 8] = '\0';
    char *back = NULL;
    ck_assert_int_eq(zcreate(c, "/big", blob, 0, NULL), 0);
    ck_assert_int_eq(zget(c, "/big", NULL, &back, NULL), 0);
    ck_assert_uint_eq(strlen(back), RT_COORD_DATA_MAX_BYTES - 8);
    ck_assert(rt_coord_state(c) == RT_COORD_CONNECTED);
    g_free(back);
    g_free(blob);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_connection_loss) {
    Sess s = {0};
    RtCoord *c = open_conn(&s);
    int64_t sid = rt_coord_session_id(c);
    ck_assert_int_eq(zcreate(c, "/eph", "", RT_COORD_EPHEMERAL, NULL), 0);
    Watch w = {0};
    ck_assert_int_eq(zexists(c, "/later", &w, NULL), 0);
    coord_harness_drop(c, 3 * SEC / 2);
    wait_state(&s, RT_COORD_SUSPENDED, WAIT_NS);
    /* A call made while disconnected fails with connection loss (outcome unknown). */
    ck_assert_int_eq(zget(c, "/eph", NULL, NULL, NULL), RT_COORD_ERROR_CONNECTION_LOSS);
    s.n = 0;
    wait_state(&s, RT_COORD_CONNECTED, WAIT_NS);
    ck_assert_int_eq(rt_coord_session_id(c), sid);
    ck_assert_int_eq(zexists(c, "/eph", NULL, NULL), 1); /* the session survived */
    /* The watch survived the suspension. */
    ck_assert_int_eq(zcreate(c, "/later", "", 0, NULL), 0);
    ck_assert(coord_harness_wait(watch_fired, &w, WAIT_NS));
    ck_assert_int_eq(w.type, RT_COORD_EVENT_CREATED);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_session_expiry) {
    Sess s1 = {0};
    RtCoord *c1 = open_conn(&s1);
    RtCoord *c2 = open_conn(NULL);
    ck_assert_int_eq(zcreate(c1, "/lease", "", RT_COORD_EPHEMERAL, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/lease2", "", RT_COORD_EPHEMERAL, NULL), 0);
    ck_assert_int_eq(zcreate(c1, "/keep", "", 0, NULL), 0);
    Watch other = {0}, own = {0};
    ck_assert_int_eq(zexists(c2, "/lease", &other, NULL), 1);
    ck_assert_int_eq(zexists(c1, "/never", &own, NULL), 0);
    coord_harness_expire(c1);
    /* Another session sees the ephemeral nodes go. */
    ck_assert(coord_harness_wait(watch_fired, &other, WAIT_NS));
    ck_assert_int_eq(other.type, RT_COORD_EVENT_DELETED);
    ck_assert_int_eq(zexists(c2, "/lease", NULL, NULL), 0);
    ck_assert_int_eq(zexists(c2, "/lease2", NULL, NULL), 0);
    ck_assert_int_eq(zexists(c2, "/keep", NULL, NULL), 1);
    /* The expired client hears of it when it reconnects. */
    wait_state(&s1, RT_COORD_EXPIRED, WAIT_NS);
    ck_assert(rt_coord_state(c1) == RT_COORD_EXPIRED);
    ck_assert(coord_harness_wait(watch_fired, &own, WAIT_NS));
    ck_assert_int_eq(own.type, RT_COORD_EVENT_SESSION_ENDED);
    ck_assert_int_eq(zget(c1, "/keep", NULL, NULL, NULL), -RT_COORD_ERROR_SESSION_EXPIRED);
    rt_coord_free(c1);
    /* A new session works. */
    RtCoord *c3 = open_conn(NULL);
    ck_assert_int_eq(zcreate(c3, "/lease", "", RT_COORD_EPHEMERAL, NULL), 0);
    rt_coord_free(c3);
    rt_coord_free(c2);
}
END_TEST

START_TEST(test_unreachable_closes) {
    Sess s = {0};
    RtCoord *c = coord_harness_open_unreachable(SEC, on_session, &s);
    ck_assert(rt_coord_state(c) == RT_COORD_CONNECTING);
    Res r = {0};
    GError *e = NULL;
    in_call = true;
    ck_assert(rt_coord_exists(c, "/", NULL, on_stat, &r, &e));
    in_call = false;
    wait_state(&s, RT_COORD_CLOSED, 10 * SEC);
    ck_assert_int_eq(s.n, 1); /* never connected */
    ck_assert(coord_harness_wait(res_done, &r, WAIT_NS));
    ck_assert(r.code == RT_COORD_ERROR_CLOSED || r.code == RT_COORD_ERROR_CONNECTION_LOSS);
    ck_assert(!rt_coord_exists(c, "/", NULL, on_stat, &r, &e));
    ck_assert_int_eq(e->code, RT_COORD_ERROR_CLOSED);
    g_error_free(e);
    rt_coord_free(c);
}
END_TEST

typedef struct FreeInside {
    RtCoord *c;
    int calls;
} FreeInside;

static void free_in_callback(RtCoord *c, const RtCoordStat *st, GError *err, void *ud) {
    (void)st;
    FreeInside *f = ud;
    ck_assert(c == f->c && !in_call);
    if (err)
        g_error_free(err);
    if (f->calls++ == 0)
        rt_coord_free(c); /* the remaining callbacks must never run */
}

static bool first_called(void *ud) {
    return ((FreeInside *)ud)->calls > 0;
}

START_TEST(test_free_inside_callback) {
    RtCoord *c = open_conn(NULL);
    FreeInside f = {c, 0};
    for (int i = 0; i < 4; i++) {
        GError *e = NULL;
        in_call = true;
        ck_assert(rt_coord_exists(c, "/", NULL, free_in_callback, &f, &e));
        in_call = false;
    }
    ck_assert(coord_harness_wait(first_called, &f, WAIT_NS));
    coord_harness_run_for(SEC / 5);
    ck_assert_int_eq(f.calls, 1);
}
END_TEST

/* Read your writes: a get pipelined right behind a set on the same handle sees the set
 * (and completes after it), whichever server the handle is connected to (on the
 * simulated ensemble most sessions sit on lagging followers). */
START_TEST(test_read_your_writes_pipelined) {
    RtCoord *c[6];
    for (int h = 0; h < 6; h++)
        c[h] = open_conn(NULL);
    ck_assert_int_eq(zcreate(c[0], "/ryw", "0", 0, NULL), 0);
    coord_harness_run_for(SEC / 20); /* every server has it (no sync across sessions) */
    for (int i = 1; i <= 12; i++) {
        RtCoord *h = c[i % 6];
        char v[16];
        g_snprintf(v, sizeof v, "v%d", i);
        Res w = {0}, r = {0};
        in_call = true;
        ck_assert(rt_coord_set(h, "/ryw", v, strlen(v), RT_COORD_ANY_VERSION, on_stat, &w, NULL));
        ck_assert(rt_coord_get(h, "/ryw", NULL, on_data, &r, NULL));
        in_call = false;
        ck_assert(coord_harness_wait(res_done, &r, WAIT_NS));
        ck_assert(w.done); /* replies in call order */
        ck_assert_int_eq(w.code, 0);
        ck_assert_int_eq(r.code, 0);
        ck_assert_int_eq(r.data->len, strlen(v));
        ck_assert(memcmp(r.data->data, v, strlen(v)) == 0);
        ck_assert_int_eq(r.stat.version, i);
        res_clear(&w);
        res_clear(&r);
    }
    for (int h = 0; h < 6; h++)
        rt_coord_free(c[h]);
}
END_TEST

static Suite *coord_contract_suite(void) {
    Suite *s = suite_create("coord_contract");
    TCase *tc = tcase_create(coord_harness_name());
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_crud_and_versions);
    tcase_add_test(tc, test_children_and_not_empty);
    tcase_add_test(tc, test_sequential_names);
    tcase_add_test(tc, test_sequential_after_deletes);
    tcase_add_test(tc, test_session_timeout_negotiation);
    tcase_add_test(tc, test_ephemeral_nodes);
    tcase_add_test(tc, test_watches_fire_once);
    tcase_add_test(tc, test_multi_all_or_nothing);
    tcase_add_test(tc, test_read_your_writes_pipelined);
    tcase_add_test(tc, test_limits_fail_at_once);
    tcase_add_test(tc, test_connection_loss);
    tcase_add_test(tc, test_session_expiry);
    tcase_add_test(tc, test_free_inside_callback);
    tcase_add_test(tc, test_unreachable_closes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    const char *why = NULL;
    if (!coord_harness_available(&why)) {
        printf("1..0 # SKIP %s\n", why);
        return 0;
    }
    return test_check_run(coord_contract_suite());
}
