/* whep_proxy.h - WHEP (draft-ietf-wish-whep) on porthole-cloud, per robot:
 *   POST    /api/robots/{robotId}/whep[?streams=...]  application/sdp offer
 *           -> 201, the answer (application/sdp), Location, ETag
 *   PATCH   /api/robots/{robotId}/whep/{sessionId}   application/trickle-ice-sdpfrag -> 204
 *   DELETE  /api/robots/{robotId}/whep/{sessionId}   -> 200
 *   OPTIONS on either                                 -> 204, Link: ICE servers
 * WHEP rides on the robot API proxy (api_proxy.c): each request becomes a
 * robot-request for the robot's own WHEP resource in its JSON form (POST
 * /api/whep {"sdp"}, POST /api/whep/{id} {"sdpfrag", "if_match"}, DELETE
 * /api/whep/{id}; docs/PROTOCOL.md "WHEP"), and the robot's answer is
 * turned back into WHEP's form here. The robot decides everything about
 * sessions (its sink_whep.c): the offer, the candidates, who may touch a
 * session (the caller's token subject, which the robot-request carries).
 *
 * Private to the libwebsockets glue, like api_proxy.h; lws event-loop
 * thread only. */
#ifndef PORTHOLE_CLOUD_WHEP_PROXY_H
#define PORTHOLE_CLOUD_WHEP_PROXY_H

#include <jansson.h>
#include <stdbool.h>

#include "cloud/conn.h"

/* True when rest, the path after "/api/robots/{robotId}/", is WHEP's:
 * "whep" or "whep/{sessionId}" (the query is not part of it). */
bool whep_proxy_path(const char *rest);

/* Checks a WHEP request before its body is read: the method (405 with
 * Allow), the Content-Type of POST and PATCH (415), the body's length (413
 * beyond a third of --max-message, so that its JSON form fits a message),
 * the robot (404 when it is not connected or the caller may not see it),
 * and answers OPTIONS itself (204 with one Link header per ICE server URL,
 * TURN credentials minted as for GET /api/ice-servers). Returns 1 when it
 * answered, or 0 with *method set to the robot-request's method, the
 * request marked WHEP (c->http.whep). */
int whep_proxy_check(struct server *srv, struct conn *c, int method_index, const char *robot_id,
                     const char *rest, long long length, const char **method);

/* The JSON form of the received body (c->rx) for the robot: {"sdp"} or
 * {"sdpfrag", "if_match"?}; NULL for DELETE. Sets *bad (a 400) when the
 * body is not UTF-8 text (or holds control characters other than CR, LF
 * and tab). */
json_t *whep_proxy_body(struct conn *c, const char *method, bool *bad);

/* Sets the response from the robot's (or the router's) answer to a WHEP
 * request: 201 becomes the SDP answer with Location and ETag, a 200 with
 * {"sdpfrag","etag"} (an ICE restart) the fragment with its ETag, 204 has
 * no body, the rest stays JSON ({"detail"}). body: the transport takes its
 * own reference. */
void whep_proxy_answer(struct conn *c, unsigned status, struct outbuf *body);

#endif
