/* rt_standalone_counter.c - Flink's StandaloneCheckpointIDCounter (an AtomicLong
 * starting at 1, in the job manager's memory) behind the RtCkptIdCounter ops; see
 * rt_standalone_counter.h. */
#include "runtime/checkpoint/rt_standalone_counter.h"

#include <assert.h>

typedef struct StandaloneCounter {
    RtCkptIdCounter base; /* first */
    uint64_t next;        /* the next id to hand out, >= 1 */
    RtTimerId timer;      /* the completion in flight, 0 when none */
    RtCkptIdCounterStartFunc start_done;
    RtCkptIdFunc id_done;
    void *user_data;
    uint64_t id;          /* the id handed out by the call in flight */
} StandaloneCounter;

static void fire(void *ud) {
    StandaloneCounter *c = ud;
    c->timer = 0;
    if (c->start_done != NULL) {
        RtCkptIdCounterStartFunc done = c->start_done;
        c->start_done = NULL;
        done(c->user_data, NULL);
    } else {
        RtCkptIdFunc done = c->id_done;
        c->id_done = NULL;
        done(c->user_data, c->id, NULL);
    }
}

static bool counter_start(RtCkptIdCounter *self, RtCkptIdCounterStartFunc done,
                          void *user_data, GError **error) {
    (void)error;
    StandaloneCounter *c = (StandaloneCounter *)self;
    assert(c->timer == 0);
    c->start_done = done;
    c->user_data = user_data;
    c->timer = rt_env_timer_start(self->env, 0, fire, c);
    return true;
}

static bool counter_get_and_increment(RtCkptIdCounter *self, RtCkptIdFunc done,
                                      void *user_data, GError **error) {
    (void)error;
    StandaloneCounter *c = (StandaloneCounter *)self;
    assert(c->timer == 0);
    c->id = MAX(c->next, self->floor);
    assert(c->id >= 1 && c->id < G_MAXUINT64);
    c->next = c->id + 1;
    c->id_done = done;
    c->user_data = user_data;
    c->timer = rt_env_timer_start(self->env, 0, fire, c);
    return true;
}

static void counter_free(RtCkptIdCounter *self) {
    StandaloneCounter *c = (StandaloneCounter *)self;
    rt_env_timer_cancel(self->env, c->timer);
    g_free(c);
}

static const RtCkptIdCounterOps standalone_ops = {
    .name = "standalone",
    .start = counter_start,
    .get_and_increment = counter_get_and_increment,
    .free = counter_free,
};

RtCkptIdCounter *rt_standalone_counter_new(RtEnv *env) {
    assert(env != NULL);
    StandaloneCounter *c = g_new0(StandaloneCounter, 1);
    c->base.ops = &standalone_ops;
    c->base.env = env;
    c->next = 1;
    return &c->base;
}
