/* event_loop.c - lws's poll() loop, or a libuv (epoll) loop this module
 * owns, for the server's lws context (event_loop.h). */
#include "cloud/event_loop.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/log.h"

/* How long the shutdown may run the loop for lws to close its handles. */
#define CLOSE_HANDLES_MS 2000
/* The longest a bounded run waits (the shutdown's drain checks between). */
#define BOUNDED_WAIT_MS 50

struct event_loop {
    bool uv;
    uv_loop_t loop;      /* with uv: lws's foreign loop */
    uv_timer_t bound;    /* with uv: ends a bounded wait, or the close run */
    uv_prepare_t end;    /* with uv: runs end_fn before each wait for events */
    void (*end_fn)(void *arg);
    void *end_arg;
    void *foreign[1];    /* info->foreign_loops: read by lws_create_context */
};

struct event_loop *event_loop_new(const char *name)
{
    struct event_loop *l = calloc(1, sizeof(*l));
    if (!l) {
        log_error("out of memory");
        return NULL;
    }
    l->uv = strcmp(name, "epoll") == 0;
    if (!l->uv)
        return l;
    int rc = uv_loop_init(&l->loop);
    if (rc == 0 && ((rc = uv_timer_init(&l->loop, &l->bound)) != 0 ||
                    (rc = uv_prepare_init(&l->loop, &l->end)) != 0))
        uv_loop_close(&l->loop);
    if (rc != 0) {
        log_error("--event-loop epoll: libuv: %s", uv_strerror(rc));
        free(l);
        return NULL;
    }
    /* The timer never keeps the loop alive: the close run ends when lws's
     * own handles are closed, not when the timer fires. */
    uv_unref((uv_handle_t *)&l->bound);
    uv_unref((uv_handle_t *)&l->end);
    l->end.data = l;
    return l;
}

static void on_iteration_end(uv_prepare_t *h)
{
    struct event_loop *l = h->data;
    l->end_fn(l->end_arg);
}

bool event_loop_on_iteration_end(struct event_loop *l, void (*fn)(void *arg), void *arg)
{
    if (!l->uv)
        return false;
    l->end_fn = fn;
    l->end_arg = arg;
    uv_prepare_start(&l->end, on_iteration_end);
    return true;
}

void event_loop_prepare(struct event_loop *l, struct lws_context_creation_info *info)
{
    if (!l->uv)
        return;
    info->options |= LWS_SERVER_OPTION_LIBUV;
    l->foreign[0] = &l->loop;
    info->foreign_loops = l->foreign;
}

static void on_bound(uv_timer_t *t)
{
    (void)t; /* waking the loop was the point */
}

int event_loop_run_once(struct event_loop *l, struct lws_context *ctx, bool bounded)
{
    if (!l->uv)
        return lws_service(ctx, bounded ? BOUNDED_WAIT_MS : 0) < 0 ? -1 : 0;
    if (bounded)
        uv_timer_start(&l->bound, on_bound, BOUNDED_WAIT_MS, 0);
    uv_run(&l->loop, UV_RUN_ONCE);
    if (bounded)
        uv_timer_stop(&l->bound);
    return 0;
}

static void on_close_deadline(uv_timer_t *t)
{
    log_warn("lws did not close its libuv handles within %d ms", CLOSE_HANDLES_MS);
    uv_stop(t->loop);
}

void event_loop_destroy_context(struct event_loop *l, struct lws_context *ctx)
{
    if (l->uv)
        uv_prepare_stop(&l->end); /* the server's connections are going */
    lws_context_destroy(ctx); /* with uv: starts closing lws's handles */
    if (!l->uv)
        return;
    uv_timer_start(&l->bound, on_close_deadline, CLOSE_HANDLES_MS, 0);
    uv_run(&l->loop, UV_RUN_DEFAULT); /* until lws's handles are closed */
    uv_timer_stop(&l->bound);
    lws_context_destroy(ctx); /* the second call frees the context */
}

void event_loop_free(struct event_loop *l)
{
    if (!l)
        return;
    if (l->uv) {
        uv_close((uv_handle_t *)&l->bound, NULL);
        uv_close((uv_handle_t *)&l->end, NULL);
        uv_run(&l->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&l->loop) != 0)
            log_warn("libuv loop closed with handles still open");
    }
    free(l);
}
