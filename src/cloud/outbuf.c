/* outbuf.c - reference-counted outgoing messages. */
#include "cloud/outbuf.h"

#include <stdlib.h>
#include <string.h>

struct outbuf *outbuf_new(const void *payload, size_t len)
{
    struct outbuf *b = malloc(sizeof(*b) + OUTBUF_HEADROOM + len);
    if (!b)
        return NULL;
    b->refs = 1;
    b->len = len;
    if (len && payload)
        memcpy(b->data + OUTBUF_HEADROOM, payload, len);
    return b;
}

struct outbuf *outbuf_take_string(char *str)
{
    struct outbuf *b = str ? outbuf_new(str, strlen(str)) : NULL;
    free(str);
    return b;
}

void outbuf_unref(struct outbuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}
