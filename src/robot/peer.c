/* peer.c - one viewer's webrtcbin, its tracks and its telemetry channel. */
#include "robot/peer.h"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/fecskip.h"
#include "robot/icegate.h"
#include "robot/peer_ice.h"
#include "robot/peer_internal.h"
#include "robot/sdp_answer.h"
#include "robot/sdp_offer.h"
#include "robot/teardown.h"

const char *peer_state_name(enum peer_state st)
{
    static const char *const names[] = {"new", "connecting", "connected",
                                        "disconnected", "failed", "closed"};
    return st <= PEER_CLOSED ? names[st] : "?";
}

struct peer *peer__ref(struct peer *p)
{
    g_atomic_int_inc(&p->refs);
    return p;
}

void peer__unref(gpointer data)
{
    struct peer *p = data;
    if (!g_atomic_int_dec_and_test(&p->refs))
        return;
    for (size_t i = 0; i < p->nmedia; i++) {
        g_free(p->mids[i]);
        g_free(p->kinds[i]);
    }
    g_free(p->offer);
    g_array_unref(p->local);
    g_ptr_array_unref(p->held);
    if (p->srflx)
        g_ptr_array_unref(p->srflx);
    if (p->prflx)
        g_ptr_array_unref(p->prflx);
    g_free(p->session_id);
    g_free(p);
}

/* ---- events from webrtcbin's threads, delivered on the main context ---- */

enum event_kind { EV_OFFER, EV_CANDIDATE, EV_GATHERED, EV_STATE, EV_ERROR, EV_VIEWER_GONE };

struct event {
    struct peer *p;
    enum event_kind kind;
    unsigned mline;
    int state;
    char *a, *b;
};

static void event_free(gpointer data)
{
    struct event *ev = data;
    g_free(ev->a);
    g_free(ev->b);
    peer__unref(ev->p);
    g_free(ev);
}

static void remember_offer(struct peer *p, const char *sdp_text)
{
    for (size_t i = 0; i < p->nmedia; i++) {
        g_free(p->mids[i]);
        g_free(p->kinds[i]);
        p->mids[i] = p->kinds[i] = NULL;
    }
    p->nmedia = 0;
    g_free(p->offer);
    p->offer = g_strdup(sdp_text);
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK)
        return;
    p->nmedia = MIN(gst_sdp_message_medias_len(sdp), PEER_MAX_MEDIA);
    for (size_t i = 0; i < p->nmedia; i++) {
        const GstSDPMedia *media = gst_sdp_message_get_media(sdp, (guint)i);
        p->mids[i] = g_strdup(gst_sdp_media_get_attribute_val(media, "mid"));
        p->kinds[i] = g_strdup(gst_sdp_media_get_media(media));
    }
    gst_sdp_message_free(sdp);
}

/* After an ICE restart's offer: the viewer dropped our candidates with the
 * old credentials, and libnice does not gather again (same sockets, same
 * candidates), so they go out again, then the end of candidates if
 * gathering had completed. Stops if a callback ended the session. */
static void replay_candidates(struct peer *p)
{
    for (guint i = 0; i < p->local->len && !p->closed; i++) {
        const struct local_candidate *c = &g_array_index(p->local, struct local_candidate, i);
        p->cb.on_candidate(p->user, p, c->mline, c->mline < p->nmedia ? p->mids[c->mline] : NULL,
                           c->line);
    }
    if (p->gathered && !p->closed)
        p->cb.on_candidate(p->user, p, 0, NULL, NULL);
}

static gboolean event_dispatch(gpointer data)
{
    struct event *ev = data;
    struct peer *p = ev->p;
    if (p->closed)
        return G_SOURCE_REMOVE;
    switch (ev->kind) {
    case EV_OFFER:
        remember_offer(p, ev->a);
        if (ev->state) /* an ICE restart's */
            p->reoffered = true;
        p->cb.on_offer(p->user, p, ev->a);
        if (ev->state)
            replay_candidates(p);
        break;
    case EV_CANDIDATE:
        if (ev->a) {
            struct local_candidate c = {.mline = ev->mline, .line = g_strdup(ev->a)};
            g_array_append_val(p->local, c);
        }
        peer__send_local(p, ev->mline, ev->a); /* notes when ours went out */
        break;
    case EV_GATHERED:
        p->gathered = true;
        peer__send_local(p, 0, NULL);
        break;
    case EV_STATE:
        if ((enum peer_state)ev->state != p->state) {
            p->state = (enum peer_state)ev->state;
            /* Back after an ICE restart: what was lost meanwhile broke the
             * viewer's reference chain; a keyframe mends it at once. */
            for (size_t i = 0; p->state == PEER_CONNECTED && p->restarts && i < p->ntracks; i++)
                media_track_request_keyframe(g_atomic_pointer_get(&p->tracks[i].track));
            if (p->state == PEER_CONNECTED)
                peer_bwe_attach(p);
            p->cb.on_state(p->user, p, p->state);
        }
        break;
    case EV_ERROR:
        p->cb.on_error(p->user, p, ev->a, ev->b);
        break;
    case EV_VIEWER_GONE:
        p->cb.on_viewer_gone(p->user, p, ev->a);
        break;
    }
    return G_SOURCE_REMOVE;
}

/* Any thread. Always deferred through an idle source, never run inline,
 * so a callback never re-enters the robot in the middle of a call. */
static void post(struct peer *p, enum event_kind kind, unsigned mline, int state, const char *a,
                 const char *b)
{
    struct event *ev = g_new0(struct event, 1);
    ev->p = peer__ref(p);
    ev->kind = kind;
    ev->mline = mline;
    ev->state = state;
    ev->a = g_strdup(a);
    ev->b = g_strdup(b);
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, event_dispatch, ev, event_free);
    g_source_attach(src, p->ctx);
    g_source_unref(src);
}

void peer__post_local(struct peer *p, const char *sdp)
{
    post(p, EV_OFFER, 0, 0, sdp, NULL);
}

void peer__post_error(struct peer *p, const char *code, const char *reason)
{
    post(p, EV_ERROR, 0, 0, code, reason);
}

/* What create-offer's promise carries: the peer and, for an ICE restart,
 * the credentials libnice chose, to be written into the offer. */
struct offer_req {
    struct peer *p; /* a reference */
    char *ufrag, *pwd; /* NULL: the first offer */
};

static void offer_req_free(gpointer data)
{
    struct offer_req *q = data;
    peer__unref(q->p);
    g_free(q->ufrag);
    g_free(q->pwd);
    g_free(q);
}

static void on_offer_created(GstPromise *promise, gpointer data)
{
    struct offer_req *q = data;
    struct peer *p = q->p;
    const GstStructure *reply = gst_promise_get_reply(promise);
    GstWebRTCSessionDescription *offer = NULL;
    GError *gerr = NULL;
    if (reply && gst_structure_has_field(reply, "error"))
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
    else if (reply)
        gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
    if (!offer) {
        post(p, EV_ERROR, 0, 0, "offer-failed", gerr ? gerr->message : "webrtcbin made no offer");
        g_clear_error(&gerr);
        gst_promise_unref(promise);
        return;
    }
    if (q->ufrag)
        peer_ice_set_credentials(offer->sdp, q->ufrag, q->pwd);
    /* Set it before anyone can see it: a fast answer must find webrtcbin
     * in have-local-offer, not stable. With a promise, never NULL: when
     * the peer is being torn down meanwhile, webrtcbin replies "closed"
     * with a structure that only a promise frees (NULL leaked it).
     * Interrupted at once: nobody waits for that reply, and a promise
     * dropped unanswered (its task never ran) must not be pending. */
    GstPromise *set = gst_promise_new();
    g_signal_emit_by_name(p->webrtc, "set-local-description", offer, set);
    gst_promise_interrupt(set);
    gst_promise_unref(set);
    gchar *text = gst_sdp_message_as_text(offer->sdp);
    post(p, EV_OFFER, 0, q->ufrag != NULL, text, NULL);
    g_free(text);
    gst_webrtc_session_description_free(offer);
    gst_promise_unref(promise);
}

/* The peer's one offer (switches never renegotiate; ICE restarts write
 * their own, peer_ice.c), made once the tracks, their codec preferences and
 * the data channels exist. Not from on-negotiation-needed: with the codec
 * preferences set webrtcbin signals it as soon as the pipeline is READY,
 * before the data channels are created, and the offer then lacked their
 * m-line. */
static void start_offer(struct peer *p)
{
    if (!g_atomic_int_compare_and_exchange(&p->offer_started, 0, 1))
        return;
    struct offer_req *q = g_new0(struct offer_req, 1);
    q->p = peer__ref(p);
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, q, offer_req_free);
    g_signal_emit_by_name(p->webrtc, "create-offer", NULL, promise);
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data)
{
    (void)webrtc;
    post(data, EV_CANDIDATE, mline, 0, candidate, NULL);
}

static void on_gathering_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    GstWebRTCICEGatheringState st;
    g_object_get(webrtc, "ice-gathering-state", &st, NULL);
    if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
        post(data, EV_GATHERED, 0, 0, NULL, NULL);
}

static void on_connection_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    GstWebRTCPeerConnectionState st;
    g_object_get(webrtc, "connection-state", &st, NULL);
    enum peer_state ps;
    switch (st) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING: ps = PEER_CONNECTING; break;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED: ps = PEER_CONNECTED; break;
    case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED: ps = PEER_DISCONNECTED; break;
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED: ps = PEER_FAILED; break;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED: ps = PEER_CLOSED; break;
    default: ps = PEER_NEW; break;
    }
    post(data, EV_STATE, 0, (int)ps, NULL, NULL);
}

static void on_answer_applied(GstPromise *promise, gpointer data)
{
    struct peer *p = data;
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (reply && gst_structure_has_field(reply, "error")) {
        GError *gerr = NULL;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        post(p, EV_ERROR, 0, 0, "answer-rejected", gerr ? gerr->message : "webrtcbin refused the answer");
        g_clear_error(&gerr);
    }
    gst_promise_unref(promise);
}

static void on_channel_close(GstWebRTCDataChannel *channel, gpointer data)
{
    (void)channel;
    post(data, EV_VIEWER_GONE, 0, 0, "the viewer closed its data channel", NULL);
}

/* The viewer's PLI (or FIR) arrives as an upstream force-key-unit event at
 * the track's appsrc; the encoder is upstream of the fan-out, so pass it on. */
static GstPadProbeReturn on_upstream_event(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    struct peer_track *pt = data;
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (ev && gst_video_event_is_force_key_unit(ev)) {
        struct media_track *t = g_atomic_pointer_get(&pt->track);
        if (t)
            media_track_request_keyframe(t);
    }
    return GST_PAD_PROBE_OK;
}

/* The only remote RTP sources of a send-only peer are the viewer's RTCP
 * reporters: one saying BYE, or falling silent for five RTCP intervals,
 * means the viewer is gone even when no signaling says so (a browser
 * killed while the cloud was down). rtpbin's timeout takes about 25 s. */
static void on_rtp_timeout(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    (void)rtpbin;
    (void)session;
    (void)ssrc;
    post(data, EV_VIEWER_GONE, 0, 0, "the viewer stopped sending RTCP reports", NULL);
}

static void on_rtp_bye(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    (void)rtpbin;
    (void)session;
    (void)ssrc;
    post(data, EV_VIEWER_GONE, 0, 0, "the viewer said RTCP BYE", NULL);
}

/* An error of webrtcbin's SCTP encoder: its association went into error
 * state, which is what the viewer's ABORT does (a browser closing its peer
 * connection aborts the association; seen when the browser offered, before
 * its close-session arrived). The viewer is gone, the pipeline is fine. */
static bool sctp_lost(GstMessage *msg)
{
    GstElementFactory *f = GST_IS_ELEMENT(msg->src) ? gst_element_get_factory(GST_ELEMENT(msg->src))
                                                     : NULL;
    return f && strcmp(GST_OBJECT_NAME(f), "sctpenc") == 0;
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
    (void)bus;
    struct peer *p = data;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR && sctp_lost(msg)) {
        log_info("peer %s: the viewer's SCTP association ended", p->session_id);
        post(p, EV_VIEWER_GONE, 0, 0, "the viewer's SCTP association ended", NULL);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *gerr = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error(msg, &gerr, &dbg);
        log_warn("peer %s: %s: %s (%s)", p->session_id, GST_OBJECT_NAME(msg->src),
                 gerr ? gerr->message : "?", dbg ? dbg : "");
        post(p, EV_ERROR, 0, 0, "pipeline", gerr ? gerr->message : "pipeline error");
        g_clear_error(&gerr);
        g_free(dbg);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- building ---- */

static int add_branch(struct peer *p, size_t i, char *err, size_t errlen)
{
    struct peer_track *pt = &p->tracks[i];
    pt->p = p;
    GstElement *src = gst_element_factory_make("appsrc", NULL);
    GstElement *pay = gst_element_factory_make(media_payloader(p->media), NULL);
    if (!src || !pay) {
        snprintf(err, errlen, "cannot create the elements of a video track");
        if (src) gst_object_unref(src);
        if (pay) gst_object_unref(pay);
        return -1;
    }
    GstCaps *caps = media_encoded_caps(p->media);
    /* The fan-out bounds what is queued here (media.h), so no limit of its own. */
    g_object_set(src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp",
                 TRUE, "max-bytes", (guint64)0, "block", FALSE, NULL);
    gst_caps_unref(caps);
    if (strcmp(media_payloader(p->media), "rtpvp8pay") == 0)
        g_object_set(pay, "picture-id-mode", 2 /* 15-bit */, "mtu", 1200u, NULL);
    else
        g_object_set(pay, "config-interval", -1, "aggregate-mode", 1 /* zero-latency */, "mtu",
                     1200u, NULL);
    pt->pt = p->answering ? pt->pt : 96 + (int)i; /* answering: the offer's (peer_new) */
    pt->twcc = p->answering ? pt->twcc : MEDIA_TWCC_EXT_ID;
    g_object_set(pay, "pt", (guint)pt->pt, NULL);

    gst_bin_add_many(GST_BIN(p->pipeline), src, pay, NULL);
    pt->appsrc = gst_object_ref(src);
    GstPad *sink = gst_element_request_pad_simple(p->webrtc, "sink_%u");
    GstWebRTCRTPTransceiver *trans = NULL;
    if (sink)
        g_object_get(sink, "transceiver", &trans, NULL);
    if (trans) {
        /* The track's RTP caps (payload type, TWCC, feedback) as the
         * transceiver's codec preferences: webrtcbin's sink pad answers the
         * payloader's caps query with them, as a capsfilter would. A
         * capsfilter in the path would split the payloader's list of a
         * frame's packets into single buffers (basetransform takes no
         * lists), and every element after it would then handle one packet
         * at a time, for every viewer (fecskip.h). */
        caps = media_rtp_caps(p->media, pt->pt, pt->twcc);
        /* The track's SSRC is chosen here, for the payloader and for the
         * description both. Left to them, webrtcbin's answer to a viewer's
         * offer sometimes named an SSRC the payloader did not use (about 1
         * answer in 20 on a loaded machine): Chromium then decoded the
         * packets as an unsignalled stream, and the <video> showing the
         * signalled track stayed blank. */
        guint ssrc = (guint)g_random_int_range(1, G_MAXINT32);
        g_object_set(pay, "ssrc", ssrc, NULL);
        gst_caps_set_simple(caps, "ssrc", G_TYPE_UINT, ssrc, NULL);
        g_object_set(trans, "codec-preferences", caps, NULL);
        gst_caps_unref(caps);
    }
    GstPad *out = gst_element_get_static_pad(pay, "src");
    bool linked = trans && gst_element_link(src, pay) && gst_pad_link(out, sink) == GST_PAD_LINK_OK;
    gst_object_unref(out);
    if (linked) {
        g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(trans), "do-nack"))
            g_object_set(trans, "do-nack", TRUE, NULL);
        GstPad *srcpad = gst_element_get_static_pad(src, "src");
        gst_pad_add_probe(srcpad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, pt, NULL);
        gst_object_unref(srcpad);
    }
    if (trans)
        gst_object_unref(trans);
    if (sink)
        gst_object_unref(sink);
    if (!linked) {
        snprintf(err, errlen, "cannot link video track %zu to webrtcbin", i);
        return -1;
    }
    return 0;
}

static void clear_local_candidate(gpointer data)
{
    g_free(((struct local_candidate *)data)->line);
}

struct peer *peer_new(struct media *m, const struct peer_params *params,
                      const struct peer_callbacks *cb, void *user, char *err, size_t errlen)
{
    if (params->nstreams < 1 || params->nstreams > PEER_MAX_TRACKS) {
        snprintf(err, errlen, "a session carries 1 to %d streams", PEER_MAX_TRACKS);
        return NULL;
    }
    GstSDPMessage *offer = NULL;
    struct sdp_offer_info info = {.nmedia = 0};
    struct peer *p = g_new0(struct peer, 1);
    p->refs = 1;
    p->session_id = g_strdup(params->session_id);
    p->media = m;
    p->cb = *cb;
    p->user = user;
    p->ctx = params->context;
    icegate_init(&p->gate, params->allow, params->max_remote_candidates, params->session_id);
    p->max_sdp = params->max_sdp;
    p->local = g_array_new(FALSE, FALSE, sizeof(struct local_candidate));
    p->held = g_ptr_array_new_with_free_func(g_free);
    g_array_set_clear_func(p->local, clear_local_candidate);

    gchar *name = g_strdup_printf("peer-%s", params->session_id);
    p->pipeline = gst_pipeline_new(name);
    g_free(name);
    p->webrtc = gst_element_factory_make("webrtcbin", "webrtc");
    if (!p->pipeline || !p->webrtc) {
        snprintf(err, errlen, "cannot create webrtcbin");
        if (p->webrtc)
            gst_object_unref(p->webrtc);
        p->webrtc = NULL;
        goto fail;
    }
    g_object_set(p->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    gst_bin_add(GST_BIN(p->pipeline), p->webrtc);
    fecskip_attach(p->webrtc);
    peer_ice_configure(p->webrtc, params);
    peer__watch_ice(p);
    if (params->remote_offer) {
        offer = sdp_offer_check(params->remote_offer, p->max_sdp, media_rtp_encoding(m),
                                params->nstreams, &p->gate, &info, err, errlen);
        if (!offer)
            goto fail;
        p->answering = true;
        p->offer_started = 1; /* no offer of ours (start_offer) */
        for (size_t i = 0; i < params->nstreams; i++) {
            p->tracks[i].pt = info.pt[i];
            p->tracks[i].twcc = info.twcc[i];
        }
    }

    for (size_t i = 0; i < params->nstreams; i++) {
        if (add_branch(p, i, err, errlen) < 0)
            goto fail;
        p->ntracks++;
    }

    g_signal_connect(p->webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), p);
    g_signal_connect(p->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), p);
    g_signal_connect(p->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state), p);
    p->rtpbin = gst_bin_get_by_name(GST_BIN(p->webrtc), "rtpbin");
    if (p->rtpbin) {
        g_signal_connect(p->rtpbin, "on-timeout", G_CALLBACK(on_rtp_timeout), p);
        g_signal_connect(p->rtpbin, "on-bye-ssrc", G_CALLBACK(on_rtp_bye), p);
    }
    GstBus *bus = gst_element_get_bus(p->pipeline);
    p->bus_watch = gst_bus_add_watch(bus, on_bus, p);
    gst_object_unref(bus);

    /* Data channels must be created in READY, before PLAYING. */
    if (gst_element_set_state(p->pipeline, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
        snprintf(err, errlen, "webrtcbin failed to start");
        goto fail;
    }
    /* An answer cannot add an m-line: a viewer's offer without one for
     * data channels gets no telemetry channel. */
    if (!p->answering || info.application)
        g_signal_emit_by_name(p->webrtc, "create-data-channel", "telemetry", NULL, &p->channel);
    if (p->channel)
        g_signal_connect(p->channel, "on-close", G_CALLBACK(on_channel_close), p);
    if (params->depth_hub && params->depth)
        p->depth = depth_link_new(params->depth_hub, p->webrtc, params->depth, p->session_id);
    if (gst_element_set_state(p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        snprintf(err, errlen, "webrtcbin failed to start");
        goto fail;
    }
    for (size_t i = 0; i < p->ntracks; i++) {
        struct media_track *t =
            media_track_new(m, params->streams[i], p->tracks[i].appsrc, err, errlen);
        if (!t)
            goto fail;
        g_atomic_pointer_set(&p->tracks[i].track, t);
    }
    peer_bwe_new(p, media_bitrate_ceiling(m));
    if (offer)
        peer__answer(p, offer);
    else
        start_offer(p);
    return p;
fail:
    if (offer)
        gst_sdp_message_free(offer);
    peer_free(p);
    return NULL;
}

/* ---- remote input ---- */

_Static_assert(PEER_MAX_MEDIA <= SDP_ANSWER_MAX_MEDIA, "sdp_answer.c sees every offered m-line");

int peer_set_answer(struct peer *p, const char *text, char *err, size_t errlen)
{
    /* Before the checks of sdp_answer.c: only a peer that has an offer
     * can have been answered, so the order of the refusals is unchanged. */
    if (p->answering) {
        snprintf(err, errlen, "this session answered the viewer's offer; it takes no answer");
        return -1;
    }
    if (p->answered && !p->reoffered) {
        snprintf(err, errlen, "an answer was already applied to this session");
        return -1;
    }
    struct sdp_answer_offer offer = {.nmedia = p->nmedia};
    for (size_t i = 0; i < p->nmedia; i++)
        offer.kinds[i] = p->kinds[i];
    GstSDPMessage *sdp = sdp_answer_check(&offer, text, p->max_sdp, &p->gate, err, errlen);
    if (!sdp)
        return -1;
    GstWebRTCSessionDescription *answer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp); /* owns sdp */
    GstPromise *promise = gst_promise_new_with_change_func(on_answer_applied, peer__ref(p), peer__unref);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", answer, promise);
    gst_webrtc_session_description_free(answer);
    p->answered = true;
    p->reoffered = false;
    return 0;
}

int peer_restart_ice(struct peer *p, char *err, size_t errlen)
{
    if (p->answering) {
        snprintf(err, errlen, "the viewer offered: only it can restart ICE");
        return -1;
    }
    char *ufrag = peer_ice_offer_ufrag(p->offer);
    struct offer_req *q = g_new0(struct offer_req, 1);
    if (!ufrag || peer_ice_restart(p->webrtc, ufrag, &q->ufrag, &q->pwd) < 0) {
        snprintf(err, errlen, ufrag ? "no ICE stream has the offer's credentials"
                                    : "there is no offer to restart from yet");
        g_free(ufrag);
        g_free(q);
        return -1;
    }
    g_free(ufrag);
    q->p = peer__ref(p);
    p->restarts++;
    log_info("peer %s: ICE restart %u", p->session_id, p->restarts);
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, q, offer_req_free);
    g_signal_emit_by_name(p->webrtc, "create-offer", NULL, promise);
    return 0;
}

int64_t peer_heard_us(struct peer *p)
{
    if (!p->watched && p->webrtc)
        p->watched = peer_ice_watch_receive(p->webrtc, &p->heard_us);
    return atomic_load_explicit(&p->heard_us, memory_order_relaxed);
}

int peer_switch(struct peer *p, const enum cam_stream *streams, size_t n, char *err, size_t errlen)
{
    if (n != p->ntracks) {
        snprintf(err, errlen, "this session has %zu stream%s; %zu were given", p->ntracks,
                 p->ntracks == 1 ? "" : "s", n);
        return -1;
    }
    struct media_track *tracks[PEER_MAX_TRACKS];
    for (size_t i = 0; i < n; i++)
        tracks[i] = p->tracks[i].track;
    return media_tracks_switch(tracks, streams, n, err, errlen);
}

/* For a viewer without trickle ICE (the REST API): the candidates go into
 * the offer itself, as a=candidate lines of their m-lines. */
void peer_send_telemetry(struct peer *p, const char *text)
{
    if (!p->channel)
        return;
    GstWebRTCDataChannelState st;
    g_object_get(p->channel, "ready-state", &st, NULL);
    if (st != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        return;
    GError *gerr = NULL;
    if (!gst_webrtc_data_channel_send_string_full(p->channel, text, &gerr)) {
        log_debug("peer %s: telemetry not sent: %s", p->session_id, gerr ? gerr->message : "?");
        g_clear_error(&gerr);
    }
}

const char *peer_session_id(const struct peer *p) { return p->session_id; }
struct depth_link *peer_depth(const struct peer *p) { return p->depth; }
enum peer_state peer_state(const struct peer *p) { return p->state; }
size_t peer_track_count(const struct peer *p) { return p->ntracks; }

enum cam_stream peer_track_stream(const struct peer *p, size_t i)
{
    return media_track_stream(p->tracks[i].track);
}

uint64_t peer_track_frames(struct peer *p, size_t i)
{
    return media_track_frames_sent(p->tracks[i].track);
}

unsigned peer_element_count(struct peer *p)
{
    return p->pipeline ? media_count_elements(GST_BIN(p->pipeline)) : 0;
}

void peer_free(struct peer *p)
{
    if (!p)
        return;
    p->closed = true;
    depth_link_stop(p->depth); /* no more sends into a pipeline that stops */
    if (p->hold) {
        g_source_destroy(p->hold);
        g_source_unref(p->hold);
        p->hold = NULL;
    }
    if (p->pipeline) {
        /* Stop first, disconnect after. Stopping joins webrtcbin's threads;
         * a handler still firing meanwhile only posts an event (holding its
         * own reference) that the closed flag drops. */
        gst_element_set_state(p->pipeline, GST_STATE_NULL);
        if (p->bus_watch)
            g_source_remove(p->bus_watch);
    }
    if (p->channel)
        g_signal_handlers_disconnect_by_data(p->channel, p);
    depth_link_free(p->depth);
    if (p->rtpbin) {
        g_signal_handlers_disconnect_by_data(p->rtpbin, p);
        gst_object_unref(p->rtpbin);
    }
    peer_bwe_free(p);
    peer__unwatch_ice(p);
    if (p->webrtc)
        g_signal_handlers_disconnect_by_data(p->webrtc, p);
    for (size_t i = 0; i < PEER_MAX_TRACKS; i++) {
        struct media_track *t = g_atomic_pointer_get(&p->tracks[i].track);
        g_atomic_pointer_set(&p->tracks[i].track, NULL);
        media_track_free(t);
        if (p->tracks[i].appsrc)
            gst_object_unref(p->tracks[i].appsrc);
    }
    if (p->channel)
        gst_object_unref(p->channel);
    if (p->pipeline)
        teardown_unref_pipeline(p->pipeline); /* teardown.h says why */
    peer__unref(p);
}
