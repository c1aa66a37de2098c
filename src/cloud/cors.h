/* cors.h - cross-origin access to the cloud's HTTP API for web pages that
 * --allowed-origins lets in (CORS, the Fetch standard's protocol).
 *
 * The edge has already refused a request under /api/ or /socket.io whose
 * Origin is not allowed (403, edge.c). What is left is telling the
 * browser that an allowed page of another origin may read the answer: a
 * viewer page served elsewhere fetching fresh TURN credentials from
 * GET /api/ice-servers, a WHEP player POSTing its offer, a Socket.IO
 * client on long-polling. The answer names that one origin, never "*",
 * and never allows credentials (cookies): the API's identity is the
 * Bearer token the page sends itself, so a page can only spend its own
 * token.
 *
 * Private to the libwebsockets glue (server.c), like conn.h. Runs on the
 * lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_CORS_H
#define PORTHOLE_CLOUD_CORS_H

#include <stdbool.h>

#include "cloud/conn.h"

/* Longest Origin echoed back; a longer or non-printable one gets no CORS
 * headers (the browser then keeps the answer from the page). */
#define CORS_ORIGIN_MAX 256

/* Seconds a browser may cache a preflight's answer (Chromium caps it at
 * 7,200). */
#define CORS_MAX_AGE_S 600

/* For a request under /api/ or /socket.io that the edge let through: when
 * it carries an Origin, adds the CORS headers to c's response (whatever
 * the response turns out to be, errors included, so that the page can
 * read why). A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here, 204 with the methods
 * and request headers the API accepts, before any authentication: a
 * browser never sends credentials with one. Any other OPTIONS goes to its
 * route (WHEP answers it; the rest of the API says 405). Returns true
 * when the request was a preflight and is answered. */
bool cors_request(struct conn *c);

#endif
