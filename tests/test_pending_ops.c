/* test_pending_ops.c - runtime/env/rt_pending_ops: registration gives distinct,
 * never-reused tokens; a completion finds its context by token and owns it after take;
 * clearing a set frees every context still registered (once, through its free
 * function) and leaves other sets alone; a token whose context was cleared or taken
 * finds nothing (the late callback after the owner's free); a set is reusable after a
 * clear. Run under ASan/valgrind (CI), a context that is neither taken nor cleared
 * shows up as a leak even though the registry still knows its id. */
#include <check.h>
#include <stdint.h>

#include "runtime/env/rt_pending_ops.h"
#include "tests/support/test_check.h"

typedef struct TestOp {
    RtPendingOp op; /* first */
    int *freed;     /* counts calls of test_op_free */
    char *payload;  /* owned: freed with the op */
} TestOp;

static void test_op_free(RtPendingOp *op) {
    TestOp *t = (TestOp *)op;
    (*t->freed)++;
    g_free(t->payload);
    g_free(t);
}

static TestOp *test_op_new(int *freed) {
    TestOp *t = g_new0(TestOp, 1);
    t->freed = freed;
    t->payload = g_strdup("payload");
    return t;
}

START_TEST(test_register_lookup_take) {
    RtPendingOps set;
    rt_pending_ops_init(&set);
    int freed = 0;
    TestOp *a = test_op_new(&freed), *b = test_op_new(&freed);
    void *ta = rt_pending_op_register(&set, &a->op, test_op_free);
    void *tb = rt_pending_op_register(&set, &b->op, test_op_free);
    ck_assert_ptr_ne(ta, tb);
    ck_assert_ptr_eq(rt_pending_op_token(&a->op), ta);
    ck_assert_uint_eq(rt_pending_ops_count(&set), 2);
    ck_assert_ptr_eq(rt_pending_op_lookup(ta), &a->op);
    ck_assert_ptr_eq(rt_pending_op_lookup(tb), &b->op);
    /* A completion takes its context: it is unregistered and the caller owns it. */
    ck_assert_ptr_eq(rt_pending_op_take(ta), &a->op);
    ck_assert_uint_eq(a->op.id, 0);
    ck_assert_ptr_null(rt_pending_op_lookup(ta));
    ck_assert_ptr_null(rt_pending_op_take(ta));
    ck_assert_uint_eq(rt_pending_ops_count(&set), 1);
    test_op_free(&a->op);
    ck_assert_int_eq(freed, 1);
    /* A re-registered context gets a new token; the old one stays dead. */
    TestOp *c = test_op_new(&freed);
    void *tc = rt_pending_op_register(&set, &c->op, test_op_free);
    ck_assert_ptr_ne(tc, ta);
    ck_assert_ptr_ne(tc, tb);
    ck_assert_ptr_null(rt_pending_op_lookup(ta));
    rt_pending_op_unregister(&b->op);
    test_op_free(&b->op);
    rt_pending_ops_clear(&set);
    ck_assert_int_eq(freed, 3);
}
END_TEST

START_TEST(test_clear_frees_in_flight_only_of_its_set) {
    RtPendingOps crashed, survivor;
    rt_pending_ops_init(&crashed);
    rt_pending_ops_init(&survivor);
    int freed_crashed = 0, freed_survivor = 0;
    void *tokens[5];
    for (int i = 0; i < 5; i++)
        tokens[i] =
            rt_pending_op_register(&crashed, &test_op_new(&freed_crashed)->op, test_op_free);
    TestOp *s = test_op_new(&freed_survivor);
    void *ts = rt_pending_op_register(&survivor, &s->op, test_op_free);
    /* The owner is freed (a crash: no completion will ever come). */
    rt_pending_ops_clear(&crashed);
    ck_assert_int_eq(freed_crashed, 5);
    ck_assert_uint_eq(rt_pending_ops_count(&crashed), 0);
    /* Late completions (an orderly free while the process lives) find nothing. */
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_null(rt_pending_op_take(tokens[i]));
    ck_assert_int_eq(freed_crashed, 5);
    /* The other owner's operation is untouched. */
    ck_assert_ptr_eq(rt_pending_op_lookup(ts), &s->op);
    ck_assert_int_eq(freed_survivor, 0);
    /* A cleared set is reusable. */
    TestOp *again = test_op_new(&freed_crashed);
    void *tg = rt_pending_op_register(&crashed, &again->op, test_op_free);
    ck_assert_ptr_eq(rt_pending_op_lookup(tg), &again->op);
    rt_pending_ops_clear(&crashed);
    rt_pending_ops_clear(&survivor);
    ck_assert_int_eq(freed_crashed, 6);
    ck_assert_int_eq(freed_survivor, 1);
    ck_assert_ptr_null(rt_pending_op_lookup(ts));
}
END_TEST

/* The pattern of a completion that calls out into code that may free the owner: the
 * context stays registered across the call, and a lookup afterwards tells whether the
 * owner (and with it the context) is gone. */
typedef struct Owner {
    RtPendingOps ops;
} Owner;

static void owner_free(Owner *o) {
    rt_pending_ops_clear(&o->ops);
    g_free(o);
}

START_TEST(test_owner_freed_inside_done) {
    int freed = 0;
    for (int frees = 0; frees <= 1; frees++) {
        Owner *o = g_new0(Owner, 1);
        rt_pending_ops_init(&o->ops);
        void *token = rt_pending_op_register(&o->ops, &test_op_new(&freed)->op, test_op_free);
        ck_assert_ptr_nonnull(rt_pending_op_lookup(token));
        if (frees) /* the done callback frees the owner */
            owner_free(o);
        RtPendingOp *op = rt_pending_op_take(token);
        if (frees) {
            ck_assert_ptr_null(op);
        } else {
            ck_assert_ptr_nonnull(op);
            test_op_free(op);
            owner_free(o);
        }
    }
    ck_assert_int_eq(freed, 2);
}
END_TEST

static Suite *pending_ops_suite(void) {
    Suite *s = suite_create("pending_ops");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_register_lookup_take);
    tcase_add_test(tc, test_clear_frees_in_flight_only_of_its_set);
    tcase_add_test(tc, test_owner_freed_inside_done);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(pending_ops_suite());
}
