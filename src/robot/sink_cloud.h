/* sink_cloud.h - the signaling of sessions opened by porthole-cloud
 * (create-session): offer (or answer), candidates, errors and closes go over the
 * cloud link (signaling.c) as PROTOCOL.md's messages.
 *
 * Once a session is an orphan (session_set_orphan: the cloud shut down or
 * the link closed) its errors and closes are only logged; its late
 * candidates still go to signaling_send, which drops them while the link
 * is down. Main thread only. */
#ifndef PORTHOLE_ROBOT_SINK_CLOUD_H
#define PORTHOLE_ROBOT_SINK_CLOUD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/session.h"
#include "robot/signaling.h"

/* A sink for one session opened by the cloud, for session_open (which
 * takes it). sig is borrowed and must outlive every session. offer: the
 * viewer's offer when its create-session carried one (copied; the peer
 * answers it and every local description then goes out as webrtc-answer,
 * ICE restarts' included), or NULL: the robot offers (webrtc-offer). */
struct session_sink *sink_cloud_new(struct signaling *sig, const char *offer);

/* The SDP of msg's description kind ("offer" or "answer": webrtc-offer,
 * webrtc-answer, create-session's offer) when msg[kind] is an object
 * {type: kind, sdp: string}; borrowed from msg. NULL otherwise. */
const char *sink_cloud_description(json_t *msg, const char *kind);

/* Reads create-session's "offer" (msg; the viewer offers first): absent or
 * null is none (*sdp NULL, 0); an object {type:"offer", sdp} whose SDP
 * sdp_offer_check (sdp_offer.h) accepts for nstreams streams of the set's
 * codec and --max-message is 0 with *sdp borrowed from msg; anything else
 * -1 with the reason in err (the session-error code is "invalid-offer"). */
int sink_cloud_read_offer(json_t *msg, const struct session_set_params *params, size_t nstreams,
                          const char **sdp, char *err, size_t errlen);

/* True when the cloud opened s: the cloud speaks only for those. */
bool sink_cloud_owns(struct session *s);

/* Logs and sends session-error for session sid (which may not exist on
 * this robot: a refused create-session). */
void sink_cloud_send_error(struct signaling *sig, const char *sid, const char *code,
                           const char *reason);

/* Sends close-session for session sid. */
void sink_cloud_send_close(struct signaling *sig, const char *sid);

#endif
