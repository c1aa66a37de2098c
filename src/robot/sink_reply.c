/* sink_reply.c - the request a session without trickle is waiting on (sink_reply.h). */
#include "robot/sink_reply.h"

#include "common/log.h"

void sink_reply_init(struct sink_reply *r, api_reply_fn reply, void *ctx, unsigned max_ms,
                     gather_wait_fn ready, void *owner)
{
    *r = (struct sink_reply){.reply = reply, .ctx = ctx};
    gather_wait_init(&r->wait, max_ms, ready, owner);
}

void sink_reply_described(struct sink_reply *r, struct session *s)
{
    r->s = s;
    gather_wait_described(&r->wait);
}

void sink_reply_candidate(struct sink_reply *r, struct session *s, const char *candidate)
{
    if (candidate)
        return;
    r->s = s;
    gather_wait_gathered(&r->wait);
}

bool sink_reply_pending(const struct sink_reply *r)
{
    return r->reply != NULL;
}

char *sink_reply_description(const struct sink_reply *r, bool gathered, const char *what)
{
    size_t n = 0;
    char *text = peer_offer_with_candidates(session_peer(r->s), &n);
    log_info("session %s: %s with %zu candidate(s)%s", session_id(r->s), what, n,
             gathered ? "" : " (gathering not complete)");
    return text;
}

void sink_reply_send(struct sink_reply *r, int status, json_t *body)
{
    api_reply_fn reply = r->reply;
    r->reply = NULL;
    if (reply)
        reply(r->ctx, status, body);
    else
        json_decref(body);
}

void sink_reply_clear(struct sink_reply *r)
{
    gather_wait_clear(&r->wait);
}
