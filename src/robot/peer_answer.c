/* peer_answer.c - a peer that answers the viewer's offer (WHEP and any
 * other offer-first client): the offer as remote description, then
 * webrtcbin's answer as local description. */
#include "robot/peer_internal.h"

#include <string.h>

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
