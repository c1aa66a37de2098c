/* ws_conn.h - one WebSocket connection of porthole-cloud: opening it to
 * the router, receiving (reassembly and the limits: binary frames, message
 * size), sending through its bounded send queue, and closing.
 *
 * Private to the libwebsockets glue (server.c), like conn.h. Every
 * function runs on the lws event-loop thread. The state is c->ws (and
 * c->rx while a fragmented message is reassembled). */
#ifndef PORTHOLE_CLOUD_WS_CONN_H
#define PORTHOLE_CLOUD_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/conn.h"

/* LWS_CALLBACK_ESTABLISHED: zeroes c and opens its router peer. Returns
 * 0, or -1 (out of memory) to close. */
int ws_conn_open(struct server *srv, struct conn *c, struct lws *wsi);

/* LWS_CALLBACK_RECEIVE: a fragment of a message. A whole text message
 * goes to the router; a binary frame closes with 1003, a message over
 * --max-message with 1009 (as ws_conn_close: after what is queued).
 * Returns 0. */
int ws_conn_receive(struct server *srv, struct conn *c, const char *in, size_t len);

/* LWS_CALLBACK_SERVER_WRITEABLE: writes queued messages; once the
 * connection is closing and its queue is empty, arms its timer for the
 * close frame (ws_conn_timer). Returns 0, or -1 to close (a failed write). */
int ws_conn_writeable(struct server *srv, struct conn *c);

/* LWS_CALLBACK_TIMER on a WebSocket: true when c is closing with its queue
 * flushed; the close frame is then set, and the callback returns -1 for
 * lws to send it and close. False: the timer is not the close's. */
bool ws_conn_timer(struct conn *c);

/* LWS_CALLBACK_RECEIVE_PONG: the peer is alive. */
void ws_conn_pong(struct conn *c);

/* The keepalive, called for every open WebSocket once per
 * srv->confirm_every_ms (server.c's scan): a connection that has sent
 * nothing (no frame, no pong) for --ping-interval is pinged, one silent
 * for twice that is dropped without a close frame. now: monotonic ms. */
void ws_conn_keepalive(struct server *srv, struct conn *c, int64_t now);

/* LWS_CALLBACK_CLOSED: tells the router the peer is gone and frees the
 * queue and the reassembly buffer. Safe on a connection that never
 * opened. */
void ws_conn_closed(struct server *srv, struct conn *c);

/* transport.send: queues a reference to b on the connection `conn` (a
 * struct conn *). A peer whose queue would pass --max-queue is dropped at
 * once with 1008. Returns 0, or -1 when b was not queued (closing,
 * stopping, or that overflow). */
int ws_conn_send(void *conn, struct outbuf *b);

/* With --event-loop epoll, called every time before the loop waits for
 * events: writes the connections given messages since (srv->flush), each as
 * its writeable callback would; what a socket does not take waits for
 * POLLOUT. server is the struct server. */
void ws_conn_flush(void *server);

/* transport.close: closes the connection with code and reason (static)
 * after what is queued, within a few seconds. Only the first close
 * counts. */
void ws_conn_close(void *conn, int code, const char *reason);

#endif
