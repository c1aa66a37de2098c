/* restart_viewer.c - netlab-restart-viewer: a C viewer (tests/support/rtcpeer.c)
 * for restart.sh. It opens one session with a robot through porthole-cloud
 * and, once video flows, says so and waits for SIGUSR1: the lab has just
 * changed the viewer's network. From then on it measures how long the video
 * stood still, asks for an ICE restart when no frame arrived for
 * --restart-after ms (default 500, as the web SDK), and stops --window
 * seconds later.
 *
 * Usage: netlab-restart-viewer --cloud URL --robot ID [--address IP]
 *        [--stun URL] [--turn URLS] [--restart-after MS] [--window S]
 *        [--timeout S]
 *
 * Prints "streaming session=ID" once 30 frames are decoded, then, at the
 * end, one line of key=value pairs:
 *   session=      the session id (unchanged: there is only one)
 *   max_gap_ms=   the longest time between two decoded frames from 0.5 s
 *                 before the signal to the end (-1: no signal came)
 *   frames_after= frames decoded after the signal
 *   offers=       webrtc-offer messages received (more than 1: ICE restarts)
 *   reanswers=    new offers answered
 *   requests=     ice-restart-request messages sent
 *   closed=       1 when the session was closed
 *   path="..."    the ICE pair in use at the end (rtcpeer_ice_path)
 * Exits 0 when 30 frames were decoded after the signal and the session was
 * not closed, 1 when not, 2 on bad usage. Every wait is bounded: --timeout
 * (default 30 s) for video to start and for the signal, --window (default
 * 8 s) after it. */
#include <glib-unix.h>
#include <glib.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliopts.h"
#include "rtcpeer.h"

struct args {
    const char *cloud, *robot, *address, *stun, *turn;
    long restart_after_ms, window_s, timeout_s;
};

#define USAGE "netlab-restart-viewer --cloud URL --robot ID [options]"

/* Returns 0, 1 after --help, or -1 with the reason on stderr. */
static int parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){.restart_after_ms = 500, .window_s = 8, .timeout_s = 30};
    const struct opt table[] = {
        {.name = "cloud", .type = OPT_STRING, .target = &a->cloud, .metavar = "URL",
         .help = "porthole-cloud's WebSocket URL (required)"},
        {.name = "robot", .type = OPT_STRING, .target = &a->robot, .metavar = "ID",
         .help = "the robot to watch (required)"},
        {.name = "address", .type = OPT_STRING, .target = &a->address, .metavar = "IP",
         .help = "the local address to use (ICE and the cloud)"},
        {.name = "stun", .type = OPT_STRING, .target = &a->stun, .metavar = "URL",
         .help = "stun://HOST:PORT instead of the cloud's"},
        {.name = "turn", .type = OPT_STRING, .target = &a->turn, .metavar = "URLS",
         .help = "TURN servers instead of the cloud's"},
        {.name = "restart-after", .type = OPT_INT, .target = &a->restart_after_ms, .min = 0,
         .max = 60000, .metavar = "MS",
         .help = "ask for an ICE restart after this long without a frame"},
        {.name = "window", .type = OPT_INT, .target = &a->window_s, .min = 1, .max = 600,
         .metavar = "S", .help = "how long to watch after the signal"},
        {.name = "timeout", .type = OPT_INT, .target = &a->timeout_s, .min = 1, .max = 3600,
         .metavar = "S", .help = "for video to start, and for the signal"},
    };
    static const char *const required[] = {"cloud", "robot", NULL};
    size_t n = sizeof table / sizeof table[0];
    return cliopts_parse("netlab-restart-viewer", USAGE, table, n, argc, argv, required);
}

struct watch {
    struct rtcpeer *p;
    gint64 signal_us;   /* when SIGUSR1 came, or 0 */
    uint64_t frames_at_signal;
    uint64_t last_frames;
    gint64 last_change_us; /* when the frame count last grew */
    gint64 max_gap_us;
};

static gboolean on_usr1(gpointer data)
{
    struct watch *w = data;
    if (!w->signal_us) {
        w->signal_us = g_get_monotonic_time();
        w->frames_at_signal = rtcpeer_frames(w->p);
    }
    return G_SOURCE_CONTINUE;
}

/* Every 5 ms: the time between frame-count changes, from 0.5 s before the
 * signal on (the last frame before a cut counts as the start of the gap). */
static gboolean on_tick(gpointer data)
{
    struct watch *w = data;
    gint64 now = g_get_monotonic_time();
    uint64_t n = rtcpeer_frames(w->p);
    if (n != w->last_frames) {
        gint64 gap = now - w->last_change_us;
        if (w->signal_us && gap > 300000) /* for the log: where the time went */
            fprintf(stderr, "netlab-restart-viewer: %lld ms without a frame, until %lld ms "
                    "after the signal (offers %u)\n", (long long)gap / 1000,
                    (long long)(now - w->signal_us) / 1000, rtcpeer_count(w->p, "webrtc-offer"));
        if (w->signal_us && w->last_change_us >= w->signal_us - 500000 && gap > w->max_gap_us)
            w->max_gap_us = gap;
        w->last_frames = n;
        w->last_change_us = now;
    } else if (w->signal_us && now - w->last_change_us > w->max_gap_us) {
        w->max_gap_us = now - w->last_change_us; /* still frozen */
    }
    return G_SOURCE_CONTINUE;
}

static bool got_signal(void *user)
{
    struct watch *w = user;
    return w->signal_us != 0 || rtcpeer_count(w->p, "session-closed") > 0;
}

static bool never(void *user)
{
    return rtcpeer_count(((struct watch *)user)->p, "session-closed") > 0;
}

int main(int argc, char **argv)
{
    struct args a;
    int parsed = parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    gst_init(NULL, NULL);
    GstElement *dtls_warmup = gst_element_factory_make("dtlsdec", NULL);
    struct rtcpeer_opts o = {
        .cloud_url = a.cloud,
        .robot_id = a.robot,
        .stream_types_json = "[\"color\"]",
        .ice_address = a.address,
        .stun_server = a.stun,
        .turn_servers = a.turn,
        .restart_after_ms = (unsigned)a.restart_after_ms,
        /* A browser's low-latency jitter buffer, not webrtcbin's 200 ms. */
        .latency_ms = 20,
    };
    struct rtcpeer *p = rtcpeer_new_opts(&o);
    struct watch w = {.p = p, .last_change_us = g_get_monotonic_time()};
    guint sig = g_unix_signal_add(SIGUSR1, on_usr1, &w);
    bool ok = rtcpeer_wait_frames(p, 30, (int)a.timeout_s * 1000);
    if (ok) {
        printf("streaming session=%s\n", rtcpeer_session_id(p));
        fflush(stdout);
        guint tick = g_timeout_add(5, on_tick, &w);
        ok = rtcpeer_run_until(got_signal, &w, (int)a.timeout_s * 1000) && w.signal_us;
        if (ok)
            rtcpeer_run_until(never, &w, (int)a.window_s * 1000);
        g_source_remove(tick);
    }
    uint64_t after = w.signal_us ? rtcpeer_frames(p) - w.frames_at_signal : 0;
    bool closed = rtcpeer_count(p, "session-closed") > 0;
    char path[256] = "";
    rtcpeer_ice_path(p, path, sizeof path, 2000);
    printf("session=%s max_gap_ms=%.0f frames_after=%llu offers=%u reanswers=%u requests=%u "
           "closed=%d path=\"%s\"\n",
           rtcpeer_session_id(p) ? rtcpeer_session_id(p) : "", w.signal_us ? w.max_gap_us / 1000.0 : -1.0,
           (unsigned long long)after, rtcpeer_count(p, "webrtc-offer"), rtcpeer_reanswers(p),
           rtcpeer_restart_requests(p), closed, path);
    fflush(stdout);
    ok = ok && after >= 30 && !closed;
    g_source_remove(sig);
    rtcpeer_free(p);
    if (dtls_warmup)
        gst_object_unref(dtls_warmup);
    return ok ? 0 : 1;
}
