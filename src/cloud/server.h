/* server.h - porthole-cloud's network side on libwebsockets: one process,
 * one event loop, HTTP and the /ws WebSocket endpoint on one port.
 *
 * The server owns the connections: it reassembles fragmented messages,
 * enforces the transport limits (message size, binary frames, UTF-8,
 * per-connection send queue, connection count, keepalive, HTTP timeout),
 * and hands complete text messages to the router. Requests of the robot
 * API proxy (/api/robots/{robotId}/...) go to the router too; their HTTP
 * responses wait for its answer, and a timer drives its timeouts. */
#ifndef PORTHOLE_CLOUD_SERVER_H
#define PORTHOLE_CLOUD_SERVER_H

#include "cloud/config.h"

struct server;

/* Creates the server and starts listening. cfg is copied. Returns NULL
 * after logging why (port in use, web root missing, out of memory). */
struct server *server_new(const struct cloud_config *cfg);

/* Runs the event loop until SIGINT or SIGTERM arrives (it installs the
 * handlers; the caller installs none). Returns 0 after a clean shutdown:
 * sessions told server-shutdown, queues flushed for at most a second. */
int server_run(struct server *srv);

/* Closes every connection and frees the server. NULL is allowed. */
void server_free(struct server *srv);

#endif
