/* sim_zk_tree.c - the simulated ensemble's znode tree and its all-or-nothing
 * transactions (an undo log, replayed backwards on abort). Children are kept in GTrees
 * keyed by name, so every listing is sorted and nothing depends on hash order. */
#include "sim/world/sim_zk_tree.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

typedef struct SimZkNode SimZkNode;
struct SimZkNode {
    char *name;        /* last path component; "" for the root */
    SimZkNode *parent; /* NULL for the root and for detached (deleted) nodes */
    GTree *children;   /* name (borrowed from the child) -> SimZkNode* */
    uint8_t *data;     /* owned, len bytes (NULL when empty) */
    size_t len;        /* bytes */
    RtCoordStat stat;  /* data_length and num_children kept current */
    int32_t creates;   /* children ever created: the next sequential suffix */
};

struct SimZkTree {
    SimZkNode *root;
    int64_t zxid;       /* last committed */
    size_t count;       /* znodes, root included */
    SimZkTxn *open_txn; /* the transaction in progress, or NULL */
};

typedef enum { UNDO_CREATE, UNDO_DELETE, UNDO_SET } UndoKind;
typedef struct Undo {
    UndoKind kind;
    SimZkNode *node;
    SimZkNode *parent;
    RtCoordStat parent_stat; /* create/delete: the parent's stat before */
    int32_t parent_creates;  /* create: the parent's create count before */
    RtCoordStat node_stat;   /* set: the node's stat before */
    uint8_t *old_data;       /* set: the data before (owned) */
    size_t old_len;
} Undo;

struct SimZkTxn {
    SimZkTree *tree;
    int64_t zxid;     /* the zxid this transaction commits under */
    GArray *undo;     /* Undo, in apply order */
    GArray *triggers; /* SimZkTrigger, in apply order */
};

static int name_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    return strcmp(a, b);
}

static SimZkNode *node_new(const char *name, const void *data, size_t len) {
    SimZkNode *n = g_new0(SimZkNode, 1);
    n->name = g_strdup(name);
    n->children = g_tree_new_full(name_cmp, NULL, NULL, NULL);
    if (len > 0) {
        n->data = g_malloc(len);
        memcpy(n->data, data, len);
    }
    n->len = len;
    n->stat.data_length = (int32_t)len;
    return n;
}

static gboolean free_child(gpointer key, gpointer value, gpointer ud);

static void node_free(SimZkNode *n) {
    g_tree_foreach(n->children, free_child, NULL);
    g_tree_destroy(n->children);
    g_free(n->name);
    g_free(n->data);
    g_free(n);
}

static gboolean free_child(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    (void)ud;
    node_free(value);
    return FALSE;
}

SimZkTree *sim_zk_tree_new(void) {
    SimZkTree *t = g_new0(SimZkTree, 1);
    t->root = node_new("", NULL, 0);
    t->count = 1;
    return t;
}

void sim_zk_tree_free(SimZkTree *t) {
    if (t == NULL)
        return;
    assert(t->open_txn == NULL);
    node_free(t->root);
    g_free(t);
}

int64_t sim_zk_tree_zxid(const SimZkTree *t) {
    return t->zxid;
}

size_t sim_zk_tree_count(const SimZkTree *t) {
    return t->count;
}

/* Walks path's components from the root; NULL when a component is missing. */
static SimZkNode *lookup(const SimZkTree *t, const char *path) {
    assert(path != NULL && path[0] == '/');
    SimZkNode *n = t->root;
    const char *p = path + 1;
    char part[RT_COORD_PATH_MAX_BYTES + RT_COORD_CHROOT_MAX_BYTES + 1];
    while (*p != '\0' && n != NULL) {
        const char *slash = strchr(p, '/');
        size_t plen = slash ? (size_t)(slash - p) : strlen(p);
        assert(plen > 0 && plen < sizeof part);
        memcpy(part, p, plen);
        part[plen] = '\0';
        n = g_tree_lookup(n->children, part);
        p += plen + (slash ? 1 : 0);
    }
    return n;
}

bool sim_zk_tree_stat(const SimZkTree *t, const char *path, RtCoordStat *stat) {
    SimZkNode *n = lookup(t, path);
    if (n != NULL && stat != NULL)
        *stat = n->stat;
    return n != NULL;
}

bool sim_zk_tree_data(const SimZkTree *t, const char *path, const void **data, size_t *len) {
    SimZkNode *n = lookup(t, path);
    if (n == NULL)
        return false;
    *data = n->data;
    *len = n->len;
    return true;
}

static gboolean collect_name(gpointer key, gpointer value, gpointer ud) {
    (void)value;
    g_ptr_array_add(ud, key);
    return FALSE;
}

bool sim_zk_tree_children(const SimZkTree *t, const char *path, const char ***names, size_t *n) {
    SimZkNode *node = lookup(t, path);
    if (node == NULL)
        return false;
    GPtrArray *a = g_ptr_array_new();
    g_tree_foreach(node->children, collect_name, a);
    *n = a->len;
    g_ptr_array_add(a, NULL);
    *names = (const char **)g_ptr_array_free(a, FALSE);
    return true;
}

typedef struct EphCollect {
    int64_t session_id;
    GPtrArray *out;
    GString *path;
} EphCollect;

static gboolean collect_eph(gpointer key, gpointer value, gpointer ud) {
    EphCollect *c = ud;
    SimZkNode *n = value;
    size_t keep = c->path->len;
    g_string_append_c(c->path, '/');
    g_string_append(c->path, key);
    if (n->stat.ephemeral_owner == c->session_id)
        g_ptr_array_add(c->out, g_strdup(c->path->str));
    g_tree_foreach(n->children, collect_eph, c);
    g_string_truncate(c->path, keep);
    return FALSE;
}

GPtrArray *sim_zk_tree_ephemerals(const SimZkTree *t, int64_t session_id) {
    assert(session_id != 0);
    EphCollect c = {session_id, g_ptr_array_new_with_free_func(g_free), g_string_new("")};
    g_tree_foreach(t->root->children, collect_eph, &c);
    g_string_free(c.path, TRUE);
    return c.out;
}

/* ------------------------------------------------------------ transactions */

SimZkTxn *sim_zk_txn_begin(SimZkTree *t) {
    assert(t->open_txn == NULL);
    SimZkTxn *x = g_new0(SimZkTxn, 1);
    x->tree = t;
    x->zxid = t->zxid + 1;
    x->undo = g_array_new(FALSE, TRUE, sizeof(Undo));
    x->triggers = g_array_new(FALSE, TRUE, sizeof(SimZkTrigger));
    t->open_txn = x;
    return x;
}

static void add_trigger(SimZkTxn *x, const char *path, bool child_table, RtCoordEventType type) {
    SimZkTrigger tr = {g_strdup(path), child_table, type};
    g_array_append_val(x->triggers, tr);
}

/* Splits path into its parent's path (new string) and a borrowed last component. */
static char *parent_path(const char *path, const char **name) {
    const char *slash = strrchr(path, '/');
    assert(slash != NULL);
    *name = slash + 1;
    return slash == path ? g_strdup("/") : g_strndup(path, (size_t)(slash - path));
}

int sim_zk_txn_create(SimZkTxn *x, const char *path, const void *data, size_t len, unsigned flags,
                      int64_t session_id, char **created) {
    assert(strcmp(path, "/") != 0);
    const char *name;
    char *ppath = parent_path(path, &name);
    SimZkNode *parent = lookup(x->tree, ppath);
    int rc = 0;
    char *full = NULL;
    if (parent == NULL)
        rc = RT_COORD_ERROR_NO_NODE;
    else if (parent->stat.ephemeral_owner != 0)
        rc = RT_COORD_ERROR_NO_CHILDREN_FOR_EPHEMERALS;
    if (rc == 0) {
        full = (flags & RT_COORD_SEQUENTIAL)
                   ? g_strdup_printf("%s%010d", path, (int)parent->creates)
                   : g_strdup(path);
        const char *fname = strrchr(full, '/') + 1;
        if (g_tree_lookup(parent->children, fname) != NULL)
            rc = RT_COORD_ERROR_NODE_EXISTS;
    }
    if (rc != 0) {
        g_free(ppath);
        g_free(full);
        return rc;
    }
    SimZkNode *n = node_new(strrchr(full, '/') + 1, data, len);
    n->parent = parent;
    n->stat.czxid = n->stat.mzxid = n->stat.pzxid = x->zxid;
    n->stat.ephemeral_owner = (flags & RT_COORD_EPHEMERAL) ? session_id : 0;
    Undo u = {.kind = UNDO_CREATE,
              .node = n,
              .parent = parent,
              .parent_stat = parent->stat,
              .parent_creates = parent->creates};
    g_array_append_val(x->undo, u);
    g_tree_insert(parent->children, n->name, n);
    parent->creates++;
    parent->stat.cversion++;
    parent->stat.pzxid = x->zxid;
    parent->stat.num_children++;
    x->tree->count++;
    add_trigger(x, full, false, RT_COORD_EVENT_CREATED);
    add_trigger(x, ppath, true, RT_COORD_EVENT_CHILDREN_CHANGED);
    g_free(ppath);
    if (created != NULL)
        *created = full;
    else
        g_free(full);
    return 0;
}

int sim_zk_txn_delete(SimZkTxn *x, const char *path, int32_t version) {
    assert(strcmp(path, "/") != 0);
    SimZkNode *n = lookup(x->tree, path);
    if (n == NULL)
        return RT_COORD_ERROR_NO_NODE;
    if (version != RT_COORD_ANY_VERSION && version != n->stat.version)
        return RT_COORD_ERROR_BAD_VERSION;
    if (g_tree_nnodes(n->children) > 0)
        return RT_COORD_ERROR_NOT_EMPTY;
    SimZkNode *parent = n->parent;
    Undo u = {.kind = UNDO_DELETE, .node = n, .parent = parent, .parent_stat = parent->stat};
    g_array_append_val(x->undo, u);
    g_tree_remove(parent->children, n->name);
    n->parent = NULL;
    parent->stat.cversion++;
    parent->stat.pzxid = x->zxid;
    parent->stat.num_children--;
    x->tree->count--;
    const char *name;
    char *ppath = parent_path(path, &name);
    add_trigger(x, path, false, RT_COORD_EVENT_DELETED);
    add_trigger(x, path, true, RT_COORD_EVENT_DELETED);
    add_trigger(x, ppath, true, RT_COORD_EVENT_CHILDREN_CHANGED);
    g_free(ppath);
    return 0;
}

int sim_zk_txn_set(SimZkTxn *x, const char *path, const void *data, size_t len, int32_t version,
                   RtCoordStat *stat) {
    SimZkNode *n = lookup(x->tree, path);
    if (n == NULL)
        return RT_COORD_ERROR_NO_NODE;
    if (version != RT_COORD_ANY_VERSION && version != n->stat.version)
        return RT_COORD_ERROR_BAD_VERSION;
    Undo u = {
        .kind = UNDO_SET, .node = n, .node_stat = n->stat, .old_data = n->data, .old_len = n->len};
    g_array_append_val(x->undo, u);
    n->data = NULL;
    if (len > 0) {
        n->data = g_malloc(len);
        memcpy(n->data, data, len);
    }
    n->len = len;
    n->stat.data_length = (int32_t)len;
    n->stat.version++;
    n->stat.mzxid = x->zxid;
    if (stat != NULL)
        *stat = n->stat;
    add_trigger(x, path, false, RT_COORD_EVENT_DATA_CHANGED);
    return 0;
}

int sim_zk_txn_check(SimZkTxn *x, const char *path, int32_t version) {
    SimZkNode *n = lookup(x->tree, path);
    if (n == NULL)
        return RT_COORD_ERROR_NO_NODE;
    if (version != RT_COORD_ANY_VERSION && version != n->stat.version)
        return RT_COORD_ERROR_BAD_VERSION;
    return 0;
}

static void txn_end(SimZkTxn *x) {
    x->tree->open_txn = NULL;
    g_array_free(x->undo, TRUE);
    g_free(x);
}

GArray *sim_zk_txn_commit(SimZkTxn *x) {
    for (guint i = 0; i < x->undo->len; i++) {
        Undo *u = &g_array_index(x->undo, Undo, i);
        if (u->kind == UNDO_DELETE)
            node_free(u->node);
        else if (u->kind == UNDO_SET)
            g_free(u->old_data);
    }
    if (x->undo->len > 0)
        x->tree->zxid = x->zxid;
    GArray *triggers = x->triggers;
    txn_end(x);
    return triggers;
}

void sim_zk_txn_abort(SimZkTxn *x) {
    for (guint i = x->undo->len; i > 0; i--) {
        Undo *u = &g_array_index(x->undo, Undo, i - 1);
        switch (u->kind) {
        case UNDO_CREATE:
            g_tree_remove(u->parent->children, u->node->name);
            u->parent->stat = u->parent_stat;
            u->parent->creates = u->parent_creates;
            x->tree->count--;
            node_free(u->node);
            break;
        case UNDO_DELETE:
            u->node->parent = u->parent;
            g_tree_insert(u->parent->children, u->node->name, u->node);
            u->parent->stat = u->parent_stat;
            x->tree->count++;
            break;
        case UNDO_SET:
            g_free(u->node->data);
            u->node->data = u->old_data;
            u->node->len = u->old_len;
            u->node->stat = u->node_stat;
            break;
        }
    }
    sim_zk_triggers_free(x->triggers);
    txn_end(x);
}

void sim_zk_triggers_free(GArray *triggers) {
    if (triggers == NULL)
        return;
    for (guint i = 0; i < triggers->len; i++)
        g_free(g_array_index(triggers, SimZkTrigger, i).path);
    g_array_free(triggers, TRUE);
}
