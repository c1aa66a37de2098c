/* codec_json.c - the native JSON wire codec: one object per text message. */
#include "cloud/codec_json.h"

#include <stdio.h>

#include "cloud/fastrelay.h"

/* Peers pick the field order; serializing keeps insertion order so "type"
 * written first stays first, which makes logs and captures easy to read. */
#define ENCODE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static json_t *json_decode(const char *data, size_t len, const char **type,
                           struct codec_error *err)
{
    json_error_t jerr;
    /* JSON_REJECT_DUPLICATES: two "sessionId" fields could make the cloud
     * check one and the robot act on the other. */
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        err->code = "invalid-json";
        snprintf(err->message, sizeof(err->message), "not valid JSON at line %d, column %d: %.100s",
                 jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        err->code = "invalid-message";
        snprintf(err->message, sizeof(err->message),
                 "a message must be a JSON object with a string \"type\"");
        json_decref(root);
        return NULL;
    }
    const char *t = json_string_value(json_object_get(root, "type"));
    if (!t || !*t) {
        err->code = "invalid-message";
        snprintf(err->message, sizeof(err->message),
                 "the message has no \"type\" field holding a non-empty string");
        json_decref(root);
        return NULL;
    }
    *type = t;
    return root;
}

static struct outbuf *json_encode(const char *type, json_t *body)
{
    /* Build {"type": ..., <body fields>} so that type comes first. */
    json_t *msg = json_object();
    if (!msg || json_object_set_new(msg, "type", json_string(type)) ||
        json_object_update(msg, body)) {
        json_decref(msg);
        return NULL;
    }
    struct outbuf *b = outbuf_take_string(json_dumps(msg, ENCODE_FLAGS));
    json_decref(msg);
    return b;
}

static struct outbuf *json_relay(const char *data, size_t len)
{
    return outbuf_new(data, len);
}

const struct codec codec_json = {
    .name = "json",
    .decode = json_decode,
    .encode = json_encode,
    .relay = json_relay,
    .fast_relay = fastrelay_check,
};
