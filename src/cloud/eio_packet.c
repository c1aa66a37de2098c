/* eio_packet.c - a Socket.IO peer's packets, read (eio_packet.h). */
#include "cloud/eio_packet.h"

#include <jansson.h>
#include <string.h>

#include "cloud/codec_sio.h"

static void malformed(struct eio_in_packet *out, const char *error)
{
    out->kind = EIO_IN_MALFORMED;
    out->error = error;
}

/* An EVENT: p points after "42": [ack id digits] then the array. */
static void event(const char *p, size_t len, struct eio_in_packet *out)
{
    size_t i = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        out->ack = out->ack * 10 + (unsigned long)(p[i++] - '0');
        out->has_ack = true;
        if (out->ack > EIO_ACK_ID_MAX) {
            malformed(out, "Socket.IO acknowledgement id too long");
            return;
        }
    }
    out->kind = EIO_IN_EVENT;
    out->data = p + i;
    out->len = len - i;
}

/* One Socket.IO packet: p points after the Engine.IO "4". */
static void sio_packet(const char *p, size_t len, struct eio_in_packet *out)
{
    if (!len) {
        malformed(out, "empty Socket.IO packet");
        return;
    }
    char type = p[0];
    if (type == '5' || type == '6') {
        out->kind = EIO_IN_BINARY;
        return;
    }
    /* A namespace comes as "/name," after the type; only "/" exists,
     * which clients write without a prefix. */
    if (len > 1 && p[1] == '/') {
        const char *ns = p + 1, *comma = memchr(ns, ',', len - 1);
        size_t nslen = comma ? (size_t)(comma - ns) : len - 1;
        if (nslen != 1 || type != '0') {
            out->kind = EIO_IN_BAD_NAMESPACE;
            out->ns = ns;
            out->nslen = nslen;
            return;
        }
        out->kind = EIO_IN_CONNECT;
        out->data = comma ? comma + 1 : ns + 1;
        out->len = comma ? len - 3 : 0;
        return;
    }
    switch (type) {
    case '0':
        out->kind = EIO_IN_CONNECT;
        out->data = p + 1;
        out->len = len - 1;
        return;
    case '1':
        out->kind = EIO_IN_DISCONNECT;
        return;
    case '2':
        event(p + 1, len - 1, out);
        return;
    case '3':
        out->kind = EIO_IN_ACK;
        return;
    default:
        malformed(out, "unknown Socket.IO packet type");
        return;
    }
}

void eio_packet_parse(const char *pkt, size_t len, struct eio_in_packet *out)
{
    *out = (struct eio_in_packet){.kind = EIO_IN_MALFORMED};
    if (!len) {
        malformed(out, "empty Engine.IO packet");
        return;
    }
    switch (pkt[0]) {
    case '1':
        out->kind = EIO_IN_CLOSE;
        return;
    case '2': /* a ping from the client (v3 habit): answered, harmless */
        if (len - 1 > EIO_PING_PAYLOAD_MAX) {
            malformed(out, "Engine.IO ping payload too long");
            return;
        }
        out->kind = EIO_IN_PING;
        out->data = pkt + 1;
        out->len = len - 1;
        return;
    case '3':
        out->kind = EIO_IN_PONG;
        return;
    case '4':
        sio_packet(pkt + 1, len - 1, out);
        return;
    case '6':
        out->kind = EIO_IN_NOOP;
        return;
    case 'b':
        out->kind = EIO_IN_BINARY;
        return;
    default:
        malformed(out, "malformed Engine.IO packet");
        return;
    }
}

bool eio_payload_next(const char **pos, const char *end, const char **pkt, size_t *len)
{
    const char *p = *pos;
    if (p >= end)
        return false;
    const char *sep = memchr(p, EIO_RECORD_SEPARATOR, (size_t)(end - p));
    const char *stop = sep ? sep : end;
    *pkt = p;
    *len = (size_t)(stop - p);
    *pos = sep ? sep + 1 : end;
    return true;
}

struct outbuf *eio_with_token(const char *text, size_t len, const char *token)
{
    struct codec_error err;
    const char *type;
    struct outbuf *b = NULL;
    json_t *msg = codec_sio.decode(text, len, &type, &err);
    if (msg && (!strcmp(type, "robot-register") || !strcmp(type, "client-register")) &&
        !json_object_get(msg, "token") &&
        json_object_set_new(msg, "token", json_string(token)) == 0)
        b = codec_sio.encode(type, msg);
    json_decref(msg);
    return b;
}
