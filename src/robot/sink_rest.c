/* sink_rest.c - a REST session's offer, waiting for gathering, as the answer to its pending request. */
#include "robot/sink_rest.h"

#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"
#include "robot/sink_reply.h"

/* An offer made for the REST API waits for ICE gathering to complete, so
 * that it carries the robot's candidates (the API has no trickle towards
 * the viewer); past this it goes with the candidates it has. */
#define OFFER_GATHER_MAX_MS 3000

struct sink_rest {
    struct session_sink base; /* first: the session holds a pointer to it */
    struct sink_reply r;      /* the request waiting for the offer */
};

static const struct session_sink_ops rest_ops;

/* gather_wait's callback: answers the pending request with the offer and
 * the candidates gathered so far; nothing when there is no request any
 * more. */
static void finish_offer(void *data, bool gathered)
{
    struct sink_rest *k = data;
    if (!sink_reply_pending(&k->r))
        return;
    char *text = sink_reply_description(&k->r, gathered, "offer for the REST API");
    sink_reply_send(&k->r, 200, json_pack("{s:s, s:s, s:s}", "session_id", session_id(k->r.s),
                                          "sdp", text ? text : "", "type", "offer"));
    g_free(text);
}

static void on_offer(struct session_sink *base, struct session *s, const char *sdp)
{
    (void)sdp; /* the peer keeps it, for peer_offer_with_candidates */
    sink_reply_described(&((struct sink_rest *)base)->r, s);
}

static void on_candidate(struct session_sink *base, struct session *s, unsigned mline,
                         const char *mid, const char *candidate)
{
    (void)mline;
    (void)mid;
    sink_reply_candidate(&((struct sink_rest *)base)->r, s, candidate);
}

static void on_error(struct session_sink *base, struct session *s, const char *code,
                     const char *reason)
{
    (void)base;
    log_warn("session %s: %s: %s", session_id(s), code, reason);
}

/* Answers a request still waiting for its offer, with an error. */
static void on_closed(struct session_sink *base, struct session *s, bool tell, const char *why)
{
    (void)tell;
    struct sink_rest *k = (struct sink_rest *)base;
    if (sink_reply_pending(&k->r))
        sink_reply_send(&k->r, 503,
                        api_error_body("session %s ended before its offer was ready: %s",
                                       session_id(s), why));
}

static void sink_free(struct session_sink *base)
{
    struct sink_rest *k = (struct sink_rest *)base;
    sink_reply_clear(&k->r);
    g_free(k);
}

static const struct session_sink_ops rest_ops = {
    .origin = "api",
    .client_label = "REST client",
    .opened_through = "the REST API",
    .on_offer = on_offer,
    .on_candidate = on_candidate,
    .on_error = on_error,
    .on_closed = on_closed,
    .free = sink_free,
};

int sink_rest_open(struct session_set *set, const struct session_owner *owner,
                   const enum cam_stream *streams, size_t n, api_reply_fn reply, void *ctx,
                   char *err, size_t errlen)
{
    char sid[IDS_TOKEN_LEN + 1];
    if (ids_token(sid) != 0) {
        snprintf(err, errlen, "no randomness for a session id");
        return 503;
    }
    struct sink_rest *k = g_new0(struct sink_rest, 1);
    k->base.ops = &rest_ops;
    sink_reply_init(&k->r, reply, ctx, OFFER_GATHER_MAX_MS, finish_offer, k);
    const char *code = "internal";
    /* On failure session_open frees k without a word: reply is never called. */
    if (!session_open(set, sid, owner, streams, n, &k->base, &code, err, errlen))
        return strcmp(code, "session-limit") == 0 ? 503 : 500;
    return 0;
}

/* The REST session id names, for a request about its what ("answer",
 * "candidates"); NULL with *status and err set when there is none or
 * another side opened it (its signaling comes from there). */
static struct sink_rest *rest_session(struct session_set *set, const char *id, const char *what,
                                      struct session **out, int *status, char *err,
                                      size_t errlen)
{
    struct session *s = session_set_find(set, id);
    if (!s) {
        snprintf(err, errlen, "no session '%.64s' on this robot", id);
        *status = 404;
        return NULL;
    }
    if (session_sink(s)->ops != &rest_ops) {
        snprintf(err, errlen, "session %s was opened through %s; its %s come%s from there",
                 session_id(s), session_sink(s)->ops->opened_through, what,
                 strcmp(what, "answer") == 0 ? "s" : "");
        *status = 409;
        return NULL;
    }
    *out = s;
    return (struct sink_rest *)session_sink(s);
}

int sink_rest_answer(struct session_set *set, const char *id, const char *sdp, char *err,
                     size_t errlen)
{
    int status;
    struct session *s;
    struct sink_rest *k = rest_session(set, id, "answer", &s, &status, err, errlen);
    if (!k)
        return status;
    if (sink_reply_pending(&k->r)) {
        snprintf(err, errlen, "session %s has no offer yet", session_id(s));
        return 409;
    }
    return peer_set_answer(session_peer(s), sdp, err, errlen) == 0 ? 200 : 422;
}

int sink_rest_candidate(struct session_set *set, const char *id, const char *candidate,
                        int mline, const char *mid, char *err, size_t errlen)
{
    int status;
    struct session *s;
    struct sink_rest *k = rest_session(set, id, "candidates", &s, &status, err, errlen);
    if (!k)
        return status;
    return peer_add_candidate(session_peer(s), candidate, mline, mid, err, errlen) < 0 ? 422
                                                                                      : 200;
}
