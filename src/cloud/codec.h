/* codec.h - the wire codec seam: WebSocket text <-> (type, JSON object).
 *
 * Two codecs: native JSON ({"type": "...", ...fields}, codec_json.h) and
 * Socket.IO (42["type", {...}], codec_sio.h); nothing above this seam
 * knows which a peer has. Codecs are stateless and const. */
#ifndef PORTHOLE_CLOUD_CODEC_H
#define PORTHOLE_CLOUD_CODEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cloud/outbuf.h"
#include "cloud/protocol.h"
#include "common/ids.h"

struct codec_error {
    const char *code;     /* protocol error code: "invalid-json", "invalid-message" */
    char message[160];    /* for people: says what is wrong and where */
};

/* What a codec's fast check (fast_relay below) reads of a hot message. */
struct codec_fast_msg {
    enum msg_type type;                  /* MSG_WEBRTC_OFFER, _ANSWER or MSG_ICE_CANDIDATE */
    char session_id[IDS_TOKEN_LEN + 1];  /* valid token syntax, NUL-terminated */
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

    /* Optional, NULL when the codec has none: the relay's fast path, so
     * that the hot session messages (webrtc-offer, webrtc-answer,
     * ice-candidate) cost one scan instead of a decoded tree. True when
     * the len bytes at data are such a message that decode() and then
     * protocol_validate(msg, type, sender) would both accept, with out
     * filled (that type and sessionId): the caller may relay it with
     * relay() as it came. False says nothing about the message (the check
     * may decline whatever it cannot decide cheaply): the caller takes the
     * full path, which gives the verdict and any error. It never accepts
     * what the full path refuses. Never reads past data + len; stateless,
     * can't fail otherwise. */
    bool (*fast_relay)(const char *data, size_t len, enum role sender,
                       struct codec_fast_msg *out);
};


#endif
