/* rtcpeer.c - a receiving WebRTC viewer (libsoup + webrtcbin) for integration tests. */
#include "rtcpeer_internal.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>
#include <nice/agent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "robot/iceconf.h"

#define MARKER_BLOCKS 34

struct rtcpeer *rtcpeer__ref(struct rtcpeer *p)
{
    g_atomic_int_inc(&p->refs);
    return p;
}

void rtcpeer__unref(gpointer data)
{
    struct rtcpeer *p = data;
    if (!g_atomic_int_dec_and_test(&p->refs))
        return;
    g_mutex_clear(&p->lock);
    g_free(p);
}

bool rtcpeer__dead(struct rtcpeer *p)
{
    return g_atomic_int_get(&p->dead) != 0;
}

int64_t rtcpeer_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- events handed to the main context ---- */

struct ev {
    struct rtcpeer *p; /* a reference */
    enum ev_kind kind;
    guint mline;
    char *text;
};

static void send_reanswer(struct rtcpeer *p, const char *sdp);

/* Counts a local candidate by its "typ" (RFC 8839). */
static void count_candidate(struct rtcpeer *p, const char *cand)
{
    const char *t = cand ? strstr(cand, " typ ") : NULL;
    if (!t)
        return;
    t += 5;
    if (g_str_has_prefix(t, "host"))
        p->ice.host++;
    else if (g_str_has_prefix(t, "srflx"))
        p->ice.srflx++;
    else if (g_str_has_prefix(t, "prflx"))
        p->ice.prflx++;
    else if (g_str_has_prefix(t, "relay"))
        p->ice.relay++;
}

/* Our candidate (text "" or NULL: gathering ended) as an ice-candidate
 * message: sent once the answer is (at once when we offer), else held. */
void rtcpeer__queue_candidate(struct rtcpeer *p, guint mline, const char *text)
{
    json_t *c = json_null();
    if (text && text[0])
        c = json_pack("{s:s, s:i}", "candidate", text, "sdpMLineIndex", (int)mline);
    json_t *m = json_pack("{s:s, s:s, s:o}", "type", "ice-candidate", "sessionId",
                          p->session_id ? p->session_id : "", "candidate", c);
    char *s = json_dumps(m, JSON_COMPACT);
    if (text && text[0])
        g_ptr_array_add(p->my_cands, g_strdup(s));
    if (p->answer_sent)
        rtcpeer__send_text(p, s);
    else
        g_ptr_array_add(p->held_cands, g_strdup(s));
    free(s);
    json_decref(m);
}

static gboolean ev_run(gpointer data)
{
    struct ev *e = data;
    struct rtcpeer *p = e->p;
    if (rtcpeer__dead(p))
        return G_SOURCE_REMOVE;
    switch (e->kind) {
    case EV_CANDIDATE: {
        count_candidate(p, e->text);
        if (p->rest) {
            if (e->text && e->text[0])
                g_ptr_array_add(p->local_cands, g_strdup_printf("%u\t%s", e->mline, e->text));
            break;
        }
        if (p->offers && !p->session_id) /* no session to name yet */
            g_ptr_array_add(p->early_cands,
                            g_strdup_printf("%u\t%s", e->mline, e->text ? e->text : ""));
        else
            rtcpeer__queue_candidate(p, e->mline, e->text);
        break;
    }
    case EV_GATHERED:
        p->gathered = true;
        p->ice.gathered = true;
        break;
    case EV_ANSWER:
        g_free(p->answer_sdp);
        p->answer_sdp = g_strdup(e->text);
        if (!p->manual && !p->rest)
            rtcpeer_send_answer(p);
        break;
    case EV_REANSWER:
        send_reanswer(p, e->text);
        break;
    case EV_OFFER:
        rtcpeer__send_offer(p, e->text);
        break;
    case EV_REOFFER:
        rtcpeer__send_reoffer(p, e->text);
        break;
    case EV_TELEMETRY: {
        json_error_t jerr;
        json_t *t = json_loads(e->text, 0, &jerr);
        if (!json_is_object(t)) {
            fprintf(stderr, "rtcpeer: telemetry is not a JSON object: %.200s\n", e->text);
            json_decref(t);
            break;
        }
        json_decref(p->telemetry);
        p->telemetry = t;
        p->ntelemetry++;
        break;
    }
    }
    return G_SOURCE_REMOVE;
}

static void ev_free(gpointer data)
{
    struct ev *e = data;
    rtcpeer__unref(e->p);
    g_free(e->text);
    g_free(e);
}

/* Any thread: queues an event for the default main context. */
void rtcpeer__post(struct rtcpeer *p, enum ev_kind kind, guint mline, const char *text)
{
    struct ev *e = g_new0(struct ev, 1);
    e->p = rtcpeer__ref(p);
    e->kind = kind;
    e->mline = mline;
    e->text = g_strdup(text);
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, ev_run, e, ev_free);
    g_source_attach(src, NULL);
    g_source_unref(src);
}

/* ---- decoding ---- */

bool rtcpeer_read_marker(const uint8_t *y, int width, int height, int stride, uint32_t *ms)
{
    int block = width / 40;
    if (block < 4)
        block = 4;
    if (block * MARKER_BLOCKS > width || block > height)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < MARKER_BLOCKS; i++) {
        /* The centre half of the block: coding blurs the edges. */
        unsigned long sum = 0, n = 0;
        for (int yy = block / 4; yy < block - block / 4; yy++)
            for (int xx = i * block + block / 4; xx < (i + 1) * block - block / 4; xx++) {
                sum += y[(size_t)yy * (size_t)stride + (size_t)xx];
                n++;
            }
        double mean = n ? (double)sum / (double)n : 0;
        if (i == 0 && mean < 160)
            return false;
        if (i == 1 && mean > 96)
            return false;
        if (i >= 2)
            v = (v << 1) | (mean >= 128 ? 1u : 0u);
    }
    *ms = v;
    return true;
}

static GstFlowReturn on_sample(GstAppSink *sink, gpointer data)
{
    struct rtcpeer *p = data;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstVideoInfo info;
    GstVideoFrame frame;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) ||
        !gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
        gst_sample_unref(sample);
        return GST_FLOW_OK;
    }
    int w = GST_VIDEO_FRAME_WIDTH(&frame), h = GST_VIDEO_FRAME_HEIGHT(&frame);
    const uint8_t *yp = GST_VIDEO_FRAME_PLANE_DATA(&frame, 0);
    const uint8_t *up = GST_VIDEO_FRAME_PLANE_DATA(&frame, 1);
    const uint8_t *vp = GST_VIDEO_FRAME_PLANE_DATA(&frame, 2);
    int ys = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    int us = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 1);
    int vs = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 2);
    double ysum = 0, csum = 0, dsum = 0, usum = 0, vsum = 0;
    unsigned long yn = 0, cn = 0, dn = 0;
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2, yn++)
            ysum += yp[(size_t)y * (size_t)ys + (size_t)x];
    for (int y = 0; y < h; y += 2) {
        const uint8_t *row = yp + (size_t)y * (size_t)ys;
        for (int x = 0; x + 1 < w; x++, dn++)
            dsum += abs((int)row[x + 1] - (int)row[x]);
    }
    int cw = GST_VIDEO_FRAME_COMP_WIDTH(&frame, 1), ch = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, 1);
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++, cn++) {
            int u = up[(size_t)y * (size_t)us + (size_t)x];
            int v = vp[(size_t)y * (size_t)vs + (size_t)x];
            csum += abs(u - 128) + abs(v - 128);
            usum += u;
            vsum += v;
        }
    uint32_t ms = 0;
    bool marked = rtcpeer_read_marker(yp, w, h, ys, &ms);
    gst_video_frame_unmap(&frame);
    gst_sample_unref(sample);

    int64_t now = rtcpeer_wall_ms();
    g_mutex_lock(&p->lock);
    p->last_frame_us = g_get_monotonic_time();
    if (p->video.frames == 0)
        p->first_frame_us = p->last_frame_us;
    p->video.frames++;
    p->video.width = w;
    p->video.height = h;
    p->video.luma = yn ? ysum / (double)yn : 0;
    p->video.chroma = cn ? csum / (double)cn : 0;
    p->video.u = cn ? usum / (double)cn : 0;
    p->video.v = cn ? vsum / (double)cn : 0;
    p->video.detail = dn ? dsum / (double)dn : 0;
    p->video.marker_ok = marked;
    if (marked) {
        p->video.marker_ms = ms;
        p->video.marked_frames++;
        p->video.latency_ms = (int64_t)(int32_t)((uint32_t)now - ms);
    }
    g_mutex_unlock(&p->lock);
    return GST_FLOW_OK;
}

static GstElement *make_sink(struct rtcpeer *p)
{
    GstElement *sink = gst_element_factory_make("appsink", NULL);
    GstCaps *caps = gst_caps_from_string("video/x-raw,format=I420");
    g_object_set(sink, "caps", caps, "sync", FALSE, "max-buffers", 4, "drop", TRUE, NULL);
    gst_caps_unref(caps);
    GstAppSinkCallbacks cb = {.new_sample = on_sample};
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, p, NULL);
    return sink;
}

/* decodebin (for codecs other than VP8) found its decoded pad. */
static void on_decoded_pad(GstElement *decodebin, GstPad *pad, gpointer data)
{
    GstElement *convert = data;
    (void)decodebin;
    GstPad *sinkpad = gst_element_get_static_pad(convert, "sink");
    if (!gst_pad_is_linked(sinkpad) && gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
        fprintf(stderr, "rtcpeer: cannot link the decoder\n");
    gst_object_unref(sinkpad);
}

/* Counts the RTP bytes of what webrtcbin hands a track's branch. */
static GstPadProbeReturn on_rtp(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct rtcpeer *p = data;
    (void)pad;
    gsize n = 0;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        n = gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        for (guint i = 0; i < gst_buffer_list_length(l); i++)
            n += gst_buffer_get_size(gst_buffer_list_get(l, i));
    }
    g_mutex_lock(&p->lock);
    p->video.rtp_bytes += n;
    g_mutex_unlock(&p->lock);
    return GST_PAD_PROBE_OK;
}

/* opts.no_decode: a depayloaded frame reached the sink; counted as decoded. */
static GstPadProbeReturn on_depayloaded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct rtcpeer *p = data;
    (void)pad;
    (void)info;
    g_mutex_lock(&p->lock);
    p->last_frame_us = g_get_monotonic_time();
    if (p->video.frames == 0)
        p->first_frame_us = p->last_frame_us;
    p->video.frames++;
    g_mutex_unlock(&p->lock);
    return GST_PAD_PROBE_OK;
}

/* opts.no_decode, VP8: queue, depayloader, a sink that counts. */
static bool link_counting(struct rtcpeer *p, GstPad *pad)
{
    GstElement *queue = gst_element_factory_make("queue", NULL);
    GstElement *depay = gst_element_factory_make("rtpvp8depay", NULL);
    GstElement *sink = gst_element_factory_make("fakesink", NULL);
    g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add_many(GST_BIN(p->pipe), queue, depay, sink, NULL);
    bool ok = gst_element_link_many(queue, depay, sink, NULL);
    GstPad *ssink = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(ssink, GST_PAD_PROBE_TYPE_BUFFER, on_depayloaded, p, NULL);
    gst_object_unref(ssink);
    gst_element_sync_state_with_parent(sink);
    gst_element_sync_state_with_parent(depay);
    gst_element_sync_state_with_parent(queue);
    GstPad *qsink = gst_element_get_static_pad(queue, "sink");
    ok = ok && gst_pad_link(pad, qsink) == GST_PAD_LINK_OK;
    gst_object_unref(qsink);
    return ok;
}

/* A track arrived (a streaming thread): depayload, decode, convert, count. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct rtcpeer *p = data;
    (void)webrtc;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    const char *enc = NULL;
    if (caps && gst_caps_get_size(caps) > 0)
        enc = gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name");
    bool vp8 = enc && g_ascii_strcasecmp(enc, "VP8") == 0;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp, p,
                      NULL);
    /* The caps may not name the codec yet: then VP8, the robot's default. */
    if (p->no_decode && (vp8 || !enc)) {
        if (caps)
            gst_caps_unref(caps);
        if (!link_counting(p, pad))
            fprintf(stderr, "rtcpeer: cannot link the counting branch\n");
        return;
    }
    GstElement *queue = gst_element_factory_make("queue", NULL);
    GstElement *convert = gst_element_factory_make("videoconvert", NULL);
    GstElement *sink = make_sink(p);
    GstElement *depay = NULL, *dec = NULL;
    if (vp8) {
        depay = gst_element_factory_make("rtpvp8depay", NULL);
        dec = gst_element_factory_make("vp8dec", NULL);
    } else {
        dec = gst_element_factory_make("decodebin", NULL);
    }
    if (caps)
        gst_caps_unref(caps);
    gst_bin_add_many(GST_BIN(p->pipe), queue, dec, convert, sink, NULL);
    if (depay)
        gst_bin_add(GST_BIN(p->pipe), depay);
    bool ok;
    if (vp8) {
        ok = gst_element_link_many(queue, depay, dec, convert, sink, NULL);
    } else {
        g_signal_connect(dec, "pad-added", G_CALLBACK(on_decoded_pad), convert);
        ok = gst_element_link(queue, dec) && gst_element_link(convert, sink);
    }
    gst_element_sync_state_with_parent(sink);
    gst_element_sync_state_with_parent(convert);
    gst_element_sync_state_with_parent(dec);
    if (depay)
        gst_element_sync_state_with_parent(depay);
    gst_element_sync_state_with_parent(queue);
    GstPad *qsink = gst_element_get_static_pad(queue, "sink");
    if (!ok || gst_pad_link(pad, qsink) != GST_PAD_LINK_OK)
        fprintf(stderr, "rtcpeer: cannot link the decoding branch (encoding %s)\n",
                enc ? enc : "?");
    gst_object_unref(qsink);
}

/* ---- webrtcbin (its own threads) ---- */

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data)
{
    (void)webrtc;
    rtcpeer__post(data, EV_CANDIDATE, mline, candidate);
}

static void on_connection_state(GObject *obj, GParamSpec *pspec, gpointer data)
{
    struct rtcpeer *p = data;
    (void)pspec;
    GstWebRTCPeerConnectionState st;
    g_object_get(obj, "connection-state", &st, NULL);
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
        g_atomic_int_compare_and_exchange(&p->connected, 0, 1)) {
        g_mutex_lock(&p->lock);
        p->connected_us = g_get_monotonic_time();
        g_mutex_unlock(&p->lock);
    }
}

static void on_ice_connection_state(GObject *obj, GParamSpec *pspec, gpointer data)
{
    struct rtcpeer *p = data;
    (void)pspec;
    GstWebRTCICEConnectionState st;
    g_object_get(obj, "ice-connection-state", &st, NULL);
    if (st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        g_atomic_int_set(&p->ice_failed, 1);
}

/* Posted after the candidates: webrtcbin reports both from its own
 * thread, candidates first. */
static void on_gathering_state(GObject *obj, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    GstWebRTCICEGatheringState st;
    g_object_get(obj, "ice-gathering-state", &st, NULL);
    if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
        rtcpeer__post(data, EV_GATHERED, 0, NULL);
}

static void on_channel_message(GstWebRTCDataChannel *ch, gchar *text, gpointer data)
{
    (void)ch;
    rtcpeer__post(data, EV_TELEMETRY, 0, text);
}

static void on_data_channel(GstElement *webrtc, GstWebRTCDataChannel *ch, gpointer data)
{
    struct rtcpeer *p = data;
    (void)webrtc;
    if (p->channel)
        return;
    p->channel = g_object_ref(ch);
    g_signal_connect(ch, "on-message-string", G_CALLBACK(on_channel_message), p);
}

/* opts.twcc: notes the TWCC extension id of each of the offer's m-lines. */
static void note_twcc(struct rtcpeer *p, const GstSDPMessage *offer)
{
    memset(p->twcc_ext, 0, sizeof p->twcc_ext);
    for (guint i = 0; p->twcc && i < gst_sdp_message_medias_len(offer) && i < TWCC_MLINES; i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(offer, i);
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); a++) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            int id = 0;
            if (g_strcmp0(attr->key, "extmap") == 0 && attr->value && strstr(attr->value, TWCC_URI) &&
                sscanf(attr->value, "%d", &id) == 1 && id > 0 && id < 15)
                p->twcc_ext[i] = id;
        }
    }
}

/* opts.twcc: puts the offer's TWCC extension into each accepted m-line of
 * our answer that takes transport-cc feedback and lacks it (webrtcbin's
 * receiving session reads the extension id from the answer). */
static void answer_twcc(const struct rtcpeer *p, GstSDPMessage *answer)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(answer) && i < TWCC_MLINES; i++) {
        GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(answer, i);
        bool fb = false, has = false;
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); a++) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            fb |= g_strcmp0(attr->key, "rtcp-fb") == 0 && attr->value &&
                  strstr(attr->value, "transport-cc");
            has |= g_strcmp0(attr->key, "extmap") == 0 && attr->value &&
                   strstr(attr->value, TWCC_URI);
        }
        if (p->twcc_ext[i] && fb && !has && gst_sdp_media_get_port(m) != 0) {
            char value[128];
            snprintf(value, sizeof value, "%d %s", p->twcc_ext[i], TWCC_URI);
            gst_sdp_media_add_attribute(m, "extmap", value);
        }
    }
}

static void on_answer_created(GstPromise *promise, gpointer data)
{
    struct rtcpeer *p = data;
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED || rtcpeer__dead(p)) {
        gst_promise_unref(promise);
        return;
    }
    GstWebRTCSessionDescription *answer =
        rtcpeer__take_description(promise, "answer", "create-answer failed");
    if (!answer)
        return;
    answer_twcc(p, answer->sdp);
    /* Local description first, so candidates follow the answer. */
    g_signal_emit_by_name(p->webrtc, "set-local-description", answer, NULL);
    gchar *text = gst_sdp_message_as_text(answer->sdp);
    rtcpeer__post(p, EV_ANSWER, 0, text);
    g_free(text);
    gst_webrtc_session_description_free(answer);
}

static void on_offer_applied(GstPromise *promise, gpointer data)
{
    struct rtcpeer *p = data;
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED || rtcpeer__dead(p)) {
        gst_promise_unref(promise);
        return;
    }
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *gerr = NULL;
    if (reply && gst_structure_has_field(reply, "error"))
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
    gst_promise_unref(promise);
    if (gerr) {
        fprintf(stderr, "rtcpeer: the robot's offer was refused: %s\n", gerr->message);
        g_error_free(gerr);
        return;
    }
    GstPromise *next =
        gst_promise_new_with_change_func(on_answer_created, rtcpeer__ref(p), rtcpeer__unref);
    g_signal_emit_by_name(p->webrtc, "create-answer", NULL, next);
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
    (void)bus;
    (void)data;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *gerr = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error(msg, &gerr, &dbg);
        fprintf(stderr, "rtcpeer: pipeline error from %s: %s (%s)\n", GST_OBJECT_NAME(msg->src),
                gerr ? gerr->message : "?", dbg ? dbg : "");
        g_clear_error(&gerr);
        g_free(dbg);
    }
    return G_SOURCE_CONTINUE;
}

/* Gives webrtcbin a STUN server (stun://HOST:PORT or NULL) and TURN
 * servers (turn(s)://USER:PASS@HOST:PORT[?transport=tcp], or NULL), and
 * notes them in p->ice. Before the offer is applied: gathering starts with
 * the answer. */
static void add_servers(struct rtcpeer *p, const char *stun, const char *const *turn, size_t nturn)
{
    if (stun && *stun) {
        g_object_set(p->webrtc, "stun-server", stun, NULL);
        p->ice.stun = true;
    }
    for (size_t i = 0; i < nturn; i++) {
        gboolean ok = FALSE;
        if (!*turn[i])
            continue;
        g_signal_emit_by_name(p->webrtc, "add-turn-server", turn[i], &ok);
        if (!ok) {
            fprintf(stderr, "rtcpeer: webrtcbin refused a TURN server\n");
            continue;
        }
        if (p->ice.turn++ == 0) {
            /* Named without its credentials: scheme://HOST:PORT[?...]. */
            const char *at = strrchr(turn[i], '@');
            const char *colon = strstr(turn[i], "://");
            snprintf(p->ice.turn_server, sizeof p->ice.turn_server, "%.*s://%s",
                     colon ? (int)(colon - turn[i]) : 4, turn[i], at ? at + 1 : "?");
        }
    }
}

/* session-created's iceServers, when the peer takes the cloud's. */
void rtcpeer__take_cloud_ice(struct rtcpeer *p, const json_t *servers)
{
    if (!p->cloud_ice || !servers || !p->webrtc)
        return;
    struct iceconf c = {0};
    char err[160];
    if (iceconf_from_json(&c, servers, err, sizeof err) < 0) {
        fprintf(stderr, "rtcpeer: unusable iceServers from the cloud: %s\n", err);
        return;
    }
    add_servers(p, c.stun, (const char *const *)c.turn, c.nturn);
    p->ice.from_cloud = c.stun || c.nturn;
    if (c.skipped)
        fprintf(stderr, "rtcpeer: %zu URL(s) of the cloud's iceServers unusable here\n", c.skipped);
    iceconf_clear(&c);
}

/* The ICE agent: one local address, no UPnP, no ICE-TCP, and the STUN and
 * TURN servers of opts. */
static void configure_ice(struct rtcpeer *p, const struct rtcpeer_opts *opts)
{
    const char *addr = opts->ice_address ? opts->ice_address : "127.0.0.1";
    if (opts->latency_ms)
        g_object_set(p->webrtc, "latency", opts->latency_ms, NULL);
    if (opts->relay_only)
        g_object_set(p->webrtc, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY,
                     NULL);
    gchar **turn = g_strsplit(opts->turn_servers ? opts->turn_servers : "", ",", -1);
    add_servers(p, opts->stun_server, (const char *const *)turn, g_strv_length(turn));
    g_strfreev(turn);
    /* The caller's own servers win over the cloud's, as a page's do. */
    p->cloud_ice = opts->cloud_ice && !p->ice.stun && !p->ice.turn;
    GObject *ice = NULL;
    g_object_get(p->webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    gboolean ok = FALSE;
    g_signal_emit_by_name(ice, "add-local-ip-address", addr, &ok);
    if (!ok)
        fprintf(stderr, "rtcpeer: cannot gather on %s\n", addr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp"))
        g_object_set(ice, "ice-tcp", FALSE, NULL);
    GObject *agent = NULL;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    if (agent) {
        g_object_set(agent, "upnp", FALSE, NULL);
        g_object_unref(agent);
    }
    g_object_unref(ice);
}

/* opts->extra_ice_address: a second address to gather on. */
static void add_extra_address(struct rtcpeer *p, const struct rtcpeer_opts *opts)
{
    if (!opts->extra_ice_address)
        return;
    GObject *ice = NULL;
    g_object_get(p->webrtc, "ice-agent", &ice, NULL);
    gboolean ok = FALSE;
    if (ice)
        g_signal_emit_by_name(ice, "add-local-ip-address", opts->extra_ice_address, &ok);
    if (!ok)
        fprintf(stderr, "rtcpeer: cannot gather on %s\n", opts->extra_ice_address);
    if (ice)
        g_object_unref(ice);
}

static bool build_pipeline(struct rtcpeer *p, const struct rtcpeer_opts *opts)
{
    p->pipe = gst_pipeline_new(NULL);
    p->webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!p->pipe || !p->webrtc) {
        fprintf(stderr, "rtcpeer: cannot create webrtcbin\n");
        return false;
    }
    gst_bin_add(GST_BIN(p->pipe), p->webrtc);
    g_object_set(p->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    configure_ice(p, opts);
    add_extra_address(p, opts);
    g_signal_connect(p->webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), p);
    g_signal_connect(p->webrtc, "pad-added", G_CALLBACK(on_pad_added), p);
    g_signal_connect(p->webrtc, "on-data-channel", G_CALLBACK(on_data_channel), p);
    g_signal_connect(p->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state), p);
    g_signal_connect(p->webrtc, "notify::ice-connection-state",
                     G_CALLBACK(on_ice_connection_state), p);
    g_signal_connect(p->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), p);
    GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(p->pipe));
    p->bus_watch = gst_bus_add_watch(bus, on_bus, p);
    gst_object_unref(bus);
    if (p->offers && !rtcpeer__add_offer_media(p)) {
        fprintf(stderr, "rtcpeer: cannot prepare the offer\n");
        return false;
    }
    if (gst_element_set_state(p->pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fprintf(stderr, "rtcpeer: the pipeline does not start\n");
        return false;
    }
    return true;
}

/* ---- signaling (main thread) ---- */

void rtcpeer__send_text(struct rtcpeer *p, const char *text)
{
    if (!p->ws || soup_websocket_connection_get_state(p->ws) != SOUP_WEBSOCKET_STATE_OPEN) {
        fprintf(stderr, "rtcpeer: not connected; dropped: %.120s\n", text ? text : "");
        return;
    }
    soup_websocket_connection_send_text(p->ws, text);
}

void rtcpeer__add_remote_candidate(struct rtcpeer *p, guint mline, const char *cand)
{
    if (!rtcpeer__hold_relayed(p, mline, cand))
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate", mline, cand);
}

static void reoffer(struct rtcpeer *p, const char *sdp_text);

/* create-session for our robot and stream types, with our offer when we
 * make it (offer_sdp non-NULL). */
void rtcpeer__send_create(struct rtcpeer *p, const char *offer_sdp)
{
    /* Built as text so that a test can send any streamTypes at all. */
    json_t *tmp = json_string(p->robot_id);
    char *quoted = json_dumps(tmp, JSON_ENCODE_ANY);
    json_decref(tmp);
    char *device = NULL, *offer = NULL;
    if (p->device_id) {
        json_t *d = json_string(p->device_id);
        device = json_dumps(d, JSON_ENCODE_ANY);
        json_decref(d);
    }
    if (offer_sdp) {
        json_t *o = json_pack("{s:s, s:s}", "type", "offer", "sdp", offer_sdp);
        offer = json_dumps(o, JSON_COMPACT);
        json_decref(o);
    }
    char *req = g_strdup_printf("{\"type\":\"create-session\",\"robotId\":%s,"
                                "\"streamTypes\":%s%s%s%s%s}", quoted, p->streams_json,
                                device ? ",\"deviceId\":" : "", device ? device : "",
                                offer ? ",\"offer\":" : "", offer ? offer : "");
    rtcpeer__send_text(p, req);
    g_free(req);
    free(quoted);
    free(device);
    free(offer);
}

static void on_ws_text(struct rtcpeer *p, const char *text)
{
    json_error_t jerr;
    json_t *m = json_loads(text, 0, &jerr);
    const char *type = json_string_value(json_object_get(m, "type"));
    if (!json_is_object(m) || !type) {
        fprintf(stderr, "rtcpeer: the cloud sent something odd: %.200s\n", text);
        json_decref(m);
        return;
    }
    g_ptr_array_add(p->inbox, m);
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(p->counts, type));
    g_hash_table_insert(p->counts, g_strdup(type), GUINT_TO_POINTER(n + 1));

    if (strcmp(type, "available-robots") == 0) {
        if (!p->registered && p->streams_json && p->offers) {
            /* Its iceServers are for a peer that gathers before its session. */
            rtcpeer__take_cloud_ice(p, json_object_get(m, "iceServers"));
            rtcpeer__make_offer(p);
        } else if (!p->registered && p->streams_json) {
            rtcpeer__send_create(p, NULL);
            p->requested_us = g_get_monotonic_time();
        }
        p->registered = true;
    } else if (strcmp(type, "session-created") == 0) {
        const char *sid = json_string_value(json_object_get(m, "sessionId"));
        if (sid && !p->session_id) {
            p->session_id = g_strdup(sid);
            if (p->offers)
                rtcpeer__send_early_candidates(p);
            else
                rtcpeer__take_cloud_ice(p, json_object_get(m, "iceServers"));
        }
    } else if (strcmp(type, "webrtc-answer") == 0) {
        const char *sdp = json_string_value(json_object_get(json_object_get(m, "answer"), "sdp"));
        if (p->offers && sdp)
            rtcpeer__apply_answer(p, sdp);
    } else if (strcmp(type, "webrtc-offer") == 0 && p->offers) {
        /* A robot older than create-session's offer answers it with an offer
         * of its own; porthole.js rolls back and answers, webrtcbin 1.22 has
         * no rollback: not supported, said clearly. */
        fprintf(stderr, "rtcpeer: the robot sent an offer to a viewer that offered (a robot that "
                "does not know create-session's offer?); viewer_offers cannot answer it\n");
    } else if (strcmp(type, "webrtc-offer") == 0) {
        const char *sdp = json_string_value(json_object_get(json_object_get(m, "offer"), "sdp"));
        if (sdp && !p->offer_sdp) {
            p->offer_sdp = g_strdup(sdp);
            if (!p->manual)
                rtcpeer_answer(p);
        } else if (sdp && p->answered) {
            reoffer(p, sdp);
        }
    } else if (strcmp(type, "ice-candidate") == 0) {
        json_t *c = json_object_get(m, "candidate");
        const char *line = json_string_value(json_object_get(c, "candidate"));
        json_int_t mline = json_integer_value(json_object_get(c, "sdpMLineIndex"));
        if (line && line[0]) {
            if (p->answered)
                rtcpeer__add_remote_candidate(p, (guint)mline, line);
            else
                g_ptr_array_add(p->pending_cands,
                                g_strdup_printf("%u\n%s", (unsigned)mline, line));
        }
    }
}

static void on_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *msg, gpointer data)
{
    (void)ws;
    struct rtcpeer *p = data;
    if (rtcpeer__dead(p))
        return;
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        fprintf(stderr, "rtcpeer: binary message from the cloud\n");
        return;
    }
    gsize len = 0;
    const char *d = g_bytes_get_data(msg, &len);
    char *text = g_strndup(d, len);
    on_ws_text(p, text);
    g_free(text);
}

static void on_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
    (void)ws;
    struct rtcpeer *p = data;
    p->ws_closed = true;
}

static void on_ws_connected(GObject *src, GAsyncResult *res, gpointer data)
{
    struct rtcpeer *p = data;
    GError *err = NULL;
    SoupWebsocketConnection *ws = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
    if (rtcpeer__dead(p)) {
        if (ws)
            g_object_unref(ws);
        g_clear_error(&err);
        rtcpeer__unref(p);
        return;
    }
    if (!ws) {
        fprintf(stderr, "rtcpeer: cannot connect to %s: %s\n", p->url, err ? err->message : "?");
        g_clear_error(&err);
        p->ws_closed = true;
        rtcpeer__unref(p);
        return;
    }
    p->ws = ws;
    soup_websocket_connection_set_max_incoming_payload_size(ws, 16 << 20);
    g_signal_connect(ws, "message", G_CALLBACK(on_ws_message), p);
    g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), p);
    rtcpeer__send_text(p, "{\"type\":\"client-register\"}");
    rtcpeer__unref(p);
}

/* ---- renegotiation: ICE restarts (main thread, but for the promises) ---- */

/* The a=ice-ufrag of the first m-line that has one (g_free), or NULL. */
char *rtcpeer__sdp_ufrag(const char *text)
{
    GstSDPMessage *sdp = NULL;
    if (!text || gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK)
        return NULL;
    char *ufrag = NULL;
    for (guint i = 0; !ufrag && i < gst_sdp_message_medias_len(sdp); i++)
        ufrag = g_strdup(gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, i),
                                                         "ice-ufrag"));
    gst_sdp_message_free(sdp);
    return ufrag;
}

/* Restarts our libnice stream whose local ufrag is ufrag; its new
 * credentials go to *nu and *np. webrtcbin 1.22 answers a restart with the
 * old credentials (it has no ICE restart), so this is done by hand, as the
 * robot does for its offers. */
bool rtcpeer__restart_own_ice(struct rtcpeer *p, const char *ufrag, char **nu, char **np)
{
    GObject *ice = NULL, *agent = NULL;
    g_object_get(p->webrtc, "ice-agent", &ice, NULL);
    if (ice)
        g_object_get(ice, "agent", &agent, NULL);
    bool ok = false;
    for (guint id = 1; agent && ufrag && !ok && id <= 32; id++) {
        gchar *u = NULL, *pw = NULL;
        nice_agent_get_local_credentials(NICE_AGENT(agent), id, &u, &pw);
        bool match = u && strcmp(u, ufrag) == 0;
        g_free(u);
        g_free(pw);
        if (match && nice_agent_restart_stream(NICE_AGENT(agent), id)) {
            *nu = *np = NULL;
            nice_agent_get_local_credentials(NICE_AGENT(agent), id, nu, np);
            ok = *nu && *np;
        }
    }
    if (agent)
        g_object_unref(agent);
    if (ice)
        g_object_unref(ice);
    return ok;
}

/* Writes our restarted ICE credentials into our own SDP (ufrag NULL: no
 * restart, nothing to write). */
void rtcpeer__set_credentials(GstSDPMessage *sdp, const char *ufrag, const char *pwd)
{
    for (guint i = 0; ufrag && i < gst_sdp_message_medias_len(sdp); i++) {
        GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(sdp, i);
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); a++) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            const char *v = g_strcmp0(attr->key, "ice-ufrag") == 0 ? ufrag
                            : g_strcmp0(attr->key, "ice-pwd") == 0 ? pwd : NULL;
            if (v) {
                GstSDPAttribute repl;
                gst_sdp_attribute_set(&repl, attr->key, v);
                gst_sdp_media_replace_attribute(m, a, &repl);
            }
        }
    }
}

GstWebRTCSessionDescription *rtcpeer__take_description(GstPromise *promise, const char *field,
                                                       const char *what)
{
    const GstStructure *reply = gst_promise_get_reply(promise); /* the promise's */
    GstWebRTCSessionDescription *desc = NULL;
    if (reply && gst_structure_has_field(reply, field))
        gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
    if (!desc) {
        GError *gerr = NULL;
        if (reply && gst_structure_has_field(reply, "error"))
            gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        fprintf(stderr, "rtcpeer: %s: %s\n", what, gerr ? gerr->message : "no reason given");
        g_clear_error(&gerr);
    }
    gst_promise_unref(promise);
    return desc;
}

void rtcpeer__reneg_free(gpointer data)
{
    struct reneg *r = data;
    rtcpeer__unref(r->p);
    g_free(r->ufrag);
    g_free(r->pwd);
    g_free(r);
}

static void on_reanswer_created(GstPromise *promise, gpointer data)
{
    struct reneg *r = data;
    GstWebRTCSessionDescription *answer =
        rtcpeer__take_description(promise, "answer", "no answer to the robot's new offer");
    if (!answer || rtcpeer__dead(r->p)) {
        if (answer)
            gst_webrtc_session_description_free(answer);
        return;
    }
    rtcpeer__set_credentials(answer->sdp, r->ufrag, r->pwd);
    answer_twcc(r->p, answer->sdp);
    g_signal_emit_by_name(r->p->webrtc, "set-local-description", answer, NULL);
    gchar *text = gst_sdp_message_as_text(answer->sdp);
    rtcpeer__post(r->p, EV_REANSWER, 0, text);
    g_free(text);
    gst_webrtc_session_description_free(answer);
}

static void on_reoffer_applied(GstPromise *promise, gpointer data)
{
    struct reneg *r = data;
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (reply && gst_structure_has_field(reply, "error")) {
        GError *gerr = NULL;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        fprintf(stderr, "rtcpeer: the robot's new offer was refused: %s\n",
                gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        gst_promise_unref(promise);
        return;
    }
    gst_promise_unref(promise);
    if (rtcpeer__dead(r->p))
        return;
    struct reneg *next = g_new0(struct reneg, 1);
    next->p = rtcpeer__ref(r->p);
    next->ufrag = g_strdup(r->ufrag);
    next->pwd = g_strdup(r->pwd);
    g_signal_emit_by_name(r->p->webrtc, "create-answer", NULL,
                          gst_promise_new_with_change_func(on_reanswer_created, next,
                                                           rtcpeer__reneg_free));
}

/* A new offer on the answered session: restart our ICE if the robot did. */
static void reoffer(struct rtcpeer *p, const char *sdp_text)
{
    GstSDPMessage *sdp = NULL;
    if (!p->webrtc || gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK) {
        fprintf(stderr, "rtcpeer: the robot's new offer is not SDP\n");
        return;
    }
    struct reneg *r = g_new0(struct reneg, 1);
    r->p = rtcpeer__ref(p);
    char *was = rtcpeer__sdp_ufrag(p->offer_sdp), *now = rtcpeer__sdp_ufrag(sdp_text);
    char *mine = rtcpeer__sdp_ufrag(p->answer_sdp);
    if (g_strcmp0(was, now) != 0) {
        p->ice_restarts++;
        if (!rtcpeer__restart_own_ice(p, mine, &r->ufrag, &r->pwd))
            fprintf(stderr, "rtcpeer: cannot restart ICE on our side\n");
    }
    g_free(was);
    g_free(now);
    g_free(mine);
    g_free(p->offer_sdp);
    p->offer_sdp = g_strdup(sdp_text);
    note_twcc(p, sdp);
    GstWebRTCSessionDescription *offer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", offer,
                          gst_promise_new_with_change_func(on_reoffer_applied, r,
                                                           rtcpeer__reneg_free));
    gst_webrtc_session_description_free(offer);
}

/* Main thread: the answer to a new offer, then our candidates again (the
 * robot forgot them with its restart; libnice gathers nothing new). */
static void send_reanswer(struct rtcpeer *p, const char *sdp)
{
    g_free(p->answer_sdp);
    p->answer_sdp = g_strdup(sdp);
    json_t *m = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-answer", "sessionId",
                          p->session_id ? p->session_id : "", "answer", "type", "answer", "sdp",
                          sdp);
    rtcpeer_send_json(p, m);
    for (guint i = 0; i < p->my_cands->len; i++)
        rtcpeer__send_text(p, g_ptr_array_index(p->my_cands, i));
    if (p->gathered)
        rtcpeer_send_json(p, json_pack("{s:s, s:s, s:n}", "type", "ice-candidate", "sessionId",
                                       p->session_id ? p->session_id : "", "candidate"));
    p->reanswers++;
}

static bool send_restart_request(struct rtcpeer *p, const char *reason)
{
    if (!p->session_id)
        return false;
    if (p->offers) /* the robot ignores ice-restart-request when we offer */
        return rtcpeer__restart_by_offer(p) && ++p->restart_requests;
    p->restart_requests++;
    return rtcpeer_send_json(p, json_pack("{s:s, s:s, s:s}", "type", "ice-restart-request",
                                          "sessionId", p->session_id, "reason", reason));
}

bool rtcpeer_request_restart(struct rtcpeer *p)
{
    return send_restart_request(p, "requested");
}

struct count_wait {
    struct rtcpeer *p;
    const char *type;
    unsigned n;
};

static bool enough_messages(void *user)
{
    struct count_wait *w = user;
    return rtcpeer_count(w->p, w->type) >= w->n;
}

bool rtcpeer_wait_count(struct rtcpeer *p, const char *type, unsigned n, int timeout_ms)
{
    struct count_wait w = {p, type, n};
    return rtcpeer_run_until(enough_messages, &w, timeout_ms);
}

unsigned rtcpeer_reanswers(const struct rtcpeer *p)
{
    return p->reanswers;
}

unsigned rtcpeer_ice_restarts(const struct rtcpeer *p)
{
    return p->ice_restarts;
}

unsigned rtcpeer_restart_requests(const struct rtcpeer *p)
{
    return p->restart_requests;
}

int64_t rtcpeer_last_frame_us(struct rtcpeer *p)
{
    g_mutex_lock(&p->lock);
    int64_t t = p->last_frame_us;
    g_mutex_unlock(&p->lock);
    return t;
}

/* opts.restart_after_ms: asks for a restart when the video stops. */
static gboolean on_freeze_tick(gpointer data)
{
    struct rtcpeer *p = data;
    gint64 now = g_get_monotonic_time(), last = rtcpeer_last_frame_us(p);
    gint64 stretch = (gint64)p->restart_after_ms * 1000;
    if (last && now - last >= stretch && now - p->asked_us >= stretch) {
        p->asked_us = now;
        send_restart_request(p, "video-stalled");
    }
    return G_SOURCE_CONTINUE;
}

/* ---- public ---- */

struct rtcpeer *rtcpeer_new_opts(const struct rtcpeer_opts *opts)
{
    gst_init(NULL, NULL);
    struct rtcpeer *p = g_new0(struct rtcpeer, 1);
    p->refs = 1;
    g_mutex_init(&p->lock);
    p->url = g_strdup(opts->cloud_url);
    p->robot_id = g_strdup(opts->robot_id ? opts->robot_id : "");
    p->streams_json = g_strdup(opts->stream_types_json);
    p->device_id = g_strdup(opts->device_id);
    p->manual = opts->manual_answer;
    p->pending_cands = g_ptr_array_new_with_free_func(g_free);
    p->inbox = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    p->held_cands = g_ptr_array_new_with_free_func(g_free);
    p->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->local_cands = g_ptr_array_new_with_free_func(g_free);
    p->my_cands = g_ptr_array_new_with_free_func(g_free);
    p->restart_after_ms = opts->restart_after_ms;
    p->twcc = opts->twcc;
    p->no_decode = opts->no_decode;
    p->early_cands = g_ptr_array_new_with_free_func(g_free);
    p->held_relay = g_ptr_array_new_with_free_func(g_free);
    if (opts->viewer_offers && !opts->offer_sdp && !rtcpeer__count_streams(p)) {
        p->ws_closed = true;
        return p;
    }
    if (p->offers)
        p->relay_hold_ms = opts->relay_hold_ms;
    if (!build_pipeline(p, opts))
        fprintf(stderr, "rtcpeer: this peer will decode nothing\n");
    p->soup = soup_session_new_with_options("timeout", 10, "idle-timeout", 0, NULL);
    p->cancel = g_cancellable_new();
    if (opts->offer_sdp) {
        /* No signaling: the offer is the test's, the answer goes back to it. */
        p->rest = true;
        p->offer_sdp = g_strdup(opts->offer_sdp);
        if (!rtcpeer_answer(p))
            fprintf(stderr, "rtcpeer: cannot apply the offer given\n");
        return p;
    }
    SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, p->url);
    if (!msg) {
        fprintf(stderr, "rtcpeer: bad URL %s\n", p->url);
        p->ws_closed = true;
        return p;
    }
    soup_session_websocket_connect_async(p->soup, msg, NULL, NULL, G_PRIORITY_DEFAULT, p->cancel,
                                         on_ws_connected, rtcpeer__ref(p));
    g_object_unref(msg);
    if (p->restart_after_ms)
        p->freeze_timer = g_timeout_add(50, on_freeze_tick, p);
    return p;
}

struct rtcpeer *rtcpeer_new(const char *cloud_url, const char *robot_id, const char *stream_type)
{
    char *streams = g_strdup_printf("[\"%s\"]", stream_type);
    struct rtcpeer_opts o = {.cloud_url = cloud_url, .robot_id = robot_id,
                             .stream_types_json = streams};
    struct rtcpeer *p = rtcpeer_new_opts(&o);
    g_free(streams);
    return p;
}

static bool ws_is_closed(void *user)
{
    struct rtcpeer *p = user;
    return !p->ws || soup_websocket_connection_get_state(p->ws) == SOUP_WEBSOCKET_STATE_CLOSED;
}

void rtcpeer_free(struct rtcpeer *p)
{
    if (!p)
        return;
    g_atomic_int_set(&p->dead, 1);
    if (p->freeze_timer)
        g_source_remove(p->freeze_timer);
    if (p->hold_timer)
        g_source_remove(p->hold_timer);
    g_cancellable_cancel(p->cancel);
    if (p->ws) {
        g_signal_handlers_disconnect_by_data(p->ws, p);
        if (soup_websocket_connection_get_state(p->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
            soup_websocket_connection_close(p->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
            rtcpeer_run_until(ws_is_closed, p, 1000);
        }
        g_clear_object(&p->ws);
    }
    if (p->pipe) {
        /* Joins webrtcbin's and the decoders' threads. */
        gst_element_set_state(p->pipe, GST_STATE_NULL);
        if (p->bus_watch)
            g_source_remove(p->bus_watch);
        gst_object_unref(p->pipe);
    }
    if (p->channel)
        g_object_unref(p->channel);
    if (p->own_channel)
        g_object_unref(p->own_channel);
    g_clear_object(&p->cancel);
    g_clear_object(&p->soup);
    g_ptr_array_free(p->pending_cands, TRUE);
    g_ptr_array_free(p->inbox, TRUE);
    g_ptr_array_free(p->held_cands, TRUE);
    g_ptr_array_free(p->local_cands, TRUE);
    g_ptr_array_free(p->my_cands, TRUE);
    g_ptr_array_free(p->early_cands, TRUE);
    g_ptr_array_free(p->held_relay, TRUE);
    g_free(p->local_offer);
    g_free(p->robot_answer);
    g_free(p->local_answer);
    g_free(p->answer_sdp);
    g_hash_table_destroy(p->counts);
    json_decref(p->telemetry);
    g_free(p->url);
    g_free(p->robot_id);
    g_free(p->streams_json);
    g_free(p->device_id);
    g_free(p->session_id);
    g_free(p->offer_sdp);
    rtcpeer__unref(p);
}

static gboolean wake(gpointer data)
{
    (void)data;
    return G_SOURCE_CONTINUE;
}

bool rtcpeer_run_until(bool (*pred)(void *user), void *user, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    /* A tick so that each iteration blocks briefly at most. */
    GSource *tick = g_timeout_source_new(5);
    g_source_set_callback(tick, wake, NULL, NULL);
    g_source_attach(tick, NULL);
    bool ok;
    while (!(ok = pred && pred(user)) && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_destroy(tick);
    g_source_unref(tick);
    return ok;
}

void rtcpeer_run_for(int ms)
{
    rtcpeer_run_until(NULL, NULL, ms);
}

bool rtcpeer_registered(const struct rtcpeer *p)
{
    return p->registered;
}

const char *rtcpeer_session_id(const struct rtcpeer *p)
{
    return p->session_id;
}

bool rtcpeer_has_offer(const struct rtcpeer *p)
{
    if (p->offers)
        return p->robot_answer != NULL;
    return p->offer_sdp != NULL;
}

bool rtcpeer_ws_closed(const struct rtcpeer *p)
{
    return p->ws_closed;
}

static bool has_offer(void *user)
{
    return rtcpeer_has_offer(user);
}

bool rtcpeer_wait_offer(struct rtcpeer *p, int timeout_ms)
{
    return rtcpeer_run_until(has_offer, p, timeout_ms);
}

bool rtcpeer_answer(struct rtcpeer *p)
{
    if (!p->offer_sdp || p->answered || !p->webrtc || p->offers)
        return false;
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(p->offer_sdp, &sdp) != GST_SDP_OK) {
        fprintf(stderr, "rtcpeer: the offer is not SDP\n");
        return false;
    }
    note_twcc(p, sdp);
    GstWebRTCSessionDescription *offer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
    GstPromise *promise =
        gst_promise_new_with_change_func(on_offer_applied, rtcpeer__ref(p), rtcpeer__unref);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", offer, promise);
    gst_webrtc_session_description_free(offer);
    p->answered = true;
    /* Queued after the offer in webrtcbin's task queue. */
    for (guint i = 0; i < p->pending_cands->len; i++) {
        char *s = g_ptr_array_index(p->pending_cands, i);
        char *nl = strchr(s, '\n');
        if (nl)
            rtcpeer__add_remote_candidate(p, (guint)strtoul(s, NULL, 10), nl + 1);
    }
    g_ptr_array_set_size(p->pending_cands, 0);
    return true;
}

static bool has_answer(void *user)
{
    return ((struct rtcpeer *)user)->answer_sdp != NULL;
}

const char *rtcpeer_wait_answer_sdp(struct rtcpeer *p, int timeout_ms)
{
    return rtcpeer_run_until(has_answer, p, timeout_ms) ? p->answer_sdp : NULL;
}

static bool answer_and_candidates(void *user)
{
    struct rtcpeer *p = user;
    return p->answer_sdp && p->gathered;
}

const char *rtcpeer_wait_local_answer(struct rtcpeer *p, int timeout_ms)
{
    if (!p->rest)
        return NULL;
    if (!rtcpeer_run_until(answer_and_candidates, p, timeout_ms))
        return NULL;
    if (p->local_answer)
        return p->local_answer;
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(p->answer_sdp, &sdp) != GST_SDP_OK) {
        fprintf(stderr, "rtcpeer: our own answer is not SDP\n");
        return NULL;
    }
    guint nmedia = gst_sdp_message_medias_len(sdp);
    for (guint i = 0; i < p->local_cands->len; i++) {
        const char *c = g_ptr_array_index(p->local_cands, i);
        guint mline = (guint)strtoul(c, NULL, 10);
        const char *line = strchr(c, '\t') + 1;
        if (g_str_has_prefix(line, "candidate:") && mline < nmedia)
            gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, mline),
                                        "candidate", line + strlen("candidate:"));
    }
    for (guint i = 0; i < nmedia; i++)
        gst_sdp_media_add_attribute((GstSDPMedia *)gst_sdp_message_get_media(sdp, i),
                                    "end-of-candidates", NULL);
    p->local_answer = gst_sdp_message_as_text(sdp);
    gst_sdp_message_free(sdp);
    return p->local_answer;
}

bool rtcpeer_send_answer(struct rtcpeer *p)
{
    if (p->rest || p->offers || !p->answer_sdp || p->answer_sent)
        return false;
    json_t *m = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-answer", "sessionId",
                          p->session_id ? p->session_id : "", "answer", "type", "answer", "sdp",
                          p->answer_sdp);
    char *s = json_dumps(m, JSON_COMPACT);
    rtcpeer__send_text(p, s);
    free(s);
    json_decref(m);
    p->answer_sent = true;
    for (guint i = 0; i < p->held_cands->len; i++)
        rtcpeer__send_text(p, g_ptr_array_index(p->held_cands, i));
    g_ptr_array_set_size(p->held_cands, 0);
    return true;
}

bool rtcpeer_send_raw(struct rtcpeer *p, const char *text)
{
    if (!p->ws || soup_websocket_connection_get_state(p->ws) != SOUP_WEBSOCKET_STATE_OPEN)
        return false;
    soup_websocket_connection_send_text(p->ws, text);
    return true;
}

bool rtcpeer_send_json(struct rtcpeer *p, json_t *j)
{
    if (!j)
        return false;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    bool ok = s && rtcpeer_send_raw(p, s);
    free(s);
    return ok;
}

bool rtcpeer_switch(struct rtcpeer *p, const char *stream_type)
{
    if (!p->session_id)
        return false;
    return rtcpeer_send_json(p, json_pack("{s:s, s:s, s:[s]}", "type", "switch-stream-type",
                                          "sessionId", p->session_id, "streamTypes",
                                          stream_type));
}

bool rtcpeer_close(struct rtcpeer *p)
{
    if (!p->session_id)
        return false;
    return rtcpeer_send_json(p, json_pack("{s:s, s:s}", "type", "close-session", "sessionId",
                                          p->session_id));
}

struct take_wait {
    struct rtcpeer *p;
    const char *type;
    guint index;
};

static bool find_type(void *user)
{
    struct take_wait *w = user;
    for (guint i = 0; i < w->p->inbox->len; i++) {
        json_t *m = g_ptr_array_index(w->p->inbox, i);
        const char *t = json_string_value(json_object_get(m, "type"));
        if (t && strcmp(t, w->type) == 0) {
            w->index = i;
            return true;
        }
    }
    return false;
}

json_t *rtcpeer_take(struct rtcpeer *p, const char *type, int timeout_ms)
{
    struct take_wait w = {.p = p, .type = type};
    if (!rtcpeer_run_until(find_type, &w, timeout_ms))
        return NULL;
    json_t *m = json_incref(g_ptr_array_index(p->inbox, w.index));
    g_ptr_array_remove_index(p->inbox, w.index); /* drops the inbox's reference */
    return m;
}

unsigned rtcpeer_count(const struct rtcpeer *p, const char *type)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(p->counts, type));
}

void rtcpeer_video(struct rtcpeer *p, struct rtcpeer_video *out)
{
    g_mutex_lock(&p->lock);
    *out = p->video;
    g_mutex_unlock(&p->lock);
}

uint64_t rtcpeer_frames(struct rtcpeer *p)
{
    g_mutex_lock(&p->lock);
    uint64_t n = p->video.frames;
    g_mutex_unlock(&p->lock);
    return n;
}

struct frames_wait {
    struct rtcpeer *p;
    uint64_t n;
};

static bool enough_frames(void *user)
{
    struct frames_wait *w = user;
    return rtcpeer_frames(w->p) >= w->n;
}

bool rtcpeer_wait_frames(struct rtcpeer *p, uint64_t n, int timeout_ms)
{
    struct frames_wait w = {p, n};
    return rtcpeer_run_until(enough_frames, &w, timeout_ms);
}

bool rtcpeer_connected(struct rtcpeer *p)
{
    return g_atomic_int_get(&p->connected) != 0;
}

json_t *rtcpeer_telemetry(const struct rtcpeer *p)
{
    return p->telemetry;
}

unsigned rtcpeer_telemetry_count(const struct rtcpeer *p)
{
    return p->ntelemetry;
}

struct telemetry_wait {
    struct rtcpeer *p;
    unsigned n;
};

static bool new_telemetry(void *user)
{
    struct telemetry_wait *w = user;
    return w->p->ntelemetry > w->n;
}

json_t *rtcpeer_wait_telemetry(struct rtcpeer *p, int timeout_ms)
{
    struct telemetry_wait w = {p, p->ntelemetry};
    return rtcpeer_run_until(new_telemetry, &w, timeout_ms) ? p->telemetry : NULL;
}

int64_t rtcpeer_first_frame_us(struct rtcpeer *p)
{
    g_mutex_lock(&p->lock);
    int64_t t = p->first_frame_us;
    g_mutex_unlock(&p->lock);
    return t;
}

int64_t rtcpeer_connected_us(struct rtcpeer *p)
{
    g_mutex_lock(&p->lock);
    int64_t t = p->connected_us;
    g_mutex_unlock(&p->lock);
    return t;
}

int64_t rtcpeer_requested_us(struct rtcpeer *p)
{
    return p->requested_us;
}

void rtcpeer_ice_info(struct rtcpeer *p, struct rtcpeer_ice *out)
{
    *out = p->ice;
    out->failed = g_atomic_int_get(&p->ice_failed) != 0;
}

struct path_scan {
    const GstStructure *pair;
    const GstStructure *cands[16];
    unsigned ncands;
};

static gboolean scan_stat(GQuark field, const GValue *value, gpointer data)
{
    (void)field;
    struct path_scan *scan = data;
    if (!GST_VALUE_HOLDS_STRUCTURE(value))
        return TRUE;
    const GstStructure *s = gst_value_get_structure(value);
    GstWebRTCStatsType type = 0;
    if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL))
        return TRUE;
    if (type == GST_WEBRTC_STATS_CANDIDATE_PAIR && !scan->pair)
        scan->pair = s;
    else if ((type == GST_WEBRTC_STATS_LOCAL_CANDIDATE ||
              type == GST_WEBRTC_STATS_REMOTE_CANDIDATE) && scan->ncands < G_N_ELEMENTS(scan->cands))
        scan->cands[scan->ncands++] = s;
    return TRUE;
}

/* "TYPE/PROTO ADDR:PORT" of the candidate statistics whose id is id.
 * (webrtcbin 1.22 names the local candidate's statistics "remote-candidate"
 * and the other way round; the pair's ids are right, so go by id.) */
static void describe_candidate(const struct path_scan *scan, const char *id, GString *out)
{
    for (unsigned i = 0; id && i < scan->ncands; i++) {
        if (g_strcmp0(gst_structure_get_string(scan->cands[i], "id"), id) != 0)
            continue;
        const GstStructure *c = scan->cands[i];
        guint port = 0;
        gst_structure_get_uint(c, "port", &port);
        const char *type = gst_structure_get_string(c, "candidate-type");
        const char *proto = gst_structure_get_string(c, "protocol");
        const char *addr = gst_structure_get_string(c, "address");
        g_string_append_printf(out, "%s/%s %s:%u", type ? type : "?", proto ? proto : "?",
                               addr ? addr : "?", port);
        /* webrtcbin 1.22 reports no relay-protocol and a bare address as
         * url; libnice's priority tells UDP (type preference 30) from TCP
         * and TLS (20) allocations. */
        guint prio = 0;
        if (g_strcmp0(type, "relay") == 0 && gst_structure_get_uint(c, "priority", &prio))
            g_string_append_printf(out, " via turn-%s", prio >> 24 == 30 ? "udp" : "tcp");
        return;
    }
    g_string_append(out, "?");
}

struct stats_wait {
    GMutex lock;
    GCond cond;
    bool done;
};

static void stats_replied(GstPromise *promise, gpointer data)
{
    (void)promise;
    struct stats_wait *w = data;
    g_mutex_lock(&w->lock);
    w->done = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void stats_wait_free(gpointer data)
{
    struct stats_wait *w = data;
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
    g_free(w);
}

bool rtcpeer_ice_path(struct rtcpeer *p, char *buf, size_t len, int timeout_ms)
{
    if (len)
        buf[0] = '\0';
    if (!p->webrtc)
        return false;
    struct stats_wait *w = g_new0(struct stats_wait, 1);
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    /* The promise owns w; our reference keeps both alive until the end. */
    GstPromise *promise = gst_promise_new_with_change_func(stats_replied, w, stats_wait_free);
    g_signal_emit_by_name(p->webrtc, "get-stats", NULL, promise);
    /* webrtcbin answers on its own thread; wait for it, bounded. */
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_mutex_lock(&w->lock);
    while (!w->done && g_cond_wait_until(&w->cond, &w->lock, deadline))
        ;
    bool done = w->done;
    g_mutex_unlock(&w->lock);
    if (!done)
        gst_promise_interrupt(promise);
    bool ok = false;
    const GstStructure *stats = NULL;
    if (done && gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED)
        stats = gst_promise_get_reply(promise);
    struct path_scan scan = {0};
    if (stats)
        gst_structure_foreach(stats, scan_stat, &scan);
    if (scan.pair) {
        GString *s = g_string_new(NULL);
        describe_candidate(&scan, gst_structure_get_string(scan.pair, "local-candidate-id"), s);
        g_string_append(s, " -> ");
        describe_candidate(&scan, gst_structure_get_string(scan.pair, "remote-candidate-id"), s);
        g_strlcpy(buf, s->str, len);
        g_string_free(s, TRUE);
        ok = true;
    }
    gst_promise_unref(promise);
    return ok;
}
