/* sendq.h - one connection's queue of outgoing messages: a growable ring
 * of outbuf references, its byte count, the overflow rule, and the framing
 * of several queued messages into one write.
 *
 * No sockets here: the server decides when to write and what to do with a
 * refused message (close the peer with 1008); this module only keeps the
 * order, the references and the accounting, so tests drive it directly.
 *
 * Ownership: the queue holds one reference to every queued outbuf.
 * sendq_push() takes a new one (the caller keeps its own); sendq_pop()
 * hands the queue's reference to the caller; sendq_pop_frames() and
 * sendq_clear() drop theirs. Not thread-safe: one event-loop thread. */
#ifndef PORTHOLE_CLOUD_SENDQ_H
#define PORTHOLE_CLOUD_SENDQ_H

#include <stddef.h>

#include "cloud/outbuf.h"

/* Memory: a queue of zero or one message holds no memory of its own (the
 * one message sits in the struct); a second message makes a ring of
 * SENDQ_INITIAL slots, which doubles up to SENDQ_MAX_MESSAGES (the byte
 * limit given to sendq_push() is the real bound) and is freed when the
 * queue is empty again. Idle connections, the many, so hold no ring; a
 * busy one pays one malloc and free per burst. */
#define SENDQ_INITIAL 4
#define SENDQ_MAX_MESSAGES 65536

/* The largest WebSocket frame header (RFC 6455 section 5.2) that
 * sendq_pop_frames() writes: 2, 4 or 10 bytes before each payload. */
#define SENDQ_FRAME_HEADER_MAX 10

/* A zeroed struct sendq is an empty queue, like one from sendq_init(). */
struct sendq {
    union {
        struct outbuf **ring; /* cap > 0: cap slots */
        struct outbuf *one;   /* cap == 0: the message queued, or NULL */
    };
    unsigned head;        /* slot of the oldest message (cap > 0) */
    unsigned count;       /* messages queued */
    unsigned cap;         /* ring slots; 0: no ring */
    size_t bytes;         /* payload bytes queued (sum of their len) */
};

void sendq_init(struct sendq *q);

/* Queues a new reference to b, unless the queue refuses it: a queue that
 * is not empty refuses a message that would take its payload bytes past
 * max_bytes (an empty queue takes any one message, however large: a robot
 * list can be), and any queue refuses one beyond SENDQ_MAX_MESSAGES or
 * when the ring cannot grow (out of memory). Returns 0, or -1 when
 * refused (the queue is unchanged, b keeps its references). */
int sendq_push(struct sendq *q, struct outbuf *b, size_t max_bytes);

/* The oldest message (the queue keeps its reference), or NULL when empty. */
struct outbuf *sendq_peek(const struct sendq *q);

/* Removes the oldest message and returns it with the queue's reference,
 * which the caller now owns; NULL when empty. */
struct outbuf *sendq_pop(struct sendq *q);

/* Batching: removes the oldest messages, at most max_msgs, while the frame
 * of each (an unmasked, final WebSocket text frame, header and payload)
 * fits into out (cap bytes) after those before it, counting every header
 * as SENDQ_FRAME_HEADER_MAX bytes. The frames are written one after
 * another into out and the queue's references dropped. Returns the bytes
 * written and sets *popped to the number of messages taken; 0 and 0 when
 * the queue is empty or the oldest message does not fit. */
size_t sendq_pop_frames(struct sendq *q, unsigned char *out, size_t cap, unsigned max_msgs,
                        unsigned *popped);

/* Drops every queued reference and frees any ring: the queue is empty and
 * holds no memory. Safe on an empty or zeroed queue, and twice. */
void sendq_clear(struct sendq *q);

static inline unsigned sendq_count(const struct sendq *q) { return q->count; }

static inline size_t sendq_bytes(const struct sendq *q) { return q->bytes; }

#endif
