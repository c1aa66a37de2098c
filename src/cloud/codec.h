/* codec.h - the wire codec seam: WebSocket text <-> (type, JSON object).
 *
 * Today's codec is native JSON ({"type": "...", ...fields}). A Socket.IO
 * codec (42["type", {...}]) is planned: it is a second `struct codec`, and
 * nothing above this seam changes. Codecs are stateless and const. */
#ifndef PORTHOLE_CLOUD_CODEC_H
#define PORTHOLE_CLOUD_CODEC_H

#include <jansson.h>
#include <stddef.h>

#include "cloud/outbuf.h"

struct codec_error {
    const char *code;     /* protocol error code: "invalid-json", "invalid-message" */
    char message[160];    /* for people: says what is wrong and where */
};

struct codec {
    const char *name;

    /* Decodes one text message. Returns the message's fields as a new
     * object reference, and its type in *type (borrowed from the object),
     * or NULL with err filled. Never reads past data + len. */
    json_t *(*decode)(const char *data, size_t len, const char **type,
                      struct codec_error *err);

    /* Encodes a message of the given type with the fields of body (an
     * object; the codec may add to it). Returns a new buffer or NULL when
     * out of memory. */
    struct outbuf *(*encode)(const char *type, json_t *body);

    /* Frames the unchanged text of a message this codec decoded, for
     * relaying to a peer of the same codec: the bytes go through as they
     * came. Returns a new buffer or NULL when out of memory. */
    struct outbuf *(*relay)(const char *data, size_t len);
};

extern const struct codec codec_json;

#endif
