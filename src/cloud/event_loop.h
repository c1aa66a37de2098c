/* event_loop.h - the loop that runs porthole-cloud's libwebsockets context
 * (--event-loop): lws's own poll() loop, or a libuv loop this module owns,
 * whose epoll wakes for the sockets that have events only.
 *
 * Why both: lws 4.1.6's poll() loop walks every socket it holds on every
 * wakeup (30% of the server's CPU per relayed message with a few hundred
 * connections, most of a worker's time with thousands idle:
 * docs/PERFORMANCE.md). Debian's lws has no external-poll support, so the
 * only epoll it offers is an event library's loop; of those, libuv's glue
 * services lws's timers correctly (libev's re-arms an active watcher, which
 * libev ignores). Debian builds lws with _DEBUG, which on libuv closes a
 * connection a second time right after a close that came from a socket
 * event: a close frame set there would be lost. ws_conn.c therefore starts
 * every close that carries a frame from the connection's timer, which lws
 * closes once (see ws_conn_timer()).
 *
 * One loop per server, on its thread. Signals stay the server's
 * (sigaction and lws_cancel_service(), which wakes either loop). */
#ifndef PORTHOLE_CLOUD_EVENT_LOOP_H
#define PORTHOLE_CLOUD_EVENT_LOOP_H

#include <libwebsockets.h>
#include <stdbool.h>

struct event_loop;

/* A loop of the kind named: "epoll", or else lws's poll() (--event-loop's
 * choices are config.c's). Returns NULL after
 * logging (out of memory, or libuv failing to start). */
struct event_loop *event_loop_new(const char *name);

/* Sets info's event-loop options before lws_create_context(info). With
 * epoll, lws takes l's libuv loop as a foreign loop; the loop must outlive
 * the context (event_loop_destroy_context() before event_loop_free()). */
void event_loop_prepare(struct event_loop *l, struct lws_context_creation_info *info);

/* Runs ctx's loop once: waits for at least one event or due timer of lws,
 * or until lws_cancel_service(); with bounded, for at most 50 ms. Returns
 * 0, or -1 when lws says the context is gone. */
int event_loop_run_once(struct event_loop *l, struct lws_context *ctx, bool bounded);

/* With epoll: calls fn(arg) once per loop iteration, before the loop
 * waits for events (so after everything the previous iteration's socket
 * events, and this one's timers, did), from now until the context is
 * destroyed, and returns true.
 * With poll, whose iterations lws runs inside lws_service(), returns false
 * and calls nothing.
 *
 * Why: lws's libuv glue turns a socket's POLLOUT on and off by stopping
 * and restarting its uv_poll, which libuv makes 3 to 4 epoll_ctl() calls
 * (a delete, an add, a modify); waiting for POLLOUT before every write
 * cost more than the epoll saved (S4: 5,000 messages, one per client).
 * A server that writes before the loop waits instead waits for
 * POLLOUT only when a socket does not take everything. */
bool event_loop_on_iteration_end(struct event_loop *l, void (*fn)(void *arg), void *arg);

/* lws_context_destroy(ctx) and, with epoll, the loop run until lws has
 * closed its handles (at most 2 s), then the second destroy that frees the
 * context, as lws 4.1 asks of a foreign loop. */
void event_loop_destroy_context(struct event_loop *l, struct lws_context *ctx);

/* Frees l; NULL is ignored. */
void event_loop_free(struct event_loop *l);

#endif
