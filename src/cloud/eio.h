/* eio.h - Socket.IO peers of porthole-cloud: Engine.IO v4 sessions and
 * the Socket.IO v5 packets in them, at /socket.io/. A session is one
 * router peer with the codec_sio codec, whatever carries it: HTTP
 * long-polling (eio_poll.c), a WebSocket, or polling upgraded to a
 * WebSocket. This module owns the session table, the packets (Engine.IO
 * open, close, ping, pong, message, upgrade, noop; Socket.IO CONNECT,
 * DISCONNECT, EVENT with acknowledgements), the server's pings and the
 * timers, and the WebSocket transport; the router never learns of any
 * of it.
 *
 * Per session: one GET may wait (long poll) and one POST may be read at a
 * time; packets for a polling peer wait in a queue bounded by --max-queue
 * (past it the session ends, like a native peer that does not read). The
 * server pings every --sio-ping-interval ms; a session whose pong has not
 * come --sio-ping-timeout ms later ends, and so does one that has not
 * registered within --register-timeout, and its robot or viewer goes like
 * a closed WebSocket. At most --sio-max-sessions sessions at once.
 *
 * Ownership: the table owns sessions. A WebSocket (c->ws.eio) and an HTTP
 * request (c->http.eio) point to the session they carry and the session
 * to them (ws, poll, post); whichever goes first unlinks the other. A
 * session's teardown (its peer closed with router_peer_closed) runs from
 * its timer, never inside the router's calls, or when its WebSocket
 * closes. Private to the libwebsockets glue, like conn.h; every function
 * runs on the lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_EIO_H
#define PORTHOLE_CLOUD_EIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/conn.h"
#include "common/ids.h"
#include "common/list.h"

/* The Engine.IO server's HTTP error codes ({"code":N,"message":"..."}),
 * as the reference server (engine.io) numbers and words them. */
enum eio_error {
    EIO_ERR_TRANSPORT = 0,        /* "Transport unknown", 400 */
    EIO_ERR_SID = 1,              /* "Session ID unknown", 400 */
    EIO_ERR_HANDSHAKE_METHOD = 2, /* "Bad handshake method", 400 */
    EIO_ERR_BAD_REQUEST = 3,      /* "Bad request", 400 */
    EIO_ERR_FORBIDDEN = 4,        /* "Forbidden", 403 */
    EIO_ERR_VERSION = 5,          /* "Unsupported protocol version", 400 */
};

enum eio_transport { EIO_POLLING, EIO_WEBSOCKET };

struct eio_session {
    const struct conn_link *link; /* first: the router's handle (conn.h) */
    struct server *srv;
    struct peer *peer;            /* the router's; NULL once torn down */
    struct list node;             /* in the table's list */
    char sid[IDS_TOKEN_LEN + 1];  /* Engine.IO session id (random, 128 bits) */
    enum eio_transport transport;
    bool connected;               /* Socket.IO CONNECT answered */
    bool closing;                 /* torn down at the next timer */
    bool awaiting_pong;
    struct conn *ws;              /* the WebSocket: the transport, or probing to be */
    struct conn *poll;            /* a waiting GET (polling) */
    /* A GET answered with packets, its response not yet all written: if
     * its connection ends first, those packets are lost and the session
     * ends (eio_poll_release), as Engine.IO's own server does. */
    struct conn *answered;
    struct conn *post;            /* a POST being read (polling) */
    struct sendq q;               /* polling: packets not yet sent */
    char *token;                  /* CONNECT's auth.token or the Bearer token */
    int64_t ping_at, pong_by, register_by; /* monotonic ms */
    int64_t close_by;             /* closing with packets for a GET: until then */
    int close_code;               /* the WebSocket's, once closing */
    const char *close_reason;     /* static */
    lws_sorted_usec_list_t timer;
};

/* The table of srv (srv->cfg's limits). Returns NULL when out of memory. */
struct eio *eio_new(struct server *srv);

/* Before the lws context is destroyed: cancels every timer; sessions that
 * lose their WebSocket from now on are torn down at once. */
void eio_stop(struct eio *e);

/* After the lws context is destroyed, before the router is freed: closes
 * every session's peer and frees the table. NULL is allowed. */
void eio_free(struct eio *e);

size_t eio_count(const struct eio *e);

/* The open session with that id, or NULL. */
struct eio_session *eio_lookup(struct eio *e, const char *sid, size_t len);

/* A new session for the request or upgrade on wsi (its client address,
 * its Authorization Bearer token), its router peer open and its timer
 * running. Returns NULL at --sio-max-sessions (*full set) or when out of
 * memory. */
struct eio_session *eio_session_new(struct server *srv, struct lws *wsi,
                                    enum eio_transport t, bool *full);

/* The open packet: 0{"sid","upgrades","pingInterval","pingTimeout",
 * "maxPayload"} (maxPayload: --max-message). NULL when out of memory. */
struct outbuf *eio_open_packet(const struct eio_session *s);

/* One Engine.IO packet from the peer (a WebSocket message or a piece of a
 * POST body). Returns false when it was malformed or not allowed here:
 * the session is then closing. */
bool eio_session_input(struct eio_session *s, const char *pkt, size_t len, int64_t now);

/* Queues a packet for the peer on its transport; takes no reference of
 * its own beyond what the transport keeps. Returns 0, or -1 when dropped
 * (closing; or the polling queue full, which ends the session). */
int eio_session_send(struct eio_session *s, struct outbuf *b);

/* Ends the session at its next timer (not inside the caller's call): its
 * WebSocket, if any, closes with code and reason; a waiting GET gets the
 * close packet. Only the first close counts. */
void eio_session_close(struct eio_session *s, int code, const char *reason);

/* Polling: hands s's queued packets to its waiting GET, if both exist. */
void eio_session_flush_poll(struct eio_session *s);

/* ---- the WebSocket transport ---- */

/* LWS_CALLBACK_ESTABLISHED of an upgrade eio_poll_upgrade_check() let in:
 * a new session (open packet sent), or the probe of the polling session
 * named by sid. Returns 0, or -1 to close. */
int eio_ws_open(struct server *srv, struct conn *c, struct lws *wsi);

/* A whole text message of c (ws_conn_receive has checked size and type). */
void eio_ws_message(struct server *srv, struct conn *c, const char *data, size_t len);

/* LWS_CALLBACK_CLOSED: the session carried by c ends; a probe that never
 * upgraded leaves its session on polling. */
void eio_ws_closed(struct server *srv, struct conn *c);

#endif
