/* status.h - the bodies of GET /health, /robots and /metrics. */
#ifndef PORTHOLE_CLOUD_STATUS_H
#define PORTHOLE_CLOUD_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "cloud/outbuf.h"
#include "cloud/router.h"
#include "cloud/token.h"

/* Counters the server keeps about connections themselves. */
struct server_stats {
    uint64_t connections_total;     /* WebSocket connections accepted */
    uint64_t connections_refused;   /* upgrades refused (limit, path) */
    uint64_t closed_policy;         /* closed with 1008 */
    uint64_t closed_too_big;        /* closed with 1009 */
    uint64_t closed_binary;         /* closed with 1003 */
    uint64_t closed_invalid_utf8;   /* closed with 1007 */
    uint64_t http_requests;
    /* The edge (edge.h): requests and upgrades refused before routing. */
    uint64_t refused_too_many;        /* 429: --max-connections-per-ip */
    uint64_t refused_too_fast;        /* 429: --max-new-connections-per-ip */
    uint64_t refused_banned;          /* 403: address banned for failed authentications */
    uint64_t refused_origin;          /* 403: Origin not in --allowed-origins */
    uint64_t refused_framing;         /* 400: two Content-Lengths, or with Transfer-Encoding */
    uint64_t auth_bans;               /* addresses banned (--max-auth-failures-per-ip) */
    uint64_t closed_register_timeout; /* WebSockets closed unregistered (1008) */
    uint64_t closed_http_timeout;     /* requests whose body missed --http-timeout */
};

/* status is "ok", or "degraded" while a cluster's store is unreachable.
 * With details: {"status":"ok","timestamp","robots","clients","sessions",
 * "uptimeSeconds","version"}; without (a caller that may not see them):
 * {"status":"ok"}. Returns a new buffer, or NULL when out of memory. */
struct outbuf *status_health(const struct router *r, int64_t started_mono_ms, int64_t now_mono_ms,
                             bool details);

/* [{"robotId","deviceInfo","connectedAt","sessions"}] of the robots viewer
 * may see (NULL: every robot, for a cloud without identities), or NULL. */
struct outbuf *status_robots(const struct router *r, const struct token_claims *viewer);

/* Prometheus text exposition format 0.0.4 (with the authentication
 * refusals by reason), or NULL. */
struct outbuf *status_metrics(const struct router *r, const struct server_stats *s,
                              int64_t started_mono_ms, int64_t now_mono_ms);

#endif
