/* forwarded.h - who the client is behind trusted reverse proxies: the
 * X-Forwarded-For header, believed only as far as it was written by
 * proxies in --trusted-proxies.
 *
 * Each proxy appends the address it received the request from, so the
 * list reads from the original client (left) to the last proxy's peer
 * (right), and only the entries appended by trusted proxies can be
 * believed: everything left of them may be forged by the client. The
 * client is therefore the rightmost address that is not a trusted proxy.
 *
 * Pure: no I/O, nothing allocated. */
#ifndef PORTHOLE_CLOUD_FORWARDED_H
#define PORTHOLE_CLOUD_FORWARDED_H

#include "common/netlist.h"

/* The client of a request that arrived from the socket peer `peer` with
 * the X-Forwarded-For value xff (NULL or "" when absent; several headers
 * joined by commas), given the trusted proxies. Stores it in *client:
 *  - peer itself when peer is not a trusted proxy, or xff is absent;
 *  - otherwise, walking xff from the right: the first address that is not
 *    a trusted proxy; when an entry is not an address ("unknown", a name,
 *    garbage), the chain of trust ends there and the last address walked
 *    (a trusted proxy) is the client; when every entry is trusted, the
 *    leftmost one.
 * Entries may be bare addresses, "[v6]", "[v6]:port" or "v4:port".
 * Returns true when the client came from xff (false: it is peer). */
bool forwarded_client(const struct netlist_addr *peer, const char *xff,
                      const struct netlist *trusted, struct netlist_addr *client);

#endif
