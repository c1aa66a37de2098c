/* peer_bwe.c - a peer's bandwidth estimate: its viewer's TWCC feedback in,
 * the layer and the estimate of each of its tracks out (bwe.h, media.h). */
#include "robot/peer_internal.h"

#include "common/log.h"
#include "robot/bwe.h"

/* The estimate starts at the ceiling (the viewer gets the top layer until
 * its feedback says otherwise) and never goes under this. */
#define PEER_BWE_FLOOR_KBPS 50.0

struct peer_bwe {
    GMutex lock;         /* RTCP thread (reports) vs main thread (stats) */
    struct bwe est;
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
    bwe_init(&b->est, PEER_BWE_FLOOR_KBPS, ceiling_kbps * (double)(p->ntracks ? p->ntracks : 1),
             ceiling_kbps * (double)(p->ntracks ? p->ntracks : 1));
    b->layer = BWE_MAX_LAYERS - 1;
    p->bwe = b;
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
