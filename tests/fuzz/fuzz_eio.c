/* fuzz_eio.c - libFuzzer entry: each input is a Socket.IO peer's polling
 * payload (what a POST body or, one packet at a time, a WebSocket
 * carries), split as the cloud splits it and every packet read by
 * eio_packet_parse. Every part it points at must lie inside the packet,
 * each kind must carry what eio.c reads of it, and an event goes on as
 * eio.c hands it to the router: through codec_sio's decode, and for a
 * registration through eio_with_token, whose result must decode again to
 * a registration with that token. Sanitizers catch the rest.
 * Build and run: make fuzz (tests/fuzz/run.sh). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/codec_sio.h"
#include "cloud/eio_packet.h"

#define TOKEN "eyJhbGciOiJIUzI1NiJ9.e30.sig"

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* part (len bytes) lies inside pkt (pktlen bytes). */
static void inside(const char *part, size_t len, const char *pkt, size_t pktlen)
{
    check(part && part >= pkt && part + len <= pkt + pktlen);
}

static void route(const char *text, size_t len)
{
    struct codec_error err;
    const char *type = NULL;
    json_t *msg = codec_sio.decode(text, len, &type, &err);
    check(msg ? type != NULL : err.code != NULL);
    json_decref(msg);

    struct outbuf *b = eio_with_token(text, len, TOKEN);
    if (!b)
        return;
    msg = codec_sio.decode((const char *)outbuf_payload(b), b->len, &type, &err);
    check(msg && (!strcmp(type, "robot-register") || !strcmp(type, "client-register")));
    check(!strcmp(json_string_value(json_object_get(msg, "token")), TOKEN));
    json_decref(msg);
    outbuf_unref(b);
}

static void event(const char *pkt, size_t len, const struct eio_in_packet *in)
{
    check(in->ack <= EIO_ACK_ID_MAX && (in->has_ack || in->ack == 0));
    if (!in->has_ack) {
        /* The packet itself goes to the router: it must be "42" + data. */
        check(len == in->len + 2 && in->data == pkt + 2);
        route(pkt, len);
        return;
    }
    char *text = malloc(in->len + 2);
    check(text != NULL);
    text[0] = '4';
    text[1] = '2';
    memcpy(text + 2, in->data, in->len);
    route(text, in->len + 2);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pos = (const char *)data, *end = pos + size, *pkt;
    size_t len;
    while (eio_payload_next(&pos, end, &pkt, &len)) {
        inside(pkt, len, (const char *)data, size);
        check(!memchr(pkt, EIO_RECORD_SEPARATOR, len));
        struct eio_in_packet in;
        eio_packet_parse(pkt, len, &in);
        switch (in.kind) {
        case EIO_IN_MALFORMED:
            check(in.error != NULL && in.error[0] != 0);
            break;
        case EIO_IN_PING:
            check(in.len <= EIO_PING_PAYLOAD_MAX);
            inside(in.data, in.len, pkt, len);
            break;
        case EIO_IN_CONNECT:
            inside(in.data, in.len, pkt, len);
            break;
        case EIO_IN_BAD_NAMESPACE:
            inside(in.ns, in.nslen, pkt, len);
            check(in.nslen >= 1 && in.ns[0] == '/');
            break;
        case EIO_IN_EVENT:
            inside(in.data, in.len, pkt, len);
            event(pkt, len, &in);
            break;
        case EIO_IN_CLOSE:
        case EIO_IN_PONG:
        case EIO_IN_NOOP:
        case EIO_IN_BINARY:
        case EIO_IN_DISCONNECT:
        case EIO_IN_ACK:
            break;
        }
    }
    return 0;
}
