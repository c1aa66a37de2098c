/* iplimit.h - porthole-cloud's accounting per source address: open
 * connections, new connections per second, and failed authentications
 * per minute with the ban they earn.
 *
 * "An address" is an IPv4 address, or an IPv6 /64: one host or one LAN
 * usually holds a whole /64, so counting single IPv6 addresses would let
 * a host take a fresh address for every connection. Addresses inside the
 * exempt list are never counted, refused or banned.
 *
 * New connections: a bucket of max_new_per_second tokens per address,
 * refilled at that rate (so a burst of that many, then that many a
 * second); a refused attempt spends nothing. Failed authentications: a
 * window of 60 s opens at the first failure; the failure that goes over
 * max_auth_failures within it bans the address for ban_seconds, and a
 * banned address is refused every new connection.
 *
 * Memory: one entry per address with open connections or with something
 * still to remember (a bucket not yet full, a failure window, a ban).
 * Entries left with nothing are freed lazily, at most once a second
 * during iplimit_connect() and iplimit_auth_failure(), so memory follows
 * the addresses seen in the last minute (or ban), not all time.
 *
 * Time comes in as arguments (monotonic ms), never read here. One owner,
 * one thread (the event loop). */
#ifndef PORTHOLE_CLOUD_IPLIMIT_H
#define PORTHOLE_CLOUD_IPLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netlist.h"

/* Failures are counted in windows of this length. */
#define IPLIMIT_FAILURE_WINDOW_MS 60000

struct iplimit_config {
    unsigned max_connections;     /* open at once per address; 0: no limit */
    unsigned max_new_per_second;  /* new connections per second per address; 0: no limit */
    unsigned max_auth_failures;   /* failures per window before a ban; 0: never banned */
    unsigned ban_seconds;         /* length of a ban (>= 1 when max_auth_failures is set) */
    const struct netlist *exempt; /* borrowed, outlives the iplimit; NULL: nobody exempt */
};

enum iplimit_verdict {
    IPLIMIT_OK,       /* let in (and counted, unless exempt) */
    IPLIMIT_TOO_MANY, /* max_connections are open from this address already */
    IPLIMIT_TOO_FAST, /* over max_new_per_second */
    IPLIMIT_BANNED,   /* banned for failed authentications */
};

struct iplimit;
struct iplimit_entry; /* one counted address */

/* Returns an empty iplimit (cfg is copied), or NULL when out of memory. */
struct iplimit *iplimit_new(const struct iplimit_config *cfg);

/* Frees l and every entry; entries handed out by iplimit_connect() must
 * not be used after. NULL is allowed. */
void iplimit_free(struct iplimit *l);

/* True when a is inside the exempt list. */
bool iplimit_exempt(const struct iplimit *l, const struct netlist_addr *a);

/* A new connection from a at now_ms. On IPLIMIT_OK the connection is
 * counted and *entry is the handle to pass to iplimit_disconnect() when
 * it closes; *entry is NULL when there is nothing to undo (a is exempt,
 * or memory ran out: then the connection is let in uncounted rather than
 * refused for the server's own shortage). Any other verdict counts
 * nothing and sets *entry to NULL. */
enum iplimit_verdict iplimit_connect(struct iplimit *l, const struct netlist_addr *a,
                                     int64_t now_ms, struct iplimit_entry **entry);

/* The connection counted under e has closed. NULL is allowed (nothing to
 * undo). */
void iplimit_disconnect(struct iplimit *l, struct iplimit_entry *e, int64_t now_ms);

/* Counts one failed authentication from a. Returns true when a is banned
 * from now on: this failure went over max_auth_failures, or a was banned
 * already. Exempt addresses are never banned (false). */
bool iplimit_auth_failure(struct iplimit *l, const struct netlist_addr *a, int64_t now_ms);

/* True while a is banned. */
bool iplimit_banned(const struct iplimit *l, const struct netlist_addr *a, int64_t now_ms);

/* Addresses remembered now (for tests and /metrics). */
size_t iplimit_count(const struct iplimit *l);

/* A short English reason for a refusal verdict ("too many connections
 * from this address", ...); "" for IPLIMIT_OK. Static. */
const char *iplimit_reason(enum iplimit_verdict v);

#endif
