/* peer_bwe.c - a peer's bandwidth estimate: its viewer's TWCC feedback in,
 * the layer and the estimate of each of its tracks out (bwe.h, media.h). */
#include "robot/peer_internal.h"

#include <math.h>
#include <string.h>

#include <gst/rtp/rtp.h>

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
/* Padding probes (bwe_probe) are retransmissions of what was just sent,
 * asked for by us: the viewer drops them as duplicates, TWCC counts them.
 * They go out every PAD_TICK_MS, from the last PAD_RING packets. */
#define PAD_TICK_MS 20
#define PAD_RING 32
#define PAD_MIN_BYTES 800 /* smaller packets are used only when there is nothing else */
#define RTX_BURST_S 0.25
#define RTX_PACKET_BITS (1200 * 8)

struct peer_bwe {
    GMutex lock;         /* RTCP thread (reports) vs main thread (stats) */
    struct bwe est;
    double rtx_tokens;   /* bits the retransmissions may still send */
    gint64 rtx_at_us;    /* when the tokens were last refilled */
    unsigned rtx_sent, rtx_dropped;
    GPtrArray *rtx_pads; /* rtprtxsend src pads with our probe (refs) */
    /* padding: the last packets one rtprtxsend passed, and the timer */
    guint32 pad_ssrc;
    guint16 pad_seq[PAD_RING];
    guint16 pad_size[PAD_RING]; /* bytes */
    unsigned pad_n, pad_next;
    double pad_kbps, pad_bits; /* asked for, and owed */
    GSource *pad_timer;
    unsigned pad_sent;
    GstElement *session; /* rtpbin's session 0 (bundled), a ref; main thread */
    gulong handler;
    int layer;
};

static void set_padding(struct peer *p, double kbps);

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
    bool costly[BWE_MAX_LAYERS] = {false};
    struct media_track *first = g_atomic_pointer_get(&p->tracks[0].track);
    int nrates = first ? media_ladder(p->media, media_track_stream(first), rates, costly,
                                      BWE_MAX_LAYERS) : 1;
    if (!first)
        rates[0] = 0;
    /* Each track takes an equal share: a viewer of two streams has half
     * its link for each. */
    for (int i = 0; i < nrates; i++)
        rates[i] *= (double)n;
    g_mutex_lock(&b->lock);
    double est = bwe_update(&b->est, &r);
    int layer = bwe_pick_layer(&b->est, rates, costly, nrates, r.now_ms);
    bool was_probing = b->est.probing;
    unsigned successes = b->est.probe_successes;
    set_padding(p, bwe_probe(&b->est, rates, costly, nrates, r.now_ms));
    bool probe_started = !was_probing && b->est.probing, probe_ended = was_probing && !b->est.probing;
    bool probe_worked = b->est.probe_successes != successes;
    double target = b->est.probe_target_kbps, got = b->est.probe_got_kbps;
    bool changed = layer != b->layer;
    b->layer = layer;
    g_mutex_unlock(&b->lock);
    if (probe_started)
        log_debug("peer %s: probing %.0f kbit/s (estimate %.0f)", p->session_id, target, est);
    else if (probe_ended)
        log_debug("peer %s: probe to %.0f kbit/s %s: %.0f arrived", p->session_id, target,
                  probe_worked ? "worked" : "failed", got);
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
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CUSTOM_UPSTREAM)
        return GST_PAD_PROBE_OK;
    /* rtpsession sends every TWCC feedback's packets upstream as an event
     * for a sender-side estimator element; ours reads twcc-stats instead,
     * and nothing upstream (rtpfunnel, the FEC bin, clocksync, our
     * payloader and appsrc) uses it: it ends here instead of crossing a
     * dozen pads per feedback per viewer. */
    if (gst_event_has_name(ev, "RTPTWCCPackets"))
        return GST_PAD_PROBE_DROP;
    if (!gst_event_has_name(ev, "GstRTPRetransmissionRequest") ||
        gst_structure_has_field(gst_event_get_structure(ev), "porthole-padding"))
        return GST_PAD_PROBE_OK; /* padding has its own rate (bwe_probe) */
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

/* A streaming thread: one media packet rtprtxsend keeps for repair. */
static gboolean note_media_packet(GstBuffer **buf, guint idx, gpointer data)
{
    (void)idx;
    struct peer_bwe *b = data;
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!*buf || !gst_rtp_buffer_map(*buf, GST_MAP_READ, &rtp))
        return TRUE;
    guint32 ssrc = gst_rtp_buffer_get_ssrc(&rtp);
    guint16 seq = gst_rtp_buffer_get_seq(&rtp);
    gst_rtp_buffer_unmap(&rtp);
    gsize size = gst_buffer_get_size(*buf);
    g_mutex_lock(&b->lock);
    if (ssrc != b->pad_ssrc)
        b->pad_n = 0;
    b->pad_ssrc = ssrc;
    b->pad_size[b->pad_n % PAD_RING] = (guint16)MIN(size, G_MAXUINT16);
    b->pad_seq[b->pad_n++ % PAD_RING] = seq;
    g_mutex_unlock(&b->lock);
    return TRUE;
}

/* A streaming thread: the packets going into rtprtxsend, one by one or a
 * frame's list at once (fecskip.h). */
static GstPadProbeReturn on_media_packet(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        if (list)
            gst_buffer_list_foreach(list, note_media_packet, data);
    } else {
        GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
        note_media_packet(&buf, 0, data);
    }
    return GST_PAD_PROBE_OK;
}

/* The main context, every PAD_TICK_MS while a probe runs: asks rtprtxsend
 * to send again as many recent packets as the probe's rate owes. */
static gboolean on_pad_tick(gpointer data)
{
    struct peer *p = data;
    struct peer_bwe *b = p->bwe;
    if (p->closed || !b)
        return G_SOURCE_REMOVE;
    g_mutex_lock(&b->lock);
    bool go = b->pad_kbps > 0 && b->pad_n > 0 && b->rtx_pads->len > 0;
    unsigned count = 0;
    guint32 ssrc = b->pad_ssrc;
    guint16 seqs[16];
    if (go) {
        b->pad_bits += b->pad_kbps * PAD_TICK_MS; /* kbit/s * ms = bits */
        unsigned have = b->pad_n < PAD_RING ? b->pad_n : PAD_RING;
        /* The largest recent packets first: fewer packets for the rate. */
        for (unsigned tries = 0; b->pad_bits > 0 && count < G_N_ELEMENTS(seqs) &&
                                 tries < 2 * PAD_RING; tries++) {
            unsigned i = (b->pad_n - 1 - b->pad_next++ % have) % PAD_RING;
            if (b->pad_size[i] < PAD_MIN_BYTES && tries < PAD_RING)
                continue;
            seqs[count++] = b->pad_seq[i];
            b->pad_bits -= 8.0 * b->pad_size[i];
        }
    } else {
        b->pad_bits = 0;
        g_source_unref(b->pad_timer);
        b->pad_timer = NULL;
    }
    GstPad *pad = go ? gst_object_ref(g_ptr_array_index(b->rtx_pads, 0)) : NULL;
    b->pad_sent += count;
    g_mutex_unlock(&b->lock);
    for (unsigned i = 0; i < count; i++)
        gst_pad_send_event(pad, gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM,
            gst_structure_new("GstRTPRetransmissionRequest", "seqnum", G_TYPE_UINT,
                              (guint)seqs[i], "ssrc", G_TYPE_UINT, ssrc, "porthole-padding",
                              G_TYPE_BOOLEAN, TRUE, NULL)));
    if (pad)
        gst_object_unref(pad);
    return go ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Under b->lock, any thread: the padding rate a probe asks for (0 ends it). */
static void set_padding(struct peer *p, double kbps)
{
    struct peer_bwe *b = p->bwe;
    b->pad_kbps = kbps;
    if (kbps <= 0 || b->pad_timer)
        return;
    b->pad_timer = g_timeout_source_new(PAD_TICK_MS);
    g_source_set_callback(b->pad_timer, on_pad_tick, peer__ref(p), peer__unref);
    g_source_attach(b->pad_timer, p->ctx);
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
            if (b->rtx_pads->len == 0) { /* padding repeats the first track's packets */
                GstPad *sink = gst_element_get_static_pad(el, "sink");
                if (sink) {
                    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                      on_media_packet, b, NULL);
                    gst_object_unref(sink);
                }
            }
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
    /* rtpsession keeps a copy of every feedback packet it receives for
     * 2 s (rtcp-feedback-retention-window), in a queue sorted by walking
     * it from the head, only to hold back a PLI of its own while the peer's
     * is retained. The robot never asks a viewer for a keyframe, and with
     * TWCC feedback on every frame (30 a second per viewer) the walk was
     * the hottest spot of the viewers' receive threads: keep none. */
    GObject *internal = NULL;
    g_object_get(session, "internal-session", &internal, NULL);
    if (internal) {
        g_object_set(internal, "rtcp-feedback-retention-window", GST_CLOCK_TIME_NONE, NULL);
        g_object_unref(internal);
    }
    b->session = session;
    b->handler = g_signal_connect(session, "notify::twcc-stats", G_CALLBACK(on_twcc_stats), p);
    b->rtx_at_us = g_get_monotonic_time();
    watch_rtx(p);
    g_mutex_lock(&b->lock);
    b->est.no_padding = b->rtx_pads->len == 0; /* no RTX negotiated: padding cannot go out */
    g_mutex_unlock(&b->lock);
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
    if (b->pad_timer) {
        g_source_destroy(b->pad_timer);
        g_source_unref(b->pad_timer);
    }
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
    out->probes = b->est.probes;
    out->probe_successes = b->est.probe_successes;
    out->padding_packets = b->pad_sent;
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
