/* sink_cloud.c - a cloud session's offer (or answer), candidates, errors and closes, sent to porthole-cloud. */
#include "robot/sink_cloud.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "robot/sdp_offer.h"

struct sink_cloud {
    struct session_sink base; /* first: the session holds a pointer to it */
    struct signaling *sig;
    bool answering;           /* the viewer offered: on_offer carries our answers */
    char *offer;              /* the viewer's offer until our answer is out, or NULL */
};

static void send_msg(struct signaling *sig, json_t *msg)
{
    signaling_send(sig, msg);
    json_decref(msg);
}

void sink_cloud_send_error(struct signaling *sig, const char *sid, const char *code,
                           const char *reason)
{
    log_warn("session %s: %s: %s", sid, code, reason);
    send_msg(sig, json_pack("{s:s, s:s, s:s, s:s}", "type", "session-error", "sessionId", sid,
                            "code", code, "error", reason));
}

void sink_cloud_send_close(struct signaling *sig, const char *sid)
{
    send_msg(sig, json_pack("{s:s, s:s}", "type", "close-session", "sessionId", sid));
}

static void on_offer(struct session_sink *k, struct session *s, const char *sdp)
{
    struct sink_cloud *c = (struct sink_cloud *)k;
    if (c->offer) { /* answered: the peer has its own copy */
        g_free(c->offer);
        c->offer = NULL;
        c->base.remote_offer = NULL;
    }
    const char *type = c->answering ? "answer" : "offer";
    send_msg(c->sig, json_pack("{s:s, s:s, s:{s:s, s:s}}", "type",
                               c->answering ? "webrtc-answer" : "webrtc-offer", "sessionId",
                               session_id(s), type, "type", type, "sdp", sdp));
}

static void on_candidate(struct session_sink *k, struct session *s, unsigned mline,
                         const char *mid, const char *candidate)
{
    json_t *c = json_null(); /* null: end of candidates */
    if (candidate) {
        c = json_pack("{s:s, s:i}", "candidate", candidate, "sdpMLineIndex", (int)mline);
        if (mid)
            json_object_set_new(c, "sdpMid", json_string(mid));
    }
    send_msg(((struct sink_cloud *)k)->sig,
             json_pack("{s:s, s:s, s:o}", "type", "ice-candidate", "sessionId", session_id(s),
                       "candidate", c));
}

static void on_error(struct session_sink *k, struct session *s, const char *code,
                     const char *reason)
{
    if (!session_orphan(s))
        sink_cloud_send_error(((struct sink_cloud *)k)->sig, session_id(s), code, reason);
    else
        log_warn("session %s: %s: %s", session_id(s), code, reason);
}

static void on_closed(struct session_sink *k, struct session *s, bool tell, const char *why)
{
    (void)why;
    if (tell && !session_orphan(s))
        sink_cloud_send_close(((struct sink_cloud *)k)->sig, session_id(s));
}

static void sink_free(struct session_sink *k)
{
    g_free(((struct sink_cloud *)k)->offer);
    g_free(k);
}

static const struct session_sink_ops cloud_ops = {
    .origin = "cloud",
    .restarts = true,
    .client_label = "client",
    .opened_through = "the cloud",
    .on_offer = on_offer,
    .on_candidate = on_candidate,
    .on_error = on_error,
    .on_closed = on_closed,
    .free = sink_free,
};

struct session_sink *sink_cloud_new(struct signaling *sig, const char *offer)
{
    struct sink_cloud *k = g_new0(struct sink_cloud, 1);
    k->base.ops = &cloud_ops;
    k->sig = sig;
    k->answering = offer != NULL;
    k->offer = g_strdup(offer);
    k->base.remote_offer = k->offer;
    return &k->base;
}

bool sink_cloud_owns(struct session *s)
{
    return session_sink(s)->ops == &cloud_ops;
}

const char *sink_cloud_description(json_t *msg, const char *kind)
{
    json_t *d = json_object_get(msg, kind);
    const char *type = json_string_value(json_object_get(d, "type"));
    return type && strcmp(type, kind) == 0 ? json_string_value(json_object_get(d, "sdp")) : NULL;
}

int sink_cloud_read_offer(json_t *msg, const struct session_set_params *params, size_t nstreams,
                          const char **sdp, char *err, size_t errlen)
{
    json_t *o = json_object_get(msg, "offer");
    *sdp = NULL;
    if (!o || json_is_null(o))
        return 0;
    const char *text = sink_cloud_description(msg, "offer");
    if (!text) {
        snprintf(err, errlen, "'offer' must be an object {type:\"offer\", sdp:string}");
        return -1;
    }
    /* Checked here too (the peer checks it again, with its gate), so that a
     * bad offer is refused as invalid-offer rather than a failed session. */
    struct sdp_offer_info info;
    GstSDPMessage *checked = sdp_offer_check(text, params->peer.max_sdp,
                                             media_rtp_encoding(params->media), nstreams, NULL,
                                             &info, err, errlen);
    if (!checked)
        return -1;
    gst_sdp_message_free(checked);
    *sdp = text;
    return 0;
}
