/* viewer.c - netlab-viewer: a C viewer (tests/support/rtcpeer.c) for the
 * network lab. It opens one session with a robot through porthole-cloud,
 * taking the STUN and TURN servers the cloud hands out in session-created
 * (as the web viewer does; --stun and --turn, when given, win over them),
 * waits for video and says how long each step took, which ICE path
 * carried it and, when there was none, why.
 *
 * Usage: netlab-viewer --cloud URL --robot ID [--stream TYPE] [--address IP]
 *        [--stun URL] [--turn URLS] [--relay-only] [--frames N] [--timeout S]
 *        [--latency MS] [--play S] [--twcc] [--no-decode] [--samples]
 *        [--g2g-after S] [--twcc-interval MS] [--offer [--relay-hold MS]]
 *
 * --offer makes this viewer offer (create-session's offer, docs/PROTOCOL.md
 * "The viewer offers"; rtcpeer's viewer_offers), as the web viewer does
 * with ?offer=1: it then takes the cloud's STUN and TURN servers from
 * available-robots (it gathers before the session exists), request_ms is
 * when it began its offer and offer_ms when the robot's answer arrived.
 * --relay-hold MS (with --offer) holds the robot's relayed candidates MS ms
 * after its first srflx one (rtcpeer's relay_hold_ms: this viewer, then the
 * controlling ICE agent, would otherwise nominate a relayed pair before the
 * direct one is checked, where Chromium moves to the direct one later).
 * --twcc answers with the offer's TWCC header extension, so that this
 * viewer sends transport-wide congestion control feedback as a browser does
 * and the robot adapts its layer to this viewer's link (issue #15).
 * --twcc-interval MS sends that feedback every MS milliseconds, as
 * Chromium does (every 50 ms at the rates of the lab: libwebrtc aims at 5%
 * of the bitrate, within 50 to 250 ms), instead of webrtcbin's default of
 * one feedback per frame (its marker bit: 30 a second and more).
 * --no-decode counts VP8 frames as they leave the depayloader instead of
 * decoding them (twenty viewers on two cores): no size, no glass to glass.
 * --g2g-after S leaves the first S seconds of --play out of g2g_p50/p95/n
 * (a link's first seconds, before the robot has found its layer).
 * --samples prints, during --play, one line a second:
 *   sample=I frames= fps= kbps= width= g2g_p50= g2g_max= layer= estimate_kbps=
 *   encoders= rtx_sent=
 * (frames decoded so far; fps and kbps, RTP bytes received, over that
 * second; glass to glass of the frames decoded in it, -1 without; the
 * robot's last telemetry: this viewer's layer and estimate, its encoders
 * and the retransmissions it sent to this viewer, -1 before any).
 *
 * Prints to stdout, flushed at once:
 *   event=frames t_ms=...      when --frames frames were decoded (before the
 *                              --play window starts)
 * and at the end one line of key=value pairs:
 *   request_ms=   create-session was sent (from the start of the viewer;
 *                 --offer: the offer was begun)
 *   offer_ms=     the robot's offer arrived (--offer: its answer)
 *   connected_ms= webrtcbin reached "connected" (ICE and DTLS done)
 *   first_frame_ms= the first frame was decoded
 *   click_ms=     first_frame_ms - request_ms: what a user clicking Watch waits
 *   frames=       frames decoded when it stopped
 *   path="..."    the ICE pair in use, local -> remote (rtcpeer_ice_path)
 *   ice="..."     the servers used (from the cloud or given) and the local
 *                 candidates gathered, by type
 *   tcp="..."     where this process's open TCP connections other than the
 *                 cloud's lead (IP:PORT,...): the TURN servers it reaches
 *                 over TCP or TLS, which the path cannot tell apart
 *   with --play S, over the S seconds after --frames frames:
 *   play_frames=  frames decoded in the window
 *   g2g_p50= g2g_p95= g2g_n=  glass to glass (ms): the receive wall time
 *                 of each decoded colour frame minus its capture-time marker
 *   ws_closed_ms= the cloud's WebSocket closed (-1: it did not)
 *   frames_after_close= frames decoded after that
 *   last_frame_ms= the last frame was decoded
 *   and when the session failed:
 *   error="..."   the cause: "no path: TURN allocation refused ..." when
 *                 TURN servers were given but none granted a relay, else
 *                 "no path: ICE failed ...", the robot's session-error, or
 *                 a timeout
 * (-1 for a step that did not happen). Exits 0 when --frames frames
 * (default 30) were decoded within --timeout seconds (default 30) and, with
 * --play, frames kept coming until the end of the window; 1 when not, 2 on
 * bad usage. Everything it waits for is bounded. */
#include <arpa/inet.h>
#include <dirent.h>
#include <glib.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliopts.h"
#include "rtcpeer.h"

struct viewer_args {
    const char *cloud, *robot, *stream, *address, *stun, *turn;
    bool relay_only, twcc, no_decode, samples, offer;
    long frames, timeout_s, latency_ms, play_s, g2g_after_s, twcc_interval_ms, relay_hold_ms;
};

#define USAGE                                                                            \
    "netlab-viewer --cloud URL --robot ID [options]\n"                                    \
    "STUN and TURN come from the cloud (session-created; with --offer,\n"                 \
    "available-robots) unless --stun or --turn is given. --offer: this viewer makes\n"    \
    "the offer (the robot answers)."

/* Returns 0, 1 after --help, or -1 with the reason on stderr. */
static int parse_args(int argc, char **argv, struct viewer_args *a)
{
    *a = (struct viewer_args){.stream = "color", .frames = 30, .timeout_s = 30, .latency_ms = 20};
    const struct opt table[] = {
        {.name = "cloud", .type = OPT_STRING, .target = &a->cloud, .metavar = "URL",
         .help = "porthole-cloud's WebSocket URL (required)"},
        {.name = "robot", .type = OPT_STRING, .target = &a->robot, .metavar = "ID",
         .help = "the robot to watch (required)"},
        {.name = "stream", .type = OPT_STRING, .target = &a->stream, .metavar = "TYPE",
         .help = "the stream type to ask for"},
        {.name = "address", .type = OPT_STRING, .target = &a->address, .metavar = "IP",
         .help = "the local address to use (ICE and the cloud)"},
        {.name = "stun", .type = OPT_STRING, .target = &a->stun, .metavar = "URL",
         .help = "stun://HOST:PORT instead of the cloud's"},
        {.name = "turn", .type = OPT_STRING, .target = &a->turn, .metavar = "URLS",
         .help = "TURN servers instead of the cloud's"},
        {.name = "relay-only", .type = OPT_BOOL, .target = &a->relay_only,
         .help = "only relayed candidate pairs"},
        {.name = "frames", .type = OPT_INT, .target = &a->frames, .min = 1, .max = 1000000,
         .metavar = "N", .help = "frames to decode for success"},
        {.name = "timeout", .type = OPT_INT, .target = &a->timeout_s, .min = 1, .max = 3600,
         .metavar = "SECONDS", .help = "for the frames to come"},
        {.name = "latency", .type = OPT_INT, .target = &a->latency_ms, .min = 1, .max = 10000,
         .metavar = "MS", .help = "the jitter buffer's latency"},
        {.name = "play", .type = OPT_INT, .target = &a->play_s, .min = 0, .max = 3600,
         .metavar = "SECONDS", .help = "then keep playing this long; frames must keep coming"},
        {.name = "twcc", .type = OPT_BOOL, .target = &a->twcc,
         .help = "send TWCC feedback, as a browser does"},
        {.name = "no-decode", .type = OPT_BOOL, .target = &a->no_decode,
         .help = "count the frames the depayloader completes instead of decoding"},
        {.name = "samples", .type = OPT_BOOL, .target = &a->samples,
         .help = "print a line of figures every second"},
        {.name = "g2g-after", .type = OPT_INT, .target = &a->g2g_after_s, .min = 0, .max = 3600,
         .metavar = "SECONDS", .help = "leave the first SECONDS of --play out of glass to glass"},
        {.name = "twcc-interval", .type = OPT_INT, .target = &a->twcc_interval_ms, .min = 1,
         .max = 1000, .metavar = "MS",
         .help = "TWCC feedback every MS ms, as Chromium (default: per frame)"},
        {.name = "offer", .type = OPT_BOOL, .target = &a->offer,
         .help = "this viewer makes the offer"},
        {.name = "relay-hold", .type = OPT_INT, .target = &a->relay_hold_ms, .min = 0,
         .max = 5000, .metavar = "MS", .help = "with --offer: hold the robot's relayed candidates"},
    };
    static const char *const required[] = {"cloud", "robot", NULL};
    size_t n = sizeof table / sizeof table[0];
    return cliopts_parse("netlab-viewer", USAGE, table, n, argc, argv, required);
}

static double ms_since(int64_t start_us, int64_t t_us)
{
    return t_us ? (double)(t_us - start_us) / 1000.0 : -1.0;
}

/* What the viewer watches while the main context runs (progress()). */
struct watch {
    struct rtcpeer *p;
    uint64_t frames_wanted;
    int64_t offer_us;
    int64_t ws_closed_us;
    uint64_t frames_at_close;
    uint64_t last_frames;
    int64_t last_frame_us;
    uint64_t last_marked;
    GArray *g2g;            /* double ms, during the play window */
    bool playing;
    int64_t g2g_from_us;    /* --g2g-after: g2g counts from then */
    /* --samples: one line a second during the play window */
    bool samples;
    unsigned sample;
    int64_t sample_us;      /* when the last sample was printed */
    uint64_t sample_frames, sample_bytes;
    GArray *second;         /* double ms: g2g of the frames of this second */
};

static bool session_over(struct rtcpeer *p)
{
    return rtcpeer_count(p, "session-closed") > 0 || rtcpeer_count(p, "session-error") > 0;
}

/* Notes what changed since the last call. */
static void observe(struct watch *w)
{
    int64_t now = g_get_monotonic_time();
    if (!w->offer_us && rtcpeer_has_offer(w->p))
        w->offer_us = now;
    struct rtcpeer_video v;
    rtcpeer_video(w->p, &v);
    if (!w->ws_closed_us && rtcpeer_ws_closed(w->p)) {
        w->ws_closed_us = now;
        w->frames_at_close = v.frames;
    }
    if (v.frames != w->last_frames) {
        w->last_frames = v.frames;
        w->last_frame_us = now;
    }
    if (w->playing && v.marked_frames != w->last_marked && v.marker_ok) {
        double ms = (double)v.latency_ms;
        if (now >= w->g2g_from_us)
            g_array_append_val(w->g2g, ms);
        g_array_append_val(w->second, ms);
    }
    w->last_marked = v.marked_frames;
}

static double percentile(GArray *a, double pct);

/* An integer of the robot's telemetry at path "key" or "key.sub", or -1. */
static double telemetry_number(struct rtcpeer *p, const char *key, const char *sub)
{
    json_t *t = rtcpeer_telemetry(p);
    json_t *v = t ? json_object_get(t, key) : NULL;
    if (v && sub)
        v = json_object_get(v, sub);
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* --samples: once a second of the play window, one line (see the top). */
static void sample(struct watch *w)
{
    int64_t now = g_get_monotonic_time();
    if (!w->samples || now - w->sample_us < 1000000)
        return;
    struct rtcpeer_video v;
    rtcpeer_video(w->p, &v);
    double secs = (double)(now - w->sample_us) / 1e6;
    double max = -1;
    for (guint i = 0; i < w->second->len; i++)
        max = MAX(max, g_array_index(w->second, double, i));
    printf("sample=%u frames=%llu fps=%.1f kbps=%.0f width=%d g2g_p50=%.0f g2g_max=%.0f "
           "layer=%.0f estimate_kbps=%.0f encoders=%.0f rtx_sent=%.0f\n",
           ++w->sample, (unsigned long long)v.frames,
           (double)(v.frames - w->sample_frames) / secs,
           (double)(v.rtp_bytes - w->sample_bytes) * 8 / 1000 / secs, v.width,
           percentile(w->second, 50), max, telemetry_number(w->p, "bandwidth", "layer"),
           telemetry_number(w->p, "bandwidth", "estimateKbps"),
           telemetry_number(w->p, "encoders", NULL),
           telemetry_number(w->p, "bandwidth", "rtxSent"));
    fflush(stdout);
    w->sample_us = now;
    w->sample_frames = v.frames;
    w->sample_bytes = v.rtp_bytes;
    g_array_set_size(w->second, 0);
}

/* Phase one: until the wanted frames, or the session can no longer start. */
static bool until_frames(void *user)
{
    struct watch *w = user;
    observe(w);
    struct rtcpeer_ice ice;
    rtcpeer_ice_info(w->p, &ice);
    return w->last_frames >= w->frames_wanted || ice.failed || session_over(w->p) ||
           (rtcpeer_ws_closed(w->p) && w->last_frames == 0);
}

/* Phase two (--play): only time ends it. */
static bool playing(void *user)
{
    observe(user);
    sample(user);
    return false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(GArray *a, double pct)
{
    if (a->len == 0)
        return -1;
    qsort(a->data, a->len, sizeof(double), cmp_double);
    size_t k = (size_t)(pct / 100.0 * a->len + 0.999999);
    k = k ? k - 1 : 0;
    return g_array_index(a, double, k < a->len ? k : a->len - 1);
}

/* Why no video: the robot's word, ICE's state, and what TURN did. */
static void explain_failure(struct rtcpeer *p, const struct rtcpeer_ice *ice, long timeout_s,
                            char *out, size_t len)
{
    json_t *err = rtcpeer_take(p, "session-error", 0);
    const char *robot = err ? json_string_value(json_object_get(err, "error")) : NULL;
    char said[200] = "";
    if (robot)
        snprintf(said, sizeof said, "; the robot said: %s", robot);
    if (ice->turn > 0 && ice->relay == 0 && (ice->failed || err || ice->gathered))
        snprintf(out, len,
                 "no path: TURN allocation refused or failed at %s (no relay candidate; "
                 "local candidates host %u, srflx %u)%s",
                 ice->turn_server, ice->host, ice->srflx, said);
    else if (ice->failed || err)
        snprintf(out, len, "no path: ICE failed (local candidates host %u, srflx %u, relay %u)%s",
                 ice->host, ice->srflx, ice->relay, said);
    else if (rtcpeer_count(p, "session-closed") > 0)
        snprintf(out, len, "the session was closed before video");
    else if (rtcpeer_ws_closed(p))
        snprintf(out, len, "the cloud closed the WebSocket before video");
    else
        snprintf(out, len, "no video within %ld s", timeout_s);
    json_decref(err);
}

/* The socket inodes of this process's descriptors, from /proc/self/fd. */
static GHashTable *own_sockets(void)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char target[64];
        ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) == 1)
            g_hash_table_add(set, g_strdup_printf("%lu", inode));
    }
    if (d)
        closedir(d);
    return set;
}

/* Lists "IP:PORT" of the remote end of each established TCP connection of
 * this process (/proc/self/net/tcp, matched by inode), except skip's. */
static void tcp_links(const char *skip, char *out, size_t len)
{
    GHashTable *mine = own_sockets();
    FILE *f = fopen("/proc/self/net/tcp", "r");
    char line[512];
    size_t o = 0;
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        unsigned rip, rport, st;
        char inode[32];
        if (sscanf(line, " %*u: %*x:%*x %x:%x %x %*s %*s %*s %*u %*u %31s", &rip, &rport, &st,
                   inode) != 4 ||
            st != 1 /* TCP_ESTABLISHED */ || !g_hash_table_contains(mine, inode))
            continue;
        char ip[INET_ADDRSTRLEN], ep[INET_ADDRSTRLEN + 8];
        struct in_addr a = {.s_addr = rip}; /* the kernel prints it in host order */
        inet_ntop(AF_INET, &a, ip, sizeof ip);
        snprintf(ep, sizeof ep, "%s:%u", ip, rport);
        if (strcmp(ep, skip) != 0 && o + strlen(ep) + 2 < len)
            o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", ep);
    }
    if (f)
        fclose(f);
    g_hash_table_destroy(mine);
}

/* "HOST:PORT" of a ws:// URL, for tcp_links() to leave out. */
static void url_endpoint(const char *url, char *out, size_t len)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?");
    snprintf(out, len, "%.*s", (int)n, h);
}

static void print_ice(const struct rtcpeer_ice *ice, char *out, size_t len)
{
    snprintf(out, len, "%s%s turn=%u%s%s local=host:%u,srflx:%u,prflx:%u,relay:%u",
             ice->from_cloud ? "cloud" : "given", ice->stun ? " stun" : "", ice->turn,
             ice->turn ? " " : "", ice->turn_server, ice->host, ice->srflx, ice->prflx,
             ice->relay);
}

/* --twcc-interval: every rtpsession made in this process (webrtcbin's
 * rtpbin adds them) sends its TWCC feedback on that interval. An emission
 * hook on GstBin::element-added, since rtcpeer does not show its pipeline. */
static gboolean on_element_added(GSignalInvocationHint *hint, guint n, const GValue *params,
                                 gpointer data)
{
    (void)hint;
    GObject *el = n >= 2 ? g_value_get_object(&params[1]) : NULL;
    GstElementFactory *f = el ? gst_element_get_factory(GST_ELEMENT(el)) : NULL;
    if (f && g_strcmp0(GST_OBJECT_NAME(f), "rtpsession") == 0) {
        GObject *session = NULL;
        g_object_get(el, "internal-session", &session, NULL);
        if (session && g_object_class_find_property(G_OBJECT_GET_CLASS(session),
                                                    "twcc-feedback-interval"))
            g_object_set(session, "twcc-feedback-interval",
                         (guint64)*(const long *)data * GST_MSECOND, NULL);
        if (session)
            g_object_unref(session);
    }
    return TRUE; /* stay */
}

int main(int argc, char **argv)
{
    struct viewer_args a;
    int parsed = parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    char *streams = g_strdup_printf("[\"%s\"]", a.stream);
    struct rtcpeer_opts o = {
        .cloud_url = a.cloud,
        .robot_id = a.robot,
        .stream_types_json = streams,
        .ice_address = a.address,
        .stun_server = a.stun,
        .turn_servers = a.turn,
        .relay_only = a.relay_only,
        .cloud_ice = true,
        .latency_ms = (unsigned)a.latency_ms,
        .twcc = a.twcc,
        .viewer_offers = a.offer,
        .relay_hold_ms = (unsigned)a.relay_hold_ms,
        .no_decode = a.no_decode,
    };
    /* webrtcbin makes its DTLS certificate on the first session of a
     * process (up to a second); one dtlsdec made now caches it, as the
     * robot does, so the figures measure the network, not key generation. */
    gst_init(NULL, NULL);
    GstElement *dtls_warmup = gst_element_factory_make("dtlsdec", NULL);
    if (a.twcc_interval_ms > 0)
        g_signal_add_emission_hook(g_signal_lookup("element-added", GST_TYPE_BIN), 0,
                                   on_element_added, &a.twcc_interval_ms, NULL);
    int64_t start = g_get_monotonic_time();
    struct rtcpeer *p = rtcpeer_new_opts(&o);
    struct watch w = {.p = p, .frames_wanted = (uint64_t)a.frames,
                      .g2g = g_array_new(FALSE, FALSE, sizeof(double)),
                      .samples = a.samples,
                      .second = g_array_new(FALSE, FALSE, sizeof(double))};
    rtcpeer_run_until(until_frames, &w, (int)a.timeout_s * 1000);
    bool ok = w.last_frames >= w.frames_wanted;
    uint64_t frames_before_play = w.last_frames;
    if (ok && a.play_s > 0) {
        printf("event=frames t_ms=%.1f\n", ms_since(start, g_get_monotonic_time()));
        fflush(stdout);
        w.playing = true;
        struct rtcpeer_video v0;
        rtcpeer_video(p, &v0);
        w.sample_us = g_get_monotonic_time();
        w.g2g_from_us = w.sample_us + a.g2g_after_s * 1000000;
        w.sample_frames = v0.frames;
        w.sample_bytes = v0.rtp_bytes;
        rtcpeer_run_until(playing, &w, (int)a.play_s * 1000);
        /* Still playing at the end: the last frame is recent. */
        ok = g_get_monotonic_time() - w.last_frame_us < 1000000;
    }
    char path[320] = "", icetext[256], error[400] = "", cloud_ep[128], tcp[256];
    rtcpeer_ice_path(p, path, sizeof path, 2000);
    url_endpoint(a.cloud, cloud_ep, sizeof cloud_ep);
    tcp_links(cloud_ep, tcp, sizeof tcp);
    struct rtcpeer_ice ice;
    rtcpeer_ice_info(p, &ice);
    print_ice(&ice, icetext, sizeof icetext);
    if (w.last_frames < w.frames_wanted)
        explain_failure(p, &ice, a.timeout_s, error, sizeof error);
    else if (!ok)
        snprintf(error, sizeof error, "the video stopped %.1f s before the end of --play",
                 (double)(g_get_monotonic_time() - w.last_frame_us) / 1e6);
    int64_t req = rtcpeer_requested_us(p), first = rtcpeer_first_frame_us(p);
    printf("request_ms=%.1f offer_ms=%.1f connected_ms=%.1f first_frame_ms=%.1f click_ms=%.1f "
           "frames=%llu path=\"%s\" ice=\"%s\" tcp=\"%s\"",
           ms_since(start, req), ms_since(start, w.offer_us),
           ms_since(start, rtcpeer_connected_us(p)), ms_since(start, first),
           req && first ? (double)(first - req) / 1000.0 : -1.0,
           (unsigned long long)w.last_frames, path, icetext, tcp);
    if (a.play_s > 0)
        printf(" play_frames=%llu g2g_n=%u g2g_p50=%.1f g2g_p95=%.1f ws_closed_ms=%.1f "
               "frames_after_close=%llu last_frame_ms=%.1f",
               (unsigned long long)(w.last_frames - frames_before_play), w.g2g->len,
               percentile(w.g2g, 50), percentile(w.g2g, 95), ms_since(start, w.ws_closed_us),
               (unsigned long long)(w.ws_closed_us ? w.last_frames - w.frames_at_close : 0),
               ms_since(start, w.last_frame_us));
    if (*error)
        printf(" error=\"%s\"", error);
    printf("\n");
    fflush(stdout);
    if (*error)
        fprintf(stderr, "netlab-viewer: %s\n", error);
    rtcpeer_free(p);
    if (dtls_warmup)
        gst_object_unref(dtls_warmup);
    g_array_free(w.g2g, TRUE);
    g_array_free(w.second, TRUE);
    g_free(streams);
    return ok ? 0 : 1;
}
