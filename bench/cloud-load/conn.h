/* conn.h - cloud-load's WebSocket client connections on libwebsockets:
 * connecting from a chosen source address, a send queue, reassembly of
 * fragmented messages. One lws context per worker process, one thread.
 *
 * A connection reports to its owner through a struct conn_handler; every
 * handler runs inside lws_service() on the worker's thread. */
#ifndef CLOUD_LOAD_CONN_H
#define CLOUD_LOAD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;
struct lws_context;
struct conn;

/* Headroom a caller of conn_write() leaves before its payload: the frame
 * header goes there. */
#define CONN_PRE 16

enum conn_role { CONN_CLIENT, CONN_ROBOT };

enum conn_state {
    CONN_NEW,          /* not started */
    CONN_CONNECTING,   /* TCP and WebSocket handshake under way */
    CONN_OPEN,         /* WebSocket open */
    CONN_REGISTERED,   /* the cloud accepted its registration */
    CONN_ENDED,        /* failed or closed; the lws connection is gone */
};

struct conn_handler {
    /* The WebSocket handshake completed. */
    void (*opened)(struct conn *c);
    /* One complete text message (not NUL-terminated; valid during the call). */
    void (*message)(struct conn *c, const char *data, size_t len);
    /* The send queue is empty and the socket takes more: the owner may
     * write with conn_write() while conn_can_write(). Returns true to be
     * called again when the socket is writeable. May be NULL. */
    bool (*writeable)(struct conn *c);
    /* The connection failed or closed (why: a short reason). */
    void (*ended)(struct conn *c, const char *why);
};

/* Unsent bytes a connection may queue; more means the server stopped
 * reading, and conn_send() refuses. */
#define CONN_QUEUE_MAX (8u << 20)

struct conn_msg;

struct conn {
    const struct conn_handler *h;
    void *owner;               /* the handler's context (a worker) */
    void *data;                /* the owner's per-connection data */
    struct lws *wsi;           /* NULL unless connecting or open */
    enum conn_role role;
    enum conn_state state;
    unsigned index;            /* within its role, in its worker */
    char id[40];               /* robotId or clientId */
    int64_t t_start_ns;        /* connect started */
    struct conn_msg *q_head, *q_tail;
    size_t q_bytes;
    char *rx;                  /* reassembly of a fragmented message */
    size_t rx_len, rx_cap;
};

/* A worker's event loop and its lws context, whose connections use this
 * module's protocol. Two kinds:
 * - lws's own poll() loop: each wakeup scans every socket, but asking for
 *   writeability costs no system call. Cheaper with few connections.
 * - libuv (epoll): a wakeup costs what is ready, not what is open; each
 *   change of interest costs an epoll_ctl(). Needed for thousands. */
struct conn_loop;

/* Returns the loop, or NULL on failure (logged). */
struct conn_loop *conn_loop_create(bool libuv);
struct lws_context *conn_loop_context(struct conn_loop *l);
/* Waits for events or the next lws timer once and serves them. Returns
 * -1 when the loop cannot go on. */
int conn_loop_run_once(struct conn_loop *l);
/* From inside a callback: makes the current conn_loop_run_once() return
 * soon instead of waiting for the next event. */
void conn_loop_wake(struct conn_loop *l);
/* Destroys the context (ending every connection) and the loop. */
void conn_loop_destroy(struct conn_loop *l);

/* Starts connecting c to ws://host:port/ws, from source when it is a
 * non-empty address. Returns 0 when under way; -1 when it failed at once
 * (c->h->ended has been called then). */
int conn_connect(struct conn *c, struct lws_context *ctx, const char *host, int port,
                 const char *source);

/* Queues a copy of a text message (under 64 KiB). Returns 0, or -1 when c
 * is not open, the message is too long, or the queue would pass
 * CONN_QUEUE_MAX (the message is dropped). */
int conn_send(struct conn *c, const char *text, size_t len);

/* Formats and queues a message of at most 8 KiB, like conn_send(). */
int conn_sendf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* From the writeable handler only: writes payload (len bytes, under 64 KiB,
 * with CONN_PRE bytes of scratch before it for the frame header; the
 * payload is masked in place) as one text message. Returns 0, or -1. */
int conn_write(struct conn *c, unsigned char *payload, size_t len);

/* True while another conn_write() would not block: nothing is left over
 * in lws from a partial send. */
bool conn_can_write(struct conn *c);

/* Asks for the writeable handler once the socket takes more. */
void conn_want_write(struct conn *c);

/* The local address and port of an open connection, as "a.b.c.d:port".
 * Returns 0, or -1. */
int conn_local_addr(struct conn *c, char *out, size_t cap);

/* Frees what c holds (queue, reassembly buffer). Call after its context
 * is destroyed. */
void conn_release(struct conn *c);

/* --sio: every connection of this process speaks Socket.IO (Engine.IO v4,
 * Socket.IO v5 over WebSocket at /socket.io/) instead of the native
 * protocol; the owner still sends and receives native JSON texts, which
 * are rewritten on the way (conn.c). Call before the first connection. */
void conn_set_sio(bool on);

#endif
