/* clusterfix.h - several porthole-cloud instances on one Redis, for the
 * cluster tests: a real redis-server (Debian's) and, when asked, a real
 * HAProxy in front of the instances, all in the test's private network
 * namespace and all killed with the test process.
 *
 * Instance i runs harness_start() with --store redis://127.0.0.1:<port>,
 * --instance-id A, B or C and the fixture's extra args. Every wait is
 * bounded. Nothing here calls cmocka: failures return -1 with the reason
 * on stderr. */
#ifndef PORTHOLE_TESTS_CLUSTERFIX_H
#define PORTHOLE_TESTS_CLUSTERFIX_H

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

#define CLUSTERFIX_INSTANCES 3

struct clusterfix {
    pid_t redis;                  /* 0: not running */
    int redis_port;
    char store[64];               /* redis://127.0.0.1:PORT */
    struct cloud clouds[CLUSTERFIX_INSTANCES];
    pid_t haproxy;                /* 0: not running */
    int lb_port;                  /* HAProxy's port, once started */
    char dir[64];                 /* a private temporary directory */
};

/* True when redis-server (and, with haproxy, haproxy) can be run. */
bool clusterfix_available(bool haproxy);

/* Starts redis-server on a free port, without persistence. Returns 0 or -1. */
int clusterfix_redis_start(struct clusterfix *f);

/* Starts redis-server again on the same port (after clusterfix_redis_kill). */
int clusterfix_redis_restart(struct clusterfix *f);

/* SIGKILL to redis-server, reaped. */
void clusterfix_redis_kill(struct clusterfix *f);

/* Starts instance i (0..2) with the fixture's store, --workers 1, plus
 * extra (NULL-terminated, or NULL; a later --workers wins). Returns 0 or
 * -1. */
int clusterfix_cloud_start(struct clusterfix *f, int i, const char *const *extra);

/* Clears f, starts Redis and every instance with extra (as
 * clusterfix_cloud_start), and waits until each reports Redis connected on
 * /health (and so, through hello, knows the others). On failure stops what
 * started and returns -1. */
int clusterfix_start(struct clusterfix *f, const char *const *extra);

/* Starts HAProxy on a free port in front of every running instance:
 * round robin, health checks on GET /health every 500 ms, WebSocket
 * upgrades passed through, no stickiness. Waits until it accepts TCP
 * connections. Returns 0 or -1. */
int clusterfix_haproxy_start(struct clusterfix *f);

/* Stops every instance (SIGTERM, then SIGKILL), HAProxy and Redis, removes
 * the directory. Returns 0 when every instance that still ran exited 0. */
int clusterfix_stop(struct clusterfix *f);

/* Polls GET path of port until its body contains needle (up to
 * timeout_ms). Returns true when it did. */
bool clusterfix_wait_body(int port, const char *path, const char *needle, int timeout_ms);

#endif
