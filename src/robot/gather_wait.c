/* gather_wait.c - a local description that waits for ICE gathering (gather_wait.h). */
#include "robot/gather_wait.h"

static void fire(struct gather_wait *w)
{
    if (w->fired)
        return;
    w->fired = true;
    if (w->timer) {
        g_source_remove(w->timer);
        w->timer = 0;
    }
    w->ready(w->ctx, w->gathered);
}

static gboolean on_deadline(gpointer data)
{
    struct gather_wait *w = data;
    w->timer = 0;
    fire(w);
    return G_SOURCE_REMOVE;
}

void gather_wait_init(struct gather_wait *w, unsigned max_ms, gather_wait_fn ready, void *ctx)
{
    *w = (struct gather_wait){.ready = ready, .ctx = ctx, .max_ms = max_ms};
}

void gather_wait_described(struct gather_wait *w)
{
    if (w->described || w->fired)
        return;
    w->described = true;
    if (w->gathered)
        fire(w);
    else
        w->timer = g_timeout_add(w->max_ms, on_deadline, w);
}

void gather_wait_gathered(struct gather_wait *w)
{
    w->gathered = true;
    if (w->described)
        fire(w);
}

void gather_wait_clear(struct gather_wait *w)
{
    if (w->timer)
        g_source_remove(w->timer);
    w->timer = 0;
    w->fired = true;
}
