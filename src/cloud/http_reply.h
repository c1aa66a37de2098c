/* http_reply.h - the response of one HTTP transaction of porthole-cloud:
 * set once from anywhere (the connection's callback, a robot's answer, the
 * timer), written later from the writeable callback, headers then body.
 *
 * Private to the libwebsockets glue (server.c, api_proxy.c), like conn.h.
 * Every function runs on the lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_HTTP_REPLY_H
#define PORTHOLE_CLOUD_HTTP_REPLY_H

#include "cloud/conn.h"

/* Sets the response of c's transaction and asks for the writeable
 * callback, which writes it. body (reference stolen) is the payload, or
 * NULL for a response without one (204, 304); type is static. A second
 * response for the same transaction is dropped: the first decision
 * stands. */
void http_reply_set(struct conn *c, unsigned status, const char *type, struct outbuf *body);

/* Adds a header (name without the colon, lower case) to the response
 * about to be set on c; both are copied. Returns false when out of memory
 * (the header is then missing). Headers added after the response was set
 * are not sent. */
bool http_reply_header(struct conn *c, const char *name, const char *value);

/* Like http_reply_set(), for a body from a serializer (reference stolen):
 * NULL means the serializer ran out of memory, and the response becomes a
 * 500 (or, when even that cannot be built, the connection is dropped). */
void http_reply_respond(struct conn *c, unsigned status, const char *type, struct outbuf *body);

/* Replies with status and the JSON object {"<key>": message}: "error" for
 * the server's own routes, "detail" for the robot API (as the robots'
 * own errors). Returns 0, the HTTP callback's "go on". */
int http_reply_message(struct conn *c, unsigned status, const char *key, const char *message);

/* Refuses c's request: status with {"error": message, "code": code}
 * (both static), and the connection closed after it. Returns 0, the HTTP
 * callback's "go on". */
int http_reply_refuse(struct conn *c, unsigned status, const char *code, const char *message);

/* Writes a whole refusal at once on wsi, as http_reply_refuse() words it
 * ("connection: close"), for the callbacks that cannot wait for the
 * writeable one (a refused WebSocket upgrade: lws ends the transaction as
 * soon as the callback returns). Returns 0, or -1 when it could not be
 * written. */
int http_reply_now(struct lws *wsi, unsigned status, const char *code, const char *message);

/* The writeable callback of an HTTP connection: writes the headers, and in
 * the next callback the body, then ends the transaction (which frees and
 * zeroes c for the next one). Returns -1 to close the connection. */
int http_reply_writeable(struct server *srv, struct conn *c);

/* Drops the response of c's transaction, written or not. Safe twice. */
void http_reply_release(struct server *srv, struct conn *c);

#endif
