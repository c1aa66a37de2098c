/* sendq.c - a connection's ring of outgoing messages and their framing. */
#include "cloud/sendq.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sendq_init(struct sendq *q)
{
    memset(q, 0, sizeof(*q));
}

/* Doubles the ring, or makes the first one (SENDQ_INITIAL slots, taking
 * the message held without a ring), moving the queued messages to the
 * start of the new ring. Returns false past SENDQ_MAX_MESSAGES or when out
 * of memory; the queue is then unchanged. */
static bool sendq_grow(struct sendq *q)
{
    unsigned cap = q->cap ? q->cap * 2 : SENDQ_INITIAL;
    if (cap > SENDQ_MAX_MESSAGES)
        return false;
    struct outbuf **ring = malloc(cap * sizeof(*ring));
    if (!ring)
        return false;
    if (!q->cap) {
        if (q->count)
            ring[0] = q->one;
    } else {
        for (unsigned i = 0; i < q->count; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
    }
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return true;
}

int sendq_push(struct sendq *q, struct outbuf *b, size_t max_bytes)
{
    if (q->count && q->bytes + b->len > max_bytes)
        return -1;
    if (!q->cap && !q->count) {
        q->one = outbuf_ref(b);
    } else {
        if ((!q->cap || q->count == q->cap) && !sendq_grow(q))
            return -1;
        q->ring[(q->head + q->count) % q->cap] = outbuf_ref(b);
    }
    q->count++;
    q->bytes += b->len;
    return 0;
}

struct outbuf *sendq_peek(const struct sendq *q)
{
    if (!q->count)
        return NULL;
    return q->cap ? q->ring[q->head] : q->one;
}

struct outbuf *sendq_pop(struct sendq *q)
{
    if (!q->count)
        return NULL;
    struct outbuf *b;
    if (!q->cap) {
        b = q->one;
        q->one = NULL;
    } else {
        b = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
    }
    q->count--;
    q->bytes -= b->len;
    if (!q->count && q->cap) { /* empty: hold no ring while idle */
        free(q->ring);
        q->ring = NULL;
        q->cap = 0;
        q->head = 0;
    }
    return b;
}

/* Writes the header of an unmasked, final text frame of len payload bytes
 * (RFC 6455 section 5.2) at h. Returns its length: 2, 4 or 10 bytes. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

size_t sendq_pop_frames(struct sendq *q, unsigned char *out, size_t cap, unsigned max_msgs,
                        unsigned *popped)
{
    size_t used = 0;
    unsigned k = 0;
    while (k < max_msgs && q->count) {
        size_t len = sendq_peek(q)->len;
        if (used + SENDQ_FRAME_HEADER_MAX + len > cap)
            break;
        struct outbuf *b = sendq_pop(q);
        used += frame_header(out + used, len);
        memcpy(out + used, outbuf_payload(b), len);
        used += len;
        outbuf_unref(b);
        k++;
    }
    *popped = k;
    return used;
}

void sendq_clear(struct sendq *q)
{
    while (q->count)
        outbuf_unref(sendq_pop(q)); /* the last pop frees the ring */
    sendq_init(q);
}
