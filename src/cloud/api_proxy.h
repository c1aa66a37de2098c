/* api_proxy.h - the robot API proxy of porthole-cloud: an HTTP request
 * METHOD /api/robots/{robotId}/{path}[?query] becomes a robot request of
 * the router, and the router's answer (or its 503/504) becomes the HTTP
 * response; GET /api/robots lists the robots.
 *
 * Private to the libwebsockets glue (server.c), like conn.h. Every
 * function runs on the lws event-loop thread. A request's state lives in
 * c->http (its body in c->rx) until api_proxy_release(). */
#ifndef PORTHOLE_CLOUD_API_PROXY_H
#define PORTHOLE_CLOUD_API_PROXY_H

#include <stddef.h>

#include "cloud/conn.h"

/* An HTTP request whose path starts with "/api/": validates it (method,
 * body framing, Content-Length against --max-message), then either
 * answers at once (errors, the robot list), waits for the body, or hands
 * the request to the router. Returns the HTTP callback's answer: 0, or -1
 * to close. */
int api_proxy_request(struct server *srv, struct conn *c, const char *uri);

/* One piece of the request body (LWS_CALLBACK_HTTP_BODY). Does nothing
 * unless c is reading a proxied body. Returns 0, or -1 to close. */
int api_proxy_body(struct server *srv, struct conn *c, const void *in, size_t len);

/* The body is complete (LWS_CALLBACK_HTTP_BODY_COMPLETION): parses it and
 * hands the request to the router. Does nothing unless c is reading a
 * proxied body. Returns 0, or -1 to close. */
int api_proxy_body_complete(struct server *srv, struct conn *c);

/* transport.http_answer: the router's answer to the proxied request of
 * the connection `http` (a struct conn *). body: the transport takes its
 * own reference. Dropped while the server is stopping. */
void api_proxy_answer(void *http, unsigned status, struct outbuf *body);

/* Releases c's proxied request, if any: the router forgets it (a late
 * answer is dropped) and its strings and body are freed. Safe twice. */
void api_proxy_release(struct server *srv, struct conn *c);

#endif
