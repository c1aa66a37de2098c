/* peer_bwe.c - a peer's bandwidth estimate: its viewer's TWCC feedback in,
 * the layer and the estimate of each of its tracks out (bwe.h, media.h). */
#include "robot/peer_internal.h"

#include <math.h>
#include <string.h>

#include "common/log.h"
#include "robot/bwe.h"

/* The estimate starts at the ceiling (the viewer gets the top layer until
 * its feedback says otherwise) and never goes under this. */
#define PEER_BWE_FLOOR_KBPS 50.0

/* Retransmissions (RTX, asked for by the viewer's NACKs) may take at most
 * this share of the viewer's estimate, with a burst of RTX_BURST_S of it.
 * Without a budget a viewer whose link is overrun NACKs most of what it
 * misses, each retransmission is sent at once, and the link stays overrun
 * by the repairs (measured in the lab behind 600 kbit/s: 1,600
 * retransmissions a second, 94% lost, for as long as it lasted). A request
 * over budget is dropped: the viewer asks again or for a keyframe. */
#define RTX_SHARE 0.25
#define RTX_BURST_S 0.25
#define RTX_PACKET_BITS (1200 * 8)

struct peer_bwe {
    GMutex lock;         /* RTCP thread (reports) vs main thread (stats) */
    struct bwe est;
    double rtx_tokens;   /* bits the retransmissions may still send */
    gint64 rtx_at_us;    /* when the tokens were last refilled */
    unsigned rtx_sent, rtx_dropped;
    GPtrArray *rtx_pads; /* rtprtxsend src pads with our probe (refs) */
    GstElement *session; /* rtpbin's session 0 (bundled), a ref; main thread */
    gulong handler;
    int layer;
};

/* The RTCP thread, once per feedback packet of the viewer. */
static void on_twcc_stats(GObject *session, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    struct peer *p = data;
    struct peer_bwe *b = p->bwe;
    GstStructure *st = NULL;
    g_object_get(session, "twcc-stats", &st, NULL);
    if (!st)
        return;
    guint sent = 0, recv = 0, packets = 0, received = 0;
    gdouble loss = 0;
    gint64 dod = 0;
    gst_structure_get(st, "bitrate-sent", G_TYPE_UINT, &sent, "bitrate-recv", G_TYPE_UINT, &recv,
                      "packets-sent", G_TYPE_UINT, &packets, "packets-recv", G_TYPE_UINT,
                      &received, "packet-loss-pct", G_TYPE_DOUBLE,
                      &loss, "avg-delta-of-delta", G_TYPE_INT64, &dod, NULL);
    gst_structure_free(st);
    struct bwe_report r = {.now_ms = g_get_monotonic_time() / 1000, .sent_kbps = sent / 1000.0,
                           .recv_kbps = recv / 1000.0, .loss_pct = loss,
                           .delay_gradient_us = dod / 1000, .packets_sent = packets,
                           .packets_recv = received};
    size_t n = p->ntracks;
    double rates[BWE_MAX_LAYERS];
    struct media_track *first = g_atomic_pointer_get(&p->tracks[0].track);
    int nrates = first ? media_ladder(p->media, media_track_stream(first), rates,
                                      BWE_MAX_LAYERS) : 1;
    if (!first)
        rates[0] = 0;
    /* Each track takes an equal share: a viewer of two streams has half
     * its link for each. */
    for (int i = 0; i < nrates; i++)
        rates[i] *= (double)n;
    if (g_getenv("PORTHOLE_BWE_TRACE"))
        log_info("bwe-trace %s t=%lld sent=%.0f recv=%.0f loss=%.1f dod=%lld pkts=%u/%u "
                 "rtx=%u dropped=%u", p->session_id, (long long)r.now_ms, r.sent_kbps,
                 r.recv_kbps, r.loss_pct, (long long)r.delay_gradient_us, r.packets_recv,
                 r.packets_sent, b->rtx_sent, b->rtx_dropped);
    g_mutex_lock(&b->lock);
    double est = bwe_update(&b->est, &r);
    int layer = bwe_pick_layer(&b->est, rates, nrates, r.now_ms);
    bool changed = layer != b->layer;
    b->layer = layer;
    g_mutex_unlock(&b->lock);
    for (size_t i = 0; i < n; i++) {
        struct media_track *t = g_atomic_pointer_get(&p->tracks[i].track);
        if (!t)
            continue;
        media_track_set_rung(t, layer);
        media_track_set_estimate(t, est / (double)n);
    }
    if (changed)
        log_debug("peer %s: estimate %.0f kbit/s, layer %d of %d", p->session_id, est, layer,
                  nrates);
}

void peer_bwe_new(struct peer *p, double ceiling_kbps)
{
    struct peer_bwe *b = g_new0(struct peer_bwe, 1);
    g_mutex_init(&b->lock);
    b->rtx_pads = g_ptr_array_new_with_free_func(gst_object_unref);
    bwe_init(&b->est, PEER_BWE_FLOOR_KBPS, ceiling_kbps * (double)(p->ntracks ? p->ntracks : 1),
             ceiling_kbps * (double)(p->ntracks ? p->ntracks : 1));
    b->layer = BWE_MAX_LAYERS - 1;
    p->bwe = b;
}

/* rtpsession's thread: a viewer's NACK on its way to rtprtxsend. */
static GstPadProbeReturn on_rtx_request(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    struct peer_bwe *b = data;
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CUSTOM_UPSTREAM ||
        !gst_event_has_name(ev, "GstRTPRetransmissionRequest"))
        return GST_PAD_PROBE_OK;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&b->lock);
    double kbps = b->est.reports ? bwe_estimate(&b->est) : b->est.ceiling_kbps;
    double rate = RTX_SHARE * kbps * 1000.0; /* bits per second */
    b->rtx_tokens = fmin(b->rtx_tokens + rate * (double)(now - b->rtx_at_us) / 1e6,
                         rate * RTX_BURST_S);
    b->rtx_at_us = now;
    bool allowed = b->rtx_tokens >= RTX_PACKET_BITS;
    if (allowed) {
        b->rtx_tokens -= RTX_PACKET_BITS;
        b->rtx_sent++;
    } else {
        b->rtx_dropped++;
    }
    g_mutex_unlock(&b->lock);
    return allowed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

/* Puts the RTX budget on every rtprtxsend webrtcbin made (one per
 * transceiver that negotiated RTX). */
static void watch_rtx(struct peer *p)
{
    struct peer_bwe *b = p->bwe;
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(p->webrtc));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        GstElement *el = g_value_get_object(&item);
        GstElementFactory *f = gst_element_get_factory(el);
        GstPad *src = f && strcmp(GST_OBJECT_NAME(f), "rtprtxsend") == 0
                          ? gst_element_get_static_pad(el, "src") : NULL;
        if (src) {
            gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_rtx_request, b, NULL);
            g_ptr_array_add(b->rtx_pads, src);
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
}

void peer_bwe_attach(struct peer *p)
{
    struct peer_bwe *b = p->bwe;
    if (!b || b->session || !p->rtpbin)
        return;
    GstElement *session = NULL;
    g_signal_emit_by_name(p->rtpbin, "get-session", 0u, &session);
    if (!session)
        return;
    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(session), "twcc-stats")) {
        gst_object_unref(session);
        return;
    }
    b->session = session;
    b->handler = g_signal_connect(session, "notify::twcc-stats", G_CALLBACK(on_twcc_stats), p);
    b->rtx_at_us = g_get_monotonic_time();
    watch_rtx(p);
}

static void peer_bwe_detach(struct peer *p)
{
    struct peer_bwe *b = p->bwe;
    if (!b || !b->session)
        return;
    g_signal_handler_disconnect(b->session, b->handler);
    gst_object_unref(b->session);
    b->session = NULL;
}

void peer_bwe_free(struct peer *p)
{
    struct peer_bwe *b = p->bwe;
    if (!b)
        return;
    peer_bwe_detach(p);
    g_ptr_array_unref(b->rtx_pads);
    g_mutex_clear(&b->lock);
    g_free(b);
    p->bwe = NULL;
}

void peer_bandwidth(struct peer *p, struct peer_bandwidth *out)
{
    struct peer_bwe *b = p->bwe;
    *out = (struct peer_bandwidth){0};
    if (!b)
        return;
    g_mutex_lock(&b->lock);
    out->reports = b->est.reports;
    out->estimate_kbps = b->est.reports ? bwe_estimate(&b->est) : 0;
    out->layer = b->layer;
    out->overuses = b->est.overuses;
    out->loss_drops = b->est.loss_drops;
    out->ups = b->est.ups;
    out->downs = b->est.downs;
    out->rtx_sent = b->rtx_sent;
    out->rtx_dropped = b->rtx_dropped;
    g_mutex_unlock(&b->lock);
}

uint64_t peer_track_skipped(struct peer *p, size_t i)
{
    return media_track_frames_skipped(p->tracks[i].track);
}

int peer_track_layer(struct peer *p, size_t i)
{
    return media_track_rung(p->tracks[i].track);
}
