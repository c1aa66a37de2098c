/* robot_api.h - the REST API (api.h) over the robot's session table, and
 * the API through porthole-cloud (robot-request).
 *
 * robot_api_sessions is struct api_sessions over a struct session_set
 * (its user pointer): sessions opened over REST get a sink_rest.h sink and
 * the caller as owner. Who may touch a session: a call relayed by a cloud
 * that runs with auth (its robot-request carries caller.sub) sees only the
 * sessions opened by its own clientId, unless its scope is admin; any other
 * session is, to it, a session that does not exist (404, not listed, not
 * closed by DELETE /api/webrtc/sessions). Calls on the robot's own port, and
 * calls relayed by a cloud without auth, see every session, as before.
 *
 * robot_api_serve answers one robot-request with exactly one
 * robot-response (docs/PROTOCOL.md). Main thread only. */
#ifndef PORTHOLE_ROBOT_ROBOT_API_H
#define PORTHOLE_ROBOT_ROBOT_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/api.h"
#include "robot/session.h"
#include "robot/signaling.h"

/* The operations api_new takes; their user pointer is a struct session_set *. */
extern const struct api_sessions robot_api_sessions;

/* Reads who sent msg (a robot-request or a create-session from the cloud):
 * its "caller" {sub, scope, clientId} when present, else only its
 * "clientId". The strings borrow from msg. Returns 0, or -1 with err when
 * caller is present but not an object of strings with scope watch,
 * control or admin. */
int robot_api_caller(json_t *msg, struct api_caller *out, char *err, size_t errlen);

/* Answers robot-request msg through api, sending the robot-response on
 * sig (now, or when the API answers later). enabled false (--cloud-api
 * off) answers 403. A request without a usable requestId is logged and
 * dropped (there is nobody to answer). An answer larger than the cloud
 * link carries becomes a 500. */
void robot_api_serve(struct api *api, struct signaling *sig, bool enabled, json_t *msg);

#endif
