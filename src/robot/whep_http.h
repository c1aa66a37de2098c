/* whep_http.h - WHEP's own wire form (draft-ietf-wish-whep) on the robot's
 * HTTP API: POST /api/whep with an application/sdp offer, PATCH
 * /api/whep/{id} with an application/trickle-ice-sdpfrag fragment,
 * DELETE, OPTIONS; translated to and from the JSON form of api_whep.c,
 * which the route table answers (PATCH becomes POST there). api_http.c calls these for paths under
 * /api/whep; everything else there stays JSON.
 *
 * Responses: 201 with the answer as application/sdp, Location
 * /api/whep/{id} and ETag; 204 without a body; 200 with an
 * application/trickle-ice-sdpfrag and a new ETag for an ICE restart;
 * errors as the rest of the API ({"detail": ...}, application/json). Main
 * thread only. */
#ifndef PORTHOLE_ROBOT_WHEP_HTTP_H
#define PORTHOLE_ROBOT_WHEP_HTTP_H

#include <jansson.h>
#include <libsoup/soup.h>
#include <stdbool.h>
#include <stddef.h>

/* True for /api/whep and the paths below it. */
bool whep_http_path(const char *path);

/* The media type a request's body must have (httpguard.h's 415 check):
 * application/sdp on /api/whep, application/trickle-ice-sdpfrag below it
 * (whatever the method: a wrong one gets its 405 after the guard), NULL
 * (JSON) on any other path. */
const char *whep_http_body_type(const char *method, const char *path);

/* The method of the JSON form for a WHEP request: PATCH on a session is
 * POST there; POST on a session, GET and the rest are NULL (405). */
const char *whep_http_api_method(const char *method, const char *path);

/* The JSON form of a WHEP request's body (a new reference): {"sdp": body}
 * for POST, {"sdpfrag": body, "if_match"?} for PATCH, NULL for other
 * methods or no body. NULL with *bad set when the body is not UTF-8 (or
 * holds a NUL), which is a 400. */
json_t *whep_http_body(const char *method, const char *body, size_t len, const char *if_match,
                       bool *bad);

/* Sets msg's response from the API's reply (body stolen) to a WHEP request
 * on path, whose resource is under location_base ("/api/whep"). A 405
 * gets the Allow of WHEP's methods for path. */
void whep_http_respond(SoupServerMessage *msg, const char *path, const char *location_base,
                       int status, json_t *body);

/* Answers OPTIONS on a WHEP path: 204 with Allow, Accept-Post (POST
 * /api/whep) or Accept-Patch (a session). */
void whep_http_options(SoupServerMessage *msg, const char *path);

#endif
