/* worker.c - one cloud-load worker process (worker.h). */
#include "worker.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "scenario.h"

/* The worker's clock tick: phase changes, deadlines, the scenario's tick. */
#define TICK_US 1000
#define PROGRESS_NS 2000000000ll

long worker_share(long total, int procs, int index)
{
    return total / procs + (index < total % procs ? 1 : 0);
}

static void progress(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(struct worker *w, const char *fmt, ...)
{
    if (w->o->quiet)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "cloud-load %s[%d]: %s\n", w->sc->name, w->index, line);
}

static void become_ready(struct worker *w)
{
    if (w->phase >= PH_READY)
        return;
    w->phase = PH_READY;
    atomic_fetch_add(&w->b->clients_registered, (long)w->clients_ok);
    atomic_store(&w->b->wstate[w->index], WSTATE_READY);
    progress(w, "ready: %llu connections set up, %llu failed", (unsigned long long)w->res->registered,
             (unsigned long long)w->res->failed);
}

void worker_prepared(struct worker *w)
{
    become_ready(w);
}

void worker_finished(struct worker *w)
{
    if (w->phase != PH_RUN)
        return;
    w->phase = PH_DONE;
    atomic_store(&w->b->wstate[w->index], WSTATE_DONE);
}

/* Every connection is registered or failed: on to the scenario's setup. */
static void connected_all(struct worker *w)
{
    w->phase = PH_PREPARE;
    if (w->sc->prepare)
        w->sc->prepare(w);
    else
        worker_prepared(w);
}

/* Starts connections while fewer than connect_window are under way. */
static void pump(struct worker *w)
{
    if (w->pumping)
        return; /* re-entered from a connect that failed at once */
    w->pumping = true;
    while (w->phase == PH_CONNECT && w->next < w->nconns &&
           w->pending < (size_t)w->o->connect_window) {
        struct conn *c = &w->conns[w->next++];
        w->pending++;
        c->t_start_ns = load_now_ns();
        int port = c->role == CONN_ROBOT && w->o->robot_port ? w->o->robot_port : w->o->port;
        conn_connect(c, w->ctx, w->o->host, port, w->source);
    }
    w->pumping = false;
    if (w->phase == PH_CONNECT && w->nsettled == w->nconns)
        connected_all(w);
}

/* c's setup is over: registered (ok) or failed. */
static void settle(struct worker *w, struct conn *c, bool ok)
{
    size_t i = (size_t)(c - w->conns);
    if (w->settled[i])
        return;
    w->settled[i] = 1;
    w->pending--;
    w->nsettled++;
    int64_t now = load_now_ns();
    if (ok) {
        w->res->registered++;
        if (c->role == CONN_CLIENT)
            w->clients_ok++;
        hist_add(&w->res->setup, (uint64_t)(now - c->t_start_ns));
    } else {
        w->res->failed++;
    }
    w->res->last_settle_ns = now;
    if (w->nsettled == (w->nconns + 1) / 2)
        w->res->half_settle_ns = now;
    pump(w);
}

/* The first connection shows whether lws bound the source address asked. */
static void check_source(struct worker *w, struct conn *c)
{
    if (!w->source[0] || w->source_checked)
        return;
    w->source_checked = true;
    char local[64];
    size_t n = strlen(w->source);
    if (conn_local_addr(c, local, sizeof(local)) != 0 || strncmp(local, w->source, n) != 0 ||
        local[n] != ':')
        load_set_error(w->res, "source address %s was not applied (local address %s)",
                       w->source, local);
    else
        progress(w, "connecting from %s", local);
}

static bool should_register(struct worker *w, struct conn *c)
{
    return c->role == CONN_CLIENT || w->sc->robots_register;
}

static void on_opened(struct conn *c)
{
    struct worker *w = c->owner;
    w->res->connected++;
    check_source(w, c);
    if (!should_register(w, c)) {
        settle(w, c, true);
        return;
    }
    int rc = c->role == CONN_ROBOT
                 ? conn_sendf(c, "{\"type\":\"robot-register\",\"robotId\":\"%s\",\"deviceInfo\":%s}",
                              c->id, msg_device_info())
                 : conn_sendf(c, "{\"type\":\"client-register\",\"clientId\":\"%s\"}", c->id);
    if (rc != 0)
        settle(w, c, false);
}

static bool is_registration_reply(const struct conn *c, const char *type)
{
    return strcmp(type, c->role == CONN_ROBOT ? "registered" : "available-robots") == 0;
}

static void on_message(struct conn *c, const char *data, size_t len)
{
    struct worker *w = c->owner;
    if (w->phase == PH_EXIT)
        return;
    char type[MSG_NAME_MAX + 1];
    if (!msg_type(data, len, type, sizeof(type))) {
        load_set_error(w->res, "%s: a message without a readable type: %.80s", c->id, data);
        return;
    }
    bool error = strcmp(type, "error") == 0 || strcmp(type, "session-error") == 0;
    if (error) {
        w->res->server_errors++;
        load_set_error(w->res, "%s got %.*s", c->id, (int)(len < 160 ? len : 160), data);
    }
    size_t i = (size_t)(c - w->conns);
    if (c->state == CONN_OPEN && !w->settled[i] && should_register(w, c)) {
        if (is_registration_reply(c, type)) {
            c->state = CONN_REGISTERED;
            settle(w, c, true);
        } else if (error) {
            settle(w, c, false);
        }
        return;
    }
    if (w->sc->message)
        w->sc->message(w, c, type, data, len, load_now_ns());
}

static bool on_writeable(struct conn *c)
{
    struct worker *w = c->owner;
    return w->phase != PH_EXIT && w->sc->writeable ? w->sc->writeable(w, c) : false;
}

static void on_ended(struct conn *c, const char *why)
{
    struct worker *w = c->owner;
    if (w->phase == PH_EXIT)
        return;
    size_t i = (size_t)(c - w->conns);
    if (!w->settled[i]) {
        load_set_error(w->res, "%s: %s", c->id, why);
        settle(w, c, false);
        return;
    }
    w->res->lost++;
    load_set_error(w->res, "%s: connection lost (%s)", c->id, why);
}

static const struct conn_handler handler = {
    .opened = on_opened,
    .message = on_message,
    .writeable = on_writeable,
    .ended = on_ended,
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    struct worker *w = lws_container_of(sul, struct worker, tick);
    int64_t now = load_now_ns();
    if (atomic_load(&w->b->release)) {
        w->quit = true; /* released, or the parent gave up */
        conn_loop_wake(w->loop); /* else it waits for the next event */
        return;
    }
    switch (w->phase) {
    case PH_CONNECT:
    case PH_PREPARE:
        if (now >= w->progress_ns) {
            progress(w, "%zu of %zu connections set up, %llu failed", w->nsettled, w->nconns,
                     (unsigned long long)w->res->failed);
            w->progress_ns = now + PROGRESS_NS;
        }
        if (now >= w->deadline_ns) {
            load_set_error(w->res, "setup timed out after %.0f s: %zu of %zu connections set up%s",
                           w->o->timeout_s, w->nsettled, w->nconns,
                           w->phase == PH_PREPARE ? ", scenario setup unfinished" : "");
            become_ready(w);
        }
        break;
    case PH_READY:
        if (atomic_load(&w->b->go)) {
            w->phase = PH_RUN;
            w->deadline_ns = now + (int64_t)(w->sc->run_limit_s(w->o) * 1e9);
            if (w->sc->start)
                w->sc->start(w);
        }
        break;
    case PH_RUN:
        if (w->sc->tick)
            w->sc->tick(w, now);
        if (w->phase == PH_RUN && now >= w->deadline_ns) {
            load_set_error(w->res, "measured phase cut short after %.0f s",
                           w->sc->run_limit_s(w->o));
            worker_finished(w);
        }
        break;
    case PH_DONE:
    case PH_EXIT:
        break;
    }
    lws_sul_schedule(w->ctx, 0, &w->tick, on_tick, TICK_US);
}

/* Source address of worker index: the first one plus index in the last
 * octet, so that each worker has its own 28,000 ephemeral ports. */
static int worker_source(struct worker *w)
{
    if (!w->o->source || !*w->o->source)
        return 0;
    struct in_addr a;
    if (inet_pton(AF_INET, w->o->source, &a) != 1)
        return -1;
    uint32_t h = ntohl(a.s_addr);
    if ((h & 0xff) + (uint32_t)w->index > 254)
        return -1;
    a.s_addr = htonl(h + (uint32_t)w->index);
    inet_ntop(AF_INET, &a, w->source, sizeof(w->source));
    return 0;
}

/* Allocates the connections: robots first (their registration should
 * precede the clients'), then clients. */
static int worker_alloc(struct worker *w)
{
    w->nrobots = (size_t)(w->sc->robots_for ? w->sc->robots_for(w->o, w->index)
                                            : worker_share(w->o->robots, w->o->procs, w->index));
    w->nclients = (size_t)worker_share(w->o->clients, w->o->procs, w->index);
    w->nconns = w->nrobots + w->nclients;
    w->conns = calloc(w->nconns ? w->nconns : 1, sizeof(*w->conns));
    w->settled = calloc(w->nconns ? w->nconns : 1, 1);
    if (!w->conns || !w->settled)
        return -1;
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        bool robot = i < w->nrobots;
        c->h = &handler;
        c->owner = w;
        c->role = robot ? CONN_ROBOT : CONN_CLIENT;
        c->index = (unsigned)(robot ? i : i - w->nrobots);
        snprintf(c->id, sizeof(c->id), "%s%d-%u.%d", robot ? "lr" : "lc", w->index, c->index,
                 w->b->run_tag);
    }
    return 0;
}

bool worker_uses_libuv(const struct load_opts *o, size_t nconns)
{
    switch (o->loop) {
    case LOOP_POLL:
        return false;
    case LOOP_UV:
        return true;
    default:
        return nconns > LOAD_POLL_MAX_CONNS;
    }
}

static void worker_free(struct worker *w)
{
    conn_loop_destroy(w->loop); /* ends every connection */
    if (w->sc->destroy && w->scen)
        w->sc->destroy(w);
    for (size_t i = 0; w->conns && i < w->nconns; i++)
        conn_release(&w->conns[i]);
    free(w->conns);
    free(w->settled);
}

int worker_main(const struct load_opts *o, struct board *b, int index)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.o = o;
    w.sc = scenario_get(o->scenario);
    w.b = b;
    w.res = &b->results[index];
    w.index = index;
    w.res->first_start_ns = load_now_ns();
    msg_init();

    int rc = 0;
    if (worker_source(&w) != 0) {
        load_set_error(w.res, "bad source address %s for worker %d", o->source, index);
        rc = 1;
    } else if (worker_alloc(&w) != 0 || !(w.loop = conn_loop_create(worker_uses_libuv(o, w.nconns))) ||
               !(w.ctx = conn_loop_context(w.loop)) ||
               (w.sc->create && w.sc->create(&w) != 0)) {
        load_set_error(w.res, "worker %d could not start (out of memory or lws)", index);
        rc = 1;
    }
    if (rc) {
        atomic_store(&b->wstate[index], WSTATE_DONE);
        w.phase = PH_EXIT;
        worker_free(&w);
        return rc;
    }
    w.deadline_ns = load_now_ns() + (int64_t)(o->timeout_s * 1e9);
    w.progress_ns = load_now_ns() + PROGRESS_NS;
    lws_sul_schedule(w.ctx, 0, &w.tick, on_tick, TICK_US);
    pump(&w);
    while (!w.quit)
        if (conn_loop_run_once(w.loop) < 0)
            break;
    w.phase = PH_EXIT;
    worker_free(&w);
    return 0;
}
