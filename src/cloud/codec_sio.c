/* codec_sio.c - the Socket.IO wire codec: 42["type",{...}] (codec_sio.h). */
#include "cloud/codec_sio.h"

#include "cloud/fastrelay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENCODE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static json_t *refuse(struct codec_error *err, const char *code, const char *message)
{
    err->code = code;
    snprintf(err->message, sizeof(err->message), "%s", message);
    return NULL;
}

static json_t *sio_decode(const char *data, size_t len, const char **type,
                          struct codec_error *err)
{
    if (len < 3 || data[0] != '4' || data[1] != '2')
        return refuse(err, "invalid-message",
                      "a Socket.IO message must be an EVENT packet: 42[\"type\",{...}]");
    json_error_t jerr;
    json_t *root = json_loadb(data + 2, len - 2, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        err->code = "invalid-json";
        snprintf(err->message, sizeof(err->message),
                 "the EVENT's data is not valid JSON at column %d: %.100s", jerr.column + 2,
                 jerr.text);
        return NULL;
    }
    json_t *name = json_array_get(root, 0), *arg = json_array_get(root, 1);
    json_t *fields = NULL;
    if (!json_is_array(root) || !json_string_value(name) || !json_string_length(name))
        refuse(err, "invalid-message", "an EVENT's data must be an array starting with the "
               "event name, a non-empty string");
    else if (json_array_size(root) > 2 || (arg && !json_is_object(arg)))
        refuse(err, "invalid-message", "an EVENT carries at most one argument, a JSON object "
               "with the message's fields");
    else if (!(fields = arg ? json_copy(arg) : json_object()) ||
             json_object_set(fields, "type", name) != 0) {
        json_decref(fields);
        fields = NULL;
        refuse(err, "internal", "out of memory");
    }
    json_decref(root);
    if (fields)
        *type = json_string_value(json_object_get(fields, "type"));
    return fields;
}

/* "42" followed by the JSON text of arr, or NULL when out of memory. */
static struct outbuf *frame(json_t *arr)
{
    size_t n = json_dumpb(arr, NULL, 0, ENCODE_FLAGS);
    struct outbuf *b = n ? outbuf_new(NULL, n + 2) : NULL;
    if (!b)
        return NULL;
    unsigned char *p = outbuf_payload(b);
    p[0] = '4';
    p[1] = '2';
    if (json_dumpb(arr, (char *)p + 2, n, ENCODE_FLAGS) != n) {
        outbuf_unref(b);
        return NULL;
    }
    return b;
}

static struct outbuf *sio_encode(const char *type, json_t *body)
{
    json_t *arg;
    json_t *robots = json_object_get(body, "robots");
    if (strcmp(type, "available-robots") == 0 && json_is_array(robots)) {
        arg = json_incref(robots); /* the original server's bare array */
    } else {
        arg = json_copy(body); /* shallow: only "type" is taken out */
        if (arg)
            json_object_del(arg, "type");
    }
    json_t *arr = arg ? json_pack("[s, o]", type, arg) : NULL;
    struct outbuf *b = arr ? frame(arr) : NULL;
    json_decref(arr);
    return b;
}

/* The fast path for 42["<type>",{...}] written tightly (no whitespace
 * between the array's tokens, a type without escapes): the object is
 * checked as codec_json's fast path checks a native message, with the
 * event name as its type. Anything else declines. */
static bool sio_fast_relay(const char *data, size_t len, enum role sender,
                           struct codec_fast_msg *out)
{
    if (len < 9 || memcmp(data, "42[\"", 4) != 0 || data[len - 1] != ']')
        return false;
    const char *name = data + 4, *q = memchr(name, '"', len - 4);
    if (!q || q + 3 >= data + len || q[1] != ',' || q[2] != '{' ||
        memchr(name, '\\', (size_t)(q - name)))
        return false;
    const char *obj = q + 2;
    return fastrelay_check_typed(obj, (size_t)(data + len - 1 - obj), name, (size_t)(q - name),
                                 sender, out);
}

static struct outbuf *sio_relay(const char *data, size_t len)
{
    return outbuf_new(data, len);
}

const struct codec codec_sio = {
    .name = "socket.io",
    .decode = sio_decode,
    .encode = sio_encode,
    .relay = sio_relay,
    .fast_relay = sio_fast_relay,
};
