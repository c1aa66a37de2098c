/* iceurl.h - STUN and TURN URLs (RFC 7064, RFC 7065), parsed strictly.
 *
 * Accepted: stun:HOST[:PORT], stuns:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp],
 * turns:HOST[:PORT][?transport=udp|tcp], where HOST is a DNS name, an IPv4
 * address or a bracketed IPv6 address and PORT is 1..65535 (default 3478,
 * 5349 for the TLS schemes). No user info ("user@"), no "//", no path, no
 * other query. Shared by the cloud (which checks the URLs it hands out) and
 * the robot (which turns the URLs it is handed into webrtcbin's form).
 * Pure, no allocation. */
#ifndef PORTHOLE_COMMON_ICEURL_H
#define PORTHOLE_COMMON_ICEURL_H

#include <stdbool.h>
#include <stddef.h>

#define ICEURL_MAX 256 /* bytes, NUL included */

enum iceurl_scheme { ICEURL_STUN, ICEURL_STUNS, ICEURL_TURN, ICEURL_TURNS };
enum iceurl_transport { ICEURL_ANY, ICEURL_UDP, ICEURL_TCP };

struct iceurl {
    enum iceurl_scheme scheme;
    enum iceurl_transport transport; /* ICEURL_ANY when the URL names none */
    char host[ICEURL_MAX];           /* without brackets for IPv6 */
    bool ipv6;
    unsigned port;                   /* the URL's, or the scheme's default */
};

/* Parses url. Returns NULL when it is valid (out filled), or a short text
 * saying what is wrong ("port must be 1..65535"); out is then undefined. */
const char *iceurl_parse(const char *url, struct iceurl *out);

/* True for turn: and turns:. */
bool iceurl_is_turn(const struct iceurl *u);

#endif
