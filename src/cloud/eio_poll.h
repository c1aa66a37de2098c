/* eio_poll.h - Socket.IO's HTTP side at /socket.io/: the query (EIO=4,
 * transport, sid), the Engine.IO error answers, the long-polling
 * transport (GET waits for packets, POST carries packets), and the check
 * of a WebSocket upgrade to /socket.io/.
 *
 * Errors are answered as engine.io's server words them,
 * {"code":N,"message":"..."} (enum eio_error): 400 for an unsupported
 * EIO, an unknown transport, a handshake that is not a GET, an unknown or
 * closed sid, a request for a session on another transport, a GET or POST
 * while another is pending (the session then ends), a malformed packet in
 * a POST (the session ends); 413 for a POST body over --max-message
 * (maxPayload; the session ends); 503 {"code":4,...} at
 * --sio-max-sessions or with --sio-max-sessions 0.
 *
 * Private to the libwebsockets glue (server.c), like conn.h. Every
 * function runs on the lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_EIO_POLL_H
#define PORTHOLE_CLOUD_EIO_POLL_H

#include <stdbool.h>
#include <stddef.h>

#include "cloud/conn.h"

/* True when uri is Socket.IO's path ("/socket.io/" or "/socket.io"). */
bool eio_poll_path(const char *uri);

/* LWS_CALLBACK_HTTP for Socket.IO's path: a handshake, a GET (answered
 * when there are packets, at once when some wait) or a POST (its body
 * follows). Returns the HTTP callback's answer. */
int eio_poll_request(struct server *srv, struct conn *c);

/* LWS_CALLBACK_HTTP_BODY of a POST (c->http.eio_post). Returns 0. */
int eio_poll_body(struct server *srv, struct conn *c, const void *in, size_t len);

/* LWS_CALLBACK_HTTP_BODY_COMPLETION of a POST: its packets go to the
 * session; "ok", or the error. Returns 0. */
int eio_poll_body_complete(struct server *srv, struct conn *c);

/* The transaction ends (answered, or the client went): c's session, if
 * any, forgets it. Safe on any connection. */
void eio_poll_release(struct server *srv, struct conn *c);

/* True when c is a GET waiting for its session's packets (long polling). */
bool eio_poll_waiting(const struct conn *c);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE for Socket.IO's path, after the
 * edge's and the connection limit's checks: EIO=4, transport=websocket,
 * and a sid, if any, of a polling session not probing already. Returns 0
 * to go on, or -1 after writing the error (the connection then closes). */
int eio_poll_upgrade_check(struct server *srv, struct lws *wsi);

/* True when the upgraded wsi is a Socket.IO WebSocket (its path). */
bool eio_poll_is_upgrade(struct lws *wsi);

#endif
