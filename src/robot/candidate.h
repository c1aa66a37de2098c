/* candidate.h - one remote ICE candidate: the strict grammar of RFC 8839's
 * candidate-attribute (RFC 8445), and its canonical text.
 *
 * Every remote candidate the robot takes (trickled through the cloud,
 * posted to the REST API, or an a=candidate line of a viewer's answer) is
 * parsed here, and libnice is handed the text candidate_format writes from
 * the parsed fields, never the peer's own text: whatever libnice's parser
 * would make of odd spacing, case or numbers, it only ever sees the one
 * form that this grammar checked.
 *
 *   [a=]candidate:FOUNDATION SP COMPONENT SP TRANSPORT SP PRIORITY SP ADDRESS
 *       SP PORT SP typ SP TYPE [SP raddr SP ADDRESS] [SP rport SP PORT]
 *       *(SP NAME SP VALUE)
 *
 *   FOUNDATION  1 to 32 of A-Z a-z 0-9 + /
 *   COMPONENT   1..256                      numbers: decimal digits, no sign,
 *   TRANSPORT   UDP or TCP (any case)       no leading zero (but "0" itself)
 *   PRIORITY    1..2^31-1
 *   ADDRESS     an IPv4 literal (dotted quad), an IPv6 literal (no zone, no
 *               brackets), or an mDNS name (labels of A-Z a-z 0-9 -, ending
 *               in ".local", at most 253 characters)
 *   PORT        1..65535 (rport: 0..65535: browsers hide it as 0)
 *   TYPE        host, srflx, prflx or relay (lower case, as "typ")
 *   extensions  tcptype active|passive|so (TCP candidates only, and they
 *               must have it), generation N, ufrag 1 to 256 of A-Z a-z 0-9
 *               + /, network-id N, network-cost N (N: 0..2^32-1); each at
 *               most once, in any order; no other name.
 *
 * Fields are separated by exactly one space; nothing precedes or follows
 * the line (no CR, LF or trailing space), and it holds only printable
 * ASCII. Pure: no I/O, no global state, any thread. */
#ifndef PORTHOLE_ROBOT_CANDIDATE_H
#define PORTHOLE_ROBOT_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CANDIDATE_LINE_MAX 1024 /* longer input is refused */
#define CANDIDATE_TEXT_MAX 1024 /* candidate_format's text always fits */
#define CANDIDATE_NAME_MAX 253  /* an mDNS name */

enum candidate_transport { CANDIDATE_UDP, CANDIDATE_TCP };
enum candidate_type { CANDIDATE_HOST, CANDIDATE_SRFLX, CANDIDATE_PRFLX, CANDIDATE_RELAY };
enum candidate_tcptype {
    CANDIDATE_TCPTYPE_NONE,
    CANDIDATE_TCPTYPE_ACTIVE,
    CANDIDATE_TCPTYPE_PASSIVE,
    CANDIDATE_TCPTYPE_SO,
};

/* An address as the grammar read it. */
struct candidate_addr {
    int family;                         /* AF_INET, AF_INET6, or 0: an mDNS name */
    uint8_t bytes[16];                  /* network order; 4 used for AF_INET; 0 for a name */
    char text[CANDIDATE_NAME_MAX + 1];  /* canonical: inet_ntop's, or the name in lower case */
};

struct candidate {
    char foundation[33];
    unsigned component;
    enum candidate_transport transport;
    uint32_t priority;
    struct candidate_addr addr;
    unsigned port;
    enum candidate_type type;
    bool has_raddr, has_rport;
    struct candidate_addr raddr;
    unsigned rport;
    enum candidate_tcptype tcptype;
    bool has_generation, has_network_id, has_network_cost;
    uint32_t generation, network_id, network_cost;
    char ufrag[257];                    /* "" when absent */
};

/* Parses line into *c. Returns 0, or -1 with err saying what is wrong
 * ("the port '080' must be 1..65535 without leading zeros"; a sentence
 * without the word "malformed", which callers add). err may be NULL. */
int candidate_parse(const char *line, struct candidate *c, char *err, size_t errlen);

/* Writes c's canonical text, "candidate:...", into buf: the fields in the
 * grammar's order, transport in upper case, extensions in the order
 * tcptype, generation, ufrag, network-id, network-cost. Returns its length,
 * or -1 when it does not fit (never with len >= CANDIDATE_TEXT_MAX for a
 * parsed candidate). */
int candidate_format(const struct candidate *c, char *buf, size_t len);

#endif
