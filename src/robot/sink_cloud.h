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

#include <stdbool.h>

#include "robot/session.h"
#include "robot/signaling.h"

/* A sink for one session opened by the cloud, for session_open (which
 * takes it). sig is borrowed and must outlive every session. offer: the
 * viewer's offer when its create-session carried one (copied; the peer
 * answers it and every local description then goes out as webrtc-answer,
 * ICE restarts' included), or NULL: the robot offers (webrtc-offer). */
struct session_sink *sink_cloud_new(struct signaling *sig, const char *offer);

/* True when the cloud opened s: the cloud speaks only for those. */
bool sink_cloud_owns(struct session *s);

/* Logs and sends session-error for session sid (which may not exist on
 * this robot: a refused create-session). */
void sink_cloud_send_error(struct signaling *sig, const char *sid, const char *code,
                           const char *reason);

/* Sends close-session for session sid. */
void sink_cloud_send_close(struct signaling *sig, const char *sid);

#endif
