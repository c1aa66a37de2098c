/* routerfake.h - a router (cloud/router.h) on an in-memory registry, driven
 * through a recording fake transport: the fixture of the router's unit
 * tests.
 *
 * Each of ROUTERFAKE_CONNS fake connections is a router peer from the
 * start; every buffer the router queues for it is kept, in order, as text
 * the tests read with routerfake_next. Failures go through cmocka
 * (fail_msg), so these functions are for cmocka tests only. Single-threaded;
 * the fixture owns everything in it. */
#ifndef PORTHOLE_TESTS_ROUTERFAKE_H
#define PORTHOLE_TESTS_ROUTERFAKE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/registry.h"
#include "cloud/router.h"

#define ROUTERFAKE_CONNS 8
#define ROUTERFAKE_MSGS 512 /* per connection; the router's send fails after */

struct routerfake_conn {
    struct peer *peer;             /* NULL once routerfake_disconnect closed it */
    char *msgs[ROUTERFAKE_MSGS];   /* owned */
    size_t nmsgs, read;            /* recorded, and taken by routerfake_next */
    int close_code;                /* the router's first close, or 0 */
    const char *close_reason;      /* its reason (the router's static text) */
    unsigned auth_failures;        /* transport.auth_failed calls */
};

/* A fake HTTP client of the robot API proxy: the answers it got. */
struct routerfake_http {
    unsigned calls, status;
    char *body; /* the last answer's body (owned; free it) */
};

struct routerfake {
    struct registry reg;
    struct router *r;
    struct transport tx;
    struct router_config cfg;
    struct routerfake_conn conns[ROUTERFAKE_CONNS];
    int64_t now; /* the time every call passes the router */
};

/* A router with cfg (copied) on policy auth (borrowed: it must outlive the
 * fixture), its peers opened from addr at time now. Fails the test when
 * the router cannot be made. */
void routerfake_init(struct routerfake *f, const struct router_config *cfg,
                     const struct auth *auth, const char *addr, int64_t now);

/* Closes the peers still open and frees the router, the registry and
 * every recorded message. */
void routerfake_clear(struct routerfake *f);

/* text (of len bytes) as one message from conn. */
void routerfake_send(struct routerfake *f, int conn, const char *text, size_t len);

/* The peer of conn closes (the connection went away). */
void routerfake_disconnect(struct routerfake *f, int conn);

/* The next unread message of conn as raw text (owned by the fixture);
 * fails the test when there is none. */
const char *routerfake_next_raw(struct routerfake *f, int conn);

/* The next unread message of conn, parsed and checked to be of type (the
 * caller owns the reference); fails the test otherwise. */
json_t *routerfake_next(struct routerfake *f, int conn, const char *type);

/* Fails the test when conn has an unread message. */
void routerfake_expect_nothing(struct routerfake *f, int conn);

#endif
