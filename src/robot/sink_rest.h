/* sink_rest.h - sessions opened through the REST API (POST
 * /api/webrtc/offer, docs/API.md): their signaling is the pending request.
 *
 * The API has no trickle towards the viewer, so a REST session's offer
 * waits for ICE gathering to complete (at most 3 s, then it goes with the
 * candidates it has) and answers the pending request once, with the
 * robot's candidates in the SDP (peer_offer_with_candidates). A session
 * that ends first answers it 503. The viewer's answer and candidates come
 * back through sink_rest_answer and sink_rest_candidate. Errors are logged
 * (a REST client reads them from GET /api/webrtc/sessions/{id}).
 *
 * These are struct api_sessions' open, answer and candidate operations
 * (api.h), with the same statuses. Main thread only. */
#ifndef PORTHOLE_ROBOT_SINK_REST_H
#define PORTHOLE_ROBOT_SINK_REST_H

#include <stddef.h>

#include "robot/api.h"
#include "robot/camera.h"
#include "robot/session.h"

/* Opens a session for owner (NULL: the robot's own port) on
 * streams[0..n-1] under a fresh random id. Returns 0 and later calls
 * reply(ctx, 200, {session_id, sdp, type:"offer"}) (or 503 if the session
 * ends first); or returns 500, or 503 (a session limit), with err filled
 * and never calls reply. */
int sink_rest_open(struct session_set *set, const struct session_owner *owner,
                   const enum cam_stream *streams, size_t n, api_reply_fn reply, void *ctx,
                   char *err, size_t errlen);

/* Applies the viewer's answer to REST session id: 200, or 404 (no such
 * session), 409 (opened elsewhere, or its offer is not out yet), 422 (the
 * answer is refused), with err filled. */
int sink_rest_answer(struct session_set *set, const char *id, const char *sdp, char *err,
                     size_t errlen);

/* Adds a viewer's candidate ("" ends them) to REST session id: 200 (also
 * for a candidate its gate refused, which is counted and logged there;
 * icegate.h), or 404, 409, 422 (malformed) with err filled. */
int sink_rest_candidate(struct session_set *set, const char *id, const char *candidate,
                        int mline, const char *mid, char *err, size_t errlen);

#endif
