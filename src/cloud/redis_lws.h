/* redis_lws.h - hiredis's asynchronous API on libwebsockets' event loop.
 *
 * hiredis 0.14 asks its host loop for five things (watch for reading,
 * stop, watch for writing, stop, forget the context); lws can watch a
 * foreign descriptor it adopts as a "raw file". redis_lws_attach() adopts
 * a duplicate of the context's socket (so that hiredis closes its own
 * descriptor and lws its copy, never one number twice) on the vhost,
 * whose protocol list must contain REDIS_LWS_PROTOCOL. From then on lws
 * calls redisAsyncHandleRead/Write when the socket is ready, and the
 * adopted descriptor is closed when hiredis frees the context.
 *
 * Everything runs on the lws loop's thread. Nothing here blocks: the
 * caller creates the context with redisAsyncConnect (a non-blocking
 * connect) and bounds the connect with its own timer. */
#ifndef PORTHOLE_CLOUD_REDIS_LWS_H
#define PORTHOLE_CLOUD_REDIS_LWS_H

#include <hiredis/async.h>
#include <libwebsockets.h>

/* The lws callback of adopted Redis sockets (for REDIS_LWS_PROTOCOL). */
int redis_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

#define REDIS_LWS_PROTOCOL_NAME "porthole-redis"
#define REDIS_LWS_PROTOCOL \
    ((struct lws_protocols){.name = REDIS_LWS_PROTOCOL_NAME, .callback = redis_lws_callback})

/* Puts ac (fresh from redisAsyncConnect, without error) on vh's loop.
 * Returns 0, or -1 when the descriptor cannot be adopted (ac is then
 * untouched: the caller frees it). */
int redis_lws_attach(redisAsyncContext *ac, struct lws_vhost *vh);

#endif
