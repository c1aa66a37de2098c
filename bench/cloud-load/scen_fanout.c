/* scen_fanout.c - S4, presence fan-out: N clients registered; then, round
 * after round, one more robot registers and the cloud announces it to all
 * of them with robot-available. Figures per round: time from the robot's
 * robot-register write to the last client's receipt; p50 and p99 over all
 * deliveries. The robots live in worker 0; every worker times its own
 * clients against the round's start on the shared board. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "scenario.h"

/* A round that has not reached every client by then is given up. */
#define ROUND_LIMIT_S 60.0
/* Pause between rounds, so that one round's tail does not overlap the next. */
#define ROUND_GAP_NS 100000000ll

struct fanout_state {
    int round;               /* worker 0: the round under way, -1 before */
    bool send_pending;       /* worker 0: its robot-register is not written yet */
    int64_t round_start, next_round_at;
};

static long fanout_robots_for(const struct load_opts *o, int index)
{
    return index == 0 ? o->rounds : 0;
}

static double fanout_run_limit(const struct load_opts *o)
{
    return o->rounds * (ROUND_LIMIT_S + (double)ROUND_GAP_NS / 1e9) + 5;
}

static int fanout_create(struct worker *w)
{
    struct fanout_state *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->round = -1;
    w->scen = f;
    for (size_t i = 0; i < w->nrobots; i++)
        snprintf(worker_robot(w, i)->id, sizeof(worker_robot(w, i)->id), "fan-%zu.%d", i,
                 w->b->run_tag);
    return 0;
}

static void fanout_destroy(struct worker *w)
{
    free(w->scen);
}

static void next_round(struct worker *w, struct fanout_state *f, int64_t now)
{
    f->round++;
    if (f->round >= w->o->rounds || f->round >= (int)w->nrobots) {
        atomic_store(&w->b->rounds_done, 1);
        return;
    }
    struct conn *robot = worker_robot(w, (size_t)f->round);
    if (robot->state != CONN_OPEN) {
        load_set_error(w->res, "round %d: robot %s is not connected", f->round, robot->id);
        atomic_store(&w->b->rounds_done, 1);
        return;
    }
    f->round_start = now;
    f->send_pending = true;
    conn_want_write(robot);
}

static void fanout_start(struct worker *w)
{
    if (w->index == 0)
        next_round(w, w->scen, load_now_ns());
}

/* Worker 0's robot writes its registration itself, so that the round's
 * clock starts at the write, not when the message was queued. */
static bool fanout_writeable(struct worker *w, struct conn *c)
{
    struct fanout_state *f = w->scen;
    if (c->role != CONN_ROBOT || !f->send_pending || (int)c->index != f->round)
        return false;
    unsigned char buf[CONN_PRE + 2048];
    char *p = (char *)buf + CONN_PRE;
    int n = snprintf(p, sizeof(buf) - CONN_PRE,
                     "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":%s}", c->id,
                     msg_device_info());
    f->send_pending = false;
    atomic_store(&w->b->round_t0[f->round], load_now_ns());
    if (n <= 0 || (size_t)n >= sizeof(buf) - CONN_PRE ||
        conn_write(c, (unsigned char *)p, (size_t)n) != 0)
        load_set_error(w->res, "round %d: cannot write robot-register", f->round);
    return false;
}

static void note_last(atomic_llong *last, int64_t t)
{
    long long seen = atomic_load(last);
    while (seen < t && !atomic_compare_exchange_weak(last, &seen, t))
        ;
}

static void fanout_message(struct worker *w, struct conn *c, const char *type, const char *m,
                           size_t len, int64_t now)
{
    if (c->role != CONN_CLIENT || strcmp(type, "robot-available") != 0)
        return;
    char id[MSG_NAME_MAX + 1];
    int r, tag;
    if (msg_str(m, len, "robotId", id, sizeof(id)) && sscanf(id, "fan-%d.%d", &r, &tag) == 2 &&
        tag != w->b->run_tag)
        return; /* a robot of another cloud-load on the same server */
    if (!msg_str(m, len, "robotId", id, sizeof(id)) || sscanf(id, "fan-%d", &r) != 1 || r < 0 ||
        r >= w->o->rounds) {
        load_set_error(w->res, "%s: unexpected robot-available %.100s", c->id, m);
        return;
    }
    int64_t t0 = atomic_load(&w->b->round_t0[r]);
    if (!t0) {
        load_set_error(w->res, "%s: robot-available of round %d before it started", c->id, r);
        return;
    }
    hist_add(&w->res->lat, (uint64_t)(now - t0));
    w->res->count++;
    note_last(&w->b->round_last[r], now);
    atomic_fetch_add(&w->b->round_got[r], 1);
}

static void fanout_tick(struct worker *w, int64_t now)
{
    struct fanout_state *f = w->scen;
    if (atomic_load(&w->b->rounds_done)) {
        worker_finished(w);
        return;
    }
    if (w->index != 0 || f->round < 0)
        return;
    if (f->next_round_at) {
        if (now >= f->next_round_at) {
            f->next_round_at = 0;
            next_round(w, f, now);
        }
        return;
    }
    long want = atomic_load(&w->b->clients_registered);
    long got = atomic_load(&w->b->round_got[f->round]);
    if (got >= want) {
        f->next_round_at = now + ROUND_GAP_NS;
    } else if (now - f->round_start > (int64_t)(ROUND_LIMIT_S * 1e9)) {
        load_set_error(w->res, "round %d: %ld of %ld clients got robot-available in %.0f s",
                       f->round, got, want, ROUND_LIMIT_S);
        atomic_store(&w->b->rounds_done, 1);
    }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fanout_report(const struct report *r, struct jline *j)
{
    const struct board *b = r->b;
    double last[LOAD_ROUNDS_MAX];
    char list[LOAD_ROUNDS_MAX * 16] = "[";
    int n = 0;
    for (int i = 0; i < r->o->rounds; i++) {
        long long t0 = atomic_load(&b->round_t0[i]), t1 = atomic_load(&b->round_last[i]);
        if (!t0 || !t1)
            break;
        last[n] = (double)(t1 - t0) / 1e6;
        size_t at = strlen(list);
        snprintf(list + at, sizeof(list) - at, "%s%.2f", n ? "," : "", last[n]);
        n++;
    }
    strncat(list, "]", sizeof(list) - strlen(list) - 1);
    jl_int(j, "clients", atomic_load(&b->clients_registered));
    report_setup(r, j);
    jl_int(j, "rounds", n);
    jl_raw(j, "last_ms", list);
    qsort(last, (size_t)n, sizeof(last[0]), compare_double);
    jl_num(j, "last_ms_median", n ? last[n / 2] : NAN, 2);
    jl_num(j, "last_ms_max", n ? last[n - 1] : NAN, 2);
    jl_int(j, "deliveries", (long long)r->res->count);
    report_latency(j, "delivery", &r->res->lat);
    /* CPU per round (the gaps between rounds cost next to nothing): on a
     * shared machine the round's wall-clock time also counts the time
     * the server waited for a core; its CPU does not. */
    report_cpu(j, &r->w0, &r->w1, n, "round");
}

const struct scenario scenario_fanout = {
    .name = "fanout",
    .summary = "S4: N clients registered, then robots register one per round; time to the last "
               "client's robot-available",
    .default_clients = 1000,
    .default_robots = 0,
    .robots_register = false,
    .robots_for = fanout_robots_for,
    .run_limit_s = fanout_run_limit,
    .create = fanout_create,
    .start = fanout_start,
    .tick = fanout_tick,
    .message = fanout_message,
    .writeable = fanout_writeable,
    .destroy = fanout_destroy,
    .report = fanout_report,
};
