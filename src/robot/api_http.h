/* api_http.h - the REST API (api.h) over HTTP/1.1, on libsoup's server and
 * the robot's GLib main loop.
 *
 * It maps each request to api_handle_text and the reply to a response with
 * Content-Type application/json and Cache-Control no-store. Before a body
 * is read, each request passes httpguard.h's checks (framing, Host,
 * Origin, the Bearer token, Content-Type: 400, 403, 401, 415, each with a
 * detail; a 400 for framing also closes the connection, since its framing
 * cannot be trusted), then the body limits: a Content-Length over the
 * limit gets 413, a body without a Content-Length (chunked) 411. A request
 * from an allowed origin gets Access-Control-Allow-Origin, and its CORS
 * preflight (OPTIONS) is answered 204 here. A client that goes away while
 * its request waits (an offer gathering candidates) is forgotten; the reply
 * is then dropped. Main thread only. */
#ifndef PORTHOLE_ROBOT_API_HTTP_H
#define PORTHOLE_ROBOT_API_HTTP_H

#include <stddef.h>

#include "robot/api.h"
#include "robot/httpguard.h"

struct api_http;

struct api_http_params {
    const char *bind;       /* an address; "" binds every interface */
    unsigned port;
    size_t max_body;        /* bytes; larger bodies get 413 */
    struct httpguard guard; /* its strings are copied */
};

/* Listens on bind:port and serves api (borrowed; it must outlive the
 * server). Returns NULL with a reason in err (address in use, bad
 * address). */
struct api_http *api_http_new(struct api *api, const struct api_http_params *params, char *err,
                              size_t errlen);

/* The port actually bound (useful with port 0 in tests). */
unsigned api_http_port(const struct api_http *h);

/* Stops listening, drops waiting requests, frees. NULL is a no-op. */
void api_http_free(struct api_http *h);

#endif
