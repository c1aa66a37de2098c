/* netlist.h - IP addresses and lists of addresses and networks: the
 * robot's ICE allow-list, the cloud's trusted proxies and addresses exempt
 * from per-address limits. Candidate lines are parsed by robot/candidate.h.
 *
 * "127.0.0.1,::1,10.0.0.0/8,fd00::/8": IPv4 and IPv6 addresses with an
 * optional prefix length. As an allow-list (netlist_allows) an empty list
 * allows everything; as a set (netlist_contains) it contains nothing.
 * Plain data, nothing allocated; not thread-safe. */
#ifndef PORTHOLE_COMMON_NETLIST_H
#define PORTHOLE_COMMON_NETLIST_H

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

/* One IPv4 or IPv6 address in binary form. */
struct netlist_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network byte order; 4 bytes used for AF_INET */
};

/* Room for any address netlist_addr_format() writes, with its NUL. */
#define NETLIST_ADDR_TEXT 46

/* Parses the IPv4 or IPv6 literal s of len bytes (no zone, brackets or
 * port) into *out. An IPv4-mapped IPv6 address ("::ffff:192.0.2.7", how a
 * dual-stack socket shows an IPv4 peer) becomes that IPv4 address.
 * Returns 0, or -1 when s is not an IP literal (*out is then zeroed). */
int netlist_addr_parse(const char *s, size_t len, struct netlist_addr *out);

/* Writes a as text ("192.0.2.7", "2001:db8::1") into out (len bytes, at
 * least NETLIST_ADDR_TEXT for any address); "?" for a zeroed address. */
void netlist_addr_format(const struct netlist_addr *a, char *out, size_t len);

/* True when a lies inside one entry of list. Unlike netlist_allows(), an
 * empty (or NULL) list contains nothing. */
bool netlist_contains(const struct netlist *list, const struct netlist_addr *a);

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
