/* peer_answer.c - a peer that answers the viewer's offer (WHEP and any
 * other offer-first client): the offer as remote description, then
 * webrtcbin's answer as local description. */
#include "robot/peer_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "robot/peer_ice.h"
#include "robot/sdp_offer.h"

static void on_answer_created(GstPromise *promise, gpointer data)
{
    struct peer *p = data;
    const GstStructure *reply = gst_promise_get_reply(promise);
    GstWebRTCSessionDescription *answer = NULL;
    GError *gerr = NULL;
    if (reply && gst_structure_has_field(reply, "error"))
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
    else if (reply)
        gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
    if (!answer) {
        peer__post_error(p, "answer-failed", gerr ? gerr->message : "webrtcbin made no answer");
        g_clear_error(&gerr);
        gst_promise_unref(promise);
        return;
    }
    /* As for an offer (peer.c): set before anyone sees it, with a promise
     * interrupted at once. */
    GstPromise *set = gst_promise_new();
    g_signal_emit_by_name(p->webrtc, "set-local-description", answer, set);
    gst_promise_interrupt(set);
    gst_promise_unref(set);
    gchar *text = gst_sdp_message_as_text(answer->sdp);
    peer__post_local(p, text);
    g_free(text);
    gst_webrtc_session_description_free(answer);
    gst_promise_unref(promise);
}

/* webrtcbin's thread: the offer is the remote description (or refused). */
static void on_offer_applied(GstPromise *promise, gpointer data)
{
    struct peer *p = data;
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (reply && gst_structure_has_field(reply, "error")) {
        GError *gerr = NULL;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        peer__post_error(p, "offer-rejected", gerr ? gerr->message : "webrtcbin refused the offer");
        g_clear_error(&gerr);
    } else {
        GstPromise *next =
            gst_promise_new_with_change_func(on_answer_created, peer__ref(p), peer__unref);
        g_signal_emit_by_name(p->webrtc, "create-answer", NULL, next);
    }
    gst_promise_unref(promise);
}

void peer__answer(struct peer *p, GstSDPMessage *offer)
{
    GstWebRTCSessionDescription *desc =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, offer); /* owns offer */
    GstPromise *promise =
        gst_promise_new_with_change_func(on_offer_applied, peer__ref(p), peer__unref);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", desc, promise);
    gst_webrtc_session_description_free(desc);
    p->answered = true;
}

/* p->offer (our answer) with the credentials of an ICE restart, so that the
 * next restart finds the stream by them. */
static void keep_credentials(struct peer *p, const char *ufrag, const char *pwd)
{
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(p->offer, &sdp) != GST_SDP_OK) {
        if (sdp)
            gst_sdp_message_free(sdp);
        return;
    }
    peer_ice_set_credentials(sdp, ufrag, pwd);
    g_free(p->offer);
    p->offer = gst_sdp_message_as_text(sdp);
    gst_sdp_message_free(sdp);
}

char *peer_restart_ice_remote(struct peer *p, const char *ufrag, const char *pwd, char *err,
                              size_t errlen)
{
    if (!p->answering || !p->offer || p->nmedia == 0) {
        snprintf(err, errlen, p->answering ? "the answer is not out yet"
                                           : "the robot offered: it restarts ICE itself");
        return NULL;
    }
    char *ours = peer_ice_offer_ufrag(p->offer), *nu = NULL, *np = NULL;
    int rc = ours ? peer_ice_restart_remote(p->webrtc, ours, ufrag, pwd, &nu, &np) : -1;
    g_free(ours);
    if (rc < 0) {
        snprintf(err, errlen, "no ICE stream has the answer's credentials");
        return NULL;
    }
    p->restarts++;
    log_info("peer %s: ICE restart %u, begun by the viewer", p->session_id, p->restarts);
    keep_credentials(p, nu, np);
    peer__forget_viewer(p); /* held relayed candidates: the old generation's */
    GString *frag = g_string_new(NULL);
    g_string_append_printf(frag, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", nu, np);
    g_string_append_printf(frag, "m=%s 9 UDP/TLS/RTP/SAVPF 0\r\n",
                           p->kinds[0] ? p->kinds[0] : "video");
    if (p->mids[0])
        g_string_append_printf(frag, "a=mid:%s\r\n", p->mids[0]);
    /* One transport (max-bundle): libnice keeps its candidates across the
     * restart, under the new credentials. */
    for (guint i = 0; i < p->local->len; i++)
        g_string_append_printf(frag, "a=%s\r\n",
                               g_array_index(p->local, struct local_candidate, i).line);
    if (p->gathered)
        g_string_append(frag, "a=end-of-candidates\r\n");
    g_free(nu);
    g_free(np);
    return g_string_free(frag, FALSE);
}

/* The offer's own a=candidate lines (sdp_offer_check passed them through
 * the gate) go to ICE like trickled ones. */
static void add_offer_candidates(struct peer *p, const GstSDPMessage *sdp)
{
    char err[160];
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        for (guint j = 0; j < gst_sdp_media_attributes_len(m); j++) {
            const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, j);
            if (strcmp(a->key, "candidate") != 0 || !a->value)
                continue;
            char *line = g_strconcat("candidate:", a->value, NULL);
            if (peer_add_candidate(p, line, (int)i, NULL, err, sizeof err) < 0)
                log_info("peer %s: a candidate of the restart offer: %s", p->session_id, err);
            g_free(line);
        }
    }
}

char *peer_restart_ice_offer(struct peer *p, const char *offer, char *err, size_t errlen)
{
    if (!p->answering || !p->offer) {
        snprintf(err, errlen, p->answering ? "the answer to the first offer is not out yet"
                                           : "the robot offered: it restarts ICE itself");
        return NULL;
    }
    struct sdp_offer_info info;
    GstSDPMessage *sdp = sdp_offer_check(offer, p->max_sdp, media_rtp_encoding(p->media),
                                         p->ntracks, &p->gate, &info, err, errlen);
    if (!sdp)
        return NULL;
    const char *ufrag, *pwd;
    peer_ice_credentials(sdp, &ufrag, &pwd);
    char *frag = ufrag && pwd ? peer_restart_ice_remote(p, ufrag, pwd, err, errlen) : NULL;
    if (!frag) {
        gst_sdp_message_free(sdp);
        return NULL;
    }
    g_free(frag); /* the answer below carries the same, whole */
    add_offer_candidates(p, sdp);
    gst_sdp_message_free(sdp);
    size_t n;
    return peer_offer_with_candidates(p, &n);
}

bool peer_answering(const struct peer *p)
{
    return p->answering;
}
