/* sink_rest.c - a REST session's offer, waiting for gathering, as the answer to its pending request. */
#include "robot/sink_rest.h"

#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"
#include "robot/gather_wait.h"

/* An offer made for the REST API waits for ICE gathering to complete, so
 * that it carries the robot's candidates (the API has no trickle towards
 * the viewer); past this it goes with the candidates it has. */
#define OFFER_GATHER_MAX_MS 3000

struct sink_rest {
    struct session_sink base; /* first: the session holds a pointer to it */
    api_reply_fn reply;       /* until the offer is answered */
    void *ctx;
    struct session *s;        /* set with the offer */
    struct gather_wait wait;
};

static const struct session_sink_ops rest_ops;

/* gather_wait's callback: answers the pending request with the offer and
 * the candidates gathered so far; nothing when there is no request any
 * more. */
static void finish_offer(void *data, bool gathered)
{
    struct sink_rest *k = data;
    if (!k->reply)
        return;
    size_t n;
    char *text = peer_offer_with_candidates(session_peer(k->s), &n);
    api_reply_fn reply = k->reply;
    k->reply = NULL;
    log_info("session %s: offer with %zu candidate(s) for the REST API%s", session_id(k->s), n,
             gathered ? "" : " (gathering not complete)");
    reply(k->ctx, 200, json_pack("{s:s, s:s, s:s}", "session_id", session_id(k->s), "sdp",
                                 text ? text : "", "type", "offer"));
    g_free(text);
}

static void on_offer(struct session_sink *base, struct session *s, const char *sdp)
{
    (void)sdp; /* the peer keeps it, for peer_offer_with_candidates */
    struct sink_rest *k = (struct sink_rest *)base;
    k->s = s;
    gather_wait_described(&k->wait);
}

static void on_candidate(struct session_sink *base, struct session *s, unsigned mline,
                         const char *mid, const char *candidate)
{
    (void)mline;
    (void)mid;
    struct sink_rest *k = (struct sink_rest *)base;
    if (candidate)
        return; /* the peer keeps it, for peer_offer_with_candidates */
    k->s = s;
    gather_wait_gathered(&k->wait);
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
    if (!k->reply)
        return;
    api_reply_fn reply = k->reply;
    k->reply = NULL;
    reply(k->ctx, 503, api_error_body("session %s ended before its offer was ready: %s",
                                      session_id(s), why));
}

static void sink_free(struct session_sink *base)
{
    struct sink_rest *k = (struct sink_rest *)base;
    gather_wait_clear(&k->wait);
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
    k->reply = reply;
    k->ctx = ctx;
    gather_wait_init(&k->wait, OFFER_GATHER_MAX_MS, finish_offer, k);
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
    if (k->reply) {
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
