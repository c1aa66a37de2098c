/* sink_whep.c - sessions opened with the viewer's offer (WHEP): the
 * answer as the pending request's reply, trickled fragments, DELETE. */
#include "robot/sink_whep.h"

#include <gst/sdp/sdp.h>
#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"
#include "robot/candidate.h"
#include "robot/media.h"
#include "robot/sdp_offer.h"
#include "robot/sdpfrag.h"
#include "robot/sink_reply.h"

/* As for a REST offer (sink_rest.c): the answer waits for ICE gathering so
 * that it carries the robot's candidates; past this it goes with those it
 * has. */
#define ANSWER_GATHER_MAX_MS 3000

struct sink_whep {
    struct session_sink base; /* first: the session holds a pointer to it */
    struct sink_reply r;      /* the request waiting for the answer */
    char *offer;              /* the viewer's offer, until session_open returns */
    char *sub;                /* the creator's token subject, or NULL */
    char *ufrag;              /* the viewer's ICE ufrag (its offer's, or its last restart's) */
    char etag[IDS_TOKEN_LEN + 3]; /* "\"<token>\"" */
    char *refusal;            /* webrtcbin's refusal of the offer, for the reply */
};

static const struct session_sink_ops whep_ops;

/* gather_wait's callback: answers the pending request with the answer and
 * the candidates gathered so far; nothing when there is no request any
 * more. */
static void finish_answer(void *data, bool gathered)
{
    struct sink_whep *k = data;
    if (!sink_reply_pending(&k->r))
        return;
    char *text = sink_reply_description(&k->r, gathered, "WHEP answer");
    sink_reply_send(&k->r, 201,
                    json_pack("{s:s, s:s, s:s, s:s}", "session_id", session_id(k->r.s), "sdp",
                              text ? text : "", "type", "answer", "etag", k->etag));
    g_free(text);
}

static void on_answer(struct session_sink *base, struct session *s, const char *sdp)
{
    (void)sdp; /* the peer keeps it, for peer_offer_with_candidates */
    sink_reply_described(&((struct sink_whep *)base)->r, s);
}

static void on_candidate(struct session_sink *base, struct session *s, unsigned mline,
                         const char *mid, const char *candidate)
{
    (void)mline;
    (void)mid;
    sink_reply_candidate(&((struct sink_whep *)base)->r, s, candidate);
}

static void on_error(struct session_sink *base, struct session *s, const char *code,
                     const char *reason)
{
    struct sink_whep *k = (struct sink_whep *)base;
    log_warn("session %s: %s: %s", session_id(s), code, reason);
    if (strcmp(code, "offer-rejected") == 0 && !k->refusal)
        k->refusal = g_strdup(reason);
}

/* Answers a request still waiting for its answer, with an error. */
static void on_closed(struct session_sink *base, struct session *s, bool tell, const char *why)
{
    (void)tell;
    struct sink_whep *k = (struct sink_whep *)base;
    if (!sink_reply_pending(&k->r))
        return;
    if (k->refusal)
        sink_reply_send(&k->r, 400, api_error_body("the offer was refused: %s", k->refusal));
    else
        sink_reply_send(&k->r, 503,
                        api_error_body("session %s ended before its answer was ready: %s",
                                       session_id(s), why));
}

static void sink_free(struct session_sink *base)
{
    struct sink_whep *k = (struct sink_whep *)base;
    sink_reply_clear(&k->r);
    g_free(k->offer);
    g_free(k->sub);
    g_free(k->ufrag);
    g_free(k->refusal);
    g_free(k);
}

static const struct session_sink_ops whep_ops = {
    .origin = "whep",
    .client_label = "WHEP client",
    .opened_through = "WHEP",
    .on_offer = on_answer,
    .on_candidate = on_candidate,
    .on_error = on_error,
    .on_closed = on_closed,
    .free = sink_free,
};

/* The ICE ufrag of the first m-line of sdp that has one (or the session's). */
static char *offer_ufrag(const GstSDPMessage *sdp)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const char *v =
            gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, i), "ice-ufrag");
        if (v)
            return g_strdup(v);
    }
    return g_strdup(gst_sdp_message_get_attribute_val(sdp, "ice-ufrag"));
}

int sink_whep_open(struct session_set *set, const struct api_caller *caller,
                   const enum cam_stream *streams, size_t n, const char *offer,
                   api_reply_fn reply, void *ctx, char *err, size_t errlen)
{
    const struct session_set_params *params = session_set_params(set);
    struct sdp_offer_info info;
    /* Checked here too (the peer checks it again, with its gate), so that
     * a bad offer is a 400 with its reason rather than a failed session. */
    GstSDPMessage *sdp = sdp_offer_check(offer, params->peer.max_sdp,
                                         media_rtp_encoding(params->media), n, NULL, &info, err,
                                         errlen);
    if (!sdp)
        return 400;
    char sid[IDS_TOKEN_LEN + 1], tag[IDS_TOKEN_LEN + 1];
    if (ids_token(sid) != 0 || ids_token(tag) != 0) {
        gst_sdp_message_free(sdp);
        snprintf(err, errlen, "no randomness for a session id");
        return 503;
    }
    struct sink_whep *k = g_new0(struct sink_whep, 1);
    k->base.ops = &whep_ops;
    sink_reply_init(&k->r, reply, ctx, ANSWER_GATHER_MAX_MS, finish_answer, k);
    k->offer = g_strdup(offer);
    k->base.remote_offer = k->offer;
    k->sub = g_strdup(caller ? caller->sub : NULL);
    k->ufrag = offer_ufrag(sdp);
    snprintf(k->etag, sizeof k->etag, "\"%s\"", tag);
    gst_sdp_message_free(sdp);
    struct session_owner owner = {.client_id = caller ? caller->client_id : NULL,
                                  .sub = caller ? caller->sub : NULL};
    const char *code = "internal";
    /* On failure session_open frees k without a word: reply is never called. */
    struct session *s = session_open(set, sid, caller ? &owner : NULL, streams, n, &k->base,
                                     &code, err, errlen);
    if (!s)
        return strcmp(code, "session-limit") == 0 ? 503 : 500;
    g_free(k->offer); /* the peer has its copy */
    k->offer = NULL;
    k->base.remote_offer = NULL;
    return 0;
}

/* The WHEP session id names for caller, or NULL with the 404 in err. */
static struct sink_whep *whep_session(struct session_set *set, const struct api_caller *caller,
                                      const char *id, struct session **out, char *err,
                                      size_t errlen)
{
    struct session *s = session_set_find(set, id);
    struct sink_whep *k = s && session_sink(s)->ops == &whep_ops
                              ? (struct sink_whep *)session_sink(s)
                              : NULL;
    if (k && k->sub && caller && !caller->admin &&
        (!caller->sub || strcmp(caller->sub, k->sub) != 0))
        k = NULL;
    if (!k) {
        snprintf(err, errlen, "no WHEP session '%.64s' on this robot", id);
        return NULL;
    }
    *out = s;
    return k;
}

/* Adds the fragment's candidates to s's peer. Returns 204, or 400. */
static int add_fragment(struct session *s, const struct sdpfrag *f, char *err, size_t errlen)
{
    for (size_t i = 0; i < f->ncandidates; i++) {
        const struct sdpfrag_candidate *c = &f->candidates[i];
        char *line = g_strndup(c->line, c->len);
        int rc = peer_add_candidate(session_peer(s), line, c->mid[0] ? -1 : c->mline,
                                    c->mid[0] ? c->mid : NULL, err, errlen);
        g_free(line);
        if (rc < 0)
            return 400;
    }
    if (f->end_of_candidates)
        log_debug("session %s: the WHEP client's candidates are complete", session_id(s));
    return 204;
}

/* Returns 0 when every candidate of f parses (candidate.h), else -1 with
 * err, as peer_add_candidate words it. */
static int check_candidates(const struct sdpfrag *f, char *err, size_t errlen)
{
    for (size_t i = 0; i < f->ncandidates; i++) {
        struct candidate c;
        char why[192];
        char *line = g_strndup(f->candidates[i].line, f->candidates[i].len);
        int rc = candidate_parse(line, &c, why, sizeof why);
        g_free(line);
        if (rc < 0) {
            snprintf(err, errlen, "malformed ICE candidate: %s", why);
            return -1;
        }
    }
    return 0;
}

/* An ICE restart of s with the fragment's credentials. Returns 200 with
 * *answer, or 400, 422 or 503 with err; nothing has changed then. */
static int restart(struct sink_whep *k, struct session *s, const struct sdpfrag *f,
                   json_t **answer, char *err, size_t errlen)
{
    if (!f->pwd[0]) {
        snprintf(err, errlen, "an ICE restart needs a=ice-pwd as well as a=ice-ufrag");
        return 400;
    }
    if (check_candidates(f, err, errlen) < 0)
        return 400;
    char tag[IDS_TOKEN_LEN + 1];
    if (ids_token(tag) != 0) {
        snprintf(err, errlen, "no randomness for an ETag");
        return 503;
    }
    char *ours = peer_restart_ice_remote(session_peer(s), f->ufrag, f->pwd, err, errlen);
    if (!ours)
        return 422;
    g_free(k->ufrag);
    k->ufrag = g_strdup(f->ufrag);
    snprintf(k->etag, sizeof k->etag, "\"%s\"", tag);
    /* They parse (checked above): only the gate may refuse them, quietly. */
    add_fragment(s, f, err, errlen);
    *answer = json_pack("{s:s, s:s}", "sdpfrag", ours, "etag", k->etag);
    g_free(ours);
    return 200;
}

int sink_whep_patch(struct session_set *set, const struct api_caller *caller, const char *id,
                    const char *if_match, const char *frag, size_t len, json_t **answer,
                    char *err, size_t errlen)
{
    struct session *s;
    struct sink_whep *k = whep_session(set, caller, id, &s, err, errlen);
    if (!k)
        return 404;
    if (if_match && strcmp(if_match, "*") != 0 && strcmp(if_match, k->etag) != 0) {
        snprintf(err, errlen, "If-Match does not name this session's ETag %s", k->etag);
        return 412;
    }
    if (sink_reply_pending(&k->r)) {
        snprintf(err, errlen, "session %s has not answered yet", id);
        return 409;
    }
    struct sdpfrag *f = g_new(struct sdpfrag, 1);
    int status = 400;
    if (sdpfrag_parse(frag, len, f, err, errlen) == 0) {
        bool fresh = f->ufrag[0] && k->ufrag && strcmp(f->ufrag, k->ufrag) != 0;
        if (fresh && if_match && strcmp(if_match, "*") == 0) {
            status = restart(k, s, f, answer, err, errlen);
        } else if (fresh) {
            snprintf(err, errlen, "the fragment's a=ice-ufrag is not this session's: an ICE "
                     "restart needs If-Match: \"*\"");
            status = 422;
        } else {
            status = add_fragment(s, f, err, errlen);
        }
    }
    g_free(f);
    return status;
}

int sink_whep_delete(struct session_set *set, const struct api_caller *caller, const char *id,
                     char *err, size_t errlen)
{
    struct session *s;
    if (!whep_session(set, caller, id, &s, err, errlen))
        return 404;
    session_end(s, true, "ended by the WHEP client (DELETE)");
    return 200;
}
