/* rtcpeer_offer.c - rtcpeer's offering side (opts.viewer_offers): the offer,
 * its answer, ICE restarts by a new offer, and the relayed-candidate hold. */
#include "rtcpeer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* opts.viewer_offers: one recvonly VP8 transceiver per stream type (VP8,
 * the robot's default codec), and a negotiated data channel that only puts
 * the application m-line into the offer (the robot opens its telemetry and
 * depth channels on it; it never hears of this one), as porthole.js does.
 * The data channel is made in READY, before PLAYING (docs: FACTS). */
bool rtcpeer__add_offer_media(struct rtcpeer *p)
{
    GstCaps *caps = gst_caps_from_string("application/x-rtp,media=video,encoding-name=VP8,"
                                         "payload=96,clock-rate=90000,rtcp-fb-nack-pli=true");
    if (p->twcc)
        gst_caps_set_simple(caps, "rtcp-fb-transport-cc", G_TYPE_BOOLEAN, TRUE, NULL);
    for (unsigned i = 0; i < p->nvideo; i++) {
        GstWebRTCRTPTransceiver *t = NULL;
        g_signal_emit_by_name(p->webrtc, "add-transceiver",
                              GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
        if (!t) {
            gst_caps_unref(caps);
            fprintf(stderr, "rtcpeer: webrtcbin refused a video transceiver\n");
            return false;
        }
        gst_object_unref(t);
    }
    gst_caps_unref(caps);
    if (gst_element_set_state(p->pipe, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
        return false;
    GstStructure *o = gst_structure_new("application/data-channel", "negotiated",
                                        G_TYPE_BOOLEAN, TRUE, "id", G_TYPE_INT, 1023, NULL);
    g_signal_emit_by_name(p->webrtc, "create-data-channel", "porthole", o, &p->own_channel);
    gst_structure_free(o);
    if (!p->own_channel)
        fprintf(stderr, "rtcpeer: no data channel: the offer has no application m-line\n");
    return true;
}

/* opts.relay_hold_ms: the held relayed candidates go in once the hold is
 * over: relay_hold_ms after the robot's first srflx candidate, or when
 * none came, 4 * relay_hold_ms after its answer. */
static bool hold_over(const struct rtcpeer *p)
{
    gint64 hold = (gint64)p->relay_hold_ms * 1000, now = g_get_monotonic_time();
    if (p->remote_srflx_us)
        return now >= p->remote_srflx_us + hold;
    return p->answer_us && now >= p->answer_us + 4 * hold;
}

static gboolean on_hold_tick(gpointer data)
{
    struct rtcpeer *p = data;
    if (!hold_over(p))
        return G_SOURCE_CONTINUE;
    for (guint i = 0; i < p->held_relay->len; i++) {
        const char *s = g_ptr_array_index(p->held_relay, i);
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate", (guint)strtoul(s, NULL, 10),
                              strchr(s, '\n') + 1);
    }
    g_ptr_array_set_size(p->held_relay, 0);
    p->hold_timer = 0;
    return G_SOURCE_REMOVE;
}

/* Holds cand when it is a relayed one and the hold is on. */
bool rtcpeer__hold_relayed(struct rtcpeer *p, guint mline, const char *cand)
{
    if (p->relay_hold_ms && strstr(cand, " typ srflx") && !p->remote_srflx_us)
        p->remote_srflx_us = g_get_monotonic_time();
    if (!p->relay_hold_ms || !strstr(cand, " typ relay") || hold_over(p))
        return false;
    g_ptr_array_add(p->held_relay, g_strdup_printf("%u\n%s", mline, cand));
    if (!p->hold_timer)
        p->hold_timer = g_timeout_add(10, on_hold_tick, p);
    return true;
}

/* ---- the viewer offers (opts.viewer_offers) ---- */

/* opts.twcc: the TWCC header extension on each video m-line of our offer
 * that lacks it, with an id no other extension of the m-line uses (the
 * robot sends with the offer's id; our receiving session reads it from our
 * local description). */
static void offer_twcc(GstSDPMessage *offer)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(offer); i++) {
        GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(offer, i);
        if (g_strcmp0(gst_sdp_media_get_media(m), "video") != 0)
            continue;
        bool used[15] = {false}, has = false;
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); a++) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            int id = 0;
            if (g_strcmp0(attr->key, "extmap") != 0 || !attr->value)
                continue;
            has |= strstr(attr->value, TWCC_URI) != NULL;
            if (sscanf(attr->value, "%d", &id) == 1 && id > 0 && id < 15)
                used[id] = true;
        }
        int id = 3; /* Chromium's */
        while (id < 15 && used[id])
            id++;
        for (int k = 1; id == 15 && k < 15; k++)
            id = used[k] ? 15 : k;
        if (has || id == 15)
            continue;
        char value[128];
        snprintf(value, sizeof value, "%d %s", id, TWCC_URI);
        gst_sdp_media_add_attribute(m, "extmap", value);
    }
}

/* webrtcbin's thread: our offer (the first, or a restart's with r's new
 * credentials) exists; it becomes the local description (queued before it
 * is sent, so that a fast answer finds the right state) and goes to the
 * main context. */
static void on_offer_created(GstPromise *promise, gpointer data)
{
    struct reneg *r = data;
    GstWebRTCSessionDescription *offer =
        rtcpeer__take_description(promise, "offer", "create-offer failed");
    if (!offer || rtcpeer__dead(r->p)) {
        if (offer)
            gst_webrtc_session_description_free(offer);
        return;
    }
    rtcpeer__set_credentials(offer->sdp, r->ufrag, r->pwd);
    if (r->p->twcc)
        offer_twcc(offer->sdp);
    g_signal_emit_by_name(r->p->webrtc, "set-local-description", offer, NULL);
    gchar *text = gst_sdp_message_as_text(offer->sdp);
    rtcpeer__post(r->p, r->ufrag ? EV_REOFFER : EV_OFFER, 0, text);
    g_free(text);
    gst_webrtc_session_description_free(offer);
}

/* Has webrtcbin make an offer; r (taken) carries a restart's credentials. */
static void create_offer(struct rtcpeer *p, struct reneg *r)
{
    g_signal_emit_by_name(p->webrtc, "create-offer", NULL,
                          gst_promise_new_with_change_func(on_offer_created, r,
                                                           rtcpeer__reneg_free));
}

/* available-robots arrived (and its ICE servers were taken): the "click". */
void rtcpeer__make_offer(struct rtcpeer *p)
{
    if (p->offer_asked || !p->webrtc)
        return;
    p->offer_asked = true;
    p->requested_us = g_get_monotonic_time();
    struct reneg *r = g_new0(struct reneg, 1);
    r->p = rtcpeer__ref(p);
    create_offer(p, r);
}

/* Main thread: our first offer goes out in create-session at once (our
 * candidates trickle after session-created). */
void rtcpeer__send_offer(struct rtcpeer *p, const char *sdp)
{
    g_free(p->local_offer);
    p->local_offer = g_strdup(sdp);
    rtcpeer__send_create(p, sdp);
}

/* session-created: the candidates gathered before it, now that they can
 * name the session. */
void rtcpeer__send_early_candidates(struct rtcpeer *p)
{
    for (guint i = 0; i < p->early_cands->len; i++) {
        const char *c = g_ptr_array_index(p->early_cands, i);
        rtcpeer__queue_candidate(p, (guint)strtoul(c, NULL, 10), strchr(c, '\t') + 1);
    }
    g_ptr_array_set_size(p->early_cands, 0);
}

static void on_answer_applied(GstPromise *promise, gpointer data)
{
    (void)data;
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *gerr = NULL;
    if (reply && gst_structure_has_field(reply, "error"))
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
    if (gerr)
        fprintf(stderr, "rtcpeer: the robot's answer was refused: %s\n", gerr->message);
    g_clear_error(&gerr);
    gst_promise_unref(promise);
}

/* webrtc-answer: the first (then the robot's candidates held so far), or
 * the answer to a restart offer. */
void rtcpeer__apply_answer(struct rtcpeer *p, const char *sdp_text)
{
    GstSDPMessage *sdp = NULL;
    if (!p->local_offer || (p->robot_answer && !p->reoffering)) {
        fprintf(stderr, "rtcpeer: an answer to no offer of ours ignored\n");
        return;
    }
    if (gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK) {
        fprintf(stderr, "rtcpeer: the robot's answer is not SDP\n");
        return;
    }
    GstWebRTCSessionDescription *answer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", answer,
                          gst_promise_new_with_change_func(on_answer_applied, NULL, NULL));
    gst_webrtc_session_description_free(answer);
    if (p->robot_answer)
        p->reanswers++;
    else
        p->answer_us = g_get_monotonic_time();
    p->reoffering = false;
    g_free(p->robot_answer);
    p->robot_answer = g_strdup(sdp_text);
    p->answered = true;
    /* Queued after the answer in webrtcbin's task queue. */
    for (guint i = 0; i < p->pending_cands->len; i++) {
        char *s = g_ptr_array_index(p->pending_cands, i);
        char *nl = strchr(s, '\n');
        if (nl)
            rtcpeer__add_remote_candidate(p, (guint)strtoul(s, NULL, 10), nl + 1);
    }
    g_ptr_array_set_size(p->pending_cands, 0);
}

/* An ICE restart when we offer: our libnice stream restarts (new
 * credentials: webrtcbin 1.22 would offer the old ones), and a new offer
 * carries them; the robot restarts its own and answers. One at a time,
 * once the first answer is in. */
bool rtcpeer__restart_by_offer(struct rtcpeer *p)
{
    if (!p->robot_answer || p->reoffering || !p->session_id)
        return false;
    char *mine = rtcpeer__sdp_ufrag(p->local_offer);
    struct reneg *r = g_new0(struct reneg, 1);
    r->p = rtcpeer__ref(p);
    bool ok = rtcpeer__restart_own_ice(p, mine, &r->ufrag, &r->pwd);
    g_free(mine);
    if (!ok) {
        fprintf(stderr, "rtcpeer: cannot restart ICE on our side\n");
        rtcpeer__reneg_free(r);
        return false;
    }
    p->reoffering = true;
    create_offer(p, r);
    return true;
}

/* Main thread: the restart offer, then our candidates again (the robot
 * forgets them with its restart; libnice gathers nothing new). */
void rtcpeer__send_reoffer(struct rtcpeer *p, const char *sdp)
{
    g_free(p->local_offer);
    p->local_offer = g_strdup(sdp);
    rtcpeer_send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "webrtc-offer",
                                   "sessionId", p->session_id, "offer", "type", "offer", "sdp",
                                   sdp));
    p->ice_restarts++;
    for (guint i = 0; i < p->my_cands->len; i++)
        rtcpeer__send_text(p, g_ptr_array_index(p->my_cands, i));
    if (p->gathered)
        rtcpeer_send_json(p, json_pack("{s:s, s:s, s:n}", "type", "ice-candidate", "sessionId",
                                       p->session_id, "candidate"));
}

/* opts.viewer_offers: one video m-line per entry of streamTypes, which
 * must be a JSON array of 1 to TWCC_MLINES entries then (the robot would
 * refuse other offers). No session (NULL): nothing to offer. False with
 * the reason on stderr when it cannot be offered for. */
bool rtcpeer__count_streams(struct rtcpeer *p)
{
    if (!p->streams_json)
        return true;
    json_error_t jerr;
    json_t *a = json_loads(p->streams_json, JSON_DECODE_ANY, &jerr);
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    json_decref(a);
    if (n == 0 || n > TWCC_MLINES) {
        fprintf(stderr, "rtcpeer: viewer_offers needs streamTypes as an array of 1 to %d "
                "entries, not %s\n", TWCC_MLINES, p->streams_json);
        return false;
    }
    p->offers = true;
    p->nvideo = (unsigned)n;
    p->answer_sent = true; /* no answer of ours: candidates go once the session has an id */
    return true;
}
