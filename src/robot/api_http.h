/* api_http.h - the REST API (api.h) over HTTP/1.1, on libsoup's server and
 * the robot's GLib main loop.
 *
 * It maps each request to api_handle_text and the reply to a response with
 * Content-Type application/json and Cache-Control no-store. Bodies are
 * bounded: a Content-Length over the limit gets 413 before the body is
 * read, and a body without a Content-Length (chunked) gets 411. A client
 * that goes away while its request waits (an offer gathering candidates)
 * is forgotten; the reply is then dropped. Main thread only. */
#ifndef PORTHOLE_ROBOT_API_HTTP_H
#define PORTHOLE_ROBOT_API_HTTP_H

#include <stddef.h>

#include "api.h"

struct api_http;

/* Listens on bind:port ("" binds every interface) and serves api
 * (borrowed; it must outlive the server). Returns NULL with a reason in
 * err (address in use, bad address). */
struct api_http *api_http_new(struct api *api, const char *bind, unsigned port, size_t max_body,
                              char *err, size_t errlen);

/* The port actually bound (useful with port 0 in tests). */
unsigned api_http_port(const struct api_http *h);

/* Stops listening, drops waiting requests, frees. NULL is a no-op. */
void api_http_free(struct api_http *h);

#endif
