/* eio_packet.h - the packets a Socket.IO peer sends, read: Engine.IO v4
 * packets (one WebSocket message, or one piece of a polling POST body)
 * and the Socket.IO v5 packets inside its message packets. No state, no
 * I/O: eio_packet_parse says what a packet is and where its parts are
 * (pointers into the caller's bytes, nothing allocated); eio.c acts on it
 * with the session's state. Split out so that unit tests and a fuzz
 * target (tests/fuzz/fuzz_eio.c) reach every byte a peer can send without
 * a server around it. */
#ifndef PORTHOLE_CLOUD_EIO_PACKET_H
#define PORTHOLE_CLOUD_EIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>

#include "cloud/outbuf.h"

/* Largest acknowledgement id accepted (Socket.IO's are counters). */
#define EIO_ACK_ID_MAX 999999999u

/* Longest payload of a client's Engine.IO ping ("2" + payload), which the
 * pong echoes. */
#define EIO_PING_PAYLOAD_MAX 9

/* Separates the packets of a polling payload (Engine.IO v4). */
#define EIO_RECORD_SEPARATOR 0x1e

enum eio_in {
    EIO_IN_MALFORMED,     /* error says what; the session ends */
    EIO_IN_CLOSE,         /* Engine.IO "1" */
    EIO_IN_PING,          /* "2" + data: answered "3" + data */
    EIO_IN_PONG,          /* "3" */
    EIO_IN_NOOP,          /* "6" */
    EIO_IN_BINARY,        /* an Engine.IO "b" packet, a Socket.IO BINARY_EVENT or BINARY_ACK */
    EIO_IN_CONNECT,       /* "40" or "40/,": data is the auth object's text, maybe empty */
    EIO_IN_BAD_NAMESPACE, /* any packet to "/name," other than CONNECT to "/": ns */
    EIO_IN_DISCONNECT,    /* "41" */
    EIO_IN_EVENT,         /* "42" [ack id] then data, the JSON array's text */
    EIO_IN_ACK,           /* "43...": the cloud asks for none; ignored */
};

struct eio_in_packet {
    enum eio_in kind;
    const char *data; /* PING, CONNECT, EVENT: see above (inside the packet) */
    size_t len;
    const char *ns;   /* BAD_NAMESPACE: the namespace as sent, from its '/' */
    size_t nslen;
    bool has_ack;     /* EVENT: an acknowledgement id came */
    unsigned long ack;
    const char *error; /* MALFORMED: a static sentence */
};

/* Reads one Engine.IO packet of len bytes (no separator inside). Fills
 * *out; never fails otherwise. */
void eio_packet_parse(const char *pkt, size_t len, struct eio_in_packet *out);

/* The next packet of a polling payload: *pos runs from body to end.
 * Returns false at the end; else sets *pkt and *len (the packet without
 * its separator, maybe empty) and moves *pos past it. */
bool eio_payload_next(const char **pos, const char *end, const char **pkt, size_t *len);

/* A registration ("42[\"robot-register\" or \"client-register\",{...}]")
 * without a token of its own, given token: the same event with "token"
 * set, as a native peer would have sent it (a new buffer). NULL when text
 * is anything else, already has a token, or does not decode (the router
 * then answers it as it came), or when out of memory. */
struct outbuf *eio_with_token(const char *text, size_t len, const char *token);

#endif
