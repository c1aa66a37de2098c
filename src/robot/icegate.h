/* icegate.h - which remote ICE candidates one session hands to libnice.
 *
 * Every remote candidate of a session, whichever way it came (an
 * ice-candidate message, POST /api/webrtc/ice-candidates, an a=candidate
 * line of the viewer's answer), passes the session's one gate:
 *   1. the strict grammar of candidate.h (else ICEGATE_MALFORMED);
 *   2. with an ICE allow-list (--ice-allow), the address must be on it; an
 *      mDNS name never is (with no list, mDNS names pass, as before);
 *   3. loopback, link-local, multicast, unspecified, broadcast and
 *      reserved addresses (icegate_address_class) are refused unless the
 *      allow-list names them: a viewer must not make the robot send
 *      connectivity checks to the robot's own host, its link or a group;
 *   4. at most max candidates are admitted per session (--max-remote-
 *      candidates): later ones are refused.
 * An admitted candidate comes out as candidate.h's canonical text, which is
 * what libnice gets. Every refusal (malformed ones included) is counted;
 * the first of a session is logged at info, the others at debug, so a
 * flood of bad candidates cannot flood the log.
 *
 * The struct is the caller's (peer.c embeds one per peer); its fields may
 * be read. Not thread-safe: one thread per gate (the robot's main thread). */
#ifndef PORTHOLE_ROBOT_ICEGATE_H
#define PORTHOLE_ROBOT_ICEGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netlist.h"

#define ICEGATE_DEFAULT_MAX 64

struct icegate {
    const struct netlist *allow; /* borrowed; NULL or empty: no list */
    size_t max;                  /* candidates admitted at most */
    size_t admitted;             /* handed to libnice so far */
    size_t refused;              /* malformed or refused so far */
    bool told;                   /* the one info line has been logged */
    char name[72];               /* the session id, for the log lines */
};

enum icegate_verdict {
    ICEGATE_ADMIT,     /* out holds the canonical candidate ("candidate:...") */
    ICEGATE_MALFORMED, /* why holds the grammar's reason */
    ICEGATE_REFUSED,   /* why holds the reason: the list, the address class, the cap */
};

/* A fresh gate: nothing admitted or refused. allow is borrowed and must
 * outlive the gate; max 0 means ICEGATE_DEFAULT_MAX; name is copied (cut
 * to fit). */
void icegate_init(struct icegate *g, const struct netlist *allow, size_t max, const char *name);

/* Decides about one candidate line ("candidate:..." or "a=candidate:...").
 * On ICEGATE_ADMIT out (outlen >= CANDIDATE_TEXT_MAX) holds its canonical
 * text; otherwise why (cut to whylen) says why not. Counts and logs as the
 * header says. out and why must not be NULL. */
enum icegate_verdict icegate_admit(struct icegate *g, const char *line, char *out, size_t outlen,
                                   char *why, size_t whylen);

/* The class of an address refused by default ("loopback", "link-local",
 * "multicast", "unspecified", "broadcast", "reserved", "IPv4-mapped",
 * "IPv4-compatible", "site-local", "discard-only"), or NULL for an address
 * a viewer may name (public and private unicast). family is AF_INET (4
 * bytes used) or AF_INET6. */
const char *icegate_address_class(int family, const uint8_t bytes[16]);

#endif
