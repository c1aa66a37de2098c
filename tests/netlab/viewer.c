/* viewer.c - netlab-viewer: a C viewer (tests/support/rtcpeer.c) for the
 * network lab. It opens one session with a robot through porthole-cloud,
 * with the STUN and TURN servers given by hand, waits for video and says
 * how long each step took and which ICE path carried it.
 *
 * Usage: netlab-viewer --cloud URL --robot ID [--stream TYPE] [--address IP]
 *        [--stun URL] [--turn URLS] [--relay-only] [--frames N] [--timeout S]
 *        [--latency MS]
 *
 * Prints one line of key=value pairs to stdout:
 *   offer_ms=    the robot's offer arrived (from the start of the viewer)
 *   connected_ms= webrtcbin reached "connected" (ICE and DTLS done)
 *   first_frame_ms= the first frame was decoded
 *   frames=      frames decoded when it stopped
 *   path="..."   the ICE pair in use, local -> remote (rtcpeer_ice_path)
 * (-1 for a step that did not happen). Exits 0 when --frames frames (default
 * 30) were decoded within --timeout seconds (default 30), 1 when not, 2 on
 * bad usage. Everything it waits for is bounded by --timeout. */
#include <getopt.h>
#include <glib.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtcpeer.h"

struct viewer_args {
    const char *cloud, *robot, *stream, *address, *stun, *turn;
    bool relay_only;
    long frames, timeout_s, latency_ms;
};

static void usage(FILE *f)
{
    fputs("usage: netlab-viewer --cloud URL --robot ID [--stream TYPE] [--address IP]\n"
          "       [--stun stun://HOST:PORT] [--turn URLS] [--relay-only] [--frames N]\n"
          "       [--timeout SECONDS] [--latency MS]\n",
          f);
}

/* Parses a whole decimal number in [min, max]; returns false otherwise. */
static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, struct viewer_args *a)
{
    static const struct option longopts[] = {
        {.name = "cloud", .has_arg = required_argument, .val = 'c'},
        {.name = "robot", .has_arg = required_argument, .val = 'r'},
        {.name = "stream", .has_arg = required_argument, .val = 's'},
        {.name = "address", .has_arg = required_argument, .val = 'a'},
        {.name = "stun", .has_arg = required_argument, .val = 'S'},
        {.name = "turn", .has_arg = required_argument, .val = 'T'},
        {.name = "relay-only", .has_arg = no_argument, .val = 'R'},
        {.name = "frames", .has_arg = required_argument, .val = 'n'},
        {.name = "timeout", .has_arg = required_argument, .val = 't'},
        {.name = "latency", .has_arg = required_argument, .val = 'l'},
        {.name = "help", .has_arg = no_argument, .val = 'h'},
        {0},
    };
    *a = (struct viewer_args){.stream = "color", .frames = 30, .timeout_s = 30, .latency_ms = 20};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->cloud = optarg; break;
        case 'r': a->robot = optarg; break;
        case 's': a->stream = optarg; break;
        case 'a': a->address = optarg; break;
        case 'S': a->stun = optarg; break;
        case 'T': a->turn = optarg; break;
        case 'R': a->relay_only = true; break;
        case 'n':
            if (!parse_long(optarg, 1, 1000000, &a->frames)) {
                fprintf(stderr, "netlab-viewer: --frames takes 1..1000000\n");
                return -1;
            }
            break;
        case 't':
            if (!parse_long(optarg, 1, 3600, &a->timeout_s)) {
                fprintf(stderr, "netlab-viewer: --timeout takes 1..3600 seconds\n");
                return -1;
            }
            break;
        case 'l':
            if (!parse_long(optarg, 1, 10000, &a->latency_ms)) {
                fprintf(stderr, "netlab-viewer: --latency takes 1..10000 ms\n");
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc || !a->cloud || !a->robot) {
        fprintf(stderr, "netlab-viewer: --cloud and --robot are required\n");
        return -1;
    }
    return 0;
}

static double ms_since(int64_t start_us, int64_t t_us)
{
    return t_us ? (double)(t_us - start_us) / 1000.0 : -1.0;
}

struct offer_wait {
    struct rtcpeer *p;
    int64_t offer_us;
    uint64_t frames;
};

/* Notes when the offer arrives and stops at the wanted frame count. */
static bool progress(void *user)
{
    struct offer_wait *w = user;
    if (!w->offer_us && rtcpeer_has_offer(w->p))
        w->offer_us = g_get_monotonic_time();
    return rtcpeer_frames(w->p) >= w->frames || rtcpeer_ws_closed(w->p);
}

int main(int argc, char **argv)
{
    struct viewer_args a;
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr);
        return 2;
    }
    char *streams = g_strdup_printf("[\"%s\"]", a.stream);
    struct rtcpeer_opts o = {
        .cloud_url = a.cloud,
        .robot_id = a.robot,
        .stream_types_json = streams,
        .ice_address = a.address,
        .stun_server = a.stun,
        .turn_servers = a.turn,
        .relay_only = a.relay_only,
        .latency_ms = (unsigned)a.latency_ms,
    };
    /* webrtcbin makes its DTLS certificate on the first session of a
     * process (up to a second); one dtlsdec made now caches it, as the
     * robot does, so the figures measure the network, not key generation. */
    gst_init(NULL, NULL);
    GstElement *dtls_warmup = gst_element_factory_make("dtlsdec", NULL);
    int64_t start = g_get_monotonic_time();
    struct rtcpeer *p = rtcpeer_new_opts(&o);
    struct offer_wait w = {.p = p, .frames = (uint64_t)a.frames};
    bool ok = rtcpeer_run_until(progress, &w, (int)a.timeout_s * 1000) &&
              rtcpeer_frames(p) >= w.frames;
    char path[256] = "";
    rtcpeer_ice_path(p, path, sizeof path, 2000);
    printf("offer_ms=%.1f connected_ms=%.1f first_frame_ms=%.1f frames=%llu path=\"%s\"\n",
           ms_since(start, w.offer_us), ms_since(start, rtcpeer_connected_us(p)),
           ms_since(start, rtcpeer_first_frame_us(p)), (unsigned long long)rtcpeer_frames(p),
           path);
    fflush(stdout);
    if (!ok)
        fprintf(stderr, "netlab-viewer: %llu of %ld frames in %ld s%s\n",
                (unsigned long long)rtcpeer_frames(p), a.frames, a.timeout_s,
                rtcpeer_ws_closed(p) ? " (the cloud closed the WebSocket)" : "");
    rtcpeer_free(p);
    if (dtls_warmup)
        gst_object_unref(dtls_warmup);
    g_free(streams);
    return ok ? 0 : 1;
}
