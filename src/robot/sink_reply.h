/* sink_reply.h - the API request a session without trickle (a REST offer,
 * a WHEP answer) is waiting on: answered once, with the robot's
 * description and every candidate gathered, or with an error when the
 * session ends first.
 *
 * The sink (sink_rest.c, sink_whep.c) embeds one by value and feeds it its
 * session's events: the description made (sink_reply_described) and each
 * local candidate (sink_reply_candidate; the last, NULL, ends gathering).
 * When both are in, or at max_ms after the description (gather_wait.h),
 * ready(owner, gathered) runs once on the main context; it builds its body
 * around sink_reply_description and answers with sink_reply_send. Main
 * thread only; the owner calls sink_reply_clear before it frees itself. */
#ifndef PORTHOLE_ROBOT_SINK_REPLY_H
#define PORTHOLE_ROBOT_SINK_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "robot/api.h"
#include "robot/gather_wait.h"
#include "robot/session.h"

struct sink_reply {
    api_reply_fn reply;     /* until answered */
    void *ctx;
    struct session *s;      /* set with the description */
    struct gather_wait wait;
};

void sink_reply_init(struct sink_reply *r, api_reply_fn reply, void *ctx, unsigned max_ms,
                     gather_wait_fn ready, void *owner);

/* The session's local description is made (the peer keeps it). */
void sink_reply_described(struct sink_reply *r, struct session *s);

/* A local candidate (the peer keeps it); NULL: gathering is complete. */
void sink_reply_candidate(struct sink_reply *r, struct session *s, const char *candidate);

/* Whether the request still waits for its answer. */
bool sink_reply_pending(const struct sink_reply *r);

/* The description with the candidates gathered so far (g_free; NULL if
 * there is none), logged as "session ID: WHAT with N candidate(s)". */
char *sink_reply_description(const struct sink_reply *r, bool gathered, const char *what);

/* Answers the request with status and body (taken), once: later calls
 * only free body. */
void sink_reply_send(struct sink_reply *r, int status, json_t *body);

/* Cancels the deadline: ready does not run afterwards. */
void sink_reply_clear(struct sink_reply *r);

#endif
