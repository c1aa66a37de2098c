/* teardown.c - a WebRTC pipeline's last reference, dropped on the system clock's thread. */
#include "robot/teardown.h"

#include <stdbool.h>

struct clock_unref {
    GstElement *pipeline;
    GMutex lock;
    GCond cond;
    bool done;
};

/* On the system clock's async thread, in turn with the DTLS timers. */
static gboolean unref_on_clock(GstClock *clock, GstClockTime t, GstClockID id, gpointer data)
{
    (void)clock;
    (void)t;
    (void)id;
    struct clock_unref *u = data;
    gst_object_unref(u->pipeline);
    g_mutex_lock(&u->lock);
    u->done = true;
    g_cond_signal(&u->cond);
    g_mutex_unlock(&u->lock);
    return TRUE;
}

void teardown_unref_pipeline(GstElement *pipeline)
{
    if (!pipeline)
        return;
    GstClock *clock = gst_system_clock_obtain();
    /* Due now: it runs as soon as the timers already due have run. */
    GstClockID id = gst_clock_new_single_shot_id(clock, gst_clock_get_time(clock));
    struct clock_unref u = {.pipeline = pipeline};
    g_mutex_init(&u.lock);
    g_cond_init(&u.cond);
    if (gst_clock_id_wait_async(id, unref_on_clock, &u, NULL) == GST_CLOCK_OK) {
        g_mutex_lock(&u.lock);
        while (!u.done)
            g_cond_wait(&u.cond, &u.lock);
        g_mutex_unlock(&u.lock);
    } else {
        gst_object_unref(pipeline); /* no async clock thread, so no timer to race */
    }
    gst_clock_id_unref(id);
    gst_object_unref(clock);
    g_cond_clear(&u.cond);
    g_mutex_clear(&u.lock);
}
