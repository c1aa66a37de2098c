/* outbuf.h - a reference-counted outgoing message, shared by every send
 * queue that carries it (a broadcast is encoded once for N peers).
 *
 * The payload is immutable once built. OUTBUF_HEADROOM bytes before it are
 * scratch space for the transport's frame header (libwebsockets writes its
 * header there); all peers get identical unmasked server frames, so sharing
 * the headroom between sequential writes on one thread is safe. */
#ifndef PORTHOLE_CLOUD_OUTBUF_H
#define PORTHOLE_CLOUD_OUTBUF_H

#include <stddef.h>

#define OUTBUF_HEADROOM 32

struct outbuf {
    unsigned refs;
    size_t len;                                   /* payload bytes */
    unsigned char data[];                         /* OUTBUF_HEADROOM, then payload */
};

/* Returns a buffer holding a copy of len bytes (refs = 1), or NULL when
 * out of memory. With payload NULL the len bytes are left for the caller
 * to fill (outbuf_payload) before the buffer is shared. */
struct outbuf *outbuf_new(const void *payload, size_t len);

/* Takes ownership of a malloc'd NUL-free string produced by a serializer
 * and returns it wrapped (copying once), or NULL; frees str in both cases. */
struct outbuf *outbuf_take_string(char *str);

static inline unsigned char *outbuf_payload(struct outbuf *b) { return b->data + OUTBUF_HEADROOM; }

static inline struct outbuf *outbuf_ref(struct outbuf *b) { b->refs++; return b; }

/* Drops one reference and frees the buffer at zero. NULL is allowed. */
void outbuf_unref(struct outbuf *b);

#endif
