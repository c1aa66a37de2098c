/* listen_share.h - a listening socket several worker processes share with
 * SO_REUSEPORT (--workers), whose connections go to libwebsockets.
 *
 * libwebsockets 4.1.6 does not set SO_REUSEPORT on its own listening
 * socket (LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE has no effect there), so a
 * worker's vhost listens nowhere (CONTEXT_PORT_NO_LISTEN_SERVER) and this
 * module owns the socket: lws watches it as an adopted descriptor, and
 * each accepted connection is handed to the vhost with
 * lws_adopt_socket_vhost(), as if lws had accepted it (TLS included).
 * The kernel spreads connections over the workers' sockets.
 *
 * On the lws loop's thread; the vhost's protocols must include
 * LISTEN_SHARE_PROTOCOL. */
#ifndef PORTHOLE_CLOUD_LISTEN_SHARE_H
#define PORTHOLE_CLOUD_LISTEN_SHARE_H

#include <libwebsockets.h>

int listen_share_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);

#define LISTEN_SHARE_PROTOCOL_NAME "porthole-listen"
#define LISTEN_SHARE_PROTOCOL \
    ((struct lws_protocols){.name = LISTEN_SHARE_PROTOCOL_NAME, \
                            .callback = listen_share_callback})

/* Listens on bind_addr (an IP literal; "" for all interfaces, dual-stack)
 * and port with SO_REUSEPORT, and hands connections to vh. Returns 0, or
 * -1 after logging why. The socket closes with the lws context. */
int listen_share_start(struct lws_vhost *vh, const char *bind_addr, long port);

#endif
