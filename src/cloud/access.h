/* access.h - who may reach porthole-cloud over HTTP and the WebSocket
 * upgrade, as the libwebsockets glue asks it: protected mode (403 for a
 * non-loopback peer when no authentication is configured), the Bearer
 * token of HTTP requests (verified by the router's policy, its claims kept
 * in c->http.caller), the routes it guards (/health details, /robots,
 * /metrics, every /api/ request), the key reload of SIGHUP and the
 * start-up notice of the mode (the hourly warning of --insecure-open).
 *
 * Private to the glue (server.c), like conn.h. Every function runs on the
 * lws event-loop thread. */
#ifndef PORTHOLE_CLOUD_ACCESS_H
#define PORTHOLE_CLOUD_ACCESS_H

#include <stdbool.h>

#include "cloud/conn.h"

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: false after refusing the upgrade
 * with 403 (protected mode, a non-loopback peer). */
bool access_upgrade_allowed(struct server *srv, struct lws *wsi);

/* Every HTTP request: false after answering 403 (as above). */
bool access_http_allowed(struct server *srv, struct conn *c);

/* An /api/ request: with tokens configured it needs a valid one (any
 * role); false after answering 401 {"detail","reason"}. Its claims stay
 * in c->http.caller for the proxy and the router. */
bool access_api_identified(struct server *srv, struct conn *c);

/* GET /health, /robots or /metrics. With tokens configured: /robots needs
 * a valid token and lists the robots it may see; /metrics needs an admin
 * token or --metrics-token (401 without a valid token, 403 with one of
 * another scope); /health shows its details only to those, else
 * {"status":"ok"}. A --metrics-token alone guards /metrics and the details
 * likewise. Returns the HTTP callback's answer (0). */
int access_status_request(struct server *srv, struct conn *c, const char *uri);

/* Frees the request's claims (end of the HTTP transaction). */
void access_release(struct conn *c);

/* SIGHUP: reloads the policy's keys (the old ones stay on failure) and
 * logs the outcome. Open connections and sessions are untouched. */
void access_reload(struct server *srv);

/* Logs how peers are admitted, once the server listens; with
 * --insecure-open starts the hourly warning. access_stop() cancels it. */
void access_announce(struct server *srv);
void access_stop(struct server *srv);

#endif
