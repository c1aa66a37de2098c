/* cluster.h - several porthole-cloud instances sharing presence and
 * routing through Redis (--store redis://host:port/db).
 *
 * Each instance keeps its own peers, sessions and robot requests (router.h,
 * "several instances"); Redis holds what the others need to know and
 * carries what they say to each other:
 *  - presence keys with a TTL refreshed by a heartbeat: porthole:inst:<id>
 *    (the instance is alive), porthole:robot:<id> (a hash: inst, conn,
 *    info, at, seen, sessions) and porthole:clients:<inst> (a hash of the
 *    instance's clients: clientId -> address);
 *  - pub/sub channels: porthole:<db>:events (robot-available and
 *    -unavailable, rosters, hello, bye: every instance) and
 *    porthole:<db>:inst:<id> (messages for the peers of one instance:
 *    forwarded client messages, deliveries, closes).
 * hiredis's asynchronous API runs on the lws loop (redis_lws.h): nothing
 * blocks. While Redis is unreachable the instance serves its own peers
 * only (/health "degraded"), retries every second, and when Redis is back
 * re-writes its keys and publishes its roster, from which the others
 * reconcile their view of its robots (no event is repeated or lost).
 * A robot id registered elsewhere is taken over by a connection whose
 * token was verified for it: one Lua script moves the presence key here
 * and tells the old instance to close its connection, then announces the
 * robot (cluster_presence.c). An instance whose key expired is dead: its
 * robots go unavailable, the sessions of local clients with them end
 * (peer-disconnected), and the stand-ins of its clients close.
 *
 * Single-threaded: the lws loop's. */
#ifndef PORTHOLE_CLOUD_CLUSTER_H
#define PORTHOLE_CLOUD_CLUSTER_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "cloud/router.h"

struct cluster_config {
    const char *url;          /* redis://host[:port][/db] */
    const char *instance_id;  /* "" or NULL: <hostname>-<pid> */
    unsigned ttl_s;           /* presence TTL; the heartbeat is every ttl_s/3 */
};

struct cluster;

/* True when url is a store this build can use: "memory" (or "") or
 * redis://host[:port][/db]. Fills err otherwise. */
bool cluster_url_valid(const char *url, char *err, size_t errlen);

/* True when url names Redis (not the in-memory default). */
bool cluster_url_is_redis(const char *url);

/* A cluster for cfg (copied), not connected yet. NULL after logging when
 * the URL is invalid or out of memory. */
struct cluster *cluster_new(const struct cluster_config *cfg);

/* The seam to give the router (router_config.cluster); valid until
 * cluster_free. */
const struct router_cluster *cluster_seam(struct cluster *cl);

/* Starts connecting, on ctx's loop with vh (whose protocols include
 * REDIS_LWS_PROTOCOL); r receives other instances' messages. */
void cluster_start(struct cluster *cl, struct lws_context *ctx, struct lws_vhost *vh,
                   struct router *r);

/* Leaving: publishes that this instance goes (others drop its robots at
 * once), deletes its keys. Replies may still be in flight:
 * cluster_busy() says when they are done. */
void cluster_leave(struct cluster *cl);
bool cluster_busy(const struct cluster *cl);

/* Closes the stand-ins of other instances' clients (router_peer_closed)
 * and drops the Redis connections; before the lws context goes. */
void cluster_stop(struct cluster *cl);

/* Frees the cluster (after cluster_stop, and after the router). NULL is
 * allowed. */
void cluster_free(struct cluster *cl);

#endif
