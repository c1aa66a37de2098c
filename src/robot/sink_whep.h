/* sink_whep.h - sessions a viewer opens with its own offer: WHEP
 * (draft-ietf-wish-whep, docs/PROTOCOL.md "WHEP"), and any other
 * offer-first client of the REST API.
 *
 * The viewer's offer is checked (sdp_offer.h) before a session exists;
 * the session's peer answers it, and the answer, once ICE gathering is
 * complete (at most 3 s; the robot does not trickle towards a WHEP
 * client), answers the pending request with 201. The viewer trickles its
 * own candidates in SDP fragments (sdpfrag.h, RFC 8840) and ends the
 * session with DELETE. A fragment with new ICE credentials and If-Match:
 * "*" restarts ICE (peer_restart_ice_remote): the answer is a fragment
 * with the robot's new credentials and candidates, and a new ETag.
 *
 * Who may touch a session: whoever names its id (a 128-bit random token,
 * the WHEP resource's URL), except that a session opened through a cloud
 * that runs with auth (caller->sub set) is touched only by a caller of the
 * same token subject, or an admin; to anyone else it does not exist (404).
 *
 * These are struct api_sessions' whep operations (api.h). Main thread
 * only. */
#ifndef PORTHOLE_ROBOT_SINK_WHEP_H
#define PORTHOLE_ROBOT_SINK_WHEP_H

#include <stddef.h>

#include "robot/api.h"
#include "robot/camera.h"
#include "robot/session.h"

/* Opens a session for caller (NULL: the robot's own port) on
 * streams[0..n-1] answering offer (copied), under a fresh random id.
 * Returns 0 and later calls reply(ctx, 201, {session_id, sdp, type:
 * "answer", etag}) (or 400 if webrtcbin refuses the offer, 503 if the
 * session ends first); or returns 400 (the offer: sdp_offer.h's words),
 * 503 (a session limit) or 500, with err filled, and never calls reply. */
int sink_whep_open(struct session_set *set, const struct api_caller *caller,
                   const enum cam_stream *streams, size_t n, const char *offer,
                   api_reply_fn reply, void *ctx, char *err, size_t errlen);

/* Adds the candidates of an SDP fragment (frag[0..len)) to WHEP session
 * id. if_match: the request's If-Match, or NULL. Returns 204; or 200 for
 * an ICE restart (new a=ice-ufrag and a=ice-pwd, If-Match: "*") with
 * *answer = {sdpfrag, etag}, the robot's new credentials and candidates;
 * or 404 (no such WHEP session for caller), 412 (If-Match is not the
 * session's ETag nor "*"), 400 (a malformed fragment or candidate; a
 * restart without a=ice-pwd), 422 (other credentials than the session's
 * without If-Match: "*"), 409 (the answer is not out yet), with err
 * filled. Candidates the gate refuses are counted, not errors. */
int sink_whep_patch(struct session_set *set, const struct api_caller *caller, const char *id,
                    const char *if_match, const char *frag, size_t len, json_t **answer,
                    char *err, size_t errlen);

/* Ends WHEP session id: 200, or 404 with err filled. */
int sink_whep_delete(struct session_set *set, const struct api_caller *caller, const char *id,
                     char *err, size_t errlen);

#endif
