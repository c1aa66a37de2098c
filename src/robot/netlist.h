/* netlist.h - lists of IP addresses and networks (the ICE allow-list).
 * Candidate lines are parsed by candidate.h.
 *
 * "127.0.0.1,::1,10.0.0.0/8,fd00::/8": IPv4 and IPv6 addresses with an
 * optional prefix length. An empty list allows everything. */
#ifndef PORTHOLE_ROBOT_NETLIST_H
#define PORTHOLE_ROBOT_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETLIST_MAX 16

struct netlist_entry {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network byte order; 4 bytes used for AF_INET */
    int prefix;        /* 0..32 or 0..128 */
};

struct netlist {
    size_t count;      /* 0: allow all */
    struct netlist_entry entries[NETLIST_MAX];
};

/* Parses a comma-separated list (spaces around items allowed; NULL or ""
 * gives the empty list). Returns 0, or -1 with err naming the bad item and
 * why (not an address, prefix out of range, too many items: max 16). */
int netlist_parse(const char *text, struct netlist *out, char *err, size_t errlen);

/* True when the list is empty or addr (textual IPv4/IPv6) is inside one
 * entry. A string that is not an IP literal (an mDNS "x.local" name) is
 * never inside a non-empty list. */
bool netlist_allows(const struct netlist *list, const char *addr);

/* Fills out[] (each at least 46 bytes) with this host's interface addresses
 * (getifaddrs) that the list allows, loopback included only when an entry
 * covers it; at most max. Returns how many. With an empty list returns 0
 * (meaning: let ICE pick every interface). */
size_t netlist_local_addresses(const struct netlist *list, char (*out)[46], size_t max);

#endif
